//! The keyspace actor: sixteen databases, expiry, and the one ordered stream of writes.
//!
//! Every command that touches data arrives here as part of an [`Exec`] batch (a client's whole
//! pipeline in one message). The handler runs the commands in order, writes their replies into
//! one buffer, and hands each dataset change to the replication feed in the same order: the
//! keyspace is the single writer of the replication stream.
//!
//! What runs inside the actor lives in this layer too: the command table and the commands
//! ([`cmd`]), INFO ([`info`]), RDB persistence ([`persist`], [`snapshot`]) and full-sync jobs
//! ([`fullsync`]). It knows nothing of the replication actors: the [`feed`] hands the stream
//! to a [`StreamSink`], a full sync serves a [`fullsync::SyncReplica`], and the handlers of the
//! replication messages (in `repl`) use the methods it offers (`role.rs`, [`Feed`]).

mod clock;
pub mod aof;
pub mod blocking;
pub mod cmd;
pub mod feed;
pub mod fullsync;
pub mod info;
pub mod lazyfree;
pub mod lru;
pub mod memory;
pub mod memusage;
pub mod migrate;
pub mod evict;
pub mod persist;
pub mod pubsub;
mod role;
pub(crate) use role::{MasterBatch, Refusal};
pub mod script;
pub mod segmap;
pub mod snapshot;
pub mod thin;
pub mod tracking;
pub mod value;
pub mod verify;

use cmd::{CommandSpec, Route};
use crate::resp::Out;
use crate::rt::{self, async_trait, Actor, Context, Handler, Message};
use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use segmap::SegMap;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use feed::{Feed, StreamSink};
pub use value::Value;

/// One database: keys and their expiry times (ms since the epoch), as in Redis's two dicts.
#[derive(Clone, Default)]
pub struct Db {
    pub keys: SegMap<Value>,
    pub expires: SegMap<i64>,
    /// Where the active expire cycle resumes (a segment index).
    pub expire_cursor: usize,
    /// The size Redis's hash table of these keys would have (DEBUG HTSTATS): it doubles as
    /// keys are added, except while a child process runs (unless 5 times over), and shrinks
    /// in the cron below 10% full.
    pub ht_size: u64,
}

impl Db {
    /// Follows Redis's dict growth after keys were added (`child`: a save child runs).
    fn track_table_growth(&mut self, child: bool) {
        let used = self.keys.len() as u64;
        if used == 0 {
            self.ht_size = 0;
        } else if self.ht_size == 0 {
            self.ht_size = used.next_power_of_two().max(4);
        } else if used > self.ht_size && (!child || used / self.ht_size > 5) {
            self.ht_size = used.next_power_of_two();
        }
    }

    /// Redis's htNeedsResize / dictResize, from the cron (not while a child runs).
    fn track_table_shrink(&mut self) {
        let used = self.keys.len() as u64;
        if self.ht_size > 4 && used * 100 / self.ht_size < 10 {
            self.ht_size = used.next_power_of_two().max(4);
        }
    }
}

/// A command ready to run: its table entry and arguments.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub spec: &'static CommandSpec,
    pub argv: crate::resp::request::Argv,
}

/// What a client sends: single commands and whole transactions, in pipeline order.
#[derive(Debug)]
pub enum Item {
    Cmd(Cmd),
    /// The commands queued between MULTI and EXEC.
    Txn(Vec<Cmd>),
    /// A piece of a transaction that has connection commands (REPLICAOF, CONFIG, CLIENT ...):
    /// the client runs those itself between the pieces, so every command takes effect in the
    /// order it was queued. The first piece (`header: Some(total)`) checks WATCH and writes
    /// the reply array's header; the others continue it.
    /// `more`: connection commands and further pieces follow (clients blocked on keys the
    /// transaction fed are served after its last piece, as Redis serves them after EXEC).
    TxnPart { cmds: Vec<Cmd>, header: Option<usize>, more: bool },
}

/// A client's pipeline: run `items` for client `client_id` starting in database `db`.
pub struct Exec {
    pub client_id: u64,
    /// The client's count of Execs sent (a busy script's -BUSY cancels one by it).
    pub seq: u64,
    pub db: usize,
    pub resp3: bool,
    pub items: Vec<Item>,
    /// The client receives pushes (subscribed, MONITOR, invalidations): frames already queued for it
    /// go into this reply first, so they precede the replies to these commands.
    pub pushes: bool,
    /// The client's reply buffer, lent so replies are appended in place (no copy): it
    /// comes back as `ExecDone::out`, with what it held kept in front.
    pub out: BytesMut,
    /// SCRIPT DEBUG is on: the EVAL of this Exec runs in a debugging session over this link.
    pub ldb: Option<Box<script::ldb::LdbLink>>,
}

impl Message for Exec {
    type Result = ExecDone;
}

/// The replies of an [`Exec`], the database the client ends in (SELECT), and the replication
/// offset after its last write (for WAIT).
pub struct ExecDone {
    /// The lent buffer with this Exec's replies appended.
    pub out: BytesMut,
    pub db: usize,
    pub repl_offset: i64,
    /// The Exec's item list, emptied: the client's next batch reuses its allocation.
    pub items: Vec<Item>,
    /// What few Execs have, boxed so that the answer every Exec gets stays small to move.
    pub rare: Option<Box<ExecRare>>,
}

/// The parts of an [`ExecDone`] most Execs do not have.
#[derive(Default)]
pub struct ExecRare {
    /// Connection commands (CONFIG, CLIENT, ...) queued in a transaction: the keyspace leaves
    /// their replies to the client, which inserts each at the given offset of `out` (an
    /// offset into the whole buffer, what it held before included).
    pub client_cmds: Vec<(usize, Cmd)>,
    /// Set when a command blocked: its reply comes through the receiver, and the items after
    /// it must be sent again once it is answered.
    pub blocked: Option<(flume::Receiver<blocking::Unblocked>, Vec<Item>)>,
    /// A transaction in this Exec was aborted by WATCH.
    pub txn_aborted: bool,
    /// The pushed frames `out` holds, alone (what a client with CLIENT REPLY OFF gets).
    pub pushes: BytesMut,
}

/// The subscriptions of some clients: (id, channels, patterns, shard channels) for each
/// subscribed one (ACL SETUSER closes those a user's new rules no longer allow).
pub struct SubscriptionsOf(pub Vec<u64>);
pub type Subscriptions = Vec<(u64, Vec<Bytes>, Vec<Bytes>, Vec<Bytes>)>;
impl Message for SubscriptionsOf {
    type Result = Subscriptions;
}

#[async_trait]
impl Handler<SubscriptionsOf> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SubscriptionsOf) -> Subscriptions {
        msg.0.into_iter().filter_map(|id| self.pubsub.subscriptions(id).map(|(c, p, s)| (id, c, p, s))).collect()
    }
}

