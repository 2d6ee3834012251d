//! Malformed input: each case closes or confuses only its own connection, while a second
//! client keeps being served.

mod support;
use support::*;
use std::time::Duration;

/// Sends `bytes` on a fresh connection, checking a second client is served meanwhile.
/// Returns everything the server sent on the bad connection before closing it (or within
/// `wait` if it keeps it open) and whether it closed.
fn poison(s: &Server, bytes: &[u8], wait: Duration) -> (String, bool) {
    let mut good = s.conn();
    assert_eq!(good.raw(&["PING"]), "+PONG\r\n");
    let mut bad = s.conn();
    bad.send(bytes);
    assert_eq!(good.raw(&["PING"]), "+PONG\r\n", "served during bad input");
    let got = bad.read_to_close(wait);
    let closed = bad.is_closed(Duration::from_millis(200));
    assert_eq!(good.raw(&["SET", "after", "1"]), "+OK\r\n", "served after bad input");
    assert_eq!(s.conn().raw(&["PING"]), "+PONG\r\n", "new connections accepted");
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[test]
fn invalid_bulk_length_closes() {
    let s = Server::tandem(&[]);
    let (r, closed) = poison(&s, b"*1\r\n$99999999999\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: invalid bulk length\r\n");
    assert!(closed);
    let (r, closed) = poison(&s, b"*1\r\n$-3\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: invalid bulk length\r\n");
    assert!(closed);
}

#[test]
fn invalid_multibulk_length_closes() {
    let s = Server::tandem(&[]);
    let (r, closed) = poison(&s, b"*3000000000\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: invalid multibulk length\r\n");
    assert!(closed);
    let (r, closed) = poison(&s, b"*abc\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: invalid multibulk length\r\n");
    assert!(closed);
}

#[test]
fn negative_multibulk_is_ignored() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    c.send(b"*-5\r\n");
    assert_eq!(c.raw(&["PING"]), "+PONG\r\n");
    c.send(b"*0\r\n*-1\r\nPING\r\n");
    assert_eq!(String::from_utf8_lossy(&c.reply_bytes()), "+PONG\r\n");
}

