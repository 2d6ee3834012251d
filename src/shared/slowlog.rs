//! The slow log (SLOWLOG): commands that ran at least `slowlog-log-slower-than` microseconds,
//! newest first, at most `slowlog-max-len` of them. Both the keyspace actor (keyspace
//! commands) and the client actors (connection and admin commands) add to it; arguments are
//! trimmed and secrets redacted as Redis 7.0 does.

use bytes::Bytes;
use std::collections::VecDeque;

/// Arguments kept per entry (the last one then says how many more there were).
const MAX_ARGC: usize = 32;
/// Bytes kept per argument.
const MAX_STRING: usize = 128;

/// One logged command.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: i64,
    /// Microseconds it ran.
    pub duration: u64,
    pub argv: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    /// CLIENT SETNAME of the client, or empty.
    pub name: Bytes,
}

#[derive(Default)]
pub struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl SlowLog {
    /// Logs a command (with `argv` as the client sent it, secrets already redacted), keeping
    /// at most `max_len` entries.
    pub fn push(&mut self, argv: &[Bytes], duration: u64, peer: String, name: Bytes, max_len: usize) {
        let argv = trimmed(argv);
        let time = crate::util::now_ms() / 1000;
        self.entries.push_front(Entry { id: self.next_id, time, duration, argv, peer, name });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries (all of them when None).
    pub fn newest(&self, count: Option<usize>) -> Vec<Entry> {
        self.entries.iter().take(count.unwrap_or(usize::MAX)).cloned().collect()
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// SLOWLOG RESET (ids keep counting).
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

/// At most 32 arguments (the last then `... (N more arguments)`), each at most 128 bytes
/// (then `... (N more bytes)`).
fn trimmed(argv: &[Bytes]) -> Vec<Bytes> {
    let keep = argv.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(keep);
    for (j, a) in argv.iter().take(keep).enumerate() {
        if keep != argv.len() && j == keep - 1 {
            out.push(Bytes::from(format!("... ({} more arguments)", argv.len() - keep + 1)));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(Bytes::copy_from_slice(a));
        }
    }
    out
}

const REDACTED: Bytes = Bytes::from_static(b"(redacted)");

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The arguments as the slow log (and MONITOR) may show them: passwords and ACL rules
/// replaced by `(redacted)`, as Redis 7.0 redacts AUTH, HELLO AUTH, ACL SETUSER, MIGRATE
/// AUTH/AUTH2 and CONFIG SET of masterauth/requirepass.
pub fn redact(argv: &[Bytes]) -> Vec<Bytes> {
    let mut v = argv.to_vec();
    let Some(name) = argv.first() else { return v };
    if eq(name, "auth") {
        v.iter_mut().skip(1).for_each(|a| *a = REDACTED);
    } else if eq(name, "hello") {
        let mut i = 2;
        while i < v.len() {
            if eq(&v[i], "AUTH") && i + 2 < v.len() {
                v[i + 1] = REDACTED;
                v[i + 2] = REDACTED;
                i += 3;
            } else if eq(&v[i], "SETNAME") {
                i += 2;
            } else {
                i += 1;
            }
        }
    } else if eq(name, "acl") && v.len() > 2 && eq(&v[1], "setuser") {
        v.iter_mut().skip(2).for_each(|a| *a = REDACTED);
    } else if eq(name, "migrate") {
        let mut i = 6;
        while i < v.len() {
            if eq(&v[i], "AUTH") && i + 1 < v.len() {
                v[i + 1] = REDACTED;
                i += 2;
            } else if eq(&v[i], "AUTH2") && i + 2 < v.len() {
                v[i + 1] = REDACTED;
                v[i + 2] = REDACTED;
                i += 3;
            } else if eq(&v[i], "KEYS") {
                break;
            } else {
                i += 1;
            }
        }
    } else if eq(name, "config") && v.len() > 3 && eq(&v[1], "set") {
        let mut i = 2;
        while i + 1 < v.len() {
            if eq(&v[i], "masterauth") || eq(&v[i], "requirepass") {
                v[i + 1] = REDACTED;
            }
            i += 2;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn trims_and_redacts() {
        let mut log = SlowLog::default();
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
        log.push(&b(&many), 5, "1.2.3.4:5".into(), Bytes::new(), 10);
        let e = &log.newest(None)[0];
        assert_eq!(e.argv.len(), 32);
        assert_eq!(&e.argv[31][..], b"... (9 more arguments)");
        let long = "A".repeat(129);
        log.push(&b(&["set", &long]), 5, "x".into(), Bytes::new(), 1);
        assert_eq!(log.len(), 1);
        assert!(log.newest(None)[0].argv[1].ends_with(b"A... (1 more bytes)"));
        assert_eq!(redact(&b(&["acl", "setuser", "u", "+get"]))[2..], b(&["(redacted)", "(redacted)"])[..]);
        assert_eq!(redact(&b(&["config", "set", "masterauth", "x", "port", "1"]))[3..], b(&["(redacted)", "port", "1"])[..]);
        assert_eq!(redact(&b(&["migrate", "h", "1", "k", "9", "5000", "AUTH2", "u", "p"]))[7..], b(&["(redacted)", "(redacted)"])[..]);
    }
}
