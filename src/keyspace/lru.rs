//! Per-key access statistics for maxmemory's approximated LRU and LFU, as Redis 7.0 keeps
//! them in `robj.lru` (24 bits), packed into the one `u32` every key carries (see
//! [`Thin::clock`](super::thin::Thin::clock)):
//!
//! `[last access: 24 bits, unix seconds mod 2^24][LFU counter: 8 bits]`
//!
//! Redis keeps either an LRU clock (seconds) or LFU data (minutes + counter) depending on the
//! policy; here both live in the word: the LRU idle time is the age of the last access, and
//! the LFU counter decays by one per `lfu-decay-time` minutes since that same access, which
//! is what Redis's `LFUDecrAndReturn` computes from its access-minutes field. Under an LRU
//! policy the counter is left as it is; under an LFU policy it grows logarithmically
//! (`lfu-log-factor`), as Redis's `LFULogIncr`.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The LRU clock's range (24 bits, as Redis's `LRU_CLOCK_MAX`).
const CLOCK_MAX: u32 = (1 << 24) - 1;
/// Counter given to new keys (`LFU_INIT_VAL`), so they are not evicted before a chance to be
/// accessed.
pub const LFU_INIT_VAL: u32 = 5;

/// The current LRU clock (seconds mod 2^24), refreshed by the keyspace at every command;
/// read when a key is created.
static NOW: AtomicU32 = AtomicU32::new(0);

/// The LRU clock of `ms` (unix milliseconds).
#[inline]
pub fn clock_of(ms: i64) -> u32 {
    ((ms / 1000) as u64 & CLOCK_MAX as u64) as u32
}

/// Records the time (unix milliseconds) new keys are stamped with.
#[inline]
pub fn set_now(ms: i64) {
    let c = clock_of(ms);
    if NOW.load(Relaxed) != c {
        NOW.store(c, Relaxed);
    }
}

/// The access word of a key created now.
#[inline]
pub fn initial_word() -> u32 {
    let mut c = NOW.load(Relaxed);
    if c == 0 {
        c = clock_of(crate::util::now_ms());
    }
    c << 8 | LFU_INIT_VAL
}

/// Seconds since the access recorded in `word` (Redis's `estimateObjectIdleTime` / 1000,
/// wrapping as its 24-bit clock does).
pub fn idle_secs(word: u32, now_ms: i64) -> u64 {
    let now = clock_of(now_ms);
    let then = word >> 8;
    if now >= then {
        (now - then) as u64
    } else {
        (now + (CLOCK_MAX - then)) as u64
    }
}

/// The LFU counter of `word` decayed for the time since its last access (Redis's
/// `LFUDecrAndReturn`): one per `decay_time` minutes.
pub fn lfu_counter(word: u32, now_ms: i64, decay_time: u64) -> u32 {
    let counter = word & 0xff;
    if decay_time == 0 {
        return counter;
    }
    let periods = idle_secs(word, now_ms) / 60 / decay_time;
    counter.saturating_sub(periods.min(255) as u32)
}

/// How a lookup updates the word: `None` under non-LFU policies (time only), else the
/// LFU parameters.
#[derive(Clone, Copy)]
pub struct Lfu {
    pub log_factor: u64,
    pub decay_time: u64,
}

/// The word after an access at `now_ms` (Redis's `updateLFU` under an LFU policy; the
/// access time alone otherwise). `r` is a uniform random number in [0, 1).
pub fn touched(word: u32, now_ms: i64, lfu: Option<Lfu>, r: f64) -> u32 {
    let counter = match lfu {
        None => word & 0xff,
        Some(l) => log_incr(lfu_counter(word, now_ms, l.decay_time), l.log_factor, r),
    };
    clock_of(now_ms) << 8 | counter
}

/// Redis's `LFULogIncr`: the higher the counter, the less likely an access increments it.
fn log_incr(counter: u32, log_factor: u64, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// A word idle for `idle_secs` (for RESTORE ... IDLETIME, an RDB's idle opcode).
pub fn with_idle(idle_secs: u64, now_ms: i64) -> u32 {
    let now = clock_of(now_ms) as u64;
    let then = (now + CLOCK_MAX as u64 + 1 - idle_secs % (CLOCK_MAX as u64 + 1)) & CLOCK_MAX as u64;
    (then as u32) << 8 | LFU_INIT_VAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_and_decay() {
        let now = 1_700_000_000_000i64;
        let w = clock_of(now - 125_000) << 8 | 10;
        assert_eq!(idle_secs(w, now), 125);
        assert_eq!(lfu_counter(w, now, 1), 8);
        assert_eq!(lfu_counter(w, now, 0), 10);
        assert_eq!(idle_secs(with_idle(1000, now), now), 1000);
        // The 24-bit clock wraps.
        let old = (CLOCK_MAX - 5) << 8;
        let wrapped_now = ((now / 1000) as u64 / (CLOCK_MAX as u64 + 1) * (CLOCK_MAX as u64 + 1) + 10) as i64 * 1000;
        assert_eq!(idle_secs(old, wrapped_now), 15);
    }

    #[test]
    fn log_increment() {
        let now = 1_700_000_000_000i64;
        let lfu = Some(Lfu { log_factor: 10, decay_time: 1 });
        let w = touched(clock_of(now) << 8 | LFU_INIT_VAL, now, lfu, 0.0);
        assert_eq!(w & 0xff, 6);
        assert_eq!(touched(w, now, lfu, 0.99) & 0xff, 6);
        assert_eq!(touched(clock_of(now) << 8 | 255, now, lfu, 0.0) & 0xff, 255);
        assert_eq!(touched(w, now, None, 0.0) & 0xff, 6);
    }
}
