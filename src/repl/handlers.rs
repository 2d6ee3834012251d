//! What the replication actors ask of the keyspace, and the keyspace's handlers for it (they
//! run in its order, between client batches, through the methods the keyspace offers).
//!
//! - Master side: [`Psync`] (the history check, and a partial resync's backlog subscription
//!   made in the same handler), [`GetAck`] (WAIT), [`CurrentOffset`] (FAILOVER).
//! - Replica side: [`CachedMaster`] (what to PSYNC with), [`Continued`], [`LoadSnapshot`],
//!   [`ApplyStream`], and the role ([`SetRole`]).

use super::backlog::{Backlog, Subscribe};
use super::replica::Replica;
use super::Role;
use crate::keyspace::fullsync::Outlet;
use crate::keyspace::{Db, Keyspace};
use crate::rt::{async_trait, Addr, Context, Handler, Message};
use crate::shared::ClientMeta;
use bytes::Bytes;
use std::sync::Arc;

/// How a PSYNC ends.
#[derive(Debug)]
pub enum PsyncOutcome {
    /// Partial resync: the backlog already streams to the replica from its offset.
    Continue { replid: String },
    /// The replica needs the whole dataset.
    FullResync,
    /// A tandem replica whose full sync was cut resumes it: the rest of the RDB of the kept
    /// snapshot at `offset`, from byte `from`.
    Resume { replid: String, offset: i64, from: u64 },
    /// An error reply (e.g. `NOMASTERLINK ...`).
    Error(String),
}

/// `PSYNC <replid> <offset>` from a replica (SYNC: `psync = false`).
pub struct Psync {
    pub id: u64,
    pub name: String,
    pub replid: String,
    pub offset: i64,
    pub psync: bool,
    pub replica: Addr<Replica>,
    pub out: Outlet,
    pub meta: Arc<ClientMeta>,
    /// The backlog a partial resync subscribes the replica to.
    pub backlog: Addr<Backlog>,
    /// `REPLCONF resume`: the snapshot (replid, offset) whose RDB the replica has up to a byte.
    pub resume: Option<(String, i64, u64)>,
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
    /// The function libraries the RDB carried.
    pub functions: Vec<bytes::Bytes>,
}
impl Message for LoadSnapshot {
    type Result = ();
}

/// Replica side: commands from the master's stream, with their raw bytes.
pub struct ApplyStream {
    pub batch: crate::keyspace::MasterBatch,
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

/// Replica side: the master answered `+CONTINUE <replid>`.
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
/// master_repl_offset now; the field names who asks (for the trace).
pub struct CurrentOffset(pub &'static str);
impl Message for CurrentOffset {
    type Result = i64;
}

#[async_trait]
impl Handler<CurrentOffset> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: CurrentOffset) -> i64 {
        crate::trace_msg!(self.shared().log, msg.0, "keyspace", "CurrentOffset");
        self.feed_mut().flush();
        let offset = self.feed().offset();
        crate::trace_reply!(self.shared().log, "keyspace", msg.0, "Offset({}) {{off={}}}", offset, offset);
        offset
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
        let outcome = psync(self, &msg).await;
        crate::trace_reply!(self.shared().log, "keyspace", format_args!("client:{}", msg.id), "{:?} {{off={} conv={}}}", outcome, self.feed().offset(), msg.name);
        outcome
    }
}

