//! Persistence: RDB files. SAVE, BGSAVE (the snapshot is O(segments) on the keyspace; the
//! file is written by a blocking task), `save` points, loading at start, and the final save
//! at shutdown.

use super::snapshot::{load_rdb_with, write_rdb, LoadInfo, Snapshot};
use super::{Ctx, Keyspace};
use crate::rt::{async_trait, Addr, Context, Handler, Message};
use crate::shared::ShutdownRequest;
use crate::shared::Shared;
use crate::util::fork;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// Persistence state kept by the keyspace actor.
#[derive(Default)]
pub struct PersistState {
    pub(super) bgsave_in_progress: bool,
    /// When the running BGSAVE started (INFO's rdb_current_bgsave_time_sec).
    pub(super) bgsave_started: Option<Instant>,
    /// Stops the running BGSAVE when it is written on a thread (a save child is stopped by
    /// its pid).
    bgsave_cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// A BGSAVE ran inside a transaction: the cron starts it (Redis's rdb_bgsave_scheduled).
    pub(super) bgsave_scheduled: bool,
    pub(super) last_bgsave_ok: bool,
    pub(super) saves: u64,
    pub(super) last_save_ms: i64,
    pub(super) last_bgsave_secs: i64,
    pub(super) load: LoadInfo,
    /// `dirty` when the running BGSAVE started (what remains after it is the new dirty).
    dirty_at_start: u64,
    /// The RDB being loaded at start, while it loads.
    pub(super) loading: Option<Loading>,
}

pub(crate) fn rdb_path(shared: &Shared) -> PathBuf {
    shared.cfg().rdb_path()
}

/// The temporary file a save by process `pid` writes before renaming it to `rdb`.
pub fn temp_path(rdb: &Path, pid: u32) -> PathBuf {
    crate::util::fork::temp_rdb_path(rdb, pid)
}

