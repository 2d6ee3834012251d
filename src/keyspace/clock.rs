//! The keyspace's clock: each command's start time (for expiry) and duration (for
//! `INFO commandstats`) with one clock read per command instead of three.
//!
//! Within a batch (one `Exec` or one chunk of the master's stream) a command starts when the
//! previous one ended, and wall-clock milliseconds come from the monotonic clock against a
//! base the cron re-reads from the system clock every tick (so clock adjustments are
//! followed within one tick).
//!
//! Reads are the processor's time-stamp counter where it is invariant (x86-64 with the
//! invariant-TSC flag, as Redis's `USE_PROCESSOR_CLOCK` build): a few cycles instead of a
//! `clock_gettime`, which was 3% of a pipelined GET. The tick length is measured once per
//! process and re-measured against the monotonic clock at every resync, so an error in it
//! lasts one cron period. Elsewhere ticks are nanoseconds of `Instant`.
//!
//! Conversions are integer: nanoseconds per tick as a 32.32 fixed-point factor (one
//! multiply), and the millisecond of the last conversion is kept with the range of ticks
//! it covers, so a pipelined batch converts once per millisecond, not once per command.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A reading of the keyspace clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tick(u64);

pub struct Clock {
    /// Monotonic and wall-clock time at `base_tick`.
    base: Instant,
    base_us: i64,
    base_tick: u64,
    /// Nanoseconds per tick, 32.32 fixed point.
    ns_per_tick: u64,
    /// End of the previous command of the batch being run.
    mark: Option<Tick>,
    /// The last `ms_at` answer and the ticks `[from, until)` it holds for.
    ms_cache: Cell<MsCache>,
}

#[derive(Clone, Copy, Default)]
struct MsCache {
    from: u64,
    until: u64,
    ms: i64,
}

/// `ns_per_tick` as 32.32 fixed point.
fn fixed(ns_per_tick: f64) -> u64 {
    (ns_per_tick * (1u64 << 32) as f64) as u64
}

impl Default for Clock {
    fn default() -> Self {
        let ns_per_tick = fixed(source().ns_per_tick);
        Clock {
            base: Instant::now(),
            base_us: crate::util::now_us(),
            base_tick: read().0,
            ns_per_tick,
            mark: None,
            ms_cache: Cell::new(MsCache::default()),
        }
    }
}

impl Clock {
    /// Re-reads the system clock, and re-measures the tick against the monotonic clock.
    pub fn resync(&mut self) {
        let now = Instant::now();
        let tick = read().0;
        let elapsed = now.saturating_duration_since(self.base);
        if source().tsc && elapsed >= Duration::from_millis(10) && tick > self.base_tick {
            self.ns_per_tick = fixed(elapsed.as_nanos() as f64 / (tick - self.base_tick) as f64).max(1);
        }
        self.base = now;
        self.base_tick = tick;
        self.base_us = crate::util::now_us();
        self.ms_cache.set(MsCache::default());
    }

    /// Nanoseconds in `ticks`.
    fn ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.ns_per_tick as u128) >> 32) as u64
    }

    /// Ticks in `ns` nanoseconds, rounded down.
    fn ticks(&self, ns: u64) -> u64 {
        (((ns as u128) << 32) / self.ns_per_tick.max(1) as u128) as u64
    }

    /// Unix milliseconds at `t`.
    pub fn ms_at(&self, t: Tick) -> i64 {
        let c = self.ms_cache.get();
        if (c.from..c.until).contains(&t.0) {
            return c.ms;
        }
        let us = if t.0 >= self.base_tick {
            self.base_us + (self.ns(t.0 - self.base_tick) / 1000) as i64
        } else {
            self.base_us - (self.ns(self.base_tick - t.0) / 1000) as i64
        };
        let ms = us.div_euclid(1000);
        // Until the next millisecond starts (less a microsecond for the rounding).
        let left_us = ((ms + 1) * 1000 - us - 1).max(0) as u64;
        self.ms_cache.set(MsCache { from: t.0, until: t.0.saturating_add(self.ticks(left_us * 1000)), ms });
        ms
    }

    /// Nanoseconds from `start` to `end`.
    pub fn nanos(&self, start: Tick, end: Tick) -> u64 {
        self.ns(end.0.saturating_sub(start.0))
    }

    /// Microseconds from `start` to `end`.
    pub fn micros(&self, start: Tick, end: Tick) -> u64 {
        self.nanos(start, end) / 1000
    }

    pub fn begin_batch(&mut self) {
        self.mark = Some(read());
    }

    pub fn end_batch(&mut self) {
        self.mark = None;
    }

    /// When the next command starts.
    pub fn start(&self) -> Tick {
        self.mark.unwrap_or_else(read)
    }

    /// A command ended: now, which is also when the next one of the batch starts.
    pub fn finish(&mut self) -> Tick {
        let end = read();
        if self.mark.is_some() {
            self.mark = Some(end);
        }
        end
    }
}

