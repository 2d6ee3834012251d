//! Replication helpers: wait until replicas caught up, compare two servers' datasets, and
//! read a raw `PSYNC`/`SYNC` stream as a replica would.

use super::*;
use std::collections::BTreeMap;

/// Waits until every replica's link is up and its master_repl_offset equals the master's
/// (the master is read again after the replicas, so a ping in between only makes the poll
/// retry); returns that offset.
pub fn wait_synced(master: &Server, replicas: &[&Server]) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = master.offset();
        let rs: Vec<i64> = replicas.iter().map(|r| r.offset()).collect();
        let up = replicas.iter().all(|r| r.info("replication").get("master_link_status").map(|s| s == "up").unwrap_or(false));
        if up && rs.iter().all(|&r| r == m) && master.offset() == m {
            return m;
        }
        if Instant::now() > deadline {
            panic!(
                "replicas did not reach the master's offset: {} at {}, {}",
                master.name,
                m,
                replicas.iter().zip(&rs).map(|(r, o)| format!("{} at {}", r.name, o)).collect::<Vec<_>>().join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the master's INFO shows every replica online with an ACK equal to its offset.
pub fn wait_acked(master: &Server, n: usize) -> i64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = master.offset();
        let reps = master.replicas();
        let ok = reps.len() == n
            && reps.iter().all(|r| r.get("state").map(|s| s == "online").unwrap_or(false) && r.get("offset").map(|o| o == &m.to_string()).unwrap_or(false));
        if ok && master.offset() == m {
            return m;
        }
        if Instant::now() > deadline {
            panic!("{}: replicas did not ACK offset {}: {:?}", master.name, m, reps);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One key as seen through commands: (type, value rendering, has a TTL).
pub type KeyView = (String, String, bool);

/// Every key of dbs 0..ndb, key by key.
pub fn dataset(srv: &Server, ndb: usize) -> BTreeMap<(usize, Vec<u8>), KeyView> {
    let mut c = srv.client();
    let mut out = BTreeMap::new();
    for db in 0..ndb {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut c).unwrap();
            let v = match t.as_str() {
                "string" => format!("{:?}", redis::cmd("GET").arg(&k).query::<Option<Vec<u8>>>(&mut c).unwrap()),
                "list" => format!("{:?}", redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query::<Vec<Vec<u8>>>(&mut c).unwrap()),
                "set" => {
                    let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(&mut c).unwrap();
                    m.sort();
                    format!("{:?}", m)
                }
                "hash" => {
                    let mut m: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(&k).query(&mut c).unwrap();
                    m.sort();
                    format!("{:?}", m)
                }
                "zset" => format!("{:?}", redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).arg("WITHSCORES").query::<Vec<Vec<u8>>>(&mut c).unwrap()),
                "none" => continue, // expired between KEYS and TYPE
                other => other.to_string(),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut c).unwrap();
            out.insert((db, k), (t, v, pttl >= 0));
        }
    }
    out
}

/// Asserts that two servers hold the same data (key by key and DEBUG DIGEST).
pub fn assert_same_data(a: &Server, b: &Server, ndb: usize) {
    let da = dataset(a, ndb);
    let db = dataset(b, ndb);
    if da != db {
        let only_a: Vec<_> = da.iter().filter(|(k, v)| db.get(*k) != Some(v)).take(10).collect();
        let only_b: Vec<_> = db.iter().filter(|(k, v)| da.get(*k) != Some(v)).take(10).collect();
        panic!("{} and {} differ ({} vs {} keys); {} has {:?}; {} has {:?}", a.name, b.name, da.len(), db.len(), a.name, only_a, b.name, only_b);
    }
    assert_eq!(a.digest(), b.digest(), "DEBUG DIGEST of {} and {} differ (keys are equal)", a.name, b.name);
}

// ----- a raw replica -----

/// Reads `+FULLRESYNC <replid> <offset>` and the RDB after it (either framing): (replid,
/// offset, rdb, eof-framed).
pub fn raw_fullsync(raw: &mut Conn) -> (String, i64, Vec<u8>, bool) {
    raw.skip_newlines();
    let line = raw.line();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 3, "bad FULLRESYNC line {:?}", line);
    assert_eq!(parts[0], "+FULLRESYNC", "{:?}", line);
    assert!(parts[1].len() == 40 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()), "bad replid in {:?}", line);
    let off: i64 = parts[2].parse().unwrap_or_else(|_| panic!("bad offset in {:?}", line));
    raw.skip_newlines();
    let header = raw.line();
    if let Some(mark) = header.strip_prefix("$EOF:") {
        assert_eq!(mark.len(), 40, "EOF mark {:?}", mark);
        let rdb = raw.until_suffix(mark.as_bytes());
        (parts[1].to_string(), off, rdb, true)
    } else {
        let len: usize = header.strip_prefix('$').and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("bad bulk header {:?}", header));
        (parts[1].to_string(), off, raw.exact(len), false)
    }
}

/// The RDB is v10 with EOF + CRC, and redis-check-rdb (when installed) accepts it.
pub fn check_rdb(rdb: &[u8], dir: &Path, name: &str) {
    assert!(rdb.starts_with(b"REDIS0010"), "RDB starts with {:?}", String::from_utf8_lossy(&rdb[..rdb.len().min(9)]));
    assert!(rdb.len() > 18 && rdb[rdb.len() - 9] == 0xFF, "RDB does not end with EOF opcode + CRC");
    if Path::new(REDIS_CHECK_RDB).exists() {
        let f = dir.join(name);
        std::fs::write(&f, rdb).unwrap();
        let out = Command::new(REDIS_CHECK_RDB).arg(&f).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb:\n{}", text);
    }
}

/// Attaches as a replica with `SYNC` and skips the RDB it answers: `$<len>\r\n<bytes>`
/// (newlines may come first).
pub fn attach_replica(port: u16) -> Conn {
    let mut repl = Conn::connect(port);
    repl.send(b"SYNC\r\n");
    repl.skip_newlines();
    let header = repl.line();
    let len: usize = header.strip_prefix('$').and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("bad SYNC payload header {:?}", header));
    let rdb = repl.exact(len);
    assert!(rdb.starts_with(b"REDIS"), "not an RDB: {:?}", String::from_utf8_lossy(&rdb[..rdb.len().min(9)]));
    repl
}

/// Reads the replication stream up to `SET end-marker 1`, each command as its arguments,
/// PINGs and SELECTs left out.
pub fn read_stream(repl: &mut Conn) -> Vec<Vec<String>> {
    let mut v = vec![];
    loop {
        let raw = repl.reply();
        let parts: Vec<String> = raw.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).map(|s| s.to_string()).collect();
        let name = parts[0].to_ascii_uppercase();
        if name == "SET" && parts[1] == "end-marker" {
            return v;
        }
        if name != "PING" && name != "SELECT" {
            v.push(parts);
        }
    }
}

/// Runs `steps` on a server with a raw SYNC replica attached, then `SET end-marker 1`: the
/// replies, a `--- stream ---` line, and what was propagated (one line per command). Run
/// on both servers, it compares replies and replication streams at once.
pub fn replies_and_stream(port: u16, steps: &[&[&str]]) -> Vec<String> {
    let mut repl = attach_replica(port);
    let mut c = Conn::connect(port);
    let mut out: Vec<String> = steps.iter().map(|a| c.raw(a)).collect();
    out.push(c.raw(&["SET", "end-marker", "1"]));
    out.push("--- stream ---".into());
    out.extend(read_stream(&mut repl).into_iter().map(|c| c.join(" ")));
    out
}