/// RESET: the client leaves Pub/Sub and MONITOR and forgets its WATCHed keys.
pub struct ResetClient(pub u64);
impl Message for ResetClient {
    type Result = ();
}

#[async_trait]
impl Handler<ResetClient> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ResetClient) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.0), "keyspace", "ResetClient");
        self.unwatch_all(msg.0);
        self.tracking_forget(msg.0);
        if let Some(m) = self.pubsub.push_target(msg.0) {
            m.monitor.store(false, Relaxed);
        }
        self.pubsub.remove_client(msg.0);
        self.shared.hot.monitors.store(self.pubsub.monitor_total() as u64, Relaxed);
    }
}

/// A connection command (run by the client actor) to show to the MONITOR connections, its
/// secret arguments already redacted.
pub struct MonitorFeed {
    pub client_id: u64,
    pub db: usize,
    pub argv: Vec<Bytes>,
}
impl Message for MonitorFeed {
    type Result = ();
}

#[async_trait]
impl Handler<MonitorFeed> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: MonitorFeed) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client_id), "keyspace", "MonitorFeed({})", String::from_utf8_lossy(&msg.argv[0]));
        if self.pubsub.has_monitors() {
            self.feed_monitors(msg.client_id, msg.db, &msg.argv, None, false);
        }
    }
}

/// The client has gone: forget its WATCHed keys.
pub struct ClientGone(pub u64);
impl Message for ClientGone {
    type Result = ();
}

/// The flags a script command declared (shebang or registered function), for a client
/// deciding whether CLIENT PAUSE WRITE holds it: a `no-writes` script is not held.
pub struct ScriptFlags(pub Vec<Bytes>);
impl Message for ScriptFlags {
    type Result = Option<u32>;
}

#[async_trait]
impl Handler<ScriptFlags> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ScriptFlags) -> Option<u32> {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "ScriptFlags({})", String::from_utf8_lossy(msg.0.first().map_or(&b""[..], |a| &a[..])));
        self.scripting.declared_flags(&msg.0)
    }
}

/// The peer of a client closed its connection (its reader saw the end): a command blocked
/// for it is dropped unanswered, so what arrives for the key goes to a live waiter or stays,
/// as Redis frees a blocked client on EOF. Sent by the reader task, which is not held up by
/// the blocked command as the client actor is.
pub struct ReaderGone(pub u64);
impl Message for ReaderGone {
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

/// Wires the backlog actor into the feed as its sink (once, at start).
pub struct SetBacklog(pub Box<dyn StreamSink>);
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
    /// Set when the command's reply was an error (for failed_calls).
    pub failed: bool,
    /// Set by a blocking command that found nothing to serve.
    pub block: Option<blocking::BlockSpec>,
    /// Propagate the command even though it changed no key (PUBLISH, as Redis's
    /// `forceCommandPropagation`).
    pub force_propagate: bool,
    /// The command runs inside MULTI/EXEC.
    pub in_txn: bool,
}

impl<'a> Ctx<'a> {
    pub fn error(&mut self, msg: impl AsRef<[u8]>) {
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
    /// (client, db, key) watched while already logically expired (Redis's `wk->expired`):
    /// its deletion is no change, only a new value dooms the transaction.
    pub stale: HashSet<(u64, usize, Bytes)>,
}

/// Keyspace statistics (INFO stats / keyspace).
#[derive(Default)]
pub struct KsStats {
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Keys deleted by maxmemory eviction.
    pub evicted_keys: u64,
    /// Changes since the last save (rdb_changes_since_last_save).
    pub dirty: u64,
}

/// The keyspace actor's state. Its fields are the keyspace layer's own: other layers talk to
/// it by message, and the replication handlers (in `repl`) use the methods it offers.
pub struct Keyspace {
    /// The databases (`databases` of them).
    dbs: Vec<Db>,
    shared: Arc<Shared>,
    watch: Watch,
    stats: KsStats,
    /// Randomness for RANDOMKEY, SPOP, SRANDMEMBER and the like.
    rng: SmallRng,
    /// Whether the cron expires keys (DEBUG SET-ACTIVE-EXPIRE).
    active_expire: bool,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE does not check payload checksums.
    pub(crate) skip_checksum: bool,
    /// True while this server replicates from a master: keys are not expired here.
    is_replica: bool,
    /// True while commands from our master's stream execute: they see logically expired
    /// keys as present (the master's DEL for them is still to come, and commands like DEL
    /// or INCR from the master must act on the key as the master did).
    applying_master: bool,
    /// Keys given a TTL by clients of a writable replica: the replica expires those itself.
    replica_own_expires: HashSet<(usize, Bytes)>,
    /// The replication feed (offset bookkeeping and the stream's last SELECTed db).
    feed: Feed,
    /// Clients blocked on keys, and the keys that became ready for them.
    blocking: blocking::Blocking,
    /// Full syncs gathering replicas or writing their RDB.
    jobs: fullsync::Jobs,
    /// Cron runs so far (the once-a-second work runs every `hz` of them).
    cron_ticks: u64,
    /// A `FlushFeed` is in the mailbox.
    flush_queued: bool,
    /// Set when WATCH aborts a transaction of the Exec being run.
    txn_aborted: bool,
    /// A transaction runs on past a connection command (its first piece was admitted with
    /// the EXEC): its writes are not refused as a read-only replica's even when that command
    /// was REPLICAOF, as Redis checks the role once, for EXEC.
    txn_continuing: bool,
    /// Saves, BGSAVE, and what the RDB loaded at start held.
    persist: persist::PersistState,
    /// Our own address (weak), for work that reports back (BGSAVE).
    me: Option<crate::rt::WeakAddr<Keyspace>>,
    clock: clock::Clock,
    /// The channel table and the MONITOR connections.
    pubsub: pubsub::PubSub,
    /// The client whose Exec is running (its pushes go into its reply, in order).
    exec_client: u64,
    /// The debugging session the Exec being run asked for (SCRIPT DEBUG, taken by its EVAL).
    pub(crate) ldb_link: Option<script::ldb::LdbLink>,
    /// A SCRIPT DEBUG YES session runs: the script's effects are not propagated.
    pub(crate) ldb_discard: bool,
    /// A SCRIPT DEBUG session (YES or SYNC) runs its script.
    pub(crate) ldb_session: bool,
    /// The pushes of the running Exec alone (a client with CLIENT REPLY OFF still gets them).
    exec_pushes: BytesMut,
    /// maxmemory eviction's pool and state.
    evictor: evict::Evictor,
    /// Lua: the EVAL script cache and the function libraries.
    scripting: script::Scripting,
    /// The time a running script started (its commands all see it).
    script_time: Option<i64>,
    /// CLIENT TRACKING: the tracking table, BCAST prefixes, invalidations held back.
    tracking: tracking::Tracking,
    /// Consistency-proof rounds (tandem-verify).
    verify: verify::Rounds,
    /// The client whose command runs (Redis's `current_client`; 0: none): a script's
    /// commands run for its caller, a served blocked command for its waiter.
    running: u64,
    /// How deep `call` is nested (a script's commands run at depth 2).
    call_depth: u32,
    /// DEBUG PAUSE-CRON: the cron's periodic work is skipped.
    cron_paused: bool,
    /// The append-only file.
    aof: aof::Aof,
    /// The AOF is being replayed (Redis's `server.loading` for its fake client): a TTL already
    /// in the past does not delete its key yet.
    loading_aof: bool,
}

impl Keyspace {
    /// The ACL check of a command a script calls (only while some user is restricted).
    pub fn script_acl_refusal(&self, client: u64, spec: &cmd::CommandSpec, argv: &[Bytes]) -> Option<String> {
        if !self.shared.acl_active.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        self.shared.acl_script_check.get().and_then(|check| check(&self.shared, client, spec.index, argv))
    }

