//! The transfer (Redis's `readSyncBulkPayload`): the RDB after `+FULLRESYNC`, as a `$<len>`
//! bulk (disk-backed master) or a `$EOF:<mark>` stream (diskless master). A blocking task
//! parses it while it arrives, then the keyspace swaps the loaded dataset in with the
//! master's replication id and offset (`LoadSnapshot`).
//!
//! Resumable full sync (tandem): when a diskless transfer is cut, the parser keeps what it
//! has and waits (a [`Partial`], kept by the MasterLink for `repl-resume-window` seconds);
//! the next attempt asks the master to resume (`REPLCONF resume <replid>:<offset>:<bytes>`)
//! and, answered `+RESUME`, feeds the parser the rest of the RDB (written again by the master
//! from the snapshot it kept) from the byte it had reached.

use super::attempt::{Attempt, LinkEnd};
use super::conn::{ChanReader, Conn, STOPPED, TIMEOUT};
use super::{LinkEvent, MasterLinkState};
use crate::keyspace::persist::SyncLoad;
use crate::keyspace::snapshot::{load_rdb_with, LoadInfo};
use crate::keyspace::Db;
use crate::rdb::RdbError;
use crate::repl::{BeginSyncLoad, EndSyncLoad, LoadSnapshot};
use crate::rt;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// A transfer in progress: the parser's feed and where it stands. Kept across attempts when
/// a diskless transfer is cut (resumable full sync).
pub(super) struct Partial {
    tx: flume::Sender<Bytes>,
    loader: async_std::task::JoinHandle<Result<(Vec<Db>, LoadInfo), RdbError>>,
    /// RDB bytes fed to the parser so far.
    pub received: usize,
    pub replid: String,
    pub offset: i64,
    mode: SyncLoad,
    swapdb: bool,
    loading: LoadingGuard,
    /// The master it comes from, and until when it may be resumed.
    pub master: (String, u16),
    pub deadline: std::time::Instant,
}

