//! The keyspace actor: sixteen databases, expiry, and the one ordered stream of writes.
//!
//! Every command that touches data arrives here as part of an [`Exec`] batch (a client's whole
//! pipeline in one message). The handler runs the commands in order, writes their replies into
//! one buffer, and hands each dataset change to the replication feed in the same order: the
//! keyspace is the single writer of the replication stream.

pub mod segmap;
pub mod value;

use crate::cmd::{CommandSpec, Route};
use crate::resp::Out;
use crate::rt::{self, async_trait, Actor, Context, Handler, Message};
use crate::shared::Shared;
use crate::trace_msg;
use bytes::{Bytes, BytesMut};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use segmap::SegMap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use value::Value;

/// One database: keys and their expiry times (ms since the epoch), as in Redis's two dicts.
#[derive(Clone, Default)]
pub struct Db {
    pub keys: SegMap<Value>,
    pub expires: SegMap<i64>,
    /// Where the active expire cycle resumes (a segment index).
    pub expire_cursor: usize,
}

/// A command ready to run: its table entry and arguments.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub spec: &'static CommandSpec,
    pub argv: Vec<Bytes>,
}

/// What a client sends: single commands and whole transactions, in pipeline order.
#[derive(Debug)]
pub enum Item {
    Cmd(Cmd),
    /// The commands queued between MULTI and EXEC.
    Txn(Vec<Cmd>),
}

/// A client's pipeline: run `items` for client `client_id` starting in database `db`.
pub struct Exec {
    pub client_id: u64,
    pub db: usize,
    pub resp3: bool,
    pub items: Vec<Item>,
}

impl Message for Exec {
    type Result = ExecDone;
}

/// The replies of an [`Exec`], the database the client ends in (SELECT), and the replication
/// offset after its last write (for WAIT).
pub struct ExecDone {
    pub out: BytesMut,
    pub db: usize,
    pub repl_offset: i64,
}

/// The client has gone: forget its WATCHed keys.
pub struct ClientGone(pub u64);
impl Message for ClientGone {
    type Result = ();
}

/// Forget a client's WATCHed keys (DISCARD, EXECABORT).
pub struct Unwatch(pub u64);
impl Message for Unwatch {
    type Result = ();
}

/// CONFIG RESETSTAT: zero the keyspace's counters.
pub struct ResetStats;
impl Message for ResetStats {
    type Result = ();
}

/// Wires the backlog actor into the feed (once, at start).
pub struct SetBacklog(pub crate::rt::Addr<crate::repl::backlog::Backlog>);
impl Message for SetBacklog {
    type Result = ();
}

/// Periodic work: the active expire cycle (every 1000/hz ms).
#[derive(Clone)]
pub struct Cron;
impl Message for Cron {
    type Result = ();
}

/// Per-command execution context handed to command implementations.
pub struct Ctx<'a> {
    pub db: usize,
    pub out: &'a mut Out,
    pub client_id: u64,
    /// Time of this command's start, ms since the epoch (one clock read per command).
    pub now: i64,
    /// Dataset changes made by this command.
    pub dirty: u64,
    /// Commands to propagate in place of the command itself (rewrites, expired-key DELs).
    pub prop: Vec<Vec<Bytes>>,
    /// Set when `prop` replaces the command (a rewrite); else the command itself follows.
    pub rewritten: bool,
    pub in_txn: bool,
    /// Set when the command's reply was an error (for failed_calls).
    pub failed: bool,
}

impl<'a> Ctx<'a> {
    pub fn error(&mut self, msg: &str) {
        self.failed = true;
        self.out.error(msg);
    }
    /// Propagate `argv` instead of the command as received.
    pub fn rewrite(&mut self, argv: Vec<Bytes>) {
        self.rewritten = true;
        self.prop.push(argv);
    }
}

/// WATCH bookkeeping: who watches which key, and whose transaction is already doomed.
#[derive(Default)]
pub struct Watch {
    pub by_key: HashMap<(usize, Bytes), Vec<u64>>,
    pub by_client: HashMap<u64, Vec<(usize, Bytes)>>,
    pub dirty: HashSet<u64>,
}

/// Keyspace statistics (INFO stats / keyspace).
#[derive(Default)]
pub struct KsStats {
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Changes since the last save (rdb_changes_since_last_save).
    pub dirty: u64,
}

