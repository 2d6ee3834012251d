//! The process: start-up log, signals, SHUTDOWN, command-line parsing.

mod support;
use support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn start_log_has_pid_and_ready() {
    let s = Server::tandem(&[]);
    // The port may accept a moment before the line reaches the log file.
    s.wait_log("Ready to accept connections");
    let log = s.log_text();
    assert!(log.contains(&format!(" PID: {}", s.pid())), "{}", log);
    assert!(log.contains("Ready to accept connections"), "{}", log);
    assert!(log.contains(&format!("port {}", s.port)), "{}", log);
}

#[test]
fn sigterm_exits_cleanly() {
    let mut s = Server::tandem(&[]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    s.signal("TERM");
    let code = s.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(0), "log:\n{}", s.log_text());
    let log = s.log_text();
    assert!(log.contains("Received SIGTERM scheduling shutdown..."), "{}", log);
    assert!(log.contains("Redis is now ready to exit, bye bye..."), "{}", log);
    assert!(c.is_closed(Duration::from_secs(2)));
}

#[test]
fn sigint_exits_cleanly() {
    let mut s = Server::tandem(&[]);
    s.signal("INT");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let log = s.log_text();
    assert!(log.contains("Received SIGINT scheduling shutdown..."), "{}", log);
    assert!(log.contains("Redis is now ready to exit, bye bye..."), "{}", log);
}

#[test]
fn shutdown_nosave_closes_and_exits() {
    let mut s = Server::tandem(&[]);
    let mut other = s.conn();
    assert_eq!(other.raw(&["PING"]), "+PONG\r\n");
    let mut c = s.conn();
    c.send(&encode_str(&["SHUTDOWN", "NOSAVE"]));
    // No reply: the connection is just closed.
    let rest = c.read_to_close(Duration::from_secs(5));
    assert_eq!(String::from_utf8_lossy(&rest), "");
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "log:\n{}", s.log_text());
    assert!(s.log_text().contains("Redis is now ready to exit, bye bye..."));
    assert!(other.is_closed(Duration::from_secs(2)));
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err(), "port still open");
}

#[test]
fn shutdown_argument_errors() {
    assert_table(&[
        (&["SHUTDOWN", "FOO"], "-ERR syntax error\r\n"),
        (&["SHUTDOWN", "SAVE", "NOSAVE"], "-ERR syntax error\r\n"),
        (&["SHUTDOWN", "ABORT"], "-ERR No shutdown in progress.\r\n"),
        (&["PING"], "+PONG\r\n"),
    ]);
}

#[test]
fn bad_directive_exits_nonzero() {
    let out = Command::new(TANDEM).args(["--port", "0", "--foo", "bar"]).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    let all = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(all.contains("Bad directive or wrong number of arguments"), "{}", all);
    assert!(all.contains(">>> 'foo \"bar\"'"), "{}", all);
    // A bad value for a known directive fails too.
    let out = Command::new(TANDEM).args(["--port", "notaport"]).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn replicaof_as_one_argument_parses() {
    let s = Server::tandem(&["--replicaof", "127.0.0.1 1"]);
    let mut c = s.conn();
    let r = c.cmd(&["CONFIG", "GET", "replicaof"]).strings();
    assert_eq!(r, vec!["replicaof", "127.0.0.1 1"]);
    assert_eq!(c.raw(&["PING"]), "+PONG\r\n");
}

#[test]
fn version_flag() {
    for flag in ["-v", "--version"] {
        let out = Command::new(TANDEM).arg(flag).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(env!("CARGO_PKG_VERSION")), "{}", text);
        assert!(text.contains("v="), "{}", text);
    }
}

#[test]
fn config_from_stdin() {
    let s = Server::launch(Kind::Tandem)
        .bare()
        .args(&["-"])
        .stdin(|port, dir| format!("port {}\nsave \"\"\ndir {}\nmaxmemory 3mb\n", port, dir.display()))
        .start();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "maxmemory"]).strings(), vec!["maxmemory", "3145728"]);
}

