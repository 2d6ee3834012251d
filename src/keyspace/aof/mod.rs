//! The append-only file, as Redis 7.0's multi-part AOF: a manifest naming one base file (an
//! RDB, or commands with `aof-use-rdb-preamble no`) and incr files of commands.
//!
//! The keyspace is the AOF's only writer, as it is the replication stream's: the feed encodes
//! each propagated command a second time in AOF form (its own SELECTs, `#TS:` annotations),
//! and the keyspace writes that buffer to the incr file before the replies of the batch go
//! back to the clients (`appendfsync always` fsyncs there too; `everysec` hands the fsync to
//! a thread of its own once a second). BGREWRITEAOF switches to a new incr file and writes a
//! new base from an O(1) snapshot taken in the same turn, in a forked child (the binary) or a
//! thread (embedded servers), then the keyspace installs it in the manifest.

pub mod load;
pub mod manifest;
pub mod rewrite;
mod bgrewrite;
mod replay;
pub use bgrewrite::{bgrewriteaof_cmd, is_aof_setting, stop_rewrite_child, AofShutdown};

use super::{Item, Keyspace};
use crate::resp::reply::encode_command;
use crate::rt::{async_trait, Context, Handler, Message};
use crate::shared::Shared;
use crate::util::fork;
use bytes::{Bytes, BytesMut};
use manifest::Manifest;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Instant;

/// The feed's AOF side: commands in AOF form, waiting to be written.
pub struct AofFeed {
    pub buf: BytesMut,
    /// The db the AOF last SELECTed (None: the next command is preceded by SELECT).
    db: Option<usize>,
    timestamps: bool,
    /// The last `#TS:` written (unix seconds).
    ts: i64,
}

impl AofFeed {
    pub fn new(timestamps: bool) -> Self {
        AofFeed { buf: BytesMut::new(), db: None, timestamps, ts: 0 }
    }

    /// Appends one command executed in `db` (None: no SELECT needed, as EXEC).
    pub fn emit(&mut self, db: Option<usize>, argv: &[Bytes]) {
        if self.timestamps {
            let now = crate::util::now_ms() / 1000;
            if now > self.ts {
                self.ts = now;
                self.buf.extend_from_slice(format!("#TS:{}\r\n", now).as_bytes());
            }
        }
        if let Some(d) = db {
            if self.db != Some(d) {
                encode_command(&[Bytes::from_static(b"SELECT"), Bytes::from(d.to_string())], &mut self.buf);
                self.db = Some(d);
            }
        }
        encode_command(argv, &mut self.buf);
    }

    /// The next command is preceded by a SELECT (a new file).
    pub fn reset_db(&mut self) {
        self.db = None;
    }
}

/// Redis's aof_state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AofState {
    #[default]
    Off,
    On,
    /// Turned on with CONFIG SET: on once the first rewrite wrote a base.
    WaitRewrite,
}

/// A rewrite in progress.
struct Running {
    started: Instant,
    /// The child writing the base (0: a thread).
    child: i32,
    cancel: Arc<AtomicBool>,
}

/// Hands fsyncs of AOF files to a thread of its own (Redis's bio fsync job): `everysec`
/// never waits for the disk in the keyspace's turn.
struct Fsyncer {
    tx: flume::Sender<Arc<File>>,
    pending: Arc<AtomicU64>,
}

impl Fsyncer {
    fn start() -> Fsyncer {
        let (tx, rx) = flume::unbounded::<Arc<File>>();
        let pending = Arc::new(AtomicU64::new(0));
        let p = pending.clone();
        let _ = std::thread::Builder::new().name("aof-fsync".into()).spawn(move || {
            for f in rx {
                let _ = f.sync_data();
                drop(f);
                p.fetch_sub(1, Relaxed);
            }
        });
        Fsyncer { tx, pending }
    }

    fn submit(&self, f: Arc<File>) {
        self.pending.fetch_add(1, Relaxed);
        if self.tx.send(f).is_err() {
            self.pending.fetch_sub(1, Relaxed);
        }
    }

    fn in_progress(&self) -> bool {
        self.pending.load(Relaxed) > 0
    }
}

