//! The keyspace's side of the replication stream: replication IDs, offsets, SELECT and
//! MULTI/EXEC wrapping. The keyspace is its only writer: every dataset change reaches the
//! feed in execution order, and the feed hands the encoded stream to its [`StreamSink`] (the
//! backlog actor, wired in at start) one piece per batch.

use crate::logging::ServerLog;
use crate::resp::reply::encode_command;
use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Where the feed hands the stream: the backlog, which keeps it and fans it out to replicas
/// (`repl` implements this for the backlog actor's address). Called in stream order; never
/// waited on.
pub trait StreamSink: Send {
    /// New stream bytes, following what was appended before.
    fn append(&self, bytes: Bytes);
    /// The stream starts (again) at `offset`: the next byte appended has offset `offset + 1`.
    fn reset(&self, offset: i64);
    /// The history changed under the replicas following it: drop them (they must resync).
    fn drop_all(&self);
    /// Logs the stream's latest bytes (a command from the master failed: what came before).
    fn show_latest(&self) {}
    /// This server's digest of its dataset at `offset`: the reference its replicas' digests
    /// for that offset are judged against (tandem-verify).
    fn verify_reference(&self, _offset: i64, _digest: String) {}
}

/// Full/partial resync counters (INFO stats).
#[derive(Default, Debug, Clone)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// The keyspace's side of the replication stream.
pub struct Feed {
    pub(super) replid: String,
    pub(super) replid2: String,
    /// master_repl_offset: bytes of stream produced (or applied, on a replica) so far.
    pub(super) offset: i64,
    pub(super) second_offset: i64,
    /// True once a backlog exists (the first replica attached, or any sync on a replica).
    pub(super) active: bool,
    /// On a replica the stream is the master's bytes, appended as they are applied.
    pub(super) replica_mode: bool,
    /// The db the stream last SELECTed (None: the next command is preceded by SELECT).
    pub(super) last_db: Option<usize>,
    /// Commands of the transaction being executed: emitted at its end.
    txn: Option<Vec<(usize, Vec<Bytes>)>>,
    /// Open begin_txn calls (a script inside MULTI nests).
    txn_depth: u32,
    /// Bytes produced and not yet handed to the backlog.
    pending: BytesMut,
    /// Where the stream goes once flushed (the backlog; set once at start).
    pub(super) sink: Option<Box<dyn StreamSink>>,
    /// The server's log (history changes are logged).
    log: Arc<ServerLog>,
    pub(super) stats: ReplStats,
    /// True when this server has a history worth a partial resync (cached master).
    pub(super) has_history: bool,
    /// Since when (ms) a master with a backlog has had no replica (repl-backlog-ttl).
    pub(super) no_replicas_since: i64,
    /// The AOF's copy of the stream (AOF on).
    pub(crate) aof: Option<super::aof::AofFeed>,
    /// Loading the AOF: what runs is neither propagated nor appended.
    pub(crate) muted: bool,
    /// WAITOFFSET: clients waiting for this server to reach a point of a history.
    pub(crate) offset_waiters: Vec<OffsetWaiter>,
}

/// Where this server stands against a point (`replid`, `offset`) of a replication history
/// (WAITOFFSET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Everything up to the point is in this dataset.
    Reached,
    /// Not yet (the history is ours and the point ahead, or the history is unknown here).
    Pending,
    /// The history is our previous one, and it ended before the point: whatever was written
    /// there was lost (a failover promoted us before it reached us).
    Lost,
}

/// A client waiting (WAITOFFSET) for this server to reach `offset` of history `replid`.
pub struct OffsetWaiter {
    /// The waiting client's id (trace).
    pub client: u64,
    pub replid: String,
    pub offset: i64,
    pub reply: flume::Sender<Reach>,
}

impl Feed {
    pub fn new(log: Arc<ServerLog>) -> Self {
        Feed {
            replid: crate::util::random_hex(40),
            replid2: "0".repeat(40),
            offset: 0,
            second_offset: -1,
            active: false,
            replica_mode: false,
            last_db: None,
            txn: None,
            txn_depth: 0,
            pending: BytesMut::new(),
            sink: None,
            log,
            stats: ReplStats::default(),
            has_history: false,
            no_replicas_since: 0,
            aof: None,
            muted: false,
            offset_waiters: Vec::new(),
        }
    }
}

