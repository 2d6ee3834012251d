//! The fuzz driver: runs every target of `tandem::fuzz` for a time budget with arbtest.
//!
//! Each target first replays its corpus (`tests/fuzz-corpus/<target>/`: committed seeds
//! and the `crash-*` regression cases), then runs inputs until its budget is spent
//! (`TANDEM_FUZZ_SECS` per target, default 2). An input is made by arbitrary's
//! `Unstructured` from an arbtest seed: a corpus file mutated (bit flips, byte insertions and
//! deletions, truncation, splicing, integer-boundary substitutions), or fresh random bytes
//! for the structured targets. A failure is a panic (also one caught inside a server), an
//! input running over a second (a watchdog thread), or more than 512 MiB live at once (the
//! counting allocator below); the input is saved as `crash-<hash>` in the target's corpus
//! and the arbtest seed printed.
//!
//! Environment: `TANDEM_FUZZ_SECS` (seconds per target), `TANDEM_FUZZ_TARGETS` (comma
//! list), `TANDEM_FUZZ_SEED` (run that one seed, to reproduce), `TANDEM_FUZZ_HANG_MS`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use tandem::fuzz::{fnv, Target, TARGETS};

/// Live bytes above which an input fails.
const ALLOC_LIMIT: usize = 512 << 20;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Live bytes when the bound was first passed during the current input (0: not passed).
static OVER: AtomicUsize = AtomicUsize::new(0);
/// Set while an oversized allocation saves the input (its own allocations are small).
static SAVING: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting live bytes.
struct Counting;

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, SeqCst) + n;
    if live > ALLOC_LIMIT {
        let _ = OVER.compare_exchange(0, live, SeqCst, SeqCst);
    }
}

/// A single request over the bound may be refused by the system (an abort follows): the
/// input is saved first.
fn huge(size: usize) {
    if size > ALLOC_LIMIT && !SAVING.swap(true, SeqCst) {
        report(&format!("a single allocation of {size} bytes"));
        SAVING.store(false, SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        huge(l.size());
        let p = System.alloc(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        huge(l.size());
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size(), SeqCst);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        huge(new);
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                LIVE.fetch_sub(l.size() - new, SeqCst);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The input being run, for the watchdog and the reports.
struct Current {
    target: &'static str,
    seed: u64,
    data: Vec<u8>,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);
/// When the current input started (ns since `epoch()`; 0: none running).
static STARTED: AtomicU64 = AtomicU64::new(0);
/// A panic happened somewhere in the process (a server thread too) during the input.
static PANICKED: AtomicBool = AtomicBool::new(false);
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64 + 1
}

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(target)
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Saves the current input as a regression case and prints how to reproduce it; returns
/// where it went.
fn report(why: &str) -> Option<PathBuf> {
    let deadline = Instant::now() + Duration::from_millis(200);
    let cur = loop {
        if let Ok(c) = CURRENT.try_lock() {
            break c;
        }
        if Instant::now() > deadline {
            eprintln!("fuzz: {why} (the input could not be read)");
            return None;
        }
        std::thread::yield_now();
    };
    let c = cur.as_ref()?;
    let path = corpus_dir(c.target).join(format!("crash-{:016x}", fnv(&c.data)));
    let _ = std::fs::create_dir_all(corpus_dir(c.target));
    let _ = std::fs::write(&path, &c.data);
    let shown = &c.data[..c.data.len().min(512)];
    eprintln!(
        "\nfuzz: target {} failed: {why}\n  input ({} bytes, saved as {}): {}{}\n  arbtest seed: 0x{:016x}\n  reproduce: TANDEM_FUZZ_TARGETS={} TANDEM_FUZZ_SEED=0x{:016x} cargo test --release --test fuzz -- --nocapture\n",
        c.target,
        c.data.len(),
        path.display(),
        hex(shown),
        if shown.len() < c.data.len() { "..." } else { "" },
        c.seed,
        c.target,
        c.seed
    );
    Some(path)
}

/// Fails the process when an input runs past the hang limit (it cannot be interrupted).
fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(50));
        let started = STARTED.load(SeqCst);
        if started != 0 && now_ns().saturating_sub(started) > limit.as_nanos() as u64 {
            report(&format!("an input ran longer than {limit:?} (hang)"));
            std::process::exit(3);
        }
    });
}

fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, SeqCst);
        if let Ok(mut last) = LAST_PANIC.try_lock() {
            *last = info.to_string();
        }
        default(info)
    }));
}

/// Runs one input of `t`; panics (after saving it) when it fails.
fn run_one(t: &Target, data: &[u8], seed: u64) {
    PANICKED.store(false, SeqCst);
    OVER.store(0, SeqCst);
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Current { target: t.name, seed, data: data.to_vec() });
    STARTED.store(now_ns(), SeqCst);
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| (t.run)(data)));
    STARTED.store(0, SeqCst);
    let why = match r {
        Err(p) => Some(p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()),
        Ok(()) if PANICKED.load(SeqCst) => Some(format!("a panic in another thread: {}", LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()))),
        Ok(()) if OVER.load(SeqCst) > 0 => Some(format!("{} bytes live, over the {ALLOC_LIMIT} bound", OVER.load(SeqCst))),
        Ok(()) => None,
    };
    if let Some(why) = why {
        let saved = report(&why);
        panic!("fuzz target {} failed: {why} (input saved as {saved:?})", t.name);
    }
}

/// Values an integer field is swapped for, in every width.
const BOUNDARIES: &[i64] = &[0, 1, -1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, i64::MAX, i64::MIN, 0x3f, 0x40, 0xc0];
const DECIMALS: &[&str] = &["0", "-1", "1", "9223372036854775807", "-9223372036854775808", "18446744073709551615", "4294967296", "2147483648", "99999999999999999999", "-0", "+5", "00"];

/// One input: a corpus file (or random bytes) with 0-8 mutations.
fn mutate(u: &mut Unstructured, corpus: &[Vec<u8>]) -> arbitrary::Result<Vec<u8>> {
    let mut data = if corpus.is_empty() || u.ratio(1, 32)? {
        let n = u.int_in_range(0..=64)?.min(u.len());
        u.bytes(n)?.to_vec()
    } else {
        corpus[u.choose_index(corpus.len())?].clone()
    };
    for _ in 0..u.int_in_range(0..=8)? {
        let len = data.len();
        let at = if len == 0 { 0 } else { u.choose_index(len)? };
        match u.int_in_range(0..=8)? {
            0 if len > 0 => data[at] ^= 1 << u.int_in_range(0..=7)?,
            1 if len > 0 => data[at] = u.arbitrary()?,
            2 => {
                let n = u.int_in_range(1..=16)?.min(u.len());
                let bytes = u.bytes(n)?.to_vec();
                data.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let n = u.int_in_range(1..=32usize)?.min(len - at);
                data.drain(at..at + n);
            }
            4 => data.truncate(at),
            5 if !corpus.is_empty() => {
                let other = &corpus[u.choose_index(corpus.len())?];
                if !other.is_empty() {
                    let from = u.choose_index(other.len())?;
                    let n = u.int_in_range(1..=256usize)?.min(other.len() - from);
                    let chunk = other[from..from + n].to_vec();
                    let end = if u.arbitrary()? { (at + n).min(len) } else { at };
                    data.splice(at..end, chunk);
                }
            }
            6 if len > 0 => {
                let v = *u.choose(BOUNDARIES)?;
                let width = *u.choose(&[1usize, 2, 4, 8])?;
                // The value's low `width` bytes, little- or big-endian.
                let (le, be) = (v.to_le_bytes(), v.to_be_bytes());
                let bytes = if u.arbitrary()? { &le[..width] } else { &be[8 - width..] };
                let end = (at + width).min(len);
                data.splice(at..end, bytes.iter().copied());
            }
            7 if len > 0 => {
                // A run of ASCII digits (or the spot) becomes a boundary in decimal.
                let start = data[..at].iter().rposition(|b| !b.is_ascii_digit() && *b != b'-').map_or(0, |i| i + 1);
                let end = at + data[at..].iter().position(|b| !b.is_ascii_digit()).unwrap_or(len - at);
                let d = u.choose(DECIMALS)?.as_bytes().to_vec();
                data.splice(start..end.max(start), d);
            }
            8 if len > 0 => {
                let n = u.int_in_range(1..=64usize)?.min(len - at);
                let chunk = data[at..at + n].to_vec();
                let to = u.int_in_range(0..=len)?;
                data.splice(to..to, chunk);
            }
            _ => {}
        }
    }
    data.truncate(1 << 20);
    Ok(data)
}

