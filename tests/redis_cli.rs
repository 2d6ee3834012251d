//! The real redis-cli against tandem.

mod support;
use support::*;
use std::process::Command;

fn cli(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new(REDIS_CLI).arg("-p").arg(port.to_string()).args(args).output().expect("run redis-cli");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn redis_cli_set_get_info() {
    if !std::path::Path::new(REDIS_CLI).exists() {
        eprintln!("note: {} missing, skipping redis-cli test", REDIS_CLI);
        return;
    }
    let s = Server::tandem(&[]);
    assert_eq!(cli(s.port, &["set", "k", "v"]), (true, "OK\n".to_string()));
    assert_eq!(cli(s.port, &["get", "k"]), (true, "v\n".to_string()));
    assert_eq!(cli(s.port, &["--no-raw", "get", "k"]), (true, "\"v\"\n".to_string()));
    assert_eq!(cli(s.port, &["--no-raw", "get", "nokey"]), (true, "(nil)\n".to_string()));
    assert_eq!(cli(s.port, &["--no-raw", "incr", "n"]), (true, "(integer) 1\n".to_string()));
    assert_eq!(cli(s.port, &["--no-raw", "mget", "k", "n"]), (true, "1) \"v\"\n2) \"1\"\n".to_string()));
    let (ok, err) = cli(s.port, &["--no-raw", "incr", "k"]);
    assert!(ok);
    assert_eq!(err, "(error) ERR value is not an integer or out of range\n");
    let (ok, info) = cli(s.port, &["--no-raw", "info", "server"]);
    assert!(ok);
    // redis-cli prints INFO's bulk as is (CRLF line ends), like with redis-server.
    assert!(info.starts_with("# Server\r\n"), "{}", info);
    assert!(info.contains("\r\nredis_version:7.0.15\r\n"), "{}", info);
    assert!(info.contains(&format!("\r\ntcp_port:{}\r\n", s.port)), "{}", info);
    assert!(info.contains("\r\ntandem_version:"), "{}", info);
    // redis-cli -3 uses HELLO 3.
    let (ok, v) = cli(s.port, &["-3", "--no-raw", "get", "nokey"]);
    assert!(ok);
    assert_eq!(v, "(nil)\n");
    // Piped commands.
    let mut child = Command::new(REDIS_CLI)
        .arg("-p")
        .arg(s.port.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"set a 1\nincr a\nget a\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n2\n2\n");
}
