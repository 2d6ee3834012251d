//! How replication changes the keyspace, applied in its order: the role (a replica leaves
//! expiry to its master and releases blocked clients), a full sync's dataset replacing ours,
//! and the master's stream applied command by command. The replication actors decide; these
//! methods are what their handlers (in `repl`) ask of the keyspace.

use super::{Db, Item, Keyspace};
use crate::resp::Out;
use crate::shared::repl::Role;
use std::sync::atomic::Ordering::Relaxed;

/// A batch of the master's stream for the keyspace to apply.
pub struct MasterBatch {
    /// The commands and transactions, in stream order.
    pub items: Vec<Item>,
    /// Where each item's bytes begin in `raw`.
    pub starts: Vec<usize>,
    /// Commands the link refused, in stream order.
    pub refused: Vec<Refusal>,
    /// The batch's exact stream bytes (what the offset counts).
    pub raw: bytes::Bytes,
}

/// A command of the master's stream the link could not hand over: unknown, or with the wrong
/// number of arguments (a transaction holding one is discarded at its EXEC).
pub struct Refusal {
    /// Index of the item it came before.
    pub before: usize,
    /// Where its bytes begin in the batch's `raw`.
    pub at: usize,
    /// The error a client would have got.
    pub error: Vec<u8>,
    /// The command's name (None: unknown).
    pub cmd: Option<&'static str>,
}

impl Keyspace {
    /// A full sync's RDB from the master with `master_replid` starts arriving (`size` bytes,
    /// None: unknown): decides how it loads (`repl-diskless-load`), and enters the loading
    /// state that decision implies, as Redis's readSyncBulkPayload does.
    pub(crate) fn begin_sync_load(&mut self, master_replid: &str, size: Option<u64>) -> super::persist::SyncLoad {
        use super::persist::{Loading, SyncLoad};
        let empty = self.dbs.iter().all(|d| d.keys.len() == 0);
        let mode = match self.shared.cfg().repl_diskless_load() {
            "swapdb" if self.feed.replid == master_replid => SyncLoad::Async,
            "swapdb" => SyncLoad::Blocking,
            "on-empty-db" if empty => SyncLoad::Blocking,
            _ => SyncLoad::Disk,
        };
        if mode != SyncLoad::Disk && self.persist.loading.is_none() {
            let loaded = self.shared.loading_bytes.clone();
            loaded.store(0, Relaxed);
            let start_unix = crate::util::now_ms() / 1000;
            self.persist.loading = Some(Loading { start_unix, total_bytes: size.unwrap_or(0), loaded, sync: Some(mode) });
            self.shared.async_loading.store(mode == SyncLoad::Async, Relaxed);
            self.shared.loading.store(true, Relaxed);
        }
        mode
    }

    /// The full sync's load ended (loaded, or the transfer failed).
    pub(crate) fn end_sync_load(&mut self) {
        if self.persist.loading.as_ref().is_some_and(|l| l.sync.is_some()) {
            self.persist.loading = None;
            self.shared.loading.store(false, Relaxed);
            self.shared.async_loading.store(false, Relaxed);
        }
    }

    /// An item of the master's stream answered with an error (in `reply`): logged, with the
    /// stream's latest bytes as the backlog holds them before this batch, as Redis does.
    fn master_item_failed(&mut self, item: &Item, reply: &[u8]) {
        let error = reply
            .split(|&b| b == b'\n')
            .find_map(|line| line.strip_prefix(b"-"))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(b"ERR");
        let name = match item {
            Item::Cmd(c) => c.spec.name,
            Item::Txn(_) | Item::TxnPart { .. } => "exec",
        };
        master_command_failed(&self.shared, error, Some(name));
        self.feed.show_latest();
    }

