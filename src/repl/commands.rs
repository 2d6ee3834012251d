//! Replication commands a client runs: REPLCONF, SYNC/PSYNC, WAIT, REPLICAOF/SLAVEOF and
//! FAILOVER. The client actor lends each what it needs of the connection (a [`Caller`]);
//! SYNC/PSYNC hands the connection's socket over to a new replica actor.

use super::backlog::{Backlog, WaitAcks, WaitEnd};
use super::failover::{self as fo, Failover, FailoverState};
use super::link::{Requester, SetMaster};
use super::replica::{Begin, Handshake, Replica, ReplicaState};
use super::{CachedMaster, GetAck, HistoryOf, Psync, PsyncOutcome, ReplActors, WaitOffset};
use crate::keyspace::feed::Reach;
use crate::keyspace::cmd::clients::client_line;
use crate::keyspace::cmd::{self, eq, err};
use crate::keyspace::Keyspace;
use crate::resp::Out;
use crate::rt::{Addr, Conn};
use crate::shared::{ClientMeta, Shared};
use crate::util::num;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// What a replication command sees of the connection that runs it.
pub struct Caller<'a> {
    pub id: u64,
    pub meta: &'a Arc<ClientMeta>,
    pub shared: &'a Arc<Shared>,
    pub keyspace: &'a Addr<Keyspace>,
    pub repl: &'a ReplActors,
    /// The connection's socket (SYNC/PSYNC hands it to the replica actor).
    pub stream: &'a mut Conn,
    /// Replies not yet written.
    pub out: &'a mut Out,
    /// REPLCONF state, used if this connection turns into a replica.
    pub handshake: &'a mut Handshake,
    /// Offset of the replication stream after this connection's last write (WAIT).
    pub repl_offset: i64,
    /// In MULTI, or running the connection commands of an EXEC (WAIT answers at once there).
    pub in_txn: bool,
}

/// What the connection does after a replication command.
pub enum After {
    Continue,
    /// Write what is buffered, then close.
    Close,
    /// The socket now belongs to a replica actor: the connection ends without closing it.
    HandedOver,
}

/// Runs replication command `name`.
pub async fn run(c: &mut Caller<'_>, name: &str, a: &[Bytes]) -> After {
    match name {
        "replconf" => replconf(c, a),
        "psync" => return sync(c, a, true).await,
        "sync" => return sync(c, a, false).await,
        "wait" => wait(c, a).await,
        "waitoffset" => wait_offset(c, a).await,
        "writeoffset" => write_offset(c).await,
        "verifyreplicas" => verify_replicas(c, a).await,
        "replicaof" | "slaveof" => replicaof(c, a).await,
        "failover" => failover(c, a).await,
        _ => c.out.error(format!("ERR '{}' cannot run here", name)),
    }
    After::Continue
}

