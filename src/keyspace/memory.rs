//! Memory accounting as Redis reports it: INFO memory's breakdown, MEMORY STATS, MEMORY
//! DOCTOR, MEMORY MALLOC-STATS and MEMORY PURGE (Redis's `getMemoryOverheadData`).
//!
//! The allocator's own figures (active and resident bytes, its statistics text, purging) come
//! from probes the program registers: the tandem binary registers jemalloc's; an application
//! embedding tandem with another allocator gets Redis's answers for a plain allocator.

use super::Keyspace;
use crate::shared::Shared;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

/// The allocator's totals: bytes handed out, in active pages, and resident.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllocatorStats {
    /// Bytes handed out to the program.
    pub allocated: u64,
    /// Bytes in the pages those allocations occupy.
    pub active: u64,
    /// Bytes of the allocator's memory resident in RAM.
    pub resident: u64,
}

/// What the program can tell about its allocator.
#[derive(Clone, Copy)]
pub struct AllocatorProbes {
    /// The allocator's totals.
    pub stats: fn() -> Option<AllocatorStats>,
    /// The allocator's statistics report (MEMORY MALLOC-STATS).
    pub report: fn() -> Option<String>,
    /// Returns dirty pages to the system (MEMORY PURGE); false on failure.
    pub purge: fn() -> bool,
}

static PROBES: OnceLock<AllocatorProbes> = OnceLock::new();

/// Registers the allocator probes (once per process).
pub fn set_allocator_probes(p: AllocatorProbes) {
    let _ = PROBES.set(p);
}

fn allocator_stats(used: u64, rss: u64) -> AllocatorStats {
    PROBES.get().and_then(|p| (p.stats)()).unwrap_or(AllocatorStats { allocated: used, active: used, resident: rss })
}

/// Records the memory in use toward the peak (the cron calls it; INFO does too).
pub fn note_usage(shared: &Shared, used: u64) {
    shared.stats.peak_memory.fetch_max(used, Relaxed);
}

/// Redis's `redisMemOverhead`: where the memory goes.
#[derive(Debug, Default)]
pub struct Overhead {
    pub total: u64,
    pub peak: u64,
    pub startup: u64,
    pub rss: u64,
    pub alloc: AllocatorStats,
    pub repl_backlog: u64,
    pub clients_slaves: u64,
    pub clients_normal: u64,
    pub aof_buffer: u64,
    pub lua_caches: u64,
    pub functions_caches: u64,
    /// (db, main table bytes, expires table bytes) of each non-empty database.
    pub dbs: Vec<(usize, u64, u64)>,
    pub overhead_total: u64,
    pub keys: u64,
    pub bytes_per_key: u64,
    pub dataset: u64,
    pub dataset_perc: f64,
    pub peak_perc: f64,
}