impl Feed {
    /// master_repl_offset.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Whether a backlog exists (a history replicas can continue).
    pub fn backlog_active(&self) -> bool {
        self.active
    }

    /// The current replication ID.
    pub fn replid(&self) -> &str {
        &self.replid
    }

    /// The previous replication ID, valid up to [`second_offset`](Self::second_offset).
    pub fn replid2(&self) -> &str {
        &self.replid2
    }

    /// The last offset `replid2` is valid for, plus one (-1: none).
    pub fn second_offset(&self) -> i64 {
        self.second_offset
    }

    /// Where this dataset stands against `offset` of history `replid`: the current history
    /// holds everything up to our offset; the previous one everything before the point where
    /// it became ours (`second_offset`), and nothing after it.
    pub fn reach(&self, replid: &str, offset: i64) -> Reach {
        if offset <= 0 {
            return Reach::Reached;
        }
        if replid == self.replid {
            return if offset <= self.offset { Reach::Reached } else { Reach::Pending };
        }
        if self.second_offset >= 0 && replid == self.replid2 {
            return if offset < self.second_offset { Reach::Reached } else { Reach::Lost };
        }
        Reach::Pending
    }

    /// The history `offset` belongs to here (WRITEOFFSET): the previous ID before the point
    /// where the current one took over, the current ID from there on.
    pub fn history_of(&self, offset: i64) -> &str {
        if self.second_offset >= 0 && offset > 0 && offset < self.second_offset {
            &self.replid2
        } else {
            &self.replid
        }
    }

    /// Answers the WAITOFFSET waiters whose point this server reached (or lost) since they
    /// asked, and forgets those who stopped waiting.
    pub fn answer_offset_waiters(&mut self) {
        if self.offset_waiters.is_empty() {
            return;
        }
        let mut waiters = std::mem::take(&mut self.offset_waiters);
        waiters.retain(|w| match self.reach(&w.replid, w.offset) {
            Reach::Pending => !w.reply.is_disconnected(),
            r => {
                crate::trace_reply!(self.log, "keyspace", format_args!("client:{}", w.client), "{:?} {{off={}}}", r, self.offset);
                let _ = w.reply.try_send(r);
                false
            }
        });
        self.offset_waiters = waiters;
    }

    /// The resync counters, for PSYNC to count its outcome.
    pub(crate) fn stats_mut(&mut self) -> &mut ReplStats {
        &mut self.stats
    }

    /// The shared replication buffer: the backlog, which also holds what replicas still
    /// need (INFO's `mem_total_replication_buffers`).
    pub fn replication_buffer_bytes(&self, shared: &Shared) -> u64 {
        shared.repl.buffer_mem.load(Relaxed)
    }

    /// Starts collecting effects into one transaction; nested calls (a script inside MULTI)
    /// join the outer one.
    pub fn begin_txn(&mut self) {
        self.txn_depth += 1;
        if self.txn.is_none() {
            self.txn = Some(Vec::new());
        }
    }

    /// Effects collected so far in the open transaction.
    pub fn txn_len(&self) -> usize {
        self.txn.as_ref().map_or(0, |t| t.len())
    }

    /// Drops the effects collected after `len` (a script's `redis.set_repl`).
    pub fn txn_truncate(&mut self, len: usize) {
        if let Some(t) = self.txn.as_mut() {
            t.truncate(len);
        }
    }

    pub fn end_txn(&mut self) {
        self.txn_depth = self.txn_depth.saturating_sub(1);
        if self.txn_depth > 0 {
            return;
        }
        let Some(cmds) = self.txn.take() else { return };
        match cmds.len() {
            0 => {}
            1 => {
                let (db, argv) = cmds.into_iter().next().unwrap_or_default();
                self.emit(db, &argv);
            }
            _ => {
                let db = cmds[0].0;
                self.emit(db, &[Bytes::from_static(b"MULTI")]);
                for (db, argv) in &cmds {
                    self.emit(*db, argv);
                }
                // In the db the last command selected: no SELECT before EXEC.
                self.emit_to(None, &[Bytes::from_static(b"EXEC")]);
            }
        }
    }

