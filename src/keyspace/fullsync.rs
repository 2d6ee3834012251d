//! Full resynchronisations as jobs of the keyspace: one snapshot and one RDB serve every
//! replica that joins while it is being made.
//!
//! - Disk framing (`repl-diskless-sync no`, or a replica without `capa eof`): the RDB is
//!   produced in memory and sent as `$<len>`. A replica asking while a disk job runs joins it:
//!   it gets the same `+FULLRESYNC <replid> <offset>` and is subscribed to the backlog right
//!   after that offset (Redis's "Waiting for end of BGSAVE for SYNC").
//! - Diskless (EOF framing): the first replica opens a job that waits
//!   `repl-diskless-sync-delay` seconds (or until `repl-diskless-sync-max-replicas` replicas
//!   wait), sending `\n` keepalives; every replica arriving meanwhile joins; then one snapshot
//!   is streamed to all of them at once.
//!
//! The keyspace owns the jobs, so a snapshot, its offset and the replicas' backlog
//! subscriptions come from one handler; the RDB is written on a blocking thread that reports
//! back with [`JobDone`]. A job knows a replica only as a [`SyncReplica`]: the master side's
//! replica actor (`repl::replica`) subscribes itself to the backlog and learns of its
//! transfer through it.

use super::snapshot::write_rdb;
use super::Keyspace;
use crate::rt::{self, async_trait, Context, Handler, Message};
use crate::shared::{ClientMeta, Shared};
use crate::util::fork;
use bytes::Bytes;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// What a replica's socket writer is given, in order.
pub enum WriterItem {
    /// Bytes to write (replies, the RDB).
    Data(Bytes),
    /// From here on, write the replication stream from this offset, read from the shared
    /// replication buffer (the backlog's blocks) as it grows.
    Stream(i64),
    /// Close the socket once everything before is written.
    End,
}

/// A replica's socket output as the writer task sees it: bytes queued and bytes not yet
/// written (counted against `client-output-buffer-limit replica`).
///
/// An outlet holds the sending side of the writer's queue: the writer task ends (and drops
/// its clone of the socket) once every outlet is gone or [`Outlet::finish`] was called, so
/// the writer itself holds only a [`Meter`], never an outlet.
#[derive(Clone)]
pub struct Outlet {
    tx: flume::Sender<WriterItem>,
    meter: Meter,
}

/// The writer task's side of an outlet's counters (holds no sender of the queue).
#[derive(Clone)]
pub struct Meter {
    unsent: Arc<AtomicU64>,
    /// Bytes written to the socket so far (progress, for the full-sync timeout).
    sent: Arc<AtomicU64>,
    /// Once streaming: the offset of the next stream byte to write (what the replica pins
    /// of the replication buffer); -1 before.
    stream_next: Arc<AtomicI64>,
}

impl Meter {
    /// The writer task wrote `n` bytes of queued data.
    pub fn written(&self, n: usize) {
        self.unsent.fetch_sub(n as u64, Relaxed);
        self.sent.fetch_add(n as u64, Relaxed);
    }

    /// The writer task wrote the stream up to `next` (exclusive).
    pub fn streamed(&self, n: usize, next: i64) {
        self.sent.fetch_add(n as u64, Relaxed);
        self.stream_next.store(next, Relaxed);
    }
}

