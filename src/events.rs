//! Replication events an embedding application can follow
//! ([`ServerHandle::events`](crate::ServerHandle::events)): role and link state changes,
//! syncs starting and finishing, replicas coming online and going away.
//!
//! Delivery never stalls the server: each subscriber has a bounded queue (1024 events) and
//! an event that finds it full is dropped for that subscriber; a subscriber that dropped its
//! receiver is forgotten at the next event.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;

/// Something that happened to a server's replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplEvent {
    /// The server became a replica of `master` (`Some`), or a master (`None`).
    Role {
        /// The master's host and port; `None` after a promotion.
        master: Option<(String, u16)>,
    },
    /// The master link moved to a new state (Redis's `REPL_STATE_*` names, e.g.
    /// `Connecting`, `ReceivePsync`, `Transfer`, `Connected`).
    LinkState(String),
    /// A sync with the master began: `full` (an RDB follows) or partial (`+CONTINUE`).
    SyncStarted {
        /// True for a full resync, false for a partial one.
        full: bool,
    },
    /// The sync finished: the replica streams from `offset`.
    SyncFinished {
        /// True for a full resync, false for a partial one.
        full: bool,
        /// The replication offset the stream continues from.
        offset: i64,
    },
    /// The link to the master was lost after being up.
    LinkLost,
    /// A replica (`ip:port`) is online on this master.
    ReplicaOnline(String),
    /// A replica (`ip:port`) went away.
    ReplicaLost(String),
}

/// A server's event subscribers.
#[derive(Default)]
pub struct EventBus {
    any: AtomicBool,
    subs: Mutex<Vec<flume::Sender<ReplEvent>>>,
}

impl EventBus {
    /// A new subscription: every event from now on.
    pub fn subscribe(&self) -> flume::Receiver<ReplEvent> {
        let (tx, rx) = flume::bounded(1024);
        self.subs.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        self.any.store(true, Relaxed);
        rx
    }

    /// Delivers `ev` to every subscriber (one atomic load when there is none).
    pub fn emit(&self, ev: ReplEvent) {
        if !self.any.load(Relaxed) {
            return;
        }
        let mut subs = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|tx| !tx.is_disconnected());
        for tx in subs.iter() {
            let _ = tx.try_send(ev.clone());
        }
        if subs.is_empty() {
            self.any.store(false, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_drops_and_forgets() {
        let bus = EventBus::default();
        bus.emit(ReplEvent::LinkLost); // nobody listens: nothing kept
        let a = bus.subscribe();
        let b = bus.subscribe();
        bus.emit(ReplEvent::ReplicaOnline("127.0.0.1:6380".into()));
        assert_eq!(a.try_recv().unwrap(), ReplEvent::ReplicaOnline("127.0.0.1:6380".into()));
        assert_eq!(b.try_recv().unwrap(), ReplEvent::ReplicaOnline("127.0.0.1:6380".into()));
        drop(b);
        for _ in 0..2000 {
            bus.emit(ReplEvent::LinkLost);
        }
        assert_eq!(a.len(), 1024, "a full queue drops, never blocks");
        assert_eq!(bus.subs.lock().unwrap().len(), 1, "the dropped receiver is forgotten");
    }
}
