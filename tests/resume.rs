//! Resumable full sync between two tandems: a transfer cut at 50% or 90% of the RDB resumes
//! from the byte the replica reached (the master kept the snapshot for
//! `repl-resume-window`; the replica kept what it parsed), so the master sends little more
//! than one RDB in total, and the replica ends with the master's data.
//!
//! `TANDEM_RESUME_KEYS` (default 200000) sets the dataset's size (the closing note's run
//! uses 1000000).

mod support;
use std::time::{Duration, Instant};
use support::*;

fn keys() -> u64 {
    std::env::var("TANDEM_RESUME_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000)
}

/// Cuts the link when the replica has read `cut` of the RDB; returns the master's bytes
/// sent to replicas over the RDB's size.
fn cut_and_resume(cut: f64) -> f64 {
    let n = keys();
    let m = Server::repl_tandem("resume-master", &["--repl-resume-window", "60"]);
    let mut mc = m.conn();
    mc.cmd(&["DEBUG", "POPULATE", &n.to_string(), "key", "100"]);
    assert_eq!(mc.raw(&["SAVE"]), "+OK\r\n");
    let rdb = std::fs::metadata(m.dir().join("dump.rdb")).unwrap().len() as f64;
    // The transfer is slowed (a microsecond's sleep for one key in five) so that it can be
    // cut where the test wants.
    assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "-5"]), "+OK\r\n");
    let r = Server::repl_tandem("resume-replica", &["--repl-resume-window", "60"]);
    r.replicaof(&m);
    let t = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let read: f64 = r.info("replication").get("master_sync_read_bytes").and_then(|v| v.parse().ok()).unwrap_or(0.0);
        if read >= cut * rdb {
            break;
        }
        assert!(Instant::now() < deadline, "the transfer never reached {}%", cut * 100.0);
        std::thread::sleep(Duration::from_millis(5));
    }
    r.conn().cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    // The rest goes at full speed (the resumed writer reads the setting as it is then).
    assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "+OK\r\n");
    wait_synced(&m, &[&r]);
    let took = t.elapsed();
    assert_eq!(m.digest(), r.digest());
    let sent: f64 = m.info_field("stats", "total_net_repl_output_bytes").parse().unwrap();
    let ratio = sent / rdb;
    eprintln!("{} keys, RDB {:.0} bytes, cut at {:.0}%: {:.0} bytes sent, {:.3} x the RDB, synced in {:?}", n, rdb, cut * 100.0, sent, ratio, took);
    assert!(r.log_text().contains("kept to resume"), "{}", r.log_text());
    assert!(m.log_text().contains("Resuming the full sync of replica"), "{}", m.log_text());
    assert_eq!(m.info_field("stats", "sync_full"), "1", "one full sync, resumed");
    ratio
}

#[test]
fn a_transfer_cut_at_half_resumes() {
    let ratio = cut_and_resume(0.5);
    assert!(ratio <= 1.1, "sent {:.3} x the RDB", ratio);
}

#[test]
fn a_transfer_cut_at_ninety_percent_resumes() {
    let ratio = cut_and_resume(0.9);
    assert!(ratio <= 1.1, "sent {:.3} x the RDB", ratio);
}

/// Without the window (`repl-resume-window 0` on the master, the default) a cut transfer
/// starts over, as in Redis.
#[test]
fn no_window_starts_over() {
    let m = Server::repl_tandem("resume-off-master", &["--rdb-key-save-delay", "-5", "--repl-resume-window", "0"]);
    let mut mc = m.conn();
    mc.cmd(&["DEBUG", "POPULATE", "100000", "key", "100"]);
    assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "0"]), "+OK\r\n");
    assert_eq!(mc.raw(&["SAVE"]), "+OK\r\n");
    let rdb = std::fs::metadata(m.dir().join("dump.rdb")).unwrap().len() as f64;
    assert_eq!(mc.raw(&["CONFIG", "SET", "rdb-key-save-delay", "-5"]), "+OK\r\n");
    let r = Server::repl_tandem("resume-off-replica", &["--repl-resume-window", "60"]);
    r.replicaof(&m);
    wait_for("half the RDB read", || r.info("replication").get("master_sync_read_bytes").and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) >= rdb / 2.0);
    r.conn().cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    wait_synced(&m, &[&r]);
    assert_eq!(m.digest(), r.digest());
    assert_eq!(m.info_field("stats", "sync_full"), "2");
    let sent: f64 = m.info_field("stats", "total_net_repl_output_bytes").parse().unwrap();
    eprintln!("without the window: {:.3} x the RDB sent", sent / rdb);
    assert!(sent / rdb > 1.3, "the transfer started over");
    assert!(!m.log_text().contains("Resuming the full sync"));
}
