//! Replication state other actors read: plain data the replication actors publish (the
//! master link's status and the role, the attached replicas, the failover in progress) for
//! INFO, ROLE, WAIT, min-replicas and the role checks. Only data lives here; the actors that
//! write it are in `repl`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// The size of a block of the shared replication buffer (Redis's PROTO_REPLY_CHUNK_BYTES).
pub const REPL_BLOCK: usize = 16 * 1024;

/// Bookkeeping per block of the replication buffer besides its bytes, as Redis counts
/// `sizeof(replBufBlock) + sizeof(listNode)` per block.
pub const REPL_BLOCK_OVERHEAD: usize = 64;

/// Replication state other actors read (INFO, ROLE, WAIT, min-replicas).
#[derive(Default)]
pub struct ReplShared {
    pub backlog_first: AtomicI64,
    pub backlog_histlen: AtomicI64,
    /// Memory of the shared replication buffer's blocks (Redis's `repl_buffer_mem`).
    pub buffer_mem: AtomicU64,
    pub replicas: Mutex<Vec<Arc<ReplicaInfo>>>,
    /// Replica side: the link's status, as the MasterLink actor (its only writer) last
    /// published it.
    pub link: Mutex<LinkStatus>,
    pub failover: Mutex<Failover>,
    /// `repl-backpressure`: write replies held while a replica's lag nears its output limit.
    pub throttle: Throttle,
    /// Consistency-proof rounds (tandem-verify).
    pub verify: VerifyStats,
}

/// Consistency-proof rounds so far (INFO replication).
#[derive(Default)]
pub struct VerifyStats {
    /// Rounds this master started.
    pub runs: AtomicU64,
    /// Replica digests that differed from this server's at the same offset.
    pub mismatches: AtomicU64,
    /// Replica digests that matched.
    pub matches: AtomicU64,
}

/// How a replica's digest at an offset compared with ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Mismatch,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Mismatch => "mismatch",
        }
    }
}

/// A replica's last judged digest.
#[derive(Clone, Debug)]
pub struct Verified {
    pub offset: i64,
    pub verdict: Verdict,
    pub digest: String,
}

/// `repl-backpressure`: instead of dropping a replica that cannot keep up into a full sync
/// (which lags again: the full-sync loop), the master holds the replies of write commands
/// while any replica's unsent stream is near `client-output-buffer-limit replica`, so the
/// writers slow to the replica's pace. The backlog actor, which measures the lag, turns it on
/// and off; client actors wait on `released`; a replica's socket writer tells the backlog when
/// its lag fell below `low_mark` (once per episode).
#[derive(Default)]
pub struct Throttle {
    pub on: AtomicBool,
    /// Bumped each time the throttle turns on.
    pub episode: AtomicU64,
    /// The lag (bytes) under which the throttle turns off.
    pub low_mark: AtomicU64,
    /// When the current episode began (ms since the epoch).
    pub since_ms: AtomicI64,
    /// Time spent throttled in episodes that ended (ms).
    pub total_ms: AtomicU64,
    /// Replies of write batches held so far.
    pub delayed: AtomicU64,
    /// Notified when the throttle turns off.
    pub released: event_listener::Event,
}

impl Throttle {
    /// Total time throttled, the current episode included (ms).
    pub fn throttled_ms(&self) -> u64 {
        let cur = if self.on.load(Relaxed) { (crate::util::now_ms() - self.since_ms.load(Relaxed)).max(0) as u64 } else { 0 };
        self.total_ms.load(Relaxed) + cur
    }
}

impl ReplShared {
    /// Online replicas whose last ACK is at most `max_lag` seconds old (min-replicas-to-write,
    /// INFO's `min_slaves_good_slaves`).
    pub fn good_replicas(&self, max_lag: u64) -> usize {
        let now = crate::util::now_ms();
        self.replicas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| r.state() == ReplicaState::Online && (now - r.last_ack_ms.load(Relaxed)) / 1000 <= max_lag as i64)
            .count()
    }

    /// The failover's state now.
    pub fn failover_state(&self) -> FailoverState {
        self.failover.lock().map(|f| f.state).unwrap_or_default()
    }

    /// Whether the replica side's link with its master is up (as last published).
    pub fn link_up(&self) -> bool {
        self.link.lock().map(|s| s.state == MasterLinkState::Connected).unwrap_or(false)
    }
}