/// Where the parser's input ends: `$<len>` bytes, or an EOF mark.
enum Framing {
    Len(usize),
    Mark(Vec<u8>),
}

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

    /// Reads the RDB's header line: its framing.
    async fn rdb_header(&mut self, conn: &mut Conn) -> Result<Framing, LinkEnd> {
        let header = conn.reply_line().await.map_err(LinkEnd::Retry)?;
        if !header.starts_with('$') {
            crate::warning!(self.shared.log, "Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", header);
            return Err(LinkEnd::Retry(header));
        }
        let framing = match header.strip_prefix("$EOF:") {
            Some(mark) => Framing::Mark(mark.as_bytes().to_vec()),
            None => Framing::Len(header[1..].parse().map_err(|_| LinkEnd::Retry(header.clone()))?),
        };
        match &framing {
            Framing::Mark(_) => self.wire_in(format_args!("RDB start ($EOF)")),
            Framing::Len(len) => self.wire_in(format_args!("RDB start (${len})")),
        }
        Ok(framing)
    }

    /// Receives and loads the RDB; on success the keyspace holds the master's dataset at
    /// `offset` and the stream can be applied.
    pub(super) async fn transfer(&mut self, conn: &mut Conn, replid: String, offset: i64) -> Result<(), LinkEnd> {
        self.state(MasterLinkState::Transfer);
        let framing = self.rdb_header(conn).await?;
        let ndbs = self.shared.cfg().databases();
        // A `$<len>` bulk bounds what the RDB's lengths may pre-size; a diskless `$EOF:` stream
        // has no known size (the loader then bounds pre-sizing by constants).
        let size = match &framing {
            Framing::Len(len) => Some(*len as u64),
            Framing::Mark(_) => None,
        };
        // How it loads (`repl-diskless-load`). Either way tandem parses the RDB as it arrives
        // into new tables; the mode decides what clients see meanwhile: the old data (disk,
        // async) or -LOADING (blocking).
        let begin = BeginSyncLoad { master_replid: replid.clone(), size };
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "BeginSyncLoad(master_replid={}) {{conv={}}}", replid, self.conv);
        let mode = self.keyspace.call(begin).await.unwrap_or(SyncLoad::Disk);
        let loading = LoadingGuard(mode != SyncLoad::Disk, self.keyspace.clone());
        // Loaded into a temporary dataset swapped in at the end (Redis's log lines say so).
        let swapdb = mode != SyncLoad::Disk && self.shared.cfg().repl_diskless_load() == "swapdb";
        let target = if mode == SyncLoad::Disk { "to disk" } else { "to parser" };
        match &framing {
            Framing::Mark(_) => crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {}", target),
            Framing::Len(len) => crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: receiving {} bytes from master {}", len, target),
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
        let window = std::time::Duration::from_secs(self.shared.cfg().int("repl-resume-window") as u64);
        let p = Partial {
            tx,
            loader,
            received: 0,
            replid,
            offset,
            mode,
            swapdb,
            loading,
            master: (self.host.clone(), self.port),
            deadline: std::time::Instant::now() + window,
        };
        self.pump(conn, p, framing).await
    }

    /// The master answered `+RESUME`: the rest of the RDB of `p`.
    pub(super) async fn transfer_resumed(&mut self, conn: &mut Conn, mut p: Partial) -> Result<(), LinkEnd> {
        self.state(MasterLinkState::Transfer);
        let framing = self.rdb_header(conn).await?;
        // The keyspace enters its loading state again (it left it when the transfer was cut).
        let begin = BeginSyncLoad { master_replid: p.replid.clone(), size: None };
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "BeginSyncLoad(master_replid={}) {{conv={}}}", p.replid, self.conv);
        let mode = self.keyspace.call(begin).await.unwrap_or(SyncLoad::Disk);
        p.loading = LoadingGuard(mode != SyncLoad::Disk, self.keyspace.clone());
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: resuming the transfer at byte {}", p.received);
        self.pump(conn, p, framing).await
    }

    /// Feeds the parser what arrives until the RDB's end, then loads it. A diskless
    /// transfer cut on the way is kept for a resume (unless the link was stopped).
    async fn pump(&mut self, conn: &mut Conn, mut p: Partial, framing: Framing) -> Result<(), LinkEnd> {
        let cut = match framing {
            Framing::Mark(mark) => {
                let mut tail: Vec<u8> = Vec::with_capacity(2 * mark.len());
                loop {
                    let chunk = conn.buf.split().freeze();
                    p.received += chunk.len();
                    tail.extend_from_slice(&chunk[chunk.len().saturating_sub(mark.len())..]);
                    if tail.len() > mark.len() {
                        tail.drain(..tail.len() - mark.len());
                    }
                    // The parser stops at the RDB's checksum, so the mark itself is never read.
                    let _ = p.tx.send_async(chunk).await;
                    self.report(LinkEvent::Progress { read: p.received as i64, total: 0 });
                    if tail == mark {
                        break None;
                    }
                    if let Err(e) = conn.fill().await {
                        break Some(e);
                    }
                }
            }
            Framing::Len(len) => loop {
                let take = conn.buf.len().min(len.saturating_sub(p.received));
                let chunk = conn.buf.split_to(take).freeze();
                p.received += chunk.len();
                let _ = p.tx.send_async(chunk).await;
                self.report(LinkEvent::Progress { read: p.received as i64, total: len as i64 });
                if p.received >= len {
                    break None;
                }
                if let Err(e) = conn.fill().await {
                    return Err(self.transfer_failed(p.mode, p.swapdb, e));
                }
            },
        };
        if let Some(e) = cut {
            if e == STOPPED || !self.current() || std::time::Instant::now() >= p.deadline || self.shared.cfg().int("repl-resume-window") == 0 {
                return Err(self.transfer_failed(p.mode, p.swapdb, e));
            }
            // Logged as any failed transfer, and the keyspace leaves its loading state (clients
            // get the old data meanwhile); the parser alone waits for the rest.
            let _ = self.transfer_failed(p.mode, p.swapdb, e.clone());
            p.loading.end();
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: {} bytes of the RDB received, kept to resume", p.received);
            if let Ok(mut slot) = self.partial.lock() {
                *slot = Some(p);
            }
            return Err(LinkEnd::Retry(e));
        }
        self.finish_transfer(p).await
    }

    /// The whole RDB was received: waits for the parser and swaps the dataset in.
    async fn finish_transfer(&mut self, p: Partial) -> Result<(), LinkEnd> {
        let Partial { tx, loader, received, replid, offset, mode, swapdb, loading: _loading, .. } = p;
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

impl LoadingGuard {
    /// Ends the loading state now.
    fn end(&mut self) {
        if std::mem::take(&mut self.0) {
            let _ = self.1.send(EndSyncLoad);
        }
    }
}

impl Drop for LoadingGuard {
    fn drop(&mut self) {
        if self.0 {
            let _ = self.1.send(EndSyncLoad);
        }
    }
}