fn replconf(c: &mut Caller<'_>, a: &[Bytes]) {
    if a.len().is_multiple_of(2) {
        return c.out.error(err::SYNTAX);
    }
    let mut i = 1;
    while i < a.len() {
        let (o, v) = (&a[i], &a[i + 1]);
        if eq(o, "listening-port") {
            match num::parse_i64(v).filter(|p| (0..=65535).contains(p)) {
                Some(p) => c.handshake.listening_port = p as u16,
                None => return c.out.error(err::NOT_INT),
            }
        } else if eq(o, "ip-address") {
            c.handshake.ip_address = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq(o, "capa") {
            if eq(v, "eof") {
                c.handshake.capa_eof = true;
            } else if eq(v, "psync2") {
                c.handshake.capa_psync2 = true;
            } else if eq(v, "tandem-verify") {
                c.handshake.capa_verify = true;
            } else if eq(v, "tandem-resume") {
                c.handshake.capa_resume = true;
            } else if eq(v, "dual-channel") {
                // As Valkey: only while this server does dual-channel, diskless syncs.
                let cfg = c.shared.cfg();
                if cfg.dual_channel() && cfg.repl_diskless_sync() {
                    c.handshake.capa_dual = true;
                }
            }
        } else if eq(o, "rdb-only") {
            match num::parse_i64(v) {
                Some(0) => c.handshake.rdb_only = false,
                Some(1) => c.handshake.rdb_only = true,
                _ => return c.out.error(err::NOT_INT),
            }
        } else if eq(o, "resume") {
            // tandem: `<replid>:<offset>:<bytes>`, the RDB this replica has up to a byte.
            let text = String::from_utf8_lossy(v).into_owned();
            let mut parts = text.split(':');
            let parsed = (|| Some((parts.next()?.to_string(), parts.next()?.parse().ok()?, parts.next()?.parse().ok()?)))();
            match parsed {
                Some(r) => c.handshake.resume = Some(r),
                None => return c.out.error(err::SYNTAX),
            }
        } else if eq(o, "rdb-channel") {
            match num::parse_i64(v) {
                Some(0) => c.handshake.rdb_channel = false,
                Some(1) => c.handshake.rdb_channel = true,
                _ => return c.out.error(err::NOT_INT),
            }
        } else if eq(o, "set-rdb-client-id") {
            let Some(id) = num::parse_i64(v) else { return c.out.error(err::NOT_INT) };
            let known = c.shared.repl.replicas.lock().map(|r| r.iter().any(|r| r.rdb_channel && r.id as i64 == id)).unwrap_or(false);
            if !known {
                return c.out.error(format!("ERR Unrecognized RDB client id {}", id));
            }
            c.handshake.rdb_client_id = Some(id as u64);
        } else if eq(o, "rdb-filter-only") {
            if !v.is_empty() && !eq(v, "functions") {
                return c.out.error([&b"ERR Unsupported rdb-filter-only option: "[..], cmd::cstr(v, usize::MAX)].concat());
            }
        } else if eq(o, "version") {
            // Valkey 8 replicas announce their version (logged when they ask to sync).
            c.handshake.version = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq(o, "ack") || eq(o, "getack") {
            // Only meaningful on a replica link: no reply, as Redis.
            return;
        } else {
            return c.out.error([&b"ERR Unrecognized REPLCONF option: "[..], cmd::cstr(o, usize::MAX)].concat());
        }
        i += 2;
    }
    if c.shared.log.tracing() {
        trace_handshake(c, a);
    }
    c.out.ok();
}

/// The conversation id of a connection that is becoming a replica: `ip:listening-port`.
fn handshake_conv(c: &Caller<'_>) -> String {
    let ip = c.handshake.ip_address.clone().unwrap_or_else(|| c.meta.addr.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_default());
    format!("{}:{}", ip, c.handshake.listening_port)
}

/// Traces a replication handshake line read from a replica-to-be (REPLCONF, PSYNC, SYNC).
fn trace_handshake(c: &Caller<'_>, a: &[Bytes]) {
    let line = a.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect::<Vec<_>>().join(" ");
    let conv = handshake_conv(c);
    crate::trace_wire!(c.shared.log, format_args!("net:{}", c.meta.addr), format_args!("client:{}", c.id), "{} {{conv={}}}", line, conv);
}

/// SYNC / PSYNC: this connection becomes a replica actor's.
async fn sync(c: &mut Caller<'_>, a: &[Bytes], psync: bool) -> After {
    if c.meta.is_replica.load(Relaxed) {
        return After::Continue;
    }
    if c.shared.log.tracing() {
        trace_handshake(c, a);
    }
    if c.shared.is_replica.load(Relaxed) {
        let up = c.shared.repl.link_up();
        if !up {
            c.out.error("NOMASTERLINK Can't SYNC while not connected with my master");
            return After::Continue;
        }
    }
    if psync && a.len() > 3 && eq(&a[3], "FAILOVER") {
        crate::warning!(c.shared.log, "Failover request received for replid {}.", String::from_utf8_lossy(&a[1]));
        if !c.shared.is_replica.load(Relaxed) {
            c.out.error("ERR PSYNC FAILOVER can't be sent to a master.");
            return After::Continue;
        }
        let mine = c.keyspace.call(CachedMaster).await.ok().flatten().map(|(id, _, _)| id);
        if mine.as_deref() != Some(&*String::from_utf8_lossy(&a[1])) {
            c.out.error("ERR PSYNC FAILOVER replid must match my replid.");
            return After::Continue;
        }
        let by = Requester { actor: format!("client:{}", c.id), line: client_line(c.meta) };
        let _ = c.repl.link.call(SetMaster { target: None, by }).await;
        crate::notice!(c.shared.log, "MASTER MODE enabled (failover request from '{}')", client_line(c.meta));
    }
    if c.shared.repl.failover_state() != FailoverState::NoFailover {
        c.out.error("NOMASTERLINK Can't SYNC while failing over");
        return After::Continue;
    }
    let (replid, offset) = if psync {
        match num::parse_i64(&a[2]) {
            Some(o) => (String::from_utf8_lossy(&a[1]).into_owned(), o),
            None => {
                crate::warning!(c.shared.log, "Replica {} asks for synchronization but with a wrong offset", c.handshake.replica_name(&c.meta));
                c.out.error(err::NOT_INT);
                return After::Continue;
            }
        }
    } else {
        ("?".to_string(), -1)
    };
    // Dual-channel (Valkey 8): a replica that cannot continue gets its RDB on a second
    // connection; this one stays a plain connection for its `set-rdb-client-id` and PSYNC.
    if psync && c.handshake.capa_dual && c.handshake.rdb_client_id.is_none() {
        let ask = super::CanContinue { client: c.id, name: c.handshake.replica_name(c.meta), replid: replid.clone(), offset };
        if !c.keyspace.call(ask).await.unwrap_or(true) {
            crate::notice!(
                c.shared.log,
                "Replica {} is capable of dual channel synchronization, and partial sync isn't possible. Full sync will continue with dedicated RDB channel.",
                c.handshake.replica_name(c.meta)
            );
            crate::trace_wire!(c.shared.log, format_args!("client:{}", c.id), format_args!("net:{}", c.meta.addr), "+DUALCHANNELSYNC {{conv={}}}", handshake_conv(c));
            c.out.simple("DUALCHANNELSYNC");
            return After::Continue;
        }
    }
    // Replies still buffered (queued ones first) go out before the replica's stream.
    crate::shared::output_drained(&c.meta).await;
    let pending = std::mem::take(&mut c.out.buf);
    if !pending.is_empty() {
        use crate::rt::WriteExt;
        let _ = c.stream.write_all(&pending).await;
    }
    let replica = Replica::new(
        c.stream.clone(),
        c.meta.clone(),
        c.shared.clone(),
        c.keyspace.clone(),
        c.repl.backlog.clone(),
        c.repl.buf.clone(),
        c.handshake.clone(),
        psync,
    );
    let info = replica.info.clone();
    let out = replica.outlet();
    let name = info.name();
    crate::notice!(c.shared.log, "Replica {} asks for synchronization", name);
    if let Some(v) = &c.handshake.version {
        crate::verbose!(c.shared.log, "Replica {} announced version {}", name, v);
    }
    let Ok(addr) = crate::rt::start(replica).await else {
        return After::Close;
    };
    let resume = c.handshake.resume.clone();
    let msg = Psync { id: c.id, name, replid, offset, psync, replica: addr.clone(), out, meta: c.meta.clone(), backlog: c.repl.backlog.clone(), resume };
    let outcome = c.keyspace.call(msg).await.unwrap_or(PsyncOutcome::Error("ERR server is shutting down".into()));
    let _ = addr.send(Begin(outcome));
    After::HandedOver
}

async fn wait(c: &mut Caller<'_>, a: &[Bytes]) {
    if c.shared.is_replica.load(Relaxed) {
        return c.out.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let (Some(n), Some(timeout)) = (num::parse_i64(&a[1]), num::parse_i64(&a[2])) else {
        return c.out.error(err::NOT_INT);
    };
    if timeout < 0 {
        return c.out.error("ERR timeout is negative");
    }
    let target = c.repl_offset;
    let backlog = c.repl.backlog.clone();
    let id = c.id;
    let count_now = |backlog: Addr<Backlog>| async move { backlog.call(WaitEnd { client: id, target }).await.unwrap_or(0) };
    let got = count_now(backlog.clone()).await;
    if got as i64 >= n || c.in_txn {
        return c.out.int(got as i64);
    }
    // A conversation, not a poll: the backlog answers once enough replicas' ACKs (which their
    // actors report to it) reach our offset; GETACK asks every replica for one now.
    let (tx, rx) = flume::bounded(1);
    let _ = backlog.send(WaitAcks { client: id, target, n: n.max(0) as usize, reply: tx });
    let _ = c.keyspace.call(GetAck(c.id)).await;
    let deadline = (timeout > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    loop {
        // Woken by the answer; the slices only notice CLIENT KILL and shutdown meanwhile.
        let slice = deadline.map_or(std::time::Duration::from_millis(100), |d| {
            d.saturating_duration_since(std::time::Instant::now()).min(std::time::Duration::from_millis(100))
        });
        if let Some(Ok(got)) = crate::rt::timeout(slice, rx.recv_async()).await {
            return c.out.int(got as i64);
        }
        let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if expired || c.meta.killed.load(Relaxed) || c.shared.shutting_down.load(Relaxed) {
            let got = count_now(backlog).await;
            return c.out.int(got as i64);
        }
    }
}

/// WRITEOFFSET: where this connection's last write stands in the replication stream, as the
/// replication ID of its history and its offset (0: nothing written yet), for WAITOFFSET on
/// a replica (read-your-writes).
async fn write_offset(c: &mut Caller<'_>) {
    let offset = c.repl_offset;
    let Ok(replid) = c.keyspace.call(HistoryOf { client: c.id, offset }).await else {
        return c.out.error("ERR server is shutting down");
    };
    c.out.array(2);
    c.out.bulk(replid.as_bytes());
    c.out.int(offset);
}

/// WAITOFFSET replid offset timeout: answers 1 once this server's dataset holds everything
/// up to `offset` of history `replid` (the current history, or the previous one up to where
/// it became ours after a failover), 0 when `timeout` ms (0: no limit) pass first, and an
/// error when that point of the previous history never reached us (lost in a failover).
/// A conversation with the keyspace, which answers from the handler that applies the stream
/// reaching the point.
async fn wait_offset(c: &mut Caller<'_>, a: &[Bytes]) {
    let (Some(offset), Some(timeout)) = (num::parse_i64(&a[2]), num::parse_i64(&a[3])) else {
        return c.out.error(err::NOT_INT);
    };
    if timeout < 0 {
        return c.out.error("ERR timeout is negative");
    }
    let replid = String::from_utf8_lossy(&a[1]).into_owned();
    let (tx, rx) = flume::bounded(1);
    let msg = WaitOffset { client: c.id, replid: replid.clone(), offset, reply: tx };
    let mut reach = c.keyspace.call(msg).await.unwrap_or(Reach::Pending);
    if reach == Reach::Pending && !c.in_txn {
        let deadline = (timeout > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
        loop {
            // Woken by the answer; the slices only notice CLIENT KILL and shutdown meanwhile.
            let slice = deadline.map_or(std::time::Duration::from_millis(100), |d| {
                d.saturating_duration_since(std::time::Instant::now()).min(std::time::Duration::from_millis(100))
            });
            if let Some(Ok(r)) = crate::rt::timeout(slice, rx.recv_async()).await {
                reach = r;
                break;
            }
            let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
            if expired || c.meta.killed.load(Relaxed) || c.shared.shutting_down.load(Relaxed) {
                break;
            }
        }
    }
    match reach {
        Reach::Reached => c.out.int(1),
        Reach::Pending => c.out.int(0),
        Reach::Lost => c.out.error(format!(
            "LOSTWRITE offset {} of replication ID {} is not in this server's dataset: that history ended here before it (a failover)",
            offset, replid
        )),
    }
}

/// VERIFYREPLICAS [timeout]: starts a consistency-proof round now (the master's snapshot at
/// offset O and the marker after it in the stream), waits up to `timeout` ms (default 5000,
/// 0: no limit) for every verifying replica's digest at O, and answers, per replica, its
/// address, the offset of its last verdict, the verdict (`match`, `mismatch`, or `pending`
/// when it has not answered for this round) and its digest.
async fn verify_replicas(c: &mut Caller<'_>, a: &[Bytes]) {
    let timeout = match a.get(1) {
        None => 5000,
        Some(t) => match num::parse_i64(t) {
            Some(t) if t >= 0 => t,
            Some(_) => return c.out.error("ERR timeout is negative"),
            None => return c.out.error(err::NOT_INT),
        },
    };
    if a.len() > 2 {
        return c.out.error(err::SYNTAX);
    }
    let by = format!("client:{}", c.id);
    let offset = match c.keyspace.call(crate::keyspace::verify::StartVerify { by }).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return c.out.error(e),
        Err(_) => return c.out.error("ERR server is shutting down"),
    };
    let (tx, rx) = flume::bounded(1);
    let _ = c.repl.backlog.send(super::verify::AwaitVerdicts { client: c.id, offset, reply: tx });
    let deadline = (timeout > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    loop {
        // Woken by the backlog; the slices only notice CLIENT KILL and shutdown meanwhile.
        let slice = deadline.map_or(std::time::Duration::from_millis(100), |d| {
            d.saturating_duration_since(std::time::Instant::now()).min(std::time::Duration::from_millis(100))
        });
        if let Some(r) = crate::rt::timeout(slice, rx.recv_async()).await {
            if r.is_ok() {
                break;
            }
        }
        let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if expired || c.meta.killed.load(Relaxed) || c.shared.shutting_down.load(Relaxed) {
            break;
        }
    }
    let replicas = c.shared.repl.replicas.lock().map(|r| r.clone()).unwrap_or_default();
    c.out.array(replicas.len());
    for r in replicas {
        let v = r.verified.lock().map(|v| v.clone()).unwrap_or_default();
        c.out.array(4);
        c.out.bulk(r.name().as_bytes());
        match v {
            Some(v) if v.offset == offset => {
                c.out.int(v.offset);
                c.out.bulk(v.verdict.name().as_bytes());
                c.out.bulk(v.digest.as_bytes());
            }
            _ => {
                c.out.int(offset);
                c.out.bulk(b"pending");
                c.out.null();
            }
        }
    }
}

async fn replicaof(c: &mut Caller<'_>, a: &[Bytes]) {
    // As Redis: a failover owns the role until it ends or FAILOVER ABORT.
    if c.shared.repl.failover_state() != FailoverState::NoFailover {
        return c.out.error("ERR REPLICAOF not allowed while failing over.");
    }
    let target = if eq(&a[1], "NO") && eq(&a[2], "ONE") {
        None
    } else {
        let Some(port) = num::parse_i64(&a[2]) else {
            return c.out.error(err::NOT_INT);
        };
        if !(0..=65535).contains(&port) {
            return c.out.error("ERR Invalid master port");
        }
        Some((String::from_utf8_lossy(&a[1]).into_owned(), port as u16))
    };
    let by = Requester { actor: format!("client:{}", c.id), line: client_line(c.meta) };
    match c.repl.link.call(SetMaster { target, by }).await {
        Ok(status) => c.out.simple(&status),
        Err(_) => c.out.error("ERR server is shutting down"),
    }
}

async fn failover(c: &mut Caller<'_>, a: &[Bytes]) {
    if a.len() == 2 && eq(&a[1], "ABORT") {
        if c.shared.repl.failover_state() == FailoverState::NoFailover {
            return c.out.error("ERR No failover in progress.");
        }
        fo::abort(c.shared, &c.repl.backlog, &c.repl.link, "Failover manually aborted").await;
        return c.out.ok();
    }
    let (mut timeout, mut force, mut target) = (0i64, false, None::<(String, u16)>);
    let mut j = 1;
    while j < a.len() {
        if eq(&a[j], "TIMEOUT") && j + 1 < a.len() && timeout == 0 {
            let Some(t) = num::parse_i64(&a[j + 1]) else { return c.out.error(err::NOT_INT) };
            if t <= 0 {
                return c.out.error("ERR FAILOVER timeout must be greater than 0");
            }
            timeout = t;
            j += 2;
        } else if eq(&a[j], "TO") && j + 2 < a.len() && target.is_none() {
            let Some(p) = num::parse_i64(&a[j + 2]) else { return c.out.error(err::NOT_INT) };
            target = Some((String::from_utf8_lossy(&a[j + 1]).into_owned(), p as u16));
            j += 3;
        } else if eq(&a[j], "FORCE") && !force {
            force = true;
            j += 1;
        } else {
            return c.out.error(err::SYNTAX);
        }
    }
    if c.shared.repl.failover_state() != FailoverState::NoFailover {
        return c.out.error("ERR FAILOVER already in progress.");
    }
    if c.shared.is_replica.load(Relaxed) {
        return c.out.error("ERR FAILOVER is not valid when server is a replica.");
    }
    let replicas = c.shared.repl.replicas.lock().map(|r| r.clone()).unwrap_or_default();
    if replicas.is_empty() {
        return c.out.error("ERR FAILOVER requires connected replicas.");
    }
    if force && (timeout == 0 || target.is_none()) {
        return c.out.error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    }
    if let Some((h, p)) = &target {
        let Some(r) = replicas.iter().find(|r| r.ip == *h && r.port.load(Relaxed) as u16 == *p) else {
            return c.out.error("ERR FAILOVER target HOST and PORT is not a replica.");
        };
        if r.state() != ReplicaState::Online {
            return c.out.error("ERR FAILOVER target replica is not online.");
        }
        crate::notice!(c.shared.log, "FAILOVER requested to {}:{}.", h, p);
    } else {
        crate::notice!(c.shared.log, "FAILOVER requested to any replica.");
    }
    let end_ms = if timeout > 0 { crate::util::now_ms() + timeout } else { 0 };
    if let Ok(mut f) = c.shared.repl.failover.lock() {
        *f = Failover { state: FailoverState::WaitingForSync, target, end_ms, force };
    }
    c.shared.pause.failover.store(true, Relaxed);
    crate::rt::spawn(fo::run(c.shared.clone(), c.keyspace.clone(), c.repl.clone()));
    c.out.ok();
}
