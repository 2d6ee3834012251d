//! Server administration: CLIENT, INFO, CONFIG, COMMAND, TIME, LASTSAVE, DEBUG, ECHO, PING.

mod support;
use support::*;
use std::time::{Duration, Instant};

/// Parses a CLIENT LIST / CLIENT INFO line into (field, value) pairs.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split_whitespace().filter_map(|f| f.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
}

fn field(line: &str, name: &str) -> String {
    fields(line).into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no {} in {}", name, line))
}

#[test]
fn connection_commands_match_redis() {
    assert_table(&[
        (&["PING"], "+PONG\r\n"),
        (&["PING", "hello"], "$5\r\nhello\r\n"),
        (&["PING", "a", "b"], "-ERR wrong number of arguments for 'ping' command\r\n"),
        (&["ECHO", "x y"], "$3\r\nx y\r\n"),
        (&["ECHO"], "-ERR wrong number of arguments for 'echo' command\r\n"),
        (&["CLIENT", "GETNAME"], "$-1\r\n"),
        (&["CLIENT", "SETNAME", "a b"], "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"),
        (&["CLIENT", "SETNAME", "myname"], "+OK\r\n"),
        (&["CLIENT", "GETNAME"], "$6\r\nmyname\r\n"),
        (&["CLIENT", "SETNAME", ""], "+OK\r\n"),
        (&["CLIENT", "GETNAME"], "$-1\r\n"),
        (&["CLIENT", "GETNAME", "x"], "-ERR wrong number of arguments for 'client|getname' command\r\n"),
        (&["CLIENT", "KILL", "ID", "999"], ":0\r\n"),
        (&["CLIENT", "KILL", "ID", "abc"], "-ERR client-id should be greater than 0\r\n"),
        (&["CLIENT", "KILL", "ID", "1", "foo"], "-ERR syntax error\r\n"),
        (&["CLIENT", "KILL", "1.2.3.4:5"], "-ERR No such client\r\n"),
        (&["CLIENT", "KILL", "TYPE", "foo"], "-ERR Unknown client type 'foo'\r\n"),
        (&["CLIENT", "PAUSE"], "-ERR wrong number of arguments for 'client|pause' command\r\n"),
        (&["CLIENT", "PAUSE", "abc"], "-ERR timeout is not an integer or out of range\r\n"),
        (&["CLIENT", "FOO"], "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"),
        (&["CONFIG", "GET"], "-ERR wrong number of arguments for 'config|get' command\r\n"),
        (&["CONFIG", "SET", "foo", "bar"], "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"),
        (&["CONFIG", "SET", "maxmemory", "abc"], "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n"),
        (&["CONFIG", "RESETSTAT", "x"], "-ERR wrong number of arguments for 'config|resetstat' command\r\n"),
        (&["CONFIG", "REWRITE"], "-ERR The server is running without a config file\r\n"),
        (&["CONFIG", "GET", "maxmemory"], "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"),
        (&["CONFIG", "SET", "maxmemory", "10mb"], "+OK\r\n"),
        (&["CONFIG", "GET", "maxmemory"], "*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"),
        (&["CONFIG", "GET", "nosuchparam*"], "*0\r\n"),
        (&["TIME", "x"], "-ERR wrong number of arguments for 'time' command\r\n"),
    ]);
}

#[test]
fn client_id_info_list() {
    let s = Server::tandem(&[]);
    let mut a = s.conn();
    // The start-up probe connection is reaped asynchronously.
    a.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "1");
    let mut b = s.conn();
    assert_eq!(b.raw(&["PING"]), "+PONG\r\n");
    let ida = a.cmd(&["CLIENT", "ID"]).int();
    let idb = b.cmd(&["CLIENT", "ID"]).int();
    assert!(idb > ida, "ids increase: {} {}", ida, idb);
    assert_eq!(a.raw(&["CLIENT", "SETNAME", "alpha"]), "+OK\r\n");
    assert_eq!(a.raw(&["SELECT", "3"]), "+OK\r\n");
    let info = a.cmd(&["CLIENT", "INFO"]).text();
    assert!(info.ends_with('\n'));
    assert_eq!(field(&info, "id"), ida.to_string());
    assert_eq!(field(&info, "name"), "alpha");
    assert_eq!(field(&info, "db"), "3");
    assert_eq!(field(&info, "flags"), "N");
    assert_eq!(field(&info, "laddr"), format!("127.0.0.1:{}", s.port));
    assert_eq!(field(&info, "addr"), a.w.local_addr().unwrap().to_string());
    assert_eq!(field(&info, "cmd"), "client|info");
    for f in ["fd", "age", "idle", "sub", "psub", "multi", "qbuf", "obl", "oll", "omem", "tot-mem", "events", "user", "resp"] {
        field(&info, f);
    }
    let list = a.cmd(&["CLIENT", "LIST"]).text();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{}", list);
    let ids: Vec<String> = lines.iter().map(|l| field(l, "id")).collect();
    assert_eq!(ids, vec![ida.to_string(), idb.to_string()]);
    let only = a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string()]).text();
    assert_eq!(only.lines().count(), 1);
    assert_eq!(field(&only, "id"), idb.to_string());
    let normal = a.cmd(&["CLIENT", "LIST", "TYPE", "normal"]).text();
    assert_eq!(normal.lines().count(), 2);
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "replica"]).text(), "");
    // MULTI shows in flags.
    assert_eq!(b.raw(&["MULTI"]), "+OK\r\n");
    let l = a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string()]).text();
    assert_eq!(field(&l, "flags"), "x");
    assert_eq!(b.raw(&["DISCARD"]), "+OK\r\n");
}

