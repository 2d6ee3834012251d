//! The keyspace's clock: each command's start time (for expiry) and duration (for
//! `INFO commandstats`) with one clock read per command instead of three.
//!
//! Within a batch (one `Exec` or one chunk of the master's stream) a command starts when the
//! previous one ended, and wall-clock milliseconds come from the monotonic clock against a
//! base the cron re-reads from the system clock every tick (so clock adjustments are
//! followed within one tick).

use std::time::Instant;

pub struct Clock {
    base: Instant,
    base_us: i64,
    /// End of the previous command of the batch being run.
    mark: Option<Instant>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock { base: Instant::now(), base_us: crate::util::now_us(), mark: None }
    }
}

impl Clock {
    /// Re-reads the system clock.
    pub fn resync(&mut self) {
        self.base = Instant::now();
        self.base_us = crate::util::now_us();
    }

    /// Unix milliseconds at `t`.
    pub fn ms_at(&self, t: Instant) -> i64 {
        (self.base_us + t.saturating_duration_since(self.base).as_micros() as i64) / 1000
    }

    pub fn begin_batch(&mut self) {
        self.mark = Some(Instant::now());
    }

    pub fn end_batch(&mut self) {
        self.mark = None;
    }

    /// When the next command starts.
    pub fn start(&self) -> Instant {
        self.mark.unwrap_or_else(Instant::now)
    }

    /// A command ended: now, which is also when the next one of the batch starts.
    pub fn finish(&mut self) -> Instant {
        let end = Instant::now();
        if self.mark.is_some() {
            self.mark = Some(end);
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_system_clock() {
        let mut c = Clock::default();
        let now = crate::util::now_ms();
        assert!((c.ms_at(Instant::now()) - now).abs() <= 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
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
        assert!((c.ms_at(Instant::now()) - crate::util::now_ms()).abs() <= 1);
    }
}
