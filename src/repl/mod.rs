//! Replication as conversations between actors.
//!
//! - [`Feed`](crate::keyspace::Feed) (in the keyspace): the keyspace's side of the stream
//!   (IDs, offsets, SELECT and MULTI/EXEC wrapping); the keyspace is its only writer.
//! - [`backlog::Backlog`]: the ring buffer and the fan-out to replicas.
//! - [`replica::Replica`]: one per attached replica on a master.
//! - [`link::MasterLink`]: the replica side's state machine and the role.

pub mod backlog;
pub mod commands;
pub mod failover;
pub mod link;
pub mod replica;

use crate::keyspace::{Db, Keyspace};
use crate::rt::{async_trait, Addr, Context, Handler, Message};
use backlog::{Backlog, Subscribe};
use bytes::Bytes;
use replica::Replica;
use std::sync::atomic::Ordering::Relaxed;

pub use link::{LinkStatus, Role};

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
    pub out: crate::keyspace::fullsync::Outlet,
    pub meta: std::sync::Arc<crate::shared::ClientMeta>,
    /// The backlog a partial resync subscribes the replica to.
    pub backlog: Addr<Backlog>,
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
            } else {
                let bl = &msg.backlog;
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
        // Sub-replicas followed another history: they must resync.
        f.drop_replicas();
        f.restart_backlog(msg.offset);
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
            self.feed.drop_replicas();
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
            self.feed.drop_replicas();
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
    let _ = keyspace.call(crate::keyspace::SetBacklog(Box::new(backlog.clone()))).await;
    let link = crate::rt::start(link::MasterLink::new(shared.clone(), keyspace.clone(), backlog.clone())).await.map_err(|e| e.to_string())?;
    let master = shared.cfg().replicaof();
    if let Some(m) = master {
        let by = link::Requester::server("config");
        let _ = link.call(link::SetMaster { target: Some(m), by }).await;
    }
    Ok(ReplActors { backlog, link })
}
