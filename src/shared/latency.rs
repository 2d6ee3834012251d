//! Latency figures (LATENCY): per-command latency histograms (`latency-tracking`) and the
//! latency monitor's events (`latency-monitor-threshold`): `command`, `fast-command`,
//! `expire-cycle`, each a series of the worst latency per second.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

/// Buckets of a histogram: powers of two of nanoseconds from 1024 ns (about 1 us) up.
const BUCKETS: usize = 48;

/// A command's latency distribution: counts per power-of-two bucket of nanoseconds (LATENCY
/// HISTOGRAM), and finer counts for INFO latencystats' percentiles, made on first use.
pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
    fine: OnceLock<Box<[AtomicU64]>>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: std::array::from_fn(|_| AtomicU64::new(0)), fine: OnceLock::new() }
    }
}

/// Fine buckets: nanoseconds below 256 exactly, then 128 per power of two up to 2^31 ns
/// (under 1% wide, as Redis's two-significant-digit HDR histograms).
const EXACT: u64 = 256;
const SUB: u64 = 128;
const FINE_BUCKETS: usize = (EXACT + (31 - 8 + 1) * SUB) as usize;

fn fine_index(ns: u64) -> usize {
    let ns = ns.min((1 << 32) - 1);
    if ns < EXACT {
        return ns as usize;
    }
    let k = 63 - ns.leading_zeros() as u64;
    let sub = (ns >> (k - 7)) & (SUB - 1);
    (EXACT + (k - 8) * SUB + sub) as usize
}

/// The highest nanosecond value a fine bucket holds.
fn fine_highest(i: usize) -> u64 {
    let i = i as u64;
    if i < EXACT {
        return i;
    }
    let k = (i - EXACT) / SUB + 8;
    let sub = (i - EXACT) % SUB;
    ((SUB + sub) << (k - 7)) + (1 << (k - 7)) - 1
}

fn bucket(ns: u64) -> usize {
    if ns <= 1024 {
        return 0;
    }
    ((64 - ((ns - 1) >> 10).leading_zeros()) as usize).min(BUCKETS - 1)
}

impl Histogram {
    /// Records one call from its only writer (no locked add).
    pub fn record_single_writer(&self, ns: u64) {
        let c = &self.counts[bucket(ns)];
        c.store(c.load(Relaxed) + 1, Relaxed);
        let f = &self.fine()[fine_index(ns)];
        f.store(f.load(Relaxed) + 1, Relaxed);
    }

    /// Records one call from any thread.
    pub fn record(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Relaxed);
        self.fine()[fine_index(ns)].fetch_add(1, Relaxed);
    }

    fn fine(&self) -> &[AtomicU64] {
        self.fine.get_or_init(|| (0..FINE_BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }

    pub fn reset(&self) {
        self.counts.iter().for_each(|c| c.store(0, Relaxed));
        if let Some(f) = self.fine.get() {
            f.iter().for_each(|c| c.store(0, Relaxed));
        }
    }

    /// The latency in nanoseconds at or below which `p` percent of the calls ran (the
    /// highest value of the bucket that percentile falls in, as HDR histograms answer).
    pub fn percentile(&self, p: f64) -> u64 {
        let Some(fine) = self.fine.get() else { return 0 };
        let total: u64 = fine.iter().map(|c| c.load(Relaxed)).sum();
        if total == 0 {
            return 0;
        }
        let want = ((p.clamp(0.0, 100.0) / 100.0 * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in fine.iter().enumerate() {
            seen += c.load(Relaxed);
            if seen >= want {
                return fine_highest(i);
            }
        }
        fine_highest(FINE_BUCKETS - 1)
    }

    pub fn calls(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// (upper bound in microseconds, calls at or below it) for each bucket holding calls.
    pub fn cdf(&self) -> Vec<(u64, u64)> {
        let mut total = 0;
        let mut out = Vec::new();
        for (k, c) in self.counts.iter().enumerate() {
            let n = c.load(Relaxed);
            if n == 0 {
                continue;
            }
            total += n;
            out.push((((1024u64 << k) / 1000).max(1), total));
        }
        out
    }
}

/// Samples kept per event (Redis keeps 160).
const SAMPLES: usize = 160;

/// One event's history.
#[derive(Default, Clone)]
pub struct Series {
    /// (unix seconds, milliseconds), oldest first; one sample per second (the worst).
    pub samples: VecDeque<(i64, u64)>,
    /// The worst latency ever recorded.
    pub max: u64,
}

/// The latency monitor: events whose latency reached `latency-monitor-threshold`.
#[derive(Default)]
pub struct Monitor {
    events: HashMap<String, Series>,
}

impl Monitor {
    /// Adds a sample; a second sample in the same second keeps the worse one.
    pub fn add(&mut self, event: &str, ms: u64, now_secs: i64) {
        let s = self.events.entry(event.to_string()).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some((t, v)) if *t == now_secs => *v = (*v).max(ms),
            _ => {
                s.samples.push_back((now_secs, ms));
                if s.samples.len() > SAMPLES {
                    s.samples.pop_front();
                }
            }
        }
    }

    /// Each event: (name, time of the latest sample, its latency, the worst ever), by name.
    pub fn latest(&self) -> Vec<(String, i64, u64, u64)> {
        let sorted: BTreeMap<&String, &Series> = self.events.iter().collect();
        sorted.into_iter().filter_map(|(n, s)| s.samples.back().map(|&(t, v)| (n.clone(), t, v, s.max))).collect()
    }

    pub fn history(&self, event: &str) -> Vec<(i64, u64)> {
        self.events.get(event).map(|s| s.samples.iter().copied().collect()).unwrap_or_default()
    }

    pub fn series(&self, event: &str) -> Option<Series> {
        self.events.get(event).cloned()
    }

    /// Forgets the named events (all when empty); how many there were.
    pub fn reset(&mut self, names: &[String]) -> usize {
        if names.is_empty() {
            let n = self.events.len();
            self.events.clear();
            return n;
        }
        names.iter().filter(|n| self.events.remove(n.as_str()).is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fine_buckets_are_narrow_and_percentiles_land_in_them() {
        for ns in [0u64, 1, 255, 256, 257, 1000, 1003, 50_000_000, 123_456_789, 1 << 31] {
            let hi = fine_highest(fine_index(ns));
            assert!(hi >= ns && (hi - ns) as f64 <= ns as f64 / 100.0 + 1.0, "{ns} -> {hi}");
        }
        let h = Histogram::default();
        for ns in 1..=1000u64 {
            h.record(ns * 1000);
        }
        let p50 = h.percentile(50.0);
        assert!((500_000..=505_000).contains(&p50), "{p50}");
        let p999 = h.percentile(99.9);
        assert!((999_000..=1_008_000).contains(&p999), "{p999}");
    }


    #[test]
    fn histogram_buckets_and_monitor() {
        let h = Histogram::default();
        for ns in [500, 1024, 1025, 3000, 1_000_000] {
            h.record(ns);
        }
        assert_eq!(h.calls(), 5);
        assert_eq!(h.cdf(), vec![(1, 2), (2, 3), (4, 4), (1048, 5)]);
        let mut m = Monitor::default();
        m.add("command", 300, 10);
        m.add("command", 500, 10);
        m.add("command", 400, 11);
        assert_eq!(m.history("command"), vec![(10, 500), (11, 400)]);
        assert_eq!(m.latest(), vec![("command".to_string(), 11, 400, 500)]);
        assert_eq!(m.reset(&["nope".to_string()]), 0);
        assert_eq!(m.reset(&[]), 1);
    }
}
