//! The master-link actor (replica side): Redis's handshake state machine, the transfer of
//! the RDB, the byte-counted command stream, REPLCONF ACKs, and reconnection with the cached
//! master so that a dropped link costs a partial resync.

use super::backlog::Backlog;
use super::snapshot::load_rdb;
use super::{ApplyStream, CachedMaster, Continued, LoadSnapshot, SetRole};
use crate::cmd;
use crate::keyspace::{Cmd, Item, Keyspace};
use crate::resp::{Limits, RequestParser};
use crate::rt::{self, async_trait, Actor, Addr, Context, Handler, Message, ReadExt, TcpStream, WriteExt};
use crate::shared::{ClientEntry, ClientMeta, Shared};
use bytes::{Buf, Bytes, BytesMut};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Redis's replica states (`REPL_STATE_*`).
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MasterLinkState {
    #[default]
    None,
    Connect,
    Connecting,
    ReceivePong,
    SendHandshake,
    ReceiveAuth,
    ReceivePort,
    ReceiveCapa,
    SendPsync,
    ReceivePsync,
    Transfer,
    Connected,
}

impl MasterLinkState {
    /// The state name ROLE shows.
    pub fn role_name(self) -> &'static str {
        use MasterLinkState::*;
        match self {
            None => "none",
            Connect => "connect",
            Connecting => "connecting",
            ReceivePong | SendHandshake | ReceiveAuth | ReceivePort | ReceiveCapa | SendPsync | ReceivePsync => "handshake",
            Transfer => "sync",
            Connected => "connected",
        }
    }
}

pub struct MasterLink {
    shared: Arc<Shared>,
    keyspace: Addr<Keyspace>,
    #[allow(dead_code)]
    backlog: Addr<Backlog>,
    /// The current link task's stop handle: the link lives while this sender does. Dropping
    /// it (REPLICAOF, shutdown) wakes the task wherever it waits, and it closes its socket.
    link_stop: Option<flume::Sender<()>>,
    master: Option<(String, u16)>,
    /// The next link's first PSYNC carries FAILOVER.
    failover_next: bool,
}

impl MasterLink {
    pub fn new(shared: Arc<Shared>, keyspace: Addr<Keyspace>, backlog: Addr<Backlog>) -> Self {
        MasterLink { shared, keyspace, backlog, link_stop: None, master: None, failover_next: false }
    }
}

impl Actor for MasterLink {}

/// REPLICAOF host port / NO ONE. Replies with the status line for the client.
pub struct SetMaster(pub Option<(String, u16)>);
impl Message for SetMaster {
    type Result = String;
}

/// Server shutdown: end the link task.
pub struct StopLink;
impl Message for StopLink {
    type Result = ();
}

#[async_trait]
impl Handler<StopLink> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: StopLink) {
        self.link_stop = None;
    }
}

/// FAILOVER: become a replica of `target`, sending `PSYNC ... FAILOVER` so it promotes itself.
pub struct SetMasterFailover(pub (String, u16));
impl Message for SetMasterFailover {
    type Result = String;
}

#[async_trait]
impl Handler<SetMasterFailover> for MasterLink {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: SetMasterFailover) -> String {
        self.failover_next = true;
        <Self as Handler<SetMaster>>::handle(self, ctx, SetMaster(Some(msg.0))).await
    }
}