pub struct Keyspace {
    pub dbs: Vec<Db>,
    pub shared: Arc<Shared>,
    pub watch: Watch,
    pub stats: KsStats,
    pub rng: SmallRng,
    pub active_expire: bool,
    /// True while this server replicates from a master: keys are not expired here.
    pub is_replica: bool,
    /// True while commands from our master's stream execute: they see logically expired
    /// keys as present (the master's DEL for them is still to come, and commands like DEL
    /// or INCR from the master must act on the key as the master did).
    pub applying_master: bool,
    /// The replication feed (offset bookkeeping and the stream's last SELECTed db).
    pub feed: crate::repl::Feed,
    cron_ticks: u64,
}

impl Keyspace {
    pub fn new(shared: Arc<Shared>) -> Self {
        let n = shared.cfg().databases().max(1);
        Keyspace {
            dbs: (0..n).map(|_| Db::default()).collect(),
            shared,
            watch: Watch::default(),
            stats: KsStats::default(),
            rng: SmallRng::from_entropy(),
            active_expire: true,
            is_replica: false,
            applying_master: false,
            feed: crate::repl::Feed::default(),
            cron_ticks: 0,
        }
    }

    // ----- lookups -------------------------------------------------------------------------

    /// If `key` is past its expiry, deletes it (on a master) and returns true.
    ///
    /// A replica never deletes: it reports the key as gone to readers and waits for the
    /// master's DEL.
    pub fn expire_if_needed(&mut self, ctx: &mut Ctx, key: &[u8]) -> bool {
        let db = &self.dbs[ctx.db];
        if db.expires.is_empty() {
            return false;
        }
        let Some(&when) = db.expires.get(key) else { return false };
        if when > ctx.now {
            return false;
        }
        if self.is_replica {
            return !self.applying_master;
        }
        self.delete_expired(ctx.db, key);
        ctx.prop.push(vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
        true
    }

    /// Deletes an expired key and counts it; the caller propagates the DEL.
    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        let d = &mut self.dbs[db];
        d.keys.remove(key);
        d.expires.remove(key);
        self.stats.expired_keys += 1;
        self.touch_watched(db, key);
    }

    /// Looks a key up for reading (counts hits and misses).
    pub fn lookup_read(&mut self, ctx: &mut Ctx, key: &[u8]) -> Option<&Value> {
        if self.expire_if_needed(ctx, key) {
            self.stats.keyspace_misses += 1;
            return None;
        }
        let v = self.dbs[ctx.db].keys.get(key);
        if v.is_some() {
            self.stats.keyspace_hits += 1;
        } else {
            self.stats.keyspace_misses += 1;
        }
        v
    }

    /// Looks a key up for writing (no hit/miss counting; expired keys are deleted first).
    pub fn lookup_write(&mut self, ctx: &mut Ctx, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_needed(ctx, key) {
            return None;
        }
        self.dbs[ctx.db].keys.get_mut(key)
    }

    /// Whether `key` exists (logically) without counting a hit.
    pub fn exists(&mut self, ctx: &mut Ctx, key: &[u8]) -> bool {
        !self.expire_if_needed(ctx, key) && self.dbs[ctx.db].keys.contains_key(key)
    }

    /// The expiry of a live key (ms), if it has one.
    pub fn expire_of(&self, db: usize, key: &[u8]) -> Option<i64> {
        self.dbs[db].expires.get(key).copied()
    }

    // ----- writes --------------------------------------------------------------------------

    /// Stores `value` under `key`, dropping any TTL unless `keep_ttl`.
    pub fn set_key(&mut self, ctx: &mut Ctx, key: &[u8], value: Value, keep_ttl: bool) {
        let db = &mut self.dbs[ctx.db];
        let k = Bytes::copy_from_slice(key);
        db.keys.insert(k, value);
        if !keep_ttl && !db.expires.is_empty() {
            db.expires.remove(key);
        }
        self.modified(ctx, key);
    }

    /// Sets (or replaces) a key's expiry time.
    pub fn set_expire(&mut self, ctx: &mut Ctx, key: &[u8], when: i64) {
        let db = &mut self.dbs[ctx.db];
        if let Some((k, _)) = db.keys.get_key_value(key) {
            let k = k.clone();
            db.expires.insert(k, when);
        }
    }

