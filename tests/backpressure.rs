//! `repl-backpressure yes`: a replica that stalls (SIGSTOP/SIGCONT cycles) under a write rate
//! above what it takes is not dropped into a full sync (which would lag again: the full-sync
//! loop). The master holds write replies while the replica's unsent stream nears its
//! `client-output-buffer-limit replica`, and INFO reports the time it held them. The same
//! cycles against redis-server 7.0 as master (and against tandem without the policy) drop the
//! replica into more full syncs, which shows the scenario reaches the limit.
//!
//! `TANDEM_BACKPRESSURE_CYCLES` (default 2) sets the number of stop/continue cycles.

mod support;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// A soft limit of 2 MB (for 2 s) and a hard one of 4 MB; the backlog is 1 MB, so a replica
/// dropped at the limit cannot continue partially.
const LIMITS: &[&str] = &["--repl-backlog-size", "1mb", "--client-output-buffer-limit", "replica 4mb 2mb 2"];

fn cycles() -> usize {
    std::env::var("TANDEM_BACKPRESSURE_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(2)
}

/// What one run measured.
struct Run {
    full_syncs: i64,
    writes: u64,
    elapsed: Duration,
}

/// Writes 16 KiB values, 16 per pipeline, while `cycles` times the replica is stopped for
/// 3 s and continued for 1 s; returns the master's full syncs after the first, and the
/// writes acknowledged.
fn run_cycles(master: &Server, replica: &Server, cycles: usize) -> Run {
    replica.replicaof(master);
    wait_synced(master, &[replica]);
    let full_before: i64 = master.info_field("stats", "sync_full").parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let port = master.port;
    let writer = {
        let (stop, writes) = (stop.clone(), writes.clone());
        std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            // Held replies may take as long as a stop lasts.
            c.r.get_ref().set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let value = "x".repeat(16 * 1024);
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                let cmds: Vec<Vec<String>> = (0..16).map(|j| vec!["SET".into(), format!("k{}", (i * 16 + j) % 4096), value.clone()]).collect();
                c.pipeline(&cmds);
                writes.fetch_add(16, Relaxed);
                i += 1;
            }
        })
    };
    let t = Instant::now();
    let pid = replica.pid();
    let _resume = Resume(pid);
    for _ in 0..cycles {
        signal(pid, "STOP");
        std::thread::sleep(Duration::from_secs(3));
        signal(pid, "CONT");
        std::thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Relaxed);
    writer.join().unwrap();
    let elapsed = t.elapsed();
    wait_synced(master, &[replica]);
    assert_eq!(master.digest(), replica.digest(), "{} and {} hold the same data", master.name, replica.name);
    let full_after: i64 = master.info_field("stats", "sync_full").parse().unwrap();
    Run { full_syncs: full_after - full_before, writes: writes.load(Relaxed), elapsed }
}

#[test]
fn backpressure_avoids_the_full_sync_loop() {
    let n = cycles();
    let mut args = LIMITS.to_vec();
    args.extend(["--repl-backpressure", "yes"]);
    let m = Server::repl_tandem("bp-master", &args);
    let r = Server::repl_tandem("bp-replica", &[]);
    let run = run_cycles(&m, &r, n);
    let info = m.info("replication");
    let throttled: u64 = info["repl_backpressure_throttled_ms"].parse().unwrap();
    let episodes: u64 = info["repl_backpressure_episodes"].parse().unwrap();
    let delayed: u64 = info["repl_backpressure_delayed_replies"].parse().unwrap();
    eprintln!(
        "tandem + repl-backpressure: {} cycles, {} full syncs after the first, {} writes in {:?}, throttled {} ms in {} episodes, {} replies held",
        n, run.full_syncs, run.writes, run.elapsed, throttled, episodes, delayed
    );
    assert_eq!(run.full_syncs, 0, "no full sync after the first");
    assert_eq!(m.info_field("stats", "sync_partial_ok"), "0", "the link never dropped");
    assert!(episodes >= n as u64, "the throttle turned on in each stop: {}", episodes);
    assert!(throttled >= 1000 * n as u64, "throttled {} ms over {} stops of 3 s", throttled, n);
    assert!(delayed > 0);
    assert_eq!(info["repl_backpressure_active"], "0");
    assert!(m.log_text().contains("holding write replies (repl-backpressure)"));

    // Without the policy the same run drops the replica into full syncs, with tandem and
    // with redis-server as the master.
    let m2 = Server::repl_tandem("bp-off-master", LIMITS);
    let r2 = Server::repl_tandem("bp-off-replica", &[]);
    let off = run_cycles(&m2, &r2, n);
    eprintln!("tandem without the policy: {} full syncs after the first, {} writes in {:?}", off.full_syncs, off.writes, off.elapsed);
    assert!(off.full_syncs >= 1, "the scenario reaches the output buffer limit");
    assert!(!m2.info("replication").contains_key("repl_backpressure_active"), "the fields show only with the policy");
    if have_redis() {
        let m3 = Server::repl_redis("bp-redis-master", LIMITS);
        let r3 = Server::repl_tandem("bp-redis-replica", &[]);
        let redis = run_cycles(&m3, &r3, n);
        eprintln!("redis-server 7.0 master: {} full syncs after the first, {} writes in {:?}", redis.full_syncs, redis.writes, redis.elapsed);
        assert!(redis.full_syncs >= 1, "redis-server drops the stalled replica into a full sync");
    }
}