/// The PSYNC check: a partial resync when our history holds the replica's offset (it is
/// then subscribed to the backlog from there), else a full resync.
async fn psync(ks: &mut Keyspace, msg: &Psync) -> PsyncOutcome {
    let log = ks.shared().log.clone();
    crate::trace_msg!(log, format_args!("client:{}", msg.id), "keyspace", "Psync(replid={}, offset={}) {{conv={}}}", msg.replid, msg.offset, msg.name);
    if let Some((replid, offset, from)) = &msg.resume {
        if ks.resume_ready(replid, *offset) {
            return PsyncOutcome::Resume { replid: replid.clone(), offset: *offset, from: *from };
        }
        crate::notice!(log, "Replica {} asks to resume a full sync whose snapshot is no longer kept", msg.name);
    }
    let f = ks.feed_mut();
    f.flush();
    f.start_backlog();
    if msg.psync && msg.replid != "?" {
        let id_ok = msg.replid == f.replid() || (msg.replid == f.replid2() && msg.offset <= f.second_offset());
        if !id_ok {
            if msg.replid != f.replid() && msg.replid != f.replid2() {
                crate::notice!(log,
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    msg.replid, f.replid(), f.replid2()
                );
            } else {
                crate::notice!(log,
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    msg.offset, f.second_offset()
                );
            }
            f.stats_mut().sync_partial_err += 1;
        } else {
            let sub = Subscribe {
                id: msg.id,
                name: msg.name.clone(),
                replica: msg.replica.clone(),
                out: msg.out.clone(),
                meta: msg.meta.clone(),
                from: msg.offset,
            };
            match msg.backlog.call(sub).await {
                Ok(Ok(n)) => {
                    f.stats_mut().sync_partial_ok += 1;
                    crate::notice!(log,
                        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
                        msg.name, n, msg.offset
                    );
                    return PsyncOutcome::Continue { replid: f.replid().to_string() };
                }
                _ => {
                    f.stats_mut().sync_partial_err += 1;
                    crate::notice!(log,
                        "Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).",
                        msg.name, msg.offset
                    );
                }
            }
        }
    }
    f.stats_mut().sync_full += 1;
    PsyncOutcome::FullResync
}

#[async_trait]
impl Handler<LoadSnapshot> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: LoadSnapshot) {
        self.load_snapshot(msg.dbs, msg.replid, msg.offset, msg.stream_db);
        self.load_functions(&msg.functions);
        self.end_sync_load();
        self.feed_mut().answer_offset_waiters();
    }
}

/// Replica side: a full sync's RDB starts arriving from the master with `master_replid`;
/// the keyspace answers how it loads (and enters the loading state that implies).
pub struct BeginSyncLoad {
    pub master_replid: String,
    pub size: Option<u64>,
}
impl Message for BeginSyncLoad {
    type Result = crate::keyspace::persist::SyncLoad;
}

#[async_trait]
impl Handler<BeginSyncLoad> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: BeginSyncLoad) -> crate::keyspace::persist::SyncLoad {
        let mode = self.begin_sync_load(&msg.master_replid, msg.size);
        crate::trace_reply!(self.shared().log, "keyspace", "link-io", "{:?}", mode);
        mode
    }
}

/// Replica side: the full sync's load ended without a dataset (the transfer failed).
pub struct EndSyncLoad;
impl Message for EndSyncLoad {
    type Result = ();
}

#[async_trait]
impl Handler<EndSyncLoad> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: EndSyncLoad) {
        crate::trace_msg!(self.shared().log, "link-io", "keyspace", "EndSyncLoad");
        self.end_sync_load();
    }
}

#[async_trait]
impl Handler<ApplyStream> for Keyspace {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: ApplyStream) -> (usize, i64) {
        let db = self.apply_master_stream(&msg.batch, msg.db);
        self.flush_feed_soon(ctx);
        self.feed_mut().answer_offset_waiters();
        (db, self.feed().offset())
    }
}

#[async_trait]
impl Handler<CachedMaster> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: CachedMaster) -> Option<(String, i64, usize)> {
        self.feed_mut().cached_master()
    }
}

#[async_trait]
impl Handler<Continued> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Continued) {
        self.feed_mut().continue_history(msg.replid);
        self.feed_mut().answer_offset_waiters();
    }
}

#[async_trait]
impl Handler<SetRole> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetRole) {
        self.set_role(msg.0);
        self.feed_mut().answer_offset_waiters();
    }
}

