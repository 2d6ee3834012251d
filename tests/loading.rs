//! A server loading its RDB at start answers as Redis 7.0 does meanwhile: `-LOADING Redis is
//! loading the dataset in memory` to commands without the `loading` flag (PING, GET, SET,
//! an EXEC with such a command queued), INFO with `loading:1` and the `loading_*` progress
//! fields, CONFIG/CLIENT/SUBSCRIBE served; once loaded, everything works and the data is all
//! there. `key-load-delay` (a config Redis's own tests use) slows the load down, and CONFIG
//! REWRITE keeps it. Compared step by step with real redis-server on the same file.

mod support;
use std::time::{Duration, Instant};
use support::*;

const KEYS: usize = 5000;

/// A directory holding a dump.rdb of `KEYS` keys (written by tandem).
fn dir_with_rdb(tag: &str) -> TempDir {
    let src = Server::tandem(&["--enable-debug-command", "yes"]);
    let mut c = src.conn();
    c.cmd(&["DEBUG", "POPULATE", &KEYS.to_string()]);
    assert_eq!(c.raw(&["SAVE"]), "+OK\r\n");
    let d = TempDir::new(tag);
    std::fs::copy(src.dir().join("dump.rdb"), d.path().join("dump.rdb")).unwrap();
    d
}

fn start_loading(kind: Kind, tag: &str) -> Server {
    // About 5000 keys * 1 ms: five seconds of loading. Redis only serves clients every
    // `loading-process-events-interval-bytes` of file.
    Server::launch(kind)
        .dir(dir_with_rdb(tag))
        .args(&["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"])
        .start()
}

/// What a client sees while the server loads.
fn while_loading(port: u16) -> Vec<String> {
    let mut c = Conn::connect(port);
    let mut steps = vec![];
    let mut run = |c: &mut Conn, cmd: &[&str]| steps.push(format!("{:?} -> {}", cmd, c.raw(cmd)));
    run(&mut c, &["PING"]);
    run(&mut c, &["GET", "key:1"]);
    run(&mut c, &["SET", "a", "b"]);
    run(&mut c, &["DBSIZE"]);
    run(&mut c, &["CONFIG", "GET", "key-load-delay"]);
    run(&mut c, &["CLIENT", "SETNAME", "loader-watch"]);
    run(&mut c, &["SELECT", "1"]);
    run(&mut c, &["MULTI"]);
    run(&mut c, &["SET", "a", "b"]);
    run(&mut c, &["EXEC"]);
    run(&mut c, &["MULTI"]);
    run(&mut c, &["TIME"]);
    run(&mut c, &["DISCARD"]);
    run(&mut c, &["SELECT", "0"]);
    let info = c.info("persistence");
    let field = |k: &str| info.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    steps.push(format!("loading:{}", field("loading")));
    steps.push(format!("async_loading:{}", field("async_loading")));
    for f in ["loading_start_time", "loading_total_bytes", "loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds"] {
        steps.push(format!("{f} present: {}", !field(f).is_empty()));
    }
    steps
}

/// After the load: PONG, all keys.
fn after_loading(port: u16) -> Vec<String> {
    let mut c = Conn::connect(port);
    let start = Instant::now();
    while c.raw(&["PING"]).starts_with("-LOADING") {
        assert!(start.elapsed() < Duration::from_secs(60), "still loading after a minute");
        std::thread::sleep(Duration::from_millis(100));
    }
    vec![
        c.raw(&["PING"]),
        c.raw(&["DBSIZE"]),
        c.raw(&["GET", "key:1"]),
        c.info_field("persistence", "loading").unwrap_or_default(),
    ]
}

#[test]
fn loading_replies_as_redis() {
    let t = start_loading(Kind::Tandem, "loading-t");
    let got = while_loading(t.port);
    let got_after = after_loading(t.port);
    assert_eq!(got_after[1], format!(":{KEYS}\r\n"));
    if have_redis() {
        let r = start_loading(Kind::Redis, "loading-r");
        let want = while_loading(r.port);
        let want_after = after_loading(r.port);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "step {i}: tandem (left) and redis-server (right) differ");
        }
        assert_eq!(got_after, want_after);
    }
}

/// CONFIG REWRITE keeps key-load-delay (the Sentinel suite's master-reboot test relies on
/// it), and SHUTDOWN while loading does not save over the file being loaded.
#[test]
fn shutdown_while_loading_keeps_the_file() {
    let t = start_loading(Kind::Tandem, "loading-shutdown");
    let rdb = t.dir().join("dump.rdb");
    let before = std::fs::read(&rdb).unwrap();
    let mut c = t.conn();
    assert!(c.raw(&["PING"]).starts_with("-LOADING"));
    c.send_cmd(&["SHUTDOWN"]);
    let mut t = t;
    assert!(t.wait_exit(Duration::from_secs(10)).is_some(), "SHUTDOWN while loading did not exit");
    assert_eq!(std::fs::read(&rdb).unwrap(), before, "the RDB was overwritten by a save of half the data");
}