#[test]
fn client_kill_by_id_addr_type() {
    let s = Server::tandem(&[]);
    let mut admin = s.conn();
    // Let the start-up probe connection go away first.
    admin.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "1");
    let mut v1 = s.conn();
    let mut v2 = s.conn();
    let mut v3 = s.conn();
    let id1 = v1.cmd(&["CLIENT", "ID"]).int();
    assert_eq!(admin.raw(&["CLIENT", "KILL", "ID", &id1.to_string()]), ":1\r\n");
    assert!(v1.is_closed(Duration::from_secs(3)));
    // Old form: CLIENT KILL addr.
    let addr2 = v2.w.local_addr().unwrap().to_string();
    assert_eq!(v2.raw(&["PING"]), "+PONG\r\n");
    assert_eq!(admin.raw(&["CLIENT", "KILL", &addr2]), "+OK\r\n");
    assert!(v2.is_closed(Duration::from_secs(3)));
    // New form with ADDR.
    let addr3 = v3.w.local_addr().unwrap().to_string();
    assert_eq!(admin.raw(&["CLIENT", "KILL", "ADDR", &addr3]), ":1\r\n");
    assert!(v3.is_closed(Duration::from_secs(3)));
    // TYPE normal kills everyone but me (SKIPME yes by default).
    let mut others: Vec<Conn> = (0..3).map(|_| s.conn()).collect();
    for o in others.iter_mut() {
        assert_eq!(o.raw(&["PING"]), "+PONG\r\n");
    }
    assert_eq!(admin.raw(&["CLIENT", "KILL", "TYPE", "normal"]), ":3\r\n");
    for o in others.iter_mut() {
        assert!(o.is_closed(Duration::from_secs(3)));
    }
    assert_eq!(admin.raw(&["PING"]), "+PONG\r\n");
    admin.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "1");
    // SKIPME no: the killer itself goes, after its reply.
    assert_eq!(admin.raw(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]), ":1\r\n");
    assert!(admin.is_closed(Duration::from_secs(3)));
    assert_eq!(s.conn().raw(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_pause_and_unpause() {
    let s = Server::tandem(&[]);
    let mut admin = s.conn();
    let mut w = s.conn();
    // WRITE pause: reads go through, writes wait.
    let t = Instant::now();
    assert_eq!(admin.raw(&["CLIENT", "PAUSE", "600", "WRITE"]), "+OK\r\n");
    assert_eq!(w.raw(&["GET", "k"]), "$-1\r\n");
    assert!(t.elapsed() < Duration::from_millis(400), "read was paused ({:?})", t.elapsed());
    assert_eq!(w.raw(&["SET", "k", "v"]), "+OK\r\n");
    assert!(t.elapsed() >= Duration::from_millis(590), "write not paused ({:?})", t.elapsed());
    // ALL pause, ended early by UNPAUSE from another client.
    assert_eq!(admin.raw(&["CLIENT", "PAUSE", "10000"]), "+OK\r\n");
    let t = Instant::now();
    w.send(&encode_str(&["GET", "k"]));
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(admin.raw(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    assert_eq!(String::from_utf8_lossy(&w.reply_bytes()), "$1\r\nv\r\n");
    let el = t.elapsed();
    assert!(el >= Duration::from_millis(140) && el < Duration::from_secs(5), "{:?}", el);
}

#[test]
fn info_sections_and_fields() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(c.raw(&["SET", "b", "1", "EX", "100"]), "+OK\r\n");
    let text = c.cmd(&["INFO"]).text();
    for sec in ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Keyspace"] {
        assert!(text.contains(&format!("{}\r\n", sec)), "missing {}", sec);
    }
    assert!(!text.contains("# Commandstats"));
    assert_eq!(c.info_field("server", "redis_version").as_deref(), Some("7.0.15"));
    assert_eq!(c.info_field("server", "tandem_version").as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(c.info_field("server", "tcp_port"), Some(s.port.to_string()));
    assert_eq!(c.info_field("server", "process_id"), Some(s.pid().to_string()));
    // Connections are registered and reaped asynchronously: poll.
    c.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "1");
    assert_eq!(c.info_field("stats", "expired_keys").as_deref(), Some("0"));
    assert_eq!(c.info_field("replication", "role").as_deref(), Some("master"));
    assert_eq!(c.info_field("keyspace", "db0").as_deref(), Some("keys=2,expires=1,avg_ttl=0"));
    let _second = s.conn();
    c.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "2");
    // Only the asked section.
    let server_only = c.cmd(&["INFO", "server"]).text();
    assert!(server_only.starts_with("# Server\r\n"));
    assert!(!server_only.contains("# Clients"));
    let all = c.cmd(&["INFO", "all"]).text();
    assert!(all.contains("# Commandstats\r\n"));
    assert!(all.contains("cmdstat_set:calls=2,"), "{}", all);
    let multi = c.cmd(&["INFO", "server", "keyspace"]).text();
    assert!(multi.contains("# Server") && multi.contains("# Keyspace") && !multi.contains("# Stats"));
    // RESETSTAT zeroes counters.
    assert_eq!(c.raw(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let cs = c.cmd(&["INFO", "commandstats"]).text();
    assert!(!cs.contains("cmdstat_set"), "{}", cs);
    assert_eq!(c.info_field("stats", "keyspace_hits").as_deref(), Some("0"));
}

#[test]
fn info_matches_redis_field_names() {
    if !have_redis() {
        eprintln!("note: redis-server missing, skipping");
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let mut tc = t.conn();
    let mut rc = r.conn();
    for sec in ["server", "clients", "stats", "persistence", "replication", "cpu", "keyspace"] {
        let tk: Vec<String> = tc.info(sec).into_iter().map(|(k, _)| k).collect();
        let rk: Vec<String> = rc.info(sec).into_iter().map(|(k, _)| k).collect();
        // Every field tandem prints that redis also has must keep redis's name: check the
        // important ones are all present.
        for must in match sec {
            "server" => &["redis_version", "redis_mode", "process_id", "run_id", "tcp_port", "uptime_in_seconds", "hz", "executable", "config_file"][..],
            "clients" => &["connected_clients", "maxclients", "blocked_clients"][..],
            "stats" => &["total_connections_received", "total_commands_processed", "expired_keys", "keyspace_hits", "keyspace_misses", "rejected_connections", "total_error_replies"][..],
            "persistence" => &["loading", "rdb_changes_since_last_save", "rdb_last_save_time", "aof_enabled"][..],
            "replication" => &["role", "connected_slaves", "master_replid", "master_repl_offset"][..],
            "cpu" => &["used_cpu_sys", "used_cpu_user"][..],
            _ => &[][..],
        } {
            assert!(rk.iter().any(|k| k == must), "redis lacks {}", must);
            assert!(tk.iter().any(|k| k == must), "tandem INFO {} lacks {}", sec, must);
        }
    }
}

#[test]
fn config_get_glob_and_set() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let r = c.cmd(&["CONFIG", "GET", "max*"]);
    let names: Vec<String> = r.array().iter().step_by(2).map(|x| x.text()).collect();
    for n in ["maxmemory", "maxclients", "maxmemory-policy"] {
        assert!(names.contains(&n.to_string()), "{:?}", names);
    }
    assert!(names.iter().all(|n| n.starts_with("max")));
    assert_eq!(c.cmd(&["CONFIG", "GET", "port"]).strings(), vec!["port".to_string(), s.port.to_string()]);
    assert_eq!(c.cmd(&["CONFIG", "GET", "save"]).strings(), vec!["save", ""]);
    let dir = c.cmd(&["CONFIG", "GET", "dir"]).strings();
    assert_eq!(std::fs::canonicalize(&dir[1]).unwrap(), std::fs::canonicalize(s.dir()).unwrap());
    // Several patterns at once.
    let two = c.cmd(&["CONFIG", "GET", "port", "databases"]).strings();
    assert_eq!(two, vec!["port".to_string(), s.port.to_string(), "databases".into(), "16".into()]);
    assert_eq!(c.raw(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru", "hz", "20"]), "+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "GET", "maxmemory-policy"]).strings(), vec!["maxmemory-policy", "allkeys-lru"]);
    assert_eq!(c.cmd(&["CONFIG", "GET", "hz"]).strings(), vec!["hz", "20"]);
    assert_eq!(c.info_field("server", "hz").as_deref(), Some("20"));
    // Immutable parameters cannot be set.
    let r = c.raw(&["CONFIG", "SET", "databases", "4"]);
    assert!(r.starts_with("-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"), "{}", r);
}

#[test]
fn config_rewrite_updates_file() {
    let confdir = TempDir::new("conf");
    let conf = confdir.path().join("tandem.conf");
    std::fs::write(&conf, "# my config\nmaxmemory 1mb\nhz 10\n# keep this comment\nappendonly no\n").unwrap();
    let s = Server::launch(Kind::Tandem).config(&conf).start();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "maxmemory"]).strings(), vec!["maxmemory", "1048576"]);
    assert_eq!(c.cmd(&["CONFIG", "GET", "hz"]).strings(), vec!["hz", "10"]);
    let cf = c.info_field("server", "config_file").unwrap();
    assert_eq!(std::fs::canonicalize(cf).unwrap(), std::fs::canonicalize(&conf).unwrap());
    assert_eq!(c.raw(&["CONFIG", "SET", "maxmemory", "2mb", "maxmemory-policy", "allkeys-lru"]), "+OK\r\n");
    assert_eq!(c.raw(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"# my config"), "{}", text);
    assert!(lines.contains(&"# keep this comment"), "{}", text);
    assert!(lines.contains(&"maxmemory 2mb"), "{}", text);
    assert!(lines.contains(&"maxmemory-policy allkeys-lru"), "{}", text);
    assert!(lines.contains(&"hz 10"), "{}", text);
    assert!(!lines.contains(&"maxmemory 1mb"), "{}", text);
    // The old line is replaced in place.
    let pos = |l: &str| lines.iter().position(|x| *x == l).unwrap();
    assert!(pos("maxmemory 2mb") < pos("hz 10"), "{}", text);
    // The rewritten file starts a server with the new values.
    // The rewritten file names the first server's `dir`, which goes away with it: keep a
    // directory there for the restart (its --dir option applies after the file).
    let old_dir = s.dir().to_path_buf();
    assert!(text.contains(&format!("dir \"{}\"", old_dir.display())), "{}", text);
    drop(c);
    drop(s);
    std::fs::create_dir_all(&old_dir).unwrap();
    let _cleanup = TempDir(old_dir);
    let s2 = Server::launch(Kind::Tandem).config(&conf).start();
    let mut c2 = s2.conn();
    assert_eq!(c2.cmd(&["CONFIG", "GET", "maxmemory"]).strings(), vec!["maxmemory", "2097152"]);
    assert_eq!(c2.cmd(&["CONFIG", "GET", "maxmemory-policy"]).strings(), vec!["maxmemory-policy", "allkeys-lru"]);
}

