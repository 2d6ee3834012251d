//! Replication as conversations between actors.
//!
//! - [`Feed`]: the keyspace's side of the stream (IDs, offsets, SELECT and MULTI/EXEC
//!   wrapping); the keyspace is its only writer.
//! - [`backlog::Backlog`]: the ring buffer and the fan-out to replicas.
//! - [`replica::Replica`]: one per attached replica on a master.
//! - [`link::MasterLink`]: the replica side's state machine and the role.

pub mod backlog;
pub mod failover;
pub mod fullsync;
pub mod link;
pub mod replica;

use crate::keyspace::{Ctx, Db, Keyspace};
use crate::resp::reply::encode_command;
use crate::rt::{async_trait, Addr, Context, Handler, Message};
use backlog::{Append, Backlog, DropAll, Reset, Subscribe};
use bytes::{Bytes, BytesMut};
use replica::Replica;
use crate::keyspace::snapshot::{self, Snapshot};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

/// Full/partial resync counters (INFO stats).
#[derive(Default, Debug, Clone)]
pub struct ReplStats {
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

pub use link::{LinkStatus, Role};

/// The keyspace's side of the replication stream.
pub struct Feed {
    pub replid: String,
    pub replid2: String,
    /// master_repl_offset: bytes of stream produced (or applied, on a replica) so far.
    pub offset: i64,
    pub second_offset: i64,
    /// True once a backlog exists (the first replica attached, or any sync on a replica).
    pub active: bool,
    /// On a replica the stream is the master's bytes, appended as they are applied.
    pub replica_mode: bool,
    /// The db the stream last SELECTed (None: the next command is preceded by SELECT).
    pub last_db: Option<usize>,
    /// Commands of the transaction being executed: emitted at its end.
    txn: Option<Vec<(usize, Vec<Bytes>)>>,
    /// Bytes produced and not yet handed to the backlog.
    pending: BytesMut,
    pub backlog: Option<Addr<Backlog>>,
    pub stats: ReplStats,
    /// True when this server has a history worth a partial resync (cached master).
    pub has_history: bool,
    /// Since when (ms) a master with a backlog has had no replica (repl-backlog-ttl).
    pub no_replicas_since: i64,
    /// Full syncs gathering replicas or writing their RDB.
    pub jobs: fullsync::Jobs,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            replid: crate::util::random_hex(40),
            replid2: "0".repeat(40),
            offset: 0,
            second_offset: -1,
            active: false,
            replica_mode: false,
            last_db: None,
            txn: None,
            pending: BytesMut::new(),
            backlog: None,
            stats: ReplStats::default(),
            has_history: false,
            no_replicas_since: 0,
            jobs: Default::default(),
        }
    }
}

impl Feed {
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The shared replication buffer: the backlog, which also holds what replicas still
    /// need (INFO's `mem_total_replication_buffers`).
    pub fn replication_buffer_bytes(&self, shared: &crate::shared::Shared) -> u64 {
        shared.repl.backlog_histlen.load(Relaxed).max(0) as u64
    }

    pub fn begin_txn(&mut self) {
        self.txn = Some(Vec::new());
    }

