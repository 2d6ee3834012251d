//! Shared helpers of the data-type tests: a server guard (the real binary or redis-server on a
//! free port), a raw RESP connection, and `check`, which runs a table of commands against
//! tandem and, when installed, real redis-server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `bin` on a free port. Another process may grab the port between the check and the
/// bind (tests run in parallel): a server that exits instead of listening is started again on
/// another port, and the listener found must be our child's.
pub fn start(bin: &str, extra: &[&str]) -> Option<Server> {
    for _ in 0..5 {
        let port = free_port();
        let mut args = vec!["--port".to_string(), port.to_string(), "--save".into(), "".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(bin).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().ok()?;
        let mut s = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if s.child.try_wait().ok().flatten().is_some() {
                break; // exited (port taken): try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(20));
                if s.child.try_wait().ok().flatten().is_none() {
                    return Some(s);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{} did not start", bin);
}

pub fn tandem() -> Server {
    start(env!("CARGO_BIN_EXE_tandem"), &[]).unwrap()
}

pub struct Conn {
    pub w: TcpStream,
    pub r: BufReader<TcpStream>,
}

impl Conn {
    pub fn new(port: u16) -> Conn {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Conn { w, r }
    }

    pub fn read_reply(&mut self, out: &mut Vec<u8>) {
        let mut line = vec![];
        self.r.read_until(b'\n', &mut line).unwrap();
        assert!(!line.is_empty(), "connection closed");
        out.extend_from_slice(&line);
        let n = || std::str::from_utf8(&line[1..line.len() - 2]).unwrap().parse::<i64>().unwrap();
        match line[0] {
            b'$' | b'=' | b'!' if n() >= 0 => {
                let mut b = vec![0; n() as usize + 2];
                self.r.read_exact(&mut b).unwrap();
                out.extend_from_slice(&b);
            }
            b'*' | b'~' | b'>' => (0..n().max(0)).for_each(|_| self.read_reply(out)),
            b'%' => (0..2 * n()).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }

    pub fn raw(&mut self, args: &[&str]) -> String {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        self.w.write_all(req.as_bytes()).unwrap();
        let mut out = vec![];
        self.read_reply(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Runs each command on a fresh tandem (and on redis-server when installed) and compares the
/// raw replies with the expected ones.
pub fn check(table: &[(&[&str], &str)]) {
    let t = tandem();
    let mut c = Conn::new(t.port);
    let real = std::path::Path::new("/usr/bin/redis-server")
        .exists()
        .then(|| start("/usr/bin/redis-server", &[]))
        .flatten();
    let mut rc = real.as_ref().map(|r| Conn::new(r.port));
    for (args, want) in table {
        if let Some(rc) = rc.as_mut() {
            assert_eq!(rc.raw(args), *want, "redis-server disagrees with the table for {:?}", args);
        }
        assert_eq!(c.raw(args), *want, "tandem: {:?}", args);
    }
}