    /// Removes a key's expiry; true if it had one.
    pub fn persist(&mut self, ctx: &mut Ctx, key: &[u8]) -> bool {
        self.dbs[ctx.db].expires.remove(key).is_some()
    }

    /// Deletes a key (after the caller checked expiry); true if it existed.
    pub fn delete(&mut self, ctx: &mut Ctx, key: &[u8]) -> bool {
        let db = &mut self.dbs[ctx.db];
        if db.keys.remove(key).is_some() {
            if !db.expires.is_empty() {
                db.expires.remove(key);
            }
            self.modified(ctx, key);
            true
        } else {
            false
        }
    }

    /// Records one change to `key`: counts it and dooms transactions watching it.
    pub fn modified(&mut self, ctx: &mut Ctx, key: &[u8]) {
        ctx.dirty += 1;
        self.touch_watched(ctx.db, key);
    }

    /// Marks every client watching `key` as dirty.
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if self.watch.by_key.is_empty() {
            return;
        }
        if let Some(ids) = self.watch.by_key.get(&(db, Bytes::copy_from_slice(key))) {
            self.watch.dirty.extend(ids.iter().copied());
        }
    }

    /// Marks every client watching any key of `db` (all dbs when None) as dirty: FLUSH*, SWAPDB.
    pub fn touch_all_watched(&mut self, db: Option<usize>) {
        let mut doomed = vec![];
        for ((d, k), ids) in self.watch.by_key.iter() {
            if db.map_or(true, |x| x == *d) && (self.dbs[*d].keys.contains_key(k) || db.is_none()) {
                doomed.extend(ids.iter().copied());
            }
        }
        self.watch.dirty.extend(doomed);
    }

    pub fn unwatch_all(&mut self, client: u64) {
        self.watch.dirty.remove(&client);
        if let Some(keys) = self.watch.by_client.remove(&client) {
            for k in keys {
                if let Some(ids) = self.watch.by_key.get_mut(&k) {
                    ids.retain(|&c| c != client);
                    if ids.is_empty() {
                        self.watch.by_key.remove(&k);
                    }
                }
            }
        }
    }

    // ----- execution -----------------------------------------------------------------------

    /// Runs one command: the command table's function, statistics, propagation.
    fn call(&mut self, cmd: &Cmd, db: &mut usize, client_id: u64, out: &mut Out, in_txn: bool) {
        let Route::Keyspace(f) = cmd.spec.route else {
            out.error(&format!("ERR '{}' cannot run here", cmd.spec.name));
            return;
        };
        let start = Instant::now();
        let mut ctx = Ctx {
            db: *db,
            out,
            client_id,
            now: crate::util::now_ms(),
            dirty: 0,
            prop: Vec::new(),
            rewritten: false,
            in_txn,
            failed: false,
        };
        f(self, &mut ctx, &cmd.argv);
        let stat = &self.shared.cmd_stats[cmd.spec.index];
        stat.calls.fetch_add(1, Relaxed);
        stat.usec.fetch_add(start.elapsed().as_micros() as u64, Relaxed);
        if ctx.failed {
            stat.failed.fetch_add(1, Relaxed);
        }
        self.stats.dirty += ctx.dirty;
        if ctx.dirty > 0 && !ctx.rewritten && cmd.spec.is_write() && self.feed.wants() {
            ctx.prop.push(cmd.argv.clone());
        }
        let start_db = *db;
        *db = ctx.db;
        if !ctx.prop.is_empty() {
            let prop = std::mem::take(&mut ctx.prop);
            self.feed.propagate(start_db, prop, in_txn);
        }
    }

    /// Runs a client's items in order, writing replies to `out`.
    pub fn exec_items(&mut self, items: &[Item], db: &mut usize, client_id: u64, out: &mut Out) {
        for item in items {
            match item {
                Item::Cmd(c) => self.call(c, db, client_id, out, false),
                Item::Txn(cmds) => self.run_txn(cmds, db, client_id, out),
            }
        }
    }

    fn run_txn(&mut self, cmds: &[Cmd], db: &mut usize, client_id: u64, out: &mut Out) {
        if self.watch.dirty.contains(&client_id) {
            self.unwatch_all(client_id);
            out.null_array();
            return;
        }
        self.unwatch_all(client_id);
        out.array(cmds.len());
        self.feed.begin_txn();
        for c in cmds {
            self.call(c, db, client_id, out, true);
        }
        self.feed.end_txn();
    }

    /// The active expire cycle: walks expires segments of each db, deleting what is past its
    /// time, within a time budget (25% of a cron tick, like Redis's slow cycle).
    fn active_expire_cycle(&mut self) {
        if !self.active_expire || self.is_replica {
            return;
        }
        let hz = self.shared.cfg().hz().max(1) as u64;
        let budget = Duration::from_micros(1_000_000 / hz / 4);
        let start = Instant::now();
        let now = crate::util::now_ms();
        let mut checked = 0usize;
        let mut expired = 0usize;
        for dbi in 0..self.dbs.len() {
            if self.dbs[dbi].expires.is_empty() {
                continue;
            }
            // Visit up to 64 segments per db per cycle, more while many keys are expiring.
            let mut visited = 0;
            loop {
                let db = &mut self.dbs[dbi];
                let seg = db.expire_cursor;
                db.expire_cursor = (seg + 1) % segmap::SEGMENTS;
                let due: Vec<Bytes> = db
                    .expires
                    .segment(seg)
                    .filter(|(_, &w)| w <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                checked += db.expires.segment_len(seg);
                for k in due {
                    self.delete_expired(dbi, &k);
                    self.feed.propagate(dbi, vec![vec![Bytes::from_static(b"DEL"), k]], false);
                    expired += 1;
                }
                visited += 1;
                if visited >= segmap::SEGMENTS || self.dbs[dbi].expires.is_empty() {
                    break;
                }
                if start.elapsed() > budget {
                    self.stats.expired_time_cap_reached_count += 1;
                    break;
                }
                if visited >= 64 && expired * 10 < checked.max(1) {
                    break;
                }
            }
            if start.elapsed() > budget {
                break;
            }
        }
        if checked > 0 {
            let perc = expired as f64 / checked as f64;
            self.stats.expired_stale_perc = perc * 0.05 + self.stats.expired_stale_perc * 0.95;
        }
    }
}

