//! Save children: a forked process that writes a snapshot, as Redis's BGSAVE child.
//!
//! The tandem binary forks for BGSAVE and for full syncs (see [`enable`]); an embedding
//! application does not unless it opts in (forking a host process it does not know would be
//! a surprise), and its saves run on a thread of its own process instead.
//!
//! The child runs one closure in a copy of the process taken at the fork, with only the
//! forking thread alive. It must therefore not take a lock another thread may have held at
//! that moment: no logging (the logger's lock), no actor, no async runtime. jemalloc is safe
//! (it takes its locks across the fork). The closure writes into a pipe the parent reads.
//!
//! In the child, before the closure runs:
//! - it dies with its parent (`PR_SET_PDEATHSIG`; the forking thread waits for the child, so
//!   the signal means the process is gone), as Redis's child does;
//! - SIGTERM/SIGINT are back to their defaults (the parent's handlers would wake the
//!   parent's signal thread through a shared pipe);
//! - every descriptor but stdin/out/err and the pipe is closed, so the child holds no client
//!   socket open (a closed connection closes at once) and no listener (a restarted server
//!   can bind its port while an orphan child still runs).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Makes this process's servers save in forked children (the tandem binary calls it).
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

/// Whether saves fork.
pub fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// The temporary file a save by process `pid` writes before renaming it to `rdb`.
pub fn temp_rdb_path(rdb: &std::path::Path, pid: u32) -> std::path::PathBuf {
    rdb.with_file_name(format!("temp-{}.rdb", pid))
}

/// The signal that stops a child on purpose (as Redis kills its save child): a child ended by
/// it did not fail.
pub const STOP_SIGNAL: i32 = libc::SIGUSR1;

/// Stops the child `pid` (it is reaped by the thread waiting for it).
pub fn stop(pid: i32) {
    // SAFETY: a signal to a process of our own.
    unsafe { libc::kill(pid, STOP_SIGNAL) };
}

/// The descriptor the child's end of the pipe gets.
const CHILD_FD: i32 = 3;

/// What a child reports while it runs, in memory shared with its parent (an anonymous
/// shared mapping made before the fork): keys written, and copy-on-write bytes (what the
/// child's memory no longer shares with the parent's), refreshed about once a second.
pub struct Progress {
    map: *mut AtomicU64,
}

// SAFETY: the mapping holds atomics only and lives as long as the Progress.
unsafe impl Send for Progress {}
unsafe impl Sync for Progress {}

const KEYS: usize = 0;
const COW: usize = 1;
const COW_PEAK: usize = 2;
const COW_AT_MS: usize = 3;
const FIELDS: usize = 4;

impl Progress {
    fn new() -> io::Result<Progress> {
        // SAFETY: a fresh anonymous mapping, zero-filled, the size of the fields.
        let p = unsafe {
            libc::mmap(std::ptr::null_mut(), FIELDS * 8, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1, 0)
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Progress { map: p as *mut AtomicU64 })
    }
    fn field(&self, i: usize) -> &AtomicU64 {
        // SAFETY: i < FIELDS, inside the mapping.
        unsafe { &*self.map.add(i) }
    }
    /// Keys the child wrote so far.
    pub fn keys(&self) -> u64 {
        self.field(KEYS).load(Relaxed)
    }
    /// The child's copy-on-write bytes at its last report, and the largest reported.
    pub fn cow(&self) -> (u64, u64) {
        (self.field(COW).load(Relaxed), self.field(COW_PEAK).load(Relaxed))
    }
    /// Seconds since the last copy-on-write report (0 before the first).
    pub fn cow_age_secs(&self) -> u64 {
        let at = self.field(COW_AT_MS).load(Relaxed);
        if at == 0 {
            return 0;
        }
        (super::now_ms() as u64).saturating_sub(at) / 1000
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new().
        unsafe { libc::munmap(self.map as *mut libc::c_void, FIELDS * 8) };
    }
}

