//! The replica actor (master side): one per attached replica.
//!
//! States follow Redis: `WaitBgsave` (waiting for its snapshot), `SendBulk` (the RDB is going
//! out), `Online` (streaming). The actor owns the socket's writer and reader tasks, the ACKs
//! and the timeouts; the stream itself is kept for it by the backlog (the shared replication
//! buffer), which pushes it into the writer once the replica is `Online` and drops the
//! replica over `client-output-buffer-limit replica`: the master never grows without bound
//! because one replica is slow.

use super::backlog::{Acked, Backlog, Online, Subscribe, Unsubscribe};
use super::replbuf::{Read, ReplBuf};
use crate::keyspace::fullsync::{FullSync, Meter, Outlet, ResumeSync, SyncReplica, Target, WriterItem};
use super::PsyncOutcome;
use crate::keyspace::Keyspace;
use crate::resp::{Limits, RequestParser};
use crate::rt::{self, async_trait, Actor, Addr, Context, Handler, Message, ReadExt, Conn, WriteExt};
use crate::shared::{ClientMeta, Shared};
pub use crate::shared::repl::{ReplicaInfo, ReplicaState};
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the replica said in REPLCONF before PSYNC.
#[derive(Default, Clone, Debug)]
pub struct Handshake {
    pub listening_port: u16,
    pub ip_address: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// `REPLCONF capa tandem-verify`: a tandem replica that answers verification markers.
    pub capa_verify: bool,
    pub rdb_only: bool,
    /// `REPLCONF version` (Valkey 8 replicas announce theirs).
    pub version: Option<String>,
    /// `REPLCONF capa dual-channel`: a full sync goes through a second, RDB connection.
    pub capa_dual: bool,
    /// `REPLCONF rdb-channel 1`: this connection is such an RDB connection.
    pub rdb_channel: bool,
    /// `REPLCONF set-rdb-client-id`: the RDB connection this main connection belongs to.
    pub rdb_client_id: Option<u64>,
    /// `REPLCONF capa tandem-resume`: a tandem replica that resumes a cut full sync.
    pub capa_resume: bool,
    /// `REPLCONF resume <replid>:<offset>:<bytes>`: this PSYNC resumes the transfer of the
    /// RDB of that snapshot from that byte.
    pub resume: Option<(String, i64, u64)>,
}

impl Handshake {
    /// The replica's IP: the one it announced (`REPLCONF ip-address`), or its connection's.
    pub fn ip(&self, meta: &ClientMeta) -> String {
        self.ip_address.clone().unwrap_or_else(|| meta.addr.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_default())
    }

    /// The replica's name in log lines (Redis's replicationGetSlaveName).
    pub fn replica_name(&self, meta: &ClientMeta) -> String {
        match self.listening_port {
            0 => format!("{}:<unknown-replica-port>", self.ip(meta)),
            p => format!("{}:{}", self.ip(meta), p),
        }
    }
}

pub struct Replica {
    pub info: Arc<ReplicaInfo>,
    meta: Arc<ClientMeta>,
    shared: Arc<Shared>,
    keyspace: Addr<Keyspace>,
    backlog: Addr<Backlog>,
    stream: Conn,
    handshake: Handshake,
    /// Sent PSYNC (false: legacy SYNC).
    psync: bool,
    /// The socket writer's queue (bytes handed to it and not yet written are counted).
    out: Outlet,
    writer_rx: Option<flume::Receiver<WriterItem>>,
    /// The replication buffer the writer streams from once the replica is online.
    buf: ReplBuf,
    /// For EOF-framed RDBs the stream waits for the replica's first ACK.
    wait_first_ack: bool,
    /// The main connection of a dual-channel sync: the replica loads its RDB (from the other
    /// connection) and buffers this stream meanwhile; it ACKs once loaded, so no ACK timeout
    /// applies before its first ACK (Valkey's `BG_RDB_LOAD` state).
    loading_rdb: bool,
    /// An ACK came before `RdbReady`: the replica read the whole RDB before the keyspace
    /// reported the transfer done (the RDB's last bytes race `JobDone`).
    acked_early: bool,
    /// The RDB for this replica is being produced or sent (after `+FULLRESYNC`).
    in_transfer: bool,
    /// Socket progress during a full sync: (bytes sent, when that count last changed).
    progress: (u64, Instant),
    closing: bool,
    /// Keeps this actor alive until it closes itself (xactor stops an actor whose last
    /// address is dropped).
    me: Option<Addr<Replica>>,
}

