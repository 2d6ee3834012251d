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