#[test]
fn command_count_info_docs() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let n = c.cmd(&["COMMAND", "COUNT"]).int();
    assert!(n >= 60, "COMMAND COUNT {}", n);
    assert_eq!(c.cmd(&["COMMAND"]).array().len() as i64, n);
    // COMMAND LIST names subcommands too (`client|list`), as Redis 7.0's.
    let list = c.cmd(&["COMMAND", "LIST"]).strings();
    assert_eq!(list.iter().filter(|n| !n.contains('|')).count() as i64, n);
    assert!(list.iter().any(|n| n == "client|list"), "{:?}", list);
    let info = c.raw(&["COMMAND", "INFO", "get"]);
    assert!(
        info.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n"),
        "{:?}",
        info
    );
    let info = c.cmd(&["COMMAND", "INFO", "set", "nosuch", "MGET"]);
    let items = info.array();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].array()[0].text(), "set");
    assert_eq!(items[0].array()[1].int(), -3);
    // Redis answers an unknown name with a null bulk (`$-1`), not a null array.
    assert_eq!(items[1], Reply::Nil);
    assert_eq!(items[2].array()[0].text(), "mget");
    assert_eq!(items[2].array()[4].int(), -1);
    let docs = c.cmd(&["COMMAND", "DOCS", "get"]);
    let d = docs.array();
    assert_eq!(d[0].text(), "get");
    let body = d[1].array()[..6].iter().map(|x| x.text()).collect::<Vec<_>>();
    assert_eq!(&body[..6], &["summary", "Get the value of a key", "since", "1.0.0", "group", "string"]);
    let keys = c.cmd(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]).strings();
    assert_eq!(keys, vec!["a", "b"]);
}