    /// A keyspace of empty databases (the RDB file loads when the actor starts).
    pub fn new(shared: Arc<Shared>) -> Self {
        let n = shared.cfg().databases().max(1);
        let feed = Feed::new(shared.log.clone());
        Keyspace {
            dbs: (0..n).map(|_| Db::default()).collect(),
            shared,
            watch: Watch::default(),
            stats: KsStats::default(),
            rng: SmallRng::from_entropy(),
            active_expire: true,
            skip_checksum: false,
            is_replica: false,
            applying_master: false,
            feed,
            replica_own_expires: HashSet::new(),
            blocking: Default::default(),
            jobs: Default::default(),
            cron_ticks: 0,
            persist: Default::default(),
            me: None,
            clock: Default::default(),
            flush_queued: false,
            txn_aborted: false,
            txn_continuing: false,
            pubsub: Default::default(),
            exec_client: 0,
            ldb_link: None,
            ldb_discard: false,
            ldb_session: false,
            exec_pushes: BytesMut::new(),
            evictor: Default::default(),
            scripting: Default::default(),
            script_time: None,
            tracking: Default::default(),
            verify: Default::default(),
            running: 0,
            call_depth: 0,
            cron_paused: false,
            aof: Default::default(),
            loading_aof: false,
        }
    }

    /// The server's shared state.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The replication feed.
    pub(crate) fn feed(&self) -> &Feed {
        &self.feed
    }

    /// The replication feed, to move it on (PSYNC, GETACK, the replica side's history).
    pub(crate) fn feed_mut(&mut self) -> &mut Feed {
        &mut self.feed
    }

    // ----- lookups -------------------------------------------------------------------------

    /// Whether a TTL already in the past keeps its key for now (Redis's checkAlreadyExpired
    /// is false): on a replica (its master deletes it) and while the AOF loads.
    pub fn keeps_expired(&self) -> bool {
        self.is_replica || self.loading_aof
    }

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
        if when > ctx.now || self.loading_aof {
            // While the AOF loads, keys expire only once it is loaded (as Redis's loading).
            return false;
        }
        if self.is_replica {
            // A writable replica expires the keys its own clients gave a TTL (as Redis's
            // slaveKeysWithExpire); the master's keys wait for the master's DEL.
            if self.applying_master || !self.replica_own_expires.remove(&(ctx.db, Bytes::copy_from_slice(key))) {
                return !self.applying_master;
            }
        }
        // While clients are paused (CLIENT PAUSE, a failover) nothing expires: the key reads
        // as gone but stays until the pause ends, as Redis (the DEL would be a write).
        if self.expiry_paused() {
            return true;
        }
        self.delete_expired(ctx.db, key);
        self.notify(ctx, crate::config::notify::EXPIRED, "expired", key);
        ctx.prop.push(vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
        true
    }

    /// Whether a client pause holds expiry back (Redis's checkClientPauseTimeoutAndReturnIfPaused).
    fn expiry_paused(&self) -> bool {
        let p = &self.shared.pause;
        if p.failover.load(Relaxed) {
            return true;
        }
        let until = p.until_ms.load(Relaxed);
        until != 0 && until > crate::util::now_ms()
    }

    /// Deletes an expired key and counts it; the caller propagates the DEL.
    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        let d = &mut self.dbs[db];
        d.keys.remove(key);
        d.expires.remove(key);
        self.stats.expired_keys += 1;
        self.signal_modified(db, key, 0);
    }

    /// Looks a key up for reading (counts hits and misses, updates the key's access word).
    pub fn lookup_read(&mut self, ctx: &mut Ctx, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(ctx, key, true)
    }

    /// [`lookup_read`](Self::lookup_read) leaving the access word alone (Redis's
    /// `LOOKUP_NOTOUCH`: TYPE, TTL and the like).
    pub fn lookup_read_notouch(&mut self, ctx: &mut Ctx, key: &[u8]) -> Option<&Value> {
        self.lookup_read_flags(ctx, key, false)
    }

    /// How a lookup now changes a key's access word: the LFU parameters under an LFU
    /// policy (and a random draw for the logarithmic increment).
    fn touch_params(&mut self) -> (Option<lru::Lfu>, f64) {
        let hot = &self.shared.hot;
        if !hot.policy().is_lfu() {
            return (None, 0.0);
        }
        let lfu = lru::Lfu { log_factor: hot.lfu_log_factor.load(Relaxed), decay_time: hot.lfu_decay_time.load(Relaxed) };
        (Some(lfu), self.rng.gen::<f64>())
    }

    fn lookup_read_flags(&mut self, ctx: &mut Ctx, key: &[u8], touch: bool) -> Option<&Value> {
        if self.expire_if_needed(ctx, key) {
            self.stats.keyspace_misses += 1;
            self.notify(ctx, crate::config::notify::KEY_MISS, "keymiss", key);
            return None;
        }
        // Redis's lookupKey: a read miss publishes `keymiss` (class m).
        if self.shared.hot.notify_flags.load(Relaxed) & crate::config::notify::KEY_MISS != 0
            && !self.dbs[ctx.db].keys.contains_key(key)
        {
            self.stats.keyspace_misses += 1;
            self.notify(ctx, crate::config::notify::KEY_MISS, "keymiss", key);
            return None;
        }
        let (lfu, r) = if touch { self.touch_params() } else { (None, 0.0) };
        let Some((k, v)) = self.dbs[ctx.db].keys.get_key_value(key) else {
            self.stats.keyspace_misses += 1;
            return None;
        };
        self.stats.keyspace_hits += 1;
        if touch {
            k.set_clock(lru::touched(k.clock(), ctx.now, lfu, r));
        }
        Some(v)
    }

