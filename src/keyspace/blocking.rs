//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): the keyspace keeps the waiting list.
//!
//! A blocking command that finds nothing sets `ctx.block`. The keyspace then parks the client
//! as a [`Waiter`] (FIFO per key) and the Exec handler returns early with a receiver; the client
//! actor waits on it (staying killable). When a write makes a key ready, the keyspace re-runs
//! the oldest waiter's command, which now succeeds and propagates as its non-blocking form.

use super::{Cmd, Keyspace};
use crate::resp::Out;
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;

/// What a blocking command asks for when it cannot be served now.
#[derive(Debug, Clone)]
pub struct BlockSpec {
    pub keys: Vec<Bytes>,
    /// Absolute deadline in ms; None = forever.
    pub deadline: Option<i64>,
    /// Reply when the command cannot block (inside MULTI, from a master's stream): `*-1`
    /// (true) or `$-1` (BLMOVE, BRPOPLPUSH). A timeout (or CLIENT UNBLOCK TIMEOUT) always
    /// answers `*-1`, as Redis 7.0's replyToBlockedClientTimedOut does for lists and zsets.
    pub null_array: bool,
}

/// The reply a parked client eventually gets.
pub struct Unblocked {
    pub out: BytesMut,
    pub db: usize,
    pub repl_offset: i64,
}

/// A parked client.
pub struct Waiter {
    pub client_id: u64,
    pub db: usize,
    pub cmd: Cmd,
    pub spec: BlockSpec,
    pub resp3: bool,
    pub tx: flume::Sender<Unblocked>,
}

/// Waiting lists: per key FIFO of client ids, plus the waiters.
#[derive(Default)]
pub struct Blocking {
    pub waiters: std::collections::HashMap<u64, Waiter>,
    pub by_key: std::collections::HashMap<(usize, Bytes), VecDeque<u64>>,
    /// Keys written since the last serve pass that someone waits on.
    pub ready: Vec<(usize, Bytes)>,
    /// True while a parked client's command is re-run: like Redis, which serves a waiter only
    /// from a key of the type it waits for, such a command skips keys of another type (and
    /// blocks again) instead of replying WRONGTYPE.
    pub serving_waiter: bool,
    /// Set by a command that blocks to be parked with these arguments instead of its own
    /// (XREAD parks with `$` resolved to the IDs it stood for).
    pub block_argv: Option<Vec<Bytes>>,
}

/// Parses a blocking timeout in seconds (fractions allowed) into an absolute deadline.
pub fn parse_timeout(now: i64, arg: &[u8]) -> Result<Option<i64>, &'static str> {
    let Some(secs) = crate::util::num::parse_f64(arg) else {
        return Err("ERR timeout is not a float or out of range");
    };
    if secs < 0.0 {
        return Err("ERR timeout is negative");
    }
    if !secs.is_finite() || secs > 1e12 {
        return Err("ERR timeout is out of range");
    }
    let ms = (secs * 1000.0) as i64;
    Ok(if ms == 0 { None } else { Some(now + ms) })
}

