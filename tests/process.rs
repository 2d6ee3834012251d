//! The process: start-up log, signals, SHUTDOWN, command-line parsing.

mod support;
use support::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn start_log_has_pid_and_ready() {
    let s = Server::tandem(&[]);
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
