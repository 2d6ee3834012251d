//! State one server instance shares between its actors: configuration, statistics, the
//! client registry and the replication state the replication actors publish ([`repl`]).
//! Never process-global: several servers live in one process in tests and embedding, each
//! with its own `Shared`. Plain data only: no actor addresses (those are passed where needed).

pub mod errorstats;
pub mod gate;
pub mod latency;
pub mod acl;
pub mod push;
pub mod slowlog;
pub mod watchdog;
pub mod repl;

use crate::config::Config;
pub use repl::{ReplShared, REPL_BLOCK, REPL_BLOCK_OVERHEAD};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

/// Counters shown by INFO stats / clients.
#[derive(Default)]
pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub net_repl_input_bytes: AtomicU64,
    pub net_repl_output_bytes: AtomicU64,
    pub connected_clients: AtomicU64,
    pub blocked_clients: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub client_qbuf_limit_disconnections: AtomicU64,
    /// Keys handed to a background thread to free, not freed yet (INFO lazyfree_pending_objects).
    pub lazyfree_pending_objects: AtomicU64,
    /// Keys freed in the background (INFO lazyfreed_objects).
    pub lazyfreed_objects: AtomicU64,
    /// Connections closed by `maxmemory-clients` (INFO evicted_clients).
    pub evicted_clients: AtomicU64,
    /// Save children forked (INFO total_forks) and how long the last fork took.
    pub total_forks: AtomicU64,
    pub latest_fork_usec: AtomicU64,
    /// Copy-on-write bytes of the last RDB child at its end.
    pub rdb_last_cow_size: AtomicU64,
    /// The most memory in use seen (INFO used_memory_peak).
    pub peak_memory: AtomicU64,
    /// Memory in use once the server was set up, before any data (used_memory_startup).
    pub startup_memory: AtomicU64,
}

/// Per-command counters (INFO commandstats), indexed like the command table.
#[derive(Default)]
pub struct CmdStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    /// LATENCY HISTOGRAM's distribution (`latency-tracking`).
    pub hist: latency::Histogram,
}

/// A command's counters: its own entry of the table, or a subcommand's.
pub enum Stat<'a> {
    Top(&'a CmdStat),
    Sub(Arc<CmdStat>),
}

impl std::ops::Deref for Stat<'_> {
    type Target = CmdStat;
    fn deref(&self) -> &CmdStat {
        match self {
            Stat::Top(s) => s,
            Stat::Sub(s) => s,
        }
    }
}

/// What CLIENT LIST shows of a connection, updated by its actor.
pub struct ClientMeta {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub created: Instant,
    pub last_interaction: Mutex<Instant>,
    pub name: Mutex<Option<bytes::Bytes>>,
    pub db: AtomicU64,
    /// Index in the command table of the last command (usize::MAX: none yet).
    pub last_cmd: std::sync::atomic::AtomicUsize,
    /// `container|sub` of the last container command (CLIENT LIST shows it).
    pub last_sub: Mutex<String>,
    pub multi: AtomicI64,
    pub resp: AtomicU64,
    /// Query buffer: bytes read and not yet parsed into requests (the reader's count)...
    pub qbuf: AtomicU64,
    /// What the reader's buffer has allocated beyond `qbuf` (CLIENT LIST's qbuf-free; the
    /// client's memory counts it, as Redis counts its query buffer's allocation).
    pub qbuf_free: AtomicU64,
    /// ...and those of the batch being run (the client actor's), as Redis's query buffer
    /// holds the commands being run until the whole read is processed.
    pub qbuf_batch: AtomicU64,
    /// Batches between the reader and the client actor.
    pub gate: gate::ReaderGate,
    /// The peer closed the connection (the reader hit the end of the stream or an error): a
    /// command blocked for it is dropped at once, as Redis frees such a client.
    pub eof: AtomicBool,
    /// Output bytes held for the client (replies being written; for a replica, what it pins
    /// of the replication buffer).
    pub omem: AtomicU64,
    /// CLIENT NO-EVICT on: never closed by `maxmemory-clients`.
    pub no_evict: AtomicBool,
    pub tot_net_in: AtomicU64,
    pub tot_net_out: AtomicU64,
    pub tot_cmds: AtomicU64,
    pub is_replica: AtomicBool,
    pub is_master: AtomicBool,
    pub killed: AtomicBool,
    pub authenticated: AtomicBool,
    /// The ACL user the connection runs as.
    pub user: Mutex<String>,
    /// Frames pushed to this connection (Pub/Sub messages, notifications, MONITOR lines).
    pub push: push::PushQueue,
    /// Subscriptions (channels, patterns, shard channels), kept by the keyspace, which owns
    /// the channel table; CLIENT LIST shows them, the client actor checks them for RESP2's
    /// subscribed context.
    pub subs: AtomicU64,
    pub psubs: AtomicU64,
    pub ssubs: AtomicU64,
    /// MONITOR is on for this connection.
    pub monitor: AtomicBool,
    /// Blocked: waiting on keys (BLPOP, ...) or held by CLIENT PAUSE (CLIENT LIST flag `b`).
    pub blocked: AtomicBool,
    /// Whether the peer counts as local for `enable-*-command local` and
    /// `enable-protected-configs local`: a Unix socket, or TCP from exactly 127.0.0.1 or ::1
    /// (Redis's `islocalClient`).
    pub local: bool,
    /// CLIENT TRACKING state ([`track`] bits), kept by the keyspace (which owns the tracking
    /// table); CLIENT LIST shows it, the client actor clears `CACHING` after its own commands.
    pub tracking: AtomicU32,
    /// The client tracking invalidations are redirected to (0: none), while tracking is on.
    pub tracking_redir: AtomicU64,
    /// Invalidations may be pushed to this connection (it tracks keys, or another client
    /// redirects to it): its batches take pushed frames first, so they precede the replies.
    pub gets_invalidations: AtomicBool,
    /// A Lua debugging session runs for this connection: the reader forwards what it reads
    /// here, unparsed (the debugger parses its commands itself).
    pub ldb_input: Mutex<Option<flume::Sender<bytes::Bytes>>>,
    /// `ldb_input` holds a sender (the reader checks this before taking the lock).
    pub ldb_on: AtomicBool,
}

