//! The tandem binary: parse the command line like redis-server, set up logs, run the server.

use tandem::config::{Config, Startup};
use tandem::logging::ServerLog;

fn main() {
    tandem::set_allocated_probe(jemalloc_allocated);
    tandem::set_thread_alloc_probe(jemalloc_thread_totals);
    tandem::set_allocator_probes(tandem::AllocatorProbes { stats: jemalloc_stats, report: jemalloc_report, purge: jemalloc_purge });
    tandem::enable_save_children();
    let argv: Vec<String> = std::env::args().collect();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let cfg = match Config::startup(&argv, &mut std::io::stdin(), &env) {
        Ok(Startup::Version) => {
            println!(
                "Tandem server v={} (Redis 7.0.15 compatible) bits=64",
                env!("CARGO_PKG_VERSION")
            );
            return;
        }
        Ok(Startup::Help) => {
            println!("Usage: tandem [/path/to/tandem.conf] [options] [-]");
            println!("       tandem - (read config from stdin)");
            println!("       tandem -v or --version");
            println!("       tandem -h or --help");
            println!();
            println!("Examples:");
            println!("       tandem (run the server with default conf)");
            println!("       tandem config/tandem.conf");
            println!("       tandem --port 7777");
            println!("       tandem --port 7777 --replicaof 127.0.0.1 8888");
            println!("       tandem config/tandem.conf --loglevel verbose -");
            return;
        }
        Ok(Startup::Run(cfg)) => *cfg,
        Err(e) => {
            eprintln!("{}", e);
            std::process::exit(1);
        }
    };
    set_executor_threads(cfg.int("io-threads"));
    let log = match ServerLog::from_config(&cfg) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}", e);
            std::process::exit(1);
        }
    };
    let pid = std::process::id();
    tandem::warning!(log, "oO0OoO0OoO0Oo Tandem is starting oO0OoO0OoO0Oo");
    tandem::warning!(
        log,
        "Tandem version={}, Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid={}, just started",
        env!("CARGO_PKG_VERSION"),
        pid
    );
    if cfg.config_file().is_none() {
        tandem::warning!(log, "Warning: no config file specified, using the default config. In order to specify a config file use tandem /path/to/tandem.conf");
    } else {
        tandem::warning!(log, "Configuration loaded");
    }
    for w in &cfg.startup_warnings {
        tandem::warning!(log, "{}", w);
    }
    for d in cfg.no_effect_directives() {
        tandem::notice!(log, "Directive '{}' is accepted but has no effect in tandem", d);
    }
    log.set_role(if cfg.replicaof().is_some() { 'S' } else { 'M' });
    if let Some(pidfile) = cfg.pidfile() {
        let _ = std::fs::write(&pidfile, format!("{}\n", pid));
    }
    let pidfile = cfg.pidfile();
    // The arguments were read: their memory may now hold the process title.
    tandem::enable_proc_title();
    let signals = tandem::signals::listen();
    let server_log = log.clone();
    let result = tandem::block_on(async move {
        let handle = tandem::Server::start_with_log(cfg, server_log).await?;
        tandem::notice!(
            *handle.log(),
            "Tandem {} (Redis 7.0.15 compatible) 64 bit, standalone mode, port {}, PID: {}",
            env!("CARGO_PKG_VERSION"),
            handle.addr.port(),
            pid
        );
        tandem::warning!(*handle.log(), "Server initialized");
        handle.forward_signals(signals);
        if handle.load().await {
            tandem::notice!(*handle.log(), "Ready to accept connections");
        }
        // A fatal error was logged where it happened: the process only exits with 1.
        Ok::<bool, String>(handle.join().await.is_ok())
    });
    if let Some(p) = pidfile {
        let _ = std::fs::remove_file(p);
    }
    log.flush();
    match result {
        Ok(true) => std::process::exit(0),
        Ok(false) => std::process::exit(1),
        Err(e) => {
            tandem::warning!(log, "{}", e);
            log.flush();
            std::process::exit(1);
        }
    }
}

/// jemalloc, as Redis uses: size classes without per-allocation headers keep small keys and
/// values compact, and it fragments less under churn than the system allocator.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's count of allocated bytes (refreshed by advancing its stats epoch), less what
/// sits freed in the threads' caches (jemalloc counts those as allocated until a cache
/// flushes them; Redis's own counter does not, and maxmemory eviction must see a freed key).
fn jemalloc_allocated() -> Option<u64> {
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().ok()? as u64;
    // SAFETY: the name is NUL-terminated and names a size_t statistic (MALLCTL_ARENAS_ALL).
    let cached = unsafe { tikv_jemalloc_ctl::raw::read::<usize>(b"stats.arenas.4096.tcache_bytes\0") }.unwrap_or(0) as u64;
    Some(allocated.saturating_sub(cached))
}

/// The calling thread's running totals of bytes allocated and freed (jemalloc keeps them per
/// thread; reading them is two loads once the thread has its pointers).
fn jemalloc_thread_totals() -> Option<(u64, u64)> {
    use tikv_jemalloc_ctl::thread::{allocatedp, deallocatedp, ThreadLocal};
    thread_local! {
        static TOTALS: Option<(ThreadLocal<u64>, ThreadLocal<u64>)> =
            allocatedp::read().ok().zip(deallocatedp::read().ok());
    }
    TOTALS.with(|t| t.map(|(a, d)| (a.get(), d.get())))
}

/// jemalloc's allocated, active and resident bytes (MEMORY STATS, INFO memory).
fn jemalloc_stats() -> Option<tandem::AllocatorStats> {
    use tikv_jemalloc_ctl::stats;
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    Some(tandem::AllocatorStats {
        allocated: stats::allocated::read().ok()? as u64,
        active: stats::active::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
    })
}

/// jemalloc's statistics report (MEMORY MALLOC-STATS), as `malloc_stats_print` writes it.
fn jemalloc_report() -> Option<String> {
    unsafe extern "C" fn append(out: *mut std::ffi::c_void, text: *const std::ffi::c_char) {
        // SAFETY: `out` is the String passed below; jemalloc passes NUL-terminated text.
        let (out, text) = unsafe { (&mut *(out as *mut String), std::ffi::CStr::from_ptr(text)) };
        out.push_str(&text.to_string_lossy());
    }
    let mut report = String::new();
    // SAFETY: the callback only appends to `report`, which outlives the call.
    unsafe { tikv_jemalloc_sys::malloc_stats_print(Some(append), &mut report as *mut String as *mut std::ffi::c_void, std::ptr::null()) };
    Some(report)
}

/// Returns every arena's dirty pages to the system (MEMORY PURGE).
fn jemalloc_purge() -> bool {
    // SAFETY: "arena.<MALLCTL_ARENAS_ALL>.purge" reads and writes nothing (null pointers).
    unsafe { tikv_jemalloc_sys::mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0) == 0 }
}

/// `io-threads N` runs the server's tasks on N executor threads (Redis's meaning: N threads
/// doing network I/O, the default 1 being the main thread alone). One thread is fastest when
/// the clients share the machine: no task hops between threads, no futex wake-ups per
/// request. `ASYNC_STD_THREAD_COUNT`, when set, wins. Must run before the first task spawns,
/// while the process has a single thread.
fn set_executor_threads(n: i128) {
    const VAR: &str = "ASYNC_STD_THREAD_COUNT";
    if std::env::var_os(VAR).is_none() {
        std::env::set_var(VAR, n.clamp(1, 128).to_string());
    }
}