/// The AOF's state, kept by the keyspace actor.
#[derive(Default)]
pub struct Aof {
    pub state: AofState,
    manifest: Manifest,
    /// The incr file written to (the temporary one while WaitRewrite).
    file: Option<Arc<File>>,
    fsyncer: Option<Fsyncer>,
    pub current_size: u64,
    last_incr_size: u64,
    /// The size after the last rewrite (auto-aof-rewrite-percentage counts from it).
    pub base_size: u64,
    fsync_offset: u64,
    last_fsync: i64,
    running: Option<Running>,
    pub scheduled: bool,
    pub last_rewrite_failed: bool,
    /// The last write error (writes are refused with -MISCONF while it lasts).
    pub write_error: Option<String>,
    /// With `appendfsync always` a write or fsync failed: the server exits, and the replies
    /// of the writes that were not persisted are never sent (as Redis exits before them).
    pub fatal: bool,
    last_write_error_log: i64,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub last_rewrite_secs: Option<i64>,
    /// Writes done while an fsync was still running (Redis's aof_delayed_fsync; tandem
    /// never waits for it, so this stays 0).
    pub delayed_fsync: u64,
    pub last_cow: u64,
    /// When the rewrite limit lets the next automatic rewrite run (unix seconds), and the
    /// delay it doubles.
    limit_until: i64,
    limit_minutes: i64,
    /// Cached settings (refreshed by [`AofConfig`]).
    fsync: Fsync,
    no_fsync_on_rewrite: bool,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds slept before each write.
    flush_sleep_us: u64,
    /// A master's AOF waits to be loaded (see [`LoadAof`]).
    load_pending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Fsync {
    Always,
    #[default]
    EverySec,
    No,
}

fn fsync_policy(shared: &Shared) -> Fsync {
    match shared.cfg().enum_name("appendfsync") {
        "always" => Fsync::Always,
        "no" => Fsync::No,
        _ => Fsync::EverySec,
    }
}

fn now_secs() -> i64 {
    crate::util::now_ms() / 1000
}

/// `dir/appenddirname`
pub fn aof_dir(shared: &Shared) -> PathBuf {
    let c = shared.cfg();
    let name = c.string("appenddirname").unwrap_or_else(|| b"appendonlydir".to_vec());
    c.dir().join(String::from_utf8_lossy(&name).into_owned())
}

fn filename(shared: &Shared) -> String {
    let name = shared.cfg().string("appendfilename").unwrap_or_else(|| b"appendonly.aof".to_vec());
    String::from_utf8_lossy(&name).into_owned()
}

fn strerror(e: &std::io::Error) -> String {
    crate::util::strerror(e)
}

/// The temporary base a rewrite by process `pid` writes (in `dir`, as Redis's working
/// directory).
fn temp_rewrite_path(shared: &Shared, pid: u32) -> PathBuf {
    shared.cfg().dir().join(format!("temp-rewriteaof-bg-{}.aof", pid))
}

fn file_size(dir: &Path, name: &str) -> Result<u64, std::io::Error> {
    std::fs::metadata(dir.join(name)).map(|m| m.len())
}

/// Reads the manifest from disk: empty when the directory or the file does not exist;
/// Err(lines to log) when it cannot be used.
fn manifest_from_disk(shared: &Shared) -> Result<Manifest, Vec<String>> {
    let dir = aof_dir(shared);
    let path = dir.join(manifest::manifest_name(&filename(shared)));
    if !dir.is_dir() || !path.exists() {
        return Ok(Manifest::default());
    }
    let text = std::fs::read(&path).map_err(|e| {
        vec![format!("Fatal error: can't open the AOF manifest file {} for reading: {}", path.display(), strerror(&e))]
    })?;
    Manifest::parse(&text).map_err(|e| {
        let mut lines = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
        if let Some((n, l)) = e.line {
            lines.push(format!("Reading the manifest file, at line {}\n", n));
            lines.push(format!(">>> '{}'\n", l));
        }
        lines.push(format!("{}\n", e.reason));
        lines
    })
}

/// How loading the AOF ended (Redis's AOF_OK ... AOF_FAILED).
#[derive(Debug, PartialEq, Eq)]
enum LoadResult {
    Ok,
    NotExist,
    Empty,
    Truncated,
    Failed,
}

/// A rewrite ended: its result, and how long it took.
pub struct AofRewriteDone {
    result: Result<(), super::persist::SaveFailure>,
    secs: i64,
    /// The temporary base it wrote.
    tmp: PathBuf,
    cow: u64,
}
impl Message for AofRewriteDone {
    type Result = ();
}

/// CONFIG SET changed an AOF setting: the keyspace applies it (`appendonly` turns the AOF
/// on or off). Err: turning it on failed.
pub struct AofConfig;
impl Message for AofConfig {
    type Result = Result<(), String>;
}

/// Loads the AOF at start: a master loads once the server announced itself (its log lines
/// then follow the start-up lines, as Redis's), answering -LOADING meanwhile.
pub struct LoadAof;
impl Message for LoadAof {
    type Result = ();
}

impl Keyspace {
    fn aof_fsyncer(&mut self) -> &Fsyncer {
        self.aof.fsyncer.get_or_insert_with(Fsyncer::start)
    }