/// The outcome of the PSYNC conversation with the keyspace.
pub struct Begin(pub PsyncOutcome);
impl Message for Begin {
    type Result = ();
}

/// The keyspace took the snapshot this replica gets (its `+FULLRESYNC` went out).
pub struct BulkStarted {
    pub offset: i64,
}
impl Message for BulkStarted {
    type Result = ();
}

/// The RDB went out (`eof`: streamed with EOF framing), or could not be produced.
pub struct RdbReady {
    pub ok: bool,
    pub eof: bool,
}
impl Message for RdbReady {
    type Result = ();
}

/// `REPLCONF ACK <offset>` read from the replica.
pub struct Ack(pub i64);
impl Message for Ack {
    type Result = ();
}

/// Drop this replica: (who asks, why), both for the trace.
pub struct Close(pub &'static str, pub &'static str);
impl Message for Close {
    type Result = ();
}

/// A replica as the keyspace's full-sync job sees it: subscribed to the backlog from the
/// snapshot's offset, told of its transfer by message.
struct SyncHandle {
    id: u64,
    name: String,
    meta: Arc<ClientMeta>,
    replica: Addr<Replica>,
    out: Outlet,
    backlog: Addr<Backlog>,
}

#[async_trait]
impl SyncReplica for SyncHandle {
    async fn subscribe(&self, from: i64) -> bool {
        let sub = Subscribe { id: self.id, name: self.name.clone(), replica: self.replica.clone(), out: self.out.clone(), meta: self.meta.clone(), from };
        matches!(self.backlog.call(sub).await, Ok(Ok(_)))
    }
    fn bulk_started(&self, offset: i64) {
        let _ = self.replica.send(BulkStarted { offset });
    }
    fn rdb_ready(&self, ok: bool, eof: bool) {
        let _ = self.replica.send(RdbReady { ok, eof });
    }
}

#[derive(Clone)]
struct Tick;
impl Message for Tick {
    type Result = ();
}

impl Replica {
    pub fn new(
        stream: Conn,
        meta: Arc<ClientMeta>,
        shared: Arc<Shared>,
        keyspace: Addr<Keyspace>,
        backlog: Addr<Backlog>,
        buf: ReplBuf,
        handshake: Handshake,
        psync: bool,
    ) -> Self {
        let ip = handshake.ip(&meta);
        let info = Arc::new(ReplicaInfo {
            id: meta.id,
            ip,
            port: AtomicU64::new(handshake.listening_port as u64),
            state: AtomicU8::new(ReplicaState::WaitBgsave as u8),
            ack_offset: AtomicI64::new(0),
            last_ack_ms: AtomicI64::new(crate::util::now_ms()),
            pre_psync: !psync,
            closed: AtomicBool::new(false),
            capa_verify: handshake.capa_verify,
            rdb_channel: handshake.rdb_channel,
            verified: Default::default(),
        });
        let (writer, rx) = flume::unbounded();
        let out = Outlet::new(writer, shared.clone());
        let loading_rdb = handshake.rdb_client_id.is_some();
        Replica {
            handshake,
            info,
            meta,
            shared,
            keyspace,
            backlog,
            stream,
            psync,
            out,
            writer_rx: Some(rx),
            buf,
            loading_rdb,
            wait_first_ack: false,
            acked_early: false,
            in_transfer: false,
            progress: (0, Instant::now()),
            closing: false,
            me: None,
        }
    }

    /// The socket writer's queue (the backlog pushes the stream into it).
    pub fn outlet(&self) -> Outlet {
        self.out.clone()
    }

    fn set_state(&self, s: ReplicaState) {
        crate::trace_msg!(self.shared.log, self.who(), self.who(), "State({:?}) {{conv={}}}", s, self.info.name());
        self.info.state.store(s as u8, Relaxed);
    }

    /// This actor as a trace participant.
    /// This replica as a full-sync job's target (None once the actor is stopping).
    fn sync_target(&self) -> Option<Target> {
        let handle = SyncHandle {
            id: self.info.id,
            name: self.info.name(),
            meta: self.meta.clone(),
            replica: self.me.clone()?,
            out: self.out.clone(),
            backlog: self.backlog.clone(),
        };
        Some(Target {
            meta: self.meta.clone(),
            name: self.info.name(),
            out: self.out.clone(),
            psync: self.psync,
            endoff: self.handshake.rdb_channel.then_some(self.info.id),
            resume: self.handshake.capa_resume,
            replica: Box::new(handle),
        })
    }

