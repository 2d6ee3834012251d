//! The hand-off between a connection's reader task and its client actor.
//!
//! The reader sends each batch of requests it parsed as a message and goes back to the
//! socket without waiting for the answers: a client that sends one command at a time costs
//! one task switch less per command. The reader may run ahead of the actor by one batch at
//! most (a batch sent and not yet started); past that it waits here until the actor starts
//! the queued batch, so a client that pipelines faster than the server runs fills its socket
//! buffer, not the actor's mailbox.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};

/// Batches in flight from the reader to its client actor, and the reader's wake-up.
pub struct ReaderGate {
    /// Batches sent and not yet started by the actor.
    queued: AtomicU32,
    /// The reader waits for the queued batch to start.
    waiting: AtomicBool,
    /// The actor stopped: the reader waits no more.
    closed: AtomicBool,
    tx: flume::Sender<()>,
    rx: flume::Receiver<()>,
}

impl Default for ReaderGate {
    fn default() -> Self {
        let (tx, rx) = flume::bounded(1);
        ReaderGate { queued: AtomicU32::new(0), waiting: AtomicBool::new(false), closed: AtomicBool::new(false), tx, rx }
    }
}

impl ReaderGate {
    /// Reader: a batch was sent.
    pub fn sent(&self) {
        self.queued.fetch_add(1, SeqCst);
    }

    /// Actor: a batch starts; a reader waiting for room goes on.
    pub fn started(&self) {
        self.queued.fetch_sub(1, SeqCst);
        if self.waiting.load(SeqCst) {
            let _ = self.tx.try_send(());
        }
    }

    /// Actor: stopped (the reader must not wait for batches that will never start).
    pub fn close(&self) {
        self.closed.store(true, SeqCst);
        let _ = self.tx.try_send(());
    }

    /// Reader: waits until no sent batch is still waiting to start. False when the actor is
    /// gone.
    pub async fn room(&self) -> bool {
        loop {
            if self.closed.load(SeqCst) {
                return false;
            }
            if self.queued.load(SeqCst) == 0 {
                return true;
            }
            self.waiting.store(true, SeqCst);
            // Looked at again once the actor can see `waiting`: a start in between is not
            // missed (it sent the wake-up, or this sees the count it left).
            if self.queued.load(SeqCst) > 0 && !self.closed.load(SeqCst) {
                let _ = self.rx.recv_async().await;
            }
            self.waiting.store(false, SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_waits_for_the_queued_batch_to_start() {
        let gate = std::sync::Arc::new(ReaderGate::default());
        futures::executor::block_on(async {
            assert!(gate.room().await);
            gate.sent();
            let g = gate.clone();
            let t = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                g.started();
            });
            let t0 = std::time::Instant::now();
            assert!(gate.room().await);
            assert!(t0.elapsed() >= std::time::Duration::from_millis(40));
            t.join().unwrap();
            gate.sent();
            gate.close();
            assert!(!gate.room().await);
        });
    }
}