/// CLIENT TRACKING flags of a connection (`ClientMeta::tracking`), as Redis's client flags.
pub mod track {
    pub const ON: u32 = 1;
    pub const BCAST: u32 = 2;
    pub const OPTIN: u32 = 4;
    pub const OPTOUT: u32 = 8;
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) given for the next command.
    pub const CACHING: u32 = 16;
    pub const NOLOOP: u32 = 32;
    /// The redirection client went away.
    pub const BROKEN_REDIR: u32 = 64;
}

impl ClientMeta {
    /// Subscribed to any channel, pattern or shard channel (Redis's `CLIENT_PUBSUB`).
    pub fn in_pubsub(&self) -> bool {
        self.subs.load(Relaxed) + self.psubs.load(Relaxed) + self.ssubs.load(Relaxed) > 0
    }

    /// A new connection's metadata; `master` marks the link to our master.
    pub fn new(id: u64, addr: String, laddr: String, master: bool) -> Self {
        let now = Instant::now();
        let local = peer_is_local(&addr);
        ClientMeta {
            id,
            addr,
            laddr,
            fd: 8 + id as i64,
            created: now,
            last_interaction: Mutex::new(now),
            name: Mutex::new(None),
            db: Default::default(),
            last_cmd: usize::MAX.into(),
            last_sub: Mutex::new(String::new()),
            multi: (-1).into(),
            resp: 2.into(),
            qbuf: Default::default(),
            qbuf_free: Default::default(),
            qbuf_batch: Default::default(),
            gate: Default::default(),
            eof: Default::default(),
            omem: Default::default(),
            no_evict: Default::default(),
            tot_net_in: Default::default(),
            tot_net_out: Default::default(),
            tot_cmds: Default::default(),
            is_replica: Default::default(),
            is_master: master.into(),
            killed: Default::default(),
            authenticated: master.into(),
            user: Mutex::new("default".to_string()),
            push: push::PushQueue::new(),
            subs: Default::default(),
            psubs: Default::default(),
            ssubs: Default::default(),
            monitor: Default::default(),
            blocked: Default::default(),
            local,
            tracking: Default::default(),
            tracking_redir: Default::default(),
            gets_invalidations: Default::default(),
            ldb_input: Mutex::new(None),
            ldb_on: AtomicBool::new(false),
        }
    }
}

/// Redis's `islocalClient` from the peer address as CLIENT LIST shows it: TCP from exactly
/// 127.0.0.1 or ::1, or a Unix socket (its "address" is a path, not an IP).
fn peer_is_local(addr: &str) -> bool {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip() == std::net::Ipv4Addr::LOCALHOST || a.ip() == std::net::Ipv6Addr::LOCALHOST,
        Err(_) => !addr.is_empty(),
    }
}

/// A registered connection: its metadata and a way to ask it to close.
pub struct ClientEntry {
    pub meta: Arc<ClientMeta>,
    pub kill: Box<dyn Fn() + Send + Sync>,
}

/// A connection held by a pause: counted in `blocked_clients` and flagged blocked (`b` in
/// CLIENT LIST), as Redis's postponed clients, until dropped.
pub struct Postponed<'a> {
    count: &'a AtomicU64,
    flag: &'a AtomicBool,
}

impl<'a> Postponed<'a> {
    pub fn new(count: &'a AtomicU64, flag: &'a AtomicBool) -> Self {
        count.fetch_add(1, Relaxed);
        flag.store(true, Relaxed);
        Postponed { count, flag }
    }
}

impl Drop for Postponed<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Relaxed);
        self.flag.store(false, Relaxed);
    }
}

/// Pause state for CLIENT PAUSE (deadline in ms since the epoch, and whether all or only
/// writes are paused).
#[derive(Default)]
pub struct Pause {
    pub until_ms: AtomicI64,
    pub all: AtomicBool,
    /// Writes paused by FAILOVER until it ends.
    pub failover: AtomicBool,
    /// Clients holding commands back until a pause changes (woken by [`Pause::wake`]).
    waiters: Mutex<Vec<flume::Sender<()>>>,
}

impl Pause {
    /// Whether a pause may hold commands (checked per batch before the slower look).
    pub fn maybe_set(&self) -> bool {
        self.failover.load(Relaxed) || self.until_ms.load(Relaxed) != 0
    }