/// The input an arbtest seed stands for.
fn input(u: &mut Unstructured, t: &Target, corpus: &[Vec<u8>]) -> arbitrary::Result<Vec<u8>> {
    let mut data = if t.structured && u.ratio(3, 4)? { u.bytes(u.len())?.to_vec() } else { mutate(u, corpus)? };
    if let Some(seal) = t.seal {
        if u.ratio(3, 4)? {
            seal(&mut data);
        }
    }
    Ok(data)
}

fn load_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir(target))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files.into_iter().filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), std::fs::read(&p).ok()?))).collect()
}

/// A 64-bit generator for the arbtest seeds (the low 32 bits are the buffer size).
fn next_seed(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let size = 32 + (*state >> 8) % 992;
    (*state & 0xffff_ffff_0000_0000) | size
}

/// Replays the corpus, then fuzzes for `budget`; returns the number of inputs run.
fn fuzz_target(t: &Target, budget: Duration, only_seed: Option<u64>) -> u64 {
    let files = load_corpus(t.name);
    let corpus: Vec<Vec<u8>> = files.iter().map(|f| f.1.clone()).collect();
    if let Some(init) = t.init {
        init();
    }
    let start = Instant::now();
    let mut count = 0u64;
    let one = |seed: u64| {
        arbtest::arbtest(|u| {
            // Short of raw data (rare): the seed stands for no input.
            if let Ok(data) = input(u, t, &corpus) {
                run_one(t, &data, seed);
            }
            Ok(())
        })
        .seed(seed)
        .run();
    };
    if let Some(seed) = only_seed {
        one(seed);
        count += 1;
    } else {
        for (_, data) in &files {
            run_one(t, data, 0);
            count += 1;
        }
        let mut state = std::collections::hash_map::RandomState::new().hash_one(t.name) | 1;
        while start.elapsed() < budget {
            one(next_seed(&mut state));
            count += 1;
        }
    }
    if let Some(finish) = t.finish {
        finish();
    }
    let secs = start.elapsed().as_secs_f64();
    println!("fuzz {:<13} {:>10} inputs {:>7.1} s {:>9.0}/s  corpus {}", t.name, count, secs, count as f64 / secs.max(1e-9), files.len());
    count
}

use std::hash::BuildHasher;

#[test]
fn fuzz() {
    let secs: f64 = std::env::var("TANDEM_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let hang_ms: u64 = std::env::var("TANDEM_FUZZ_HANG_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let only: Option<Vec<String>> = std::env::var("TANDEM_FUZZ_TARGETS").ok().map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let seed = std::env::var("TANDEM_FUZZ_SEED").ok().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok());
    println!();
    install_panic_hook();
    start_watchdog(Duration::from_millis(hang_ms));
    let mut total = 0;
    for t in TARGETS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == t.name)) {
            continue;
        }
        total += fuzz_target(t, Duration::from_secs_f64(secs), seed);
    }
    println!("fuzz total {total} inputs");
}
