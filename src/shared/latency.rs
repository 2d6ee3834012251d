//! Latency figures (LATENCY): per-command latency histograms (`latency-tracking`) and the
//! latency monitor's events (`latency-monitor-threshold`): `command`, `fast-command`,
//! `expire-cycle`, each a series of the worst latency per second.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Buckets of a histogram: powers of two of nanoseconds from 1024 ns (about 1 us) up.
const BUCKETS: usize = 48;

/// A command's latency distribution: counts per power-of-two bucket of nanoseconds.
pub struct Histogram {
    counts: [AtomicU64; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
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
    }

    /// Records one call from any thread.
    pub fn record(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Relaxed);
    }

    pub fn reset(&self) {
        self.counts.iter().for_each(|c| c.store(0, Relaxed));
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
