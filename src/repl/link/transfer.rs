//! The transfer (Redis's `readSyncBulkPayload`): the RDB after `+FULLRESYNC`, as a `$<len>`
//! bulk (disk-backed master) or a `$EOF:<mark>` stream (diskless master). A blocking task
//! parses it while it arrives, then the keyspace swaps the loaded dataset in with the
//! master's replication id and offset (`LoadSnapshot`).

use super::attempt::{Attempt, LinkEnd};
use super::conn::{ChanReader, Conn};
use super::{LinkEvent, MasterLinkState};
use crate::keyspace::snapshot::load_rdb;
use crate::repl::LoadSnapshot;
use crate::rt;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

impl Attempt {
    /// Receives and loads the RDB; on success the keyspace holds the master's dataset at
    /// `offset` and the stream can be applied.
    pub(super) async fn transfer(&mut self, conn: &mut Conn, replid: String, offset: i64) -> Result<(), LinkEnd> {
        self.state(MasterLinkState::Transfer);
        let header = conn.reply_line().await.map_err(LinkEnd::Retry)?;
        if !header.starts_with('$') {
            crate::warning!(self.shared.log, "Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", header);
            return Err(LinkEnd::Retry(header));
        }
        let ndbs = self.shared.cfg().databases();
        let eof_mark = header.strip_prefix("$EOF:");
        // A `$<len>` bulk bounds what the RDB's lengths may pre-size; a diskless `$EOF:` stream
        // has no known size (the loader then bounds pre-sizing by constants).
        let len: usize = match eof_mark {
            Some(_) => 0,
            None => header[1..].parse().map_err(|_| LinkEnd::Retry(header.clone()))?,
        };
        self.wire_in(format_args!("RDB start ({})", if eof_mark.is_some() { "$EOF".to_string() } else { format!("${len}") }));
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
                self.report(LinkEvent::Progress { read: received as i64, total: 0 });
                if tail == mark {
                    break;
                }
                conn.fill().await.map_err(LinkEnd::Retry)?;
            }
        } else {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving {} bytes from master to disk", len);
            loop {
                let take = conn.buf.len().min(len - received);
                let chunk = conn.buf.split_to(take).freeze();
                received += chunk.len();
                let _ = tx.send_async(chunk).await;
                self.report(LinkEvent::Progress { read: received as i64, total: len as i64 });
                if received >= len {
                    break;
                }
                conn.fill().await.map_err(LinkEnd::Retry)?;
            }
        }
        drop(tx);
        self.wire_in(format_args!("RDB end ({} bytes)", received));
        self.shared.stats.net_repl_input_bytes.fetch_add(received as u64, Relaxed);
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Flushing old data");
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Loading DB in memory");
        let (dbs, info) = match loader.await {
            Ok(v) => v,
            Err(e) => {
                crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from socket: {}", e);
                crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from disk, check server logs.");
                return Err(LinkEnd::Retry(e.to_string()));
            }
        };
        if !self.current() {
            return Err(LinkEnd::Stale);
        }
        let stream_db = info.repl_stream_db.unwrap_or(-1);
        self.db = if stream_db >= 0 { stream_db as usize } else { 0 };
        crate::trace_msg!(
            self.shared.log,
            "link-io",
            "keyspace",
            "LoadSnapshot(replid={}, offset={}, keys={}) {{off={} conv={}}}",
            replid,
            offset,
            dbs.iter().map(|d| d.keys.len()).sum::<usize>(),
            offset,
            self.conv
        );
        let functions = info.functions;
        let _ = self.keyspace.call(LoadSnapshot { dbs, replid, offset, stream_db, functions }).await;
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Finished with success");
        Ok(())
    }
}