    fn who(&self) -> String {
        format!("replica:{}", self.info.name())
    }

    /// Queues bytes for the socket.
    fn write(&self, b: Bytes) {
        self.out.push(b);
    }

    /// The stream may flow: the backlog pushes it from this replica's offset on.
    fn go_online(&mut self) {
        self.set_state(ReplicaState::Online);
        crate::trace_msg!(self.shared.log, self.who(), "backlog", "Online {{conv={}}}", self.info.name());
        let _ = self.backlog.send(Online(self.info.id));
        crate::notice!(self.shared.log, "Synchronization with replica {} succeeded", self.info.name());
        self.shared.events.emit(crate::events::ReplEvent::ReplicaOnline(self.info.name()));
    }

    fn close(&mut self, ctx: &mut Context<Self>) {
        if !self.closing {
            self.closing = true;
            ctx.stop(None);
        }
    }
}

#[async_trait]
impl Actor for Replica {
    async fn started(&mut self, ctx: &mut Context<Self>) -> rt::ActorResult<()> {
        self.me = Some(ctx.address());
        self.meta.is_replica.store(true, Relaxed);
        self.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).push(self.info.clone());
        // Writer task: the only writer of the socket from now on. It holds the receiving end
        // of its queue and the counters, never a sender: it ends (closing its clone of the
        // socket) at the end mark `stopped` sends, or when every outlet is dropped.
        let Some(rx) = self.writer_rx.take() else { return Ok(()) };
        let writer = Writer {
            ws: self.stream.clone(),
            rx,
            meter: self.out.meter(),
            buf: self.buf.clone(),
            shared: self.shared.clone(),
            batch: Vec::new(),
            backlog: self.backlog.clone(),
            id: self.meta.id,
            told: 0,
        };
        let me = ctx.address().downgrade();
        rt::spawn(async move {
            writer.run().await;
            if let Some(a) = me.upgrade() {
                let _ = a.send(Close("replica-writer", "socket written to its end"));
            }
        });
        // Reader task: REPLCONF ACK from the replica.
        let mut rs = self.stream.clone();
        let me = ctx.address().downgrade();
        let shared = self.shared.clone();
        let meta = self.meta.clone();
        rt::spawn(async move {
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::with_capacity(1024);
            let mut chunk = [0u8; 4096];
            // CLIENT LIST's qbuf and qbuf-free: this reader's buffer from now on.
            let show_qbuf = |buf: &BytesMut| {
                meta.qbuf.store(buf.len() as u64, Relaxed);
                meta.qbuf_free.store((buf.capacity() - buf.len()) as u64, Relaxed);
            };
            show_qbuf(&buf);
            let limits = Limits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };
            'read: loop {
                let n = match rs.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                shared.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
                buf.extend_from_slice(&chunk[..n]);
                let mut reqs = vec![];
                if parser.parse(&mut buf, limits, &mut reqs).is_err() {
                    break;
                }
                show_qbuf(&buf);
                let Some(addr) = me.upgrade() else { break };
                for r in reqs {
                    match from_replica(&r.argv) {
                        FromReplica::Ack(off) => {
                            let _ = addr.send(Ack(off));
                        }
                        FromReplica::Digest(offset, digest) => {
                            let _ = addr.send(Digested { offset, digest });
                        }
                        FromReplica::Silent => {}
                        FromReplica::Rogue => {
                            reject_rogue(&shared, &meta, &r.argv);
                            break 'read;
                        }
                    }
                }
            }
            if let Some(a) = me.upgrade() {
                let _ = a.send(Close("replica-reader", "socket closed"));
            }
        });
        ctx.send_interval(Tick, Duration::from_secs(1));
        Ok(())
    }

    async fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.me = None;
        self.info.closed.store(true, Relaxed);
        let _ = self.backlog.send(Unsubscribe(self.info.id));
        self.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).retain(|r| r.id != self.info.id);
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.info.id);
        self.shared.stats.connected_clients.fetch_sub(1, Relaxed);
        // The socket closes now: the reader sees EOF, and the end mark stops the writer even
        // while a full-sync job or the backlog (until it handles Unsubscribe) still holds an
        // outlet (what is queued before the mark fails to write on the shut socket). Both
        // tasks then drop their clones, and this actor's own goes with it.
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.out.finish();
        crate::notice!(self.shared.log, "Connection with replica {} lost.", self.info.name());
        self.shared.events.emit(crate::events::ReplEvent::ReplicaLost(self.info.name()));
    }
}