    /// Whether commands executed here are propagated: to a replication stream of our own, or
    /// to the AOF.
    #[inline]
    pub fn wants(&self) -> bool {
        (self.repl_wants() || self.aof.is_some()) && !self.muted
    }

    /// Whether commands executed here produce replication stream bytes.
    #[inline]
    fn repl_wants(&self) -> bool {
        self.active && !self.replica_mode
    }

    /// Appends the effects of one command executed in `db`.
    pub fn propagate(&mut self, db: usize, cmds: Vec<Vec<Bytes>>, _in_txn: bool) {
        if !self.wants() {
            return;
        }
        if let Some(t) = self.txn.as_mut() {
            t.extend(cmds.into_iter().map(|c| (db, c)));
            return;
        }
        if cmds.len() > 1 {
            self.emit(db, &[Bytes::from_static(b"MULTI")]);
            for c in &cmds {
                self.emit(db, c);
            }
            self.emit_to(None, &[Bytes::from_static(b"EXEC")]);
        } else if let Some(c) = cmds.first() {
            self.emit(db, c);
        }
    }

    /// One command propagated as the client sent it (no copy of its arguments unless a
    /// transaction collects it).
    pub fn propagate_argv(&mut self, db: usize, argv: &[Bytes]) {
        if !self.wants() {
            return;
        }
        if let Some(t) = self.txn.as_mut() {
            t.push((db, argv.to_vec()));
            return;
        }
        self.emit(db, argv);
    }

    /// A command outside any db (PING, REPLCONF GETACK): no SELECT needed.
    pub fn emit_dbless(&mut self, argv: &[Bytes]) {
        if !self.repl_wants() || self.muted {
            return;
        }
        let before = self.pending.len();
        encode_command(argv, &mut self.pending);
        self.offset += (self.pending.len() - before) as i64;
    }

    fn emit(&mut self, db: usize, argv: &[Bytes]) {
        self.emit_to(Some(db), argv)
    }

