//! The conversations drawn in actors.md are generated from real runs: each scenario below runs
//! embedded servers with `trace yes` (one log file each), turns their trace into a mermaid
//! sequence diagram with `tandem::tracediag` (normalized: stable participant names, no ids or
//! offsets, repeats collapsed), and compares it with the diagram committed in actors.md
//! between `<!-- golden:NAME -->` and `<!-- /golden -->`. When the code's conversation changes,
//! this test fails until actors.md is regenerated:
//!
//! ```text
//! TANDEM_UPDATE_GOLDEN=1 cargo test --release --test golden_trace
//! ```
//!
//! Two actors running at once interleave their lines differently from run to run, while the
//! messages between any two participants keep their order (each pair talks through one FIFO
//! mailbox or socket). So a run matches the committed diagram when it has the same
//! participants and, for every sender/receiver pair, the same messages in the same order; the
//! committed diagram shows one real run's interleaving. A scenario is run up to three times
//! and passes when one run matches (a rare timer line can land inside a scenario).

use std::path::{Path, PathBuf};
use std::time::Duration;
use tandem::tracediag::{diagram_logs, kind_spec, Filter};
use tandem::ServerHandle;

/// Trace kinds that are periodic or incidental to every conversation (timers, polling).
const NOISE: &[&str] = &[
    "Cron", "Tick", "FlushFeed", "Batch", "AwaitedBatch", "ReaderGone", "Accepted", "Start(addr=", "Kill", "ClientGone", "Streaming", "Progress", "GetStatus",
    "Reconnect", "State(ReceivePong)",
];

struct Scenario {
    dir: PathBuf,
    servers: Vec<(String, ServerHandle)>,
}

