//! The connected state (Redis's master client): parse the master's stream, hand complete
//! commands with their exact bytes to the keyspace (`ApplyStream`), keep MULTI/EXEC blocks
//! whole, answer `REPLCONF GETACK` with the offset before it, and let the writer ACK the
//! applied offset every second.

use super::attempt::{Attempt, LinkEnd};
use super::conn::{Conn, TIMEOUT};
use super::{LinkEvent, MasterLinkState};
use crate::keyspace::cmd;
use crate::keyspace::{Cmd, Item, MasterBatch, Refusal};
use crate::repl::ApplyStream;
use crate::resp::{Limits, RequestParser};
use crate::shared::ClientMeta;
use bytes::BytesMut;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// What has been parsed and not yet applied.
#[derive(Default)]
struct Pending {
    /// Raw bytes of the stream not yet applied (what the offset counts).
    raw: BytesMut,
    /// Bytes of `raw` that belong to complete commands ready to apply.
    ready_len: usize,
    items: Vec<Item>,
    /// Where each item's bytes begin in `raw`.
    starts: Vec<usize>,
    /// Commands refused so far (logged by the keyspace in stream order).
    refused: Vec<Refusal>,
    /// A MULTI block being collected, with its byte length so far and whether a command in it
    /// was refused (EXEC then discards it, as Redis's EXECABORT).
    txn: Option<(Vec<Cmd>, usize, bool)>,
}