#[async_trait]
impl Handler<Begin> for Replica {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Begin) {
        crate::trace_msg!(self.shared.log, format_args!("client:{}", self.info.id), self.who(), "Begin({:?}) {{conv={}}}", msg.0, self.info.name());
        match msg.0 {
            PsyncOutcome::Continue { replid } => {
                let line = if self.handshake.capa_psync2 {
                    format!("+CONTINUE {}\r\n", replid)
                } else {
                    "+CONTINUE\r\n".to_string()
                };
                // The reply goes before the backlog bytes already held.
                crate::trace_wire!(self.shared.log, self.who(), format_args!("net:{}", self.meta.addr), "{} {{conv={}}}", line.trim_end(), self.info.name());
                self.write(Bytes::from(line));
                self.go_online();
            }
            PsyncOutcome::FullResync => {
                let diskless = self.shared.cfg().repl_diskless_sync() && self.handshake.capa_eof;
                let Some(target) = self.sync_target() else { return };
                crate::trace_msg!(self.shared.log, self.who(), "keyspace", "FullSync(diskless={}) {{conv={}}}", diskless, self.info.name());
                if self.keyspace.call(FullSync { target, diskless }).await.is_err() {
                    self.close(ctx);
                }
            }
            PsyncOutcome::Resume { replid, offset, from } => {
                let Some(target) = self.sync_target() else { return };
                crate::trace_msg!(self.shared.log, self.who(), "keyspace", "ResumeSync(offset={}, from={}) {{conv={}}}", offset, from, self.info.name());
                if self.keyspace.call(ResumeSync { target, replid, offset, from }).await.is_err() {
                    self.close(ctx);
                }
            }
            PsyncOutcome::Error(e) => {
                crate::trace_wire!(self.shared.log, self.who(), format_args!("net:{}", self.meta.addr), "-{} {{conv={}}}", e, self.info.name());
                self.write(Bytes::from(format!("-{}\r\n", e)));
                self.close(ctx);
            }
        }
    }
}

#[async_trait]
impl Handler<BulkStarted> for Replica {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: BulkStarted) {
        crate::debug!(self.shared.log, "Replica {} gets the RDB of offset {}", self.info.name(), msg.offset);
        // Still `wait_bgsave` for INFO, as Redis shows a replica whose RDB is being produced
        // (disk) or streamed by its child (diskless).
        self.in_transfer = true;
    }
}

#[async_trait]
impl Handler<RdbReady> for Replica {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: RdbReady) {
        crate::trace_msg!(self.shared.log, "rdb-writer", self.who(), "RdbReady(ok={}, eof={}) {{conv={}}}", msg.ok, msg.eof, self.info.name());
        if !msg.ok {
            return self.close(ctx);
        }
        if self.handshake.rdb_only {
            // `REPLCONF rdb-only 1` (redis-cli --rdb): the RDB and nothing else; the socket
            // closes once it is written.
            crate::notice!(self.shared.log, "RDB-only transfer to replica {} done, closing the connection", self.info.name());
            self.out.finish();
            return;
        }
        if msg.eof && self.acked_early {
            // The replica already ACKed: it has read the RDB up to its end mark.
            self.go_online();
        } else if msg.eof {
            // The RDB and its end mark already went out through the socket writer.
            // A diskless replica reads until the mark: stream only after its first ACK.
            self.wait_first_ack = true;
            self.set_state(ReplicaState::Online);
            crate::notice!(self.shared.log, 
                "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming",
                self.info.name()
            );
        } else {
            self.go_online();
        }
    }
}