/// Writes `snap` to `path` through a temporary file renamed into place. A save that fails
/// removes its temporary file (as Redis unlinks it), so a full disk is not made fuller.
/// `log` is None in a save child (it must not take the logger's lock).
pub fn save_to(log: Option<&crate::logging::ServerLog>, path: &Path, snap: &Snapshot, compress: bool) -> std::io::Result<()> {
    let tmp = temp_path(path, std::process::id());
    let f = std::fs::File::create(&tmp)?;
    let written = (|| {
        let w = write_rdb(snap, std::io::BufWriter::with_capacity(1 << 16, f), compress)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() && std::fs::remove_file(&tmp).is_ok() {
        if let Some(log) = log {
            crate::warning!(log, "Removed the temp RDB file {} of the failed save", tmp.display());
        }
    }
    written
}

/// Forks a save child that runs `work` (counted in INFO's `total_forks` and
/// `latest_fork_usec`; its progress shown in INFO's current_* fields). Only where
/// [`fork::enabled`]: embedded servers save on threads. The child's process title is
/// `proc-title-template` with `title` (Redis's `redis-rdb-bgsave`, ...) as its `{title}`.
pub(crate) fn fork_child(shared: &Shared, title: &str, work: impl FnOnce(std::fs::File) -> i32) -> std::io::Result<fork::Child> {
    let start = Instant::now();
    let title = shared.proc_title(Some(title));
    let child = fork::spawn(move |pipe| {
        if let Some(t) = &title {
            crate::util::proctitle::set(t);
        }
        work(pipe)
    });
    if let Ok(c) = &child {
        shared.stats.total_forks.fetch_add(1, Relaxed);
        shared.stats.latest_fork_usec.store(start.elapsed().as_micros() as u64, Relaxed);
        *shared.save_progress.lock().unwrap_or_else(|e| e.into_inner()) = Some(c.progress.clone());
    }
    child
}

/// A save child ended: its last copy-on-write figure becomes INFO's rdb_last_cow_size, and
/// the current_* fields go back to 0 (unless a later child runs).
pub(crate) fn child_ended(shared: &Shared, child: &fork::Child) {
    shared.stats.rdb_last_cow_size.store(child.progress.cow().0, Relaxed);
    let mut live = shared.save_progress.lock().unwrap_or_else(|e| e.into_inner());
    if live.as_ref().is_some_and(|p| Arc::ptr_eq(p, &child.progress)) {
        *live = None;
    }
}

/// The keys a save about to start writes (INFO's current_save_keys_total).
pub(crate) fn set_save_keys_total(shared: &Shared, snap: &Snapshot) {
    shared.save_keys_total.store(snap.dbs.iter().map(|d| d.keys.len() as u64).sum(), Relaxed);
    *shared.save_progress.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// How a BGSAVE ended badly.
#[derive(Debug)]
pub enum SaveFailure {
    Error(String),
    /// The save child was killed (by the OOM killer, or anyone).
    Signal(i32),
    /// A save on a thread was stopped (FLUSHALL).
    Cancelled,
}

/// BGSAVE in a forked child: the child writes the file (its errors come back through the
/// pipe), the calling thread waits for it. Gives the snapshot back when this process does
/// not fork.
fn bgsave_in_child(shared: &Shared, snap: Snapshot, path: &Path, compress: bool) -> Result<Result<(), SaveFailure>, Snapshot> {
    if !fork::enabled() {
        return Err(snap);
    }
    let forked = fork_child(shared, "redis-rdb-bgsave", |mut pipe| match save_to(None, path, &snap, compress) {
        Ok(()) => 0,
        Err(e) => {
            use std::io::Write;
            let _ = pipe.write_all(e.to_string().as_bytes());
            1
        }
    });
    drop(snap); // the child has its copy; the keyspace's segments need not be shared any more
    let mut child = match forked {
        Ok(c) => c,
        Err(e) => {
            crate::warning!(shared.log, "Can't save in background: fork: {}", e);
            return Ok(Err(SaveFailure::Error(format!("fork: {}", e))));
        }
    };
    shared.save_child.store(child.pid, Relaxed);
    crate::notice!(shared.log, "Background saving started by pid {}", child.pid);
    let mut msg = Vec::new();
    let _ = child.read_to_end(&mut msg);
    let exit = child.wait();
    child_ended(shared, &child);
    shared.save_child.store(0, Relaxed);
    Ok(match exit {
        fork::Exit::Code(0) => Ok(()),
        fork::Exit::Signal(sig) => Err(SaveFailure::Signal(sig)),
        fork::Exit::Code(c) if msg.is_empty() => Err(SaveFailure::Error(format!("the save child exited with code {}", c))),
        fork::Exit::Code(_) => Err(SaveFailure::Error(String::from_utf8_lossy(&msg).into_owned())),
    })
}

/// At shutdown: a BGSAVE child still writing is stopped and its temporary file removed, as
/// Redis does before it exits.
pub fn stop_save_child(shared: &Shared) {
    let pid = shared.save_child.swap(0, Relaxed);
    if pid <= 0 {
        return;
    }
    crate::warning!(shared.log, "There is a child saving an .rdb. Killing it!");
    fork::stop(pid);
    let _ = std::fs::remove_file(temp_path(&rdb_path(shared), pid as u32));
}

/// At shutdown: a save still running (SAVE on a stuck shutdown) is abandoned with the
/// process; its temporary file goes too.
pub fn remove_own_temp(shared: &Shared) {
    let tmp = temp_path(&rdb_path(shared), std::process::id());
    if std::fs::remove_file(&tmp).is_ok() {
        crate::warning!(shared.log, "Removed the temp RDB file {} of a save still in progress", tmp.display());
    }
}

/// At start: removes the `temp-<pid>.rdb` files in the RDB's directory that a process no
/// longer running left (a save killed midway). A live process's file (another server
/// sharing the directory, saving right now) is kept.
pub fn remove_stale_temps(log: &crate::logging::ServerLog, rdb: &Path) {
    let Some(dir) = rdb.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("temp-")).and_then(|n| n.strip_suffix(".rdb")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        match std::fs::remove_file(e.path()) {
            Ok(()) => crate::warning!(log, "Removed the stale temp RDB file {} (process {} is gone)", e.path().display(), pid),
            Err(err) => crate::warning!(log, "Could not remove the stale temp RDB file {}: {}", e.path().display(), err),
        }
    }
}

/// Whether a process with this pid runs (Linux: it has a /proc entry).
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

impl Keyspace {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            dbs: self.dbs.clone(),
            replid: self.feed.replid.clone(),
            offset: self.feed.offset,
            stream_db: self.feed.last_db.map_or(-1, |d| d as i64),
            key_save_delay: self.shared.cfg().int("rdb-key-save-delay") as i64,
            functions: self.scripting.libs.codes(),
            cancel: Default::default(),
            ctime: crate::util::now_ms() / 1000,
            used_mem: super::info::used_memory(),
        }
    }

    /// SAVE: writes the RDB now, blocking the keyspace like Redis's SAVE.
    pub fn save_now(&mut self) -> Result<(), String> {
        let snap = self.snapshot();
        let path = rdb_path(&self.shared);
        let compress = self.shared.cfg().rdbcompression();
        match save_to(Some(&self.shared.log), &path, &snap, compress) {
            Ok(()) => {
                crate::notice!(self.shared.log, "DB saved on disk");
                self.stats.dirty = 0;
                self.persist.saves += 1;
                self.persist.last_bgsave_ok = true;
                self.shared.hot.bgsave_failed.store(false, Relaxed);
                self.persist.last_save_ms = crate::util::now_ms();
                self.shared.lastsave_unix.store(crate::util::now_ms() / 1000, Relaxed);
                Ok(())
            }
            Err(e) => {
                crate::warning!(self.shared.log, "Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {}", std::process::id(), path.parent().map(|p| p.display().to_string()).unwrap_or_default(), e);
                self.persist.last_bgsave_ok = false;
                Err(e.to_string())
            }
        }
    }

    /// BGSAVE: snapshot here, write in a blocking task, report back with [`BgsaveDone`].
    pub fn bgsave(&mut self) -> bool {
        if self.persist.bgsave_in_progress {
            return false;
        }
        let Some(me) = self.me.as_ref().and_then(|w| w.upgrade()) else { return false };
        let snap = self.snapshot();
        let path = rdb_path(&self.shared);
        let compress = self.shared.cfg().rdbcompression();
        self.persist.bgsave_in_progress = true;
        self.persist.bgsave_started = Some(Instant::now());
        self.persist.bgsave_cancel = Some(snap.cancel.clone());
        set_save_keys_total(&self.shared, &snap);
        self.persist.dirty_at_start = self.stats.dirty;
        let shared = self.shared.clone();
        crate::rt::spawn_blocking(move || {
            let start = Instant::now();
            let r = bgsave_in_child(&shared, snap, &path, compress).unwrap_or_else(|snap| {
                crate::notice!(shared.log, "Background saving started by pid {}", std::process::id());
                save_to(Some(&shared.log), &path, &snap, compress).map_err(|e| {
                    if snap.cancel.load(Relaxed) {
                        SaveFailure::Cancelled
                    } else {
                        SaveFailure::Error(e.to_string())
                    }
                })
            });
            let _ = me.send(BgsaveDone(r, start.elapsed().as_secs() as i64));
        });
        true
    }

    /// FLUSHALL: a BGSAVE in progress saves data that is gone; it is stopped (not a failed
    /// save), and with save points the empty dataset is saved now, as Redis does.
    /// True when it saved.
    pub fn flushall_saves(&mut self) -> bool {
        if self.persist.bgsave_in_progress {
            let pid = self.shared.save_child.load(Relaxed);
            if pid > 0 {
                fork::stop(pid);
            } else if let Some(c) = &self.persist.bgsave_cancel {
                c.store(true, Relaxed);
            }
        }
        !self.shared.cfg().save_params().is_empty() && self.save_now().is_ok()
    }

    /// The `save` points: BGSAVE when enough changes happened in enough time.
    pub fn save_points_cron(&mut self) {
        if self.persist.bgsave_in_progress || self.aof_blocks_bgsave() || self.stats.dirty == 0 {
            return;
        }
        let params = self.shared.cfg().save_params();
        let since = (crate::util::now_ms() - self.persist.last_save_ms) / 1000;
        for (secs, changes) in params {
            if self.stats.dirty >= changes && since >= secs as i64 {
                crate::notice!(self.shared.log, "{} changes in {} seconds. Saving...", changes, secs);
                self.bgsave();
                break;
            }
        }
    }
}

