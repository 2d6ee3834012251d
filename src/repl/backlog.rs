//! The backlog actor: the replication stream's shared buffer and its fan-out to replicas.
//!
//! As in Redis 7.0, the backlog and the replicas' output share one buffer: the backlog keeps
//! the last `repl-backlog-size` bytes, and also every older block some replica still needs
//! (one waiting for its RDB, or with bytes its socket has not taken yet), so the history can
//! grow past the configured size and still serve partial resyncs. The keyspace is the only
//! sender of `Append`, so the stream is held in order. A replica subscribes from an offset
//! (in the same handler as its snapshot or PSYNC check); once it is online, its socket writer
//! reads the stream from its offset straight out of the backlog's blocks ([`ReplBuf`]), as
//! Redis's replicas reference its buffer blocks: fan-out copies no data and queues nothing
//! per write. `client-output-buffer-limit replica` is enforced here over what a replica pins.

use crate::keyspace::fullsync::Outlet;
use super::replica::{Close, Replica};
use crate::keyspace::StreamSink;
use crate::rt::{async_trait, Actor, Addr, Context, Handler, Message};
use crate::shared::{ClientMeta, Shared};
use super::replbuf::ReplBuf;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A subscribed replica.
struct Sub {
    id: u64,
    /// `ip:port` of the replica (trace participant `replica:<name>`, conversation id).
    name: String,
    replica: Addr<Replica>,
    out: Outlet,
    meta: Arc<ClientMeta>,
    /// Offset of the first byte this replica gets (the writer streams from there once the
    /// replica is online).
    next: i64,
    online: bool,
    soft_since: Option<Instant>,
    /// The offset this replica last acknowledged (REPLCONF ACK), as its actor reported it.
    acked: i64,
    /// The replica's address as FAILOVER names it (ip, listening port), from its ACKs.
    listen: Option<(String, u16)>,
}

impl Sub {
    /// The oldest offset this replica still needs kept: the next byte its writer sends.
    fn pinned(&self) -> i64 {
        let streamed = self.out.stream_next();
        if self.online && streamed >= 0 {
            streamed
        } else {
            self.next
        }
    }
}

pub struct Backlog {
    pub(super) shared: Arc<Shared>,
    buf: ReplBuf,
    /// Offset of the first byte held (`end + 1` when nothing is).
    first: i64,
    /// Offset of the last byte appended (master_repl_offset).
    end: i64,
    subs: Vec<Sub>,
    /// WAITs not answered yet: each is answered as soon as enough replicas acknowledged its
    /// offset (or taken back by its client at the timeout).
    waiters: Vec<WaitAcks>,
    /// The FAILOVER waiting for a replica to reach the paused master's offset.
    failover: Option<WaitSynced>,
    /// Consistency-proof references and verdicts (tandem-verify).
    pub(super) verify: super::verify::Verifier,
}

impl Backlog {
    /// Bytes of the stream held.
    fn histlen(&self) -> usize {
        (self.end + 1 - self.first).max(0) as usize
    }

    pub fn new(shared: Arc<Shared>, buf: ReplBuf) -> Self {
        Backlog { shared, buf, first: 1, end: 0, subs: vec![], waiters: vec![], failover: None, verify: Default::default() }
    }

    /// FAILOVER: the first online replica (the named one, if any) that acknowledged exactly
    /// the master's offset.
    fn answer_failover(&mut self) {
        let Some(w) = &self.failover else { return };
        let found = self.subs.iter().find(|s| {
            s.online
                && s.acked == w.offset
                && s.listen.as_ref().is_some_and(|l| w.target.as_ref().is_none_or(|t| t == l))
        });
        if let Some(l) = found.and_then(|s| s.listen.clone()) {
            crate::trace_reply!(self.shared.log, "backlog", "failover", "Synced({}:{} at {}) {{off={} conv={}:{}}}", l.0, l.1, w.offset, w.offset, l.0, l.1);
            if let Some(w) = self.failover.take() {
                let _ = w.reply.send(l);
            }
        }
    }