#[async_trait]
impl Handler<Ack> for Replica {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Ack) {
        crate::trace_wire!(self.shared.log, format_args!("net:{}", self.meta.addr), self.who(), "REPLCONF ACK {} {{off={} conv={}}}", msg.0, msg.0, self.info.name());
        self.info.ack_offset.store(msg.0, Relaxed);
        self.info.last_ack_ms.store(crate::util::now_ms(), Relaxed);
        self.loading_rdb = false;
        if self.wait_first_ack {
            self.wait_first_ack = false;
            self.go_online();
        } else if self.in_transfer && self.info.state() == ReplicaState::WaitBgsave {
            self.acked_early = true;
        }
        // The backlog counts ACKs for WAIT (after Online, so this ACK counts at once).
        let listen = (self.info.ip.clone(), self.info.port.load(Relaxed) as u16);
        crate::trace_msg!(self.shared.log, self.who(), "backlog", "Acked(offset={}) {{off={} conv={}}}", msg.0, msg.0, self.info.name());
        let _ = self.backlog.send(Acked { replica: self.info.id, offset: msg.0, listen });
    }
}

/// The replica's digest of its dataset at `offset` (tandem-verify), for the backlog to judge.
struct Digested {
    offset: i64,
    digest: String,
}
impl Message for Digested {
    type Result = ();
}

#[async_trait]
impl Handler<Digested> for Replica {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Digested) {
        let name = self.info.name();
        crate::trace_wire!(self.shared.log, format_args!("net:{}", self.meta.addr), self.who(), "REPLCONF DIGEST {} {} {{off={} conv={}}}", msg.offset, msg.digest, msg.offset, name);
        crate::trace_msg!(self.shared.log, self.who(), "backlog", "ReplicaDigest(offset={}, {}) {{off={} conv={}}}", msg.offset, msg.digest, msg.offset, name);
        let m = super::verify::ReplicaDigest { replica: self.info.id, offset: msg.offset, digest: msg.digest };
        let _ = self.backlog.send(m);
    }
}

#[async_trait]
impl Handler<Close> for Replica {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Close) {
        crate::trace_msg!(self.shared.log, msg.0, self.who(), "Close({}) {{conv={}}}", msg.1, self.info.name());
        self.close(ctx);
    }
}

#[async_trait]
impl Handler<Tick> for Replica {
    async fn handle(&mut self, ctx: &mut Context<Self>, _msg: Tick) {
        crate::trace_msg!(self.shared.log, "timer", self.who(), "Tick {{conv={}}}", self.info.name());
        if self.meta.killed.load(Relaxed) {
            return self.close(ctx);
        }
        let timeout = self.shared.cfg().repl_timeout() as i64 * 1000;
        let silent = crate::util::now_ms() - self.info.last_ack_ms.load(Relaxed);
        if !self.info.pre_psync && !self.loading_rdb && self.info.state() == ReplicaState::Online && silent > timeout {
            crate::warning!(self.shared.log, "Disconnecting timedout replica (streaming sync): {}", self.info.name());
            return self.close(ctx);
        }
        // A replica that takes no RDB bytes for repl-timeout stalls nobody for longer.
        let sent = self.out.sent();
        if sent != self.progress.0 || self.out.unsent() == 0 {
            self.progress = (sent, Instant::now());
        } else if self.in_transfer && self.info.state() == ReplicaState::WaitBgsave && self.progress.1.elapsed().as_millis() as i64 > timeout {
            crate::warning!(self.shared.log, "Disconnecting timedout replica (full sync): {}", self.info.name());
            return self.close(ctx);
        }
    }
}

/// At most this many bytes are gathered into one socket write.
const COALESCE_MAX: usize = 256 * 1024;

/// A replica's socket writer: the queued data (replies, the RDB), then the replication
/// stream read from the shared buffer at its own offset.
struct Writer {
    ws: Conn,
    rx: flume::Receiver<WriterItem>,
    meter: Meter,
    buf: ReplBuf,
    shared: Arc<Shared>,
    batch: Vec<u8>,
    /// Told when this replica's lag fell under the throttle's low mark (repl-backpressure).
    backlog: Addr<Backlog>,
    /// This replica's id (its subscription's).
    id: u64,
    /// The throttle episode the backlog was last told about.
    told: u64,
}

/// What the writer does next.
enum Step {
    Go,
    /// Stream from this offset on.
    Stream(i64),
    Stop,
}