#[test]
fn config_file_plus_options_plus_stdin() {
    let dir = TempDir::new("layers");
    let conf = dir.path().join("t.conf");
    std::fs::write(&conf, "hz 15\nmaxmemory 1mb\n").unwrap();
    // `<conf> --port P --save "" --dir D --maxmemory 5mb -`, then stdin.
    let s = Server::launch(Kind::Tandem)
        .config(&conf)
        .dir(dir)
        .args(&["--maxmemory", "5mb", "-"])
        .stdin(|_, _| "maxmemory-policy allkeys-lru\n".to_string())
        .start();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["CONFIG", "GET", "hz"]).strings(), vec!["hz", "15"]);
    // Command-line options override the file.
    assert_eq!(c.cmd(&["CONFIG", "GET", "maxmemory"]).strings(), vec!["maxmemory", "5242880"]);
    assert_eq!(c.cmd(&["CONFIG", "GET", "maxmemory-policy"]).strings(), vec!["maxmemory-policy", "allkeys-lru"]);
}

#[test]
fn port_in_use_fails_to_start() {
    let s = Server::tandem(&[]);
    let out = Command::new(TANDEM)
        .args(["--port", &s.port.to_string(), "--save", ""])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let all = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(all.contains(&format!("Failed listening on port {} (tcp), aborting.", s.port)), "{}", all);
}

/// The one child a server has while it saves, once it appears.
fn save_child(s: &Server) -> u32 {
    let mut kids = Vec::new();
    wait_for("the save child", || {
        kids = child_pids(s.pid());
        kids.len() == 1
    });
    kids[0]
}

/// BGSAVE runs in a forked child, as Redis's: the child writes `temp-<its pid>.rdb`; a child
/// killed by anyone fails the save (writes then get -MISCONF, as from redis-server); SHUTDOWN
/// stops a child still saving and removes its temp file; a child whose server is killed
/// (SIGKILL) dies with it.
#[test]
fn bgsave_runs_in_a_child_process_as_redis() {
    let s = Server::tandem(&["--enable-debug-command", "yes", "--save", "900 1"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "200"]), "+OK\r\n");
    assert_eq!(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]), "+OK\r\n");
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    let child = save_child(&s);
    let temp = s.dir().join(format!("temp-{}.rdb", child));
    wait_for("the child's temp file", || temp.exists());
    s.wait_log(&format!("Background saving started by pid {}", child));
    // The child reports its progress (keys written, copy-on-write) through shared memory.
    assert_eq!(c.info_field("persistence", "current_save_keys_total").as_deref(), Some("200"));
    c.wait_info("persistence", "current_save_keys_processed", WAIT, |v| v.parse::<u64>().unwrap_or(0) >= 1);
    signal(child, "KILL");
    c.wait_info("persistence", "rdb_bgsave_in_progress", WAIT, |v| v == "0");
    assert_eq!(c.info_field("persistence", "rdb_last_bgsave_status").as_deref(), Some("err"));
    s.wait_log("Background saving terminated by signal 9");
    assert!(c.raw(&["SET", "x", "y"]).starts_with("-MISCONF "));
    assert_eq!(c.raw(&["GET", "x"]), "$-1\r\n");

    // A save that completes lifts the refusal.
    assert_eq!(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "+OK\r\n");
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    c.wait_info("persistence", "rdb_bgsave_in_progress", WAIT, |v| v == "0");
    assert_eq!(c.info_field("persistence", "rdb_last_bgsave_status").as_deref(), Some("ok"));
    assert_eq!(c.raw(&["SET", "x", "y"]), "+OK\r\n");
    assert_eq!(c.info_field("stats", "total_forks").as_deref(), Some("2"));
    assert_eq!(c.info_field("persistence", "current_save_keys_total").as_deref(), Some("0"));
    assert!(c.info_field("persistence", "rdb_last_cow_size").is_some_and(|v| v.parse::<u64>().is_ok()));
    assert!(child_pids(s.pid()).is_empty(), "a finished child is reaped");

    // SHUTDOWN stops a child still saving and removes its file.
    assert_eq!(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]), "+OK\r\n");
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    let child = save_child(&s);
    let temp = s.dir().join(format!("temp-{}.rdb", child));
    wait_for("the child's temp file", || temp.exists());
    c.send_cmd(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed(WAIT));
    wait_for("the server to exit", || !process_alive(s.pid()));
    wait_for("the child to end", || !process_alive(child));
    assert!(!temp.exists(), "SHUTDOWN removes the child's temp file");
    assert!(s.log_text().contains("There is a child saving an .rdb. Killing it!"));

    // A server killed outright takes its save child with it.
    let s = Server::tandem(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["DEBUG", "POPULATE", "200"]), "+OK\r\n");
    assert_eq!(c.raw(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]), "+OK\r\n");
    assert_eq!(c.raw(&["BGSAVE"]), "+Background saving started\r\n");
    let child = save_child(&s);
    s.crash();
    wait_for("the orphaned child to end", || !process_alive(child));
}