impl Keyspace {
    /// Marks a key written: if a client waits on it, it will be served after this command.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking.by_key.is_empty() {
            return;
        }
        let k = (db, Bytes::copy_from_slice(key));
        if self.blocking.by_key.contains_key(&k) && !self.blocking.ready.contains(&k) {
            self.blocking.ready.push(k);
        }
    }

    /// Every waited key of `db` may have changed (FLUSHDB, FLUSHALL, SWAPDB).
    pub fn signal_db_waiters(&mut self, db: usize) {
        if self.blocking.by_key.is_empty() {
            return;
        }
        let keys: Vec<(usize, Bytes)> = self.blocking.by_key.keys().filter(|(d, _)| *d == db).cloned().collect();
        for k in keys {
            if !self.blocking.ready.contains(&k) {
                self.blocking.ready.push(k);
            }
        }
    }

    /// Parks a client whose command set `ctx.block`.
    pub(super) fn park(&mut self, client_id: u64, db: usize, cmd: &Cmd, spec: BlockSpec, resp3: bool) -> flume::Receiver<Unblocked> {
        let (tx, rx) = flume::bounded(1);
        let mut cmd = cmd.clone();
        if let Some(argv) = self.blocking.block_argv.take() {
            cmd.argv = argv.into();
        }
        for k in &spec.keys {
            let q = self.blocking.by_key.entry((db, k.clone())).or_default();
            if !q.contains(&client_id) {
                q.push_back(client_id);
            }
        }
        self.blocking.waiters.insert(client_id, Waiter { client_id, db, cmd, spec, resp3, tx });
        self.shared.stats.blocked_clients.fetch_add(1, Relaxed);
        rx
    }

    /// Removes a waiter from every list.
    pub(super) fn unpark(&mut self, client_id: u64) -> Option<Waiter> {
        let w = self.blocking.waiters.remove(&client_id)?;
        for k in &w.spec.keys {
            let key = (w.db, k.clone());
            if let Some(q) = self.blocking.by_key.get_mut(&key) {
                q.retain(|&c| c != client_id);
                if q.is_empty() {
                    self.blocking.by_key.remove(&key);
                }
            }
        }
        self.shared.stats.blocked_clients.fetch_sub(1, Relaxed);
        Some(w)
    }

    /// Serves waiters of keys that became ready, oldest first per key.
    pub fn serve_ready(&mut self) {
        let mut rounds = 0;
        while !self.blocking.ready.is_empty() && rounds < 1000 {
            rounds += 1;
            let ready = std::mem::take(&mut self.blocking.ready);
            for (db, key) in ready {
                loop {
                    let Some(&id) = self.blocking.by_key.get(&(db, key.clone())).and_then(|q| q.front()) else { break };
                    // A missing key serves nobody, except XREADGROUP waiters, which learn that
                    // their stream is gone (Redis's unblockDeletedStreamReadgroupClients).
                    if !self.dbs[db].keys.contains_key(&key)
                        && !self.blocking.waiters.get(&id).is_some_and(|w| w.cmd.spec.name == "xreadgroup")
                    {
                        break;
                    }
                    let Some(w) = self.unpark(id) else { break };
                    let mut out = Out::new(w.resp3);
                    let mut wdb = w.db;
                    self.blocking.serving_waiter = true;
                    let blocked_again = self.call_for_waiter(&w.cmd, &mut wdb, w.client_id, &mut out);
                    self.blocking.serving_waiter = false;
                    if self.tracking.has_pending() {
                        // Its own write's invalidations follow its reply.
                        self.tracking_flush_pending(w.client_id, &mut out);
                    }
                    if blocked_again.is_some() {
                        // Nothing for it after all: back at the head of the line, with its
                        // original deadline.
                        let tx = w.tx.clone();
                        let rx_unused = self.park(w.client_id, w.db, &w.cmd, w.spec.clone(), w.resp3);
                        drop(rx_unused);
                        if let Some(nw) = self.blocking.waiters.get_mut(&w.client_id) {
                            nw.tx = tx;
                        }
                        for k in &w.spec.keys {
                            if let Some(q) = self.blocking.by_key.get_mut(&(w.db, k.clone())) {
                                q.retain(|&c| c != w.client_id);
                                q.push_front(w.client_id);
                            }
                        }
                        break;
                    }
                    self.feed.flush();
                    // Its write is in the AOF (fsynced with `always`) before the reply goes.
                    if self.feed.aof.is_some() {
                        self.flush_aof(false);
                    }
                    if self.aof.fatal {
                        continue;
                    }
                    let _ = w.tx.send(Unblocked { out: out.buf, db: wdb, repl_offset: self.feed.offset() });
                }
            }
        }
    }

    /// Replies to waiters whose deadline passed.
    pub fn expire_waiters(&mut self, now: i64) {
        if self.blocking.waiters.is_empty() {
            return;
        }
        let due: Vec<u64> = self
            .blocking
            .waiters
            .values()
            .filter(|w| w.spec.deadline.is_some_and(|d| d <= now))
            .map(|w| w.client_id)
            .collect();
        for id in due {
            if let Some(w) = self.unpark(id) {
                let mut out = Out::new(w.resp3);
                out.null_array();
                crate::keyspace::cmd::stat(&self.shared, w.cmd.spec, &w.cmd.argv).calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // A timeout writes nothing: the client's WAIT offset stays.
                let _ = w.tx.send(Unblocked { out: out.buf, db: w.db, repl_offset: 0 });
            }
        }
    }

    /// CLIENT UNBLOCK / role change / disconnect: ends a wait with `error` (or the timeout
    /// reply when None). Returns whether the client was blocked.
    pub fn unblock(&mut self, client_id: u64, error: Option<&str>) -> bool {
        let Some(w) = self.unpark(client_id) else { return false };
        let mut out = Out::new(w.resp3);
        crate::keyspace::cmd::stat(&self.shared, w.cmd.spec, &w.cmd.argv).calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match error {
            Some(e) => {
                out.error(e);
                // The command ends in an error: a failed call (Redis counts it so).
                crate::keyspace::cmd::stat(&self.shared, w.cmd.spec, &w.cmd.argv).failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.shared.errorstats.record(&mut out.errors);
            }
            None => out.null_array(),
        }
        let _ = w.tx.send(Unblocked { out: out.buf, db: w.db, repl_offset: 0 });
        true
    }

    /// Unblocks everyone with an error (the server became a replica).
    pub fn unblock_all(&mut self, error: &str) {
        let ids: Vec<u64> = self.blocking.waiters.keys().copied().collect();
        for id in ids {
            self.unblock(id, Some(error));
        }
    }
}