/// A BGSAVE finished.
pub struct BgsaveDone(Result<(), SaveFailure>, i64);
impl Message for BgsaveDone {
    type Result = ();
}

#[async_trait]
impl Handler<BgsaveDone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: BgsaveDone) {
        crate::trace_msg!(self.shared.log, "rdb-writer", "keyspace", "BgsaveDone(ok={}, {} s)", msg.0.is_ok(), msg.1);
        self.persist.bgsave_in_progress = false;
        self.persist.bgsave_started = None;
        self.persist.bgsave_cancel = None;
        self.persist.last_bgsave_secs = msg.1;
        match msg.0 {
            Ok(()) => {
                crate::notice!(self.shared.log, "DB saved on disk");
                crate::notice!(self.shared.log, "Background saving terminated with success");
                self.stats.dirty = self.stats.dirty.saturating_sub(self.persist.dirty_at_start);
                self.persist.saves += 1;
                self.persist.last_bgsave_ok = true;
                self.shared.hot.bgsave_failed.store(false, Relaxed);
                self.persist.last_save_ms = crate::util::now_ms();
                self.shared.lastsave_unix.store(crate::util::now_ms() / 1000, Relaxed);
            }
            Err(SaveFailure::Signal(sig)) if sig == fork::STOP_SIGNAL => {
                // Stopped on purpose (FLUSHALL, shutdown): not a failed save.
                crate::warning!(self.shared.log, "Background saving terminated by signal {}", sig);
            }
            Err(SaveFailure::Cancelled) => {
                crate::warning!(self.shared.log, "Background saving stopped (FLUSHALL)");
            }
            Err(e) => {
                match e {
                    SaveFailure::Signal(sig) => crate::warning!(self.shared.log, "Background saving terminated by signal {}", sig),
                    SaveFailure::Error(e) => crate::warning!(self.shared.log, "Background saving error: {}", e),
                    SaveFailure::Cancelled => {}
                }
                self.persist.last_bgsave_ok = false;
                self.shared.hot.bgsave_failed.store(true, Relaxed);
            }
        }
    }
}

