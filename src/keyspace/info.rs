//! INFO: Redis's sections and field names, generated from the keyspace actor's view (its
//! own state, and what the other actors publish in `Shared`, such as the replication state).

use super::Keyspace;
use crate::shared::repl::MasterLinkState;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

const DEFAULT: &[&str] =
    &["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

/// Resident set size in bytes, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

static ALLOCATED: std::sync::OnceLock<fn() -> Option<u64>> = std::sync::OnceLock::new();

/// Lets the program tell the library how to read its allocator's allocated-bytes counter
/// (the tandem binary registers jemalloc's; an embedding application may register its own).
pub fn set_allocated_probe(probe: fn() -> Option<u64>) {
    let _ = ALLOCATED.set(probe);
}

static THREAD_ALLOC: std::sync::OnceLock<fn() -> Option<(u64, u64)>> = std::sync::OnceLock::new();

/// Lets the program tell the library how to read the calling thread's running totals of
/// bytes allocated and freed (the tandem binary registers jemalloc's): eviction then counts
/// what each deletion really freed, as Redis's counter does.
pub fn set_thread_alloc_probe(probe: fn() -> Option<(u64, u64)>) {
    let _ = THREAD_ALLOC.set(probe);
}

/// The calling thread's (allocated, freed) byte totals, when a probe is registered.
pub fn thread_alloc() -> Option<(u64, u64)> {
    THREAD_ALLOC.get().and_then(|p| p())
}

/// The machine's memory (INFO total_system_memory), from /proc/meminfo.
fn system_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = text.lines().find_map(|l| l.strip_prefix("MemTotal:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kb.unwrap_or(0) * 1024
}

/// Memory in use as Redis's `used_memory` counts it: bytes allocated, from the allocator when
/// a probe is registered, else the resident set size.
pub fn used_memory() -> u64 {
    ALLOCATED.get().and_then(|p| p()).unwrap_or_else(rss_bytes)
}

static CACHED_VALUE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static CACHED_AT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes the next [`used_memory_cached`] read the allocator (after an eviction).
pub fn forget_used_memory() {
    CACHED_AT_MS.store(0, Relaxed);
}

/// [`used_memory`] read at most once a millisecond (for the per-command maxmemory check).
pub fn used_memory_cached() -> u64 {
    use CACHED_AT_MS as AT_MS;
    use CACHED_VALUE as VALUE;
    let now = crate::util::now_ms() as u64;
    if AT_MS.load(Relaxed) != now {
        AT_MS.store(now, Relaxed);
        VALUE.store(used_memory(), Relaxed);
    }
    VALUE.load(Relaxed)
}

/// User and system CPU seconds of this process.
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", n / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Builds the INFO text for the requested sections (`[]` = default).
pub fn info(ks: &Keyspace, args: &[String]) -> String {
    let mut wanted: Vec<&str> = vec![];
    let args: Vec<String> = args.iter().map(|a| a.to_lowercase()).collect();
    if args.is_empty() || args.iter().any(|a| a == "default") {
        wanted.extend(DEFAULT);
    }
    if args.iter().any(|a| a == "all" || a == "everything") {
        wanted.extend(DEFAULT);
        wanted.extend(ALL_EXTRA);
    }
    for a in &args {
        if !["default", "all", "everything"].contains(&a.as_str()) && !wanted.contains(&a.as_str()) {
            wanted.push(a.as_str());
        }
    }
    let mut out = String::new();
    for s in DEFAULT.iter().chain(ALL_EXTRA) {
        if !wanted.contains(s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(ks, s, &mut out);
    }
    out
}

fn section(ks: &Keyspace, name: &str, o: &mut String) {
    let sh = &ks.shared;
    let st = &sh.stats;
    let cfg = sh.cfg();
    macro_rules! f {
        ($($arg:tt)*) => {{ let _ = write!(o, $($arg)*); o.push_str("\r\n"); }};
    }
    match name {
        "server" => {
            let up = sh.started.elapsed().as_secs();
            f!("# Server");
            f!("redis_version:7.0.15");
            f!("redis_git_sha1:00000000");
            f!("redis_git_dirty:0");
            f!("redis_build_id:0");
            f!("redis_mode:standalone");
            f!("os:{} {}", std::env::consts::OS, std::env::consts::ARCH);
            f!("arch_bits:64");
            match super::clock::tsc_ticks_per_us() {
                Some(t) => f!("monotonic_clock:X86 TSC @ {} ticks/us", t),
                None => f!("monotonic_clock:POSIX clock_gettime"),
            }
            f!("multiplexing_api:epoll");
            f!("atomicvar_api:c11-builtin");
            f!("gcc_version:0.0.0");
            f!("process_id:{}", std::process::id());
            f!("process_supervised:no");
            f!("run_id:{}", sh.run_id);
            f!("tcp_port:{}", sh.port());
            f!("server_time_usec:{}", crate::util::now_us());
            f!("uptime_in_seconds:{}", up);
            f!("uptime_in_days:{}", up / 86400);
            f!("hz:{}", cfg.hz());
            f!("configured_hz:{}", cfg.hz());
            f!("lru_clock:{}", (crate::util::now_ms() / 1000) & ((1 << 24) - 1));
            f!("executable:{}", sh.executable);
            f!("config_file:{}", sh.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default());
            f!("io_threads_active:0");
            f!("tandem_version:{}", env!("CARGO_PKG_VERSION"));
        }
        "clients" => {
            f!("# Clients");
            f!("connected_clients:{}", st.connected_clients.load(Relaxed));
            f!("cluster_connections:0");
            f!("maxclients:{}", cfg.maxclients());
            let (max_in, max_out) = super::cmd::clients::largest_buffers(sh);
            f!("client_recent_max_input_buffer:{}", max_in);
            f!("client_recent_max_output_buffer:{}", max_out);
            f!("blocked_clients:{}", st.blocked_clients.load(Relaxed));
            f!("tracking_clients:{}", ks.tracking.client_count());
            f!("clients_in_timeout_table:{}", ks.blocking.waiters.values().filter(|w| w.spec.deadline.is_some()).count());
        }
        "memory" => {
            f!("# Memory");
            let o = ks.memory_overhead();
            let used = o.total;
            let lua = ks.scripting.memory().max(31744) as u64;
            let functions = ks.scripting.libs.vm_memory().max(32768) as u64;
            let system = system_memory();
            f!("used_memory:{}", used);
            f!("used_memory_human:{}", human_bytes(used));
            f!("used_memory_rss:{}", o.rss);
            f!("used_memory_rss_human:{}", human_bytes(o.rss));
            f!("used_memory_peak:{}", o.peak);
            f!("used_memory_peak_human:{}", human_bytes(o.peak));
            f!("used_memory_peak_perc:{:.2}%", o.peak_perc);
            f!("used_memory_overhead:{}", o.overhead_total);
            f!("used_memory_startup:{}", o.startup);
            f!("used_memory_dataset:{}", o.dataset);
            f!("used_memory_dataset_perc:{:.2}%", o.dataset_perc);
            f!("allocator_allocated:{}", o.alloc.allocated);
            f!("allocator_active:{}", o.alloc.active);
            f!("allocator_resident:{}", o.alloc.resident);
            f!("total_system_memory:{}", system);
            f!("total_system_memory_human:{}", human_bytes(system));
            f!("used_memory_lua:{}", lua);
            f!("used_memory_vm_eval:{}", lua);
            f!("used_memory_lua_human:{}", human_bytes(lua));
            f!("used_memory_scripts_eval:{}", o.lua_caches);
            f!("number_of_cached_scripts:{}", ks.scripting.script_count());
            f!("number_of_functions:{}", ks.scripting.libs.function_count());
            f!("number_of_libraries:{}", ks.scripting.libs.library_count());
            f!("used_memory_vm_functions:{}", functions);
            f!("used_memory_vm_total:{}", functions + lua);
            f!("used_memory_vm_total_human:{}", human_bytes(functions + lua));
            f!("used_memory_functions:{}", o.functions_caches);
            f!("used_memory_scripts:{}", o.lua_caches + o.functions_caches);
            f!("used_memory_scripts_human:{}", human_bytes(o.lua_caches + o.functions_caches));
            f!("maxmemory:{}", cfg.maxmemory());
            f!("maxmemory_human:{}", human_bytes(cfg.maxmemory()));
            f!("maxmemory_policy:{}", cfg.maxmemory_policy());
            f!("allocator_frag_ratio:{:.2}", o.allocator_frag());
            f!("allocator_frag_bytes:{}", o.allocator_frag_bytes());
            f!("allocator_rss_ratio:{:.2}", o.allocator_rss());
            f!("allocator_rss_bytes:{}", o.allocator_rss_bytes());
            f!("rss_overhead_ratio:{:.2}", o.rss_extra());
            f!("rss_overhead_bytes:{}", o.rss_extra_bytes());
            f!("mem_fragmentation_ratio:{:.2}", o.total_frag());
            f!("mem_fragmentation_bytes:{}", o.total_frag_bytes());
            f!("mem_not_counted_for_evict:{}", super::evict::not_counted_memory(sh));
            f!("mem_replication_backlog:{}", o.repl_backlog);
            f!("mem_total_replication_buffers:{}", ks.feed.replication_buffer_bytes(sh));
            f!("mem_clients_slaves:{}", o.clients_slaves);
            f!("mem_clients_normal:{}", o.clients_normal);
            f!("mem_cluster_links:0");
            f!("mem_aof_buffer:{}", o.aof_buffer);
            f!("mem_allocator:jemalloc-5.3.0");
            f!("active_defrag_running:0");
            f!("lazyfree_pending_objects:{}", sh.stats.lazyfree_pending_objects.load(Relaxed));
            f!("lazyfreed_objects:{}", sh.stats.lazyfreed_objects.load(Relaxed));
        }
        "persistence" => {
            f!("# Persistence");
            let asynchronous = ks.persist.loading.as_ref().is_some_and(|l| l.sync == Some(crate::keyspace::persist::SyncLoad::Async));
            f!("loading:{}", (ks.persist.loading.is_some() && !asynchronous) as u8);
            f!("async_loading:{}", asynchronous as u8);
            let live = sh.save_progress.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let ((cow, peak), age, done) = live.as_ref().map_or(((0, 0), 0, 0), |p| (p.cow(), p.cow_age_secs(), p.keys()));
            let saving = ks.persist.bgsave_in_progress || ks.jobs.in_progress();
            let total = if saving { sh.save_keys_total.load(Relaxed) } else { 0 };
            f!("current_cow_peak:{}", peak);
            f!("current_cow_size:{}", cow);
            f!("current_cow_size_age:{}", age);
            f!("current_fork_perc:{:.2}", if total > 0 { done as f64 * 100.0 / total as f64 } else { 0.0 });
            f!("current_save_keys_processed:{}", done);
            f!("current_save_keys_total:{}", total);
            f!("rdb_changes_since_last_save:{}", ks.stats.dirty);
            f!("rdb_bgsave_in_progress:{}", (ks.persist.bgsave_in_progress || ks.jobs.in_progress()) as u8);
            f!("rdb_last_save_time:{}", sh.lastsave_unix.load(Relaxed));
            f!("rdb_last_bgsave_status:{}", if sh.hot.bgsave_failed.load(Relaxed) { "err" } else { "ok" });
            f!("rdb_last_bgsave_time_sec:{}", if ks.persist.saves > 0 { ks.persist.last_bgsave_secs } else { -1 });
            f!("rdb_current_bgsave_time_sec:{}", ks.persist.bgsave_started.map_or(-1, |t| t.elapsed().as_secs() as i64));
            f!("rdb_saves:{}", ks.persist.saves);
            f!("rdb_last_cow_size:{}", sh.stats.rdb_last_cow_size.load(Relaxed));
            f!("rdb_last_load_keys_expired:{}", ks.persist.load.keys_expired);
            f!("rdb_last_load_keys_loaded:{}", ks.persist.load.keys_loaded);
            ks.aof_info(&mut |l| f!("{}", l));
            f!("module_fork_in_progress:0");
            f!("module_fork_last_cow_size:0");
            ks.aof_info_on(&mut |l| f!("{}", l));
            if let Some(l) = &ks.persist.loading {
                let now = crate::util::now_ms() / 1000;
                let loaded = l.loaded.load(Relaxed);
                let perc = if l.total_bytes > 0 { loaded as f64 * 100.0 / l.total_bytes as f64 } else { 0.0 };
                let elapsed = (now - l.start_unix).max(0) as f64;
                let eta = if loaded > 0 { ((l.total_bytes.saturating_sub(loaded)) as f64 / (loaded as f64 / elapsed.max(1.0))) as i64 } else { 1 };
                f!("loading_start_time:{}", l.start_unix);
                f!("loading_total_bytes:{}", l.total_bytes);
                f!("loading_rdb_used_mem:0");
                f!("loading_loaded_bytes:{}", loaded);
                f!("loading_loaded_perc:{:.2}", perc);
                f!("loading_eta_seconds:{}", eta);
            }
        }
        "stats" => {
            f!("# Stats");
            f!("total_connections_received:{}", st.total_connections_received.load(Relaxed));
            f!("total_commands_processed:{}", st.total_commands_processed.load(Relaxed));
            f!("instantaneous_ops_per_sec:0");
            f!("total_net_input_bytes:{}", st.net_input_bytes.load(Relaxed));
            f!("total_net_output_bytes:{}", st.net_output_bytes.load(Relaxed));
            f!("total_net_repl_input_bytes:{}", st.net_repl_input_bytes.load(Relaxed));
            f!("total_net_repl_output_bytes:{}", st.net_repl_output_bytes.load(Relaxed));
            f!("instantaneous_input_kbps:0.00");
            f!("instantaneous_output_kbps:0.00");
            f!("instantaneous_input_repl_kbps:0.00");
            f!("instantaneous_output_repl_kbps:0.00");
            f!("rejected_connections:{}", st.rejected_connections.load(Relaxed));
            f!("sync_full:{}", ks.feed.stats.sync_full);
            f!("sync_partial_ok:{}", ks.feed.stats.sync_partial_ok);
            f!("sync_partial_err:{}", ks.feed.stats.sync_partial_err);
            f!("expired_keys:{}", ks.stats.expired_keys);
            f!("expired_stale_perc:{:.2}", ks.stats.expired_stale_perc * 100.0);
            f!("expired_time_cap_reached_count:{}", ks.stats.expired_time_cap_reached_count);
            f!("expire_cycle_cpu_milliseconds:0");
            f!("evicted_keys:{}", ks.stats.evicted_keys);
            f!("evicted_clients:{}", sh.stats.evicted_clients.load(Relaxed));
            f!("total_eviction_exceeded_time:0");
            f!("current_eviction_exceeded_time:0");
            f!("keyspace_hits:{}", ks.stats.keyspace_hits);
            f!("keyspace_misses:{}", ks.stats.keyspace_misses);
            f!("pubsub_channels:{}", ks.pubsub.channel_count());
            f!("pubsub_patterns:{}", ks.pubsub.pattern_count());
            f!("pubsubshard_channels:{}", ks.pubsub.shard_count());
            f!("latest_fork_usec:{}", sh.stats.latest_fork_usec.load(Relaxed));
            f!("total_forks:{}", sh.stats.total_forks.load(Relaxed));
            f!("migrate_cached_sockets:0");
            f!("slave_expires_tracked_keys:0");
            f!("active_defrag_hits:0");
            f!("active_defrag_misses:0");
            f!("active_defrag_key_hits:0");
            f!("active_defrag_key_misses:0");
            f!("total_active_defrag_time:0");
            f!("current_active_defrag_time:0");
            f!("tracking_total_keys:{}", ks.tracking.key_count());
            f!("tracking_total_items:{}", ks.tracking.item_count());
            f!("tracking_total_prefixes:{}", ks.tracking.prefix_count());
            f!("unexpected_error_replies:{}", st.unexpected_error_replies.load(Relaxed));
            f!("total_error_replies:{}", sh.errorstats.total.load(Relaxed));
            f!("dump_payload_sanitizations:0");
            f!("total_reads_processed:0");
            f!("total_writes_processed:0");
            f!("io_threaded_reads_processed:0");
            f!("io_threaded_writes_processed:0");
            f!("reply_buffer_shrinks:0");
            f!("reply_buffer_expands:0");
        }
        "replication" => {
            drop(cfg);
            f!("# Replication");
            replication(ks, o);
        }
        "cpu" => {
            let (u, s) = cpu_times();
            f!("# CPU");
            f!("used_cpu_sys:{:.6}", s);
            f!("used_cpu_user:{:.6}", u);
            f!("used_cpu_sys_children:0.000000");
            f!("used_cpu_user_children:0.000000");
            f!("used_cpu_sys_main_thread:{:.6}", s);
            f!("used_cpu_user_main_thread:{:.6}", u);
        }
        "modules" => f!("# Modules"),
        "errorstats" => {
            f!("# Errorstats");
            for line in sh.errorstats.info_lines() {
                f!("{}", line);
            }
        }
        "cluster" => {
            f!("# Cluster");
            f!("cluster_enabled:0");
        }
        "keyspace" => {
            f!("# Keyspace");
            for (i, db) in ks.dbs.iter().enumerate() {
                if !db.keys.is_empty() {
                    f!("db{}:keys={},expires={},avg_ttl=0", i, db.keys.len(), db.expires.len());
                }
            }
        }
        "commandstats" => {
            f!("# Commandstats");
            let subs = sorted_subs(sh);
            for c in super::cmd::table() {
                if let Some(line) = cmdstat_line(c.name, &sh.cmd_stats[c.index]) {
                    f!("{}", line);
                }
                for (name, s) in subs.iter().filter(|(n, _)| n.strip_prefix(c.name).is_some_and(|r| r.starts_with('|'))) {
                    if let Some(line) = cmdstat_line(name, s) {
                        f!("{}", line);
                    }
                }
            }
        }
        "latencystats" => {
            f!("# Latencystats");
            if sh.hot.latency_tracking.load(Relaxed) {
                let pcts = sh.cfg().latency_tracking_info_percentiles();
                let subs = sorted_subs(sh);
                for c in super::cmd::table() {
                    let h = &sh.cmd_stats[c.index].hist;
                    if h.calls() > 0 {
                        f!("{}", percentile_line(c.name, h, &pcts));
                    }
                    for (name, s) in subs.iter().filter(|(n, _)| n.strip_prefix(c.name).is_some_and(|r| r.starts_with('|'))) {
                        if s.hist.calls() > 0 {
                            f!("{}", percentile_line(name, &s.hist, &pcts));
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The subcommands' counters, by name.
fn sorted_subs(sh: &crate::shared::Shared) -> Vec<(String, std::sync::Arc<crate::shared::CmdStat>)> {
    let subs = sh.sub_stats.lock().unwrap_or_else(|e| e.into_inner());
    let mut v: Vec<_> = subs.iter().map(|(k, s)| (k.clone(), s.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A `cmdstat_<name>:...` line, for a command with any call, rejection or failure.
fn cmdstat_line(name: &str, s: &crate::shared::CmdStat) -> Option<String> {
    let calls = s.calls.load(Relaxed);
    let (rej, fail) = (s.rejected.load(Relaxed), s.failed.load(Relaxed));
    if calls == 0 && rej == 0 && fail == 0 {
        return None;
    }
    let usec = s.usec.load(Relaxed);
    let per = if calls > 0 { usec as f64 / calls as f64 } else { 0.0 };
    Some(format!("cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}", name, calls, usec, per, rej, fail))
}

/// `latency_percentiles_usec_<name>:p50=1.003,p99=...`: each configured percentile (printed
/// as `%f` with trailing zeros cut) in microseconds with three decimals.
fn percentile_line(name: &str, h: &crate::shared::latency::Histogram, pcts: &[f64]) -> String {
    let fields: Vec<String> = pcts
        .iter()
        .map(|&p| {
            let label = format!("{:.6}", p);
            let label = label.trim_end_matches('0').trim_end_matches('.');
            format!("p{}={:.3}", label, h.percentile(p) as f64 / 1000.0)
        })
        .collect();
    format!("latency_percentiles_usec_{}:{}", name, fields.join(","))
}

/// The INFO replication fields, in Redis's order.
fn replication(ks: &Keyspace, o: &mut String) {
    let sh = &ks.shared;
    let feed = &ks.feed;
    let link = sh.repl.link.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now = crate::util::now_ms();
    macro_rules! f {
        ($($arg:tt)*) => {{ let _ = write!(o, $($arg)*); o.push_str("\r\n"); }};
    }
    if let Some((host, port)) = &link.master {
        let up = link.state == MasterLinkState::Connected;
        f!("role:slave");
        f!("master_host:{}", host);
        f!("master_port:{}", port);
        f!("master_link_status:{}", if up { "up" } else { "down" });
        // Redis: `server.master ? unixtime - lastinteraction : -1` (no master client unless up).
        f!("master_last_io_seconds_ago:{}", if up && link.last_io_ms > 0 { (now - link.last_io_ms) / 1000 } else { -1 });
        let syncing = link.state == MasterLinkState::Transfer;
        f!("master_sync_in_progress:{}", syncing as u8);
        f!("slave_read_repl_offset:{}", link.read_offset.max(feed.offset));
        f!("slave_repl_offset:{}", feed.offset);
        if syncing {
            f!("master_sync_total_bytes:{}", link.sync_total);
            f!("master_sync_read_bytes:{}", link.sync_read);
            f!("master_sync_left_bytes:{}", link.sync_total - link.sync_read);
            let perc = if link.sync_total > 0 { link.sync_read as f64 * 100.0 / link.sync_total as f64 } else { 0.0 };
            f!("master_sync_perc:{:.2}", perc);
            f!("master_sync_last_io_seconds_ago:{}", (now - link.last_io_ms) / 1000);
        }
        if !up {
            f!("master_link_down_since_seconds:{}", if link.down_since_ms > 0 { (now - link.down_since_ms) / 1000 } else { -1 });
        }
        let cfg = sh.cfg();
        f!("slave_priority:{}", cfg.replica_priority());
        f!("slave_read_only:{}", cfg.replica_read_only() as u8);
        f!("replica_announced:{}", cfg.replica_announced() as u8);
    } else {
        f!("role:master");
    }
    let replicas = sh.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).clone();
    f!("connected_slaves:{}", replicas.len());
    let (min_to_write, max_lag) = {
        let c = sh.cfg();
        (c.min_replicas_to_write(), c.min_replicas_max_lag())
    };
    if min_to_write > 0 {
        f!("min_slaves_good_slaves:{}", sh.repl.good_replicas(max_lag));
    }
    for (i, r) in replicas.iter().enumerate() {
        // As Redis: the lag of a replica not yet online is 0 (it sends no ACKs before).
        let state = r.state().name();
        let lag = if state == "online" { (now - r.last_ack_ms.load(Relaxed)) / 1000 } else { 0 };
        let verified = r.verified.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match verified {
            // tandem-verify: the last judged digest, after Redis's fields.
            Some(v) => f!(
                "slave{}:ip={},port={},state={},offset={},lag={},digest_offset={},digest={}",
                i,
                r.ip,
                r.port.load(Relaxed),
                state,
                r.ack_offset.load(Relaxed),
                lag,
                v.offset,
                v.verdict.name()
            ),
            None => f!("slave{}:ip={},port={},state={},offset={},lag={}", i, r.ip, r.port.load(Relaxed), state, r.ack_offset.load(Relaxed), lag),
        }
    }
    f!("master_failover_state:{}", sh.repl.failover_state().name());
    f!("master_replid:{}", feed.replid);
    f!("master_replid2:{}", feed.replid2);
    f!("master_repl_offset:{}", feed.offset);
    f!("second_repl_offset:{}", feed.second_offset);
    f!("repl_backlog_active:{}", feed.active as u8);
    f!("repl_backlog_size:{}", sh.cfg().repl_backlog_size());
    f!("repl_backlog_first_byte_offset:{}", if feed.active { sh.repl.backlog_first.load(Relaxed) } else { 0 });
    f!("repl_backlog_histlen:{}", if feed.active { sh.repl.backlog_histlen.load(Relaxed) } else { 0 });
    // tandem's own, after Redis's fields, only where they have something to say.
    let v = &sh.repl.verify;
    if v.runs.load(Relaxed) + v.matches.load(Relaxed) + v.mismatches.load(Relaxed) > 0 {
        f!("repl_verify_period:{}", sh.cfg().int("repl-verify-period"));
        f!("repl_verify_rounds:{}", v.runs.load(Relaxed));
        f!("repl_verify_matches:{}", v.matches.load(Relaxed));
        f!("repl_verify_mismatches:{}", v.mismatches.load(Relaxed));
    }
    let t = &sh.repl.throttle;
    if sh.cfg().repl_backpressure() || t.episode.load(Relaxed) > 0 {
        f!("repl_backpressure:{}", if sh.cfg().repl_backpressure() { "yes" } else { "no" });
        f!("repl_backpressure_active:{}", t.on.load(Relaxed) as u8);
        f!("repl_backpressure_episodes:{}", t.episode.load(Relaxed));
        f!("repl_backpressure_throttled_ms:{}", t.throttled_ms());
        f!("repl_backpressure_delayed_replies:{}", t.delayed.load(Relaxed));
    }
}