#[test]
fn time_lastsave_debug_sleep() {
    let s = Server::tandem(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let t = c.cmd(&["TIME"]).strings();
    assert_eq!(t.len(), 2);
    let secs: i64 = t[0].parse().unwrap();
    let us: i64 = t[1].parse().unwrap();
    assert!((secs - now).abs() <= 2);
    assert!((0..1_000_000).contains(&us));
    let ls = c.cmd(&["LASTSAVE"]).int();
    assert!(ls <= now + 1 && ls > now - 60, "LASTSAVE {}", ls);
    assert_eq!(c.raw(&["DEBUG", "SLEEP", "0"]), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(c.raw(&["DEBUG", "SLEEP", "0.2"]), "+OK\r\n");
    assert!(t.elapsed() >= Duration::from_millis(190));
}

#[test]
fn quit_and_reset() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
    assert_eq!(c.raw(&["SELECT", "2"]), "+OK\r\n");
    assert_eq!(c.raw(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.raw(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.raw(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(c.raw(&["SET", "k", "db0"]), "+OK\r\n");
    let mut c2 = s.conn();
    assert_eq!(c2.raw(&["GET", "k"]), "$3\r\ndb0\r\n");
    assert_eq!(c.raw(&["QUIT"]), "+OK\r\n");
    assert!(c.is_closed(Duration::from_secs(2)));
}

/// Every command in tandem's table answers a wrong argument count with Redis's exact error.
#[test]
fn arity_errors_match_redis_for_every_command() {
    let t = Server::tandem(&[]);
    let mut tc = t.conn();
    let names = tc.cmd(&["COMMAND", "LIST"]).strings();
    let r = if have_redis() { Some(Server::redis(&[])) } else { None };
    let mut rc = r.as_ref().map(|r| r.conn());
    let mut checked = 0;
    for name in names {
        if matches!(name.as_str(), "shutdown" | "quit" | "reset" | "debug") || name.contains('|') {
            continue;
        }
        let info = tc.cmd(&["COMMAND", "INFO", &name]);
        let arity = info.array()[0].array()[1].int();
        // Fixed arity: one argument too many; variable (-N, N >= 2): one too few.
        let argc = if arity > 0 {
            arity as usize + 1
        } else if arity < -1 {
            (-arity) as usize - 1
        } else {
            continue;
        };
        let mut argv = vec![name.clone()];
        argv.extend((1..argc).map(|i| format!("arg{}", i)));
        let a: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
        let got = tc.raw(&a);
        let want = if name == "exec" {
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n".to_string()
        } else {
            format!("-ERR wrong number of arguments for '{}' command\r\n", name)
        };
        assert_eq!(got, want, "{:?}", a);
        // tandem's own commands (read-your-writes, the consistency proof) are unknown to Redis.
        let tandem_only = matches!(name.as_str(), "waitoffset" | "writeoffset" | "verifyreplicas");
        if let Some(rc) = rc.as_mut().filter(|_| !tandem_only) {
            assert_eq!(got, rc.raw(&a), "tandem vs redis-server for {:?}", a);
        }
        checked += 1;
    }
    assert!(checked > 40, "only {} commands checked", checked);
}

/// CLIENT PAUSE WRITE holds writes (counted in blocked_clients, as Redis), lets read-only
/// transactions through, and UNPAUSE releases the held write at once (it is woken, not polled).
#[test]
fn pause_holds_writes_until_unpause() {
    let mut servers = vec![Server::tandem(&[])];
    if have_redis() {
        servers.push(Server::redis(&[]));
    }
    for s in servers {
        let mut admin = s.conn();
        assert_eq!(admin.raw(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(admin.raw(&["CLIENT", "PAUSE", "100000", "WRITE"]), "+OK\r\n");
        let mut ro = s.conn();
        assert_eq!(ro.raw(&["MULTI"]), "+OK\r\n");
        assert_eq!(ro.raw(&["GET", "k"]), "+QUEUED\r\n");
        assert_eq!(ro.raw(&["EXEC"]), "*1\r\n$1\r\nv\r\n", "{}", s.name);
        let mut w = s.conn();
        w.send(&encode_str(&["SET", "k", "w"]));
        admin.wait_info("clients", "blocked_clients", Duration::from_secs(10), |v| v == "1");
        assert_eq!(admin.raw(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
        let t = Instant::now();
        assert_eq!(w.reply_bytes(), b"+OK\r\n".to_vec(), "{}", s.name);
        assert!(t.elapsed() < Duration::from_secs(2), "{}: write released {:?} after UNPAUSE", s.name, t.elapsed());
        assert_eq!(admin.info_field("clients", "blocked_clients").as_deref(), Some("0"));
    }
}

/// CLIENT REPLY OFF / ON / SKIP: the bytes a pipelined connection receives, as redis-server.
#[test]
fn client_reply_modes_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.send(b"CLIENT REPLY SKIP\r\nPING pong\r\nPING pong2\r\nCLIENT REPLY OFF\r\nPING a\r\nSET k v\r\nCLIENT REPLY ON\r\nGET k\r\n");
        vec![c.reply_bytes(), c.reply_bytes(), c.reply_bytes()]
    });
}

/// CLIENT REPLY ON as the command a SKIP silences cancels the skip (its +OK is sent, as
/// Redis's test "unset SKIP flag" waits for); CLIENT KILL USER of a user that does not exist;
/// `qbuf` of the running client is what its read brought in (Redis's test: 26 for CLIENT LIST).
#[test]
fn client_reply_skip_on_kill_user_and_qbuf_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n");
        c.send(b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n");
        let mut steps = vec![c.reply(), c.raw(&["PING"])];
        steps.push(c.raw(&["CLIENT", "KILL", "USER", "wrong_user"]));
        steps.push(c.raw(&["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"]));
        steps.push(field(&c.cmd(&["CLIENT", "LIST"]).text(), "qbuf"));
        steps.push(field(&c.cmd(&["CLIENT", "INFO"]).text(), "qbuf"));
        // Pipelined: the whole read is held while its commands run.
        c.send(b"PING\r\nCLIENT INFO\r\n");
        c.reply();
        steps.push(field(&c.read_reply().text(), "qbuf"));
        steps
    });
}

/// A client blocked in BLPOP shows `flags=b` in CLIENT LIST until it is served (Redis's tests
/// wait for that flag, so without it they hang).
#[test]
fn client_list_shows_blocked_clients() {
    let srv = Server::tandem(&[]);
    let mut a = srv.conn();
    let id = a.cmd(&["CLIENT", "ID"]).int().to_string();
    a.send_cmd(&["BLPOP", "q", "5"]);
    let mut b = srv.conn();
    wait_for("flags=b", || b.cmd(&["CLIENT", "LIST", "ID", &id]).text().contains("flags=b "));
    b.cmd(&["LPUSH", "q", "x"]);
    assert_eq!(a.read_reply().strings(), ["q", "x"]);
    assert!(b.cmd(&["CLIENT", "LIST", "ID", &id]).text().contains("flags=N "));
}

/// SLOWLOG as redis-server keeps it: what is logged (EXEC's commands, not EXEC; a command
/// that blocked, when served), trimmed arguments, redacted secrets, the client's name, LEN,
/// RESET, max-len and the errors (ids, times, durations and ports masked).
#[test]
fn slowlog_matches_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out = Vec::new();
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let mut sadd: Vec<&str> = vec!["SADD", "s"];
        sadd.extend(many.iter().map(|s| s.as_str()));
        let long = "A".repeat(130);
        for args in [
            &["SLOWLOG", "RESET"][..],
            &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
            &["CLIENT", "SETNAME", "tester"],
            &["SET", "k", &long],
            &sadd,
            &["CONFIG", "SET", "masterauth", "secret"],
            &["AUTH", "nopass"],
            &["HELLO", "2", "AUTH", "default", "x"],
            &["MULTI"],
            &["INCR", "n"],
            &["EXEC"],
            &["GEOADD", "g", "1", "2", "m"],
            &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
        ] {
            let r = c.raw(args);
            // HELLO's reply holds the connection id, which differs between the servers.
            out.push(if args[0] == "HELLO" { r.lines().next().unwrap_or("").to_string() } else { r });
        }
        out.push(c.raw(&["SLOWLOG", "LEN"]));
        match c.cmd(&["SLOWLOG", "GET", "-1"]) {
            Reply::Array(entries) => {
                for e in entries {
                    let f = e.array();
                    out.push(format!("{:?} name={}", f[3].strings(), f[5].text()));
                }
            }
            r => panic!("SLOWLOG GET: {r:?}"),
        }
        out.push(c.raw(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]));
        out.push(c.raw(&["CONFIG", "SET", "slowlog-max-len", "2"]));
        out.push(c.raw(&["PING"]));
        out.push(c.raw(&["SLOWLOG", "LEN"]));
        out.push(format!("{}", c.cmd(&["SLOWLOG", "GET", "1"]).array().len()));
        for args in [&["SLOWLOG", "GET", "-2"][..], &["SLOWLOG", "GET", "x"], &["SLOWLOG", "LEN", "1"], &["SLOWLOG", "NOPE"], &["SLOWLOG", "HELP"]] {
            out.push(c.raw(args));
        }
        out.push(c.raw(&["SLOWLOG", "RESET"]));
        out.push(c.raw(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]));
        out.push(c.raw(&["SLOWLOG", "LEN"]));
        out
    });
}