    /// Online replicas that acknowledged `target` or more (what WAIT counts).
    fn acked(&self, target: i64) -> usize {
        self.subs.iter().filter(|s| s.online && s.acked >= target).count()
    }

    /// Answers the WAITs whose count is reached, and the FAILOVER whose replica is in sync.
    fn answer_waiters(&mut self) {
        self.answer_failover();
        if self.waiters.is_empty() {
            return;
        }
        let waiters = std::mem::take(&mut self.waiters);
        for w in waiters {
            let got = self.acked(w.target);
            if got >= w.n {
                crate::trace_reply!(self.shared.log, "backlog", format_args!("client:{}", w.client), "WaitDone({} replicas at {}) {{off={}}}", got, w.target, w.target);
                let _ = w.reply.send(got);
            } else if !w.reply.is_disconnected() {
                self.waiters.push(w);
            }
        }
    }

    fn publish(&self) {
        self.shared.repl.backlog_first.store(self.first, Relaxed);
        self.shared.repl.backlog_histlen.store(self.histlen() as i64, Relaxed);
        self.shared.repl.buffer_mem.store(self.buf.memory() as u64, Relaxed);
    }

    /// Drops the oldest blocks beyond `repl-backlog-size` that no replica pins.
    fn trim(&mut self) {
        let size = self.shared.cfg().repl_backlog_size() as usize;
        let pinned = self.subs.iter().map(Sub::pinned).min().unwrap_or(i64::MAX);
        while let Some(n) = self.buf.trim_front(pinned, size, self.end) {
            self.first += n as i64;
        }
        self.publish();
    }

    /// `client-output-buffer-limit replica` as applied: (hard, soft, soft seconds).
    fn limits(&self) -> (u64, u64, u64) {
        let lim = self.shared.cfg().client_output_buffer_limit(crate::config::ClientClass::Replica);
        let (mut hard, soft, secs) = (lim.hard_limit_bytes, lim.soft_limit_bytes, lim.soft_limit_seconds);
        // A hard limit below repl-backlog-size would only turn partial resyncs into loops: the
        // backlog's size is used instead (the memory is shared with the backlog anyway).
        let backlog_size = self.shared.cfg().repl_backlog_size();
        if hard > 0 && hard < backlog_size {
            hard = backlog_size;
        }
        (hard, soft, secs)
    }

    /// `repl-backpressure`: turns the throttle on when some replica's unsent stream reaches
    /// three quarters of the limit that would drop it first (the soft one if set), and off
    /// once every replica is back under half of it.
    fn update_throttle(&mut self) {
        let t = &self.shared.repl.throttle;
        let (hard, soft, _) = self.limits();
        let mark = if soft > 0 { soft } else { hard };
        let enabled = self.shared.cfg().repl_backpressure() && mark > 0;
        let end = self.end;
        let lag = self.subs.iter().map(|s| (end + 1 - s.pinned()).max(0) as u64).max().unwrap_or(0);
        let on = t.on.load(Relaxed);
        if !on && enabled && lag >= mark / 4 * 3 {
            t.low_mark.store(mark / 2, Relaxed);
            t.since_ms.store(crate::util::now_ms(), Relaxed);
            t.episode.fetch_add(1, Relaxed);
            t.on.store(true, std::sync::atomic::Ordering::SeqCst);
            crate::trace_msg!(self.shared.log, "backlog", "clients", "Throttle(on, lag={})", lag);
            crate::notice!(self.shared.log, "Replica lag of {} bytes nears the output buffer limit: holding write replies (repl-backpressure)", lag);
        } else if on && (!enabled || lag <= mark / 2) {
            let began = t.since_ms.load(Relaxed);
            let held = (crate::util::now_ms() - began).max(0) as u64;
            t.total_ms.fetch_add(held, Relaxed);
            t.on.store(false, std::sync::atomic::Ordering::SeqCst);
            t.released.notify(usize::MAX);
            crate::trace_msg!(self.shared.log, "backlog", "clients", "Throttle(off, lag={})", lag);
            crate::notice!(self.shared.log, "Replicas caught up (lag {} bytes): write replies flow again after {} ms (repl-backpressure)", lag, held);
        }
    }