    /// Looks a key up for writing (no hit/miss counting; expired keys are deleted first).
    pub fn lookup_write(&mut self, ctx: &mut Ctx, key: &[u8]) -> Option<&mut Value> {
        if self.expire_if_needed(ctx, key) {
            return None;
        }
        let (lfu, r) = self.touch_params();
        let (k, v) = self.dbs[ctx.db].keys.get_key_mut(key)?;
        k.set_clock(lru::touched(k.clock(), ctx.now, lfu, r));
        Some(v)
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
        // As Redis's setKey (lookupKeyWrite): a logically expired key is deleted first.
        // On a replica the expired key stays (its master will DEL it); a client overwriting
        // it on a writable replica creates a new key, without the old TTL.
        let expired = self.expire_if_needed(ctx, key);
        let db = &mut self.dbs[ctx.db];
        let created = db.keys.insert(key, value).is_none();
        if (!keep_ttl || expired) && !db.expires.is_empty() {
            db.expires.remove(key);
        }
        self.modified(ctx, key);
        if created {
            self.notify_new(ctx, key);
        }
        // As Redis's dbAdd/dbOverwrite: a key appearing (RENAME, MOVE, COPY, SORT .. STORE,
        // RESTORE, ...) may serve clients blocked on it.
        self.signal_ready(ctx.db, key);
    }

    /// A live key's value was replaced where it is (INCR): what [`set_key`](Self::set_key)
    /// does after storing, for a key that existed and keeps its TTL.
    pub fn overwritten(&mut self, ctx: &mut Ctx, key: &[u8]) {
        self.modified(ctx, key);
        self.signal_ready(ctx.db, key);
    }

    /// A key was created (Redis's dbAdd): `new`, class n.
    pub fn notify_new(&mut self, ctx: &mut Ctx, key: &[u8]) {
        self.notify(ctx, crate::config::notify::NEW, "new", key);
    }

    /// Marks a string key as modified in place (OBJECT ENCODING `raw`).
    pub fn mark_raw(&mut self, db: usize, key: &[u8]) {
        if let Some(Value::Str(s)) = self.dbs[db].keys.get_mut(key) {
            s.set_raw();
        }
    }

    /// Sets (or replaces) a key's expiry time.
    pub fn set_expire(&mut self, ctx: &mut Ctx, key: &[u8], when: i64) {
        if self.is_replica && !self.applying_master {
            self.replica_own_expires.insert((ctx.db, Bytes::copy_from_slice(key)));
        }
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
            // A deleted stream ends the waits of XREADGROUP clients on it.
            self.signal_ready(ctx.db, key);
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

    /// A key changed (Redis's signalModifiedKey): dooms the transactions watching it and
    /// invalidates it for the connections tracking it.
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        // A script's commands run as Redis's Lua client, not as its caller: BCAST NOLOOP
        // does not hide a script's changes from the connection that ran it.
        let by = if self.call_depth > 1 { tracking::SCRIPT_CLIENT } else { self.running };
        self.signal_modified(db, key, by);
    }

    /// [`touch_watched`](Self::touch_watched) naming who changed the key (0: nobody, as
    /// expiry and eviction: BCAST NOLOOP connections hear of it).
    pub fn signal_modified(&mut self, db: usize, key: &[u8], by: u64) {
        if self.tracking.watches_writes() {
            self.tracking_invalidate(key, by, true);
        }
        self.dirty_watchers(db, key);
    }

    /// Marks the transactions WATCHing `key` dirty.
    pub(crate) fn dirty_watchers(&mut self, db: usize, key: &[u8]) {
        if self.watch.by_key.is_empty() {
            return;
        }
        let k = Bytes::copy_from_slice(key);
        let Some(ids) = self.watch.by_key.get(&(db, k.clone())) else { return };
        if self.watch.stale.is_empty() {
            self.watch.dirty.extend(ids.iter().copied());
            return;
        }
        let gone = !self.dbs[db].keys.contains_key(key);
        for id in ids.clone() {
            let entry = (id, db, k.clone());
            if self.watch.stale.contains(&entry) {
                // Watched while already expired: its deletion changes nothing logically.
                if gone {
                    self.watch.stale.remove(&entry);
                }
                continue;
            }
            self.watch.dirty.insert(id);
        }
    }

    /// Dooms the transactions watching keys of `db` (all dbs when None) that exist: FLUSH*.
    pub fn touch_all_watched(&mut self, db: Option<usize>) {
        for d in 0..self.dbs.len() {
            if db.is_none_or(|x| x == d) {
                self.touch_watched_in_db(d, None);
            }
        }
    }

    /// Redis's touchAllWatchedKeysInDb: `emptied` is flushed, or swapped with `replaced_with`
    /// (SWAPDB). A watched key changes if it exists in either; a key watched while expired
    /// that is now gone, or still expired, did not change; a missing key replaced by an
    /// expired one becomes a stale watch.
    pub fn touch_watched_in_db(&mut self, emptied: usize, replaced_with: Option<usize>) {
        self.signal_db_waiters(emptied);
        if self.watch.by_key.is_empty() {
            return;
        }
        let now = crate::util::now_ms();
        let expired_in = |db: &Db, k: &[u8]| db.expires.get(k).is_some_and(|&w| w <= now);
        let (mut doomed, mut now_stale, mut not_stale) = (vec![], vec![], vec![]);
        for ((d, k), ids) in self.watch.by_key.iter() {
            if *d != emptied {
                continue;
            }
            let in_emptied = self.dbs[emptied].keys.contains_key(k);
            let in_other = replaced_with.is_some_and(|r| self.dbs[r].keys.contains_key(k));
            if !in_emptied && !in_other {
                continue;
            }
            let other_expired = replaced_with.is_some_and(|r| expired_in(&self.dbs[r], k));
            for &id in ids {
                let entry = (id, *d, k.clone());
                if self.watch.stale.contains(&entry) {
                    if !in_other {
                        not_stale.push(entry);
                        continue;
                    } else if other_expired {
                        continue;
                    }
                } else if !in_emptied && other_expired {
                    now_stale.push(entry);
                    continue;
                }
                doomed.push(id);
            }
        }
        for e in not_stale {
            self.watch.stale.remove(&e);
        }
        self.watch.stale.extend(now_stale);
        self.watch.dirty.extend(doomed);
    }

    /// Whether a key `client` watches (not already expired when watched) has expired since:
    /// EXEC then fails, as in Redis.
    fn watched_key_expired(&self, client: u64) -> bool {
        let Some(keys) = self.watch.by_client.get(&client) else { return false };
        let now = crate::util::now_ms();
        keys.iter().any(|(db, k)| {
            !self.watch.stale.contains(&(client, *db, k.clone()))
                && self.dbs[*db].expires.get(k).is_some_and(|&w| w <= now)
        })
    }

