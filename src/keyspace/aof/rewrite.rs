//! An AOF base written as commands (`aof-use-rdb-preamble no`): the commands that rebuild a
//! snapshot, as Redis 7.0's rewrite emits them (FUNCTION LOAD, SELECT, SET/RPUSH/SADD/ZADD/
//! HMSET in groups of 64 items, XADD/XSETID/XGROUP/XCLAIM for streams, PEXPIREAT).

use crate::keyspace::snapshot::Snapshot;
use crate::keyspace::Value;
use crate::stream::{Stream, StreamId};
use std::io::{self, Write};

/// Items per variadic command (Redis's AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

/// Writes `snap` as commands. With `timestamp`, a `#TS:<unix>` annotation comes first.
pub fn write_commands<W: Write>(snap: &Snapshot, w: W, timestamp: bool) -> io::Result<W> {
    let mut w = Cmds(w);
    if timestamp {
        write!(w.0, "#TS:{}\r\n", crate::util::now_ms() / 1000)?;
    }
    for code in &snap.functions {
        w.cmd(&[b"FUNCTION", b"LOAD", code])?;
    }
    for (i, db) in snap.dbs.iter().enumerate() {
        if db.keys.is_empty() {
            continue;
        }
        w.cmd(&[b"SELECT", i.to_string().as_bytes()])?;
        for (k, v) in db.keys.iter() {
            value(&mut w, k, v)?;
            if let Some(at) = db.expires.get(k) {
                w.cmd(&[b"PEXPIREAT", k, at.to_string().as_bytes()])?;
            }
            crate::util::fork::key_written();
            if snap.key_save_delay != 0 {
                super::super::snapshot::key_delay(snap.key_save_delay);
            }
            if snap.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(io::Error::other("cancelled"));
            }
        }
    }
    Ok(w.0)
}

struct Cmds<W: Write>(W);

impl<W: Write> Cmds<W> {
    fn header(&mut self, n: usize) -> io::Result<()> {
        write!(self.0, "*{}\r\n", n)
    }

    fn bulk(&mut self, b: &[u8]) -> io::Result<()> {
        write!(self.0, "${}\r\n", b.len())?;
        self.0.write_all(b)?;
        self.0.write_all(b"\r\n")
    }

    fn cmd(&mut self, args: &[&[u8]]) -> io::Result<()> {
        self.header(args.len())?;
        args.iter().try_for_each(|a| self.bulk(a))
    }

    /// `name key item...` commands of at most 64 items (`width` arguments each).
    fn grouped<'a>(&mut self, name: &[u8], key: &[u8], width: usize, total: usize, items: impl Iterator<Item = Vec<std::borrow::Cow<'a, [u8]>>>) -> io::Result<()> {
        let (mut left, mut in_cmd) = (total, 0);
        for item in items {
            if in_cmd == 0 {
                let n = left.min(ITEMS_PER_CMD);
                self.header(2 + n * width)?;
                self.bulk(name)?;
                self.bulk(key)?;
            }
            for a in &item {
                self.bulk(a)?;
            }
            in_cmd += 1;
            left -= 1;
            if in_cmd == ITEMS_PER_CMD {
                in_cmd = 0;
            }
        }
        Ok(())
    }
}

fn value<W: Write>(w: &mut Cmds<W>, key: &[u8], v: &Value) -> io::Result<()> {
    use std::borrow::Cow::{Borrowed, Owned};
    match v {
        Value::Str(s) => w.cmd(&[b"SET", key, s]),
        Value::List(l) => w.grouped(b"RPUSH", key, 1, l.len(), l.iter().map(|e| vec![Borrowed(&e[..])])),
        Value::Set(s) => w.grouped(b"SADD", key, 1, s.set.len(), s.set.iter().map(|e| vec![Borrowed(&e[..])])),
        Value::ZSet(z) => {
            let items = z.order.iter().map(|(s, m)| vec![Owned(crate::rdb::fmt_g17(s.0).into_bytes()), Borrowed(&m[..])]);
            w.grouped(b"ZADD", key, 2, z.dict.len(), items)
        }
        Value::Hash(h) => {
            let pairs: Vec<(&[u8], &[u8])> = if h.order.is_empty() {
                h.map.iter().map(|(f, v)| (&f[..], &v[..])).collect()
            } else {
                h.order.iter().filter_map(|f| h.map.get(f).map(|v| (&f[..], &v[..]))).collect()
            };
            w.grouped(b"HMSET", key, 2, pairs.len(), pairs.iter().map(|(f, v)| vec![Borrowed(*f), Borrowed(*v)]))
        }
        Value::Stream(s) => stream(w, key, s),
    }
}

fn id(i: StreamId) -> Vec<u8> {
    i.to_string().into_bytes()
}

fn stream<W: Write>(w: &mut Cmds<W>, key: &[u8], s: &Stream) -> io::Result<()> {
    if s.length > 0 {
        let mut err: io::Result<()> = Ok(());
        s.walk(StreamId::MIN, StreamId::MAX, false, false, &mut |e| {
            let r = (|| {
                w.header(3 + e.fields.len() * 2)?;
                w.bulk(b"XADD")?;
                w.bulk(key)?;
                w.bulk(&id(e.id))?;
                for (f, v) in &e.fields {
                    w.bulk(f)?;
                    w.bulk(v)?;
                }
                Ok(())
            })();
            err = r;
            err.is_ok()
        });
        err?;
    } else {
        // An empty stream: XADD MAXLEN 0 creates it empty.
        w.cmd(&[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"])?;
    }
    let added = s.entries_added.to_string();
    w.cmd(&[b"XSETID", key, &id(s.last_id), b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", &id(s.max_deleted_id)])?;
    for (name, g) in &s.groups {
        let read = g.entries_read.to_string();
        w.cmd(&[b"XGROUP", b"CREATE", key, name, &id(g.last_id), b"ENTRIESREAD", read.as_bytes()])?;
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                w.cmd(&[b"XGROUP", b"CREATECONSUMER", key, name, cname])?;
                continue;
            }
            for pid in &c.pel {
                let Some(n) = g.pel.get(pid) else { continue };
                let (time, count) = (n.delivery_time.to_string(), n.delivery_count.to_string());
                w.cmd(&[b"XCLAIM", key, name, cname, b"0", &id(*pid), b"TIME", time.as_bytes(), b"RETRYCOUNT", count.as_bytes(), b"JUSTID", b"FORCE"])?;
            }
        }
    }
    Ok(())
}