thread_local! {
    /// In a child: its progress report (null elsewhere).
    static REPORT: std::cell::Cell<*const Progress> = const { std::cell::Cell::new(std::ptr::null()) };
    static LAST_COW: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// A key was written (the RDB writer calls it for each key). In a save child it counts the
/// key and, about once a second, measures copy-on-write; elsewhere it does nothing.
pub fn key_written() {
    let p = REPORT.with(|r| r.get());
    if p.is_null() {
        return;
    }
    // SAFETY: set in the child to its Progress, which outlives the work.
    let p = unsafe { &*p };
    let n = p.field(KEYS).fetch_add(1, Relaxed) + 1;
    if n % 128 == 0 {
        let due = LAST_COW.with(|l| l.get().is_none_or(|t| t.elapsed() >= Duration::from_secs(1)));
        if due {
            LAST_COW.with(|l| l.set(Some(std::time::Instant::now())));
            report_cow(p);
        }
    }
}

/// Measures the calling child's copy-on-write bytes: its private dirty memory.
fn report_cow(p: &Progress) {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else { return };
    let kb: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("Private_Dirty:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum();
    let bytes = kb * 1024;
    p.field(COW).store(bytes, Relaxed);
    p.field(COW_PEAK).fetch_max(bytes, Relaxed);
    p.field(COW_AT_MS).store(super::now_ms() as u64, Relaxed);
}

/// A running save child and the read end of its pipe.
pub struct Child {
    pub pid: i32,
    pipe: File,
    status: Option<Exit>,
    /// What the child reports while it runs.
    pub progress: std::sync::Arc<Progress>,
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exited with code {}", c),
            Exit::Signal(s) => write!(f, "terminated by signal {}", s),
        }
    }
}

/// Forks a child that runs `work` with the write end of a pipe and exits with the code it
/// returns (1 if it panics). Returns in the parent only.
pub fn spawn(work: impl FnOnce(File) -> i32) -> io::Result<Child> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned here.
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    let progress = std::sync::Arc::new(Progress::new()?);
    let parent = std::process::id() as i32;
    // SAFETY: the child only runs `in_child`, which never returns (it ends in _exit).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        REPORT.with(|r| r.set(&*progress as *const Progress));
        in_child(parent, write, work, &progress);
    }
    drop(write);
    Ok(Child { pid, pipe: read, status: None, progress })
}

fn in_child(parent: i32, write: File, work: impl FnOnce(File) -> i32, progress: &Progress) -> ! {
    // SAFETY: plain syscalls on this process's own state.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(1); // the parent died before the line above
        }
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        if write.as_raw_fd() != CHILD_FD && libc::dup2(write.as_raw_fd(), CHILD_FD) < 0 {
            libc::_exit(1);
        }
        std::mem::forget(write);
        libc::syscall(libc::SYS_close_range, (CHILD_FD + 1) as libc::c_uint, libc::c_uint::MAX, 0 as libc::c_uint);
        let pipe = File::from_raw_fd(CHILD_FD);
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(pipe))).unwrap_or(1);
        report_cow(progress); // the final figure (INFO's rdb_last_cow_size)
        libc::_exit(code)
    }
}

impl Child {
    /// Reads what the child wrote, at most `buf.len()` bytes; waits up to `wait` for data.
    /// `Ok(None)`: nothing yet; `Ok(Some(0))`: the child closed the pipe (it ended).
    pub fn read(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd { fd: self.pipe.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, wait.as_millis().min(i32::MAX as u128) as i32) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(None) } else { Err(e) };
        }
        if n == 0 {
            return Ok(None);
        }
        loop {
            match self.pipe.read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads everything the child writes until it closes the pipe.
    pub fn read_to_end(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        self.pipe.read_to_end(out).map(|_| ())
    }

    /// The child's exit, if it has ended (reaps it).
    pub fn try_wait(&mut self) -> Option<Exit> {
        if self.status.is_none() {
            self.status = self.reap(libc::WNOHANG);
        }
        self.status
    }

    /// Waits for the child to end.
    pub fn wait(&mut self) -> Exit {
        while self.status.is_none() {
            self.status = self.reap(0);
        }
        self.status.unwrap_or(Exit::Code(1))
    }

    fn reap(&self, flags: i32) -> Option<Exit> {
        let mut st = 0i32;
        // SAFETY: waits for this process's own child.
        let r = unsafe { libc::waitpid(self.pid, &mut st, flags) };
        if r == self.pid {
            if libc::WIFEXITED(st) {
                return Some(Exit::Code(libc::WEXITSTATUS(st)));
            }
            if libc::WIFSIGNALED(st) {
                return Some(Exit::Signal(libc::WTERMSIG(st)));
            }
            return None;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Some(Exit::Code(1)); // not our child any more (cannot happen)
        }
        None
    }

    /// Stops the child (SIGUSR1, as Redis kills its save child) and waits for it.
    pub fn kill(&mut self) -> Exit {
        if self.status.is_none() {
            // SAFETY: signals this process's own unreaped child.
            unsafe { libc::kill(self.pid, STOP_SIGNAL) };
        }
        self.wait()
    }
}

impl Drop for Child {
    /// A child is never left behind: one still running is stopped and reaped.
    fn drop(&mut self) {
        if self.status.is_none() {
            self.kill();
        }
    }
}