    fn aof_refresh_settings(&mut self) {
        self.aof.fsync = fsync_policy(&self.shared);
        self.aof.no_fsync_on_rewrite = self.shared.cfg().flag("no-appendfsync-on-rewrite");
        let ts = self.shared.cfg().flag("aof-timestamp-enabled");
        if let Some(f) = self.feed.aof.as_mut() {
            f.timestamps = ts;
        }
    }

    /// Seconds the running rewrite has taken (-1: none).
    pub fn aof_rewrite_secs(&self) -> i64 {
        self.aof.running.as_ref().map_or(-1, |r| r.started.elapsed().as_secs() as i64)
    }

    /// Bytes waiting to be written.
    pub fn aof_buffer_len(&self) -> usize {
        self.feed.aof.as_ref().map_or(0, |f| f.buf.len())
    }

    pub fn aof_pending_fsync(&self) -> u64 {
        self.aof.fsyncer.as_ref().map_or(0, |f| f.pending.load(Relaxed))
    }

    /// Writes what the feed produced in AOF form to the incr file, and fsyncs as
    /// `appendfsync` says. Called before a batch's replies go back. `force`: write even while
    /// an `everysec` fsync is still running.
    pub(crate) fn flush_aof(&mut self, force: bool) {
        let Some(feed) = self.feed.aof.as_mut() else { return };
        let now = now_secs();
        let fsync_running = self.aof.fsyncer.as_ref().is_some_and(|f| f.in_progress());
        if feed.buf.is_empty() {
            // A write with no fsync after it yet (everysec): fsync once the second is over.
            if self.aof.fsync == Fsync::EverySec && self.aof.fsync_offset != self.aof.current_size && now > self.aof.last_fsync && !fsync_running {
                self.aof_try_fsync(now, fsync_running);
            }
            return;
        }
        let Some(file) = self.aof.file.clone() else { return };
        // Unlike Redis, the write is not postponed while an `everysec` fsync runs: what a
        // client was told is written is in the file (a kill -9 loses nothing acknowledged).
        let _ = force;
        if self.aof.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.aof.flush_sleep_us));
        }
        let n = feed.buf.len() as u64;
        match (&*file).write_all(&feed.buf) {
            Ok(()) => {
                feed.buf.clear();
                if self.aof.write_error.take().is_some() {
                    crate::warning!(self.shared.log, "AOF write error looks solved, Redis can write again.");
                }
                self.aof.current_size += n;
                self.aof.last_incr_size += n;
            }
            Err(e) => {
                // Nothing partial stays in the file; the buffer is written again later.
                let _ = file.set_len(self.aof.last_incr_size);
                if now - self.aof.last_write_error_log > 30 {
                    self.aof.last_write_error_log = now;
                    crate::warning!(self.shared.log, "Error writing to the AOF file: {}", strerror(&e));
                }
                if self.aof.fsync == Fsync::Always {
                    crate::warning!(self.shared.log, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    self.aof.fatal = true;
                    self.shared.fail("AOF write error with appendfsync always".into());
                }
                self.aof.write_error = Some(strerror(&e));
                return;
            }
        }
        self.aof_try_fsync(now, fsync_running);
    }

    fn aof_try_fsync(&mut self, now: i64, fsync_running: bool) {
        if self.aof.no_fsync_on_rewrite && (self.aof.running.is_some() || self.persist.bgsave_in_progress) {
            return;
        }
        let Some(file) = self.aof.file.clone() else { return };
        match self.aof.fsync {
            Fsync::Always => {
                if let Err(e) = file.sync_data() {
                    crate::warning!(self.shared.log, "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...", strerror(&e));
                    self.aof.fatal = true;
                    self.shared.fail("AOF fsync error with appendfsync always".into());
                    return;
                }
                self.aof.fsync_offset = self.aof.current_size;
                self.aof.last_fsync = now;
            }
            Fsync::EverySec if now > self.aof.last_fsync => {
                if !fsync_running {
                    self.aof_fsyncer().submit(file);
                    self.aof.fsync_offset = self.aof.current_size;
                }
                self.aof.last_fsync = now;
            }
            _ => {}
        }
    }

    pub(crate) fn set_aof_flush_sleep(&mut self, us: u64) {
        self.aof.flush_sleep_us = us;
    }

    /// Whether writes are refused because the AOF cannot be written (Redis's -MISCONF).
    pub(crate) fn aof_write_refusal(&self) -> Option<String> {
        if self.aof.state == AofState::Off {
            return None;
        }
        self.aof.write_error.as_ref().map(|e| format!("MISCONF Errors writing to the AOF file: {}", e))
    }

    /// The AOF's part of the cron (once a second and on every tick): write and fsync what
    /// waits, start a scheduled or automatic rewrite.
    pub(super) fn aof_cron(&mut self, once_a_second: bool) {
        if self.feed.aof.is_some() {
            self.flush_aof(false);
        }
        let child_busy = self.child_active();
        if self.aof.scheduled && !child_busy {
            let _ = self.start_aof_rewrite();
            return;
        }
        if !once_a_second || child_busy || self.aof.state != AofState::On {
            return;
        }
        let (perc, min) = {
            let c = self.shared.cfg();
            (c.int("auto-aof-rewrite-percentage"), c.int("auto-aof-rewrite-min-size") as u64)
        };
        if perc > 0 && self.aof.current_size > min {
            let base = self.aof.base_size.max(1);
            let growth = (self.aof.current_size * 100 / base) as i128 - 100;
            if growth >= perc && !self.aof_rewrite_limited() {
                crate::notice!(self.shared.log, "Starting automatic rewriting of AOF on {}% growth", growth);
                let _ = self.start_aof_rewrite();
            }
        }
    }

    /// After repeated failures automatic rewrites wait 1, 2, 4 ... 60 minutes.
    fn aof_rewrite_limited(&mut self) -> bool {
        if self.aof.consecutive_failures < 3 {
            self.aof.limit_minutes = 0;
            self.aof.limit_until = 0;
            return false;
        }
        let now = now_secs();
        if self.aof.limit_until != 0 {
            if now < self.aof.limit_until {
                return true;
            }
            self.aof.limit_until = 0;
            return false;
        }
        self.aof.limit_minutes = if self.aof.limit_minutes == 0 { 1 } else { (self.aof.limit_minutes * 2).min(60) };
        self.aof.limit_until = now + self.aof.limit_minutes * 60;
        crate::warning!(self.shared.log, "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes", self.aof.limit_minutes);
        true
    }

}

