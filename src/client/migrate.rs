//! MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
//! [AUTH2 username password] [KEYS key ...], as Redis 7.0 runs it (without cluster): the keys
//! are sent to the target as RESTORE commands (after AUTH and SELECT), and, unless COPY, the
//! ones the target acknowledged are deleted here (propagated as DEL).
//!
//! The client actor does the network part, so the keyspace never waits on the target: it
//! asks the keyspace for the payloads (`MigrateDump`) and later for the deletion
//! (`MigrateDelete`, which spares a key written meanwhile).

use super::Client;
use crate::keyspace::cmd::{eq, err};
use crate::keyspace::migrate::{MigrateDelete, MigrateDump};
use crate::resp::reply::encode_command;
use crate::rt::{self, ReadExt, TcpStream, WriteExt};
use crate::util::num;
use bytes::{Bytes, BytesMut};
use std::time::Duration;

/// What MIGRATE asks for.
struct Request {
    copy: bool,
    replace: bool,
    auth: Option<(Option<Bytes>, Bytes)>,
    keys: Vec<Bytes>,
    db: i64,
    timeout: Duration,
}

/// Parses the arguments; the error reply when they are wrong.
fn parse(a: &[Bytes]) -> Result<Request, &'static str> {
    let mut r = Request { copy: false, replace: false, auth: None, keys: vec![a[3].clone()], db: 0, timeout: Duration::ZERO };
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if eq(&a[j], "copy") {
            r.copy = true;
        } else if eq(&a[j], "replace") {
            r.replace = true;
        } else if eq(&a[j], "auth") {
            if more < 1 {
                return Err(err::SYNTAX);
            }
            r.auth = Some((None, a[j + 1].clone()));
            j += 1;
        } else if eq(&a[j], "auth2") {
            if more < 2 {
                return Err(err::SYNTAX);
            }
            r.auth = Some((Some(a[j + 1].clone()), a[j + 2].clone()));
            j += 2;
        } else if eq(&a[j], "keys") {
            if !a[3].is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
            }
            r.keys = a[j + 1..].to_vec();
            break;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    let timeout = num::parse_i64(&a[5]).ok_or(err::NOT_INT)?;
    r.db = num::parse_i64(&a[4]).ok_or(err::NOT_INT)?;
    r.timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    Ok(r)
}

/// How talking to the target ended.
enum Outcome {
    /// One reply per command sent, `+...` or `-...` (without the line end).
    Replies(Vec<String>),
    /// Failed while connecting, writing or reading (Redis's word for the step).
    Failed(&'static str, Vec<String>),
}

/// Sends `cmds` (already encoded, `n` commands) and reads one line reply each.
async fn exchange(host: &str, port: u16, cmds: &[u8], n: usize, timeout: Duration) -> Outcome {
    let mut s = match rt::timeout(timeout, TcpStream::connect((host, port))).await {
        Some(Ok(s)) => s,
        // Redis's non-blocking connect "succeeds" against a refused port and its first
        // write fails: the same reply here.
        Some(Err(_)) => return Outcome::Failed("writing", vec![]),
        None => return Outcome::Failed("connecting", vec![]),
    };
    let _ = s.set_nodelay(true);
    for chunk in cmds.chunks(64 * 1024) {
        if !matches!(rt::timeout(timeout, s.write_all(chunk)).await, Some(Ok(()))) {
            return Outcome::Failed("writing", vec![]);
        }
    }
    let mut replies = Vec::with_capacity(n);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while replies.len() < n {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            replies.push(String::from_utf8_lossy(&buf[..end]).into_owned());
            buf.drain(..end + 2);
            continue;
        }
        match rt::timeout(timeout, s.read(&mut chunk)).await {
            Some(Ok(k)) if k > 0 => buf.extend_from_slice(&chunk[..k]),
            _ => return Outcome::Failed("reading", replies),
        }
    }
    Outcome::Replies(replies)
}

pub(super) async fn migrate(c: &mut Client, a: &[Bytes]) {
    let r = match parse(a) {
        Ok(r) => r,
        Err(e) => return c.out.error(e),
    };
    let Ok(port) = String::from_utf8_lossy(&a[2]).parse::<u16>() else {
        return c.out.error("IOERR error or timeout connecting to the client");
    };
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    let dumped = match c.keyspace.call(MigrateDump { client_id: c.id, db: c.db, keys: r.keys }).await {
        Ok(d) => d,
        Err(_) => return c.out.error("ERR server is shutting down"),
    };
    if dumped.is_empty() {
        // Nothing to move (often a key that just expired): not an error, as Redis.
        return c.out.simple("NOKEY");
    }
    let mut cmds = BytesMut::new();
    let mut header = 0;
    if let Some((user, pass)) = &r.auth {
        match user {
            Some(u) => encode_command(&[&b"AUTH"[..], u, pass], &mut cmds),
            None => encode_command(&[&b"AUTH"[..], pass], &mut cmds),
        }
        header += 1;
    }
    encode_command(&[&b"SELECT"[..], r.db.to_string().as_bytes()], &mut cmds);
    header += 1;
    for (key, payload, ttl) in &dumped {
        let ttl = ttl.to_string();
        if r.replace {
            encode_command(&[&b"RESTORE"[..], key, ttl.as_bytes(), payload, b"REPLACE"], &mut cmds);
        } else {
            encode_command(&[&b"RESTORE"[..], key, ttl.as_bytes(), payload], &mut cmds);
        }
    }
    let (replies, failed) = match exchange(&host, port, &cmds, header + dumped.len(), r.timeout).await {
        Outcome::Replies(v) => (v, None),
        Outcome::Failed(step, v) => (v, Some(step)),
    };
    // The first error the target answered (AUTH, SELECT, then the RESTOREs); the keys it
    // restored are gone from here all the same, as in Redis.
    let header_error = replies.iter().take(header).find(|l| l.starts_with('-')).cloned();
    let mut target_error = header_error.clone();
    let mut acked = vec![];
    for (line, (key, payload, _)) in replies.iter().skip(header).zip(&dumped) {
        if line.starts_with('-') || header_error.is_some() {
            target_error.get_or_insert_with(|| line.clone());
        } else {
            acked.push((key.clone(), payload.clone()));
        }
    }
    if !r.copy && !acked.is_empty() {
        let _ = c.keyspace.call(MigrateDelete { client_id: c.id, db: c.db, keys: acked }).await;
    }
    match (target_error, failed) {
        (Some(e), _) => c.out.error(format!("ERR Target instance replied with error: {}", &e[1..])),
        (None, Some("connecting")) => c.out.error("IOERR error or timeout connecting to the client"),
        (None, Some(step)) => c.out.error(format!("IOERR error or timeout {} to target instance", step)),
        (None, None) => c.out.ok(),
    }
}