    pub fn end_txn(&mut self) {
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
                self.emit(db, &[Bytes::from_static(b"EXEC")]);
            }
        }
    }

    /// Whether commands executed here produce stream bytes.
    #[inline]
    pub fn wants(&self) -> bool {
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
            self.emit(db, &[Bytes::from_static(b"EXEC")]);
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
        if !self.wants() {
            return;
        }
        let before = self.pending.len();
        encode_command(argv, &mut self.pending);
        self.offset += (self.pending.len() - before) as i64;
    }

    fn emit(&mut self, db: usize, argv: &[Bytes]) {
        let before = self.pending.len();
        if self.last_db != Some(db) {
            encode_command(&[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())], &mut self.pending);
            self.last_db = Some(db);
        }
        encode_command(argv, &mut self.pending);
        self.offset += (self.pending.len() - before) as i64;
    }

    /// Appends bytes applied from our master (replica mode): the stream passes through.
    pub fn append_raw(&mut self, raw: &[u8]) {
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
        if let Some(bl) = &self.backlog {
            let _ = bl.send(Append(b));
        }
    }

    /// New history: replid2 := replid (valid up to offset), fresh replid.
    pub fn shift_replid(&mut self, log: &crate::logging::ServerLog, new_id: Option<String>) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id.unwrap_or_else(|| crate::util::random_hex(40)));
        self.second_offset = self.offset + 1;
        crate::notice!(log, 
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2,
            self.second_offset,
            self.replid
        );
    }

    /// Starts the backlog at the current offset (master side, first replica).
    fn create_backlog(&mut self) {
        self.active = true;
        self.has_history = true;
        if let Some(bl) = &self.backlog {
            let _ = bl.send(Reset { offset: self.offset });
        }
    }

    /// The INFO replication fields, in Redis's order.
    pub fn info_fields(&self, ks: &Keyspace) -> String {
        let sh = &ks.shared;
        let mut o = String::new();
        let link = sh.repl.link.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let now = crate::util::now_ms();
        macro_rules! f {
            ($($arg:tt)*) => {{ let _ = write!(o, $($arg)*); o.push_str("\r\n"); }};
        }
        if let Some((host, port)) = &link.master {
            let up = link.state == link::MasterLinkState::Connected;
            f!("role:slave");
            f!("master_host:{}", host);
            f!("master_port:{}", port);
            f!("master_link_status:{}", if up { "up" } else { "down" });
            f!("master_last_io_seconds_ago:{}", if link.last_io_ms > 0 { (now - link.last_io_ms) / 1000 } else { -1 });
            let syncing = link.state == link::MasterLinkState::Transfer;
            f!("master_sync_in_progress:{}", syncing as u8);
            f!("slave_read_repl_offset:{}", link.read_offset.max(self.offset));
            f!("slave_repl_offset:{}", self.offset);
            if syncing {
                f!("master_sync_total_bytes:{}", link.sync_total);
                f!("master_sync_read_bytes:{}", link.sync_read);
                f!("master_sync_left_bytes:{}", link.sync_total - link.sync_read);
                let perc = if link.sync_total > 0 { link.sync_read as f64 * 100.0 / link.sync_total as f64 } else { 0.0 };
                f!("master_sync_perc:{:.2}", perc);
                f!("master_sync_last_io_seconds_ago:{}", (now - link.last_io_ms) / 1000);
            }
            if !up {
                f!("master_link_down_since_seconds:{}", if link.down_since_ms > 0 { (now - link.down_since_ms) / 1000 } else { -1 });
            }
            let cfg = sh.cfg();
            f!("slave_priority:{}", cfg.replica_priority());
            f!("slave_read_only:{}", cfg.replica_read_only() as u8);
            f!("replica_announced:{}", cfg.replica_announced() as u8);
        } else {
            f!("role:master");
        }
        let replicas = sh.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).clone();
        f!("connected_slaves:{}", replicas.len());
        let (min_to_write, max_lag) = {
            let c = sh.cfg();
            (c.min_replicas_to_write(), c.min_replicas_max_lag())
        };
        if min_to_write > 0 {
            f!("min_slaves_good_slaves:{}", sh.repl.good_replicas(max_lag));
        }
        for (i, r) in replicas.iter().enumerate() {
            f!(
                "slave{}:ip={},port={},state={},offset={},lag={}",
                i,
                r.ip,
                r.port.load(Relaxed),
                r.state().name(),
                r.ack_offset.load(Relaxed),
                (now - r.last_ack_ms.load(Relaxed)) / 1000
            );
        }
        f!("master_failover_state:{}", sh.repl.failover_state().name());
        f!("master_replid:{}", self.replid);
        f!("master_replid2:{}", self.replid2);
        f!("master_repl_offset:{}", self.offset);
        f!("second_repl_offset:{}", self.second_offset);
        f!("repl_backlog_active:{}", self.active as u8);
        f!("repl_backlog_size:{}", sh.cfg().repl_backlog_size());
        f!("repl_backlog_first_byte_offset:{}", if self.active { sh.repl.backlog_first.load(Relaxed) } else { 0 });
        f!("repl_backlog_histlen:{}", if self.active { sh.repl.backlog_histlen.load(Relaxed) } else { 0 });
        o
    }
}

/// How a PSYNC ends.
#[derive(Debug)]
pub enum PsyncOutcome {
    /// Partial resync: the backlog already streams to the replica from its offset.
    Continue { replid: String },
    /// The replica needs the whole dataset.
    FullResync,
    /// An error reply (e.g. `NOMASTERLINK ...`).
    Error(String),
}

