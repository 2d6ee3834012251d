//! Pipelining: many commands in one write, replies in order.

mod support;
use support::*;

#[test]
fn ten_thousand_commands_in_one_write() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let n = 10_000;
    let mut buf = Vec::new();
    for i in 0..n {
        // Mix writes, reads and connection commands so every route keeps order.
        match i % 4 {
            0 => buf.extend(encode_str(&["SET", &format!("k{}", i), &i.to_string()])),
            1 => buf.extend(encode_str(&["GET", &format!("k{}", i - 1)])),
            2 => buf.extend(encode_str(&["INCR", "counter"])),
            _ => buf.extend(encode_str(&["ECHO", &format!("e{}", i)])),
        }
    }
    // One write of the whole pipeline (about 300 KB).
    c.send(&buf);
    let mut incr = 0;
    for i in 0..n {
        let got = c.reply_bytes();
        let want = match i % 4 {
            0 => "+OK\r\n".to_string(),
            1 => {
                let v = (i - 1).to_string();
                format!("${}\r\n{}\r\n", v.len(), v)
            }
            2 => {
                incr += 1;
                format!(":{}\r\n", incr)
            }
            _ => {
                let v = format!("e{}", i);
                format!("${}\r\n{}\r\n", v.len(), v)
            }
        };
        assert_eq!(String::from_utf8_lossy(&got), want, "reply #{}", i);
    }
    assert_eq!(c.raw(&["DBSIZE"]), format!(":{}\r\n", n / 4 + 1));
}

#[test]
fn pipeline_mixed_with_client_commands_and_inline() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let mut buf = Vec::new();
    buf.extend(encode_str(&["SET", "a", "1"]));
    buf.extend(encode_str(&["CLIENT", "SETNAME", "piped"]));
    buf.extend(b"GET a\r\n");
    buf.extend(encode_str(&["CLIENT", "GETNAME"]));
    buf.extend(encode_str(&["SELECT", "1"]));
    buf.extend(b"GET a\n");
    buf.extend(encode_str(&["NOSUCHCMD"]));
    buf.extend(encode_str(&["PING"]));
    c.send(&buf);
    let want = [
        "+OK\r\n",
        "+OK\r\n",
        "$1\r\n1\r\n",
        "$5\r\npiped\r\n",
        "+OK\r\n",
        "$-1\r\n",
        "-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n",
        "+PONG\r\n",
    ];
    for w in want {
        assert_eq!(String::from_utf8_lossy(&c.reply_bytes()), w);
    }
}

#[test]
fn pipeline_split_across_many_small_writes() {
    let s = Server::tandem(&[]);
    let mut c = s.conn();
    let mut buf = Vec::new();
    for i in 0..200 {
        buf.extend(encode_str(&["SET", &format!("k{}", i), "x".repeat(100).as_str()]));
    }
    for chunk in buf.chunks(7) {
        c.send(chunk);
    }
    for _ in 0..200 {
        assert_eq!(c.reply_bytes(), b"+OK\r\n");
    }
    assert_eq!(c.raw(&["DBSIZE"]), ":200\r\n");
}

/// Polls `INFO clients` until `blocked_clients` reads `n` (at most two seconds).
fn wait_blocked(c: &mut Conn, n: u32) {
    c.wait_info("clients", "blocked_clients", std::time::Duration::from_secs(2), |v| v == n.to_string());
}

/// A client blocked in BLPOP whose peer closes must not take what is pushed later: the element
/// stays in the list (Redis frees a blocked client at EOF). Before the reader told the keyspace,
/// the dead client stayed parked and swallowed the element.
#[test]
fn a_blocked_client_that_disconnects_takes_nothing() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut b = Conn::connect(port);
        b.send_cmd(&["BLPOP", "q", "0"]);
        wait_blocked(&mut c, 1);
        drop(b);
        wait_blocked(&mut c, 0);
        vec![c.raw(&["RPUSH", "q", "a"]), c.raw(&["LRANGE", "q", "0", "-1"])]
    });
}

/// Requests read after QUIT are not run, even when they reach the server in a later read
/// while the QUIT is still held (here by CLIENT PAUSE WRITE), as Redis reads nothing more from
/// a client it closes.
#[test]
fn nothing_read_after_quit_runs() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut q = Conn::connect(port);
        let paused = c.raw(&["CLIENT", "PAUSE", "300", "WRITE"]);
        let mut first = encode_str(&["SET", "b", "1"]);
        first.extend(encode_str(&["QUIT"]));
        q.send(&first);
        std::thread::sleep(std::time::Duration::from_millis(100));
        q.send(&encode_str(&["SET", "b", "2"]));
        let replies = String::from_utf8_lossy(&q.read_to_close(std::time::Duration::from_secs(3))).to_string();
        vec![paused, replies, c.raw(&["GET", "b"])]
    });
}

/// A client that sends its requests and closes its side at once is answered in full, and
/// every request runs.
#[test]
fn requests_before_a_half_close_are_all_answered() {
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut buf = Vec::new();
        for _ in 0..20_000 {
            buf.extend(encode_str(&["INCR", "n"]));
        }
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        std::io::Write::write_all(&mut s, &buf).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut s, &mut got).unwrap();
        let last = String::from_utf8_lossy(&got[got.len().saturating_sub(8)..]).to_string();
        vec![format!("{} replies, last {last:?}", got.split(|&b| b == b'\n').count() - 1), c.raw(&["GET", "n"])]
    });
}
