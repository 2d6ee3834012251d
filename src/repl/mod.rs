//! Replication as conversations between actors.
//!
//! - [`backlog::Backlog`]: the ring buffer and the fan-out to replicas; the keyspace's
//!   [`Feed`](crate::keyspace::Feed) (its side of the stream: IDs, offsets, SELECT and
//!   MULTI/EXEC wrapping) hands it the stream as its sink.
//! - [`replica::Replica`]: one per attached replica on a master.
//! - [`link::MasterLink`]: the replica side's state machine and the role.
//! - [`failover`]: FAILOVER's conversation with the backlog and the link.
//! - [`commands`]: REPLCONF, SYNC/PSYNC, WAIT, REPLICAOF, FAILOVER, as a client runs them.
//! - `handlers`: what these actors ask of the keyspace, and its handlers for that.
//!
//! The state other actors read (link status, role, replicas, failover) is published to
//! [`Shared::repl`](crate::shared::Shared::repl); the actors' addresses go around as
//! [`ReplActors`].

pub mod backlog;
pub mod commands;
pub mod failover;
mod handlers;
pub mod link;
pub mod replica;
pub mod replbuf;
pub mod verify;

use crate::keyspace::Keyspace;
use crate::rt::Addr;
use backlog::Backlog;

pub use handlers::{ApplyStream, CanContinue, BeginSyncLoad, CachedMaster, EndSyncLoad, Continued, CurrentOffset, GetAck, HistoryOf, LoadSnapshot, WaitOffset, Psync, PsyncOutcome, SetRole};
pub use link::{LinkStatus, Role};

/// Addresses of a server's replication actors (the listener hands them to every client).
#[derive(Clone)]
pub struct ReplActors {
    pub backlog: Addr<Backlog>,
    /// The backlog's blocks, which replicas' socket writers read.
    pub buf: replbuf::ReplBuf,
    pub link: Addr<link::MasterLink>,
}

/// Starts the replication actors of a server: the backlog and the master link.
pub async fn start(shared: &std::sync::Arc<crate::shared::Shared>, keyspace: &Addr<Keyspace>) -> Result<ReplActors, String> {
    let buf = replbuf::ReplBuf::default();
    let backlog = crate::rt::start(Backlog::new(shared.clone(), buf.clone())).await.map_err(|e| e.to_string())?;
    crate::trace_msg!(shared.log, "server", "keyspace", "SetBacklog");
    let _ = keyspace.call(crate::keyspace::SetBacklog(Box::new(backlog.clone()))).await;
    let link = crate::rt::start(link::MasterLink::new(shared.clone(), keyspace.clone(), backlog.clone())).await.map_err(|e| e.to_string())?;
    let master = shared.cfg().replicaof();
    if let Some(m) = master {
        let by = link::Requester::server("config");
        let _ = link.call(link::SetMaster { target: Some(m), by }).await;
    }
    Ok(ReplActors { backlog, buf, link })
}
