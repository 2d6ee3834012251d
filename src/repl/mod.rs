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
mod handlers;
pub mod link;
pub mod replica;

use crate::keyspace::Keyspace;
use crate::rt::Addr;
use backlog::Backlog;

pub use handlers::{ApplyStream, CachedMaster, Continued, CurrentOffset, GetAck, LoadSnapshot, Psync, PsyncOutcome, SetRole};
pub use link::{LinkStatus, Role};

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
