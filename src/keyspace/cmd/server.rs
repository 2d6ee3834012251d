//! Server commands that run in the keyspace actor: PING, ECHO, INFO, TIME, DEBUG, ...

use super::err;
use crate::keyspace::snapshot;
use crate::keyspace::{Ctx, Keyspace, Value};
use crate::shared::repl::{MasterLinkState, ReplicaState};
use crate::util::num;
use bytes::Bytes;

pub fn ping(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    if !ctx.out.resp3 && ks.pubsub_subscribed(ctx.client_id) {
        // RESP2's subscribed context answers as a message: `pong` and the argument.
        if a.len() > 2 {
            return ctx.error(super::arity_error("ping"));
        }
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(a.get(1).map_or(&b""[..], |x| &x[..]));
        return;
    }
    match a.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&a[1]),
        _ => ctx.error(super::arity_error("ping")),
    }
}

pub fn echo(_ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    ctx.out.bulk(&a[1]);
}

pub fn info(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let args: Vec<String> = a[1..].iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    let text = crate::keyspace::info::info(ks, &args);
    ctx.out.verbatim(&text);
}

pub fn time(_ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
}

pub fn lastsave(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    ctx.out.int(ks.shared.lastsave_unix.load(std::sync::atomic::Ordering::Relaxed));
}

pub fn memory(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        // Redis's size estimate for the key (see `memusage`).
        ("usage", 3..) => crate::keyspace::memusage::command(ks, ctx, a),
        ("doctor", 2) => {
            let report = ks.memory_doctor();
            ctx.out.verbatim(&report)
        }
        ("malloc-stats", 2) => ctx.out.verbatim(&crate::keyspace::memory::malloc_stats()),
        ("purge", 2) => {
            if crate::keyspace::memory::purge() {
                ctx.out.ok()
            } else {
                ctx.error("ERR Error purging dirty pages")
            }
        }
        ("stats", 2) => memory_stats(ks, ctx),
        // Known subcommands with the wrong argument count get the arity error, as Redis.
        ("usage" | "doctor" | "purge" | "help" | "stats" | "malloc-stats", n) if n != 2 || sub == "usage" => {
            ctx.error(format!("ERR wrong number of arguments for 'memory|{}' command", sub))
        }
        _ => ctx.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "MEMORY")),
    }
}