/// CLUSTER and the other cluster commands answer as redis-server without cluster mode
/// (subcommand and arity checks first), and COMMAND LIST names them (in Redis's hash-table
/// order there, so compared sorted).
#[test]
fn cluster_commands_without_cluster_mode() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out = vec![];
        for args in [
            &["CLUSTER", "INFO"][..],
            &["CLUSTER", "INFO", "x"],
            &["CLUSTER", "NOPE"],
            &["CLUSTER", "HELP"],
            &["CLUSTER", "SETSLOT", "1"],
            &["CLUSTER"],
            &["ASKING"],
            &["READONLY"],
            &["READWRITE"],
            &["RESTORE-ASKING", "k", "0", "junk"],
        ] {
            out.push(c.raw(args));
        }
        let mut listed = c.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*help"]).strings();
        listed.sort();
        out.push(listed.join(" "));
        out
    });
}

/// A client blocked on a key a transaction feeds is served after the whole transaction, even
/// one holding connection commands (the tandem client runs those between the keyspace's
/// pieces): the SLOWLOG RESET inside it does not erase the served BLPOP, as with Redis.
#[test]
fn blocked_client_served_after_exec_with_connection_commands() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        c.raw(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        let mut b = Conn::connect(port);
        b.send_cmd(&["BLPOP", "l", "0"]);
        wait_for("BLPOP blocked", || c.info_field("clients", "blocked_clients").as_deref() == Some("1"));
        let mut out = vec![c.raw(&["MULTI"]), c.raw(&["LPUSH", "l", "foo"]), c.raw(&["SLOWLOG", "RESET"]), c.raw(&["EXEC"])];
        out.push(b.reply());
        match c.cmd(&["SLOWLOG", "GET"]) {
            Reply::Array(entries) => out.extend(entries.iter().map(|e| format!("{:?}", e.array()[3].strings()))),
            r => panic!("SLOWLOG GET: {r:?}"),
        }
        c.raw(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        out
    });
}

/// LATENCY as redis-server answers it: HISTOGRAM's commands and call counts (a container's
/// per subcommand; unknown names skipped), monitor events past the threshold (DEBUG SLEEP as
/// a `command` event), RESET, HISTORY, GRAPH and the errors. Latencies themselves masked.
#[test]
fn latency_matches_redis() {
    if !have_redis() {
        return;
    }
    same_on_both_with(&["--enable-debug-command", "yes"], |port| {
        let mut c = Conn::connect(port);
        let mut out = Vec::new();
        let histogram = |c: &mut Conn, args: &[&str]| -> String {
            let mut all = vec!["LATENCY", "HISTOGRAM"];
            all.extend_from_slice(args);
            let r = c.cmd(&all);
            let a = r.array();
            let mut v: Vec<String> = a.chunks(2).map(|p| format!("{} calls={}", p[0].text(), p[1].array()[1].int())).collect();
            v.sort();
            v.join(",")
        };
        c.raw(&["CONFIG", "RESETSTAT"]);
        out.push(histogram(&mut c, &[]));
        c.raw(&["SET", "a", "b"]);
        c.raw(&["SET", "c", "d"]);
        c.raw(&["CLIENT", "ID"]);
        c.raw(&["CLIENT", "LIST"]);
        out.push(histogram(&mut c, &[]));
        out.push(histogram(&mut c, &["client"]));
        out.push(histogram(&mut c, &["client|id", "blabla", "SET"]));
        out.push(histogram(&mut c, &["blabla"]));
        out.push(c.raw(&["LATENCY", "RESET"]));
        out.push(c.raw(&["LATENCY", "LATEST"]));
        out.push(c.raw(&["CONFIG", "SET", "latency-monitor-threshold", "100"]));
        out.push(c.raw(&["DEBUG", "SLEEP", "0.2"]));
        let latest = c.cmd(&["LATENCY", "LATEST"]);
        let e = latest.array()[0].array();
        out.push(format!("{} {}", e[0].text(), (200..400).contains(&e[2].int())));
        out.push(format!("history {}", c.cmd(&["LATENCY", "HISTORY", "command"]).array().len()));
        out.push(c.raw(&["LATENCY", "HISTORY", "nope"]));
        out.push(c.raw(&["LATENCY", "GRAPH", "nope"]));
        out.push(format!("graph is text: {}", c.raw(&["LATENCY", "GRAPH", "command"]).starts_with('$')));
        out.push(format!("doctor is text: {}", c.raw(&["LATENCY", "DOCTOR"]).starts_with('$')));
        out.push(c.raw(&["LATENCY", "RESET", "nope"]));
        out.push(c.raw(&["LATENCY", "RESET", "command", "nope"]));
        out.push(c.raw(&["LATENCY", "HELP", "xxx"]));
        out.push(c.raw(&["LATENCY", "NOPE"]));
        out
    });
}

/// COMMAND GETKEYS finds keys as Redis 7.0 does for commands whose keys move: a key count
/// (scripts, functions, ZUNIONSTORE, LMPOP, ...), a keyword (XREAD STREAMS), subcommands
/// (MEMORY USAGE, XINFO, XGROUP, OBJECT), and its errors.
#[test]
fn command_getkeys_movable_keys_as_redis() {
    let cases: &[&[&str]] = &[
        &["EVAL", "return 1", "2", "a", "b", "c"],
        &["EVALSHA", "0123", "1", "a", "b"],
        &["EVAL_RO", "x", "0", "a"],
        &["EVAL", "x", "5", "a"],
        &["FCALL", "f", "2", "a", "b", "c"],
        &["FCALL_RO", "f", "1", "a"],
        &["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
        &["ZDIFFSTORE", "d", "2", "a", "b"],
        &["ZUNION", "2", "a", "b"],
        &["ZUNION", "0", "a"],
        &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
        &["SINTERCARD", "3", "a", "b", "c"],
        &["LMPOP", "2", "a", "b", "LEFT"],
        &["BLMPOP", "0", "2", "a", "b", "LEFT"],
        &["BZMPOP", "0", "1", "a", "MIN"],
        &["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">", ">"],
        &["MEMORY", "USAGE", "a"],
        &["MEMORY", "STATS"],
        &["XINFO", "STREAM", "a"],
        &["XGROUP", "CREATE", "a", "g", "$"],
        &["OBJECT", "ENCODING", "a"],
        &["LCS", "a", "b"],
        &["SET", "a"],
        &["GET"],
        &["PING"],
        &["NOSUCHCOMMAND", "a"],
        &["SET", "k", "v", "GET"],
        &["SET", "k", "v"],
        &["BITFIELD", "k", "GET", "u8", "0"],
        &["BITFIELD", "k", "SET", "u8", "0", "1"],
        &["LMOVE", "a", "b", "LEFT", "RIGHT"],
        &["SORT", "a", "STORE", "b"],
        &["SORT_RO", "a"],
        &["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d"],
    ];
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        cases.iter().flat_map(|args| [&["COMMAND", "GETKEYS"][..], &["COMMAND", "GETKEYSANDFLAGS"][..]].map(|sub| (sub, args))).map(|(sub, args)| {
            let mut v = sub.to_vec();
            v.extend_from_slice(args);
            format!("{:?} -> {}", args, c.raw(&v))
        }).collect()
    });
}

