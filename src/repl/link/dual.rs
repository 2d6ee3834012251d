//! Dual-channel full sync, replica side (Valkey 8's protocol, `dual-channel-replication-enabled
//! yes`). The master answered the main connection's PSYNC with `+DUALCHANNELSYNC`:
//!
//! 1. A second connection, the RDB channel: `REPLCONF capa eof rdb-only 1 rdb-channel 1
//!    listening-port <port>`, then `SYNC`; the master answers
//!    `$ENDOFF:<offset> <replid> <db> <client-id>` (the snapshot's end) before the RDB.
//! 2. The main connection joins the stream right after the snapshot:
//!    `REPLCONF set-rdb-client-id <client-id>`, then `PSYNC <replid> <offset+1>`, answered
//!    `+CONTINUE`.
//! 3. The RDB loads from the RDB channel while the main connection's stream is buffered here
//!    (at most the `client-output-buffer-limit replica` hard limit: at the limit this side
//!    stops reading, and the master's own limit applies to what waits there). The master
//!    keeps nothing per replica meanwhile but its backlog.
//! 4. Once loaded, the RDB channel closes and the buffered stream is applied first, then the
//!    main connection streams on as after any partial resync.

use super::attempt::{Attempt, LinkEnd};
use super::conn::{or_stop, Conn};
use super::MasterLinkState;
use crate::repl::Continued;
use crate::rt::{self, TcpStream};
use crate::shared::ClientMeta;
use std::sync::Arc;
use std::time::Duration;

/// What `$ENDOFF` says of the snapshot the RDB channel carries.
struct EndOff {
    offset: i64,
    replid: String,
    client_id: u64,
}

impl Attempt {
    /// Runs a dual-channel full sync after `+DUALCHANNELSYNC`, then the stream.
    pub(super) async fn dual_channel(&mut self, conn: &mut Conn, meta: &Arc<ClientMeta>, last: &mut MasterLinkState) -> LinkEnd {
        crate::notice!(self.shared.log, "PSYNC is not possible, initialize RDB channel.");
        let (mut rdb, rdb_stream, peer) = match self.open_rdb_channel().await {
            Ok(v) => v,
            Err(e) => return e,
        };
        let end = match self.rdb_channel_sync(&mut rdb, &peer).await {
            Ok(e) => e,
            Err(e) => {
                let _ = rdb_stream.shutdown(std::net::Shutdown::Both);
                return e;
            }
        };
        let r = self.dual_channel_load(conn, &mut rdb, &end, last).await;
        // The RDB channel's work is done (or failed): it closes, its writer ends with it.
        let _ = rdb_stream.shutdown(std::net::Shutdown::Both);
        drop(rdb);
        if let Err(e) = r {
            crate::warning!(self.shared.log, "Aborting dual channel sync");
            return e;
        }
        *last = MasterLinkState::Connected;
        self.stream(conn, meta, end.offset).await
    }