impl Outlet {
    pub fn new(tx: flume::Sender<WriterItem>, _shared: Arc<Shared>) -> Self {
        let meter = Meter { unsent: Arc::new(AtomicU64::new(0)), sent: Arc::new(AtomicU64::new(0)), stream_next: Arc::new(AtomicI64::new(-1)) };
        Outlet { tx, meter }
    }
    /// Queues bytes for the socket; false when the writer is gone.
    pub fn push(&self, b: Bytes) -> bool {
        let n = b.len() as u64;
        if n == 0 {
            return !self.tx.is_disconnected();
        }
        if self.tx.send(WriterItem::Data(b)).is_err() {
            return false;
        }
        self.meter.unsent.fetch_add(n, Relaxed);
        true
    }
    /// After what is queued, the writer streams the replication buffer from `from` on.
    pub fn stream_from(&self, from: i64) -> bool {
        self.meter.stream_next.store(from, Relaxed);
        self.tx.send(WriterItem::Stream(from)).is_ok()
    }
    /// Makes the writer task close the socket once everything queued before is written.
    pub fn finish(&self) {
        let _ = self.tx.send(WriterItem::End);
    }
    /// The counters the writer task updates.
    pub fn meter(&self) -> Meter {
        self.meter.clone()
    }
    pub fn sent(&self) -> u64 {
        self.meter.sent.load(Relaxed)
    }
    pub fn unsent(&self) -> u64 {
        self.meter.unsent.load(Relaxed)
    }
    /// The offset of the next stream byte the writer sends (-1 before it streams).
    pub fn stream_next(&self) -> i64 {
        self.meter.stream_next.load(Relaxed)
    }
    pub fn is_gone(&self) -> bool {
        self.tx.is_disconnected()
    }
}

/// A replica waiting for a full sync.
pub struct Target {
    pub meta: Arc<ClientMeta>,
    pub name: String,
    pub out: Outlet,
    /// Sent PSYNC (gets `+FULLRESYNC`); false for legacy SYNC.
    pub psync: bool,
    /// A tandem replica that can resume a cut transfer (`capa tandem-resume`): the job's
    /// snapshot is kept for `repl-resume-window` seconds after it.
    pub resume: bool,
    /// The RDB connection of a dual-channel sync (its client id): it gets
    /// `$ENDOFF:<offset> <replid> <db> <client-id>` before the RDB, as Valkey 8 sends it.
    pub endoff: Option<u64>,
    /// The replica itself: attached to the stream, told of its transfer.
    pub replica: Box<dyn SyncReplica>,
}

/// What a full-sync job does with the replica it serves (implemented by the master side's
/// replica actor).
#[async_trait]
pub trait SyncReplica: Send + Sync {
    /// Keeps the stream from offset `from` for the replica (its backlog subscription, made in
    /// the same handler as the snapshot it continues). False when the backlog no longer holds
    /// the bytes from `from`.
    async fn subscribe(&self, from: i64) -> bool;
    /// The keyspace took the snapshot the replica gets, at `offset` (its `+FULLRESYNC` went
    /// out).
    fn bulk_started(&self, offset: i64);
    /// The RDB went out (`eof`: streamed with EOF framing), or could not be produced.
    fn rdb_ready(&self, ok: bool, eof: bool);
}

/// A replica needs the whole dataset.
pub struct FullSync {
    pub target: Target,
    pub diskless: bool,
}
impl Message for FullSync {
    type Result = ();
}

/// The RDB of job `id` is written: `Ok(Some(rdb))` for disk framing (to be sent to every
/// target), `Ok(None)` when it already streamed to the sockets.
pub struct JobDone {
    pub id: u64,
    pub result: Result<Option<Bytes>, String>,
}
impl Message for JobDone {
    type Result = ();
}

struct Running {
    id: u64,
    diskless: bool,
    /// Stops the writer (the job is no longer needed).
    cancel: Arc<std::sync::atomic::AtomicBool>,
    offset: i64,
    replid: String,
    targets: Vec<Target>,
}

/// The snapshot of the last diskless job a resume-capable replica got, kept so that a
/// replica whose transfer was cut resumes from the byte it reached (the RDB written again
/// from the same snapshot is the same bytes).
struct Resumable {
    snap: super::snapshot::Snapshot,
    job: u64,
    /// Dropped after this (ms); `i64::MAX` while its job runs.
    deadline_ms: i64,
}

