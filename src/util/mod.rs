//! Small byte-level utilities: glob matching, number parsing/formatting, argument splitting.

pub mod fork;
pub mod geohash;
pub mod glob;
pub mod longdouble;
pub mod num;
pub mod proctitle;
pub mod sha256;
pub mod splitargs;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// `n` random lowercase hex characters (run IDs, replication IDs).
pub fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)])).collect()
}

/// A hint to bring the cache line at `p` in ahead of use; never faults (a prefetch of any
/// address is harmless), a no-op off x86-64.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unused_unsafe)]
    // SAFETY: a prefetch reads nothing architecturally visible and cannot fault; SSE is part
    // of the x86-64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// An I/O error as C's strerror words it (without Rust's "(os error N)"), as Redis's
/// messages quote it.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Runs the calling thread at the lowest CPU priority (nice 19) until dropped, then restores
/// its priority (on Linux a thread has its own nice value; pooled threads get theirs back).
pub struct LowPriority(Option<i32>);

impl LowPriority {
    pub fn new() -> LowPriority {
        // SAFETY: plain syscalls on the calling thread (`who` 0 is the caller on Linux).
        unsafe {
            *libc::__errno_location() = 0;
            let before = libc::getpriority(libc::PRIO_PROCESS, 0);
            if *libc::__errno_location() != 0 {
                return LowPriority(None);
            }
            if libc::setpriority(libc::PRIO_PROCESS, 0, 19) != 0 {
                return LowPriority(None);
            }
            LowPriority(Some(before))
        }
    }
}

impl Default for LowPriority {
    fn default() -> Self {
        LowPriority::new()
    }
}

impl Drop for LowPriority {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            // SAFETY: as above. Raising the priority back may need CAP_SYS_NICE; when it is
            // refused the pooled thread simply stays nice.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, 0, p);
            }
        }
    }
}