/// PSYNC <replid> <offset> from a replica (SYNC: `psync = false`).
pub struct Psync {
    pub id: u64,
    pub name: String,
    pub replid: String,
    pub offset: i64,
    pub psync: bool,
    pub replica: Addr<Replica>,
    pub out: fullsync::Outlet,
    pub meta: std::sync::Arc<crate::shared::ClientMeta>,
}
impl Message for Psync {
    type Result = PsyncOutcome;
}

/// Replica side: the dataset received in a full sync replaces ours.
pub struct LoadSnapshot {
    pub dbs: Vec<Db>,
    pub replid: String,
    pub offset: i64,
    pub stream_db: i64,
}
impl Message for LoadSnapshot {
    type Result = ();
}

/// Replica side: commands from the master's stream, with their raw bytes.
pub struct ApplyStream {
    pub items: Vec<crate::keyspace::Item>,
    pub raw: Bytes,
    pub db: usize,
}
impl Message for ApplyStream {
    type Result = (usize, i64);
}

/// Replica side: where our history stands (for PSYNC).
pub struct CachedMaster;
impl Message for CachedMaster {
    /// (replid, offset, the db the stream had selected there).
    type Result = Option<(String, i64, usize)>;
}

/// Replica side: the master answered +CONTINUE <replid>.
pub struct Continued {
    pub replid: String,
}
impl Message for Continued {
    type Result = ();
}

/// Role change, decided by the MasterLink actor and applied by the keyspace in its order.
pub struct SetRole(pub Role);
impl Message for SetRole {
    type Result = ();
}

/// master_repl_offset now.
pub struct CurrentOffset;
impl Message for CurrentOffset {
    type Result = i64;
}

#[async_trait]
impl Handler<CurrentOffset> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: CurrentOffset) -> i64 {
        crate::trace_msg!(self.shared.log, "failover", "keyspace", "CurrentOffset");
        self.feed.flush();
        crate::trace_reply!(self.shared.log, "keyspace", "failover", "Offset({}) {{off={}}}", self.feed.offset, self.feed.offset);
        self.feed.offset
    }
}

/// WAIT: append `REPLCONF GETACK *` to the stream.
pub struct GetAck(pub u64);
impl Message for GetAck {
    type Result = i64;
}

#[async_trait]
impl Handler<Psync> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Psync) -> PsyncOutcome {
        let outcome = self.psync(&msg).await;
        crate::trace_reply!(self.shared.log, "keyspace", format_args!("client:{}", msg.id), "{:?} {{off={} conv={}}}", outcome, self.feed.offset, msg.name);
        outcome
    }
}

impl Keyspace {
    /// The PSYNC check: a partial resync when our history holds the replica's offset (it is
    /// then subscribed to the backlog from there), else a full resync.
    async fn psync(&mut self, msg: &Psync) -> PsyncOutcome {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.id), "keyspace", "Psync(replid={}, offset={}) {{conv={}}}", msg.replid, msg.offset, msg.name);
        self.feed.flush();
        let f = &mut self.feed;
        if !f.active {
            // The first replica: the backlog starts here, with new IDs (the history before
            // it cannot be served anyway).
            if !f.replica_mode {
                f.replid = crate::util::random_hex(40);
                f.replid2 = "0".repeat(40);
                f.second_offset = -1;
            }
            f.create_backlog();
            crate::notice!(self.shared.log, "Replication backlog created, my new replication IDs are '{}' and '{}'", f.replid, f.replid2);
        }
        if msg.psync && msg.replid != "?" {
            let id_ok = msg.replid == f.replid || (msg.replid == f.replid2 && msg.offset <= f.second_offset);
            if !id_ok {
                if msg.replid != f.replid && msg.replid != f.replid2 {
                    crate::notice!(self.shared.log, 
                        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                        msg.replid, f.replid, f.replid2
                    );
                } else {
                    crate::notice!(self.shared.log, 
                        "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                        msg.offset, f.second_offset
                    );
                }
                f.stats.sync_partial_err += 1;
            } else if let Some(bl) = f.backlog.clone() {
                let sub = Subscribe {
                    id: msg.id,
                    name: msg.name.clone(),
                    replica: msg.replica.clone(),
                    out: msg.out.clone(),
                    meta: msg.meta.clone(),
                    from: msg.offset,
                };
                let r = bl.call(sub).await;
                match r {
                    Ok(Ok(n)) => {
                        self.feed.stats.sync_partial_ok += 1;
                        crate::notice!(self.shared.log, 
                            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
                            msg.name, n, msg.offset
                        );
                        return PsyncOutcome::Continue { replid: self.feed.replid.clone() };
                    }
                    _ => {
                        self.feed.stats.sync_partial_err += 1;
                        crate::notice!(self.shared.log, 
                            "Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).",
                            msg.name, msg.offset
                        );
                    }
                }
            }
        }
        self.feed.stats.sync_full += 1;
        PsyncOutcome::FullResync
    }
}