/// Resumes a cut full sync: the rest of the RDB of the kept snapshot at `offset` of `replid`,
/// from byte `from` on (`+RESUME`), or a full sync when the snapshot is gone.
pub struct ResumeSync {
    pub target: Target,
    pub replid: String,
    pub offset: i64,
    pub from: u64,
}
impl Message for ResumeSync {
    type Result = ();
}

/// The keyspace's full-sync jobs.
#[derive(Default)]
pub struct Jobs {
    next_id: u64,
    resumable: Option<Resumable>,
    /// A diskless job gathering replicas until `deadline_ms`.
    pending: Vec<Target>,
    deadline_ms: i64,
    running: Vec<Running>,
}

impl Jobs {
    /// Replicas waiting for a job to start or to finish (INFO's `rdb_bgsave_in_progress`).
    pub fn in_progress(&self) -> bool {
        !self.running.is_empty()
    }
}

/// Bytes a diskless writer lets pile up for one replica before it waits for that socket (or
/// the replica's `client-output-buffer-limit` hard limit when lower). Running well ahead of
/// the socket keeps the transfer fast; the bound keeps a stalled replica from holding a
/// whole RDB in memory.
const MAX_UNSENT: u64 = 64 * 1024 * 1024;
/// Size of the pieces a diskless RDB is sent in.
const STREAM_CHUNK: usize = 64 * 1024;

/// Writes one RDB into several replicas' sockets at once, in chunks, at the pace of the
/// slowest one (bounded memory); replicas that disconnect are skipped.
struct FanoutWriter {
    outs: Vec<Outlet>,
    buf: Vec<u8>,
    /// Unwritten bytes one replica may have before the writer waits.
    max_unsent: u64,
    /// RDB bytes not to send (a resumed transfer starts past what the replica has).
    skip: u64,
}

impl FanoutWriter {
    /// What of `b`, the RDB's next bytes, is past the part to skip.
    fn unskipped(&mut self, b: Bytes) -> Bytes {
        if self.skip == 0 {
            return b;
        }
        let n = (b.len() as u64).min(self.skip);
        self.skip -= n;
        b.slice(n as usize..)
    }

    fn push_all(&mut self, b: Bytes) -> std::io::Result<()> {
        self.push_all_while(b, || true)
    }

    /// [`Self::push_all`], giving up when `alive` turns false while a slow replica is waited
    /// for (the save child died, or the job was cancelled).
    fn push_all_while(&mut self, b: Bytes, mut alive: impl FnMut() -> bool) -> std::io::Result<()> {
        if b.is_empty() {
            return Ok(()); // nothing to write
        }
        self.outs.retain(|o| o.push(b.clone()));
        if self.outs.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "every replica is gone"));
        }
        while self.outs.iter().any(|o| !o.is_gone() && o.unsent() > self.max_unsent) {
            if !alive() {
                return Err(std::io::Error::other("the RDB child is gone"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

impl std::io::Write for FanoutWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= STREAM_CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(STREAM_CHUNK));
            let chunk = self.unskipped(Bytes::from(chunk));
            self.push_all(chunk)?;
        }
        Ok(())
    }
}

/// The line Redis logs when its RDB child for replicas starts.
fn started_line(diskless: bool, pid: i32) -> String {
    if diskless {
        format!("Background RDB transfer started by pid {}", pid)
    } else {
        format!("Background saving started by pid {}", pid)
    }
}