    /// A wake-up for the next change of the pause (register, then check the pause again).
    pub fn waiter(&self) -> flume::Receiver<()> {
        let (tx, rx) = flume::bounded(1);
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        w.retain(|t| !t.is_disconnected());
        w.push(tx);
        rx
    }

    /// How long the pause still holds commands (`writes`: some of them write or may
    /// propagate); None when it does not hold them.
    pub fn held(&self, writes: bool) -> Option<std::time::Duration> {
        let failover = writes && self.failover.load(Relaxed);
        let until = self.until_ms.load(Relaxed);
        // The clock is read only while a pause is set (this runs for every batch).
        let left = if until != 0 { until - crate::util::now_ms() } else { 0 };
        let timed = left > 0 && (writes || self.all.load(Relaxed));
        match (failover, timed) {
            (false, false) => None,
            // The failover's bound is only a safety net: its end wakes the waiters.
            (true, _) => Some(std::time::Duration::from_secs(1)),
            (false, true) => Some(std::time::Duration::from_millis(left as u64)),
        }
    }

    /// Waits until the pause no longer holds such commands: woken when the pause changes
    /// (UNPAUSE, a new PAUSE, the failover's end) or when its time is up; no polling.
    pub async fn released(&self, writes: bool) {
        while self.held(writes).is_some() {
            let woken = self.waiter();
            // Looked at again after registering, so a change in between is not missed.
            let Some(wait) = self.held(writes) else { return };
            let _ = crate::rt::timeout(wait.min(std::time::Duration::from_secs(1)), woken.recv_async()).await;
        }
    }

    /// The pause changed (CLIENT PAUSE/UNPAUSE, a FAILOVER ended): waiting clients look again.
    pub fn wake(&self) {
        for tx in self.waiters.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = tx.try_send(());
        }
    }
}

/// Options of SHUTDOWN (signals use the defaults).
#[derive(Default, Debug, Clone)]
pub struct ShutdownRequest {
    /// SHUTDOWN NOSAVE: no final save even with save points.
    pub nosave: bool,
    /// SHUTDOWN SAVE: a final save even without save points.
    pub save: bool,
    /// SHUTDOWN NOW: do not wait for lagging replicas.
    pub now: bool,
    /// SHUTDOWN FORCE: exit even when the final save fails.
    pub force: bool,
    /// SHUTDOWN ABORT: cancel a shutdown in progress.
    pub abort: bool,
    /// Set for SIGTERM/SIGINT (only changes the log line).
    pub signal: Option<&'static str>,
    /// Told whether the shutdown goes on (true) or was given up (false: the final save
    /// failed), for the SHUTDOWN command's reply.
    pub outcome: Option<flume::Sender<bool>>,
}

/// A script running past `busy-reply-threshold`, as the keyspace publishes it to the
/// connections (which answer -BUSY meanwhile, and take SCRIPT KILL / FUNCTION KILL).
#[derive(Default)]
pub struct ScriptBusy {
    /// 0: none; 1: an EVAL script; 2: a function.
    pub busy: std::sync::atomic::AtomicU8,
    /// The client whose script it is (it waits for its reply, not -BUSY).
    pub client: AtomicU64,
    /// The busy script has written (it cannot be killed).
    pub wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked the busy script to stop.
    pub kill: AtomicBool,
    /// Exec messages (client id, sequence) whose clients answered -BUSY while they waited in
    /// the keyspace's mailbox behind the script: the keyspace drops them.
    pub cancelled: Mutex<std::collections::HashSet<(u64, u64)>>,
    pub cancelled_count: AtomicU64,
    /// Execs holding a script sent and not answered yet: while there are any, a client
    /// waiting for the keyspace watches for a busy script (else it just waits).
    pub in_flight: AtomicU64,
    /// The busy function, for FUNCTION STATS (answered by the connections meanwhile).
    pub running: Mutex<Option<RunningScript>>,
    /// Notified when a script turns busy: the clients waiting behind it answer -BUSY.
    pub turned_busy: crate::rt::Signal,
}

/// A function past busy-reply-threshold, as FUNCTION STATS shows it.
pub struct RunningScript {
    pub name: String,
    pub argv: Vec<bytes::Bytes>,
    pub started: std::time::Instant,
    pub libraries: u64,
    pub functions: u64,
}

