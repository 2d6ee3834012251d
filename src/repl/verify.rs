//! Consistency proof at an offset, the backlog's part: it holds this server's digests at the
//! offsets of recent rounds (the references, from the keyspace) and judges each replica's
//! digest for the same offset (`REPLCONF DIGEST <offset> <digest>`, which the replica's actor
//! reads). A verdict is published on the replica's [`ReplicaInfo`](crate::shared::repl::ReplicaInfo)
//! for INFO, a mismatch is logged loudly, and VERIFYREPLICAS waits here for every verifying
//! replica's verdict. The keyspace's part (snapshots and the stream marker) is in
//! `keyspace::verify`.

use super::backlog::Backlog;
use crate::rt::{async_trait, Addr, Context, Handler, Message};
use crate::shared::repl::{Verdict, Verified};
use crate::shared::Shared;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;

/// References kept (rounds are seconds apart; a replica answers within one).
const KEEP_REFS: usize = 16;
/// Replica digests kept while their reference is computed.
const KEEP_EARLY: usize = 256;

/// The backlog's verification state.
#[derive(Default)]
pub struct Verifier {
    /// (offset, this server's digest there), oldest first.
    refs: VecDeque<(i64, String)>,
    /// Replica digests that came before the reference: (replica id, offset, digest).
    early: Vec<(u64, i64, String)>,
    /// VERIFYREPLICAS calls waiting for the verdicts of a round.
    waiters: Vec<AwaitVerdicts>,
}

impl Verifier {
    fn reference(&self, offset: i64) -> Option<&str> {
        self.refs.iter().find(|(o, _)| *o == offset).map(|(_, d)| d.as_str())
    }
}

/// Judges `digest`, `replica`'s at `offset`, against `reference`: publishes the verdict,
/// logs a mismatch loudly.
fn judge(shared: &Shared, replica: u64, offset: i64, digest: String, reference: &str) {
    let verdict = if digest == reference { Verdict::Match } else { Verdict::Mismatch };
    let reps = shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner());
    let Some(info) = reps.iter().find(|r| r.id == replica) else { return };
    let name = info.name();
    match verdict {
        Verdict::Match => {
            shared.repl.verify.matches.fetch_add(1, Relaxed);
            crate::verbose!(shared.log, "Replica {} verified at offset {}: its dataset equals ours (digest {})", name, offset, digest);
        }
        Verdict::Mismatch => {
            shared.repl.verify.mismatches.fetch_add(1, Relaxed);
            crate::warning!(
                shared.log,
                "DIVERGENCE: replica {} holds a different dataset than this server at replication offset {}: its digest {}, ours {}",
                name,
                offset,
                digest,
                reference
            );
        }
    }
    *info.verified.lock().unwrap_or_else(|e| e.into_inner()) = Some(Verified { offset, verdict, digest });
}

/// Every online replica that verifies has a verdict for `offset`.
fn round_done(shared: &Shared, offset: i64) -> bool {
    let reps = shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner());
    reps.iter().filter(|r| r.capa_verify && r.state() == crate::shared::repl::ReplicaState::Online).all(|r| {
        r.verified.lock().map(|v| v.as_ref().is_some_and(|v| v.offset >= offset)).unwrap_or(false)
    })
}

impl Backlog {
    /// Answers the VERIFYREPLICAS calls whose round every verifying replica answered.
    fn answer_verify_waiters(&mut self) {
        let shared = self.shared.clone();
        self.verify.waiters.retain(|w| {
            if round_done(&shared, w.offset) {
                crate::trace_reply!(shared.log, "backlog", format_args!("client:{}", w.client), "Verdicts(offset={}) {{off={}}}", w.offset, w.offset);
                let _ = w.reply.try_send(());
                false
            } else {
                !w.reply.is_disconnected()
            }
        });
    }
}

/// The keyspace's digest of this server's dataset at `offset` (the feed's sink sends it).
pub struct Reference {
    pub offset: i64,
    pub digest: String,
}
impl Message for Reference {
    type Result = ();
}

/// A replica's digest at `offset`, as its actor read it.
pub struct ReplicaDigest {
    pub replica: u64,
    pub offset: i64,
    pub digest: String,
}
impl Message for ReplicaDigest {
    type Result = ();
}

/// VERIFYREPLICAS: `reply` gets `()` once every verifying replica judged the round at
/// `offset` (the caller gives up at its timeout).
pub struct AwaitVerdicts {
    pub client: u64,
    pub offset: i64,
    pub reply: flume::Sender<()>,
}
impl Message for AwaitVerdicts {
    type Result = ();
}

/// Forwards the keyspace's references to the backlog actor.
pub fn send_reference(backlog: &Addr<Backlog>, offset: i64, digest: String) {
    let _ = backlog.send(Reference { offset, digest });
}

#[async_trait]
impl Handler<Reference> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Reference) {
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "Reference(offset={}, {}) {{off={}}}", msg.offset, msg.digest, msg.offset);
        let v = &mut self.verify;
        v.refs.retain(|(o, _)| *o != msg.offset);
        v.refs.push_back((msg.offset, msg.digest.clone()));
        while v.refs.len() > KEEP_REFS {
            v.refs.pop_front();
        }
        let early: Vec<_> = std::mem::take(&mut v.early);
        for (id, off, d) in early {
            if off == msg.offset {
                judge(&self.shared, id, off, d, &msg.digest);
            } else if off > msg.offset {
                self.verify.early.push((id, off, d));
            }
        }
        self.answer_verify_waiters();
    }
}

#[async_trait]
impl Handler<ReplicaDigest> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ReplicaDigest) {
        match self.verify.reference(msg.offset).map(str::to_string) {
            Some(r) => judge(&self.shared, msg.replica, msg.offset, msg.digest, &r),
            None => {
                if self.verify.early.len() < KEEP_EARLY {
                    self.verify.early.push((msg.replica, msg.offset, msg.digest));
                }
            }
        }
        self.answer_verify_waiters();
    }
}

#[async_trait]
impl Handler<AwaitVerdicts> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: AwaitVerdicts) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client), "backlog", "AwaitVerdicts(offset={}) {{off={}}}", msg.offset, msg.offset);
        self.verify.waiters.push(msg);
        self.answer_verify_waiters();
    }
}