    pub fn unwatch_all(&mut self, client: u64) {
        self.watch.dirty.remove(&client);
        if let Some(keys) = self.watch.by_client.remove(&client) {
            for k in keys {
                if !self.watch.stale.is_empty() {
                    self.watch.stale.remove(&(client, k.0, k.1.clone()));
                }
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
    fn call(&mut self, cmd: &Cmd, db: &mut usize, client_id: u64, out: &mut Out, in_txn: bool) -> Option<blocking::BlockSpec> {
        let Route::Keyspace(f) = cmd.spec.route else {
            out.error(format!("ERR '{}' cannot run here", cmd.spec.name));
            return None;
        };
        // The role may have changed while the command waited (FAILOVER, REPLICAOF): a replica
        // accepts writes only from its master's stream.
        if self.is_replica && !self.applying_master && !self.txn_continuing && cmd.spec.is_write() && self.shared.hot.replica_read_only.load(Relaxed) {
            out.error("READONLY You can't write against a read only replica.");
            return None;
        }
        // A failed BGSAVE with save points and stop-writes-on-bgsave-error: writes and PING are
        // refused (Sentinel then sees the instance down), except from our master's stream.
        if !self.applying_master
            && self.shared.hot.bgsave_failed.load(Relaxed)
            && (cmd.spec.is_write() || cmd.spec.name == "ping")
            && persist::writes_denied_by_disk_error(&self.shared)
        {
            out.error(persist::MISCONF);
            return None;
        }
        if !self.applying_master && self.aof.write_error.is_some() && (cmd.spec.is_write() || cmd.spec.name == "ping") {
            if let Some(e) = self.aof_write_refusal() {
                out.error(e);
                return None;
            }
        }
        if self.applying_master && cmd.spec.name == "debug" && !self.master_may_debug() {
            // DEBUG is never propagated: only a rogue master sends it. Refused as Redis refuses
            // it to any client (the master link is a client), with the error logged, not sent.
            crate::warning!(self.shared.log, 
                "== CRITICAL == This replica is sending an error to its master: 'DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.' after processing the command 'debug'"
            );
            return None;
        }
        self.blocking.block_argv = None;
        let errors_before = out.error_count;
        let start = self.clock.start();
        let mut ctx = Ctx {
            db: *db,
            out,
            client_id,
            now: self.script_time.unwrap_or_else(|| self.clock.ms_at(start)),
            dirty: 0,
            prop: Vec::new(),
            rewritten: false,
            failed: false,
            block: None,
            force_propagate: false,
            in_txn,
        };
        lru::set_now(ctx.now);
        let prev_running = std::mem::replace(&mut self.running, client_id);
        self.call_depth += 1;
        let tracking_reads = self.tracking.has_readers();
        let script_keys = if tracking_reads && self.call_depth == 1 { Some(self.tracking_script_start(cmd.spec, &cmd.argv)) } else { None };
        // A bug in one command must not kill the keyspace actor (and with it the server):
        // it becomes an error reply and a log line.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self, &mut ctx, &cmd.argv)));
        if tracking_reads || self.tracking.has_readers() {
            self.tracking_after_call(cmd.spec, &cmd.argv, client_id, self.call_depth > 1);
        }
        if let Some(prev) = script_keys {
            self.tracking.script_keys = prev;
        }
        self.call_depth -= 1;
        self.running = prev_running;
        if ran.is_err() {
            crate::warning!(self.shared.log, "== BUG == command '{}' panicked; replied with an error", cmd.spec.name);
            ctx.error(format!("ERR internal error while running '{}'", cmd.spec.name));
        }
        let block = ctx.block.take();
        if self.pubsub.has_monitors() && !cmd.spec.has(self::cmd::ADMIN | self::cmd::SKIP_MONITOR) {
            // After the command, with the db it leaves selected (SELECT shows the new one).
            // Still inside another call: a script's command.
            let by_script = self.call_depth > 0;
            self.feed_monitors(client_id, ctx.db, &cmd.argv, Some(ctx.out), by_script);
        }
        // The keyspace is the only writer of a keyspace command's calls, usec and failed (the
        // client actors count their own commands and the rejections): plain load + store, no
        // locked read-modify-write on every command.
        let stat = crate::keyspace::cmd::stat(&self.shared, cmd.spec, &cmd.argv);
        let bump = |a: &std::sync::atomic::AtomicU64, n: u64| a.store(a.load(Relaxed) + n, Relaxed);
        let end = self.clock.finish();
        let micros = self.clock.micros(start, end);
        // A command that parks its client is counted and logged when it is served, times
        // out or is unblocked, as Redis.
        if block.is_none() || in_txn || self.applying_master {
            bump(&stat.calls, 1);
            bump(&stat.usec, micros);
            self.shared.slowlog_command(client_id, &cmd.argv, micros);
            let spec = cmd.spec;
            let ns = self.clock.nanos(start, end);
            self.shared.record_latency(&stat, spec.has(self::cmd::FAST), ns, true);
        }
        // Failed: it said so, or it answered an error (Redis counts any error reply).
        if ctx.failed || ctx.out.error_count > errors_before {
            bump(&stat.failed, 1);
        }
        self.shared.errorstats.record(&mut ctx.out.errors);
        self.stats.dirty += ctx.dirty;
        // Propagated verbatim: straight from the request when it is all there is to send.
        let mut verbatim = false;
        if ctx.force_propagate && self.feed.wants() {
            verbatim = true;
        } else if ctx.dirty > 0 && !ctx.rewritten && cmd.spec.is_write() && self.feed.wants() {
            if ctx.prop.is_empty() {
                verbatim = true;
            } else {
                ctx.prop.push(cmd.argv.to_vec());
            }
        }
        let start_db = *db;
        *db = ctx.db;
        if ctx.dirty > 0 {
            let child = self.child_active();
            self.dbs[start_db].track_table_growth(child);
            if ctx.db != start_db {
                self.dbs[ctx.db].track_table_growth(child);
            }
        }
        if verbatim {
            self.feed.propagate_argv(start_db, &cmd.argv);
        } else if !ctx.prop.is_empty() {
            let prop = std::mem::take(&mut ctx.prop);
            if matches!(cmd.spec.name, "scan" | "randomkey") && self.call_depth == 0 && !in_txn {
                // Commands that touch arbitrary keys (Redis's CMD_TOUCHES_ARBITRARY_KEYS), run
                // directly: their lazy-expire DELs go out one by one, as active expiry's do.
                for c in prop {
                    self.feed.propagate(start_db, vec![c], in_txn);
                }
            } else {
                self.feed.propagate(start_db, prop, in_txn);
            }
        }
        match block {
            // Inside MULTI (or a master's stream) a blocking command never blocks.
            Some(spec) if in_txn || self.applying_master => {
                if spec.null_array {
                    out.null_array();
                } else {
                    out.null();
                }
                None
            }
            b => b,
        }
    }

    /// Re-runs a parked client's command; Some when it would block again.
    pub(crate) fn call_for_waiter(&mut self, cmd: &Cmd, db: &mut usize, client_id: u64, out: &mut Out) -> Option<blocking::BlockSpec> {
        self.call(cmd, db, client_id, out, false)
    }

    /// Runs a client's items in order, writing replies to `out`. Stops at a command that
    /// blocks: returns its index and the receiver its reply will come through.
    /// Whether DEBUG from our master's stream is allowed: `enable-debug-command yes`, or
    /// `local` with the master at 127.0.0.1 or ::1 (the link is then a local client).
    fn master_may_debug(&self) -> bool {
        let cfg = self.shared.cfg();
        let local = cfg.replicaof().is_some_and(|(h, _)| h == "127.0.0.1" || h == "::1" || h == "localhost");
        cfg.enable_debug_command().allows(local)
    }

    pub fn exec_items(
        &mut self,
        items: &[Item],
        db: &mut usize,
        client_id: u64,
        out: &mut Out,
        client_cmds: &mut Vec<(usize, Cmd)>,
    ) -> Option<(usize, flume::Receiver<blocking::Unblocked>)> {
        self.clock.begin_batch();
        if items.len() > 1 {
            self.prefetch_keys(items, *db);
        }
        let mut blocked = None;
        for (i, item) in items.iter().enumerate() {
            match item {
                Item::Cmd(c) => {
                    if let Some(spec) = self.call(c, db, client_id, out, false) {
                        let rx = self.park(client_id, *db, c, spec, out.resp3);
                        blocked = Some((i, rx));
                        break;
                    }
                }
                Item::Txn(cmds) => self.run_txn(cmds, Some(cmds.len()), db, client_id, out, client_cmds),
                Item::TxnPart { cmds, header, .. } => self.run_txn(cmds, *header, db, client_id, out, client_cmds),
            }
            if self.tracking.client_count() > 0 {
                self.tracking_item_done(item, client_id, out);
            }
            if !self.blocking.ready.is_empty() && !matches!(item, Item::TxnPart { more: true, .. }) {
                self.serve_ready();
            }
        }
        self.clock.end_batch();
        blocked
    }

    /// After a client's command or transaction: the invalidations its own writes caused go
    /// out after its reply, and CLIENT CACHING stops applying (unless this was CLIENT).
    fn tracking_item_done(&mut self, item: &Item, client_id: u64, out: &mut Out) {
        if self.tracking.has_pending() {
            self.tracking_flush_pending(client_id, out);
        }
        if !matches!(item, Item::Cmd(c) if c.spec.name == "client") {
            self.tracking_command_done(client_id);
        }
    }

    /// Starts loading the first key of each command of a pipelined batch into cache, so the
    /// batch's cache misses overlap (a million-key table misses at nearly every lookup).
    fn prefetch_keys(&self, items: &[Item], db: usize) {
        let Some(keys) = self.dbs.get(db).map(|d| &d.keys) else { return };
        for item in items {
            if let Item::Cmd(c) = item {
                if let Some(k) = c.spec.first_key_of(&c.argv).and_then(|i| c.argv.get(i)) {
                    keys.prefetch(k);
                }
            }
        }
    }

    fn run_txn(
        &mut self,
        cmds: &[Cmd],
        header: Option<usize>,
        db: &mut usize,
        client_id: u64,
        out: &mut Out,
        client_cmds: &mut Vec<(usize, Cmd)>,
    ) {
        if let Some(total) = header {
            if self.watch.dirty.contains(&client_id) || self.watched_key_expired(client_id) {
                self.unwatch_all(client_id);
                out.null_array();
                self.txn_aborted = true;
                return;
            }
            self.unwatch_all(client_id);
            out.array(total);
        }
        self.feed.begin_txn();
        // Where replies stop when the client killed itself (Redis closes after that reply).
        let mut cut = None;
        for c in cmds {
            if let Route::Client = c.spec.route {
                if is_client_kill(c) {
                    // It acts on other connections: run it now, in the transaction's order.
                    if cmd::clients::kill_cmd(&self.shared, client_id, out, &c.argv) {
                        cut.get_or_insert(out.buf.len());
                    }
                    crate::keyspace::cmd::stat(&self.shared, c.spec, &c.argv).calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else if c.spec.name == "config" && cmd::config::runs_in_place(&c.argv) {
                    // In the transaction's turn: it stays atomic and is propagated whole.
                    self.config_in_place(client_id, out, &c.argv);
                    crate::keyspace::cmd::stat(&self.shared, c.spec, &c.argv).calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else {
                    client_cmds.push((out.buf.len(), c.clone()));
                }
                continue;
            }
            self.txn_continuing = header.is_none();
            let _ = self.call(c, db, client_id, out, true);
            self.txn_continuing = false;
        }
        self.feed.end_txn();
        if let Some(cut) = cut {
            out.buf.truncate(cut);
            for (at, _) in client_cmds.iter_mut() {
                *at = (*at).min(cut);
            }
        }
    }

    /// The active expire cycle: walks expires segments of each db, deleting what is past its
    /// time, within a time budget (25% of a cron tick, like Redis's slow cycle).
    fn active_expire_cycle(&mut self) {
        if self.active_expire && self.is_replica && !self.replica_own_expires.is_empty() {
            let now = crate::util::now_ms();
            let due: Vec<(usize, Bytes)> = self
                .replica_own_expires
                .iter()
                .filter(|(db, k)| self.dbs[*db].expires.get(k).is_some_and(|&w| w <= now))
                .cloned()
                .collect();
            for (db, k) in due {
                self.replica_own_expires.remove(&(db, k.clone()));
                self.delete_expired(db, &k);
                self.notify_db(None, crate::config::notify::EXPIRED, "expired", &k, db);
            }
        }
        if !self.active_expire || self.is_replica || self.expiry_paused() {
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
            // Passes as Redis's: each looks at about 20 keys with an expire (visiting at most
            // 400 segments, so a sparse table is still covered quickly), and another pass
            // follows while more than a tenth of what was looked at had expired.
            let mut visited = 0;
            let (mut pass_checked, mut pass_expired, mut pass_visited) = (0usize, 0usize, 0usize);
            loop {
                let db = &mut self.dbs[dbi];
                let seg = db.expire_cursor;
                db.expire_cursor = (seg + 1) % segmap::SEGMENTS;
                let due: Vec<Bytes> = db
                    .expires
                    .segment(seg)
                    .filter(|(_, &w)| w <= now)
                    .map(|(k, _)| k.to_bytes())
                    .collect();
                let seg_len = db.expires.segment_len(seg);
                checked += seg_len;
                pass_checked += seg_len;
                for k in due {
                    self.delete_expired(dbi, &k);
                    self.notify_db(None, crate::config::notify::EXPIRED, "expired", &k, dbi);
                    self.feed.propagate(dbi, vec![vec![Bytes::from_static(b"DEL"), k]], false);
                    expired += 1;
                    pass_expired += 1;
                }
                visited += 1;
                pass_visited += 1;
                if visited >= segmap::SEGMENTS || self.dbs[dbi].expires.is_empty() {
                    break;
                }
                if start.elapsed() > budget {
                    self.stats.expired_time_cap_reached_count += 1;
                    break;
                }
                if pass_checked >= 20 || pass_visited >= 400 {
                    if pass_expired * 10 <= pass_checked {
                        break;
                    }
                    (pass_checked, pass_expired, pass_visited) = (0, 0, 0);
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
        self.me = Some(ctx.address().downgrade());
        self.persist.last_save_ms = crate::util::now_ms();
        if self.shared.cfg().flag("appendonly") {
            // With the AOF on, it alone holds the dataset (the RDB is not read), as Redis.
            self.aof_at_start(ctx);
        } else {
            persist::load_at_start(self);
        }
        let hz = self.shared.cfg().hz().clamp(1, 500) as u64;
        ctx.send_interval(Cron, Duration::from_millis(1000 / hz));
        Ok(())
    }
}

#[async_trait]
impl Handler<Exec> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Exec) -> ExecDone {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client_id), "keyspace", "Exec({})", item_names(&msg.items));
        if self.shared.script.cancelled_count.load(Relaxed) > 0 && self.exec_cancelled(msg.client_id, msg.seq) {
            return ExecDone { out: msg.out, db: msg.db, repl_offset: 0, items: Vec::new(), rare: None };
        }
        let mut out = Out::with_buf(msg.out, msg.resp3);
        let lent = out.buf.len();
        let mut db = msg.db;
        let mut client_cmds = Vec::new();
        self.txn_aborted = false;
        self.exec_client = msg.client_id;
        // Over tracking-table-max-keys: keys leave the table before the commands run (their
        // invalidations, this client's included, precede the replies), as Redis's
        // processCommand.
        if self.tracking.key_count() > 0 {
            self.tracking_limit();
        }
        if msg.pushes {
            let target = match self.pubsub.push_target(msg.client_id) {
                Some(m) => Some(m.clone()),
                None => self.invalidation_target(msg.client_id),
            };
            if let Some(m) = target {
                m.push.drain_into(&mut out.buf);
                self.exec_pushes.extend_from_slice(&out.buf[lent..]);
            }
        }
        let offset_before = self.feed.offset();
        let dirty_before = self.stats.dirty;
        self.ldb_link = msg.ldb.map(|l| *l);
        let blocked = self.exec_items(&msg.items, &mut db, msg.client_id, &mut out, &mut client_cmds);
        self.ldb_link = None;
        // Writes that took memory over maxmemory: evict now (the allocator is read fresh),
        // so the next command, and INFO, see memory within the limit. Not between the pieces
        // of a transaction that has connection commands (its DELs would land inside it).
        if self.stats.dirty != dirty_before
            && self.shared.hot.maxmemory.load(Relaxed) > 0
            && !msg.items.iter().any(|i| matches!(i, Item::TxnPart { .. }))
        {
            self.evict_round(ctx);
        }
        // BCAST invalidations of this batch (Redis sends them before it sleeps again).
        self.tracking_broadcast(Some((msg.client_id, &mut out)));
        self.flush_feed_soon(ctx);
        if self.aof.fatal {
            // The AOF could not take these writes and the server is exiting: no reply says
            // they were done.
            out.buf.clear();
        }
        let mut items = msg.items;
        let blocked = blocked.map(|(i, rx)| (rx, items.split_off(i + 1)));
        items.clear();
        // WAIT counts from the client's last propagated write (Redis's `woff`): only an Exec
        // that produced stream bytes moves it.
        let repl_offset = if self.feed.offset() != offset_before { self.feed.offset() } else { 0 };
        if repl_offset > 0 {
            crate::trace_reply!(self.shared.log, "keyspace", format_args!("client:{}", msg.client_id), "ExecDone(offset={}) {{off={}}}", repl_offset, repl_offset);
        }
        self.exec_client = 0;
        self.shared.errorstats.record(&mut out.errors);
        let pushes = if self.exec_pushes.is_empty() { BytesMut::new() } else { self.exec_pushes.split() };
        let rare = (!client_cmds.is_empty() || blocked.is_some() || self.txn_aborted || !pushes.is_empty())
            .then(|| Box::new(ExecRare { client_cmds, blocked, txn_aborted: self.txn_aborted, pushes }));
        ExecDone { out: out.buf, db, repl_offset, items, rare }
    }
}

impl Keyspace {
    /// Whether the client already answered this Exec with -BUSY (it waited behind a script).
    fn exec_cancelled(&self, client: u64, seq: u64) -> bool {
        let sc = &self.shared.script;
        let Ok(mut set) = sc.cancelled.lock() else { return false };
        let hit = set.remove(&(client, seq));
        if set.len() > 10_000 {
            set.clear();
        }
        sc.cancelled_count.store(set.len() as u64, Relaxed);
        hit
    }
}

/// The commands of a batch as the trace shows them: `SET, INCR, MULTI[SET, DEL]`, at most
/// eight.
fn item_names(items: &[Item]) -> String {
    let mut names: Vec<String> = items
        .iter()
        .take(8)
        .map(|i| match i {
            Item::Cmd(c) => c.spec.name.to_ascii_uppercase(),
            Item::Txn(cmds) | Item::TxnPart { cmds, .. } => {
                format!("MULTI[{}]", cmds.iter().map(|c| c.spec.name.to_ascii_uppercase()).collect::<Vec<_>>().join(", "))
            }
        })
        .collect();
    if items.len() > 8 {
        names.push(format!("... {} more", items.len() - 8));
    }
    names.join(", ")
}

/// Hand the stream produced so far to the backlog (queued behind the messages already in the
/// mailbox, so a burst of batches reaches the backlog and the replicas as one piece).
pub struct FlushFeed;
impl Message for FlushFeed {
    type Result = ();
}

impl Keyspace {
    /// Flushes the feed once the messages already queued are handled.
    pub fn flush_feed_soon(&mut self, ctx: &mut Context<Self>) {
        // The AOF is written (and fsynced with `appendfsync always`) before the replies go.
        if self.feed.aof.is_some() {
            self.flush_aof(false);
        }
        if self.feed.has_pending() && !self.flush_queued {
            self.flush_queued = true;
            let _ = ctx.address().send(FlushFeed);
        }
    }
}

#[async_trait]
impl Handler<FlushFeed> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: FlushFeed) {
        crate::trace_msg!(self.shared.log, "keyspace", "keyspace", "FlushFeed {{off={}}}", self.feed.offset);
        self.flush_queued = false;
        self.feed.flush();
    }
}

#[async_trait]
impl Handler<ReaderGone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ReaderGone) {
        crate::trace_msg!(self.shared.log, "reader", "keyspace", "ReaderGone(client:{})", msg.0);
        let _ = self.unpark(msg.0);
    }
}