/// Settings read on hot paths, copied out of the config table (refreshed by CONFIG SET).
#[derive(Default)]
pub struct Hot {
    /// `tracking-table-max-keys` (0: no limit).
    pub tracking_max_keys: AtomicU64,
    pub proto_max_bulk_len: AtomicI64,
    pub query_buffer_limit: AtomicU64,
    pub min_replicas_to_write: AtomicU64,
    pub min_replicas_max_lag: AtomicU64,
    pub replica_read_only: AtomicBool,
    pub replica_serve_stale_data: AtomicBool,
    /// `maxmemory-clients` as configured (negative: a percentage of maxmemory; 0: off).
    pub maxmemory_clients: AtomicI64,
    /// `busy-reply-threshold` in ms (read by every script run).
    pub busy_reply_threshold: AtomicU64,
    pub maxmemory: AtomicU64,
    /// `maxmemory-policy` (a [`Policy`] as u8), read at every key lookup (LFU counting).
    pub maxmemory_policy: std::sync::atomic::AtomicU8,
    pub lfu_log_factor: AtomicU64,
    pub lfu_decay_time: AtomicU64,
    /// `replica-ignore-maxmemory`.
    pub replica_ignore_maxmemory: AtomicBool,
    /// Encoding thresholds of hashes and sets (checked on every HSET/SADD).
    pub hash_max_listpack_entries: AtomicU64,
    pub hash_max_listpack_value: AtomicU64,
    pub set_max_intset_entries: AtomicU64,
    /// Sorted sets' listpack thresholds (checked on every ZADD/GEOADD).
    pub zset_max_listpack_entries: AtomicU64,
    pub zset_max_listpack_value: AtomicU64,
    /// Largest sparse HyperLogLog before it turns dense (checked on every PFADD).
    pub hll_sparse_max_bytes: AtomicU64,
    /// `notify-keyspace-events` as class bits (checked by every write).
    pub notify_flags: std::sync::atomic::AtomicU32,
    /// Connections in MONITOR mode (kept by the keyspace; connection commands are fed to
    /// it only while some exist).
    pub monitors: AtomicU64,
    /// `client-output-buffer-limit pubsub` (hard bytes, soft bytes, soft seconds), checked
    /// at every message a subscriber is sent.
    pub pubsub_limit: [AtomicU64; 3],
    /// `client-output-buffer-limit normal`, likewise (checked when replies are queued).
    pub normal_limit: [AtomicU64; 3],
    /// The last SAVE/BGSAVE failed (with `stop-writes-on-bgsave-error` and save points,
    /// writes and PING get -MISCONF until a save succeeds, as Redis).
    pub bgsave_failed: AtomicBool,
    /// `slowlog-log-slower-than` (microseconds; negative: off) and `slowlog-max-len`,
    /// checked after every command.
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicU64,
    /// `latency-monitor-threshold` (ms; 0: off) and `latency-tracking`.
    pub latency_threshold_ms: AtomicU64,
    pub latency_tracking: AtomicBool,
}

/// `maxmemory-policy`, as Redis's `MAXMEMORY_*` values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    const ALL: [Policy; 8] = [
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllkeysLru,
        Policy::AllkeysLfu,
        Policy::AllkeysRandom,
        Policy::NoEviction,
    ];
    pub fn from_name(name: &str) -> Policy {
        Self::ALL.into_iter().find(|p| p.name() == name).unwrap_or(Policy::NoEviction)
    }
    pub fn name(self) -> &'static str {
        match self {
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::NoEviction => "noeviction",
        }
    }
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }
    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }
    /// Candidates are the keys with a TTL only.
    pub fn is_volatile(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }
}

impl Hot {
    /// `maxmemory-policy` as last refreshed.
    pub fn policy(&self) -> Policy {
        Policy::ALL.get(self.maxmemory_policy.load(Relaxed) as usize).copied().unwrap_or(Policy::NoEviction)
    }

    /// `client-output-buffer-limit normal` as last refreshed.
    pub fn normal_limit(&self) -> crate::config::ObufLimit {
        crate::config::ObufLimit {
            hard_limit_bytes: self.normal_limit[0].load(Relaxed),
            soft_limit_bytes: self.normal_limit[1].load(Relaxed),
            soft_limit_seconds: self.normal_limit[2].load(Relaxed),
        }
    }

    /// `client-output-buffer-limit pubsub` as last refreshed.
    pub fn pubsub_limit(&self) -> crate::config::ObufLimit {
        crate::config::ObufLimit {
            hard_limit_bytes: self.pubsub_limit[0].load(Relaxed),
            soft_limit_bytes: self.pubsub_limit[1].load(Relaxed),
            soft_limit_seconds: self.pubsub_limit[2].load(Relaxed),
        }
    }
}