impl Scenario {
    fn new(name: &str) -> Scenario {
        let dir = std::env::temp_dir().join(format!("tandem-golden-{}-{}", std::process::id(), name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scenario { dir, servers: vec![] }
    }

    async fn server(&mut self, name: &str, extra: &str) -> &ServerHandle {
        let log = self.dir.join(format!("{name}.log"));
        let text = format!(
            "port 0\nsave \"\"\ntrace yes\nrepl-diskless-sync-delay 0\nrepl-ping-replica-period 100\nlogfile {}\n{extra}",
            log.display()
        );
        let cfg = tandem::config::Config::from_text(&text).unwrap();
        let s = tandem::Server::start(cfg).await.unwrap();
        self.servers.push((name.to_string(), s));
        &self.servers.last().unwrap().1
    }

    /// A "master" and a "replica" server, the replica synced and online.
    async fn linked_pair(&mut self) {
        self.server("master", "").await;
        self.server("replica", "").await;
        let port = self.get("master").addr.port();
        self.get("replica").replicaof("127.0.0.1", port).await.unwrap();
        until(self.get("replica"), "replication", "master_link_status:up").await;
        until(self.get("master"), "replication", "state=online").await;
    }

    fn get(&self, name: &str) -> &ServerHandle {
        &self.servers.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// Stops every server and returns their logs, up to the shutdown.
    async fn finish(self) -> Vec<String> {
        let mut logs = vec![];
        for (name, _) in &self.servers {
            let log = std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let end = log.find("User requested shutdown").and_then(|i| log[..i].rfind('\n')).unwrap_or(log.len());
            logs.push(log[..end].to_string());
        }
        for (_, s) in self.servers.into_iter().rev() {
            s.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        logs
    }
}

async fn until(server: &ServerHandle, section: &str, needle: &str) {
    for _ in 0..1000 {
        if server.info(section).await.unwrap().contains(needle) {
            return;
        }
        async_std::task::sleep(Duration::from_millis(5)).await;
    }
    panic!("{needle} never showed in INFO {section}");
}

/// Drops the noise lines from a log (before it reaches the diagram).
fn quiet(log: &str) -> String {
    log.lines()
        .filter(|l| {
            let Some(i) = l.find(": ").filter(|_| l.contains(" . [")) else { return true };
            let kind = &l[i + 2..];
            !NOISE.iter().any(|n| kind.starts_with(n)) && !kind.starts_with("Exec(INFO") && !kind.starts_with("Exec(ROLE")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn render(logs: &[String], kind: Option<&str>) -> String {
    let quiet: Vec<String> = logs.iter().map(|l| quiet(l)).collect();
    let refs: Vec<&str> = quiet.iter().map(|s| s.as_str()).collect();
    let filter = Filter {
        kind: kind.map(|k| kind_spec(k).expect("known kind")),
        normalize: true,
        ..Default::default()
    };
    diagram_logs(&refs, &filter)
}

/// Bytes of a server's log so far (to cut out one step of a scenario).
fn mark(sc: &Scenario, name: &str) -> usize {
    std::fs::metadata(sc.dir.join(format!("{name}.log"))).map(|m| m.len() as usize).unwrap_or(0)
}

/// The diagrams one scenario produces: (golden name, diagram).
type Diagrams = Vec<(String, String)>;

/// Full resync over the socket (diskless) or through a disk RDB, with the handshake before it:
/// the replica's side and the master's.
async fn full_resync(diskless: bool) -> Diagrams {
    let mut sc = Scenario::new(if diskless { "diskless" } else { "disk" });
    let extra = if diskless { "repl-diskless-sync yes" } else { "repl-diskless-sync no" };
    sc.server("master", extra).await.exec(&["SET", "k", "v"]).await.unwrap();
    sc.server("replica", "").await;
    let port = sc.get("master").addr.port();
    sc.get("replica").replicaof("127.0.0.1", port).await.unwrap();
    until(sc.get("replica"), "replication", "master_link_status:up").await;
    until(sc.get("master"), "replication", "state=online").await;
    let logs = sc.finish().await;
    let tag = if diskless { "diskless" } else { "disk" };
    vec![
        (format!("fullsync-{tag}-master"), render(&logs[..1], None)),
        (format!("fullsync-{tag}-replica"), render(&logs[1..], None)),
    ]
}

/// Two replicas asking within `repl-diskless-sync-delay` share one snapshot and one RDB.
async fn shared_rdb() -> Diagrams {
    let mut sc = Scenario::new("shared");
    sc.server("master", "repl-diskless-sync-delay 1").await.exec(&["SET", "k", "v"]).await.unwrap();
    sc.server("replica1", "").await;
    sc.server("replica2", "").await;
    let port = sc.get("master").addr.port();
    sc.get("replica1").replicaof("127.0.0.1", port).await.unwrap();
    sc.get("replica2").replicaof("127.0.0.1", port).await.unwrap();
    until(sc.get("replica1"), "replication", "master_link_status:up").await;
    until(sc.get("replica2"), "replication", "master_link_status:up").await;
    let logs = sc.finish().await;
    // The replicas go online and stream in whatever order their sockets allow: the diagram
    // keeps the part the keyspace orders (one snapshot, one RDB, both subscribed from it).
    let ordered: String = logs[0]
        .lines()
        .filter(|l| !["Online", "Stream(", "Acked(", "REPLCONF ACK", "State("].iter().any(|p| l.contains(p)))
        .map(|l| format!("{l}\n"))
        .collect();
    vec![("fullsync-shared-master".into(), render(&[ordered], Some("fullsync")))]
}

/// A replica whose link drops continues with a partial resync; then a write propagates to it;
/// then a WAIT on the master counts its ACK.
async fn partial_propagation_wait() -> Diagrams {
    let mut sc = Scenario::new("psync");
    sc.linked_pair().await;
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    sc.get("replica").exec(&["CLIENT", "KILL", "TYPE", "master"]).await.unwrap();
    until(sc.get("master"), "stats", "sync_partial_ok:1").await;
    until(sc.get("replica"), "replication", "master_link_status:up").await;
    until(sc.get("master"), "replication", "state=online").await;
    async_std::task::sleep(Duration::from_millis(50)).await;
    let (m1, r1) = (mark(&sc, "master"), mark(&sc, "replica"));
    sc.get("master").exec(&["SET", "greeting", "hello"]).await.unwrap();
    until(sc.get("replica"), "keyspace", "db0:keys=1").await;
    async_std::task::sleep(Duration::from_millis(50)).await;
    let (m2, r2) = (mark(&sc, "master"), mark(&sc, "replica"));
    assert_eq!(sc.get("master").wait(1, Duration::from_secs(5)).await.unwrap(), 1);
    let m3 = mark(&sc, "master");
    let logs = sc.finish().await;
    let (m, r) = (&logs[0], &logs[1]);
    vec![
        ("psync-master".into(), render(&[m[m0..m1].to_string()], None)),
        ("psync-replica".into(), render(&[r[r0..r1].to_string()], None)),
        ("propagation-master".into(), render(&[m[m1..m2].to_string()], None)),
        ("propagation-replica".into(), render(&[r[r1..r2].to_string()], None)),
        ("wait-master".into(), render(&[m[m2..m3].to_string()], None)),
    ]
}

/// FAILOVER: the master pauses writes, waits for its replica's ACK, and hands over; the
/// replica is promoted by the PSYNC ... FAILOVER it receives.
async fn failover() -> Diagrams {
    let mut sc = Scenario::new("failover");
    sc.linked_pair().await;
    sc.get("master").exec(&["SET", "k", "v"]).await.unwrap();
    sc.get("master").wait(1, Duration::from_secs(5)).await.unwrap();
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    sc.get("master").exec(&["FAILOVER"]).await.unwrap();
    until(sc.get("replica"), "replication", "role:master").await;
    until(sc.get("master"), "replication", "master_link_status:up").await;
    until(sc.get("replica"), "replication", "state=online").await;
    let logs = sc.finish().await;
    vec![
        ("failover-master".into(), render(&[logs[0][m0..].to_string()], Some("failover"))),
        ("failover-replica".into(), render(&[logs[1][r0..].to_string()], Some("promotion"))),
    ]
}

/// REPLICAOF NO ONE on a replica.
async fn promotion() -> Diagrams {
    let mut sc = Scenario::new("promotion");
    sc.server("master", "").await;
    sc.server("replica", "").await;
    let port = sc.get("master").addr.port();
    sc.get("replica").replicaof("127.0.0.1", port).await.unwrap();
    until(sc.get("replica"), "replication", "master_link_status:up").await;
    let r0 = mark(&sc, "replica");
    sc.get("replica").promote().await.unwrap();
    let logs = sc.finish().await;
    vec![("promotion-replica".into(), render(&[logs[1][r0..].to_string()], None))]
}

/// PUBLISH on a master reaches a subscriber on its replica: delivered through the push
/// queue on each side, and propagated in the stream.
async fn pubsub() -> Diagrams {
    let mut sc = Scenario::new("pubsub");
    sc.linked_pair().await;
    let mut sub = sc.get("replica").connect().await.unwrap();
    sub.exec(&["SUBSCRIBE", "news"]).await.unwrap();
    let mut local = sc.get("master").connect().await.unwrap();
    local.exec(&["SUBSCRIBE", "news"]).await.unwrap();
    async_std::task::sleep(Duration::from_millis(50)).await;
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    assert_eq!(sc.get("master").exec(&["PUBLISH", "news", "hello"]).await.unwrap().as_int(), Some(1));
    for c in [&mut local, &mut sub] {
        let msg = c.read().await.unwrap();
        assert_eq!(format!("{msg:?}").matches("hello").count(), 1, "{msg:?}");
    }
    async_std::task::sleep(Duration::from_millis(50)).await;
    drop((sub, local));
    let logs = sc.finish().await;
    vec![
        ("pubsub-master".into(), render(&[logs[0][m0..].to_string()], Some("pubsub"))),
        ("pubsub-replica".into(), render(&[logs[1][r0..].to_string()], Some("pubsub"))),
    ]
}

/// Client-side caching: a key read by a tracking connection on the master and one on the
/// replica (RESP2, redirected to a connection subscribed to `__redis__:invalidate`), then
/// written on the master: each keyspace pushes the invalidation, the replica's from the
/// master's stream.
async fn tracking() -> Diagrams {
    let mut sc = Scenario::new("tracking");
    sc.linked_pair().await;
    let mut conns = vec![];
    for side in ["master", "replica"] {
        let mut redir = sc.get(side).connect().await.unwrap();
        let id = redir.exec(&["CLIENT", "ID"]).await.unwrap().as_int().unwrap().to_string();
        redir.exec(&["SUBSCRIBE", "__redis__:invalidate"]).await.unwrap();
        let mut t = sc.get(side).connect().await.unwrap();
        t.exec(&["CLIENT", "TRACKING", "on", "REDIRECT", &id]).await.unwrap();
        conns.push((redir, t));
    }
    sc.get("master").exec(&["SET", "k", "v"]).await.unwrap();
    until(sc.get("replica"), "keyspace", "db0:keys=1").await;
    for (_, t) in conns.iter_mut() {
        t.exec(&["GET", "k"]).await.unwrap();
    }
    async_std::task::sleep(Duration::from_millis(50)).await;
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    sc.get("master").exec(&["SET", "k", "w"]).await.unwrap();
    for (redir, _) in conns.iter_mut() {
        let msg = redir.read().await.unwrap();
        assert!(format!("{msg:?}").contains("__redis__:invalidate"), "{msg:?}");
    }
    async_std::task::sleep(Duration::from_millis(50)).await;
    drop(conns);
    let logs = sc.finish().await;
    vec![
        ("tracking-master".into(), render(&[logs[0][m0..].to_string()], Some("tracking"))),
        ("tracking-replica".into(), render(&[logs[1][r0..].to_string()], Some("tracking"))),
    ]
}

/// Read-your-writes: a write on the master, WRITEOFFSET, then WAITOFFSET on a replica that
/// holds the stream (CLIENT PAUSE WRITE): the keyspace answers the waiter from the handler
/// that applies the stream once the pause ends.
async fn read_your_writes() -> Diagrams {
    let mut sc = Scenario::new("ryw");
    sc.linked_pair().await;
    sc.get("replica").exec(&["CLIENT", "PAUSE", "300", "WRITE"]).await.unwrap();
    async_std::task::sleep(Duration::from_millis(50)).await;
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    let mut c = sc.get("master").connect().await.unwrap();
    c.exec(&["SET", "k", "v"]).await.unwrap();
    let at = c.exec(&["WRITEOFFSET"]).await.unwrap();
    let at = format!("{at:?}");
    let nums: Vec<String> = at.split(|ch: char| !ch.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect();
    let replid = nums.iter().find(|w| w.len() == 40).expect("replid").clone();
    let offset = nums.iter().rev().find(|w| w.parse::<i64>().is_ok()).expect("offset").clone();
    let r = sc.get("replica").exec(&["WAITOFFSET", &replid, &offset, "5000"]).await.unwrap();
    assert_eq!(r.as_int(), Some(1), "{r:?}");
    async_std::task::sleep(Duration::from_millis(50)).await;
    drop(c);
    let logs = sc.finish().await;
    vec![
        ("waitoffset-master".into(), render(&[logs[0][m0..].to_string()], Some("waitoffset"))),
        ("waitoffset-replica".into(), render(&[logs[1][r0..].to_string()], Some("waitoffset"))),
    ]
}

/// VERIFYREPLICAS: the master's snapshot and marker, the replica's digest at the marker, the
/// backlog's verdict.
async fn verify() -> Diagrams {
    let mut sc = Scenario::new("verify");
    sc.linked_pair().await;
    sc.get("master").exec(&["SET", "k", "v"]).await.unwrap();
    sc.get("master").wait(1, Duration::from_secs(5)).await.unwrap();
    let (m0, r0) = (mark(&sc, "master"), mark(&sc, "replica"));
    let r = sc.get("master").exec(&["VERIFYREPLICAS"]).await.unwrap();
    assert!(format!("{r:?}").contains("match"), "{r:?}");
    async_std::task::sleep(Duration::from_millis(50)).await;
    let logs = sc.finish().await;
    vec![
        ("verify-master".into(), render(&[logs[0][m0..].to_string()], Some("verify"))),
        ("verify-replica".into(), render(&[logs[1][r0..].to_string()], Some("verify"))),
    ]
}

/// Every scenario's diagrams.
async fn all_diagrams() -> Diagrams {
    let mut d = full_resync(false).await;
    d.extend(full_resync(true).await);
    d.extend(shared_rdb().await);
    d.extend(partial_propagation_wait().await);
    d.extend(failover().await);
    d.extend(promotion().await);
    d.extend(pubsub().await);
    d.extend(tracking().await);
    d.extend(read_your_writes().await);
    d.extend(verify().await);
    d
}

/// The golden blocks of actors.md: name -> diagram text.
fn golden_blocks(md: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut rest = md;
    while let Some(i) = rest.find("<!-- golden:") {
        let after = &rest[i + "<!-- golden:".len()..];
        let Some(j) = after.find(" -->") else { break };
        let name = after[..j].to_string();
        let body = &after[j + 4..];
        let Some(k) = body.find("<!-- /golden -->") else { break };
        let block = body[..k].trim();
        let diagram = block.trim_start_matches("```mermaid").trim_end_matches("```").trim().to_string();
        out.push((name, diagram));
        rest = &body[k..];
    }
    out
}

/// actors.md with the golden blocks replaced by `diagrams`.
fn with_blocks(md: &str, diagrams: &Diagrams) -> String {
    let mut out = md.to_string();
    for (name, d) in diagrams {
        let open = format!("<!-- golden:{name} -->");
        let block = format!("{open}\n```mermaid\n{}\n```\n<!-- /golden -->", d.trim());
        match out.find(&open) {
            Some(i) => {
                let end = out[i..].find("<!-- /golden -->").map(|k| i + k + "<!-- /golden -->".len()).unwrap_or(out.len());
                out.replace_range(i..end, &block);
            }
            None => {
                out.push_str(&format!("\n### {name}\n\n{block}\n"));
            }
        }
    }
    out
}

/// A diagram as its participants and, per sender/receiver pair (with the arrow kind), the
/// messages between them in order.
fn channels(diagram: &str) -> (Vec<String>, std::collections::BTreeMap<String, Vec<String>>) {
    let mut participants = vec![];
    let mut pairs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for l in diagram.lines().map(str::trim) {
        if l.starts_with("participant ") {
            participants.push(l.to_string());
        } else if let Some((pair, text)) = l.split_once(": ") {
            pairs.entry(pair.to_string()).or_default().push(text.to_string());
        }
    }
    participants.sort();
    (participants, pairs)
}

fn actors_md() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("actors.md")
}

#[test]
fn actors_md_diagrams_match_the_code() {
    let md = std::fs::read_to_string(actors_md()).unwrap();
    if std::env::var_os("TANDEM_UPDATE_GOLDEN").is_some() {
        let d = tandem::block_on(all_diagrams());
        std::fs::write(actors_md(), with_blocks(&md, &d)).unwrap();
        return;
    }
    let golden = golden_blocks(&md);
    assert!(golden.len() >= 12, "actors.md holds the generated diagrams ({} found)", golden.len());
    let mut last = vec![];
    for attempt in 0..3 {
        let d = tandem::block_on(all_diagrams());
        let diffs: Vec<String> = golden
            .iter()
            .filter_map(|(name, want)| {
                let got = d.iter().find(|(n, _)| n == name).map(|(_, g)| g.trim().to_string()).unwrap_or_default();
                (channels(&got) != channels(want)).then(|| format!("--- {name}: committed\n{want}\n--- {name}: this run\n{got}"))
            })
            .collect();
        if diffs.is_empty() {
            return;
        }
        eprintln!("attempt {attempt}: {} diagrams differ", diffs.len());
        if std::env::var_os("TANDEM_GOLDEN_VERBOSE").is_some() {
            eprintln!("{}", diffs.join("\n"));
        }
        last = diffs;
    }
    panic!("the conversations differ from actors.md (regenerate with TANDEM_UPDATE_GOLDEN=1 if the change is intended):\n{}", last.join("\n"));
}
