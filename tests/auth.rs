//! AUTH and HELLO with --requirepass.

mod support;
use support::*;

#[test]
fn requirepass_auth_flow() {
    let s = Server::tandem(&["--requirepass", "sekret"]);
    let mut c = s.conn();
    assert_eq!(c.raw(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.raw(&["SET", "k", "v"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.raw(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.raw(&["AUTH", "wrong"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(c.raw(&["AUTH", "nobody", "sekret"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(c.raw(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.raw(&["AUTH", "sekret"]), "+OK\r\n");
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.raw(&["GET", "k"]), "$1\r\nv\r\n");
    // A new connection starts unauthenticated; AUTH default <pass> works too.
    let mut c2 = s.conn();
    assert_eq!(c2.raw(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c2.raw(&["AUTH", "default", "sekret"]), "+OK\r\n");
    assert_eq!(c2.raw(&["GET", "k"]), "$1\r\nv\r\n");
    // QUIT is allowed before AUTH.
    let mut c3 = s.conn();
    assert_eq!(c3.raw(&["QUIT"]), "+OK\r\n");
    assert!(c3.is_closed(std::time::Duration::from_secs(2)));
}

#[test]
fn hello_with_auth() {
    let s = Server::tandem(&["--requirepass", "pw"]);
    let mut c = s.conn();
    let r = c.raw(&["HELLO", "3"]);
    assert!(r.starts_with("-NOAUTH HELLO must be called with the client already authenticated"), "{}", r);
    assert_eq!(c.raw(&["HELLO", "3", "AUTH", "default", "bad"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    let r = c.cmd(&["HELLO", "3", "AUTH", "default", "pw"]);
    let Reply::Map(m) = r else { panic!("HELLO 3 should answer a map: {:?}", r) };
    let get = |k: &str| m.iter().find(|(a, _)| a.text() == k).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(get("server"), Reply::Bulk(b"redis".to_vec()));
    assert_eq!(get("version"), Reply::Bulk(b"7.0.15".to_vec()));
    assert_eq!(get("proto"), Reply::Int(3));
    assert_eq!(get("mode"), Reply::Bulk(b"standalone".to_vec()));
    assert_eq!(get("role"), Reply::Bulk(b"master".to_vec()));
    // Now in RESP3: a null is `_`.
    assert_eq!(c.raw(&["GET", "nokey"]), "_\r\n");
    assert_eq!(c.raw(&["SET", "k", "v"]), "+OK\r\n");
    // HELLO 2 goes back to RESP2.
    let r = c.cmd(&["HELLO", "2"]);
    assert!(matches!(r, Reply::Array(_)), "{:?}", r);
    assert_eq!(c.raw(&["GET", "nokey"]), "$-1\r\n");
    assert_eq!(c.raw(&["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
}

#[test]
fn auth_errors_without_requirepass_match_redis() {
    assert_same_as_redis(&[
        &["AUTH", "x"],
        &["AUTH", "default", "x"],
        &["AUTH", "nobody", "x"],
        &["AUTH"],
        &["HELLO", "4"],
        &["HELLO", "x"],
    ]);
}

#[test]
fn unauthenticated_limits_on_big_requests() {
    let s = Server::tandem(&["--requirepass", "pw"]);
    let mut c = s.conn();
    // Redis refuses big multibulks from unauthenticated clients and closes the connection.
    c.send(b"*100\r\n");
    let r = c.read_to_close(std::time::Duration::from_secs(3));
    assert_eq!(String::from_utf8_lossy(&r), "-ERR Protocol error: unauthenticated multibulk length\r\n");
    let mut c = s.conn();
    c.send(b"*1\r\n$100000\r\n");
    let r = c.read_to_close(std::time::Duration::from_secs(3));
    assert_eq!(String::from_utf8_lossy(&r), "-ERR Protocol error: unauthenticated bulk length\r\n");
}