#[async_trait]
impl Handler<GetAck> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: GetAck) -> i64 {
        crate::trace_msg!(self.shared().log, format_args!("client:{}", msg.0), "keyspace", "GetAck {{off={}}}", self.feed().offset());
        let f = self.feed_mut();
        f.emit_dbless(&[Bytes::from_static(b"REPLCONF"), Bytes::from_static(b"GETACK"), Bytes::from_static(b"*")]);
        f.flush();
        f.offset()
    }
}

/// Dual-channel: whether a PSYNC from `replid` at `offset` could continue now (the same
/// history check as PSYNC's, and the backlog's range as it last published it). A replica
/// that cannot is answered `+DUALCHANNELSYNC`; that counts as a failed partial resync.
pub struct CanContinue {
    pub client: u64,
    pub name: String,
    pub replid: String,
    pub offset: i64,
}
impl Message for CanContinue {
    type Result = bool;
}

#[async_trait]
impl Handler<CanContinue> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: CanContinue) -> bool {
        crate::trace_msg!(self.shared().log, format_args!("client:{}", msg.client), "keyspace", "CanContinue(replid={}, offset={}) {{conv={}}}", msg.replid, msg.offset, msg.name);
        let shared = self.shared().clone();
        let f = self.feed_mut();
        f.flush();
        let id_ok = msg.replid == f.replid() || (msg.replid == f.replid2() && msg.offset <= f.second_offset());
        let first = shared.repl.backlog_first.load(std::sync::atomic::Ordering::Relaxed);
        let len = shared.repl.backlog_histlen.load(std::sync::atomic::Ordering::Relaxed);
        let ok = msg.replid != "?" && f.backlog_active() && id_ok && msg.offset >= first && msg.offset <= first + len;
        if !ok && msg.replid != "?" {
            f.stats_mut().sync_partial_err += 1;
        }
        crate::trace_reply!(shared.log, "keyspace", format_args!("client:{}", msg.client), "{} {{conv={}}}", if ok { "CanContinue" } else { "MustFullSync" }, msg.name);
        ok
    }
}

/// WAITOFFSET: reach `offset` of history `replid`. Answered at once unless pending; a pending
/// waiter is answered on `reply` by the handler that applies the stream (or changes the
/// history) reaching it.
pub struct WaitOffset {
    pub client: u64,
    pub replid: String,
    pub offset: i64,
    pub reply: flume::Sender<crate::keyspace::feed::Reach>,
}
impl Message for WaitOffset {
    type Result = crate::keyspace::feed::Reach;
}

#[async_trait]
impl Handler<WaitOffset> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: WaitOffset) -> crate::keyspace::feed::Reach {
        use crate::keyspace::feed::{OffsetWaiter, Reach};
        let f = self.feed_mut();
        f.flush();
        let reach = f.reach(&msg.replid, msg.offset);
        crate::trace_msg!(self.shared().log, format_args!("client:{}", msg.client), "keyspace", "WaitOffset(replid={}, offset={}) {{off={}}}", msg.replid, msg.offset, self.feed().offset());
        crate::trace_reply!(self.shared().log, "keyspace", format_args!("client:{}", msg.client), "{:?}", reach);
        if reach == Reach::Pending {
            self.feed_mut().offset_waiters.push(OffsetWaiter { client: msg.client, replid: msg.replid, offset: msg.offset, reply: msg.reply });
        }
        reach
    }
}

/// WRITEOFFSET: the history `offset` (a client's last write) belongs to here.
pub struct HistoryOf {
    pub client: u64,
    pub offset: i64,
}
impl Message for HistoryOf {
    type Result = String;
}

#[async_trait]
impl Handler<HistoryOf> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: HistoryOf) -> String {
        crate::trace_msg!(self.shared().log, format_args!("client:{}", msg.client), "keyspace", "HistoryOf(offset={})", msg.offset);
        let id = self.feed().history_of(msg.offset).to_string();
        crate::trace_reply!(self.shared().log, "keyspace", format_args!("client:{}", msg.client), "History({})", id);
        id
    }
}