/// COMMAND LIST with FILTERBY (ACLCAT, PATTERN over subcommands too, MODULE) and its syntax
/// errors, as Redis 7.0.
#[test]
fn command_list_filterby_as_redis() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut sorted = |args: &[&str]| {
            let mut v = c.cmd(args).strings();
            v.sort();
            format!("{:?} -> {:?}", args, v)
        };
        let mut v = vec![
            sorted(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*"]),
            sorted(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "GET"]),
            sorted(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog"]),
            sorted(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcategory"]),
            sorted(&["COMMAND", "LIST", "FILTERBY", "MODULE", "nosuchmodule"]),
        ];
        for args in [&["COMMAND", "LIST", "bad"][..], &["COMMAND", "LIST", "FILTERBY", "x"], &["COMMAND", "LIST", "FILTERBY", "x", "y"]] {
            v.push(c.raw(args));
        }
        v
    });
}

/// CONFIG SET port moves the listener (the old port closes); a port in use fails with
/// Redis's error and rolls back every value of the same CONFIG SET, the old port still
/// serving. Same replies from redis-server.
#[test]
fn config_set_port_rebinds_or_rolls_back() {
    let mut servers = vec![Server::tandem(&[])];
    if have_redis() {
        servers.push(Server::redis(&[]));
    }
    for s in servers {
        let busy = std::net::TcpListener::bind(("127.0.0.1", free_port())).unwrap();
        let busy_port = busy.local_addr().unwrap().port().to_string();
        let mut c = s.conn();
        let before = c.raw(&["CONFIG", "GET", "maxmemory"]);
        let r = c.raw(&["CONFIG", "SET", "maxmemory", "10000001", "port", &busy_port, "client-query-buffer-limit", "10m"]);
        assert!(
            r.starts_with("-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."),
            "{}: {}", s.name, r
        );
        assert_eq!(c.raw(&["CONFIG", "GET", "maxmemory"]), before, "{}", s.name);
        assert_eq!(c.raw(&["CONFIG", "GET", "client-query-buffer-limit"]), "*2\r\n$25\r\nclient-query-buffer-limit\r\n$10\r\n1073741824\r\n", "{}", s.name);
        assert_eq!(c.raw(&["CONFIG", "GET", "port"]), format!("*2\r\n$4\r\nport\r\n${}\r\n{}\r\n", s.port.to_string().len(), s.port), "{}", s.name);
        assert_eq!(Conn::connect(s.port).raw(&["PING"]), "+PONG\r\n", "{}", s.name);
        drop(busy);

        let new_port = free_port();
        assert_eq!(c.raw(&["CONFIG", "SET", "port", &new_port.to_string()]), "+OK\r\n", "{}", s.name);
        assert_eq!(Conn::connect(new_port).raw(&["PING"]), "+PONG\r\n", "{}", s.name);
        assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err(), "{}: the old port still accepts", s.name);
        // The connection made before the move still works.
        assert_eq!(c.raw(&["PING"]), "+PONG\r\n");
    }
}

/// `rename-command`: the old name is unknown, the new one runs the command (in MULTI too),
/// an empty name disables it; same replies as redis-server. The command line's `save` adds
/// to the defaults' replacement as Redis reads it, and the built-in `bind` is `* -::*`.
#[test]
fn rename_command_and_startup_config_as_redis() {
    let args = ["--rename-command", "flushdb", "badger", "--rename-command", "debug", "", "--save", "100 100", "--save", "200 200"];
    let mut servers = vec![Server::tandem(&args)];
    if have_redis() {
        servers.push(Server::redis(&args));
    }
    let mut replies = vec![];
    for s in servers {
        let mut c = s.conn();
        let r: Vec<String> = vec![
            c.raw(&["SET", "k", "v"]),
            c.raw(&["FLUSHDB"]),
            c.raw(&["flushdb", "async"]),
            c.raw(&["DEBUG", "HELP"]),
            c.raw(&["DBSIZE"]),
            c.raw(&["BADGER"]),
            c.raw(&["DBSIZE"]),
            c.raw(&["SET", "k", "v"]),
            c.raw(&["MULTI"]),
            c.raw(&["badger"]),
            c.raw(&["EXEC"]),
            c.raw(&["DBSIZE"]),
            c.raw(&["CONFIG", "GET", "save"]),
            c.raw(&["CONFIG", "GET", "bind"]),
        ];
        replies.push((s.name.clone(), r));
    }
    let (name, ours) = &replies[0];
    assert_eq!(ours[1], "-ERR unknown command 'FLUSHDB', with args beginning with: \r\n", "{name}");
    assert_eq!(ours[5], "+OK\r\n");
    assert_eq!(ours[12], "*2\r\n$4\r\nsave\r\n$15\r\n100 100 200 200\r\n");
    assert_eq!(ours[13], "*2\r\n$4\r\nbind\r\n$6\r\n* -::*\r\n");
    if let Some((_, theirs)) = replies.get(1) {
        assert_eq!(ours, theirs);
    }
}