#[async_trait]
impl Actor for Keyspace {
    async fn started(&mut self, ctx: &mut Context<Self>) -> rt::ActorResult<()> {
        let hz = self.shared.cfg().hz().clamp(1, 500) as u64;
        ctx.send_interval(Cron, Duration::from_millis(1000 / hz));
        Ok(())
    }
}

#[async_trait]
impl Handler<Exec> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Exec) -> ExecDone {
        trace_msg!(format_args!("client:{}", msg.client_id), "keyspace", "Exec({} items)", msg.items.len());
        let mut out = Out::new(msg.resp3);
        let mut db = msg.db;
        self.exec_items(&msg.items, &mut db, msg.client_id, &mut out);
        self.feed.flush();
        ExecDone { out: out.buf, db, repl_offset: self.feed.offset() }
    }
}

#[async_trait]
impl Handler<ClientGone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ClientGone) {
        trace_msg!(format_args!("client:{}", msg.0), "keyspace", "ClientGone");
        self.unwatch_all(msg.0);
    }
}

#[async_trait]
impl Handler<Cron> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: Cron) {
        self.active_expire_cycle();
        self.cron_ticks += 1;
        let hz = self.shared.cfg().hz().clamp(1, 500) as u64;
        if self.cron_ticks % hz == 0 {
            crate::repl::cron(self, self.cron_ticks / hz);
        }
        self.feed.flush();
    }
}

#[async_trait]
impl Handler<Unwatch> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Unwatch) {
        trace_msg!(format_args!("client:{}", msg.0), "keyspace", "Unwatch");
        self.unwatch_all(msg.0);
    }
}

#[async_trait]
impl Handler<ResetStats> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: ResetStats) {
        trace_msg!("client", "keyspace", "ResetStats");
        let dirty = self.stats.dirty;
        self.stats = KsStats { dirty, ..KsStats::default() };
        self.feed.stats = Default::default();
    }
}

#[async_trait]
impl Handler<SetBacklog> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetBacklog) {
        self.feed.backlog = Some(msg.0);
    }
}