#[async_trait]
impl Handler<SetMaster> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetMaster) -> String {
        crate::trace_msg!(self.shared.log, "client", "master-link", "SetMaster({:?})", msg.0);
        match msg.0 {
            None => {
                if self.master.take().is_none() {
                    return "OK".into();
                }
                // The old link ends now, closing its socket (as Redis frees the master client).
                self.link_stop = None;
                set_status(&self.shared, |s| {
                    *s = super::LinkStatus::default();
                });
                self.shared.cfg_mut().set_replicaof(None);
                let _ = self.keyspace.call(SetRole(false)).await;
                crate::notice!(self.shared.log, "MASTER MODE enabled (user request from 'tandem')");
                "OK".into()
            }
            Some(m) => {
                if self.master.as_ref() == Some(&m) {
                    return "OK Already connected to specified master".into();
                }
                // Replacing the sender ends the old link (and closes its socket).
                let (stop_tx, stop) = flume::bounded(1);
                self.link_stop = Some(stop_tx);
                self.master = Some(m.clone());
                self.shared.cfg_mut().set_replicaof(Some(m.clone()));
                set_status(&self.shared, |s| {
                    *s = super::LinkStatus { master: Some(m.clone()), state: MasterLinkState::Connect, down_since_ms: 0, ..Default::default() };
                });
                let _ = self.keyspace.call(SetRole(true)).await;
                crate::notice!(self.shared.log, "REPLICAOF {}:{} enabled (user request from 'tandem')", m.0, m.1);
                let link = Link {
                    shared: self.shared.clone(),
                    keyspace: self.keyspace.clone(),
                    stop,
                    host: m.0,
                    port: m.1,
                    db: 0,
                    failover: std::mem::take(&mut self.failover_next),
                };
                rt::spawn(link.run());
                "OK".into()
            }
        }
    }
}

fn set_status(shared: &Shared, f: impl FnOnce(&mut super::LinkStatus)) {
    let mut s = shared.repl.link.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut s);
}

/// Why one attempt ended.
enum LinkEnd {
    /// Retry in a second.
    Retry(String),
    /// REPLICAOF changed: stop.
    Stale,
}

/// One link task (lives until REPLICAOF changes).
struct Link {
    shared: Arc<Shared>,
    keyspace: Addr<Keyspace>,
    /// Disconnected once the MasterLink drops this link's sender: stop.
    stop: flume::Receiver<()>,
    host: String,
    port: u16,
    /// The master client's selected db (kept across reconnects, like the cached master).
    db: usize,
    /// Send `PSYNC ... FAILOVER` (this server is handing its role to the target).
    failover: bool,
}

/// Runs `fut` unless the link is told to stop first (`None` then).
async fn or_stop<F: std::future::Future>(stop: &flume::Receiver<()>, fut: F) -> Option<F::Output> {
    use futures::FutureExt;
    let stopped = stop.recv_async().fuse();
    let fut = fut.fuse();
    futures::pin_mut!(stopped, fut);
    futures::select! {
        v = fut => Some(v),
        _ = stopped => None,
    }
}

/// A connection to the master: buffered reads plus a writer task for ACKs and replies.
///
/// `out` is the writer's only sender: dropping the `Conn` ends the writer, which drops its
/// clone of the socket.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    out: flume::Sender<Bytes>,
    /// The offset the writer ACKs every second (-1: not streaming yet, no ACKs).
    acked: Arc<AtomicI64>,
    stop: flume::Receiver<()>,
    timeout: Duration,
}

impl Conn {
    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 64 * 1024];
        let read = or_stop(&self.stop, rt::timeout(self.timeout, self.stream.read(&mut chunk))).await;
        let Some(read) = read else { return Err("stopped".into()) };
        match read {
            None => Err("timeout".into()),
            Some(Ok(0)) => Err("connection closed".into()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Reads one `\r\n`-terminated line (without it).
    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut l = self.buf.split_to(i + 1);
                l.truncate(i);
                if l.last() == Some(&b'\r') {
                    l.truncate(l.len() - 1);
                }
                return Ok(String::from_utf8_lossy(&l).into_owned());
            }
            self.fill().await?;
        }
    }

    /// Reads one line, skipping the bare `\n` keepalives a master sends while preparing.
    async fn reply_line(&mut self) -> Result<String, String> {
        loop {
            let l = self.line().await?;
            if !l.is_empty() {
                return Ok(l);
            }
        }
    }

    fn send(&self, argv: &[&[u8]]) {
        let mut b = BytesMut::new();
        crate::resp::reply::encode_command(argv, &mut b);
        let _ = self.out.send(b.freeze());
    }
}

impl Link {
    fn current(&self) -> bool {
        !self.stop.is_disconnected()
    }