#[async_trait]
impl Handler<ClientGone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ClientGone) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.0), "keyspace", "ClientGone");
        self.unwatch_all(msg.0);
        // Gone: nothing to answer, and the call is not counted (as Redis frees it).
        let _ = self.unpark(msg.0);
        self.pubsub.remove_client(msg.0);
        self.tracking_forget(msg.0);
        self.shared.hot.monitors.store(self.pubsub.monitor_total() as u64, Relaxed);
    }
}

/// Evict keys now if memory is over `maxmemory` (a client about to run a command, CONFIG SET
/// maxmemory); answers whether the command may run: false when memory stays over the limit
/// with nothing left to evict (or `noeviction`).
pub struct Evict;
impl Message for Evict {
    type Result = bool;
}

/// Eviction whose time budget ran out continues (Redis's eviction time proc).
pub struct EvictMore;
impl Message for EvictMore {
    type Result = ();
}

impl Keyspace {
    /// Runs a round of eviction; one that ran out of time continues from the mailbox.
    fn evict_round(&mut self, ctx: &mut Context<Self>) -> evict::Outcome {
        let outcome = self.perform_evictions();
        if outcome == evict::Outcome::Running && !self.evictor.more_queued {
            self.evictor.more_queued = true;
            let _ = ctx.address().send(EvictMore);
        }
        self.flush_feed_soon(ctx);
        outcome
    }
}