/// Writes the RDB of `snap` in a forked child that pipes it back: streamed to the replicas
/// through `fan` (diskless, with its end mark), or gathered for `$<len>` framing. The child
/// is stopped when the job is cancelled; a child that dies (killed by anyone) fails the job.
fn rdb_from_child(shared: &Shared, snap: super::snapshot::Snapshot, compress: bool, mut fan: Option<(FanoutWriter, String)>) -> Result<Option<Bytes>, String> {
    use std::io::Write;
    let cancel = snap.cancel.clone();
    let forked = super::persist::fork_child(shared, "redis-rdb-to-slaves", |pipe| {
        let written = write_rdb(&snap, std::io::BufWriter::with_capacity(STREAM_CHUNK, pipe), compress).and_then(|mut w| w.flush());
        i32::from(written.is_err())
    });
    drop(snap); // the child has its copy
    let mut child = forked.map_err(|e| format!("Can't start the RDB child: fork: {}", e))?;
    crate::notice!(shared.log, "{}", started_line(fan.is_some(), child.pid));
    let mut buf = vec![0u8; STREAM_CHUNK];
    let mut gathered = Vec::new();
    loop {
        if cancel.load(Relaxed) {
            child.kill();
            return Err("cancelled".into());
        }
        let n = match child.read(&mut buf, Duration::from_millis(100)) {
            Ok(None) => continue,
            Ok(Some(0)) => break,
            Ok(Some(n)) => n,
            Err(e) => return Err(format!("reading the RDB child's pipe: {}", e)),
        };
        match &mut fan {
            Some((w, _)) => {
                let chunk = w.unskipped(Bytes::copy_from_slice(&buf[..n]));
                let alive = || !cancel.load(Relaxed) && child.try_wait().is_none_or(|e| e == fork::Exit::Code(0));
                w.push_all_while(chunk, alive).map_err(|e| e.to_string())?;
            }
            None => gathered.extend_from_slice(&buf[..n]),
        }
    }
    let exit = child.wait();
    super::persist::child_ended(shared, &child);
    if exit != fork::Exit::Code(0) {
        return Err(format!("the RDB child {}", exit));
    }
    match fan {
        Some((mut w, mark)) => w.push_all(Bytes::from(mark)).map(|_| None).map_err(|e| e.to_string()),
        None => Ok(Some(Bytes::from(gathered))),
    }
}

impl Keyspace {
    /// Stops the full-sync jobs no one needs any more, as Redis kills its RDB child: a disk
    /// job whose replicas all left, unless save points make the RDB worth finishing (from
    /// the cron), or every job when `all` (FLUSHALL: the snapshot is of data that is gone;
    /// the replicas are dropped and sync again).
    pub(crate) fn cancel_jobs(&mut self, all: bool) {
        let has_save_points = !self.shared.cfg().save_params().is_empty();
        for job in &self.jobs.running {
            let unneeded = !job.diskless && !has_save_points && job.targets.iter().all(|t| t.out.is_gone());
            if (all || unneeded) && !job.cancel.swap(true, std::sync::atomic::Ordering::Relaxed) {
                crate::notice!(self.shared.log, "Background RDB job for replicas stopped: {}", if all { "the dataset was flushed" } else { "no replica waits for it" });
            }
        }
    }

    /// Subscribes `t` to the backlog right after `offset` and tells it the sync began.
    /// False when the backlog no longer holds the bytes after `offset`.
    async fn attach(&mut self, t: &Target, replid: &str, offset: i64) -> bool {
        if !t.replica.subscribe(offset + 1).await {
            // Cannot happen while the backlog follows the feed; if it ever does, the replica
            // is dropped (it reconnects and asks again) rather than left waiting.
            crate::warning!(self.shared.log, "Can't attach the replica {} to the replication backlog at offset {}: dropping it", t.name, offset + 1);
            t.replica.rdb_ready(false, false);
            return false;
        }
        if let Some(cid) = t.endoff {
            let db = self.feed.last_db.unwrap_or(0);
            crate::trace_wire!(self.shared.log, format_args!("replica:{}", t.name), format_args!("net:{}", t.meta.addr), "$ENDOFF:{} {} {} {} {{off={} conv={}}}", offset, replid, db, cid, offset, t.name);
            crate::notice!(self.shared.log, "Sending to replica {} RDB end offset {} and client-id {}", t.name, offset, cid);
            t.out.push(Bytes::from(format!("$ENDOFF:{} {} {} {}\r\n", offset, replid, db, cid)));
        } else if t.psync {
            crate::trace_wire!(self.shared.log, format_args!("replica:{}", t.name), format_args!("net:{}", t.meta.addr), "+FULLRESYNC {} {} {{off={} conv={}}}", replid, offset, offset, t.name);
            t.out.push(Bytes::from(format!("+FULLRESYNC {} {}\r\n", replid, offset)));
        }
        crate::trace_msg!(self.shared.log, "keyspace", format_args!("replica:{}", t.name), "BulkStarted(offset={}) {{off={} conv={}}}", offset, offset, t.name);
        t.replica.bulk_started(offset);
        true
    }