    async fn run(mut self) {
        while self.current() {
            let end = self.attempt().await;
            if !self.current() {
                break;
            }
            if let LinkEnd::Retry(why) = end {
                crate::verbose!(self.shared.log, "Master link attempt ended: {}", why);
            }
            let mut was_up = false;
            set_status(&self.shared, |s| {
                if s.state == MasterLinkState::Connected {
                    s.down_since_ms = crate::util::now_ms();
                    was_up = true;
                }
                s.state = MasterLinkState::Connect;
            });
            // A link that was up reconnects at once (the cached master makes it a partial
            // resync); failed attempts retry every second.
            let pause = if was_up { Duration::from_millis(10) } else { Duration::from_secs(1) };
            if or_stop(&self.stop, rt::sleep(pause)).await.is_none() {
                break;
            }
            if self.current() {
                crate::notice!(self.shared.log, "Reconnecting to MASTER {}:{}", self.host, self.port);
            }
        }
    }

    fn state(&self, st: MasterLinkState) {
        set_status(&self.shared, |s| s.state = st);
    }

    async fn attempt(&mut self) -> LinkEnd {
        let timeout = Duration::from_secs(self.shared.cfg().repl_timeout().max(1));
        self.state(MasterLinkState::Connecting);
        crate::notice!(self.shared.log, "Connecting to MASTER {}:{}", self.host, self.port);
        let addr = format!("{}:{}", self.host, self.port);
        let Some(connected) = or_stop(&self.stop, rt::timeout(timeout, TcpStream::connect(&addr))).await else {
            return LinkEnd::Stale;
        };
        let stream = match connected {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                crate::warning!(self.shared.log, "Error condition on socket for SYNC: {}", e);
                return LinkEnd::Retry(e.to_string());
            }
            None => {
                crate::warning!(self.shared.log, "Timeout connecting to the MASTER...");
                return LinkEnd::Retry("connect timeout".into());
            }
        };
        let _ = stream.set_nodelay(true);
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync started");
        let (tx, rx) = flume::unbounded::<Bytes>();
        let acked = Arc::new(AtomicI64::new(-1));
        rt::spawn(write_loop(stream.clone(), rx, acked.clone(), self.shared.clone()));
        let mut conn = Conn { stream: stream.clone(), buf: BytesMut::new(), out: tx, acked, stop: self.stop.clone(), timeout };
        // Register as the master client, so CLIENT LIST / CLIENT KILL TYPE master see it.
        let meta = self.register(&stream);
        let r = match self.handshake_and_sync(&mut conn, &meta).await {
            LinkEnd::Retry(_) if !self.current() => LinkEnd::Stale,
            r => r,
        };
        // The socket closes here: the writer ends with `conn` (its only sender) and the
        // clients table drops its clone below.
        let _ = stream.shutdown(std::net::Shutdown::Both);
        drop(conn);
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&meta.id);
        self.shared.stats.connected_clients.fetch_sub(1, Relaxed);
        if let LinkEnd::Retry(why) = &r {
            let state = self.shared.repl.link.lock().map(|s| s.state).unwrap_or_default();
            let was_up = state == MasterLinkState::Connected;
            if why == "timeout" && state == MasterLinkState::Transfer {
                crate::warning!(self.shared.log, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            } else if why == "timeout" && !was_up {
                crate::warning!(self.shared.log, "Timeout connecting to the MASTER...");
            }
            if was_up {
                crate::notice!(self.shared.log, "Connection with master lost.");
                crate::notice!(self.shared.log, "Caching the disconnected master state.");
            } else {
                crate::verbose!(self.shared.log, "sync attempt failed: {}", why);
            }
        }
        r
    }

    fn register(&self, stream: &TcpStream) -> Arc<ClientMeta> {
        let id = self.shared.next_client_id();
        let meta = Arc::new(ClientMeta::new(id, stream.peer_addr().map(|a| a.to_string()).unwrap_or_default(), stream.local_addr().map(|a| a.to_string()).unwrap_or_default(), true));
        let s = stream.clone();
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            ClientEntry { meta: meta.clone(), kill: Box::new(move || { let _ = s.shutdown(std::net::Shutdown::Both); }) },
        );
        self.shared.stats.connected_clients.fetch_add(1, Relaxed);
        meta
    }

    async fn handshake_and_sync(&mut self, conn: &mut Conn, meta: &Arc<ClientMeta>) -> LinkEnd {
        macro_rules! tryio {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return LinkEnd::Retry(e),
                }
            };
        }
        // PING
        self.state(MasterLinkState::ReceivePong);
        conn.send(&[b"PING"]);
        let pong = tryio!(conn.reply_line().await);
        if pong.starts_with('-')
            && !pong.starts_with("-NOAUTH")
            && !pong.starts_with("-NOPERM")
            && !pong.starts_with("-ERR operation not permitted")
        {
            crate::warning!(self.shared.log, "Error reply to PING from master: '{}'", &pong[1..]);
            return LinkEnd::Retry(pong);
        }
        crate::notice!(self.shared.log, "Master replied to PING, replication can continue...");
        if !self.current() {
            return LinkEnd::Stale;
        }
        // AUTH, REPLCONF listening-port, [ip-address], capa: pipelined.
        self.state(MasterLinkState::SendHandshake);
        let (auth, user, port, ip) = {
            let c = self.shared.cfg();
            let announce = c.replica_announce_port();
            (c.masterauth(), c.masteruser(), if announce > 0 { announce } else { self.shared.port() }, c.replica_announce_ip())
        };
        let mut expect = 0;
        if let Some(pass) = &auth {
            match &user {
                Some(u) => conn.send(&[b"AUTH", u, pass]),
                None => conn.send(&[b"AUTH", pass]),
            }
        }
        let port_s = port.to_string();
        conn.send(&[b"REPLCONF", b"listening-port", port_s.as_bytes()]);
        expect += 1;
        if let Some(ip) = &ip {
            conn.send(&[b"REPLCONF", b"ip-address", ip.as_bytes()]);
            expect += 1;
        }
        conn.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        expect += 1;
        if auth.is_some() {
            self.state(MasterLinkState::ReceiveAuth);
            let r = tryio!(conn.reply_line().await);
            if r.starts_with('-') {
                crate::warning!(self.shared.log, "Unable to AUTH to MASTER: {}", &r[1..]);
                return LinkEnd::Retry(r);
            }
        }
        self.state(MasterLinkState::ReceivePort);
        for _ in 0..expect {
            let r = tryio!(conn.reply_line().await);
            if r.starts_with('-') {
                crate::notice!(self.shared.log, "(Non critical) Master does not understand REPLCONF: {}", &r[1..]);
            }
        }
        // PSYNC with the cached master, or ? -1.
        self.state(MasterLinkState::SendPsync);
        let cached = self.keyspace.call(CachedMaster).await.ok().flatten();
        match &cached {
            Some((id, off, _)) => {
                crate::notice!(self.shared.log, "Trying a partial resynchronization (request {}:{}).", id, off + 1);
                let o = (off + 1).to_string();
                if self.failover {
                    conn.send(&[b"PSYNC", id.as_bytes(), o.as_bytes(), b"FAILOVER"]);
                } else {
                    conn.send(&[b"PSYNC", id.as_bytes(), o.as_bytes()]);
                }
            }
            None => {
                crate::notice!(self.shared.log, "Partial resynchronization not possible (no cached master)");
                conn.send(&[b"PSYNC", b"?", b"-1"]);
            }
        }
        self.state(MasterLinkState::ReceivePsync);
        let reply = tryio!(conn.reply_line().await);
        if self.failover {
            self.failover = false;
            if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
                super::failover::clear(&self.shared);
            } else {
                crate::notice!(self.shared.log, "FAILOVER target rejected psync request: {}", reply);
                if let Some(link) = self.shared.repl_actors.get().map(|a| a.link.clone()) {
                    let shared = self.shared.clone();
                    rt::spawn(async move { super::failover::abort(&shared, &link, "Failover target rejected psync request").await });
                }
                return LinkEnd::Stale;
            }
        }
        let mut words = reply.split_whitespace();
        let head = words.next().unwrap_or("");
        let (replid, offset) = if head == "+FULLRESYNC" {
            let id = words.next().unwrap_or("").to_string();
            let off: i64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
            crate::notice!(self.shared.log, "Full resync from master: {}:{}", id, off);
            if cached.is_some() {
                crate::notice!(self.shared.log, "Discarding previously cached master state.");
            }
            (id, off)
        } else if head == "+CONTINUE" {
            let (cid, coff, cdb) = cached.clone().unwrap_or_default();
            // The stream goes on in the db it had selected (kept with the cached master, even
            // across a REPLICAOF to another host and back).
            self.db = cdb;
            let newid = words.next().map(|s| s.to_string()).unwrap_or(cid);
            crate::notice!(self.shared.log, "Successful partial resynchronization with master.");
            let _ = self.keyspace.call(Continued { replid: newid }).await;
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            return self.stream(conn, meta, coff).await;
        } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
            crate::notice!(self.shared.log, "Master is currently unable to PSYNC but should be in the future: {}", reply);
            return LinkEnd::Retry(reply);
        } else if reply.starts_with('-') {
            crate::warning!(self.shared.log, "Unexpected reply to PSYNC from master: {}", reply);
            crate::notice!(self.shared.log, "Retrying with SYNC...");
            conn.send(&[b"SYNC"]);
            (crate::util::random_hex(40), 0)
        } else {
            crate::warning!(self.shared.log, "Unexpected reply to PSYNC from master: {}", reply);
            return LinkEnd::Retry(reply);
        };
        // Transfer.
        self.state(MasterLinkState::Transfer);
        let header = tryio!(conn.reply_line().await);
        if !header.starts_with('$') {
            crate::warning!(self.shared.log, "Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", header);
            return LinkEnd::Retry(header);
        }
        // The RDB is parsed while it arrives: a blocking task reads it from a channel the
        // link feeds, so loading overlaps the transfer.
        let ndbs = self.shared.cfg().databases();
        let eof_mark = header.strip_prefix("$EOF:");
        // A `$<len>` bulk bounds what the RDB's lengths may pre-size; a diskless `$EOF:` stream
        // has no known size (the loader then bounds pre-sizing by constants).
        let len: usize = match eof_mark {
            Some(_) => 0,
            None => match header[1..].parse() {
                Ok(l) => l,
                Err(_) => return LinkEnd::Retry(header),
            },
        };
        let size = eof_mark.is_none().then_some(len as u64);
        let (tx, rx) = flume::bounded::<Bytes>(64);
        let loader = rt::spawn_blocking(move || load_rdb(ChanReader { rx, cur: Bytes::new() }, size, ndbs, false));
        let mut received = 0usize;
        if let Some(mark) = eof_mark {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
            let mark = mark.as_bytes().to_vec();
            let mut tail: Vec<u8> = Vec::with_capacity(2 * mark.len());
            loop {
                let chunk = conn.buf.split().freeze();
                received += chunk.len();
                tail.extend_from_slice(&chunk[chunk.len().saturating_sub(mark.len())..]);
                if tail.len() > mark.len() {
                    tail.drain(..tail.len() - mark.len());
                }
                // The parser stops at the RDB's checksum, so the mark itself is never read.
                let _ = tx.send_async(chunk).await;
                self.progress(received as i64, 0);
                if tail == mark {
                    break;
                }
                tryio!(conn.fill().await);
            }
        } else {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving {} bytes from master to disk", len);
            loop {
                let take = conn.buf.len().min(len - received);
                let chunk = conn.buf.split_to(take).freeze();
                received += chunk.len();
                let _ = tx.send_async(chunk).await;
                self.progress(received as i64, len as i64);
                if received >= len {
                    break;
                }
                tryio!(conn.fill().await);
            }
        }
        drop(tx);
        self.shared.stats.net_repl_input_bytes.fetch_add(received as u64, Relaxed);
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Flushing old data");
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Loading DB in memory");
        let loaded = loader.await;
        let (dbs, info) = match loaded {
            Ok(v) => v,
            Err(e) => {
                crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from socket: {}", e);
                crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from disk, check server logs.");
                return LinkEnd::Retry(e.to_string());
            }
        };
        if !self.current() {
            return LinkEnd::Stale;
        }
        let stream_db = info.repl_stream_db.unwrap_or(-1);
        self.db = if stream_db >= 0 { stream_db as usize } else { 0 };
        let _ = self.keyspace.call(LoadSnapshot { dbs, replid, offset, stream_db }).await;
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Finished with success");
        self.stream(conn, meta, offset).await
    }

    fn progress(&self, read: i64, total: i64) {
        set_status(&self.shared, |s| {
            s.sync_read = read;
            s.sync_total = total;
            s.last_io_ms = crate::util::now_ms();
        });
    }

    /// The connected state: apply the stream, count offsets, ACK.
    async fn stream(&mut self, conn: &mut Conn, meta: &Arc<ClientMeta>, start_offset: i64) -> LinkEnd {
        self.state(MasterLinkState::Connected);
        set_status(&self.shared, |s| {
            s.last_io_ms = crate::util::now_ms();
            s.down_since_ms = 0;
        });
        // ACK now; the writer task ACKs `applied` every second from now on.
        let applied = conn.acked.clone();
        applied.store(start_offset, Relaxed);
        let ack = |off: i64, out: &flume::Sender<Bytes>| {
            let _ = out.send(ack_command(off));
        };
        ack(start_offset, &conn.out);
        let mut parser = RequestParser::new();
        parser.keep_empty = true;
        let limits = Limits { max_bulk_len: i64::MAX, authenticated: true };
        let mut raw = BytesMut::new();
        // Bytes of `raw` that belong to complete commands not yet applied.
        let mut ready_len = 0usize;
        let mut items: Vec<Item> = vec![];
        let mut txn: Option<(Vec<Cmd>, usize)> = None;
        // Parser input: bytes not consumed yet (the parser leaves a partly received bulk
        // payload or header line here until the rest arrives).
        let mut data = BytesMut::new();
        let mut fresh = std::mem::take(&mut conn.buf);
        loop {
            if !self.current() {
                return LinkEnd::Stale;
            }
            if !fresh.is_empty() {
                let fresh = std::mem::take(&mut fresh);
                raw.extend_from_slice(&fresh);
                self.shared.stats.net_repl_input_bytes.fetch_add(fresh.len() as u64, Relaxed);
                if data.is_empty() {
                    data = fresh;
                } else {
                    data.extend_from_slice(&fresh);
                }
                let mut reqs = vec![];
                let r = parser.parse(&mut data, limits, &mut reqs);
                for req in reqs {
                    let argv = req.argv;
                    let len = req.wire_len;
                    if let Some((cmds, tlen)) = txn.as_mut() {
                        *tlen += len;
                        if argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"EXEC")) {
                            let (cmds, tlen) = txn.take().unwrap_or_default();
                            items.push(Item::Txn(cmds));
                            ready_len += tlen;
                        } else if let Some(spec) = argv.first().and_then(|n| cmd::lookup(n)) {
                            if spec.arity_ok(argv.len()) {
                                cmds.push(Cmd { spec, argv });
                            } else {
                                crate::warning!(self.shared.log, "Wrong number of arguments for '{}' from master, ignored", spec.name);
                            }
                        }
                        continue;
                    }
                    let Some(name) = argv.first() else {
                        ready_len += len;
                        continue;
                    };
                    if name.eq_ignore_ascii_case(b"MULTI") {
                        txn = Some((vec![], len));
                        continue;
                    }
                    if name.eq_ignore_ascii_case(b"REPLCONF") {
                        if argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"GETACK")) {
                            // Answer with the offset before this command's own bytes.
                            let off = self.apply(&mut items, &mut raw, &mut ready_len).await;
                            applied.store(off, Relaxed);
                            ack(off, &conn.out);
                        }
                        ready_len += len;
                        continue;
                    }
                    if name.eq_ignore_ascii_case(b"PING") {
                        ready_len += len;
                        continue;
                    }
                    match cmd::lookup(name) {
                        // Commands are implemented assuming a checked arity: a malformed
                        // one from the master must not reach them.
                        Some(spec) if !spec.arity_ok(argv.len()) => {
                            crate::warning!(self.shared.log, "Wrong number of arguments for '{}' from master, ignored", spec.name)
                        }
                        Some(spec) => items.push(Item::Cmd(Cmd { spec, argv })),
                        None => crate::warning!(self.shared.log, "Unknown command '{}' from master, ignored", String::from_utf8_lossy(name)),
                    }
                    ready_len += len;
                }
                if let Err(e) = r {
                    crate::warning!(self.shared.log, "Protocol error from master: {}", e.0);
                    return LinkEnd::Retry(e.0);
                }
                if ready_len > 0 {
                    let off = self.apply(&mut items, &mut raw, &mut ready_len).await;
                    applied.store(off, Relaxed);
                }
                set_status(&self.shared, |s| {
                    s.last_io_ms = crate::util::now_ms();
                    s.read_offset = applied.load(Relaxed) + raw.len() as i64;
                });
            }
            if meta.killed.load(Relaxed) {
                return LinkEnd::Retry("killed".into());
            }
            match conn.fill().await {
                Ok(()) => fresh = conn.buf.split(),
                Err(e) if e == "timeout" => {
                    crate::warning!(self.shared.log, "MASTER timeout: no data nor PING received...");
                    return LinkEnd::Retry(e);
                }
                Err(e) => return LinkEnd::Retry(e),
            }
        }
    }

    /// Sends the ready commands and their raw bytes to the keyspace; returns the new offset.
    async fn apply(&mut self, items: &mut Vec<Item>, raw: &mut BytesMut, ready_len: &mut usize) -> i64 {
        let bytes = raw.split_to(*ready_len).freeze();
        *ready_len = 0;
        let msg = ApplyStream { items: std::mem::take(items), raw: bytes, db: self.db };
        match self.keyspace.call(msg).await {
            Ok((db, off)) => {
                self.db = db;
                off
            }
            Err(_) => 0,
        }
    }
}