    /// Applies the role the MasterLink actor decided, and publishes it for the client actors.
    pub(crate) fn set_role(&mut self, role: Role) {
        self.feed.flush();
        let replica = role.is_replica();
        self.is_replica = replica;
        self.shared.is_replica.store(replica, Relaxed);
        self.shared.log.set_role(role.log_char());
        if replica {
            self.unblock_all("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            // Our own history becomes the cached master for the first PSYNC.
            if self.feed.active || self.feed.offset > 0 {
                self.feed.has_history = true;
            }
            self.feed.replica_mode = true;
        } else if self.feed.replica_mode {
            self.feed.replica_mode = false;
            self.feed.shift_replid(None);
            self.feed.last_db = None;
            self.feed.drop_replicas();
        }
    }

    /// Replica side: the dataset received in a full sync (the master's `replid` at `offset`,
    /// its stream having selected `stream_db`, -1: none) replaces ours.
    pub(crate) fn load_snapshot(&mut self, dbs: Vec<Db>, replid: String, offset: i64, stream_db: i64) {
        self.feed.flush();
        let mut dbs = dbs;
        dbs.resize_with(self.dbs.len(), Db::default);
        let old = std::mem::replace(&mut self.dbs, dbs);
        if self.shared.cfg().flag("replica-lazy-flush") {
            let n = old.iter().map(|d| d.keys.len() as u64).sum();
            super::lazyfree::free_later(&self.shared, old, n);
        } else {
            drop(old);
        }
        self.replica_own_expires.clear();
        self.touch_all_watched(None);
        self.tracking_flush();
        self.feed.load_history(replid, offset, stream_db);
        self.restart_aof_after_sync();
    }

    /// Replica side: runs commands from the master's stream (starting in `db`), then appends
    /// their raw bytes to our own stream. Returns the db the stream ends in. `starts` holds
    /// where each item's bytes begin in `raw`, `refused` the commands the link could not hand
    /// over (unknown, wrong arity): a failure is logged with the stream as it stood just
    /// before the failing command, as Redis logs its master client's errors.
    pub(crate) fn apply_master_stream(&mut self, batch: &MasterBatch, db: usize) -> usize {
        let mut out = Out::new(false);
        let mut db = db;
        // Bytes of `raw` already handed to our own stream.
        let mut fed = 0;
        let mut refused = batch.refused.iter().peekable();
        self.applying_master = true;
        for (i, item) in batch.items.iter().enumerate() {
            while let Some(r) = refused.next_if(|r| r.before <= i) {
                self.feed_applied_to(&batch.raw, &mut fed, r.at, db);
                master_command_failed(&self.shared, &r.error, r.cmd);
                self.feed.show_latest();
            }
            let (errors, start) = (out.error_count, out.buf.len());
            let _ = self.exec_items(std::slice::from_ref(item), &mut db, 0, &mut out, &mut Vec::new());
            if out.error_count > errors {
                let at = batch.starts.get(i).copied().unwrap_or(fed);
                self.feed_applied_to(&batch.raw, &mut fed, at, db);
                self.master_item_failed(item, &out.buf[start..]);
            }
            out.buf.clear();
        }
        for r in refused {
            self.feed_applied_to(&batch.raw, &mut fed, r.at, db);
            master_command_failed(&self.shared, &r.error, r.cmd);
            self.feed.show_latest();
        }
        self.applying_master = false;
        self.tracking_broadcast(None);
        self.feed.applied(&batch.raw[fed..], db);
        db
    }

    /// Hands `raw[fed..upto]` to our own stream (what came before a failed command).
    fn feed_applied_to(&mut self, raw: &[u8], fed: &mut usize, upto: usize, db: usize) {
        let upto = upto.clamp(*fed, raw.len());
        self.feed.applied(&raw[*fed..upto], db);
        *fed = upto;
    }
}

/// A command of the master's stream failed here (Redis's error path for its master client):
/// the error is logged as Redis logs it (operators and Redis's tests look for `== CRITICAL ==`
/// and the command's name), counted in `unexpected_error_replies`, and with
/// `propagation-error-behavior panic` (or `panic-on-replicas`) on a read-only replica the
/// process stops, since the replica's data can no longer be trusted. `cmd` is the command's
/// name, None when the master sent one tandem does not know.
pub(crate) fn master_command_failed(shared: &crate::shared::Shared, error: &[u8], cmd: Option<&str>) {
    let text = String::from_utf8_lossy(error);
    // Redis shows errors without their own code as added ("value is not an integer ..."),
    // and coded ones with their dash ("-WRONGTYPE ...").
    let shown = match text.strip_prefix("ERR ") {
        Some(t) => t.to_string(),
        None => format!("-{text}"),
    };
    let cmd = cmd.unwrap_or("<unknown>");
    shared.stats.unexpected_error_replies.fetch_add(1, Relaxed);
    crate::warning!(
        shared.log,
        "== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'",
        shown,
        cmd
    );
    let behavior = shared.cfg().enum_name("propagation-error-behavior");
    if behavior != "ignore" && shared.cfg().flag("replica-read-only") {
        crate::warning!(shared.log, "------------------------------------------------");
        crate::warning!(shared.log, "!!! Software Failure. Press left mouse button to continue");
        crate::warning!(
            shared.log,
            "Guru Meditation: This replica panicked sending an error to its master after processing the command '{}' #{}:{}",
            cmd,
            file!(),
            line!()
        );
        std::process::abort();
    }
}