    /// Appends one command to the replication stream and the AOF, each preceded by a SELECT
    /// when it last selected another db (None: no SELECT, as for EXEC).
    fn emit_to(&mut self, db: Option<usize>, argv: &[Bytes]) {
        if self.repl_wants() {
            let before = self.pending.len();
            if let Some(db) = db.filter(|d| self.last_db != Some(*d)) {
                encode_command(&[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())], &mut self.pending);
                self.last_db = Some(db);
            }
            encode_command(argv, &mut self.pending);
            self.offset += (self.pending.len() - before) as i64;
        }
        if let Some(aof) = self.aof.as_mut() {
            aof.emit(db, argv);
        }
    }

    /// Appends bytes applied from our master (replica mode): the stream passes through.
    fn append_raw(&mut self, raw: &[u8]) {
        self.pending.extend_from_slice(raw);
        self.offset += raw.len() as i64;
    }

    /// Stream bytes not yet handed to the backlog.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hands what was produced to the backlog (one message per batch).
    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // An exact-size copy: the backlog holds just the stream (the scratch buffer keeps its
        // capacity for the next batch).
        let b = Bytes::copy_from_slice(&self.pending);
        self.pending.clear();
        if let Some(sink) = &self.sink {
            sink.append(b);
        }
    }

    /// Has the backlog log the stream's latest bytes, up to what was produced so far.
    pub fn show_latest(&mut self) {
        self.flush();
        if let Some(sink) = &self.sink {
            sink.show_latest();
        }
    }

    /// New history: replid2 := replid (valid up to offset), fresh replid.
    pub fn shift_replid(&mut self, new_id: Option<String>) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id.unwrap_or_else(|| crate::util::random_hex(40)));
        self.second_offset = self.offset + 1;
        crate::notice!(self.log, 
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2,
            self.second_offset,
            self.replid
        );
    }

    /// The first replica attached (PSYNC or SYNC): unless a backlog exists, it starts here,
    /// with new IDs on a master (the history before it cannot be served anyway).
    pub(crate) fn start_backlog(&mut self) {
        if self.active {
            return;
        }
        if !self.replica_mode {
            self.replid = crate::util::random_hex(40);
            self.replid2 = "0".repeat(40);
            self.second_offset = -1;
        }
        self.create_backlog();
        crate::notice!(self.log, "Replication backlog created, my new replication IDs are '{}' and '{}'", self.replid, self.replid2);
    }

    /// Starts the backlog at the current offset (master side, first replica).
    fn create_backlog(&mut self) {
        self.active = true;
        self.has_history = true;
        self.restart_backlog(self.offset);
    }

    /// The backlog starts (again) at `offset`.
    pub(super) fn restart_backlog(&self, offset: i64) {
        if let Some(sink) = &self.sink {
            sink.reset(offset);
        }
    }

    /// The history changed: replicas following the old one are dropped (they must resync).
    pub(super) fn drop_replicas(&self) {
        if let Some(sink) = &self.sink {
            sink.drop_all();
        }
    }

    /// Replica side: the history of a full sync's snapshot (the master's `replid` at
    /// `offset`, its stream having selected `stream_db`, -1: none) replaces ours.
    pub(super) fn load_history(&mut self, replid: String, offset: i64, stream_db: i64) {
        self.replid = replid;
        self.replid2 = "0".repeat(40);
        self.second_offset = -1;
        self.offset = offset;
        self.active = true;
        self.replica_mode = true;
        self.has_history = true;
        self.last_db = if stream_db >= 0 { Some(stream_db as usize) } else { None };
        // Sub-replicas followed another history: they must resync.
        self.drop_replicas();
        self.restart_backlog(offset);
    }

    /// Replica side: where our history stands for PSYNC (replid, offset, the db the stream
    /// had selected there), if we have one.
    pub(crate) fn cached_master(&mut self) -> Option<(String, i64, usize)> {
        self.flush();
        let db = self.last_db.unwrap_or(0);
        self.has_history.then(|| (self.replid.clone(), self.offset, db))
    }

    /// Replica side: the master answered `+CONTINUE <replid>`: our history goes on, under the
    /// master's new ID if it changed.
    pub(crate) fn continue_history(&mut self, replid: String) {
        if !self.active {
            // A replica restarted from its RDB continues: its backlog starts here (what
            // follows is served to sub-replicas, and to replicas once it is promoted).
            self.restart_backlog(self.offset);
        }
        self.active = true;
        self.replica_mode = true;
        if replid != self.replid {
            crate::notice!(self.log, "Master replication ID changed to {}", replid);
            self.shift_replid(Some(replid));
            self.drop_replicas();
        }
    }

    /// Replica side: stream bytes from our master were applied, the stream ending in `db`.
    pub(super) fn applied(&mut self, raw: &[u8], db: usize) {
        self.append_raw(raw);
        self.last_db = Some(db);
    }

    /// The replication cron (once a second, from the keyspace's cron): PING replicas every
    /// `repl-ping-replica-period`.
    pub(super) fn cron(&mut self, shared: &Shared, tick: u64) {
        if !self.repl_wants() {
            return;
        }
        let period = shared.cfg().repl_ping_replica_period().max(1);
        let has_replicas = !shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        // A master without replicas for repl-backlog-ttl frees its backlog and starts a new
        // history (nobody can continue the old one any more).
        let now = crate::util::now_ms();
        if has_replicas {
            self.no_replicas_since = 0;
        } else {
            if self.no_replicas_since == 0 {
                self.no_replicas_since = now;
            }
            let ttl = shared.cfg().repl_backlog_ttl() as i64;
            if ttl > 0 && now - self.no_replicas_since >= ttl * 1000 {
                self.replid = crate::util::random_hex(40);
                self.replid2 = "0".repeat(40);
                self.second_offset = -1;
                self.active = false;
                self.no_replicas_since = 0;
                crate::notice!(shared.log, "Replication backlog freed after {} seconds without connected replicas.", ttl);
                return;
            }
        }
        let paused = shared.pause.failover.load(Relaxed);
        if has_replicas && tick.is_multiple_of(period) && !paused {
            self.emit_dbless(&[Bytes::from_static(b"ping")]);
        }
        self.flush();
    }
}
