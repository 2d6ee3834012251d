//! FAILOVER: hand the master role to a replica without losing a write.
//!
//! The command pauses writes, waits until the target replica's ACK equals our offset (no
//! PINGs or GETACKs enter the stream meanwhile, so the offset stands still), then makes this
//! server a replica of the target with `PSYNC <replid> <offset> FAILOVER`, which makes the
//! target promote itself and continue our history.

use super::backlog::Backlog;
use super::link::{MasterLink, Requester, SetMaster, SetMasterFailover};
use super::ReplActors;
use crate::keyspace::Keyspace;
use crate::rt::{self, Addr};
use crate::shared::Shared;
pub use crate::shared::repl::{Failover, FailoverState};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Clears the failover and lets writes go on (the backlog stops waiting for a synced replica).
pub fn clear(shared: &Shared, backlog: &Addr<Backlog>) {
    if let Ok(mut f) = shared.repl.failover.lock() {
        *f = Failover::default();
    }
    shared.pause.failover.store(false, Relaxed);
    shared.pause.wake();
    let _ = backlog.send(super::backlog::CancelSynced);
}

/// Gives up: back to master if we already pointed at the target.
pub async fn abort(shared: &Arc<Shared>, backlog: &Addr<Backlog>, link: &Addr<MasterLink>, why: &str) {
    let f = shared.repl.failover.lock().map(|f| f.clone()).unwrap_or_default();
    if f.state == FailoverState::NoFailover {
        return;
    }
    match &f.target {
        Some((h, p)) => crate::notice!(shared.log, "FAILOVER to {}:{} aborted: {}", h, p, why),
        None => crate::notice!(shared.log, "FAILOVER to any replica aborted: {}", why),
    }
    if f.state == FailoverState::InProgress {
        let _ = link.call(SetMaster { target: None, by: Requester::server("failover") }).await;
    }
    clear(shared, backlog);
}

/// Waits until the target (or any) replica is in sync, or the timeout, then switches roles.
/// A conversation with the backlog, which learns the replicas' ACKs: it answers `WaitSynced`
/// when one has acknowledged the paused master's offset; `clear` (abort) cancels it.
pub async fn run(shared: Arc<Shared>, keyspace: Addr<Keyspace>, actors: ReplActors) {
    let (backlog, link) = (&actors.backlog, &actors.link);
    loop {
        let f = shared.repl.failover.lock().map(|f| f.clone()).unwrap_or_default();
        if f.state != FailoverState::WaitingForSync {
            return;
        }
        // Writes are paused; commands already running may still move the offset once.
        let offset = keyspace.call(super::CurrentOffset("failover")).await.unwrap_or(-1);
        let (tx, rx) = flume::bounded(1);
        let _ = backlog.send(super::backlog::WaitSynced { target: f.target.clone(), offset, reply: tx });
        let wait = if f.end_ms > 0 {
            Duration::from_millis((f.end_ms - crate::util::now_ms()).max(0) as u64)
        } else {
            Duration::from_secs(3600)
        };
        let target = match rt::timeout(wait, rx.recv_async()).await {
            Some(Ok(t)) => {
                if keyspace.call(super::CurrentOffset("failover")).await.unwrap_or(-1) != offset {
                    continue; // a late write: wait for that offset instead
                }
                crate::notice!(shared.log, "Failover target {}:{} is synced, failing over.", t.0, t.1);
                t
            }
            // Cancelled (FAILOVER ABORT, role change): the state says whether to go on.
            Some(Err(_)) => continue,
            None if f.end_ms == 0 => continue,
            None => {
                let _ = backlog.send(super::backlog::CancelSynced);
                match (&f.target, f.force) {
                    (Some((h, p)), true) => {
                        crate::notice!(shared.log, "FAILOVER to {}:{} time out exceeded, failing over.", h, p);
                        (h.clone(), *p)
                    }
                    _ => {
                        abort(&shared, &actors.backlog, &actors.link, "Replica never caught up before timeout").await;
                        return;
                    }
                }
            }
        };
        let still = shared.repl.failover.lock().map(|mut fl| {
            let go = fl.state == FailoverState::WaitingForSync;
            if go {
                fl.state = FailoverState::InProgress;
                fl.target = Some(target.clone());
            }
            go
        });
        if still.unwrap_or(false) {
            let _ = link.call(SetMasterFailover { target, by: Requester::server("failover") }).await;
        }
        return;
    }
}