#[async_trait]
impl Handler<LoadSnapshot> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: LoadSnapshot) {
        self.feed.flush();
        let mut dbs = msg.dbs;
        dbs.resize_with(self.dbs.len(), Db::default);
        let old = std::mem::replace(&mut self.dbs, dbs);
        if self.shared.cfg().flag("replica-lazy-flush") {
            let n = old.iter().map(|d| d.keys.len() as u64).sum();
            crate::keyspace::lazyfree::free_later(&self.shared, old, n);
        } else {
            drop(old);
        }
        self.replica_own_expires.clear();
        self.touch_all_watched(None);
        let f = &mut self.feed;
        f.replid = msg.replid;
        f.replid2 = "0".repeat(40);
        f.second_offset = -1;
        f.offset = msg.offset;
        f.active = true;
        f.replica_mode = true;
        f.has_history = true;
        f.last_db = if msg.stream_db >= 0 { Some(msg.stream_db as usize) } else { None };
        if let Some(bl) = &f.backlog {
            // Sub-replicas followed another history: they must resync.
            let _ = bl.send(DropAll);
            let _ = bl.send(Reset { offset: msg.offset });
        }
    }
}

#[async_trait]
impl Handler<ApplyStream> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: ApplyStream) -> (usize, i64) {
        let mut out = crate::resp::Out::new(false);
        let mut db = msg.db;
        self.applying_master = true;
        let _ = self.exec_items(&msg.items, &mut db, 0, &mut out, &mut Vec::new());
        self.applying_master = false;
        self.feed.append_raw(&msg.raw);
        self.feed.last_db = Some(db);
        self.flush_feed_soon(ctx);
        (db, self.feed.offset)
    }
}

#[async_trait]
impl Handler<CachedMaster> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: CachedMaster) -> Option<(String, i64, usize)> {
        self.feed.flush();
        let db = self.feed.last_db.unwrap_or(0);
        self.feed.has_history.then(|| (self.feed.replid.clone(), self.feed.offset, db))
    }
}

#[async_trait]
impl Handler<Continued> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Continued) {
        self.feed.active = true;
        self.feed.replica_mode = true;
        if msg.replid != self.feed.replid {
            crate::notice!(self.shared.log, "Master replication ID changed to {}", msg.replid);
            self.feed.shift_replid(&self.shared.log, Some(msg.replid));
            if let Some(bl) = &self.feed.backlog {
                let _ = bl.send(DropAll);
            }
        }
    }
}

#[async_trait]
impl Handler<SetRole> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetRole) {
        self.feed.flush();
        let replica = msg.0.is_replica();
        self.is_replica = replica;
        self.shared.is_replica.store(replica, Relaxed);
        self.shared.log.set_role(msg.0.log_char());
        if replica {
            self.unblock_all("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            // Our own history becomes the cached master for the first PSYNC.
            if self.feed.active || self.feed.offset > 0 {
                self.feed.has_history = true;
            }
            self.feed.replica_mode = true;
        } else if self.feed.replica_mode {
            self.feed.replica_mode = false;
            self.feed.shift_replid(&self.shared.log, None);
            self.feed.last_db = None;
            if let Some(bl) = &self.feed.backlog {
                let _ = bl.send(DropAll);
            }
        }
    }
}

#[async_trait]
impl Handler<GetAck> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: GetAck) -> i64 {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.0), "keyspace", "GetAck {{off={}}}", self.feed.offset);
        self.feed.emit_dbless(&[Bytes::from_static(b"REPLCONF"), Bytes::from_static(b"GETACK"), Bytes::from_static(b"*")]);
        self.feed.flush();
        self.feed.offset
    }
}