impl Writer {
    async fn run(mut self) {
        let mut next = None;
        loop {
            let step = match next {
                None => match self.rx.recv_async().await {
                    Ok(item) => self.take(item).await,
                    Err(_) => Step::Stop,
                },
                Some(at) => self.stream(at).await,
            };
            match step {
                Step::Go => {}
                Step::Stream(at) => {
                    // The data phase (the RDB) is over: its gathering buffer goes.
                    self.batch = Vec::new();
                    next = Some(at);
                }
                Step::Stop => break,
            }
        }
    }

    /// Handles one queued item (data is written with the small pieces queued behind it).
    async fn take(&mut self, item: WriterItem) -> Step {
        match item {
            WriterItem::End => Step::Stop,
            WriterItem::Stream(at) => Step::Stream(at),
            WriterItem::Data(b) => {
                let (r, n, after) = if self.rx.is_empty() || b.len() >= COALESCE_MAX / 4 {
                    (self.ws.write_all(&b).await, b.len(), None)
                } else {
                    let after = gather(b, &self.rx, &mut self.batch);
                    (self.ws.write_all(&self.batch).await, self.batch.len(), after)
                };
                if r.is_err() {
                    return Step::Stop;
                }
                self.meter.written(n);
                self.shared.stats.net_repl_output_bytes.fetch_add(n as u64, Relaxed);
                if self.batch.capacity() > COALESCE_MAX * 2 {
                    self.batch = Vec::new();
                }
                match after {
                    Some(WriterItem::End) => Step::Stop,
                    Some(WriterItem::Stream(at)) => Step::Stream(at),
                    _ => Step::Go,
                }
            }
        }
    }

    /// While the throttle is on (repl-backpressure), tells the backlog once per episode that
    /// this replica's unsent stream is under the low mark.
    fn report_drained(&mut self, at: i64) {
        let t = &self.shared.repl.throttle;
        if !t.on.load(Relaxed) {
            return;
        }
        let episode = t.episode.load(Relaxed);
        if episode == self.told {
            return;
        }
        let r = &self.shared.repl;
        let end = r.backlog_first.load(Relaxed) + r.backlog_histlen.load(Relaxed) - 1;
        if (end + 1 - at).max(0) as u64 <= t.low_mark.load(Relaxed) {
            self.told = episode;
            let _ = self.backlog.send(super::backlog::Drained(self.id));
        }
    }

    /// Streams what the buffer holds from `at` on, waiting for more when it has written it
    /// all; queued items (the end mark) are taken between writes.
    async fn stream(&mut self, mut at: i64) -> Step {
        loop {
            match self.rx.try_recv() {
                Ok(WriterItem::End) | Err(flume::TryRecvError::Disconnected) => return Step::Stop,
                Ok(WriterItem::Stream(from)) => at = from,
                Ok(item @ WriterItem::Data(_)) => match self.take(item).await {
                    Step::Stop => return Step::Stop,
                    Step::Stream(from) => at = from,
                    Step::Go => {}
                },
                Err(flume::TryRecvError::Empty) => {}
            }
            let listener = self.buf.listen();
            match self.buf.read(at) {
                Read::Piece(p) => {
                    let n = p.bytes().len();
                    if self.ws.write_all(p.bytes()).await.is_err() {
                        return Step::Stop;
                    }
                    at += n as i64;
                    self.meter.streamed(n, at);
                    self.shared.stats.net_repl_output_bytes.fetch_add(n as u64, Relaxed);
                    self.report_drained(at);
                }
                Read::Gone => return Step::Stop,
                Read::Wait => {
                    self.report_drained(at);
                    let got = match futures::future::select(Box::pin(self.rx.recv_async()), listener).await {
                        futures::future::Either::Left((got, _)) => Some(got),
                        futures::future::Either::Right(_) => None,
                    };
                    match got {
                        None => {}
                        Some(Ok(WriterItem::End) | Err(_)) => return Step::Stop,
                        Some(Ok(WriterItem::Stream(from))) => at = from,
                        Some(Ok(item)) => match self.take(item).await {
                            Step::Stop => return Step::Stop,
                            Step::Stream(from) => at = from,
                            Step::Go => {}
                        },
                    }
                }
            }
        }
    }
}

/// `first` plus the data queued behind it, into `batch`; returns the first other item met
/// (the end mark, the start of the stream), which ends the gathering.
fn gather(first: Bytes, rx: &flume::Receiver<WriterItem>, batch: &mut Vec<u8>) -> Option<WriterItem> {
    batch.clear();
    batch.extend_from_slice(&first);
    while batch.len() < COALESCE_MAX {
        match rx.try_recv() {
            Ok(WriterItem::Data(b)) => batch.extend_from_slice(&b),
            Ok(other) => return Some(other),
            Err(_) => break,
        }
    }
    None
}