    /// Applies `client-output-buffer-limit replica` to what each replica pins; drops those
    /// over it.
    fn enforce_limits(&mut self) {
        let (hard, soft, secs) = self.limits();
        let end = self.end;
        self.subs.retain_mut(|s| {
            let used = (end + 1 - s.pinned()).max(0) as u64;
            s.meta.omem.store(used, Relaxed);
            let over = if hard > 0 && used >= hard {
                true
            } else if soft > 0 && used >= soft {
                s.soft_since.get_or_insert_with(Instant::now).elapsed() >= Duration::from_secs(secs)
            } else {
                s.soft_since = None;
                false
            };
            if over {
                let m = &s.meta;
                crate::warning!(self.shared.log, 
                    "Client id={} addr={} laddr={} fd={} name= flags=S scheduled to be closed ASAP for overcoming of output buffer limits.",
                    m.id, m.addr, m.laddr, m.fd
                );
                let _ = s.replica.send(Close("backlog", "output buffer limit"));
            }
            !over
        });
    }
}

/// The backlog is where the keyspace's feed hands the stream.
impl StreamSink for Addr<Backlog> {
    fn append(&self, bytes: Bytes) {
        let _ = self.send(Append(bytes));
    }
    fn reset(&self, offset: i64) {
        let _ = self.send(Reset { offset });
    }
    fn drop_all(&self) {
        let _ = self.send(DropAll);
    }
    fn show_latest(&self) {
        let _ = self.send(ShowLatest);
    }
    fn verify_reference(&self, offset: i64, digest: String) {
        super::verify::send_reference(self, offset, digest);
    }
}

/// Log the stream's last bytes (at most 256), as Redis's showLatestBacklog.
pub struct ShowLatest;
impl Message for ShowLatest {
    type Result = ();
}

#[async_trait]
impl Handler<ShowLatest> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: ShowLatest) {
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "ShowLatest");
        if self.histlen() == 0 {
            return;
        }
        // Redis quotes each of its 16 KiB buffer blocks on its own; 256 bytes nearly always
        // lie in one, so the tail is shown as one quoted string.
        let tail = self.buf.tail(self.histlen().min(256));
        let shown = crate::util::splitargs::repr(&tail);
        crate::warning!(self.shared.log, "Latest backlog is: '{}'", shown);
    }
}

#[async_trait]
impl Actor for Backlog {
    async fn started(&mut self, ctx: &mut Context<Self>) -> crate::rt::ActorResult<()> {
        ctx.send_interval(Tick, Duration::from_secs(1));
        Ok(())
    }
}

/// New stream bytes from the keyspace.
pub struct Append(pub Bytes);
impl Message for Append {
    type Result = ();
}

/// Start the backlog (again) at `offset`: the next byte appended has offset `offset + 1`.
pub struct Reset {
    pub offset: i64,
}
impl Message for Reset {
    type Result = ();
}

/// Keep the stream from offset `from` for `replica` (pushed to its socket once it is
/// `Online`). Err when the backlog no longer (or never) held `from`; Ok(bytes available).
pub struct Subscribe {
    pub id: u64,
    /// `ip:port` of the replica (for the trace).
    pub name: String,
    pub replica: Addr<Replica>,
    pub out: Outlet,
    pub meta: Arc<ClientMeta>,
    pub from: i64,
}
impl Message for Subscribe {
    type Result = Result<usize, ()>;
}