/// The replication cron (once a second, from the keyspace's cron): PING replicas every
/// `repl-ping-replica-period`.
pub fn cron(ks: &mut Keyspace, tick: u64) {
    if !ks.feed.wants() {
        return;
    }
    let period = ks.shared.cfg().repl_ping_replica_period().max(1);
    let has_replicas = !ks.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
    // A master without replicas for repl-backlog-ttl frees its backlog and starts a new
    // history (nobody can continue the old one any more).
    let now = crate::util::now_ms();
    if has_replicas {
        ks.feed.no_replicas_since = 0;
    } else {
        if ks.feed.no_replicas_since == 0 {
            ks.feed.no_replicas_since = now;
        }
        let ttl = ks.shared.cfg().repl_backlog_ttl() as i64;
        if ttl > 0 && now - ks.feed.no_replicas_since >= ttl * 1000 {
            let f = &mut ks.feed;
            f.replid = crate::util::random_hex(40);
            f.replid2 = "0".repeat(40);
            f.second_offset = -1;
            f.active = false;
            f.no_replicas_since = 0;
            crate::notice!(ks.shared.log, "Replication backlog freed after {} seconds without connected replicas.", ttl);
            return;
        }
    }
    let paused = ks.shared.pause.failover.load(Relaxed);
    if has_replicas && tick.is_multiple_of(period) && !paused {
        ks.feed.emit_dbless(&[Bytes::from_static(b"ping")]);
    }
    ks.feed.flush();
}

/// DEBUG subcommands that belong to persistence/replication (DIGEST, DIGEST-VALUE, RELOAD).
/// Returns false when `sub` is not one of them.
pub fn debug_extra(ks: &mut Keyspace, ctx: &mut Ctx, sub: &str, a: &[Bytes]) -> bool {
    match sub {
        "digest" => {
            let d = snapshot::digest(&ks.dbs);
            ctx.out.simple(&d);
        }
        "digest-value" => {
            ctx.out.array(a.len() - 2);
            for k in &a[2..] {
                let db = &ks.dbs[ctx.db];
                match db.keys.get(k) {
                    Some(v) => {
                        let d = crate::rdb::digest_value(snapshot::value_ref(v), db.expires.get(k).copied());
                        ctx.out.simple(&crate::rdb::digest::to_hex(&d));
                    }
                    None => ctx.out.simple(&"0".repeat(40)),
                }
            }
        }
        "reload" => {
            let snap = Snapshot { dbs: ks.dbs.clone(), replid: ks.feed.replid.clone(), offset: ks.feed.offset, stream_db: -1, key_save_delay: 0 };
            let compress = ks.shared.cfg().rdbcompression();
            match snapshot::write_rdb(&snap, Vec::new(), compress) {
                Ok(buf) => match snapshot::load_rdb(&buf[..], Some(buf.len() as u64), ks.dbs.len(), false) {
                    Ok((dbs, _)) => {
                        ks.dbs = dbs;
                        ctx.out.ok();
                    }
                    Err(e) => ctx.error(format!("ERR Error trying to load the RDB dump: {}", e)),
                },
                Err(e) => ctx.error(format!("ERR Error trying to save the RDB dump: {}", e)),
            }
        }
        "change-repl-id" => {
            ks.feed.shift_replid(&ks.shared.log, None);
            ctx.out.ok();
        }
        _ => return false,
    }
    true
}

/// Addresses of a server's replication actors (the listener hands them to every client).
#[derive(Clone)]
pub struct ReplActors {
    pub backlog: Addr<Backlog>,
    pub link: Addr<link::MasterLink>,
}

/// Starts the replication actors of a server: the backlog and the master link.
pub async fn start(shared: &std::sync::Arc<crate::shared::Shared>, keyspace: &Addr<Keyspace>) -> Result<ReplActors, String> {
    let backlog = crate::rt::start(Backlog::new(shared.clone())).await.map_err(|e| e.to_string())?;
    crate::trace_msg!(shared.log, "server", "keyspace", "SetBacklog");
    let _ = keyspace.call(crate::keyspace::SetBacklog(backlog.clone())).await;
    let link = crate::rt::start(link::MasterLink::new(shared.clone(), keyspace.clone(), backlog.clone())).await.map_err(|e| e.to_string())?;
    let master = shared.cfg().replicaof();
    if let Some(m) = master {
        let by = link::Requester::server("config");
        let _ = link.call(link::SetMaster { target: Some(m), by }).await;
    }
    Ok(ReplActors { backlog, link })
}