pub struct Shared {
    /// This server's logger (role letter, verbosity, trace flag, output).
    pub log: Arc<crate::logging::ServerLog>,
    /// Replication events for the embedding application.
    pub events: crate::events::EventBus,
    pub hot: Hot,
    pub repl: ReplShared,
    pub config: RwLock<Config>,
    pub stats: Stats,
    pub cmd_stats: Vec<CmdStat>,
    pub clients: Mutex<HashMap<u64, ClientEntry>>,
    /// SLOWLOG's entries.
    pub slowlog: Mutex<slowlog::SlowLog>,
    /// INFO errorstats and `total_error_replies`.
    pub errorstats: errorstats::ErrorStats,
    /// LATENCY's monitor events.
    pub latency: Mutex<latency::Monitor>,
    /// Latency histograms of container subcommands (`config|get`), by full name.
    pub sub_stats: Mutex<HashMap<String, Arc<CmdStat>>>,
    pub next_client_id: AtomicU64,
    pub started: Instant,
    pub run_id: String,
    /// The port actually bound (port 0 in the config picks a free one).
    pub port: AtomicU64,
    pub pause: Pause,
    pub config_file: Option<std::path::PathBuf>,
    /// Set once shutdown has begun: new commands are refused.
    pub shutting_down: AtomicBool,
    pub lastsave_unix: AtomicI64,
    /// The pid of the forked child writing a BGSAVE, 0 when none (shutdown stops it and
    /// removes its temporary file).
    pub save_child: std::sync::atomic::AtomicI32,
    /// The pid of the forked child rewriting the AOF, 0 when none.
    pub aof_child: std::sync::atomic::AtomicI32,
    /// The listening sockets' descriptors (shutdown stops them before clients are closed).
    pub listen_fds: std::sync::Mutex<Vec<i32>>,
    /// A shutdown signal the cron has not acted on yet (Redis's shutdown_asap).
    pub shutdown_asap: std::sync::Mutex<Option<ShutdownRequest>>,
    /// A shutdown is being carried out (its final save runs).
    pub shutdown_started: AtomicBool,
    /// DEBUG PAUSE-CRON is on (a signalled shutdown then waits for the cron).
    pub cron_paused: AtomicBool,
    /// Why the server stopped on its own, if it did (see [`Shared::fail`]).
    pub fatal: std::sync::Mutex<Option<String>>,
    /// The latest save child's progress while it runs, and the keys of its snapshot (INFO's
    /// current_* fields).
    pub save_progress: std::sync::Mutex<Option<Arc<crate::util::fork::Progress>>>,
    pub save_keys_total: AtomicU64,
    pub executable: String,
    /// True while this server is a replica (ROLE, HELLO, read-only checks): the role the
    /// MasterLink actor decided, published by the keyspace when it applies it.
    pub is_replica: AtomicBool,
    /// SHUTDOWN requests reach the server's supervisor through this channel.
    pub shutdown_tx: flume::Sender<ShutdownRequest>,
    pub shutdown_rx: flume::Receiver<ShutdownRequest>,
    /// ACL users and the ACL LOG (`client::acl` fills and checks them).
    pub acl: RwLock<acl::Acl>,
    /// Whether some user is restricted: the permission check runs only then (read on every
    /// command, without the lock).
    pub acl_active: AtomicBool,
    /// The `requirepass` last given to the default user (CONFIG SET requirepass changes the
    /// default user's password, as in Redis).
    requirepass_applied: Mutex<Option<Option<Vec<u8>>>>,
    /// The ACL check of commands scripts call (set by the client layer, which knows the
    /// rules): Some(error) when the caller's user may not run it.
    pub acl_script_check: std::sync::OnceLock<AclScriptCheck>,
    /// `rename-command` directives (fixed at start).
    pub renames: Renames,
    /// The server's listener, for CONFIG SET port (set once it runs).
    pub listener: std::sync::OnceLock<Box<dyn ListenerControl>>,
    /// When (unix seconds) the cross-protocol warning was last logged (once a minute at most).
    pub security_warning_at: AtomicI64,
    /// An RDB is being loaded (the file at start, or a master's in a full sync with
    /// `repl-diskless-load swapdb|on-empty-db`): commands without the `loading` flag get
    /// `-LOADING`.
    pub loading: AtomicBool,
    /// The load is asynchronous (a full sync from the master whose history we hold, with
    /// `repl-diskless-load swapdb`): the old data is served meanwhile, and only the commands
    /// flagged `no_async_loading` get `-LOADING`.
    pub async_loading: AtomicBool,
    /// When (ms) the keyspace last ran its cron as Redis's serverCron runs (not while a script
    /// or a command holds it, nor during a blocking load): what the watchdog checks.
    pub cron_stamp: AtomicU64,
    /// Dropped with the server: the watchdog thread ends at once.
    _watchdog_stop: flume::Sender<()>,
    /// Bytes of the RDB file loaded so far (while `loading`).
    pub loading_bytes: Arc<AtomicU64>,
    /// The AOF is loading: clients are answered -LOADING at once (Redis serves them from its
    /// first command on, not every `loading-process-events-interval-bytes`).
    pub loading_aof: AtomicBool,
    /// The long script in progress, if any.
    pub script: ScriptBusy,
}

/// The commands `rename-command` renamed: a client's command name is looked up here first.
#[derive(Default)]
pub struct Renames {
    /// New name (lowercase) -> the command's own name.
    by_new: HashMap<Vec<u8>, Vec<u8>>,
    /// Own names (lowercase) no longer reachable under them.
    hidden: std::collections::HashSet<Vec<u8>>,
}