impl Overhead {
    pub fn total_frag(&self) -> f64 {
        ratio(self.rss, self.total)
    }
    pub fn total_frag_bytes(&self) -> i64 {
        self.rss as i64 - self.total as i64
    }
    pub fn allocator_frag(&self) -> f64 {
        ratio(self.alloc.active, self.alloc.allocated)
    }
    pub fn allocator_frag_bytes(&self) -> i64 {
        self.alloc.active as i64 - self.alloc.allocated as i64
    }
    pub fn allocator_rss(&self) -> f64 {
        ratio(self.alloc.resident, self.alloc.active)
    }
    pub fn allocator_rss_bytes(&self) -> i64 {
        self.alloc.resident as i64 - self.alloc.active as i64
    }
    pub fn rss_extra(&self) -> f64 {
        ratio(self.rss, self.alloc.resident)
    }
    pub fn rss_extra_bytes(&self) -> i64 {
        self.rss as i64 - self.alloc.resident as i64
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Bytes of a Redis dict with `len` entries in `slots` buckets (24-byte entries, 8-byte
/// bucket pointers), and the object headers of its values when `objects`.
fn dict_bytes(len: u64, slots: u64, objects: bool) -> u64 {
    len * 24 + slots * 8 + if objects { len * 16 } else { 0 }
}

impl Keyspace {
    /// The memory breakdown now.
    pub fn memory_overhead(&self) -> Overhead {
        let sh = &self.shared;
        let total = super::info::used_memory();
        note_usage(sh, total);
        let rss = super::info::rss_bytes();
        let mut o = Overhead {
            total,
            peak: sh.stats.peak_memory.load(Relaxed).max(total),
            startup: sh.stats.startup_memory.load(Relaxed),
            rss,
            alloc: allocator_stats(total, rss),
            ..Default::default()
        };
        // Backlog and replicas share one buffer: what exceeds repl-backlog-size is the
        // replicas' (while there are some), as Redis splits it.
        let buffer = sh.repl.buffer_mem.load(Relaxed);
        let backlog_size = sh.cfg().repl_backlog_size();
        let replicas = sh.repl.replicas.lock().map(|r| r.len()).unwrap_or(0);
        if replicas > 0 && buffer > backlog_size {
            o.clients_slaves = buffer - backlog_size;
            o.repl_backlog = backlog_size;
        } else {
            o.repl_backlog = buffer;
        }
        o.clients_normal = super::cmd::clients::buffer_memory(sh).0;
        o.aof_buffer = self.aof_buffer_len() as u64;
        o.lua_caches = self.scripting.scripts_bytes() as u64;
        o.functions_caches = self.scripting.libs.memory_overhead() as u64;
        let mut sum = o.startup + o.repl_backlog + o.clients_slaves + o.clients_normal + o.aof_buffer + o.lua_caches + o.functions_caches;
        for (i, db) in self.dbs.iter().enumerate() {
            let len = db.keys.len() as u64;
            if len == 0 {
                continue;
            }
            o.keys += len;
            let expires = db.expires.len() as u64;
            let main = dict_bytes(len, db.ht_size.max(len.next_power_of_two()), true);
            let exp = dict_bytes(expires, if expires == 0 { 0 } else { expires.next_power_of_two().max(4) }, false);
            sum += main + exp;
            o.dbs.push((i, main, exp));
        }
        o.overhead_total = sum;
        o.dataset = total.saturating_sub(sum);
        o.peak_perc = total as f64 * 100.0 / o.peak.max(1) as f64;
        let net = if total > o.startup { total - o.startup } else { 1 };
        o.dataset_perc = o.dataset as f64 * 100.0 / net as f64;
        o.bytes_per_key = if o.keys > 0 { net / o.keys } else { 0 };
        o
    }

    /// MEMORY DOCTOR's report (Redis's checks and words).
    pub fn memory_doctor(&self) -> String {
        let o = self.memory_overhead();
        let sh = &self.shared;
        let mut issues: Vec<&str> = Vec::new();
        let empty = o.total < 5 * 1024 * 1024;
        if !empty {
            if o.peak as f64 / o.total.max(1) as f64 > 1.5 {
                issues.push(PEAK);
            }
            if o.total_frag() > 1.4 && o.total_frag_bytes() > 10 << 20 {
                issues.push(HIGH_FRAG);
            }
            if o.allocator_frag() > 1.1 && o.allocator_frag_bytes() > 10 << 20 {
                issues.push(ALLOC_FRAG);
            }
            if o.allocator_rss() > 1.1 && o.allocator_rss_bytes() > 10 << 20 {
                issues.push(ALLOC_RSS);
            }
            if o.rss_extra() > 1.1 && o.rss_extra_bytes() > 10 << 20 {
                issues.push(PROC_RSS);
            }
            let replicas = sh.repl.replicas.lock().map(|r| r.len()).unwrap_or(0) as u64;
            let clients = sh.clients.lock().map(|c| c.len()).unwrap_or(0) as u64;
            let normal = clients.saturating_sub(replicas).max(1);
            if replicas > 0 && o.clients_slaves > 10 << 20 {
                issues.push(SLAVE_BUF);
            }
            if o.clients_normal / normal > 200 * 1024 {
                issues.push(CLIENT_BUF);
            }
            if self.scripting.script_count() > 1000 {
                issues.push(SCRIPTS);
            }
        }
        if empty {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
        }
        if issues.is_empty() {
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
        }
        let mut s = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
        for i in issues {
            s.push_str(i);
            s.push_str("\n\n");
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    }
}

/// MEMORY MALLOC-STATS: the allocator's report.
pub fn malloc_stats() -> String {
    PROBES.get().and_then(|p| (p.report)()).unwrap_or_else(|| "Stats not supported for the current allocator".into())
}

/// MEMORY PURGE: false when the allocator failed to purge.
pub fn purge() -> bool {
    PROBES.get().is_none_or(|p| (p.purge)())
}

const PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.";
const HIGH_FRAG: &str = " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"jemalloc-5.3.0\".";
const ALLOC_FRAG: &str = " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.";
const ALLOC_RSS: &str = " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.";
const PROC_RSS: &str = " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.";
const SLAVE_BUF: &str = " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.";
const CLIENT_BUF: &str = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.";
const SCRIPTS: &str = " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.";