/// `REPLCONF ACK <off>`.
fn ack_command(off: i64) -> Bytes {
    let mut b = BytesMut::new();
    let o = off.to_string();
    crate::resp::reply::encode_command(&[&b"REPLCONF"[..], b"ACK", o.as_bytes()], &mut b);
    b.freeze()
}

/// The link's writer task: what the link queues (handshake, ACK replies to GETACK) and, once
/// streaming (`acked >= 0`), `REPLCONF ACK` every second, as Redis's replication cron does.
/// It holds the receiver and a clone of the socket, no sender: it ends when the link drops
/// its `Conn`, or at a write error, and the socket clone goes with it.
async fn write_loop(mut ws: TcpStream, rx: flume::Receiver<Bytes>, acked: Arc<AtomicI64>, shared: Arc<Shared>) {
    let period = Duration::from_secs(1);
    let mut next_ack = std::time::Instant::now() + period;
    loop {
        let wait = next_ack.saturating_duration_since(std::time::Instant::now());
        let b = match rt::timeout(wait, rx.recv_async()).await {
            Some(Ok(b)) => b,
            Some(Err(_)) => break,
            None => {
                next_ack = std::time::Instant::now() + period;
                let off = acked.load(Relaxed);
                if off < 0 {
                    continue;
                }
                ack_command(off)
            }
        };
        shared.stats.net_output_bytes.fetch_add(b.len() as u64, Relaxed);
        if ws.write_all(&b).await.is_err() {
            break;
        }
    }
}

#[allow(dead_code)]
fn _assert_buf(b: &mut BytesMut) {
    b.advance(0);
}

/// Reads the RDB from the chunks the link task receives (blocking side of the channel).
struct ChanReader {
    rx: flume::Receiver<Bytes>,
    cur: Bytes,
}

impl std::io::Read for ChanReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.cur = b,
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        self.cur.advance(n);
        Ok(n)
    }
}