/// `watchdog-period`: a stall of the server's main work (here DEBUG SLEEP) longer than the
/// period logs `--- WATCHDOG TIMER EXPIRED ---` once, on tandem as on redis-server; shorter
/// stalls and a period of 0 log nothing.
#[test]
fn watchdog_reports_stalls_as_redis() {
    const MARK: &str = "--- WATCHDOG TIMER EXPIRED ---";
    for kind in [Kind::Tandem, Kind::Redis] {
        if kind == Kind::Redis && !have_redis() {
            continue;
        }
        let srv = Server::start(kind, &["--enable-debug-command", "yes"]);
        let mut c = srv.conn();
        assert_eq!(c.raw(&["CONFIG", "SET", "watchdog-period", "200"]), "+OK\r\n");
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0.7"]), "+OK\r\n");
        srv.wait_log(MARK);
        assert_eq!(srv.log_count(MARK), 1, "{}: one report per stall", kind.label());
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0.05"]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(srv.log_count(MARK), 1, "{}: a short stall is no stall", kind.label());
        assert_eq!(c.raw(&["CONFIG", "SET", "watchdog-period", "0"]), "+OK\r\n");
        assert_eq!(c.raw(&["DEBUG", "SLEEP", "0.5"]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(srv.log_count(MARK), 1, "{}: period 0 is off", kind.label());
    }
}

/// LOLWUT as redis-server 7.0 answers it: the version line by default (and for versions other
/// than 5 and 6, RESP3 verbatim), Schotter (v5) and the skyline (v6) with Redis's canvas sizes
/// for the given arguments (the art itself is random on both), Redis's errors and limits.
#[test]
fn lolwut_matches_redis() {
    // The shape of an answer: lines, and characters (or terminal cells) per line.
    fn shape(reply: &[u8]) -> String {
        let text = String::from_utf8_lossy(reply).into_owned();
        let cells = |l: &str| if l.contains('\x1b') { l.matches(" \x1b[0m").count() } else { l.chars().count() };
        // The bulk's length is left out: colour escapes differ in length.
        let lines = text.lines().filter(|l| !l.starts_with('$'));
        let body: Vec<String> = lines.map(|l| if l.contains("Redis ver.") { l.to_string() } else { cells(l).to_string() }).collect();
        body.join("|")
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut out = vec![];
        for args in [
            &["LOLWUT"][..],
            &["LOLWUT", "VERSION", "7"],
            &["LOLWUT", "VERSION", "50"],
            &["LOLWUT", "VERSION", "-1"],
            &["LOLWUT", "VERSION", "x"],
            &["LOLWUT", "VERSION", "5", "x"],
            &["LOLWUT", "VERSION", "6", "1", "y"],
            &["LOLWUT", "extra", "args"],
        ] {
            out.push(c.raw(args).into_bytes());
        }
        for args in [
            &["LOLWUT", "VERSION", "5"][..],
            &["LOLWUT", "VERSION", "5", "10", "2", "3"],
            &["LOLWUT", "VERSION", "5", "1", "1", "1"],
            &["LOLWUT", "VERSION", "5", "0", "-4", "900"],
            &["LOLWUT", "VERSION", "6"],
            &["LOLWUT", "VERSION", "6", "12", "5"],
            &["LOLWUT", "VERSION", "6", "-3", "0"],
        ] {
            out.push(shape(&c.raw_bytes(args)).into_bytes());
        }
        c.cmd(&["HELLO", "3"]);
        out.push(c.raw(&["LOLWUT"]).into_bytes());
        out
    });
}

/// Redis lists a container's subcommands in its (seeded) dict order, which changes from run
/// to run: COMMAND INFO's entries with their subcommands sorted by name.
fn sorted_info(r: Reply) -> Reply {
    match r {
        Reply::Array(mut v) if v.len() == 10 => {
            if let Reply::Array(subs) = &mut v[9] {
                let mut s: Vec<Reply> = std::mem::take(subs).into_iter().map(sorted_info).collect();
                s.sort_by_key(|e| e.array()[0].text());
                *subs = s;
            }
            Reply::Array(v)
        }
        Reply::Array(v) => Reply::Array(v.into_iter().map(sorted_info).collect()),
        other => other,
    }
}

/// A map's pairs (RESP3) or a flat array's (RESP2), and back in the same shape.
fn map_pairs(r: Reply) -> (bool, Vec<(Reply, Reply)>) {
    match r {
        Reply::Map(p) => (true, p),
        Reply::Array(v) => {
            let mut it = v.into_iter();
            let mut p = vec![];
            while let (Some(k), Some(x)) = (it.next(), it.next()) {
                p.push((k, x));
            }
            (false, p)
        }
        other => panic!("not a map: {:?}", other),
    }
}

fn from_pairs(resp3: bool, p: Vec<(Reply, Reply)>) -> Reply {
    if resp3 {
        Reply::Map(p)
    } else {
        Reply::Array(p.into_iter().flat_map(|(k, x)| [k, x]).collect())
    }
}

/// COMMAND DOCS with each `subcommands` map sorted by name (see [`sorted_info`]).
fn sorted_docs(r: Reply) -> Reply {
    let (resp3, p) = map_pairs(r);
    from_pairs(resp3, p.into_iter().map(|(k, body)| (k, sorted_doc_body(body))).collect())
}

fn sorted_doc_body(body: Reply) -> Reply {
    let (resp3, p) = map_pairs(body);
    let p = p
        .into_iter()
        .map(|(k, x)| {
            if k.text() != "subcommands" {
                return (k, x);
            }
            let (r3, mut subs) = map_pairs(sorted_docs(x));
            subs.sort_by_key(|(n, _)| n.text());
            (k, from_pairs(r3, subs))
        })
        .collect();
    from_pairs(resp3, p)
}

/// Commands whose COMMAND INFO flags differ from Redis's because tandem behaves differently:
/// WATCH, UNWATCH and RESET are refused while a script is busy (Redis: `allow_busy`).
const FLAGS_DIFFER: &[&str] = &["watch", "unwatch", "reset"];

/// A COMMAND INFO reply of one entry without its flags.
fn without_flags(r: Reply) -> Reply {
    match r {
        Reply::Array(mut v) if v.len() == 1 => {
            if let Reply::Array(e) = &mut v[0] {
                e[2] = Reply::Nil;
            }
            Reply::Array(v)
        }
        other => other,
    }
}

/// The same reply byte for byte, or (a container's) the same once subcommands are sorted.
fn assert_same_reply(what: &str, name: &str, got: &[u8], want: &[u8], sort: fn(Reply) -> Reply) {
    if got == want {
        return;
    }
    let (mut g, mut w) = (sort(parse(got).0), sort(parse(want).0));
    if what == "INFO" && FLAGS_DIFFER.contains(&name) {
        (g, w) = (without_flags(g), without_flags(w));
    }
    assert_eq!(g, w, "COMMAND {} {}: tandem (left) and redis-server (right) differ", what, name);
}

#[test]
fn command_info_and_docs_match_redis_for_every_command() {
    if !have_redis() {
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let (mut tc, mut rc) = (t.conn(), r.conn());
    let redis_names = rc.cmd(&["COMMAND", "LIST"]).strings();
    let tandem_names = tc.cmd(&["COMMAND", "LIST"]).strings();
    for resp3 in [false, true] {
        if resp3 {
            tc.cmd(&["HELLO", "3"]);
            rc.cmd(&["HELLO", "3"]);
        }
        for name in redis_names.iter().filter(|n| tandem_names.contains(n)) {
            for (what, sort) in [("INFO", sorted_info as fn(Reply) -> Reply), ("DOCS", sorted_docs)] {
                let args = ["COMMAND", what, name.as_str()];
                assert_same_reply(what, name, &tc.raw_bytes(&args), &rc.raw_bytes(&args), sort);
            }
        }
        // Several names at once (the order asked), subcommands, unknown names.
        for args in [
            &["COMMAND", "INFO", "get", "ACL|CAT", "nosuch", "client|kill", "get|x", "acl|", "a|b|c", "SET"][..],
            &["COMMAND", "DOCS", "get", "ACL|CAT", "nosuch", "client|kill", "get|x", "acl|", "SET"][..],
            &["COMMAND", "INFO", "nosuch"][..],
            &["COMMAND", "DOCS", "nosuch"][..],
        ] {
            let sort = if args[1] == "INFO" { sorted_info as fn(Reply) -> Reply } else { sorted_docs };
            assert_same_reply(args[1], &args[2..].join(" "), &tc.raw_bytes(args), &rc.raw_bytes(args), sort);
        }
    }
    // COMMAND and COMMAND INFO: every command Redis has that tandem runs, one entry each.
    let entry_names = |c: &mut Conn, args: &[&str]| {
        let mut n: Vec<String> = c.cmd(args).array().iter().map(|e| e.array()[0].text()).collect();
        n.sort();
        n
    };
    let tops: Vec<String> = {
        let mut v: Vec<String> = redis_names.iter().filter(|n| !n.contains('|') && tandem_names.contains(n)).cloned().collect();
        v.sort();
        v
    };
    // (A command only tandem has would be listed too: Redis's list does not hold it.)
    let all = entry_names(&mut tc, &["COMMAND"]);
    for args in [&["COMMAND"][..], &["COMMAND", "INFO"][..]] {
        let got: Vec<String> = entry_names(&mut tc, args).into_iter().filter(|n| redis_names.contains(n)).collect();
        assert_eq!(got, tops, "{:?}: the entries of tandem (left) and of Redis's commands tandem runs (right)", args);
    }
    assert_eq!(tc.cmd(&["COMMAND", "COUNT"]).int() as usize, all.len());
    let docs = tc.cmd(&["COMMAND", "DOCS"]);
    assert_eq!(map_pairs(docs).1.len(), all.len());
}

/// BGSAVE inside MULTI/EXEC is scheduled (the cron starts it after the transaction) and a
/// BGSAVE while one runs is refused, SCHEDULE or not, as redis-server answers.
#[test]
fn bgsave_in_transaction_is_scheduled_as_redis() {
    same_on_both_with(&["--enable-debug-command", "yes"], |port| {
        let mut c = Conn::connect(port);
        let mut out = vec![c.raw(&["DEBUG", "POPULATE", "2000"])];
        out.push(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "500"]));
        for cmd in [&["MULTI"][..], &["BGSAVE"], &["BGSAVE", "SCHEDULE"], &["EXEC"]] {
            out.push(c.raw(cmd));
        }
        // The scheduled save starts from the cron.
        let started = Instant::now();
        while c.info_field("persistence", "rdb_bgsave_in_progress").as_deref() != Some("1") && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        out.push(c.info_field("persistence", "rdb_bgsave_in_progress").unwrap_or_default());
        out.push(c.raw(&["BGSAVE"]));
        out.push(c.raw(&["BGSAVE", "SCHEDULE"]));
        out.push(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "0"]));
        out
    });
}