#[async_trait]
impl Handler<Evict> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, _msg: Evict) -> bool {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "Evict");
        let may_run = self.evict_round(ctx) != evict::Outcome::Fail;
        self.tracking_broadcast(None);
        may_run
    }
}

#[async_trait]
impl Handler<EvictMore> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, _msg: EvictMore) {
        self.evictor.more_queued = false;
        self.evict_round(ctx);
        self.tracking_broadcast(None);
    }
}

#[async_trait]
impl Handler<Cron> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, _msg: Cron) {
        crate::trace_msg!(self.shared.log, "timer", "keyspace", "Cron");
        if self.cron_paused {
            self.feed.flush();
            return;
        }
        self.shared.take_signalled_shutdown();
        self.load_pending_aof();
        self.clock.resync();
        // A blocking load stands for Redis's main thread inside its load loop, where
        // serverCron does not run: the watchdog sees the server stalled.
        if !self.shared.loading.load(Relaxed) || self.shared.async_loading.load(Relaxed) {
            self.shared.cron_stamp.store(crate::util::now_ms() as u64, Relaxed);
        }
        memory::note_usage(&self.shared, info::used_memory_cached());
        let started = Instant::now();
        self.active_expire_cycle();
        self.shared.latency_event("expire-cycle", started.elapsed().as_millis() as u64);
        // Connections over maxmemory-clients go before keys, as Redis evicts them first.
        evict::evict_clients(&self.shared);
        if self.shared.hot.maxmemory.load(Relaxed) > 0 && !self.evictor.more_queued {
            self.evict_round(ctx);
        }
        if self.tracking.key_count() > 0 {
            self.tracking_limit();
        }
        self.tracking_broadcast(None);
        self.expire_waiters(crate::util::now_ms());
        if self.jobs.in_progress() {
            self.cancel_jobs(false);
        }
        self.start_scheduled_bgsave();
        if !self.child_active() {
            self.dbs.iter_mut().for_each(Db::track_table_shrink);
        }
        self.cron_ticks += 1;
        let hz = self.shared.cfg().hz().clamp(1, 500) as u64;
        let once_a_second = self.cron_ticks.is_multiple_of(hz);
        self.aof_cron(once_a_second);
        if once_a_second {
            self.feed.cron(&self.shared, self.cron_ticks / hz);
            // Forgets the WAITOFFSET waiters that gave up (and answers any a history change
            // outside the stream handlers settled).
            self.feed.answer_offset_waiters();
            self.verify_cron();
            self.expire_resumable();
            self.start_pending(false).await;
            self.save_points_cron();
        }
        self.feed.flush();
    }
}

