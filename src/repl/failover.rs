//! FAILOVER: hand the master role to a replica without losing a write.
//!
//! The command pauses writes, waits until the target replica's ACK equals our offset (no
//! PINGs or GETACKs enter the stream meanwhile, so the offset stands still), then makes this
//! server a replica of the target with `PSYNC <replid> <offset> FAILOVER`, which makes the
//! target promote itself and continue our history.

use super::master_link::{MasterLink, SetMaster};
use crate::keyspace::Keyspace;
use crate::rt::{self, Addr};
use crate::shared::Shared;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

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

pub fn state(shared: &Shared) -> FailoverState {
    shared.repl.failover.lock().map(|f| f.state).unwrap_or_default()
}

/// Clears the failover and lets writes go on.
pub fn clear(shared: &Shared) {
    if let Ok(mut f) = shared.repl.failover.lock() {
        *f = Failover::default();
    }
    shared.pause.failover.store(false, Relaxed);
}

/// Gives up: back to master if we already pointed at the target.
pub async fn abort(shared: &Arc<Shared>, link: &Addr<MasterLink>, why: &str) {
    let f = shared.repl.failover.lock().map(|f| f.clone()).unwrap_or_default();
    if f.state == FailoverState::NoFailover {
        return;
    }
    match &f.target {
        Some((h, p)) => log::info!("FAILOVER to {}:{} aborted: {}", h, p, why),
        None => log::info!("FAILOVER to any replica aborted: {}", why),
    }
    if f.state == FailoverState::InProgress {
        let _ = link.call(SetMaster(None)).await;
    }
    clear(shared);
}

/// Watches the replicas until the target is in sync (or the timeout), then switches roles.
pub async fn run(shared: Arc<Shared>, keyspace: Addr<Keyspace>, link: Addr<MasterLink>) {
    loop {
        rt::sleep(Duration::from_millis(10)).await;
        let f = shared.repl.failover.lock().map(|f| f.clone()).unwrap_or_default();
        if f.state != FailoverState::WaitingForSync {
            return;
        }
        let now = crate::util::now_ms();
        let offset = keyspace.call(super::CurrentOffset).await.unwrap_or(-1);
        let target = if f.end_ms > 0 && f.end_ms <= now {
            if f.force {
                if let Some((h, p)) = &f.target {
                    log::info!("FAILOVER to {}:{} time out exceeded, failing over.", h, p);
                }
                f.target.clone()
            } else {
                abort(&shared, &link, "Replica never caught up before timeout").await;
                return;
            }
        } else {
            let replicas = shared.repl.replicas.lock().map(|r| r.clone()).unwrap_or_default();
            let synced = replicas.iter().find(|r| {
                let port = r.port.load(Relaxed) as u16;
                f.target.as_ref().is_none_or(|(h, p)| *h == r.ip && *p == port)
                    && r.ack_offset.load(Relaxed) == offset
            });
            match synced {
                Some(r) => {
                    let t = (r.ip.clone(), r.port.load(Relaxed) as u16);
                    log::info!("Failover target {}:{} is synced, failing over.", t.0, t.1);
                    Some(t)
                }
                None => None,
            }
        };
        if let Some(t) = target {
            if let Ok(mut fl) = shared.repl.failover.lock() {
                fl.state = FailoverState::InProgress;
                fl.target = Some(t.clone());
            }
            let _ = link.call(super::master_link::SetMasterFailover(t)).await;
            return;
        }
    }
}