/// The replica's socket is ready for the stream (after `+CONTINUE`, or after its RDB).
pub struct Online(pub u64);
impl Message for Online {
    type Result = ();
}

/// A replica acknowledged `offset` (its actor got `REPLCONF ACK`); `listen` is its ip and
/// listening port.
pub struct Acked {
    pub replica: u64,
    pub offset: i64,
    pub listen: (String, u16),
}
impl Message for Acked {
    type Result = ();
}

/// WAIT: answer on `reply` with the number of online replicas that acknowledged `target`
/// once it reaches `n` (at once if it already has).
pub struct WaitAcks {
    pub client: u64,
    pub target: i64,
    pub n: usize,
    pub reply: flume::Sender<usize>,
}
impl Message for WaitAcks {
    type Result = ();
}

/// FAILOVER (writes paused): answer on `reply` with the (ip, port) of an online replica — the
/// `target` one if named — once it acknowledged exactly `offset`. A new one replaces the old.
pub struct WaitSynced {
    pub target: Option<(String, u16)>,
    pub offset: i64,
    pub reply: flume::Sender<(String, u16)>,
}
impl Message for WaitSynced {
    type Result = ();
}

/// The FAILOVER ended (abort, timeout): its waiting ends (its reply channel closes).
pub struct CancelSynced;
impl Message for CancelSynced {
    type Result = ();
}

/// WAIT gives up (timeout, client gone): forget its registration and answer the count now.
pub struct WaitEnd {
    pub client: u64,
    pub target: i64,
}
impl Message for WaitEnd {
    type Result = usize;
}

/// A replica's socket writer brought its lag under the throttle's low mark
/// (`repl-backpressure`): the backlog looks again whether writers may go on.
pub struct Drained(pub u64);
impl Message for Drained {
    type Result = ();
}

#[async_trait]
impl Handler<Drained> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Drained) {
        let name = self.subs.iter().find(|s| s.id == msg.0).map(|s| s.name.clone()).unwrap_or_default();
        crate::trace_msg!(self.shared.log, format_args!("replica:{}", name), "backlog", "Drained {{conv={}}}", name);
        self.update_throttle();
    }
}

/// Checks the output limits once a second even when nothing is appended.
#[derive(Clone)]
struct Tick;
impl Message for Tick {
    type Result = ();
}

pub struct Unsubscribe(pub u64);
impl Message for Unsubscribe {
    type Result = ();
}

/// Disconnect every subscribed replica (the dataset's history changed under them).
pub struct DropAll;
impl Message for DropAll {
    type Result = ();
}

#[async_trait]
impl Handler<Append> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Append) {
        let b = msg.0;
        if b.is_empty() {
            return;
        }
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "Append({} bytes)", b.len());
        // Limits apply to what replicas had not taken before this piece: a replica keeping
        // up is never dropped because one write is large (as with Redis 7.0).
        self.enforce_limits();
        let start = self.end + 1;
        self.end += b.len() as i64;
        // Copied into the shared blocks; the writers of online replicas are woken by it.
        self.buf.append(start, &b);
        for s in self.subs.iter().filter(|s| s.online) {
            crate::trace_msg!(self.shared.log, "backlog", format_args!("replica:{}", s.name), "Stream({} bytes) {{off={} conv={}}}", b.len(), self.end, s.name);
        }
        self.trim();
        self.update_throttle();
    }
}

#[async_trait]
impl Handler<Reset> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Reset) {
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "Reset(offset={})", msg.offset);
        self.buf.clear();
        self.end = msg.offset;
        self.first = msg.offset + 1;
        self.publish();
    }
}