#[async_trait]
impl Handler<Unwatch> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Unwatch) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.0), "keyspace", "Unwatch");
        self.unwatch_all(msg.0);
    }
}

#[async_trait]
impl Handler<ResetStats> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: ResetStats) {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "ResetStats");
        let dirty = self.stats.dirty;
        self.stats = KsStats { dirty, ..KsStats::default() };
        self.feed.stats = Default::default();
    }
}

#[async_trait]
impl Handler<SetBacklog> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetBacklog) {
        self.feed.sink = Some(msg.0);
        self.resume_restored_history();
    }
}

impl Keyspace {
    /// A master restarted from an RDB with replication info keeps its history: once both the
    /// load is done and the backlog exists (either may come first), the backlog starts at the
    /// restored offset, then the keys that expired while we were down go out as DELs.
    pub(crate) fn resume_restored_history(&mut self) {
        if !self.feed.active || self.feed.sink.is_none() {
            return;
        }
        self.feed.restart_backlog(self.feed.offset);
        for (db, key) in std::mem::take(&mut self.persist.load.expired) {
            self.feed.propagate(db, vec![vec![Bytes::from_static(b"DEL"), key]], false);
        }
        self.feed.flush();
    }
}

/// `CLIENT UNBLOCK <id> [TIMEOUT|ERROR]`: true when the client was blocked.
pub struct UnblockClient {
    pub id: u64,
    pub error: bool,
}
impl Message for UnblockClient {
    type Result = bool;
}

#[async_trait]
impl Handler<UnblockClient> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: UnblockClient) -> bool {
        crate::trace_msg!(self.shared.log, "client", "keyspace", "UnblockClient({})", msg.id);
        let err = msg.error.then_some("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        self.unblock(msg.id, err)
    }
}

/// CLIENT KILL with its arguments (run by the keyspace inside transactions).
fn is_client_kill(c: &Cmd) -> bool {
    c.spec.name == "client" && c.argv.len() >= 3 && c.argv[1].eq_ignore_ascii_case(b"kill")
}