    /// Takes the snapshot for `targets` and starts writing its RDB.
    async fn start_job(&mut self, targets: Vec<Target>, diskless: bool) {
        self.feed.flush();
        let snap = self.snapshot();
        // Every new full-sync attach makes the next command carry a SELECT.
        if !self.feed.replica_mode {
            self.feed.last_db = None;
        }
        crate::notice!(self.shared.log, "Starting BGSAVE for SYNC with target: {}", if diskless { "replicas sockets" } else { "disk" });
        let mut live = Vec::with_capacity(targets.len());
        for t in targets {
            if t.out.is_gone() || !self.attach(&t, &snap.replid, snap.offset).await {
                continue;
            }
            live.push(t);
        }
        if live.is_empty() {
            return;
        }
        self.jobs.next_id += 1;
        let id = self.jobs.next_id;
        if diskless && live.iter().any(|t| t.resume) && self.shared.cfg().int("repl-resume-window") > 0 {
            let kept = super::snapshot::Snapshot { cancel: Default::default(), ..snap.clone() };
            self.jobs.resumable = Some(Resumable { snap: kept, job: id, deadline_ms: i64::MAX });
        }
        self.spawn_writer(id, snap, live, diskless, 0);
    }

    /// Writes the RDB of `snap` for job `id` to `live` (its first `skip` bytes left out).
    fn spawn_writer(&mut self, id: u64, snap: super::snapshot::Snapshot, live: Vec<Target>, diskless: bool, skip: u64) {
        let compress = self.shared.cfg().rdbcompression();
        let hard = self.shared.cfg().client_output_buffer_limit(crate::config::ClientClass::Replica).hard_limit_bytes;
        let max_unsent = if hard > 0 { hard.min(MAX_UNSENT) } else { MAX_UNSENT };
        let me = self.me.clone();
        let mark = crate::util::random_hex(40);
        let outs: Vec<Outlet> = live.iter().map(|t| t.out.clone()).collect();
        if diskless {
            for o in &outs {
                o.push(Bytes::from(format!("$EOF:{}\r\n", mark)));
            }
        }
        crate::trace_msg!(self.shared.log, "keyspace", "rdb-writer", "Write(job={}, offset={}, replicas={})", id, snap.offset, live.len());
        let cancel = snap.cancel.clone();
        self.jobs.running.push(Running { id, diskless, cancel, offset: snap.offset, replid: snap.replid.clone(), targets: live });
        let forks = fork::enabled();
        super::persist::set_save_keys_total(&self.shared, &snap);
        if !forks {
            crate::notice!(self.shared.log, "{}", started_line(diskless, std::process::id() as i32));
        }
        let shared = self.shared.clone();
        rt::spawn_blocking(move || {
            let result = if forks {
                let fan = diskless.then(|| (FanoutWriter { outs, buf: Vec::new(), max_unsent, skip }, mark));
                rdb_from_child(&shared, snap, compress, fan)
            } else if diskless {
                let w = FanoutWriter { outs, buf: Vec::with_capacity(STREAM_CHUNK), max_unsent, skip };
                write_rdb(&snap, w, compress)
                    .and_then(|mut w| {
                        use std::io::Write;
                        w.flush()?;
                        w.push_all(Bytes::from(mark))
                    })
                    .map(|_| None)
                    .map_err(|e| e.to_string())
            } else {
                write_rdb(&snap, Vec::new(), compress).map(|v| Some(Bytes::from(v))).map_err(|e| e.to_string())
            };
            if let Some(ks) = me.and_then(|w| w.upgrade()) {
                let _ = ks.send(JobDone { id, result });
            }
        });
    }