    /// Connects the RDB channel.
    async fn open_rdb_channel(&mut self) -> Result<(Conn, TcpStream, String), LinkEnd> {
        let timeout = Duration::from_secs(self.shared.cfg().repl_timeout().max(1));
        let addr = format!("{}:{}", self.host, self.port);
        let Some(connected) = or_stop(&self.stop, rt::timeout(timeout, TcpStream::connect(&addr))).await else {
            return Err(LinkEnd::Stale);
        };
        let stream = match connected {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                crate::warning!(self.shared.log, "Error condition on socket for dual channel replication: {}", e);
                return Err(LinkEnd::Retry(e.to_string()));
            }
            None => return Err(LinkEnd::Retry("connect timeout".into())),
        };
        let _ = stream.set_nodelay(true);
        let peer = format!("net:{}", stream.peer_addr().map(|a| a.to_string()).unwrap_or(addr));
        let conn = Conn::new(stream.clone(), self.stop.clone(), timeout, self.shared.clone(), (peer.clone(), self.conv.clone()));
        Ok((conn, stream, peer))
    }

    /// The RDB channel's handshake up to `$ENDOFF`.
    async fn rdb_channel_sync(&mut self, rdb: &mut Conn, peer: &str) -> Result<EndOff, LinkEnd> {
        let retry = LinkEnd::Retry;
        let (auth, user) = {
            let c = self.shared.cfg();
            (c.masterauth(), c.masteruser())
        };
        if let Some(pass) = &auth {
            crate::trace_wire!(self.shared.log, "link-io", peer, "AUTH (redacted) {{conv={}}}", self.conv);
            match &user {
                Some(u) => rdb.send(&[b"AUTH", u, pass]),
                None => rdb.send(&[b"AUTH", pass]),
            }
        }
        let port = self.announced_port().to_string();
        crate::trace_wire!(self.shared.log, "link-io", peer, "REPLCONF capa eof rdb-only 1 rdb-channel 1 listening-port {} {{conv={}}}", port, self.conv);
        rdb.send(&[b"REPLCONF", b"capa", b"eof", b"rdb-only", b"1", b"rdb-channel", b"1", b"listening-port", port.as_bytes()]);
        if auth.is_some() {
            let r = rdb.reply_line().await.map_err(retry)?;
            crate::trace_wire!(self.shared.log, peer, "link-io", "{} {{conv={}}}", r, self.conv);
            if r.starts_with('-') {
                crate::warning!(self.shared.log, "Unable to AUTH to MASTER: {}", &r[1..]);
                return Err(LinkEnd::Retry(r));
            }
        }
        let r = rdb.reply_line().await.map_err(retry)?;
        crate::trace_wire!(self.shared.log, peer, "link-io", "{} {{conv={}}}", r, self.conv);
        if r.starts_with('-') {
            crate::notice!(self.shared.log, "Server does not support sync with offset, dual channel sync approach cannot be used: {}", r);
            return Err(LinkEnd::Retry(r));
        }
        crate::trace_wire!(self.shared.log, "link-io", peer, "SYNC {{conv={}}}", self.conv);
        rdb.send(&[b"SYNC"]);
        // Newlines keep the connection alive while the master waits to start its snapshot.
        let line = rdb.reply_line().await.map_err(retry)?;
        crate::trace_wire!(self.shared.log, peer, "link-io", "{} {{conv={}}}", line, self.conv);
        let parsed = line.strip_prefix("$ENDOFF:").and_then(|rest| {
            let mut w = rest.split_whitespace();
            let offset = w.next()?.parse().ok()?;
            let replid = w.next().filter(|id| id.len() == 40)?.to_string();
            let _db: i64 = w.next()?.parse().ok()?;
            let client_id = w.next()?.parse().ok()?;
            Some(EndOff { offset, replid, client_id })
        });
        match parsed {
            Some(e) => Ok(e),
            None => {
                crate::warning!(self.shared.log, "Received unexpected $ENDOFF response: {}", line);
                Err(LinkEnd::Retry(line))
            }
        }
    }

    /// The main connection continues right after the snapshot while the RDB loads from the
    /// RDB channel; what the main connection receives meanwhile stays in its buffer.
    async fn dual_channel_load(&mut self, conn: &mut Conn, rdb: &mut Conn, end: &EndOff, last: &mut MasterLinkState) -> Result<(), LinkEnd> {
        let id = end.client_id.to_string();
        self.wire_out(format_args!("REPLCONF set-rdb-client-id {}", id));
        conn.send(&[b"REPLCONF", b"set-rdb-client-id", id.as_bytes()]);
        let r = conn.reply_line().await.map_err(LinkEnd::Retry)?;
        self.wire_in(format_args!("{}", r));
        if r.starts_with('-') {
            crate::notice!(self.shared.log, "Master does not understand REPLCONF set-rdb-client-id: {}", r);
            return Err(LinkEnd::Retry(r));
        }
        let from = (end.offset + 1).to_string();
        crate::notice!(self.shared.log, "Dual channel replication: Trying a partial resynchronization using main channel (request {}:{}).", end.replid, from);
        self.wire_out(format_args!("PSYNC {} {}", end.replid, from));
        conn.send(&[b"PSYNC", end.replid.as_bytes(), from.as_bytes()]);
        let r = conn.reply_line().await.map_err(LinkEnd::Retry)?;
        self.wire_in(format_args!("{}", r));
        let Some(rest) = r.strip_prefix("+CONTINUE") else {
            crate::warning!(self.shared.log, "Dual channel replication: the main channel's PSYNC was answered {}", r);
            return Err(LinkEnd::Retry(r));
        };
        let new_id = rest.split_whitespace().next().map(str::to_string);
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization, RDB load in background.");
        *last = MasterLinkState::Transfer;
        self.shared.events.emit(crate::events::ReplEvent::SyncStarted { full: true });
        let limit = {
            let l = self.shared.cfg().client_output_buffer_limit(crate::config::ClientClass::Replica);
            if l.hard_limit_bytes == 0 { usize::MAX } else { l.hard_limit_bytes as usize }
        };
        let (done_tx, done_rx) = flume::bounded::<()>(1);
        let loading = async {
            let r = self.transfer(rdb, end.replid.clone(), end.offset).await;
            drop(done_tx);
            r
        };
        let (loaded, buffered) = futures::join!(loading, buffer_stream(conn, limit, done_rx));
        loaded?;
        buffered.map_err(LinkEnd::Retry)?;
        if let Some(id) = new_id.filter(|id| *id != end.replid) {
            crate::trace_msg!(self.shared.log, "link-io", "keyspace", "Continued(replid={}) {{conv={}}}", id, self.conv);
            let _ = self.keyspace.call(Continued { replid: id }).await;
        }
        self.shared.events.emit(crate::events::ReplEvent::SyncFinished { full: true, offset: end.offset });
        crate::notice!(self.shared.log, "Dual channel replication: streaming the {} bytes received during the load into memory", conn.buf.len());
        Ok(())
    }
}

/// Reads the main connection into its buffer until the load ends (`done` disconnects), at
/// most `limit` bytes: at the limit it stops reading until then.
async fn buffer_stream(conn: &mut Conn, limit: usize, done: flume::Receiver<()>) -> Result<(), String> {
    use futures::FutureExt;
    loop {
        if done.is_disconnected() {
            return Ok(());
        }
        if conn.buf.len() >= limit {
            let _ = done.recv_async().await;
            return Ok(());
        }
        let fill = conn.fill().fuse();
        let stop = done.recv_async().fuse();
        futures::pin_mut!(fill, stop);
        futures::select! {
            r = fill => r?,
            _ = stop => return Ok(()),
        }
    }
}