impl Attempt {
    /// Applies the stream from `start_offset` until the link ends.
    pub(super) async fn stream(&mut self, conn: &mut Conn, meta: &Arc<ClientMeta>, start_offset: i64) -> LinkEnd {
        self.state(MasterLinkState::Connected);
        // ACK now; the writer task ACKs `applied` every second from now on.
        let applied = conn.acked.clone();
        applied.store(start_offset, Relaxed);
        self.wire_out(format_args!("REPLCONF ACK {}", start_offset));
        conn.ack(start_offset);
        let mut parser = RequestParser::new();
        parser.keep_empty = true;
        let limits = Limits { max_bulk_len: i64::MAX, authenticated: true };
        let mut p = Pending::default();
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
                p.raw.extend_from_slice(&fresh);
                self.shared.stats.net_repl_input_bytes.fetch_add(fresh.len() as u64, Relaxed);
                if data.is_empty() {
                    data = fresh;
                } else {
                    data.extend_from_slice(&fresh);
                }
                // What was read counts at once (INFO's slave_read_repl_offset), even while a
                // pause holds what it carries.
                self.report(LinkEvent::Streaming { read_offset: applied.load(Relaxed) + p.raw.len() as i64 });
                let mut reqs = vec![];
                let r = parser.parse(&mut data, limits, &mut reqs);
                for req in reqs {
                    self.take(conn, meta, &mut p, req.argv, req.wire_len).await;
                }
                if let Err(e) = r {
                    // What came before the bad bytes runs first, as Redis runs a query
                    // buffer's commands up to a protocol error.
                    if p.ready_len > 0 {
                        if let Some(off) = self.apply(meta, &mut p).await {
                            applied.store(off, Relaxed);
                        }
                    }
                    crate::warning!(self.shared.log, "Protocol error from master: {}", e.0);
                    return LinkEnd::Retry(e.0);
                }
                if p.ready_len > 0 {
                    if let Some(off) = self.apply(meta, &mut p).await {
                        applied.store(off, Relaxed);
                    }
                }
            }
            if meta.killed.load(Relaxed) {
                return LinkEnd::Retry("killed".into());
            }
            match conn.fill().await {
                Ok(()) => fresh = conn.buf.split(),
                Err(e) if e == TIMEOUT => {
                    crate::warning!(self.shared.log, "MASTER timeout: no data nor PING received...");
                    return LinkEnd::Retry(e);
                }
                Err(e) => return LinkEnd::Retry(e),
            }
        }
    }

    /// Takes one parsed command of `len` stream bytes.
    async fn take(&mut self, conn: &Conn, meta: &ClientMeta, p: &mut Pending, argv: crate::resp::request::Argv, len: usize) {
        if let Some((cmds, tlen, aborted)) = p.txn.as_mut() {
            let at = p.ready_len + *tlen;
            *tlen += len;
            if argv.is_empty() {
                // An empty request (`*0`, a blank line) inside MULTI: skipped as Redis skips
                // it, its bytes counted with the transaction's.
                return;
            }
            if argv.first().is_some_and(|a| a.eq_ignore_ascii_case(b"EXEC")) {
                let (cmds, tlen, aborted) = p.txn.take().unwrap_or_default();
                if aborted {
                    let error = b"EXECABORT Transaction discarded because of previous errors.".to_vec();
                    p.refused.push(Refusal { before: p.items.len(), at, error, cmd: Some("exec") });
                } else {
                    p.starts.push(p.ready_len);
                    p.items.push(Item::Txn(cmds));
                }
                p.ready_len += tlen;
            } else {
                match checked(argv) {
                    Ok(c) => cmds.push(c),
                    Err((error, cmd)) => {
                        *aborted = true;
                        p.refused.push(Refusal { before: p.items.len(), at, error, cmd });
                    }
                }
            }
            return;
        }
        let Some(name) = argv.first() else {
            p.ready_len += len;
            return;
        };
        if name.eq_ignore_ascii_case(b"MULTI") {
            p.txn = Some((vec![], len, false));
            return;
        }
        if name.eq_ignore_ascii_case(b"REPLCONF") {
            if argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"GETACK")) {
                // Answer with the offset before this command's own bytes.
                let mark = verify_mark(&argv);
                match mark {
                    Some(o) => self.wire_in(format_args!("REPLCONF GETACK * {} {}", crate::keyspace::verify::MARK, o)),
                    None => self.wire_in(format_args!("REPLCONF GETACK *")),
                }
                let Some(off) = self.apply(meta, p).await else { return };
                conn.acked.store(off, Relaxed);
                self.wire_out(format_args!("REPLCONF ACK {}", off));
                conn.ack(off);
                if let Some(o) = mark {
                    self.verify_at(conn, o).await;
                }
            }
            p.ready_len += len;
            return;
        }
        if name.eq_ignore_ascii_case(b"PING") {
            p.ready_len += len;
            return;
        }
        match checked(argv) {
            Ok(c) => {
                p.starts.push(p.ready_len);
                p.items.push(Item::Cmd(c));
            }
            Err((error, cmd)) => p.refused.push(Refusal { before: p.items.len(), at: p.ready_len, error, cmd }),
        }
        p.ready_len += len;
    }

    /// tandem-verify: the master's marker for a round at `offset` was reached (everything
    /// before it applied): the keyspace digests our dataset there, and the digest goes to the
    /// master as `REPLCONF DIGEST <offset> <digest>` when it is ready, while the stream goes on.
    async fn verify_at(&mut self, conn: &Conn, offset: i64) {
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "VerifyAt(offset={}) {{off={} conv={}}}", offset, offset, self.conv);
        let Ok(Some(rx)) = self.keyspace.call(crate::keyspace::verify::VerifyAt { offset }).await else { return };
        let out = conn.sender();
        let (log, conv, master) = (self.shared.log.clone(), self.conv.clone(), self.peer.clone());
        crate::rt::spawn(async move {
            let Ok(digest) = rx.recv_async().await else { return };
            crate::trace_wire!(log, "link-io", master, "REPLCONF DIGEST {} {} {{off={} conv={}}}", offset, digest, offset, conv);
            let mut b = bytes::BytesMut::new();
            let o = offset.to_string();
            crate::resp::reply::encode_command(&[&b"REPLCONF"[..], b"DIGEST", o.as_bytes(), digest.as_bytes()], &mut b);
            let _ = out.send(b.freeze());
        });
    }

    /// Sends the ready commands and their raw bytes to the keyspace; returns the new offset
    /// (None: the link was stopped while a pause held them, nothing applied).
    async fn apply(&mut self, meta: &ClientMeta, p: &mut Pending) -> Option<i64> {
        if self.shared.pause.maybe_set() {
            Box::pin(self.wait_if_paused(meta, &p.items)).await;
            if !self.current() {
                return None;
            }
        }
        let bytes = p.raw.split_to(p.ready_len).freeze();
        p.ready_len = 0;
        let items = std::mem::take(&mut p.items);
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "ApplyStream({} commands, {} bytes) {{conv={}}}", items.len(), bytes.len(), self.conv);
        let batch = MasterBatch { items, starts: std::mem::take(&mut p.starts), refused: std::mem::take(&mut p.refused), raw: bytes };
        let msg = ApplyStream { batch, db: self.db };
        match self.keyspace.call(msg).await {
            Ok((db, off)) => {
                crate::trace_reply!(self.shared.log, "keyspace", "link-io", "Applied(offset={}) {{off={} conv={}}}", off, off, self.conv);
                self.db = db;
                Some(off)
            }
            Err(_) => None,
        }
    }

    /// CLIENT PAUSE on this replica holds the master's stream as Redis holds its master
    /// client: under PAUSE WRITE while the commands write (or may propagate), under PAUSE ALL
    /// always. The stream is still read (its read offset grows); it is applied once the
    /// pause ends, or dropped with the link.
    async fn wait_if_paused(&self, meta: &ClientMeta, items: &[Item]) {
        let may_write = |c: &Cmd| c.spec.is_write() || c.spec.has(cmd::MAY_REPLICATE);
        let writes = items.iter().any(|i| match i {
            Item::Cmd(c) => may_write(c),
            Item::Txn(cmds) | Item::TxnPart { cmds, .. } => cmds.iter().any(may_write),
        });
        let pause = &self.shared.pause;
        if pause.held(writes).is_none() {
            return;
        }
        crate::trace_msg!(self.shared.log, "link-io", "link-io", "Paused({} commands) {{conv={}}}", items.len(), self.conv);
        let _held = crate::shared::Postponed::new(&self.shared.stats.blocked_clients, &meta.blocked);
        let stopped = self.stop.recv_async();
        futures::future::select(Box::pin(pause.released(writes)), Box::pin(stopped)).await;
    }
}

/// A command of the stream, if tandem knows it and its arity is right (commands are
/// implemented assuming a checked arity); otherwise the error a client would get and the
/// command's name (None: unknown), for the keyspace to log as Redis logs its master's failed
/// commands. A refused command is not applied.
fn checked(argv: crate::resp::request::Argv) -> Result<Cmd, (Vec<u8>, Option<&'static str>)> {
    match argv.first().and_then(|n| cmd::lookup(n)) {
        Some(spec) if spec.arity_ok(argv.len()) => Ok(Cmd { spec, argv }),
        Some(spec) => Err((cmd::arity_error(spec.name).into_bytes(), Some(spec.name))),
        None => Err((cmd::unknown_command_error(&argv), None)),
    }
}

/// The round's offset of a verification marker, `REPLCONF GETACK * VERIFY <offset>`.
fn verify_mark(argv: &[bytes::Bytes]) -> Option<i64> {
    if argv.len() != 5 || !argv[3].eq_ignore_ascii_case(crate::keyspace::verify::MARK.as_bytes()) {
        return None;
    }
    crate::util::num::parse_i64(&argv[4])
}