/// Final save request from the shutdown sequence.
pub struct FinalSave;
impl Message for FinalSave {
    type Result = Result<(), String>;
}

#[async_trait]
impl Handler<FinalSave> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: FinalSave) -> Result<(), String> {
        crate::trace_msg!(self.shared.log, "server", "keyspace", "FinalSave");
        if self.persist.loading.is_some() {
            // Saving half a dataset over the file being loaded would lose the rest (Redis
            // turns SHUTDOWN into NOSAVE while loading).
            crate::warning!(self.shared.log, "Shutdown while loading the dataset: not saving.");
            return Ok(());
        }
        crate::notice!(self.shared.log, "Saving the final RDB snapshot before exiting.");
        let r = self.save_now();
        crate::trace_reply!(self.shared.log, "keyspace", "server", "{:?}", r);
        r
    }
}

/// The save done on shutdown when save points are configured (or SHUTDOWN SAVE). False
/// when it failed (the shutdown is then given up unless forced, as Redis does).
pub async fn final_save(shared: &Arc<Shared>, keyspace: &Addr<Keyspace>, req: &ShutdownRequest) -> bool {
    let has_points = !shared.cfg().save_params().is_empty();
    if req.nosave || !(has_points || req.save) {
        return true;
    }
    match keyspace.call(FinalSave).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            crate::warning!(shared.log, "Error trying to save the DB, can't exit: {}", e);
            false
        }
        Err(_) => true,
    }
}

