use super::*;
use std::io::Cursor;

fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("tandem").chain(args.iter().copied()).map(String::from).collect()
}

fn start(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match Config::startup(&argv(args), &mut Cursor::new(stdin.as_bytes().to_vec()), &env)? {
        Startup::Run(c) => Ok(*c),
        other => panic!("unexpected {other:?}"),
    }
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "tandem-cfg-{}-{}-{}",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn get1(c: &Config, name: &str) -> String {
    let v = c.get(name.as_bytes());
    assert_eq!(v.len(), 1, "{name}: {v:?}");
    v[0].1.clone()
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
    let p: Vec<(Vec<u8>, Vec<u8>)> = pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
    c.set(&p)
}

fn fatal_text(e: &ConfigError) -> String {
    e.to_string()
}

const DEFAULT_CONF: &str = "# Redis configuration for testing.

always-show-logo yes
notify-keyspace-events KEA
daemonize no
pidfile /var/run/redis.pid
port 6379
timeout 0
bind 127.0.0.1
loglevel verbose
logfile ''
databases 16
latency-monitor-threshold 1
repl-diskless-sync-delay 0

# Note the infrastructure in server.tcl uses a dict, we can't provide several save directives
save 900 1

rdbcompression yes
dbfilename dump.rdb
dir ./

slave-serve-stale-data yes
appendonly no
appendfsync everysec
no-appendfsync-on-rewrite no
activerehashing yes

enable-protected-configs yes
enable-debug-command yes
enable-module-command yes

propagation-error-behavior panic";

const MINIMAL_CONF: &str = "# Minimal configuration for testing.
always-show-logo yes
daemonize no
pidfile /var/run/redis.pid
loglevel verbose
";

// ------------------------------------------------------------------ CLI

#[test]
fn cli_version_help_and_empty() {
    assert_eq!(parse_args(&argv(&["-v"])), CliAction::Version);
    assert_eq!(parse_args(&argv(&["--version"])), CliAction::Version);
    assert_eq!(parse_args(&argv(&["-h"])), CliAction::Help);
    assert_eq!(parse_args(&argv(&["--help"])), CliAction::Help);
    assert_eq!(parse_args(&argv(&[])), CliAction::Start(StartOptions::default()));
    assert!(usage_text("tandem").contains("tandem -v or --version"));
    assert!(version_text("0.1.0").contains("v=0.1.0"));
}

#[test]
fn cli_options_become_lines() {
    let CliAction::Start(o) = parse_args(&argv(&["/etc/t.conf", "--port", "7000", "--bind", "1.2.3.4", "::1", "-"]))
    else {
        panic!()
    };
    assert_eq!(o.config_file.as_deref(), Some(std::path::Path::new("/etc/t.conf")));
    assert!(o.from_stdin);
    assert_eq!(o.options, "port \"7000\" \nbind \"1.2.3.4\" \"::1\" ");
    // relative config file becomes absolute
    let CliAction::Start(o) = parse_args(&argv(&["rel.conf"])) else { panic!() };
    assert!(o.config_file.unwrap().is_absolute());
    // "--port 6380" as a single argument
    let CliAction::Start(o) = parse_args(&argv(&["--port 6380", "--maxmemory", "1mb"])) else { panic!() };
    assert_eq!(o.options, "port 6380 \nmaxmemory \"1mb\" ");
    // a value that starts with -- right after a lone option name
    let CliAction::Start(o) = parse_args(&argv(&["--requirepass", "--weird"])) else { panic!() };
    assert_eq!(o.options, "requirepass \"--weird\" ");
    // '-' in the middle is a value, not stdin
    let CliAction::Start(o) = parse_args(&argv(&["--port", "1", "-", "--hz", "5"])) else { panic!() };
    assert!(!o.from_stdin);
}

#[test]
fn cli_bare_save() {
    let CliAction::Start(o) = parse_args(&argv(&["--save", "--port", "1"])) else { panic!() };
    assert_eq!(o.options, "save \"\"\nport \"1\" ");
    let CliAction::Start(o) = parse_args(&argv(&["--port", "1", "--save"])) else { panic!() };
    assert_eq!(o.options, "port \"1\" \nsave \"\"");
    let c = start(&["--save", "--port", "7001"], "", &[]).unwrap();
    assert!(c.save_params().is_empty());
    assert_eq!(c.port(), 7001);
    let c = start(&["--port", "7001", "--save"], "", &[]).unwrap();
    assert!(c.save_params().is_empty());
    let c = start(&["--save", "60", "5", "10", "100"], "", &[]).unwrap();
    assert_eq!(c.save_params(), vec![(60, 5), (10, 100)]);
}

#[test]
fn cli_file_stdin_and_overrides() {
    let d = tmpdir("cli");
    let f = d.join("t.conf");
    std::fs::write(&f, "port 7000\nmaxmemory 10mb\n# comment\n\n  hz 20  \n").unwrap();
    let c = start(&[f.to_str().unwrap(), "--port", "7001", "-"], "timeout 30\nport 7002\n", &[]).unwrap();
    assert_eq!(c.port(), 7001, "command line wins over file and stdin");
    assert_eq!(c.timeout(), 30, "stdin read");
    assert_eq!(c.maxmemory(), 10 * 1024 * 1024);
    assert_eq!(c.hz(), 20);
    assert_eq!(c.config_file(), Some(f.as_path()));
    // stdin alone
    let c = start(&["-"], "port 7003\n", &[]).unwrap();
    assert_eq!(c.port(), 7003);
    assert!(c.config_file().is_none());
    // stdin as last argument after options
    let c = start(&["--hz", "33", "-"], "port 7004", &[]).unwrap();
    assert_eq!((c.port(), c.hz()), (7004, 33));
    // missing file
    let e = start(&[d.join("nope.conf").to_str().unwrap()], "", &[]).unwrap_err();
    assert!(e.to_string().starts_with("Fatal error, can't open config file '"), "{e}");
    assert!(e.to_string().ends_with("nope.conf': No such file or directory"), "{e}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn cli_quoted_multi_arg_values() {
    let c = start(&["--replicaof", "127.0.0.1 6380"], "", &[]).unwrap();
    assert_eq!(c.replicaof(), Some(("127.0.0.1".to_string(), 6380)));
    let c = start(&["--replicaof", "127.0.0.1", "6381"], "", &[]).unwrap();
    assert_eq!(c.replicaof(), Some(("127.0.0.1".to_string(), 6381)));
    let c = start(&["--save", "100 10 50 5"], "", &[]).unwrap();
    assert_eq!(c.save_params(), vec![(100, 10), (50, 5)]);
    let c = start(&["--bind", "127.0.0.1 -::1 10.0.0.1"], "", &[]).unwrap();
    assert_eq!(c.bind(), vec!["127.0.0.1", "-::1", "10.0.0.1"]);
    let c = start(&["--client-output-buffer-limit", "pubsub 1mb 512kb 30"], "", &[]).unwrap();
    let l = c.client_output_buffer_limit(ClientClass::Pubsub);
    assert_eq!((l.hard_limit_bytes, l.soft_limit_bytes, l.soft_limit_seconds), (1 << 20, 512 << 10, 30));
    // single-argument directives keep spaces
    let c = start(&["--requirepass", "a b c"], "", &[]).unwrap();
    assert_eq!(c.requirepass(), Some(b"a b c".to_vec()));
}

// ------------------------------------------------------------------ parsing

#[test]
fn units() {
    use value::parse_memory as m;
    assert_eq!(m(b"1k"), Some(1000));
    assert_eq!(m(b"1kb"), Some(1024));
    assert_eq!(m(b"1KB"), Some(1024));
    assert_eq!(m(b"2m"), Some(2_000_000));
    assert_eq!(m(b"2Mb"), Some(2 << 20));
    assert_eq!(m(b"1g"), Some(1_000_000_000));
    assert_eq!(m(b"3GB"), Some(3 << 30));
    assert_eq!(m(b"123"), Some(123));
    assert_eq!(m(b"5b"), Some(5));
    assert_eq!(m(b"-1"), None);
    assert_eq!(m(b"1x"), None);
    assert_eq!(m(b"1 kb"), None);
    let c = Config::from_text("maxmemory 1k\nrepl-backlog-size 2mb\nproto-max-bulk-len 1gb\nclient-query-buffer-limit 2GB")
        .unwrap();
    assert_eq!(c.maxmemory(), 1000);
    assert_eq!(c.repl_backlog_size(), 2 << 20);
    assert_eq!(c.proto_max_bulk_len(), 1 << 30);
    assert_eq!(c.client_query_buffer_limit(), 2 << 30);
    assert_eq!(get1(&c, "repl-backlog-size"), "2097152");
    // percent
    let c = Config::from_text("maxmemory-clients 10%").unwrap();
    assert_eq!(get1(&c, "maxmemory-clients"), "10%");
    assert_eq!(value::format_memory(3 << 30), "3gb");
    assert_eq!(value::format_memory(1000), "1000");
    assert_eq!(value::format_memory(2048), "2kb");
}

#[test]
fn aliases() {
    let c = Config::from_text(
        "slaveof 10.0.0.1 6379\nslave-read-only no\nslave-serve-stale-data no\nrepl-ping-slave-period 3\n\
         slave-priority 7\nmin-slaves-to-write 2\nmin-slaves-max-lag 4\nslave-announce-ip 1.2.3.4\n\
         slave-announce-port 999\nhash-max-ziplist-entries 5\nlist-max-ziplist-size 8\nlua-time-limit 100\n",
    )
    .unwrap();
    assert_eq!(c.replicaof(), Some(("10.0.0.1".into(), 6379)));
    assert!(!c.replica_read_only());
    assert!(!c.replica_serve_stale_data());
    assert_eq!(c.repl_ping_replica_period(), 3);
    assert_eq!(c.replica_priority(), 7);
    assert_eq!(c.min_replicas_to_write(), 2);
    assert_eq!(c.min_replicas_max_lag(), 4);
    assert_eq!(c.replica_announce_ip().as_deref(), Some("1.2.3.4"));
    assert_eq!(c.replica_announce_port(), 999);
    assert_eq!(c.hash_max_listpack_entries(), 5);
    assert_eq!(c.list_max_listpack_size(), 8);
    assert_eq!(c.busy_reply_threshold(), 100);
    assert_eq!(get1(&c, "slaveof"), "10.0.0.1 6379");
    assert_eq!(get1(&c, "replicaof"), "10.0.0.1 6379");
    // last line wins, whichever spelling
    let c = Config::from_text("hash-max-ziplist-entries 20\nhash-max-listpack-entries 21").unwrap();
    assert_eq!(get1(&c, "hash-max-ziplist-entries"), "21");
    let c = Config::from_text("hash-max-listpack-entries 20\nhash-max-ziplist-entries 21").unwrap();
    assert_eq!(get1(&c, "hash-max-listpack-entries"), "21");
    // case-insensitive names
    let c = Config::from_text("PORT 1234\nMaxMemory-Policy ALLKEYS-LRU").unwrap();
    assert_eq!(c.port(), 1234);
    assert_eq!(c.maxmemory_policy(), "allkeys-lru");
}

#[test]
fn save_semantics() {
    let c = Config::from_text("").unwrap();
    assert_eq!(c.save_params(), vec![(3600, 1), (300, 100), (60, 10000)]);
    let c = Config::from_text("save 900 1\nsave 300 10").unwrap();
    assert_eq!(c.save_params(), vec![(900, 1), (300, 10)]);
    let c = Config::from_text("save 900 1\nsave \"\"").unwrap();
    assert!(c.save_params().is_empty());
    let c = Config::from_text("save \"\"\nsave 5 5").unwrap();
    assert_eq!(c.save_params(), vec![(5, 5)]);
    assert_eq!(get1(&c, "save"), "5 5");
    // The command line's save lines add to the file's (Redis reads them as one text).
    let c = Config::load_layers("save 900 1", &[], "save 100 100").unwrap();
    assert_eq!(c.save_params(), vec![(900, 1), (100, 100)]);
    let c = Config::load_layers("", &[], "save 100 100").unwrap();
    assert_eq!(c.save_params(), vec![(100, 100)]);
    let c = Config::load_layers("save 900 1", &[], "save \"\"").unwrap();
    assert!(c.save_params().is_empty());
}

#[test]
fn bind_and_misc_specials() {
    let c = Config::from_text("bind 127.0.0.1 -::1 192.168.1.1").unwrap();
    assert_eq!(c.bind(), vec!["127.0.0.1", "-::1", "192.168.1.1"]);
    let c = Config::from_text("bind \"\"").unwrap();
    assert!(c.bind().is_empty());
    let c = Config::from_text("notify-keyspace-events KEA\nreplicaof no one\nshutdown-on-sigterm save now").unwrap();
    assert_eq!(get1(&c, "notify-keyspace-events"), "AKE");
    assert_eq!(c.notify_keyspace_events(), notify::ALL | notify::KEYSPACE | notify::KEYEVENT);
    assert_eq!(c.replicaof(), None);
    assert_eq!(c.shutdown_on_sigterm(), shutdown_flags::SAVE | shutdown_flags::NOW);
    assert_eq!(get1(&c, "shutdown-on-sigterm"), "save now");
    let c = Config::from_text("client-output-buffer-limit normal 1 2 3 slave 4kb 5mb 6").unwrap();
    assert_eq!(get1(&c, "client-output-buffer-limit"), "normal 1 2 3 slave 4096 5242880 6 pubsub 33554432 8388608 60");
    let c = Config::from_text("include /x/y.conf\nrename-command FLUSHDB badger\nuser default on nopass ~* +@all\n\
                               list-max-ziplist-entries 5\nsentinel\nloadmodule /x.so a b")
        .unwrap();
    assert_eq!(c.rename_commands, vec![(b"FLUSHDB".to_vec(), b"badger".to_vec())]);
    assert_eq!(c.users.len(), 1);
    assert_eq!(c.startup_warnings.len(), 2, "{:?}", c.startup_warnings);
    assert!(c.startup_warnings[0].contains("include"));
}

#[test]
fn hz_is_clamped() {
    let c = Config::from_text("hz 0").unwrap();
    assert_eq!(c.hz(), 1);
    let mut c = Config::from_text("hz 1000").unwrap();
    assert_eq!(c.hz(), 500);
    set(&mut c, &[("hz", "0")]).unwrap();
    assert_eq!(get1(&c, "hz"), "1");
}

// ------------------------------------------------------------------ errors

#[test]
fn error_messages_name_the_line() {
    let e = Config::from_text("port 1\nfoo bar").unwrap_err();
    assert_eq!(
        fatal_text(&e),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments"
    );
    let e = Config::from_text("port 1\n\n# c\nbind \"a\n").unwrap_err();
    assert!(fatal_text(&e).ends_with("at line 4\n>>> 'bind \"a'\nUnbalanced quotes in configuration line"), "{e}");
    let e = Config::from_text("  port abc  ").unwrap_err();
    assert!(fatal_text(&e).ends_with("at line 1\n>>> 'port abc'\nargument couldn't be parsed into an integer"));
    let e = Config::from_text("port 1 2").unwrap_err();
    assert!(fatal_text(&e).ends_with("wrong number of arguments"));
    let e = Config::from_text("save 1").unwrap_err();
    assert!(fatal_text(&e).ends_with("Invalid save parameters"));
    let e = Config::from_text("appendonly maybe").unwrap_err();
    assert!(fatal_text(&e).ends_with("argument must be 'yes' or 'no'"));
    let e = Config::from_text("loglevel loud").unwrap_err();
    assert!(fatal_text(&e).ends_with("argument(s) must be one of the following: debug, verbose, notice, warning"));
    let e = Config::from_text("maxmemory 10x").unwrap_err();
    assert!(fatal_text(&e).ends_with("argument must be a memory value"));
    let e = Config::from_text("port 99999").unwrap_err();
    assert!(fatal_text(&e).ends_with("argument must be between 0 and 65535 inclusive"));
    let e = Config::from_text("client-output-buffer-limit master 1 1 1").unwrap_err();
    assert!(fatal_text(&e).ends_with("Invalid client class specified in buffer limit configuration."));
    let e = Config::from_text("replicaof host 70000").unwrap_err();
    assert!(fatal_text(&e).ends_with("Invalid master port"));
    let e = Config::from_text("sentinel monitor x").unwrap_err();
    assert!(fatal_text(&e).ends_with("sentinel directive while not in sentinel mode"));
    let e = Config::from_text("cluster-enabled yes\nreplicaof h 1").unwrap_err();
    assert_eq!(
        fatal_text(&e),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode"
    );
    // the first bad line is reported
    let e = Config::from_text("port x\nfoo bar").unwrap_err();
    assert!(fatal_text(&e).contains("at line 1\n"));
}

#[test]
fn error_line_numbers_across_file_and_argv() {
    // numbering like redis-server: file lines, one separator line, then options
    let d = tmpdir("lines");
    let f = d.join("a.conf");
    std::fs::write(&f, "port 1\n").unwrap();
    let e = start(&[f.to_str().unwrap(), "--port", "abc"], "", &[]).unwrap_err();
    assert!(fatal_text(&e).contains("at line 3\n>>> 'port \"abc\"'\nargument couldn't"), "{e}");
    std::fs::write(&f, "port 1").unwrap();
    let e = start(&[f.to_str().unwrap(), "--bogus"], "", &[]).unwrap_err();
    assert!(fatal_text(&e).contains("at line 2\n>>> 'bogus'\nBad directive"), "{e}");
    let e = start(&["--port", "0", "--foo", "bar"], "", &[]).unwrap_err();
    assert!(fatal_text(&e).contains("at line 3\n>>> 'foo \"bar\"'\nBad directive"), "{e}");
    let _ = std::fs::remove_dir_all(d);
}

// ------------------------------------------------------------------ env layering

#[test]
fn env_layering() {
    let d = tmpdir("env");
    let f = d.join("a.conf");
    std::fs::write(&f, "port 7000\nmaxmemory 1mb\nsave 900 1\n").unwrap();
    let file = f.to_str().unwrap();
    let env = [("TANDEM_PORT", "7100"), ("TANDEM_REPL_BACKLOG_SIZE", "2mb"), ("OTHER_PORT", "1")];
    let c = start(&[file], "", &env).unwrap();
    assert_eq!(c.port(), 7100, "env beats file");
    assert_eq!(c.repl_backlog_size(), 2 << 20);
    assert_eq!(c.maxmemory(), 1 << 20, "file value kept");
    let c = start(&[file, "--port", "7200"], "", &env).unwrap();
    assert_eq!(c.port(), 7200, "argv beats env");
    // multi-arg directives from env
    let c = start(&[file], "", &[("TANDEM_SAVE", "60 1 30 2"), ("TANDEM_BIND", "0.0.0.0")]).unwrap();
    assert_eq!(c.save_params(), vec![(60, 1), (30, 2)]);
    assert_eq!(c.bind(), vec!["0.0.0.0"]);
    let c = start(&[file], "", &[("TANDEM_SAVE", "")]).unwrap();
    assert!(c.save_params().is_empty());
    // underscore spelled directive, unknown variable
    let c = start(&[], "", &[("TANDEM_SERVER_CPULIST", "0-1"), ("TANDEM_NOPE", "1")]).unwrap();
    assert_eq!(get1(&c, "server_cpulist"), "0-1");
    assert_eq!(c.startup_warnings.len(), 1);
    assert!(c.startup_warnings[0].contains("TANDEM_NOPE"));
    // errors name the variable
    let e = start(&[file], "", &[("TANDEM_PORT", "abc")]).unwrap_err();
    assert_eq!(
        fatal_text(&e),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the environment variable TANDEM_PORT\n>>> 'TANDEM_PORT=abc'\nargument couldn't be parsed into an integer"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn layers_replace_and_merge() {
    // the command line's save lines add to the file's (as Redis), obuf classes merge
    let c = Config::load_layers(
        "save 900 1\nclient-output-buffer-limit normal 1 1 1 replica 2 2 2",
        &[("TANDEM_CLIENT_OUTPUT_BUFFER_LIMIT".into(), "pubsub 3 3 3".into())],
        "save 10 10\nclient-output-buffer-limit replica 4 4 4",
    )
    .unwrap();
    assert_eq!(c.save_params(), vec![(900, 1), (10, 10)]);
    assert_eq!(get1(&c, "client-output-buffer-limit"), "normal 1 1 1 slave 4 4 4 pubsub 3 3 3");
}

// ------------------------------------------------------------------ the test suite's files

#[test]
fn test_suite_configs_parse() {
    let c = Config::from_text(DEFAULT_CONF).unwrap();
    assert_eq!(c.loglevel(), "verbose");
    assert_eq!(c.bind(), vec!["127.0.0.1"]);
    assert_eq!(c.save_params(), vec![(900, 1)]);
    assert_eq!(c.logfile(), "");
    assert_eq!(c.enable_debug_command(), ProtectedAction::Yes);
    assert_eq!(c.latency_monitor_threshold(), 1);
    assert_eq!(c.repl_diskless_sync_delay(), 0);
    let ne = c.no_effect_directives();
    for n in ["always-show-logo", "latency-monitor-threshold"] {
        assert!(ne.contains(&n), "{n} missing from {ne:?}");
    }
    assert!(!ne.contains(&"propagation-error-behavior"), "a replica honours it");
    assert!(!ne.contains(&"notify-keyspace-events"), "keyspace notifications are published");
    assert!(!ne.contains(&"appendfsync"), "default value is not reported");
    assert!(!ne.contains(&"enable-module-command"), "enable-module-command guards MODULE LOAD/UNLOAD");
    assert!(!ne.contains(&"port"));
    let c = Config::from_text(MINIMAL_CONF).unwrap();
    assert_eq!(c.pidfile().as_deref(), Some("/var/run/redis.pid"));
    // overrides used by the test suite
    Config::from_text(
        "appendonly yes\nstream-node-max-entries 10\naof-use-rdb-preamble no\nuser \"default on nopass ~* +@all\"\n\
         slowlog-log-slower-than 1000000\nrename-command flushdb badger\nprotected-mode no\nmaxclients 10\n\
         enable-protected-configs no\nenable-module-command no\ncluster-enabled yes\nauto-aof-rewrite-percentage 0\n\
         appendfsync always\nkey-load-delay 50\nrdb-key-save-delay 100\nunixsocket /tmp/x.sock\nunixsocketperm 700\n\
         repl-diskless-load swapdb\nlatency-tracking-info-percentiles \"50 99.9\"\noom-score-adj-values \"0 200 800\"",
    )
    .unwrap();
}

#[test]
fn tandem_conf_parses_cleanly() {
    let text = include_str!("../../config/tandem.conf");
    let c = Config::from_text(text).unwrap();
    let d = Config::default();
    // it documents the defaults: every value equals the built-in one, but for `bind`
    // (loopback only, as Redis's redis.conf; the built-in default is every address)
    for (i, s) in SPECS.iter().enumerate() {
        if s.name != "bind" {
            assert_eq!(c.values[i], d.values[i], "{}", s.name);
        }
    }
    assert!(c.no_effect_directives().is_empty(), "{:?}", c.no_effect_directives());
    assert_eq!(c.port(), 6379);
    assert_eq!(c.bind(), vec!["127.0.0.1", "-::1"]);
}

// ------------------------------------------------------------------ CONFIG GET

#[test]
fn config_get_rendering() {
    let c = Config::default();
    assert_eq!(get1(&c, "port"), "6379");
    assert_eq!(get1(&c, "bind"), "* -::*");
    assert_eq!(get1(&c, "save"), "3600 1 300 100 60 10000");
    assert_eq!(
        get1(&c, "client-output-buffer-limit"),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(get1(&c, "repl-backlog-size"), "1048576");
    assert_eq!(get1(&c, "proto-max-bulk-len"), "536870912");
    assert_eq!(get1(&c, "client-query-buffer-limit"), "1073741824");
    assert_eq!(get1(&c, "replicaof"), "");
    assert_eq!(get1(&c, "protected-mode"), "yes");
    assert_eq!(get1(&c, "requirepass"), "");
    assert_eq!(get1(&c, "maxmemory-policy"), "noeviction");
    assert_eq!(get1(&c, "unixsocketperm"), "0");
    assert_eq!(get1(&c, "latency-tracking-info-percentiles"), "50 99 99.9");
    assert_eq!(get1(&c, "oom-score-adj-values"), "0 200 800");
    assert_eq!(get1(&c, "shutdown-on-sigterm"), "default");
    assert_eq!(get1(&c, "notify-keyspace-events"), "");
    assert_eq!(get1(&c, "hash-max-listpack-entries"), "512");
    assert_eq!(get1(&c, "list-max-listpack-size"), "-2");
    assert_eq!(get1(&c, "trace"), "no");
    assert_eq!(get1(&c, "enable-debug-command"), "no");
    assert!(std::path::Path::new(&get1(&c, "dir")).is_absolute());
    // exact name echoed as given; unknown gives nothing
    assert_eq!(c.get(b"PORT"), vec![("PORT".to_string(), "6379".to_string())]);
    assert!(c.get(b"nope").is_empty());
    // hidden: exact only
    assert_eq!(get1(&c, "key-load-delay"), "0");
    assert!(c.get(b"*load-delay").is_empty());
    // globs include aliases, case-insensitive
    let names: Vec<String> = c.get(b"*slave*").into_iter().map(|(k, _)| k).collect();
    for n in ["slaveof", "slave-read-only", "slave-priority", "min-slaves-to-write", "repl-ping-slave-period"] {
        assert!(names.contains(&n.to_string()), "{n} not in {names:?}");
    }
    assert!(!names.contains(&"replica-read-only".to_string()));
    let names: Vec<String> = c.get(b"PO*").into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, vec!["port"]);
    let entries: Vec<String> = c.get(b"*max-*-entries").into_iter().map(|(k, _)| k).collect();
    assert!(entries.contains(&"hash-max-ziplist-entries".to_string()));
    assert!(entries.contains(&"zset-max-listpack-entries".to_string()));
    // several patterns, each name once
    let all = c.get_raw(&[b"port", b"*ort", b"tcp-backlog"]);
    assert_eq!(all.iter().filter(|(k, _)| k == b"port").count(), 1);
    assert!(all.iter().any(|(k, _)| k == b"tcp-backlog"));
    // everything
    let all = c.get(b"*");
    assert!(all.len() > 160, "{}", all.len());
}

// ------------------------------------------------------------------ CONFIG SET

#[test]
fn config_set_errors_like_redis() {
    let mut c = Config::default();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("foo", "bar")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("port", "abc")], "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"),
        (&[("PORT", "abc")], "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"),
        (&[("daemonize", "yes")], "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"),
        (&[("maxmemory", "10x")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
        (&[("maxmemory", "-1")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
        (&[("maxmemory-clients", "abc")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value"),
        (&[("maxmemory-clients", "200%")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"),
        (&[("unixsocketperm", "9")], "ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config"),
        (&[("loglevel", "foo")], "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"),
        (&[("appendonly", "maybe")], "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"),
        (&[("hz", "1"), ("hz", "2")], "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"),
        (&[("save", "1")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("port", "1"), ("foo", "2")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("port", "abc"), ("foo", "2")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&[("port", "99999")], "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"),
        (&[("repl-backlog-size", "0")], "ERR CONFIG SET failed (possibly related to argument 'repl-backlog-size') - argument must be between 1 and 9223372036854775807 inclusive"),
        (&[("min-slaves-to-write", "-1")], "ERR CONFIG SET failed (possibly related to argument 'min-slaves-to-write') - argument must be between 0 and 2147483647 inclusive"),
        (&[("maxclients", "-1")], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"),
        (&[("client-output-buffer-limit", "master 1 1 1")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."),
        (&[("client-output-buffer-limit", "normal 1 2")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."),
        (&[("client-output-buffer-limit", "normal 1x 2 3")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        (&[("shutdown-on-sigint", "save nosave")], "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously"),
        (&[("shutdown-on-sigint", "")], "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - argument(s) must be one of the following: default, save, nosave, now, force"),
        (&[("notify-keyspace-events", "Q")], "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        (&[("slave-read-only", "x")], "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"),
        (&[("dir", "/tmp")], "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"),
        (&[("oom-score-adj-values", "1 2")], "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments"),
        (&[("oom-score-adj-values", "1 2 x")], "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
        (&[("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17")], "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified."),
        (&[("latency-tracking-info-percentiles", "101")], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        (&[("latency-tracking-info-percentiles", "abc")], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"),
        (&[("cluster-announce-hostname", "a_b")], "ERR CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots"),
        (&[("proc-title-template", "{foo}")], "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables"),
        (&[("replicaof", "a 1")], "ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config"),
    ];
    let before = c.clone();
    for (pairs, want) in cases {
        assert_eq!(set(&mut c, pairs).unwrap_err(), *want, "{pairs:?}");
        assert_eq!(c.values, before.values, "unchanged after {pairs:?}");
    }
    // protected configs with enable-protected-configs
    let mut p = Config::from_text("enable-protected-configs yes").unwrap();
    let e = set(&mut p, &[("dir", "/nonexistent-dir-xyz")]).unwrap_err();
    assert_eq!(e, "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory");
    let e = set(&mut p, &[("dbfilename", "a/b")]).unwrap_err();
    assert_eq!(e, "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename");
    set(&mut p, &[("dir", "/tmp"), ("dbfilename", "x.rdb")]).unwrap();
    assert_eq!(p.rdb_path(), std::fs::canonicalize("/tmp").unwrap().join("x.rdb"));
    let mut l = Config::from_text("enable-protected-configs local").unwrap();
    assert!(set(&mut l, &[("dbfilename", "y.rdb")]).is_err());
    l.set_ext(&[(b"dbfilename".to_vec(), b"y.rdb".to_vec())], true).unwrap();
    assert_eq!(l.dbfilename(), "y.rdb");
}

#[test]
fn config_set_is_atomic_and_works() {
    let mut c = Config::default();
    let before = c.clone();
    let e = set(&mut c, &[("maxmemory", "10mb"), ("port", "7000"), ("appendonly", "maybe")]).unwrap_err();
    assert!(e.contains("'appendonly'"));
    assert_eq!(c.values, before.values, "nothing applied");
    set(&mut c, &[("maxmemory", "10mb"), ("port", "7000"), ("slave-read-only", "no")]).unwrap();
    assert_eq!((c.maxmemory(), c.port(), c.replica_read_only()), (10 << 20, 7000, false));
    set(&mut c, &[("save", ""), ("bind", ""), ("maxmemory-policy", "ALLKEYS-LRU")]).unwrap();
    assert!(c.save_params().is_empty());
    assert!(c.bind().is_empty());
    assert_eq!(get1(&c, "maxmemory-policy"), "allkeys-lru");
    set(&mut c, &[("save", "60 5 10 1"), ("client-output-buffer-limit", "pubsub 1mb 0 0")]).unwrap();
    assert_eq!(c.save_params(), vec![(60, 5), (10, 1)]);
    assert_eq!(get1(&c, "client-output-buffer-limit"), "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 0 0");
    set(&mut c, &[("maxmemory", ""), ("maxmemory-clients", "10%"), ("latency-tracking-info-percentiles", "50.5 1e1")]).unwrap();
    assert_eq!(get1(&c, "maxmemory"), "0");
    assert_eq!(get1(&c, "maxmemory-clients"), "10%");
    assert_eq!(get1(&c, "latency-tracking-info-percentiles"), "50.5 10");
    set(&mut c, &[("notify-keyspace-events", "Ex"), ("requirepass", "secret"), ("trace", "yes")]).unwrap();
    assert_eq!(get1(&c, "notify-keyspace-events"), "xE");
    assert_eq!(c.requirepass(), Some(b"secret".to_vec()));
    assert!(c.trace());
    set(&mut c, &[("requirepass", "")]).unwrap();
    assert_eq!(c.requirepass(), None);
    let changed = c.set_ext(&[(b"port".to_vec(), b"7000".to_vec()), (b"hz".to_vec(), b"50".to_vec())], false).unwrap();
    assert_eq!(changed, vec!["hz"]);
}

#[test]
fn config_sanity_get_then_set_everything() {
    // like the test suite's "CONFIG sanity": every value CONFIG GET returns can
    // be set back unchanged
    let mut c = Config::from_text(DEFAULT_CONF).unwrap();
    let before = c.get(b"*");
    for (k, v) in &before {
        let spec = &SPECS[table::lookup(k.as_bytes()).unwrap().0];
        if spec.has(table::IMMUTABLE) {
            continue;
        }
        set(&mut c, &[(k.as_str(), v.as_str())]).unwrap_or_else(|e| panic!("{k} {v:?}: {e}"));
    }
    assert_eq!(c.get(b"*"), before);
}

// ------------------------------------------------------------------ CONFIG REWRITE

#[test]
fn rewrite_without_file() {
    assert_eq!(Config::default().rewrite().unwrap_err(), "ERR The server is running without a config file");
}

#[test]
fn rewrite_round_trip() {
    let d = tmpdir("rw");
    let f = d.join("rw.conf");
    let original = "# top comment\nport 0\ndaemonize yes\nsave 900 1\nsave 300 10\nslave-read-only yes\n\
                    hash-max-ziplist-entries 20\nrename-command flushdb badger\nlist-max-ziplist-entries 5\n\
                    enable-protected-configs yes\n\n\n# tail comment\n";
    std::fs::write(&f, original).unwrap();
    let mut c = start(&[f.to_str().unwrap()], "", &[]).unwrap();
    set(
        &mut c,
        &[
            ("save", "60 5"),
            ("maxmemory", "2mb"),
            ("replica-read-only", "no"),
            ("hash-max-listpack-entries", "30"),
            ("client-output-buffer-limit", "pubsub 1mb 0 0"),
            ("requirepass", "a b\"c"),
            ("notify-keyspace-events", "Ex"),
            ("repl-backlog-size", "1000000"),
            ("maxmemory-clients", "5%"),
        ],
    )
    .unwrap();
    c.rewrite().unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    let dir = get1(&c, "dir");
    let expected_head = "# top comment\nport 0\ndaemonize yes\nsave 60 5\n\nreplica-read-only no\n\
                         hash-max-listpack-entries 30\nrename-command flushdb badger\n# ??? list-max-ziplist-entries 5\n\
                         enable-protected-configs yes\n\n# tail comment\n\n# Generated by CONFIG REWRITE\n";
    assert!(text.starts_with(expected_head), "{text}");
    let tail: Vec<&str> = text[expected_head.len()..].lines().collect();
    assert_eq!(
        tail,
        vec![
            "requirepass \"a b\\\"c\"".to_string(),
            "repl-backlog-size 1000000".to_string(),
            "maxmemory 2mb".to_string(),
            "maxmemory-clients 5%".to_string(),
            format!("dir \"{dir}\""),
            "client-output-buffer-limit pubsub 1mb 0 0".to_string(),
            "notify-keyspace-events \"xE\"".to_string(),
            "latency-tracking-info-percentiles 50 99 99.9".to_string(),
        ],
        "{text}"
    );
    // the rewritten file loads back to the same values
    let again = start(&[f.to_str().unwrap()], "", &[]).unwrap();
    assert_eq!(again.get(b"*"), c.get(b"*"));
    // a second rewrite keeps the meaning (like Redis, the class lines of
    // client-output-buffer-limit may move around)
    again.rewrite().unwrap();
    let third = start(&[f.to_str().unwrap()], "", &[]).unwrap();
    assert_eq!(third.get(b"*"), c.get(b"*"));
    // removing values removes their lines
    let mut c = again;
    set(&mut c, &[("requirepass", ""), ("save", "")]).unwrap();
    c.rewrite().unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(!text.contains("requirepass"), "{text}");
    assert!(text.contains("\nsave \"\"\n"), "{text}");
    assert!(!text.contains("save 60 5"), "{text}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn rewrite_missing_file_is_created() {
    let d = tmpdir("rw2");
    let f = d.join("new.conf");
    let mut c = Config::default();
    c.set_config_file(Some(f.clone()));
    set(&mut c, &[("port", "7777")]).unwrap();
    c.rewrite().unwrap();
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.starts_with("# Generated by CONFIG REWRITE\n"), "{text}");
    assert!(text.contains("\nport 7777\n"));
    assert!(text.contains("\nsave 3600 1\nsave 300 100\nsave 60 10000\n"), "{text}");
    let again = Config::from_text(&text).unwrap();
    assert_eq!(again.port(), 7777);
    let _ = std::fs::remove_dir_all(d);
}

// ------------------------------------------------------------------ table sanity

#[test]
fn every_directive_round_trips_through_rewrite() {
    // non-default values for every directive survive rewrite + reload
    let d = tmpdir("all");
    let text = format!(
        "enable-protected-configs yes\ndir {}\nbind 0.0.0.0\nreplicaof 10.1.1.1 7000\ncluster-enabled no\n",
        d.display()
    );
    let c = Config::from_text(&text).unwrap();
    let content = c.rewrite_content("");
    let back = Config::from_text(&content).unwrap();
    assert_eq!(back.get(b"*"), c.get(b"*"), "{content}");
    assert!(content.contains("replicaof 10.1.1.1 7000"));
    assert!(content.contains("bind 0.0.0.0"));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn table_has_no_duplicate_names() {
    let mut seen = std::collections::HashSet::new();
    for s in SPECS {
        assert!(seen.insert(s.name), "{}", s.name);
        if let Some(a) = s.alias {
            assert!(seen.insert(a), "{a}");
        }
    }
}
