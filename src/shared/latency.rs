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

/// What LATENCY DOCTOR's report depends on besides the events.
pub struct DoctorContext {
    /// `latency-monitor-threshold` in ms.
    pub threshold_ms: u64,
    /// `slowlog-log-slower-than` in µs (negative: the slow log is off).
    pub slowlog_slower_than_us: i64,
    pub hz: u64,
    /// `appendfsync always` is set.
    pub fsync_always: bool,
    /// The last fork's rate in GB/s.
    pub fork_rate: f64,
    /// Bytes of transparent huge pages the process uses.
    pub anon_huge_pages: u64,
}

/// An event's statistics over its samples (Redis's `analyzeLatencyForEvent`).
struct EventStats {
    samples: u64,
    avg: u64,
    mad: u64,
    /// Seconds from the oldest sample to now (at least 1).
    period: i64,
}

fn event_stats(s: &Series, now_secs: i64) -> EventStats {
    let n = s.samples.len() as u64;
    if n == 0 {
        return EventStats { samples: 0, avg: 0, mad: 0, period: 0 };
    }
    let sum: u64 = s.samples.iter().map(|&(_, v)| v).sum();
    let avg = sum / n;
    let oldest = s.samples.iter().map(|&(t, _)| t).min().unwrap_or(now_secs);
    let period = (now_secs - oldest).max(1);
    let mad = s.samples.iter().map(|&(_, v)| (avg as i64 - v as i64).unsigned_abs()).sum::<u64>() / n;
    EventStats { samples: n, avg, mad, period }
}

/// Advice LATENCY DOCTOR can give, in the order it lists them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Advice {
    BetterVm,
    SlowlogEnable,
    SlowlogTuning,
    SlowlogInspect,
    Scheduler,
    LocalDisk,
    Ssd,
    DataWriteback,
    DiskContention,
    NoAppendfsync,
    RelaxFsync,
    WriteLoadInfo,
    Hz,
    LargeObjects,
    MassEviction,
    DisableThp,
}

impl Monitor {
    /// LATENCY DOCTOR: Redis's report (each event's statistics and comment, then the advice
    /// the events call for).
    pub fn doctor(&self, cx: &DoctorContext, now_secs: i64) -> String {
        if self.events.is_empty() && cx.threshold_ms == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
        }
        let mut report = String::new();
        let mut advice: Vec<Advice> = Vec::new();
        let mut count = 0;
        let sorted: BTreeMap<&String, &Series> = self.events.iter().collect();
        for (event, series) in sorted {
            count += 1;
            if count == 1 {
                report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            }
            let st = event_stats(series, now_secs);
            report.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                count, event, st.samples, st.avg, st.mad, st.period as f64 / st.samples.max(1) as f64, series.max
            ));
            match event.as_str() {
                "fork" => {
                    let quality = match cx.fork_rate {
                        r if r < 10.0 => "terrible",
                        r if r < 25.0 => "poor",
                        r if r < 100.0 => "good",
                        _ => "excellent",
                    };
                    if cx.fork_rate < 25.0 {
                        advice.push(Advice::BetterVm);
                    }
                    report.push_str(&format!(" Fork rate is {:.2} GB/sec ({}).", cx.fork_rate, quality));
                }
                "command" => {
                    if cx.slowlog_slower_than_us < 0 {
                        advice.push(Advice::SlowlogEnable);
                    } else if (cx.slowlog_slower_than_us / 1000) as u64 > cx.threshold_ms {
                        advice.push(Advice::SlowlogTuning);
                    }
                    advice.extend([Advice::SlowlogInspect, Advice::LargeObjects]);
                }
                "fast-command" => advice.push(Advice::Scheduler),
                "aof-write-pending-fsync" => advice.extend([Advice::LocalDisk, Advice::DiskContention, Advice::Ssd, Advice::DataWriteback]),
                "aof-write-active-child" => advice.extend([Advice::NoAppendfsync, Advice::DataWriteback, Advice::Ssd]),
                "aof-write-alone" => advice.extend([Advice::LocalDisk, Advice::DataWriteback, Advice::Ssd]),
                "aof-fsync-always" => advice.push(Advice::RelaxFsync),
                "aof-fstat" | "rdb-unlink-temp-file" => advice.extend([Advice::DiskContention, Advice::LocalDisk]),
                "aof-rewrite-diff-write" | "aof-rename" => advice.extend([Advice::WriteLoadInfo, Advice::DataWriteback, Advice::Ssd, Advice::LocalDisk]),
                "expire-cycle" => advice.extend([Advice::Hz, Advice::LargeObjects]),
                "eviction-del" => advice.push(Advice::LargeObjects),
                "eviction-cycle" => advice.push(Advice::MassEviction),
                _ => {}
            }
            report.push('\n');
        }
        if cx.anon_huge_pages > 0 {
            advice.push(Advice::DisableThp);
        }
        if count == 0 && advice.is_empty() {
            report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
            return report;
        }
        if advice.is_empty() {
            report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
            return report;
        }
        advice.sort();
        advice.dedup();
        report.push_str("\nI have a few advices for you:\n\n");
        for a in advice {
            report.push_str(&advice_text(a, cx));
        }
        report
    }
}

/// One piece of LATENCY DOCTOR's advice, as Redis words it ("" when the setting it is about
/// is already right).
fn advice_text(a: Advice, cx: &DoctorContext) -> String {
    let slowlog_us = cx.threshold_ms * 1000;
    match a {
        Advice::BetterVm => "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n".into(),
        Advice::SlowlogEnable => format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {slowlog_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"),
        Advice::SlowlogTuning => format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {slowlog_us}'.\n"),
        Advice::SlowlogInspect => "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n".into(),
        Advice::Scheduler => concat!(
            "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n",
            "  1) Lower the system load.\n",
            "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n",
            "  3) Check if you have a \"noisy neighbour\" problem.\n",
            "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n",
            "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n"
        ).into(),
        Advice::LocalDisk => "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n".into(),
        Advice::Ssd => "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n".into(),
        Advice::DataWriteback => "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n".into(),
        Advice::DiskContention => "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n".into(),
        Advice::NoAppendfsync => "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n".into(),
        Advice::RelaxFsync if cx.fsync_always => "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n".into(),
        Advice::WriteLoadInfo => "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n".into(),
        Advice::Hz if cx.hz < 100 => "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n".into(),
        Advice::LargeObjects => "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n".into(),
        Advice::MassEviction => "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n".into(),
        Advice::DisableThp => "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n".into(),
        Advice::RelaxFsync | Advice::Hz => String::new(),
    }
}

/// Bytes of transparent huge pages this process uses (`AnonHugePages` in
/// /proc/self/smaps_rollup).
pub fn anon_huge_pages() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let kb = text.lines().find_map(|l| l.strip_prefix("AnonHugePages:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kb.unwrap_or(0) * 1024
}