/// A full sync's RDB is written by a forked child too: killing it ends the transfer (the
/// master sees it at once, even while the replica reads slowly), and the replica then syncs.
#[test]
fn a_killed_rdb_child_fails_the_full_sync_and_the_replica_syncs_again() {
    for diskless in ["yes", "no"] {
        let m = Server::tandem(&["--enable-debug-command", "yes", "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0"]);
        let mut mc = m.conn();
        assert_eq!(mc.raw(&["DEBUG", "POPULATE", "2000", "k", "1000"]), "+OK\r\n");
        assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]), "+OK\r\n");
        let r = Server::tandem(&["--enable-debug-command", "yes"]);
        let mut rc = r.conn();
        assert_eq!(rc.raw(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]), "+OK\r\n");
        let child = save_child(&m);
        mc.wait_info("persistence", "rdb_bgsave_in_progress", WAIT, |v| v == "1");
        signal(child, "KILL");
        mc.wait_info("persistence", "rdb_bgsave_in_progress", WAIT, |v| v == "0");
        assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "+OK\r\n");
        rc.wait_info("replication", "master_link_status", WAIT, |v| v == "up");
        assert_eq!(rc.cmd(&["DBSIZE"]).int(), 2000, "diskless {}", diskless);
        assert_same_data(&m, &r, 1);
    }
}

/// As Redis: a final save that fails keeps the server running (SHUTDOWN answers
/// "Errors trying to SHUTDOWN", a signal logs that it can't exit), SHUTDOWN NOSAVE still
/// exits; a signalled shutdown waits for the cron and SHUTDOWN ABORT cancels it.
#[test]
fn failed_final_save_and_shutdown_abort_as_redis() {
    let mut s = Server::tandem(&["--enable-debug-command", "yes", "--save", "900 1"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["SHUTDOWN", "ABORT"]), "-ERR No shutdown in progress.\r\n");
    // A signal waits for the cron: paused, it can still be aborted.
    assert_eq!(c.raw(&["DEBUG", "PAUSE-CRON", "1"]), "+OK\r\n");
    signal(s.pid(), "TERM");
    s.wait_log("Received SIGTERM scheduling shutdown...");
    assert_eq!(c.raw(&["SHUTDOWN", "ABORT"]), "+OK\r\n");
    assert_eq!(c.raw(&["DEBUG", "PAUSE-CRON", "0"]), "+OK\r\n");
    s.wait_log("Shutdown manually aborted.");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.raw(&["PING"]), "+PONG\r\n");

    // dump.rdb is a non-empty directory: the final save cannot rename into place.
    std::fs::create_dir_all(s.dir().join("dump.rdb").join("x")).unwrap();
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    signal(s.pid(), "INT");
    s.wait_log("Error trying to save the DB, can't exit");
    assert_eq!(c.raw(&["PING"]), "+PONG\r\n");
    assert_eq!(c.raw(&["SHUTDOWN"]), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(c.raw(&["GET", "k"]), "$1\r\nv\r\n");
    c.send_cmd(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed(WAIT));
    assert_eq!(s.wait_exit(WAIT), Some(0), "{}", s.log_text());
}

/// The process title follows `proc-title-template` as Redis's does (`/proc/<pid>/cmdline`
/// shows the expanded template; an unknown variable is refused).
#[test]
fn process_title_follows_the_template() {
    let s = Server::tandem(&[]);
    let cmdline = || String::from_utf8_lossy(&std::fs::read(format!("/proc/{}/cmdline", s.pid())).unwrap_or_default()).trim_end_matches('\0').to_string();
    assert_eq!(cmdline(), format!("{} *:{}", TANDEM, s.port));
    let mut c = s.conn();
    let t = "TEST {title} {listen-addr} {port} {tls-port} {config-file}";
    assert_eq!(c.raw(&["CONFIG", "SET", "proc-title-template", t]), "+OK\r\n");
    let words: Vec<String> = cmdline().split_whitespace().map(String::from).collect();
    assert_eq!(words, ["TEST".to_string(), TANDEM.to_string(), format!("*:{}", s.port), s.port.to_string(), "0".into(), "-".into()]);
    assert!(c.raw(&["CONFIG", "SET", "proc-title-template", "{invalid-var}"]).contains("template format is invalid"));
}