impl Renames {
    /// From the config's (command, new name) pairs; an empty new name disables the command.
    pub fn new(pairs: &[(Vec<u8>, Vec<u8>)]) -> Self {
        let mut r = Renames::default();
        for (old, new) in pairs {
            let old = old.to_ascii_lowercase();
            r.hidden.insert(old.clone());
            if !new.is_empty() {
                r.by_new.insert(new.to_ascii_lowercase(), old);
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.hidden.is_empty()
    }

    /// The name to look up for what a client sent: Err(()) when it names a command only by
    /// a name it was renamed away from (or disabled).
    pub fn resolve<'a>(&'a self, name: &'a [u8]) -> Result<&'a [u8], ()> {
        let lower = name.to_ascii_lowercase();
        if let Some(own) = self.by_new.get(&lower) {
            return Ok(own);
        }
        if self.hidden.contains(&lower) {
            return Err(());
        }
        Ok(name)
    }
}

/// What the client layer asks of the server's listener (the server module implements it: it
/// sits above the client, so the dependency points down through this trait).
#[crate::rt::async_trait]
pub trait ListenerControl: Send + Sync {
    /// Listen on `port` instead (0: no TCP listener). Err(the OS's reason) keeps the old
    /// sockets, as Redis's CONFIG SET port.
    async fn rebind(&self, port: u16) -> Result<(), String>;
    /// Closes every listening socket (the server is shutting down); returns once closed.
    async fn stop_accepting(&self);
}

/// See [`Shared::acl_script_check`]: (shared, caller's client id, command table index, argv).
pub type AclScriptCheck = fn(&Shared, u64, usize, &[bytes::Bytes]) -> Option<String>;

impl Shared {
    /// A server's shared state; `commands` is the size of the command table (INFO
    /// commandstats keeps counters for each command, indexed like the table).
    pub fn new(config: Config, log: Arc<crate::logging::ServerLog>, commands: usize) -> Arc<Self> {
        let config_file = config.config_file().map(|p| p.to_path_buf());
        let renames = Renames::new(&config.rename_commands);
        let (shutdown_tx, shutdown_rx) = flume::unbounded();
        let (watchdog_stop, watchdog_rx) = flume::bounded(1);
        let shared = Arc::new(Shared {
            log,
            events: Default::default(),
            config: RwLock::new(config),
            repl: ReplShared::default(),
            hot: Hot::default(),
            stats: Stats::default(),
            cmd_stats: (0..commands).map(|_| CmdStat::default()).collect(),
            clients: Mutex::new(HashMap::new()),
            slowlog: Mutex::new(slowlog::SlowLog::default()),
            errorstats: Default::default(),
            latency: Mutex::new(latency::Monitor::default()),
            sub_stats: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
            run_id: crate::util::random_hex(40),
            port: AtomicU64::new(0),
            pause: Pause::default(),
            config_file,
            shutting_down: AtomicBool::new(false),
            security_warning_at: AtomicI64::new(0),
            script: Default::default(),
            lastsave_unix: AtomicI64::new(crate::util::now_ms() / 1000),
            save_child: Default::default(),
            aof_child: Default::default(),
            listen_fds: Default::default(),
            shutdown_asap: Default::default(),
            shutdown_started: Default::default(),
            cron_paused: Default::default(),
            fatal: Default::default(),
            save_progress: Default::default(),
            save_keys_total: Default::default(),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            is_replica: AtomicBool::new(false),
            shutdown_tx,
            shutdown_rx,
            acl: RwLock::new(acl::Acl::default()),
            acl_active: AtomicBool::new(false),
            requirepass_applied: Mutex::new(None),
            acl_script_check: std::sync::OnceLock::new(),
            listener: std::sync::OnceLock::new(),
            renames,
            loading: AtomicBool::new(false),
            async_loading: AtomicBool::new(false),
            cron_stamp: AtomicU64::new(crate::util::now_ms() as u64),
            _watchdog_stop: watchdog_stop,
            loading_bytes: Arc::new(AtomicU64::new(0)),
            loading_aof: AtomicBool::new(false),
        });
        shared.refresh_hot();
        watchdog::start(&shared, watchdog_rx);
        shared
    }

    /// Write access to the configuration (REPLICAOF, CONFIG SET).
    pub fn cfg_mut(&self) -> std::sync::RwLockWriteGuard<'_, Config> {
        self.config.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Read access to the configuration (never held across an await).
    pub fn cfg(&self) -> RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn port(&self) -> u16 {
        self.port.load(Relaxed) as u16
    }

    /// Asks the server to shut down (SHUTDOWN command, signals).
    pub fn request_shutdown(&self, req: ShutdownRequest) {
        let _ = self.shutdown_tx.send(req);
    }

    /// A shutdown signal: as Redis's handler, it is acted on by the next cron (see
    /// [`Shared::take_signalled_shutdown`]); a SIGINT while one is pending or running
    /// exits at once.
    pub fn signal_shutdown(&self, name: &'static str) {
        let mut asap = self.shutdown_asap.lock().unwrap_or_else(|e| e.into_inner());
        if (asap.is_some() || self.shutdown_started.load(Relaxed)) && name == "SIGINT" {
            crate::warning!(self.log, "You insist... exiting now.");
            let tmp = crate::util::fork::temp_rdb_path(&self.cfg().rdb_path(), std::process::id());
            let _ = std::fs::remove_file(tmp);
            self.log.flush();
            std::process::exit(1);
        }
        let loading = self.loading.load(Relaxed);
        if loading {
            crate::warning!(self.log, "Received shutdown signal during loading, scheduling shutdown.");
        } else {
            crate::warning!(self.log, "Received {} scheduling shutdown...", name);
        }
        *asap = Some(ShutdownRequest { signal: Some(name), ..Default::default() });
        drop(asap);
        if loading {
            // A load may hold the keyspace (and its cron) until it ends: start now.
            self.take_signalled_shutdown();
        }
    }

    /// A fatal error (an unreadable RDB at start): the server shuts down without saving and
    /// [`crate::ServerHandle::join`] returns the error.
    pub fn fail(&self, why: String) {
        *self.fatal.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        self.request_shutdown(ShutdownRequest { nosave: true, force: true, ..Default::default() });
    }

    /// The cron's turn: a signalled shutdown starts.
    pub fn take_signalled_shutdown(&self) {
        if self.shutdown_started.load(Relaxed) {
            return;
        }
        let req = self.shutdown_asap.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(req) = req {
            self.shutdown_started.store(true, Relaxed);
            self.request_shutdown(req);
        }
    }

    /// SHUTDOWN ABORT: cancels a signalled shutdown not started yet. False when there is none.
    pub fn abort_shutdown(&self) -> bool {
        let pending = self.shutdown_asap.lock().unwrap_or_else(|e| e.into_inner()).take().is_some();
        if pending {
            crate::warning!(self.log, "Shutdown manually aborted.");
        }
        pending
    }

    /// Applies configuration changes that live outside the config table (log level).
    pub fn apply_config(&self) {
        self.refresh_hot();
        self.sync_requirepass();
        let cfg = self.cfg();
        let _ = self.log.set_level(cfg.loglevel());
        self.log.set_trace(cfg.flag("trace"));
        drop(cfg);
        self.update_proc_title();
    }

    /// Sets the process title from `proc-title-template` (only the tandem binary lets the
    /// library change its process's title).
    pub fn update_proc_title(&self) {
        if let Some(t) = self.proc_title(None) {
            crate::util::proctitle::set(&t);
        }
    }

    /// `proc-title-template` expanded, with `title` (default: the program) as `{title}`;
    /// None where the process title is not ours to set.
    pub fn proc_title(&self, title: Option<&str>) -> Option<String> {
        use crate::util::proctitle;
        let program = title.map(String::from).or_else(proctitle::program)?;
        let cfg = self.cfg();
        let template = cfg.get(b"proc-title-template").into_iter().next().map(|(_, v)| v).unwrap_or_default();
        let port = cfg.port();
        let unixsocket = cfg.unixsocket().unwrap_or_default();
        let listen = match (port, cfg.bind().first()) {
            (0, _) => format!("unixsocket:{}", unixsocket),
            (p, Some(addr)) => format!("{}:{}", addr, p),
            (p, None) => format!("*:{}", p),
        };
        let config_file = cfg.config_file().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string());
        proctitle::expand(&template, |name| match name {
            "title" => Some(program.clone()),
            "listen-addr" => Some(listen.clone()),
            "server-mode" => Some(String::new()),
            "config-file" => Some(config_file.clone().unwrap_or_else(|| "-".into())),
            "port" => Some(port.to_string()),
            "tls-port" => Some("0".into()),
            "unixsocket" => Some(unixsocket.clone()),
            _ => None,
        })
    }

    /// Gives the default user `requirepass` as its only password (nopass when empty) when
    /// that setting changed since it was last applied.
    pub fn sync_requirepass(&self) {
        let pass = self.cfg().requirepass();
        let mut applied = self.requirepass_applied.lock().unwrap_or_else(|e| e.into_inner());
        if applied.as_ref() == Some(&pass) {
            return;
        }
        let mut acl = self.acl.write().unwrap_or_else(|e| e.into_inner());
        let Some(u) = acl.users.get_mut("default") else { return };
        u.passwords.clear();
        match &pass {
            Some(p) => {
                u.nopass = false;
                u.passwords.push(crate::util::sha256::hex(p));
            }
            None => u.nopass = true,
        }
        *applied = Some(pass);
    }

    /// The ACL user of a connection.
    pub fn user_of(m: &ClientMeta) -> String {
        m.user.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// Copies hot-path settings into atomics.
    pub fn refresh_hot(&self) {
        let c = self.cfg();
        let h = &self.hot;
        h.proto_max_bulk_len.store(c.proto_max_bulk_len() as i64, Relaxed);
        h.query_buffer_limit.store(c.client_query_buffer_limit(), Relaxed);
        h.min_replicas_to_write.store(c.min_replicas_to_write(), Relaxed);
        h.min_replicas_max_lag.store(c.min_replicas_max_lag(), Relaxed);
        h.replica_read_only.store(c.replica_read_only(), Relaxed);
        h.replica_serve_stale_data.store(c.replica_serve_stale_data(), Relaxed);
        h.maxmemory_clients.store(c.int("maxmemory-clients") as i64, Relaxed);
        h.busy_reply_threshold.store(c.busy_reply_threshold().max(0) as u64, Relaxed);
        h.maxmemory.store(c.maxmemory(), Relaxed);
        let policy = Policy::from_name(c.maxmemory_policy());
        h.maxmemory_policy.store(Policy::ALL.iter().position(|p| *p == policy).unwrap_or(7) as u8, Relaxed);
        h.lfu_log_factor.store(c.int("lfu-log-factor") as u64, Relaxed);
        h.lfu_decay_time.store(c.int("lfu-decay-time") as u64, Relaxed);
        h.replica_ignore_maxmemory.store(c.flag("replica-ignore-maxmemory"), Relaxed);
        h.hash_max_listpack_entries.store(c.hash_max_listpack_entries(), Relaxed);
        h.hash_max_listpack_value.store(c.hash_max_listpack_value(), Relaxed);
        h.set_max_intset_entries.store(c.set_max_intset_entries(), Relaxed);
        h.zset_max_listpack_entries.store(c.zset_max_listpack_entries(), Relaxed);
        h.zset_max_listpack_value.store(c.zset_max_listpack_value(), Relaxed);
        h.hll_sparse_max_bytes.store(c.hll_sparse_max_bytes(), Relaxed);
        h.notify_flags.store(c.notify_keyspace_events(), Relaxed);
        let l = c.client_output_buffer_limit(crate::config::ClientClass::Pubsub);
        h.pubsub_limit[0].store(l.hard_limit_bytes, Relaxed);
        h.pubsub_limit[1].store(l.soft_limit_bytes, Relaxed);
        h.pubsub_limit[2].store(l.soft_limit_seconds, Relaxed);
        let l = c.client_output_buffer_limit(crate::config::ClientClass::Normal);
        h.normal_limit[0].store(l.hard_limit_bytes, Relaxed);
        h.normal_limit[1].store(l.soft_limit_bytes, Relaxed);
        h.normal_limit[2].store(l.soft_limit_seconds, Relaxed);
        h.slowlog_slower_than.store(c.int("slowlog-log-slower-than") as i64, Relaxed);
        h.slowlog_max_len.store(c.int("slowlog-max-len") as u64, Relaxed);
        h.latency_threshold_ms.store(c.int("latency-monitor-threshold") as u64, Relaxed);
        h.latency_tracking.store(c.latency_tracking(), Relaxed);
        h.tracking_max_keys.store(c.int("tracking-table-max-keys").max(0) as u64, Relaxed);
    }

    /// Records a command's latency: its histogram (a container's per subcommand, as
    /// `client|id`) and, past `latency-monitor-threshold`, a `command` / `fast-command`
    /// event. `single_writer`: the caller is the only writer of this command's histogram
    /// (the keyspace for its own commands).
    pub fn record_latency(&self, stat: &Stat, fast: bool, ns: u64, single_writer: bool) {
        if self.hot.latency_tracking.load(Relaxed) {
            match stat {
                Stat::Top(s) if single_writer => s.hist.record_single_writer(ns),
                s => s.hist.record(ns),
            }
        }
        self.latency_event(if fast { "fast-command" } else { "command" }, ns / 1_000_000);
    }

    /// The counters of a command as INFO commandstats names it: its own, or for a container
    /// (CONFIG, CLIENT, XGROUP, ...) given a subcommand, the subcommand's (`config|set`).
    /// (`sub`: the `container|subcommand` name, from `keyspace::cmd::sub_name`.)
    pub fn stat(&self, index: usize, sub: Option<String>) -> Stat<'_> {
        match sub {
            Some(full) => {
                let mut subs = self.sub_stats.lock().unwrap_or_else(|e| e.into_inner());
                Stat::Sub(subs.entry(full).or_default().clone())
            }
            None => match self.cmd_stats.get(index) {
                Some(s) => Stat::Top(s),
                // A stand-in outside the table (ACL's refused-in-EXEC command): not counted.
                None => Stat::Sub(Arc::default()),
            },
        }
    }

    /// Adds a latency monitor sample when `ms` reaches `latency-monitor-threshold`.
    pub fn latency_event(&self, event: &str, ms: u64) {
        let threshold = self.hot.latency_threshold_ms.load(Relaxed);
        if threshold == 0 || ms < threshold {
            return;
        }
        let now = crate::util::now_ms() / 1000;
        self.latency.lock().unwrap_or_else(|e| e.into_inner()).add(event, ms, now);
    }

    /// Logs a command into the slow log when it ran at least `slowlog-log-slower-than`
    /// microseconds (argv as the client sent it; secrets are redacted here).
    pub fn slowlog_command(&self, client_id: u64, argv: &[bytes::Bytes], micros: u64) {
        let threshold = self.hot.slowlog_slower_than.load(Relaxed);
        if threshold < 0 || (micros as i64) < threshold {
            return;
        }
        let (peer, name) = {
            let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            match clients.get(&client_id) {
                Some(e) => (e.meta.addr.clone(), e.meta.name.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()),
                None => (String::new(), bytes::Bytes::new()),
            }
        };
        let argv = slowlog::redact(argv);
        let max = self.hot.slowlog_max_len.load(Relaxed) as usize;
        self.slowlog.lock().unwrap_or_else(|e| e.into_inner()).push(&argv, micros, peer, name, max);
    }

    /// CONFIG RESETSTAT for the counters kept here.
    pub fn reset_stats(&self) {
        self.errorstats.reset();
        let s = &self.stats;
        for a in [
            &s.total_connections_received,
            &s.total_commands_processed,
            &s.rejected_connections,
            &s.net_input_bytes,
            &s.net_output_bytes,
            &s.net_repl_input_bytes,
            &s.net_repl_output_bytes,
            &s.unexpected_error_replies,
            &s.client_qbuf_limit_disconnections,
            &s.lazyfreed_objects,
            &s.evicted_clients,
        ] {
            a.store(0, Relaxed);
        }
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Relaxed)
    }
}

/// Waits until a client's queued replies are all written (its writer task brings `omem`
/// back to 0), or the client is closed.
pub async fn output_drained(meta: &ClientMeta) {
    while meta.omem.load(Relaxed) > 0 && !meta.killed.load(Relaxed) {
        crate::rt::sleep(std::time::Duration::from_millis(1)).await;
    }
}