/// The error writes and PING get after a failed BGSAVE (Redis's `-MISCONF`).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's `writeCommandsDeniedByDiskError` (RDB part): the last BGSAVE failed, save points
/// are configured and `stop-writes-on-bgsave-error` is on.
pub fn writes_denied_by_disk_error(shared: &Shared) -> bool {
    if !shared.hot.bgsave_failed.load(Relaxed) {
        return false;
    }
    let cfg = shared.cfg();
    cfg.flag("stop-writes-on-bgsave-error") && !cfg.save_params().is_empty()
}

/// Loads the RDB file at start, if there is one. A replica keeps expired keys (its master
/// will delete them); a master drops them.
///
/// A master loads on a thread of its own while the server serves connections, as Redis
/// processes events while loading: commands without the `loading` flag get `-LOADING`, INFO
/// shows the progress, and [`LoadDone`] installs the data. A replica loads before anything
/// else runs (its replication ID and offset come from the file, before the link starts).
pub fn load_at_start(ks: &mut Keyspace) {
    let path = rdb_path(&ks.shared);
    remove_stale_temps(&ks.shared.log, &path);
    let Ok(f) = std::fs::File::open(&path) else { return };
    let start = Instant::now();
    let replica = ks.shared.cfg().replicaof().is_some();
    // The file's size bounds what its lengths and counts may pre-size.
    let size = f.metadata().ok().map(|m| m.len());
    let key_delay = ks.shared.cfg().int("key-load-delay") as i64;
    let me = ks.me.as_ref().and_then(|w| w.upgrade());
    let (Some(me), false) = (me, replica) else {
        let r = load_rdb_with(std::io::BufReader::with_capacity(1 << 16, f), size, ks.dbs.len(), !replica, key_delay, None);
        return finish_load(ks, r, start, replica);
    };
    let progress = ks.shared.loading_bytes.clone();
    progress.store(0, Relaxed);
    ks.persist.loading = Some(Loading { start_unix: crate::util::now_ms() / 1000, total_bytes: size.unwrap_or(0), loaded: progress.clone(), sync: None });
    ks.shared.loading.store(true, Relaxed);
    let ndbs = ks.dbs.len();
    crate::rt::spawn_blocking(move || {
        let r = load_rdb_with(std::io::BufReader::with_capacity(1 << 16, f), size, ndbs, true, key_delay, Some(progress));
        let _ = me.send(LoadDone(r, start));
    });
}

/// A load in progress (INFO persistence's `loading_*` fields).
pub struct Loading {
    pub start_unix: i64,
    pub total_bytes: u64,
    /// Bytes of the file read so far.
    pub loaded: Arc<std::sync::atomic::AtomicU64>,
    /// A master's RDB received in a full sync (not the file at start).
    pub sync: Option<SyncLoad>,
}

/// How a replica loads its master's RDB during a full sync (`repl-diskless-load`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncLoad {
    /// Received as a whole before it replaces the data (`disabled`, or `on-empty-db` with
    /// data): the old data is served during the transfer.
    Disk,
    /// Loaded as it arrives with clients answered `-LOADING` (`on-empty-db` with no data,
    /// `swapdb` from a master with another history); a failed transfer leaves the old data.
    Blocking,
    /// Loaded as it arrives while the old data is served (`swapdb` from the master whose
    /// history this replica holds: the old data is the same dataset at an earlier point).
    Async,
}

/// The RDB loaded at start (on its thread) or failed.
pub struct LoadDone(Result<(Vec<super::Db>, LoadInfo), crate::rdb::RdbError>, Instant);
impl Message for LoadDone {
    type Result = ();
}