/// INFO memory and MEMORY STATS carry Redis 7.0's fields in Redis's order, with figures
/// that hang together (the overhead and the dataset add up to the memory in use, the peak
/// is at least the memory in use); MEMORY DOCTOR answers as Redis for an empty instance and
/// MEMORY MALLOC-STATS gives jemalloc's report.
#[test]
fn memory_introspection_as_redis() {
    if !have_redis() {
        eprintln!("note: redis-server missing, skipping");
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let mut tc = t.conn();
    let mut rc = r.conn();
    let names = |c: &mut Conn| c.info("memory").into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(names(&mut tc), names(&mut rc), "INFO memory fields");
    let stats_keys = |c: &mut Conn| {
        let s = c.cmd(&["MEMORY", "STATS"]).strings();
        s.iter().step_by(2).cloned().collect::<Vec<_>>()
    };
    assert_eq!(stats_keys(&mut tc), stats_keys(&mut rc), "MEMORY STATS fields");
    let info: std::collections::HashMap<String, String> = tc.info("memory").into_iter().collect();
    let num = |k: &str| info[k].parse::<u64>().unwrap_or_else(|_| panic!("{} = {}", k, info[k]));
    let used = num("used_memory");
    assert!(num("used_memory_peak") >= used);
    assert_eq!(num("used_memory_overhead") + num("used_memory_dataset"), used);
    assert!(num("used_memory_startup") > 0 && num("used_memory_startup") <= num("used_memory_peak"));
    assert!(num("allocator_resident") >= num("allocator_active") && num("allocator_active") >= num("allocator_allocated"));
    for c in [&mut tc, &mut rc] {
        assert!(c.cmd(&["MEMORY", "DOCTOR"]).text().starts_with("Hi Sam, this instance is empty"));
        assert!(c.cmd(&["MEMORY", "MALLOC-STATS"]).text().starts_with("___ Begin jemalloc statistics ___"));
        assert_eq!(c.raw(&["MEMORY", "PURGE"]), "+OK\r\n");
    }
}

/// LATENCY DOCTOR answers as Redis 7.0's: monitoring off, nothing observed, and a slow
/// command's spike with the advice it calls for (the statistics themselves depend on the
/// run's timings, so the spike line is compared up to its numbers).
#[test]
fn latency_doctor_as_redis() {
    if !have_redis() {
        eprintln!("note: redis-server missing, skipping");
        return;
    }
    let doctor = |port: u16| -> Vec<String> {
        let mut c = Conn::connect(port);
        let mut out = vec![c.cmd(&["LATENCY", "DOCTOR"]).text()];
        c.raw(&["CONFIG", "SET", "latency-monitor-threshold", "50"]);
        out.push(c.cmd(&["LATENCY", "DOCTOR"]).text());
        c.raw(&["DEBUG", "SLEEP", "0.1"]);
        let report = c.cmd(&["LATENCY", "DOCTOR"]).text();
        // "1. command: 1 latency spikes (average 100ms, ...": keep the words, not the numbers.
        out.extend(report.lines().map(|l| if l.starts_with("1. command: 1 latency spikes (average ") { "1. command: 1 latency spikes ...".to_string() } else { l.to_string() }));
        out
    };
    let t = Server::tandem(&["--enable-debug-command", "yes"]);
    let r = Server::redis(&["--enable-debug-command", "yes"]);
    assert_eq!(doctor(t.port), doctor(r.port));
}