    /// Starts the gathering diskless job once its delay is over (from the cron) or when
    /// `force`.
    pub async fn start_pending(&mut self, force: bool) {
        let jobs = &mut self.jobs;
        jobs.pending.retain(|t| !t.out.is_gone());
        if jobs.pending.is_empty() {
            return;
        }
        let max = self.shared.cfg().repl_diskless_sync_max_replicas() as usize;
        let due = force || crate::util::now_ms() >= jobs.deadline_ms || (max > 0 && jobs.pending.len() >= max);
        if !due {
            for t in &jobs.pending {
                t.out.push(Bytes::from_static(b"\n"));
            }
            return;
        }
        let targets = std::mem::take(&mut jobs.pending);
        self.start_job(targets, true).await;
    }
}

impl Keyspace {
    /// Whether the kept snapshot is the one at `offset` of `replid`, and still kept (PSYNC
    /// with a resume request answers `+RESUME` then).
    pub(crate) fn resume_ready(&self, replid: &str, offset: i64) -> bool {
        self.jobs.resumable.as_ref().is_some_and(|r| r.snap.replid == replid && r.snap.offset == offset && crate::util::now_ms() < r.deadline_ms)
    }

    /// Drops the kept snapshot once its window is over (from the cron).
    pub(crate) fn expire_resumable(&mut self) {
        if self.jobs.resumable.as_ref().is_some_and(|r| crate::util::now_ms() >= r.deadline_ms) {
            self.jobs.resumable = None;
        }
    }

    /// A replica needs the whole dataset: a diskless job (gathering replicas for
    /// `repl-diskless-sync-delay`), or a disk one, joined when one runs.
    async fn full_sync(&mut self, t: Target, diskless: bool) {
        self.feed.flush();
        if diskless {
            let delay = self.shared.cfg().repl_diskless_sync_delay() as i64;
            let jobs = &mut self.jobs;
            if jobs.pending.is_empty() {
                jobs.deadline_ms = crate::util::now_ms() + delay * 1000;
            }
            if delay > 0 {
                crate::notice!(self.shared.log, "Delay next BGSAVE for diskless SYNC");
            }
            jobs.pending.push(t);
            return self.start_pending(delay == 0).await;
        }
        // Join a disk job in progress when the backlog still holds the stream since its
        // snapshot.
        let joinable = self.jobs.running.iter().find(|j| !j.diskless).map(|j| (j.id, j.replid.clone(), j.offset));
        if let Some((id, replid, offset)) = joinable {
            if self.attach(&t, &replid, offset).await {
                crate::notice!(self.shared.log, "Waiting for end of BGSAVE for SYNC");
                if let Some(j) = self.jobs.running.iter_mut().find(|j| j.id == id) {
                    j.targets.push(t);
                }
                return;
            }
        }
        self.start_job(vec![t], false).await;
    }
}

#[async_trait]
impl Handler<FullSync> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: FullSync) {
        self.full_sync(msg.target, msg.diskless).await;
    }
}