#[async_trait]
impl Handler<LoadDone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: LoadDone) {
        crate::trace_msg!(self.shared.log, "rdb-loader", "keyspace", "LoadDone(ok={})", msg.0.is_ok());
        finish_load(self, msg.0, msg.1, false);
        self.persist.loading = None;
        self.shared.loading.store(false, Relaxed);
    }
}

/// Installs what the RDB held (or exits on a bad file, as Redis).
fn finish_load(ks: &mut Keyspace, r: Result<(Vec<super::Db>, LoadInfo), crate::rdb::RdbError>, start: Instant, replica: bool) {
    match r {
        Ok((dbs, info)) => {
            ks.dbs = dbs;
            ks.load_functions(&info.functions);
            crate::notice!(ks.shared.log, "Done loading RDB, keys loaded: {}, keys expired: {}.", info.keys_loaded, info.keys_expired);
            crate::notice!(ks.shared.log, "DB loaded from disk: {:.3} seconds", start.elapsed().as_secs_f64());
            if let (Some(id), Some(off)) = (&info.repl_id, info.repl_offset) {
                let f = &mut ks.feed;
                if replica {
                    // A restarted replica continues from where its data stands.
                    f.replid = id.clone();
                    f.offset = off;
                    f.has_history = true;
                    f.last_db = info.repl_stream_db.filter(|d| *d >= 0).map(|d| d as usize);
                } else {
                    // A restarted master keeps its history as replid2, with a backlog
                    // starting at its offset, so its replicas continue partially.
                    f.replid2 = id.clone();
                    f.second_offset = off + 1;
                    f.offset = off;
                    f.active = true;
                    f.has_history = true;
                }
            }
            ks.persist.load = info;
            if !replica {
                ks.resume_restored_history();
            }
        }
        Err(e) => {
            if matches!(e, crate::rdb::RdbError::Checksum) {
                // Redis's lines for a file whose CRC64 trailer does not match.
                crate::warning!(ks.shared.log, "Wrong RDB checksum. Aborting now.");
                crate::warning!(ks.shared.log, "Internal error in RDB reading -> RDB CRC error");
                crate::warning!(ks.shared.log, "Terminating server after rdb file reading failure.");
            }
            crate::warning!(ks.shared.log, "Fatal error loading the DB: {}. Exiting.", e);
            // This server ends (the binary then exits with status 1); an embedding
            // application's other servers and the application itself go on.
            ks.shared.fail(format!("Fatal error loading the DB: {}", e));
        }
    }
}

/// SAVE
pub fn save_cmd(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    if ks.persist.bgsave_in_progress {
        return ctx.error("ERR Background save already in progress");
    }
    match ks.save_now() {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.error("ERR"),
    }
}

/// `BGSAVE [SCHEDULE]`
pub fn bgsave_cmd(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let schedule = a.len() == 2 && super::cmd::eq(&a[1], "SCHEDULE");
    if a.len() > 2 || (a.len() == 2 && !schedule) {
        return ctx.error(super::cmd::err::SYNTAX);
    }
    if ks.persist.bgsave_in_progress {
        return ctx.error("ERR Background save already in progress");
    }
    if ks.aof_blocks_bgsave() && !schedule && !ctx.in_txn {
        return ctx.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    // Inside MULTI/EXEC the save starts after the transaction, from the cron, as Redis's.
    if ctx.in_txn || ks.aof_blocks_bgsave() {
        ks.persist.bgsave_scheduled = true;
        return ctx.out.simple("Background saving scheduled");
    }
    if ks.bgsave() {
        ctx.out.simple("Background saving started");
    } else {
        ctx.error("ERR Background saving failed");
    }
}

impl Keyspace {
    /// The cron starts a BGSAVE a transaction scheduled, once no save runs.
    pub(super) fn start_scheduled_bgsave(&mut self) {
        if self.persist.bgsave_scheduled && !self.persist.bgsave_in_progress && !self.aof_blocks_bgsave() {
            self.persist.bgsave_scheduled = false;
            self.bgsave();
        }
    }
}
