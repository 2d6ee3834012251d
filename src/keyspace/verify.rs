//! Consistency proof at an offset, the keyspace's part (tandem's `tandem-verify` replica
//! capability; the comparison is the backlog's, in `repl::verify`).
//!
//! - A master starts a round in one handler ([`StartVerify`]): it takes its snapshot at
//!   offset O (copy-on-write, O(segments)) and appends the marker
//!   `REPLCONF GETACK * VERIFY O` to the stream right after it. Real Redis and Valkey treat the
//!   marker as a plain `GETACK` (they read no further than `GETACK`), and it is only sent
//!   while every attached replica announced the capability.
//! - A replica that reaches the marker has applied exactly O; its link asks for its own
//!   snapshot there ([`VerifyAt`]), again in one handler.
//! - Each side digests its snapshot off the actors' threads, with DEBUG DIGEST's function.
//!   The digest comes back to the keyspace ([`VerifyDigested`]), which hands it to its backlog
//!   as the reference its own replicas are judged against (so a chain verifies hop by hop);
//!   a replica's link also sends it to the master as `REPLCONF DIGEST O <digest>`.

use super::{snapshot, Db, Keyspace};
use crate::rt::{async_trait, Context, Handler, Message};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// The word after `REPLCONF GETACK *` that makes a GETACK a verification marker.
pub const MARK: &str = "VERIFY";

/// A master's verification rounds.
#[derive(Default)]
pub struct Rounds {
    /// The last round's digest is still being computed.
    pub in_flight: bool,
    /// When the last round started (ms).
    pub last_ms: i64,
}

/// Starts a verification round now (VERIFYREPLICAS, or the cron every `repl-verify-period`);
/// answers the round's offset, or why none started.
pub struct StartVerify {
    /// Who asks (trace participant).
    pub by: String,
}
impl Message for StartVerify {
    type Result = Result<i64, String>;
}

/// Replica side: the stream's marker for a round at `offset` was reached; answers the
/// receiver of this replica's digest there (None: the dataset is not at `offset`).
pub struct VerifyAt {
    pub offset: i64,
}
impl Message for VerifyAt {
    type Result = Option<flume::Receiver<String>>;
}

/// A digest of this server's dataset at `offset` was computed.
pub struct VerifyDigested {
    pub offset: i64,
    pub digest: String,
}
impl Message for VerifyDigested {
    type Result = ();
}

impl Keyspace {
    /// Starts a round if every attached replica can verify and one of them is online.
    pub(super) fn start_verify(&mut self) -> Result<i64, String> {
        if self.feed.replica_mode && self.is_replica {
            return Err("ERR verification rounds start on the master: this replica answers its master's".into());
        }
        let (capable, others) = {
            let reps = self.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner());
            let online = |r: &&std::sync::Arc<crate::shared::repl::ReplicaInfo>| r.state() == crate::shared::repl::ReplicaState::Online;
            (reps.iter().filter(|r| r.capa_verify).filter(online).count(), reps.iter().filter(|r| !r.capa_verify).map(|r| r.name()).collect::<Vec<_>>())
        };
        if !others.is_empty() {
            return Err(format!("ERR replicas without the tandem-verify capability are attached: {}", others.join(" ")));
        }
        if capable == 0 {
            return Err("ERR no online replica to verify".into());
        }
        if self.verify.in_flight {
            return Err("ERR a verification round is still computing its digest".into());
        }
        let f = &mut self.feed;
        f.flush();
        let offset = f.offset();
        let dbs = self.dbs.clone();
        let off = Bytes::from(offset.to_string());
        f.emit_dbless(&[Bytes::from_static(b"REPLCONF"), Bytes::from_static(b"GETACK"), Bytes::from_static(b"*"), Bytes::from_static(MARK.as_bytes()), off]);
        f.flush();
        self.verify.in_flight = true;
        self.verify.last_ms = crate::util::now_ms();
        self.shared.repl.verify.runs.fetch_add(1, Relaxed);
        self.digest_off_thread(dbs, offset, None);
        Ok(offset)
    }

    /// The cron's part: a round every `repl-verify-period` seconds (0: never) on a master
    /// whose replicas can all verify.
    pub(super) fn verify_cron(&mut self) {
        let period = self.shared.cfg().int("repl-verify-period") as i64;
        if self.verify.last_ms == 0 {
            // The first round comes a period after start, not at once.
            self.verify.last_ms = crate::util::now_ms();
        }
        if period <= 0 || self.is_replica || self.verify.in_flight {
            return;
        }
        // The cron runs once a second, give or take: a round due within 100 ms starts now.
        if crate::util::now_ms() - self.verify.last_ms + 100 < period * 1000 {
            return;
        }
        let wanted = {
            let reps = self.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner());
            !reps.is_empty() && reps.iter().all(|r| r.capa_verify) && reps.iter().any(|r| r.state() == crate::shared::repl::ReplicaState::Online)
        };
        if wanted {
            crate::trace_msg!(self.shared.log, "timer", "keyspace", "StartVerify");
            let _ = self.start_verify();
        }
    }

    /// Digests `dbs` (the dataset at `offset`) on a blocking thread; the digest goes to
    /// `to` (the master link) and back to this actor.
    fn digest_off_thread(&self, dbs: Vec<Db>, offset: i64, to: Option<flume::Sender<String>>) {
        let me = self.me.clone();
        crate::rt::spawn(async move {
            let digest = crate::rt::spawn_blocking(move || {
                // At the lowest CPU priority: a round must not slow the clients down.
                let _nice = crate::util::LowPriority::new();
                snapshot::digest(&dbs)
            })
            .await;
            if let Some(tx) = to {
                let _ = tx.send(digest.clone());
            }
            if let Some(me) = me.and_then(|m| m.upgrade()) {
                let _ = me.send(VerifyDigested { offset, digest });
            }
        });
    }
}

#[async_trait]
impl Handler<StartVerify> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: StartVerify) -> Result<i64, String> {
        crate::trace_msg!(self.shared.log, msg.by, "keyspace", "StartVerify");
        let r = self.start_verify();
        match &r {
            Ok(o) => crate::trace_reply!(self.shared.log, "keyspace", msg.by, "Round(offset={}) {{off={}}}", o, o),
            Err(e) => crate::trace_reply!(self.shared.log, "keyspace", msg.by, "NoRound({})", e),
        }
        r
    }
}

#[async_trait]
impl Handler<VerifyAt> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: VerifyAt) -> Option<flume::Receiver<String>> {
        self.feed.flush();
        if self.feed.offset() != msg.offset {
            crate::verbose!(self.shared.log, "Verification marker for offset {} met at offset {}: skipped", msg.offset, self.feed.offset());
            return None;
        }
        let (tx, rx) = flume::bounded(1);
        self.digest_off_thread(self.dbs.clone(), msg.offset, Some(tx));
        Some(rx)
    }
}

#[async_trait]
impl Handler<VerifyDigested> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: VerifyDigested) {
        crate::trace_msg!(self.shared.log, "digest-worker", "keyspace", "VerifyDigested(offset={}, {}) {{off={}}}", msg.offset, msg.digest, msg.offset);
        self.verify.in_flight = false;
        if let Some(sink) = &self.feed.sink {
            sink.verify_reference(msg.offset, msg.digest);
        }
    }
}