#[async_trait]
impl Handler<Subscribe> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Subscribe) -> Result<usize, ()> {
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "Subscribe(replica:{}, from={}) {{off={} conv={}}}", msg.name, msg.from, msg.from, msg.name);
        let lowest = self.first;
        if msg.from < lowest || msg.from > self.end + 1 {
            crate::trace_reply!(self.shared.log, "backlog", "keyspace", "NotInBacklog(holds {}..{}) {{conv={}}}", lowest, self.end, msg.name);
            return Err(());
        }
        crate::trace_reply!(self.shared.log, "backlog", "keyspace", "Subscribed({} bytes held) {{conv={}}}", self.end + 1 - msg.from, msg.name);
        self.subs.retain(|s| s.id != msg.id);
        self.subs.push(Sub {
            id: msg.id,
            name: msg.name,
            replica: msg.replica,
            out: msg.out,
            meta: msg.meta,
            next: msg.from,
            online: false,
            soft_since: None,
            acked: 0,
            listen: None,
        });
        Ok((self.end + 1 - msg.from) as usize)
    }
}

#[async_trait]
impl Handler<Online> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Online) {
        let end = self.end;
        if let Some(s) = self.subs.iter_mut().find(|s| s.id == msg.0) {
            s.online = true;
            s.out.stream_from(s.next);
            crate::trace_msg!(self.shared.log, "backlog", format_args!("replica:{}", s.name), "Stream({} bytes) {{off={} conv={}}}", end + 1 - s.next, end, s.name);
        }
        self.enforce_limits();
        self.answer_waiters();
    }
}

#[async_trait]
impl Handler<Acked> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Acked) {
        if let Some(s) = self.subs.iter_mut().find(|s| s.id == msg.replica) {
            s.acked = s.acked.max(msg.offset);
            s.listen = Some(msg.listen);
        }
        self.answer_waiters();
    }
}

#[async_trait]
impl Handler<WaitAcks> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: WaitAcks) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client), "backlog", "WaitAcks(target={}, n={}) {{off={}}}", msg.target, msg.n, msg.target);
        self.waiters.retain(|w| w.client != msg.client);
        self.waiters.push(msg);
        self.answer_waiters();
    }
}

#[async_trait]
impl Handler<WaitSynced> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: WaitSynced) {
        crate::trace_msg!(self.shared.log, "failover", "backlog", "WaitSynced(offset={})", msg.offset);
        self.failover = Some(msg);
        self.answer_failover();
    }
}

#[async_trait]
impl Handler<CancelSynced> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: CancelSynced) {
        crate::trace_msg!(self.shared.log, "failover", "backlog", "CancelSynced");
        self.failover = None;
    }
}

#[async_trait]
impl Handler<WaitEnd> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: WaitEnd) -> usize {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", msg.client), "backlog", "WaitEnd(target={})", msg.target);
        self.waiters.retain(|w| w.client != msg.client);
        let got = self.acked(msg.target);
        crate::trace_reply!(self.shared.log, "backlog", format_args!("client:{}", msg.client), "{} replicas", got);
        got
    }
}

#[async_trait]
impl Handler<Tick> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: Tick) {
        crate::trace_msg!(self.shared.log, "timer", "backlog", "Tick");
        self.enforce_limits();
        self.trim();
        self.update_throttle();
    }
}

#[async_trait]
impl Handler<Unsubscribe> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Unsubscribe) {
        let name = self.subs.iter().find(|s| s.id == msg.0).map(|s| s.name.clone()).unwrap_or_else(|| msg.0.to_string());
        crate::trace_msg!(self.shared.log, format_args!("replica:{}", name), "backlog", "Unsubscribe {{conv={}}}", name);
        self.subs.retain(|s| s.id != msg.0);
        self.trim();
        self.update_throttle();
    }
}

#[async_trait]
impl Handler<DropAll> for Backlog {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: DropAll) {
        crate::trace_msg!(self.shared.log, "keyspace", "backlog", "DropAll({} replicas)", self.subs.len());
        for s in self.subs.drain(..) {
                let _ = s.replica.send(Close("backlog", "history changed"));
        }
        self.trim();
        self.update_throttle();
    }
}
