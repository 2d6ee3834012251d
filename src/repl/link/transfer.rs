//! The transfer (Redis's `readSyncBulkPayload`): the RDB after `+FULLRESYNC`, as a `$<len>`
//! bulk (disk-backed master) or a `$EOF:<mark>` stream (diskless master). A blocking task
//! parses it while it arrives, then the keyspace swaps the loaded dataset in with the
//! master's replication id and offset (`LoadSnapshot`).

use super::attempt::{Attempt, LinkEnd};
use super::conn::{ChanReader, Conn, STOPPED, TIMEOUT};
use super::{LinkEvent, MasterLinkState};
use crate::keyspace::snapshot::load_rdb_with;
use crate::keyspace::persist::SyncLoad;
use crate::repl::{BeginSyncLoad, EndSyncLoad, LoadSnapshot};
use crate::rt;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

impl Attempt {
    /// The connection failed during the transfer: logged as Redis logs it (a diskless load
    /// fails in the RDB parser; a disk transfer in the read), the new tables dropped. A
    /// stopped link (REPLICAOF) or a timeout is logged where the attempt ends.
    fn transfer_failed(&self, mode: SyncLoad, swapdb: bool, e: String) -> LinkEnd {
        let lost = if e == "connection closed" { "connection lost" } else { e.as_str() };
        match mode {
            _ if e == STOPPED || e == TIMEOUT => {}
            SyncLoad::Disk => crate::warning!(self.shared.log, "I/O error trying to sync with MASTER: {}", lost),
            _ => crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from socket: {}", lost),
        }
        if swapdb {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Discarding temporary DB in background");
        }
        LinkEnd::Retry(e)
    }

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
        // How it loads (`repl-diskless-load`). Either way tandem parses the RDB as it arrives
        // into new tables; the mode decides what clients see meanwhile: the old data (disk,
        // async) or -LOADING (blocking).
        let begin = BeginSyncLoad { master_replid: replid.clone(), size };
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "BeginSyncLoad(master_replid={}) {{conv={}}}", replid, self.conv);
        let mode = self.keyspace.call(begin).await.unwrap_or(SyncLoad::Disk);
        let _loading = LoadingGuard(mode != SyncLoad::Disk, self.keyspace.clone());
        // Loaded into a temporary dataset swapped in at the end (Redis's log lines say so).
        let swapdb = mode != SyncLoad::Disk && self.shared.cfg().repl_diskless_load() == "swapdb";
        let target = if mode == SyncLoad::Disk { "to disk" } else { "to parser" };
        if eof_mark.is_some() {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {}", target);
        } else {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving {} bytes from master {}", len, target);
        }
        if mode == SyncLoad::Blocking {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Flushing old data");
        }
        if mode != SyncLoad::Disk {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Loading DB in memory");
        }
        let progress = (mode != SyncLoad::Disk).then(|| self.shared.loading_bytes.clone());
        let (tx, rx) = flume::bounded::<Bytes>(64);
        // `key-load-delay` (a debugging aid) slows the parser, and so the transfer, as it
        // slows Redis's diskless load.
        let key_delay = self.shared.cfg().int("key-load-delay") as i64;
        let loader = rt::spawn_blocking(move || load_rdb_with(ChanReader { rx, cur: Bytes::new() }, size, ndbs, false, key_delay, progress));
        let mut received = 0usize;
        if let Some(mark) = eof_mark {
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
                if let Err(e) = conn.fill().await {
                    return Err(self.transfer_failed(mode, swapdb, e));
                }
            }
        } else {
            loop {
                let take = conn.buf.len().min(len - received);
                let chunk = conn.buf.split_to(take).freeze();
                received += chunk.len();
                let _ = tx.send_async(chunk).await;
                self.report(LinkEvent::Progress { read: received as i64, total: len as i64 });
                if received >= len {
                    break;
                }
                if let Err(e) = conn.fill().await {
                    return Err(self.transfer_failed(mode, swapdb, e));
                }
            }
        }
        drop(tx);
        self.wire_in(format_args!("RDB end ({} bytes)", received));
        self.shared.stats.net_repl_input_bytes.fetch_add(received as u64, Relaxed);
        if mode == SyncLoad::Disk {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Flushing old data");
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Loading DB in memory");
        }
        let (dbs, info) = match loader.await {
            Ok(v) => v,
            Err(e) => {
                crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from socket: {}", e);
                if mode == SyncLoad::Disk {
                    crate::warning!(self.shared.log, "Failed trying to load the MASTER synchronization DB from disk, check server logs.");
                } else if swapdb {
                    crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Discarding temporary DB in background");
                }
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
        if swapdb {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
        }
        let _ = self.keyspace.call(LoadSnapshot { dbs, replid, offset, stream_db, functions }).await;
        if swapdb {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Discarding old DB in background");
        }
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Finished with success");
        Ok(())
    }
}

/// Ends the keyspace's loading state when the transfer ends, whichever way (a successful
/// `LoadSnapshot` has ended it already; ending it twice does nothing).
struct LoadingGuard(bool, crate::rt::Addr<crate::keyspace::Keyspace>);

impl Drop for LoadingGuard {
    fn drop(&mut self) {
        if self.0 {
            let _ = self.1.send(EndSyncLoad);
        }
    }
}