#[test]
fn unbalanced_quotes_inline() {
    let s = Server::tandem(&[]);
    let (r, closed) = poison(&s, b"set \"a\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(closed);
}

#[test]
fn expected_dollar() {
    let s = Server::tandem(&[]);
    let (r, closed) = poison(&s, b"*1\r\nfoo\r\n", Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: expected '$', got 'f'\r\n");
    assert!(closed);
}

#[test]
fn garbage_bytes_are_inline_commands() {
    let s = Server::tandem(&[]);
    let mut good = s.conn();
    let mut bad = s.conn();
    bad.send(b"\x01\x02\xff garbage\r\n");
    let r = String::from_utf8_lossy(&bad.reply_bytes()).into_owned();
    assert!(r.starts_with("-ERR unknown command '"), "{:?}", r);
    assert_eq!(good.raw(&["PING"]), "+PONG\r\n");
    // The connection stays usable.
    assert_eq!(bad.raw(&["PING"]), "+PONG\r\n");
    // Random binary noise (no protocol error because it never completes a line) does not
    // block others.
    let noise: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).filter(|&b| b != b'\n' && b != b'*').collect();
    bad.send(&noise);
    assert_eq!(good.raw(&["PING"]), "+PONG\r\n");
}

#[test]
fn unterminated_frames_do_not_block_others() {
    let s = Server::tandem(&[]);
    let mut good = s.conn();
    let mut partial = vec![];
    for bytes in [&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel"[..], b"*2\r\n$3\r\nGET", b"PING", b"*1\r\n$4\r\nPI"] {
        let mut c = s.conn();
        c.send(bytes);
        partial.push(c);
        assert_eq!(good.raw(&["PING"]), "+PONG\r\n");
    }
    // The first one completes later and works.
    partial[0].send(b"lo\r\n");
    assert_eq!(String::from_utf8_lossy(&partial[0].reply_bytes()), "+OK\r\n");
    assert_eq!(good.raw(&["GET", "k"]), "$5\r\nhello\r\n");
}

fn rss(c: &mut Conn) -> u64 {
    c.info_field("memory", "used_memory_rss").unwrap().parse().unwrap()
}

/// The server's virtual data size (VmData, bytes) from /proc: unlike RSS it also grows when
/// memory is reserved but never touched (a `Vec::with_capacity` from a claimed length).
fn vm_data(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmData:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn huge_multibulk_header_reserves_nothing() {
    let s = Server::tandem(&[]);
    let mut good = s.conn();
    let before = rss(&mut good);
    let vm_before = vm_data(s.pid());
    let mut bad = vec![];
    for _ in 0..20 {
        let mut c = s.conn();
        // Two million arguments announced; only a few arrive.
        c.send(b"*2000000\r\n$3\r\nSET\r\n$1\r\n");
        bad.push(c);
    }
    assert_eq!(good.raw(&["PING"]), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let after = rss(&mut good);
    // Reserving 2M argument slots per connection would be 20 * 2M * 16+ bytes = 640+ MB.
    assert!(after < before + 64 * 1024 * 1024, "RSS grew from {} to {}", before, after);
    assert!(after < 256 * 1024 * 1024, "RSS {}", after);
    if let (Some(b), Some(a)) = (vm_before, vm_data(s.pid())) {
        assert!(a < b + 128 * 1024 * 1024, "VmData grew from {} to {}", b, a);
    }
    assert_eq!(good.raw(&["SET", "x", "1"]), "+OK\r\n");
    // The same with a huge announced bulk.
    let mut c = s.conn();
    c.send(b"*1\r\n$500000000\r\nabc");
    bad.push(c);
    std::thread::sleep(Duration::from_millis(50));
    let after = rss(&mut good);
    assert!(after < before + 64 * 1024 * 1024, "RSS grew from {} to {}", before, after);
    if let (Some(b), Some(a)) = (vm_before, vm_data(s.pid())) {
        assert!(a < b + 128 * 1024 * 1024, "VmData grew from {} to {}", b, a);
    }
    assert_eq!(good.raw(&["GET", "x"]), "$1\r\n1\r\n");
    // good + 20 + 1 bad connections.
    good.wait_info("clients", "connected_clients", Duration::from_secs(3), |v| v == "22");
}

#[test]
fn too_big_count_strings() {
    let s = Server::tandem(&[]);
    // A `$` count line longer than 64 KB without a newline.
    let mut bytes = b"*1\r\n$".to_vec();
    bytes.extend(std::iter::repeat_n(b'1', 70 * 1024));
    let (r, closed) = poison(&s, &bytes, Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: too big bulk count string\r\n");
    assert!(closed);
    // The same for a `*` count line.
    let mut bytes = b"*".to_vec();
    bytes.extend(std::iter::repeat_n(b'1', 70 * 1024));
    let (r, closed) = poison(&s, &bytes, Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: too big mbulk count string\r\n");
    assert!(closed);
    // And an inline request without newline.
    let bytes = vec![b'a'; 70 * 1024];
    let (r, closed) = poison(&s, &bytes, Duration::from_secs(3));
    assert_eq!(r, "-ERR Protocol error: too big inline request\r\n");
    assert!(closed);
}

#[test]
fn protocol_errors_match_redis() {
    if !have_redis() {
        eprintln!("note: redis-server missing, skipping comparison");
        return;
    }
    let t = Server::tandem(&[]);
    let r = Server::redis(&[]);
    let cases: &[&[u8]] = &[
        b"*1\r\n$99999999999\r\n",
        b"*3000000000\r\n",
        b"set \"a\r\n",
        b"*1\r\nfoo\r\n",
        b"*abc\r\n",
        b"*1\r\n$x\r\n",
        b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*1\r\n$-1\r\n",
    ];
    for case in cases {
        let mut got = vec![];
        for srv in [&t, &r] {
            let mut c = srv.conn();
            c.send(case);
            got.push(String::from_utf8_lossy(&c.read_to_close(Duration::from_secs(3))).into_owned());
        }
        assert_eq!(got[0], got[1], "tandem vs redis for {:?}", String::from_utf8_lossy(case));
    }
}