/// MEMORY STATS: Redis's breakdown, field by field.
fn memory_stats(ks: &mut Keyspace, ctx: &mut Ctx) {
    let o = ks.memory_overhead();
    let out = &mut *ctx.out;
    out.map(27 + o.dbs.len());
    let int = |out: &mut crate::resp::Out, k: &str, v: i64| {
        out.bulk(k.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", o.peak as i64);
    int(out, "total.allocated", o.total as i64);
    int(out, "startup.allocated", o.startup as i64);
    int(out, "replication.backlog", o.repl_backlog as i64);
    int(out, "clients.slaves", o.clients_slaves as i64);
    int(out, "clients.normal", o.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", o.aof_buffer as i64);
    int(out, "lua.caches", o.lua_caches as i64);
    int(out, "functions.caches", o.functions_caches as i64);
    for (db, main, expires) in &o.dbs {
        out.bulk(format!("db.{}", db).as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", *main as i64);
        int(out, "overhead.hashtable.expires", *expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", o.overhead_total as i64);
    int(out, "keys.count", o.keys as i64);
    int(out, "keys.bytes-per-key", o.bytes_per_key as i64);
    int(out, "dataset.bytes", o.dataset as i64);
    let double = |out: &mut crate::resp::Out, k: &str, v: f64| {
        out.bulk(k.as_bytes());
        out.double(v);
    };
    double(out, "dataset.percentage", o.dataset_perc);
    double(out, "peak.percentage", o.peak_perc);
    int(out, "allocator.allocated", o.alloc.allocated as i64);
    int(out, "allocator.active", o.alloc.active as i64);
    int(out, "allocator.resident", o.alloc.resident as i64);
    double(out, "allocator-fragmentation.ratio", o.allocator_frag());
    int(out, "allocator-fragmentation.bytes", o.allocator_frag_bytes());
    double(out, "allocator-rss.ratio", o.allocator_rss());
    int(out, "allocator-rss.bytes", o.allocator_rss_bytes());
    double(out, "rss-overhead.ratio", o.rss_extra());
    int(out, "rss-overhead.bytes", o.rss_extra_bytes());
    double(out, "fragmentation", o.total_frag());
    int(out, "fragmentation.bytes", o.total_frag_bytes());
}

pub fn debug(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match (sub.as_str(), a.len()) {
        ("sleep", 3) => {
            let secs = num::parse_f64(&a[2]).unwrap_or(0.0).max(0.0);
            // Blocks the keyspace actor on purpose: Redis's DEBUG SLEEP stalls the server.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            ctx.out.ok();
        }
        ("config-rewrite-force-all", 2) => match ks.shared.cfg().rewrite_ext(true) {
            Ok(()) => ctx.out.ok(),
            Err(e) => ctx.error(&format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {}", e.trim_start_matches("ERR "))),
        },
        ("replicate", 3..) => {
            // The arguments go to the replicas as a command of the stream, whatever they are
            // (tests provoke a replica's error replies this way), in the db the stream last
            // selected, as Redis's DEBUG REPLICATE.
            let db = ks.feed.last_db.unwrap_or(ctx.db);
            ks.feed.propagate(db, vec![a[2..].to_vec()], false);
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ks.active_expire = a[2][..] != b"0"[..];
            ctx.out.ok();
        }
        ("set-skip-checksum-validation", 3) => {
            ks.skip_checksum = a[2][..] != b"0"[..];
            ctx.out.ok();
        }
        ("htstats", 3..=4) => {
            match num::parse_i64(&a[2]) {
                None => ctx.error(crate::keyspace::cmd::err::NOT_INT),
                Some(id) if id < 0 || id as usize >= ks.dbs.len() => ctx.error("ERR Out of range database"),
                Some(id) => {
                    let d = &ks.dbs[id as usize];
                    let mut s = String::from("[Dictionary HT]\n");
                    ht_stats(&mut s, d.ht_size, d.keys.len());
                    s.push_str("[Expires HT]\n");
                    ht_stats(&mut s, (d.expires.len() as u64).next_power_of_two().max(4), d.expires.len());
                    ctx.out.verbatim(&s);
                }
            }
        }
        ("pause-cron", 3) => {
            // The keyspace's periodic work stops (expiry, eviction, the tracking limit), as
            // Redis's serverCron does while paused.
            ks.cron_paused = num::parse_i64(&a[2]).unwrap_or(0) != 0;
            ks.shared().cron_paused.store(ks.cron_paused, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        ("aof-flush-sleep", 3) => {
            // Microseconds slept before each AOF write (Redis's tests use it to widen races).
            ks.set_aof_flush_sleep(num::parse_i64(&a[2]).unwrap_or(0).max(0) as u64);
            ctx.out.ok();
        }
        ("set-disable-deny-scripts", 3) => {
            ks.scripting.disable_deny = num::parse_i64(&a[2]).unwrap_or(0) != 0;
            ctx.out.ok();
        }
        ("populate", 3..=5) => populate(ks, ctx, a),
        ("object", 3) => match ks.dbs[ctx.db].keys.get_key_value(&a[2]) {
            Some((k, v)) => {
                let word = k.clock();
                let s = format!(
                    "Value at:0x7f0000000000 refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                    super::keys::encoding_of(ks, v),
                    v.approx_size(),
                    word >> 8,
                    crate::keyspace::lru::idle_secs(word, ctx.now)
                );
                ctx.out.simple(&s);
            }
            None => ctx.error(err::NO_KEY),
        },
        ("protocol", 3) => debug_protocol(ctx, &a[2]),
        ("log", 3) => {
            crate::warning!(ks.shared.log, "DEBUG LOG: {}", String::from_utf8_lossy(&a[2]));
            ctx.out.ok();
        }
        ("stringmatch-test", 2) => {
            stringmatch_fuzz(ks);
            ctx.out.simple("Apparently Redis did not crash: test passed");
        }
        ("change-repl-id", 2) => {
            crate::warning!(ks.shared.log, "Changing replication IDs after receiving DEBUG change-repl-id");
            ks.feed.replid2 = ks.feed.replid.clone();
            ks.feed.second_offset = ks.feed.offset + 1;
            ks.feed.replid = crate::util::random_hex(40);
            ctx.out.ok();
        }
        // A memory value (units as in the config: `1b`, `10kb`) up to 4 GiB - 1 MiB, as Redis's
        // quicklistisSetPackedThreshold accepts (0 included); tandem's lists have no plain nodes
        // to tune, so it only validates.
        ("quicklist-packed-threshold", 3) => match crate::config::value::parse_memory(&a[2]) {
            Some(n) if n <= (1u64 << 32) - (1 << 20) => ctx.out.ok(),
            _ => ctx.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
        },
        ("help", _) => {
            ctx.out.array(1);
            ctx.out.simple("DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are: SLEEP, SET-ACTIVE-EXPIRE, SET-SKIP-CHECKSUM-VALIDATION, PAUSE-CRON, POPULATE, OBJECT, DIGEST, DIGEST-VALUE, RELOAD, REPLICATE, CONFIG-REWRITE-FORCE-ALL");
        }
        _ => match debug_extra(ks, ctx, &sub, a) {
            true => {}
            false => ctx.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "DEBUG")),
        },
    }
}

/// DEBUG subcommands over the dataset as RDB and the replication IDs (DIGEST, DIGEST-VALUE,
/// RELOAD; CHANGE-REPL-ID with extra arguments). Returns false when `sub` is not one of them.
fn debug_extra(ks: &mut Keyspace, ctx: &mut Ctx, sub: &str, a: &[Bytes]) -> bool {
    match sub {
        "digest" => {
            let d = snapshot::digest(&ks.dbs);
            ctx.out.simple(&d);
        }
        "digest-value" => {
            ctx.out.array(a.len() - 2);
            for k in &a[2..] {
                let db = &ks.dbs[ctx.db];
                match db.keys.get(k) {
                    Some(v) => {
                        let d = crate::rdb::digest_value(snapshot::value_ref(v), db.expires.get(k).copied());
                        ctx.out.simple(&crate::rdb::digest::to_hex(&d));
                    }
                    None => ctx.out.simple(&"0".repeat(40)),
                }
            }
        }
        "reload" => debug_reload(ks, ctx, &a[2..]),
        "loadaof" => match ks.debug_loadaof() {
            Ok(()) => ctx.out.ok(),
            // As Redis, a failed load ends the server (its log says why).
            Err(()) => ctx.error("ERR Error loading the AOF: the server is shutting down"),
        },
        "change-repl-id" => {
            ks.feed.shift_replid(None);
            ctx.out.ok();
        }
        _ => return false,
    }
    true
}

/// A hash table's lines in DEBUG HTSTATS (Redis's dictGetStats, its first lines).
fn ht_stats(s: &mut String, size: u64, used: usize) {
    if used == 0 {
        s.push_str("No stats available for empty dictionaries\n");
        return;
    }
    s.push_str(&format!("Hash table 0 stats (main hash table):\n table size: {}\n number of elements: {}\n", size, used));
}

/// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]`: save the RDB file (unless NOSAVE), drop the
/// dataset (unless NOFLUSH) and load the file back. With NOFLUSH a key or library already
/// present fails the load unless MERGE lets the file's copy replace it (checked before
/// anything changes).
fn debug_reload(ks: &mut Keyspace, ctx: &mut Ctx, opts: &[Bytes]) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for o in opts {
        match String::from_utf8_lossy(o).to_ascii_lowercase().as_str() {
            "merge" => merge = true,
            "noflush" => flush = false,
            "nosave" => save = false,
            _ => return ctx.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."),
        }
    }
    if save && ks.save_now().is_err() {
        return ctx.error("ERR");
    }
    let load_err = "ERR Error trying to load the RDB dump";
    let path = crate::keyspace::persist::rdb_path(&ks.shared);
    let loaded = std::fs::File::open(&path).map_err(|e| e.to_string()).and_then(|f| {
        let size = f.metadata().ok().map(|m| m.len());
        snapshot::load_rdb(std::io::BufReader::new(f), size, ks.dbs.len(), !ks.is_replica).map_err(|e| e.to_string())
    });
    let (dbs, info) = match loaded {
        Ok(l) => l,
        Err(e) => {
            crate::warning!(ks.shared.log, "DEBUG RELOAD: loading {}: {}", path.display(), e);
            return ctx.error(load_err);
        }
    };
    if flush {
        ks.dbs = dbs;
        ks.load_functions(&info.functions);
    } else {
        if !merge {
            for (i, db) in dbs.iter().enumerate() {
                if let Some((k, _)) = db.keys.iter().find(|(k, _)| ks.dbs[i].keys.contains_key(k)) {
                    crate::warning!(ks.shared.log, "RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(k), i);
                    return ctx.error(load_err);
                }
            }
        }
        for code in &info.functions {
            if let Err(e) = ks.scripting.libs.load(code, merge) {
                crate::warning!(ks.shared.log, "Failed loading library from the RDB: {}", e);
                return ctx.error(load_err);
            }
        }
        for (i, db) in dbs.into_iter().enumerate() {
            let target = &mut ks.dbs[i];
            for (k, v) in db.keys.iter() {
                target.keys.insert(&k[..], v.clone());
                match db.expires.get(k) {
                    Some(at) => {
                        target.expires.insert(&k[..], *at);
                    }
                    None => {
                        target.expires.remove(k);
                    }
                }
            }
        }
    }
    crate::warning!(ks.shared.log, "DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
}

/// DEBUG POPULATE count [prefix] [size]: creates `prefix:N` keys holding `value:N`.
fn populate(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let Some(count) = num::parse_i64(&a[2]).filter(|&n| n >= 0) else {
        return ctx.error("ERR value is out of range, must be positive");
    };
    let prefix = a.get(3).map(|p| p.to_vec()).unwrap_or_else(|| b"key".to_vec());
    let size = match a.get(4) {
        Some(s) => match num::parse_i64(s) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.error("ERR value is out of range, must be positive"),
        },
        None => None,
    };
    for i in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!(":{}", i).as_bytes());
        if ks.dbs[ctx.db].keys.contains_key(&key) {
            continue;
        }
        let mut val = format!("value:{}", i).into_bytes();
        if let Some(sz) = size {
            val.resize(sz, 0);
        }
        ks.dbs[ctx.db].keys.insert(&key, Value::Str(crate::keyspace::thin::Thin::new(&val)));
        ks.notify_new(ctx, &key);
        ctx.dirty += 1;
    }
    ctx.out.ok();
}

/// ROLE: master `[master, offset, [[ip, port, ack], ...]]`, replica `[slave, host, port, state, offset]`.
pub fn role(ks: &mut Keyspace, ctx: &mut Ctx, _a: &[Bytes]) {
    use std::sync::atomic::Ordering::Relaxed;
    let link = ks.shared.repl.link.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some((host, port)) = link.master {
        ctx.out.array(5);
        ctx.out.bulk(b"slave");
        ctx.out.bulk(host.as_bytes());
        ctx.out.int(port as i64);
        ctx.out.bulk(link.state.role_name().as_bytes());
        let connected = link.state == MasterLinkState::Connected;
        // Redis answers `server.master ? reploff : -1`: -1 whenever the link is not up.
        ctx.out.int(if connected { ks.feed.offset } else { -1 });
        return;
    }
    let replicas = ks.shared.repl.replicas.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let online: Vec<_> = replicas.iter().filter(|r| r.state() == ReplicaState::Online).collect();
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(ks.feed.offset);
    ctx.out.array(online.len());
    for r in online {
        ctx.out.array(3);
        ctx.out.bulk(r.ip.as_bytes());
        ctx.out.bulk(r.port.load(Relaxed).to_string().as_bytes());
        ctx.out.bulk(r.ack_offset.load(Relaxed).to_string().as_bytes());
    }
}

/// DEBUG PROTOCOL <type>: one reply of each RESP type, as Redis sends it.
fn debug_protocol(ctx: &mut Ctx, name: &[u8]) {
    let r3 = ctx.out.resp3;
    let t = String::from_utf8_lossy(name).to_ascii_lowercase();
    match t.as_str() {
        "string" => ctx.out.bulk(b"Hello World"),
        "integer" => ctx.out.int(12345),
        #[allow(clippy::approx_constant)] // Redis's own value, not pi
        "double" => ctx.out.double(3.141),
        "bignum" => {
            let n = "1234567999999999999999999999999999999";
            if r3 {
                ctx.out.raw(format!("({}\r\n", n).as_bytes());
            } else {
                ctx.out.bulk(n.as_bytes());
            }
        }
        "null" => ctx.out.null(),
        "array" | "set" => {
            if t == "set" { ctx.out.set(3) } else { ctx.out.array(3) }
            for j in 0..3 {
                ctx.out.int(j);
            }
        }
        "map" => {
            ctx.out.map(3);
            for j in 0..3 {
                ctx.out.int(j);
                reply_bool(ctx, j == 1);
            }
        }
        "attrib" => {
            if r3 {
                ctx.out.raw(b"|1\r\n");
                ctx.out.bulk(b"key-popularity");
                ctx.out.array(2);
                ctx.out.bulk(b"key:123");
                ctx.out.int(90);
            }
            ctx.out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !r3 {
                return ctx.error("ERR RESP2 is not supported by this command");
            }
            ctx.out.raw(b">2\r\n");
            ctx.out.bulk(b"server-cpu-usage");
            ctx.out.int(42);
            ctx.out.bulk(b"Some real reply following the push reply");
        }
        "true" => reply_bool(ctx, true),
        "false" => reply_bool(ctx, false),
        "verbatim" => ctx.out.verbatim("This is a verbatim\nstring"),
        _ => ctx.error(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

/// A boolean: `#t`/`#f` in RESP3, 1/0 in RESP2.
fn reply_bool(ctx: &mut Ctx, v: bool) {
    if ctx.out.resp3 {
        ctx.out.raw(if v { b"#t\r\n" } else { b"#f\r\n" });
    } else {
        ctx.out.int(v as i64);
    }
}

/// DEBUG STRINGMATCH-TEST: matches random patterns against random strings (the glob matcher
/// must neither panic nor run away).
fn stringmatch_fuzz(ks: &mut Keyspace) {
    use rand::Rng;
    const ALPHABET: &[u8] = b"*?[]\\^-abc";
    for _ in 0..100_000 {
        let plen = ks.rng.gen_range(0..32);
        let slen = ks.rng.gen_range(0..32);
        let p: Vec<u8> = (0..plen).map(|_| ALPHABET[ks.rng.gen_range(0..ALPHABET.len())]).collect();
        let s: Vec<u8> = (0..slen).map(|_| ALPHABET[ks.rng.gen_range(0..ALPHABET.len())]).collect();
        let _ = crate::util::glob::glob_match(&p, &s, false);
    }
}