#[async_trait]
impl Handler<ResumeSync> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: ResumeSync) {
        let t = msg.target;
        crate::trace_msg!(self.shared.log, format_args!("replica:{}", t.name), "keyspace", "ResumeSync(offset={}, from={}) {{off={} conv={}}}", msg.offset, msg.from, msg.offset, t.name);
        self.feed.flush();
        let snap = match &self.jobs.resumable {
            // `rdb-key-save-delay` as it is now (a debugging aid that slowed the first transfer).
            Some(r) if self.resume_ready(&msg.replid, msg.offset) => super::snapshot::Snapshot {
                cancel: Default::default(),
                key_save_delay: self.shared.cfg().int("rdb-key-save-delay") as i64,
                ..r.snap.clone()
            },
            _ => {
                crate::notice!(self.shared.log, "The snapshot replica {} asks to resume is no longer kept: full resync", t.name);
                return self.full_sync(t, true).await;
            }
        };
        if !t.replica.subscribe(msg.offset + 1).await {
            crate::notice!(self.shared.log, "The backlog no longer holds the stream after the snapshot replica {} resumes: full resync", t.name);
            return self.full_sync(t, true).await;
        }
        crate::notice!(self.shared.log, "Resuming the full sync of replica {} from byte {} of the RDB of offset {}", t.name, msg.from, msg.offset);
        crate::trace_wire!(self.shared.log, format_args!("replica:{}", t.name), format_args!("net:{}", t.meta.addr), "+RESUME {} {} {} {{off={} conv={}}}", msg.replid, msg.offset, msg.from, msg.offset, t.name);
        t.out.push(Bytes::from(format!("+RESUME {} {} {}\r\n", msg.replid, msg.offset, msg.from)));
        t.replica.bulk_started(msg.offset);
        self.jobs.next_id += 1;
        let id = self.jobs.next_id;
        if let Some(r) = self.jobs.resumable.as_mut() {
            // Kept for this transfer too, and its window runs again from its end.
            r.job = id;
            r.deadline_ms = i64::MAX;
        }
        self.spawn_writer(id, snap, vec![t], true, msg.from);
    }
}

#[async_trait]
impl Handler<JobDone> for Keyspace {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: JobDone) {
        crate::trace_msg!(self.shared.log, "rdb-writer", "keyspace", "JobDone(job={}, ok={})", msg.id, msg.result.is_ok());
        let jobs = &mut self.jobs;
        let Some(pos) = jobs.running.iter().position(|j| j.id == msg.id) else { return };
        let job = jobs.running.remove(pos);
        if jobs.resumable.as_ref().is_some_and(|r| r.job == msg.id) {
            // Kept only for a replica whose transfer was cut: after a job every replica
            // took whole, the snapshot goes (it pins the memory writes replace).
            let cut = msg.result.is_err() || job.targets.iter().any(|t| t.out.is_gone());
            if cut {
                if let Some(r) = jobs.resumable.as_mut() {
                    r.deadline_ms = crate::util::now_ms() + self.shared.cfg().int("repl-resume-window") as i64 * 1000;
                }
            } else {
                jobs.resumable = None;
            }
        }
        match msg.result {
            Ok(rdb) => {
                if job.diskless {
                    let up = job.targets.iter().filter(|t| !t.out.is_gone()).count();
                    crate::notice!(self.shared.log, "Diskless rdb transfer, done reading from pipe, {} replicas still up.", up);
                } else {
                    crate::notice!(self.shared.log, "Background saving terminated with success");
                }
                for t in job.targets {
                    if let Some(rdb) = &rdb {
                        t.out.push(Bytes::from(format!("${}\r\n", rdb.len())));
                        t.out.push(rdb.clone());
                    }
                    t.replica.rdb_ready(true, job.diskless);
                }
            }
            Err(e) => {
                // A stopped job (cancel_jobs) was logged when it was stopped; a diskless writer
                // stops when every replica of its transfer disconnected.
                let cancelled = job.cancel.load(Relaxed);
                let deserted = !cancelled && job.diskless && job.targets.iter().all(|t| t.out.is_gone());
                if deserted {
                    crate::warning!(self.shared.log, "Diskless rdb transfer, last replica dropped, killing fork child.");
                }
                for t in job.targets {
                    if !cancelled && !deserted {
                        crate::warning!(self.shared.log, "Failed to produce the RDB for replica {}: {}", t.name, e);
                    }
                    t.replica.rdb_ready(false, job.diskless);
                }
            }
        }
    }
}
