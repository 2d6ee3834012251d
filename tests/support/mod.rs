//! The integration tests' shared support: start the real `tandem` binary or a real
//! `redis-server` (the oracle) on a free port in a directory of its own and kill it when the
//! test ends ([`Server`]), talk raw RESP to it ([`Conn`]), compare replies and datasets with
//! Redis, and follow replication.
//!
//! - `server.rs`: [`Kind`], [`Server`] (the one process guard) and [`Launch`] (its options and
//!   the port-race retry);
//! - `resp.rs`: [`Conn`] (the one raw RESP client), [`Reply`], [`encode`], [`parse`];
//! - `compare.rs`: [`assert_table`], [`assert_same_as_redis`], [`same_on_both`];
//! - `repl.rs`: waiting for replicas ([`wait_synced`], [`wait_acked`]), comparing datasets,
//!   reading a raw `PSYNC`/`SYNC` stream.
//!
//! Every wait polls with a deadline ([`WAIT`] unless told otherwise) and every read has a
//! timeout ([`IO_TIMEOUT`]): a broken server fails a test instead of hanging it.
//!
//! Set `TANDEM_TEST_LOGS=1` to print the servers' logs even when tests pass (they are printed
//! when a test fails).
//!
//! Each test file uses part of this module: the rest is dead code there.
#![allow(dead_code)]

mod compare;
mod repl;
mod resp;
mod server;

// A test file that uses nothing of one part leaves its re-export unused.
#[allow(unused_imports)]
pub use {compare::*, repl::*, resp::*, server::*};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TANDEM: &str = env!("CARGO_BIN_EXE_tandem");
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";
pub const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

/// Longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long a reply may take before a test fails instead of hanging.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A port nobody listens on right now (the OS picks it). Another process may take it before
/// the server binds it: [`Launch::start`] retries on another port then.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

/// Whether all of `programs` are installed; when not, prints which are missing (the caller
/// skips its comparison or returns).
pub fn have(programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| !Path::new(p).exists()).collect();
    if !missing.is_empty() {
        let test = std::thread::current().name().unwrap_or("?").to_string();
        eprintln!("note: {}: {} not installed, skipped", test, missing.join(" / "));
    }
    missing.is_empty()
}

/// Whether real redis-server is installed (tests comparing with it skip that part otherwise).
pub fn have_redis() -> bool {
    have(&[REDIS_SERVER])
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "tandem-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            tag
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` every 20 ms for at most [`WAIT`]; panics with `what` on timeout.
pub fn wait_for(what: &str, f: impl FnMut() -> bool) {
    wait_for_within(WAIT, what, f)
}

/// [`wait_for`] with another deadline.
pub fn wait_for_within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out after {:?} waiting for: {}", limit, what);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn ms_since(t: Instant) -> u128 {
    t.elapsed().as_millis()
}

/// Sends `sig` (a name such as `TERM`, `STOP`) to `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill").args([&format!("-{}", sig), &pid.to_string()]).status().expect("run kill");
    assert!(st.success(), "kill -{} {} failed", sig, pid);
}

/// True when every thread of `pid` is in state T (stopped) per /proc.
pub fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", pid)) else { return false };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat"))
            .ok()
            .and_then(|st| st.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T') || rest.starts_with('t')))
            .unwrap_or(true)
    })
}

/// SIGCONTs a process when dropped (so a failing test never leaves one stopped).
pub struct Resume(pub u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0.to_string()]).stderr(Stdio::null()).status();
    }
}

/// The number of open file descriptors of process `pid` (entries of /proc/<pid>/fd).
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", pid)).unwrap_or_else(|e| panic!("/proc/{}/fd: {}", pid, e)).count()
}

/// The child processes of `pid` (from /proc/<pid>/task/*/children).
pub fn child_pids(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", pid)) else { return Vec::new() };
    let mut out: Vec<u32> = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// True while `pid` runs (a zombie, dead but not reaped, does not count).
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid))
        .ok()
        .and_then(|st| st.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')))
        .unwrap_or(false)
}
