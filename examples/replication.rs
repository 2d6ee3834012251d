//! A master and two replicas in one process, driven through the embedding API: writes, a
//! WAIT for both replicas, a promotion of one replica (the other follows it with a partial
//! resync), and the replication events the application saw. Each server logs to its own file
//! with its own role letter (`trace yes` on the master: its actor conversations are there).
//!
//! Run with `cargo run --example replication`; the logs are left in a temporary directory.

use std::time::Duration;
use tandem::config::Config;
use tandem::events::ReplEvent;
use tandem::ServerHandle;

/// What the demo observed (tests/embed_api.rs checks these).
#[derive(Debug, Default)]
pub struct Report {
    pub acked_by: i64,
    pub replica_get: Option<String>,
    pub replica_write: String,
    pub promoted_role: String,
    pub follower_get_after_promotion: Option<String>,
    pub full_syncs_of_follower: usize,
    pub events_of_replica1: Vec<ReplEvent>,
    pub log_dir: std::path::PathBuf,
}

async fn start(dir: &std::path::Path, name: &str, extra: &str) -> Result<ServerHandle, String> {
    let log = dir.join(format!("{name}.log"));
    // Each server's files in a directory of its own (never a dump.rdb of the working directory).
    let data = dir.join(name);
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    let text = format!("port 0\nsave \"\"\nrepl-diskless-sync-delay 0\ndir {}\nlogfile {}\n{extra}", data.display(), log.display());
    let cfg = Config::from_text(&text).map_err(|e| e.to_string())?;
    tandem::Server::start(cfg).await
}

/// Waits until `server`'s link to its master is up.
async fn until_linked(server: &ServerHandle) -> Result<(), String> {
    for _ in 0..500 {
        if server.info("replication").await?.contains("master_link_status:up") {
            return Ok(());
        }
        async_std::task::sleep(Duration::from_millis(10)).await;
    }
    Err("replica never linked".into())
}

/// The whole demo.
pub async fn demo() -> Result<Report, String> {
    let dir = std::env::temp_dir().join(format!("tandem-replication-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let master = start(&dir, "master", "trace yes").await?;
    let r1 = start(&dir, "replica1", "").await?;
    let r2 = start(&dir, "replica2", "").await?;
    let events = r1.events();
    let port = master.addr.port();
    r1.replicaof("127.0.0.1", port).await?;
    r2.replicaof("127.0.0.1", port).await?;
    until_linked(&r1).await?;
    until_linked(&r2).await?;

    // Writes on the master, acknowledged by both replicas.
    master.exec(&["SET", "greeting", "hello"]).await?.into_result()?;
    master.exec(&["RPUSH", "queue", "a", "b", "c"]).await?.into_result()?;
    let mut report = Report { log_dir: dir.clone(), ..Default::default() };
    report.acked_by = master.wait(2, Duration::from_secs(5)).await?;
    report.replica_get = r1.exec(&["GET", "greeting"]).await?.as_str();
    // A replica refuses writes from the application as from any client.
    report.replica_write = format!("{:?}", r1.exec(&["SET", "greeting", "no"]).await?);

    // Promote replica1; replica2 follows it and continues the same history.
    r1.promote().await?;
    r2.replicaof("127.0.0.1", r1.addr.port()).await?;
    until_linked(&r2).await?;
    r1.exec(&["SET", "after", "promotion"]).await?.into_result()?;
    r1.wait(1, Duration::from_secs(5)).await?;
    report.promoted_role = r1.exec(&["ROLE"]).await?.into_result().map(|v| format!("{v:?}"))?;
    report.follower_get_after_promotion = r2.exec(&["GET", "after"]).await?.as_str();
    let stats = r1.info("stats").await?;
    report.full_syncs_of_follower = stats
        .lines()
        .find_map(|l| l.strip_prefix("sync_full:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(usize::MAX);
    report.events_of_replica1 = events.try_iter().collect();

    r2.stop().await;
    r1.stop().await;
    master.stop().await;
    Ok(report)
}

#[allow(dead_code)]
fn main() {
    match tandem::block_on(demo()) {
        Ok(r) => {
            println!("WAIT: acknowledged by {} replicas", r.acked_by);
            println!("replica1 GET greeting -> {:?}; SET on it -> {}", r.replica_get, r.replica_write);
            println!("after promotion: ROLE of replica1 {}", r.promoted_role);
            println!("replica2 GET after -> {:?} (full syncs served by replica1: {})", r.follower_get_after_promotion, r.full_syncs_of_follower);
            println!("events seen on replica1:");
            for e in &r.events_of_replica1 {
                println!("  {e:?}");
            }
            println!("logs (one file per server) in {}", r.log_dir.display());
        }
        Err(e) => {
            eprintln!("replication example failed: {e}");
            std::process::exit(1);
        }
    }
}