/// What the clock reads, decided once per process.
struct Source {
    tsc: bool,
    ns_per_tick: f64,
}

fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        if !invariant_tsc() {
            return Source { tsc: false, ns_per_tick: 1.0 };
        }
        // A first measure over 2 ms; each resync refines it.
        let (t0, c0) = (Instant::now(), rdtsc());
        while t0.elapsed() < Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        let (t1, c1) = (Instant::now(), rdtsc());
        match c1.checked_sub(c0) {
            Some(d) if d > 0 => Source { tsc: true, ns_per_tick: (t1 - t0).as_nanos() as f64 / d as f64 },
            _ => Source { tsc: false, ns_per_tick: 1.0 },
        }
    })
}

/// Time-stamp counter ticks per microsecond, when the clock reads the counter (INFO's
/// `monotonic_clock`, as Redis reports its processor clock).
pub fn tsc_ticks_per_us() -> Option<u64> {
    let s = source();
    s.tsc.then(|| (1000.0 / s.ns_per_tick).round() as u64)
}

fn read() -> Tick {
    if source().tsc {
        Tick(rdtsc())
    } else {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        Tick(ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64)
    }
}

#[cfg(target_arch = "x86_64")]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC exists on every x86-64 processor and only reads a counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn rdtsc() -> u64 {
    0
}

/// Whether the processor says its time-stamp counter runs at a constant rate in every
/// power state (CPUID 0x80000007, EDX bit 8).
#[cfg(target_arch = "x86_64")]
fn invariant_tsc() -> bool {
    use core::arch::x86_64::__cpuid;
    // CPUID exists on every x86-64 processor; leaves above the maximum are not read.
    __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

#[cfg(not(target_arch = "x86_64"))]
fn invariant_tsc() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_system_clock() {
        let mut c = Clock::default();
        let now = crate::util::now_ms();
        assert!((c.ms_at(c.start()) - now).abs() <= 1);
        std::thread::sleep(Duration::from_millis(20));
        let t = c.start();
        assert!((c.ms_at(t) - crate::util::now_ms()).abs() <= 1);
        c.begin_batch();
        let s = c.start();
        let e = c.finish();
        assert!(e >= s);
        assert_eq!(c.start(), e, "the next command of a batch starts at the previous end");
        c.end_batch();
        assert!(c.start() >= e);
        c.resync();
        assert!((c.ms_at(c.start()) - crate::util::now_ms()).abs() <= 1);
    }

    #[test]
    fn measures_durations() {
        let c = Clock::default();
        let s = c.start();
        std::thread::sleep(Duration::from_millis(30));
        let us = c.micros(s, c.start());
        assert!((29_000..60_000).contains(&us), "30 ms measured as {us} us");
    }

    #[test]
    fn cached_milliseconds_agree_with_the_system_clock() {
        let c = Clock::default();
        let mut last = 0;
        for _ in 0..200_000 {
            let before = crate::util::now_ms();
            let ms = c.ms_at(c.start());
            let after = crate::util::now_ms();
            assert!(ms >= last, "time went back: {ms} < {last}");
            last = ms;
            // The thread may be preempted anywhere in between: compare with both readings.
            assert!(before - 1 <= ms && ms <= after + 1, "{before} <= {ms} <= {after}");
        }
    }
}