/// Redis's replica states (`REPL_STATE_*`).
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterLinkState {
    #[default]
    None,
    Connect,
    Connecting,
    ReceivePong,
    SendHandshake,
    ReceiveAuth,
    ReceivePort,
    ReceiveCapa,
    SendPsync,
    ReceivePsync,
    Transfer,
    Connected,
}

impl MasterLinkState {
    /// The state name ROLE shows.
    pub fn role_name(self) -> &'static str {
        use MasterLinkState::*;
        match self {
            None => "none",
            Connect => "connect",
            Connecting => "connecting",
            ReceivePong | SendHandshake | ReceiveAuth | ReceivePort | ReceiveCapa | SendPsync | ReceivePsync => "handshake",
            Transfer => "sync",
            Connected => "connected",
        }
    }
}

/// A server's role. The MasterLink actor decides it; the keyspace applies it in its order
/// (`repl::SetRole`) and publishes it for the client actors.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    #[default]
    Master,
    Replica,
}

impl Role {
    pub fn is_replica(self) -> bool {
        self == Role::Replica
    }

    /// Redis's role letter in log lines.
    pub fn log_char(self) -> char {
        match self {
            Role::Master => 'M',
            Role::Replica => 'S',
        }
    }
}

/// The replica side's link as INFO and ROLE show it: owned by the MasterLink actor,
/// published to `Shared::repl.link` after every change.
#[derive(Default, Debug, Clone)]
pub struct LinkStatus {
    pub master: Option<(String, u16)>,
    pub state: MasterLinkState,
    pub last_io_ms: i64,
    pub down_since_ms: i64,
    pub sync_total: i64,
    pub sync_read: i64,
    /// Offset read from the master (slave_read_repl_offset).
    pub read_offset: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    WaitBgsave = 0,
    SendBulk = 1,
    Online = 2,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// What INFO, ROLE, WAIT and min-replicas see of a replica.
pub struct ReplicaInfo {
    pub id: u64,
    pub ip: String,
    pub port: AtomicU64,
    pub state: AtomicU8,
    pub ack_offset: AtomicI64,
    /// ms since the epoch of the last ACK (or of attach).
    pub last_ack_ms: AtomicI64,
    /// Connected with plain SYNC: no ACKs expected.
    pub pre_psync: bool,
    pub closed: AtomicBool,
    /// Announced `REPLCONF capa tandem-verify`: it answers verification markers.
    pub capa_verify: bool,
    /// The RDB connection of a dual-channel full sync (`REPLCONF rdb-channel 1`).
    pub rdb_channel: bool,
    /// Its last judged digest (tandem-verify).
    pub verified: Mutex<Option<Verified>>,
}

impl ReplicaInfo {
    pub fn state(&self) -> ReplicaState {
        match self.state.load(Relaxed) {
            0 => ReplicaState::WaitBgsave,
            1 => ReplicaState::SendBulk,
            _ => ReplicaState::Online,
        }
    }
    /// `ip:port` as Redis names replicas in logs.
    pub fn name(&self) -> String {
        let p = self.port.load(Relaxed);
        if p == 0 {
            format!("{}:<unknown-replica-port>", self.ip)
        } else {
            format!("{}:{}", self.ip, p)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    NoFailover,
    WaitingForSync,
    InProgress,
}

impl FailoverState {
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::NoFailover => "no-failover",
            FailoverState::WaitingForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

/// The failover in progress (shared: INFO, the link and the command read it).
#[derive(Default, Clone, Debug)]
pub struct Failover {
    pub state: FailoverState,
    pub target: Option<(String, u16)>,
    pub end_ms: i64,
    pub force: bool,
}