/// What a command read from an attached replica's socket calls for.
#[derive(Debug, PartialEq)]
enum FromReplica {
    Ack(i64),
    /// tandem-verify: the replica's digest at an offset.
    Digest(i64, String),
    /// Commands that answer nothing (REPLCONF ACK without a valid offset, GETACK).
    Silent,
    /// Anything that would produce a reply: Redis disconnects such a replica.
    Rogue,
}

fn from_replica(a: &[Bytes]) -> FromReplica {
    let replconf = a.first().is_some_and(|c| c.eq_ignore_ascii_case(b"REPLCONF"));
    let sub = |name: &[u8]| a.get(1).is_some_and(|s| s.eq_ignore_ascii_case(name));
    if a.is_empty() {
        FromReplica::Silent
    } else if replconf && sub(b"ACK") {
        match a.get(2).and_then(|o| crate::util::num::parse_i64(o)) {
            Some(off) => FromReplica::Ack(off),
            None => FromReplica::Silent,
        }
    } else if replconf && sub(b"DIGEST") {
        // tandem-verify: `REPLCONF DIGEST <offset> <digest>`.
        match (a.get(2).and_then(|o| crate::util::num::parse_i64(o)), a.get(3)) {
            (Some(off), Some(d)) if a.len() == 4 => FromReplica::Digest(off, String::from_utf8_lossy(d).into_owned()),
            _ => FromReplica::Silent,
        }
    } else if replconf && sub(b"GETACK") {
        FromReplica::Silent
    } else {
        FromReplica::Rogue
    }
}

/// A replica sent a command that would answer (Redis 7.0: "Replica generated a reply",
/// and commands touching the keyspace are refused with "Replica can't interact with the
/// keyspace"): logged as Redis does, counted, and the replica disconnected by the caller.
fn reject_rogue(shared: &Shared, meta: &ClientMeta, argv: &[Bytes]) {
    let spec = crate::keyspace::cmd::lookup(&argv[0]);
    // Container commands by their subcommand's full name (`xinfo|help`), as Redis.
    let name = match spec {
        Some(s) => crate::keyspace::cmd::sub_name(s, argv).unwrap_or_else(|| s.name.to_string()),
        None => "<unknown>".to_string(),
    };
    crate::warning!(shared.log, 
        "Replica generated a reply to command '{}', disconnecting it: {}",
        name,
        crate::keyspace::cmd::clients::client_line(meta)
    );
    let error = match spec {
        Some(s) if s.is_write() || s.has(crate::keyspace::cmd::READONLY) || s.has(crate::keyspace::cmd::MAY_REPLICATE) => {
            crate::keyspace::cmd::stat(&shared, s, argv).rejected.fetch_add(1, Relaxed);
            Some("Replica can't interact with the keyspace".to_string())
        }
        Some(_) => None,
        None => Some(String::from_utf8_lossy(&crate::keyspace::cmd::unknown_command_error(argv)).trim_start_matches("ERR ").to_string()),
    };
    if let Some(e) = error {
        shared.errorstats.record_one(format!("ERR {}", e).as_bytes());
        shared.stats.unexpected_error_replies.fetch_add(1, Relaxed);
        crate::warning!(shared.log, "== CRITICAL == This master is sending an error to its replica: '{}' after processing the command '{}'", e, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect()
    }

    #[test]
    fn replica_commands() {
        assert_eq!(from_replica(&argv("REPLCONF ACK 42")), FromReplica::Ack(42));
        assert_eq!(from_replica(&argv("replconf ack 7 FACK 7")), FromReplica::Ack(7));
        assert_eq!(from_replica(&argv("REPLCONF ACK x")), FromReplica::Silent);
        assert_eq!(from_replica(&argv("REPLCONF GETACK *")), FromReplica::Silent);
        assert_eq!(from_replica(&argv("SET a b")), FromReplica::Rogue);
        assert_eq!(from_replica(&argv("PING")), FromReplica::Rogue);
        assert_eq!(from_replica(&argv("REPLCONF listening-port 1")), FromReplica::Rogue);
    }
}