impl Keyspace {
    /// The AOF part of INFO persistence.
    pub fn aof_info(&self, f: &mut dyn FnMut(String)) {
        let a = &self.aof;
        f(format!("aof_enabled:{}", (a.state != AofState::Off) as u8));
        f(format!("aof_rewrite_in_progress:{}", a.running.is_some() as u8));
        f(format!("aof_rewrite_scheduled:{}", a.scheduled as u8));
        f(format!("aof_last_rewrite_time_sec:{}", a.last_rewrite_secs.unwrap_or(-1)));
        f(format!("aof_current_rewrite_time_sec:{}", self.aof_rewrite_secs()));
        f(format!("aof_last_bgrewrite_status:{}", if a.last_rewrite_failed { "err" } else { "ok" }));
        f(format!("aof_rewrites:{}", a.rewrites));
        f(format!("aof_rewrites_consecutive_failures:{}", a.consecutive_failures));
        f(format!("aof_last_write_status:{}", if a.write_error.is_some() { "err" } else { "ok" }));
        f(format!("aof_last_cow_size:{}", a.last_cow));
    }

    /// The fields INFO shows only while the AOF is on.
    pub fn aof_info_on(&self, f: &mut dyn FnMut(String)) {
        let a = &self.aof;
        if a.state == AofState::Off {
            return;
        }
        f(format!("aof_current_size:{}", a.current_size));
        f(format!("aof_base_size:{}", a.base_size));
        f(format!("aof_pending_rewrite:{}", a.scheduled as u8));
        f(format!("aof_buffer_length:{}", self.aof_buffer_len()));
        f(format!("aof_pending_bio_fsync:{}", self.aof_pending_fsync()));
        f(format!("aof_delayed_fsync:{}", a.delayed_fsync));
    }
}
