//! DUMP and RESTORE: one value in Redis's serialization (its RDB encoding, the RDB version
//! and a CRC64), so keys move between tandem and redis-server in both directions.

use super::Route::Keyspace as K;
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::snapshot::{from_rdb, value_ref};
use crate::keyspace::{Ctx, Keyspace};
use crate::rdb::{self, RdbOptions};
use crate::util::num;
use bytes::Bytes;

crate::command_specs! {
    "dump", 2, "readonly", 1, 1, 1, "generic", K(dump), "Return a serialized version of the value stored at the specified key.";
    "restore", -4, "write denyoom", 1, 1, 1, "generic", K(restore), "Create a key using the provided serialized value, previously obtained using DUMP.";
    "restore-asking", -4, "write denyoom asking", 1, 1, 1, "server", K(restore), "An internal command for migrating keys in a cluster";
}

/// The serialization options the configuration asks for (`rdbcompression`).
fn options(ks: &Keyspace) -> RdbOptions {
    RdbOptions { compress: ks.shared.cfg().rdbcompression(), ..RdbOptions::default() }
}

/// `DUMP key`: the serialized value, nil for a missing key.
pub fn dump(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let opts = options(ks);
    let Some(v) = ks.lookup_read(ctx, &a[1]) else { return ctx.out.null() };
    match rdb::writer::dump_payload(value_ref(v), &opts) {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`. A relative TTL is
/// propagated as an absolute one (ABSTTL), an already expired one restores nothing (and
/// deletes the replaced key, propagated as DEL), as Redis.
pub fn restore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < a.len() {
        let more = a.len() - j - 1;
        if eq(&a[j], "REPLACE") {
            replace = true;
        } else if eq(&a[j], "ABSTTL") {
            absttl = true;
        } else if eq(&a[j], "IDLETIME") && more >= 1 && freq.is_none() {
            let Some(v) = num::parse_i64(&a[j + 1]) else { return ctx.error(err::NOT_INT) };
            if v < 0 {
                return ctx.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if eq(&a[j], "FREQ") && more >= 1 && idle.is_none() {
            let Some(v) = num::parse_i64(&a[j + 1]) else { return ctx.error(err::NOT_INT) };
            if !(0..=255).contains(&v) {
                return ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return ctx.error(err::SYNTAX);
        }
        j += 1;
    }
    let key = &a[1];
    if !replace && ks.lookup_write(ctx, key).is_some() {
        return ctx.error("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = num::parse_i64(&a[2]) else { return ctx.error(err::NOT_INT) };
    if ttl < 0 {
        return ctx.error("ERR Invalid TTL value, must be >= 0");
    }
    let value = match rdb::reader::parse_dump_payload_with(&a[3], !ks.skip_checksum) {
        Ok(v) => v,
        // Shorter than its footer: Redis's check of version and checksum fails first.
        Err(_) if a[3].len() < 10 => return ctx.error("ERR DUMP payload version or checksum are wrong"),
        Err(rdb::RdbError::Version(_)) | Err(rdb::RdbError::Checksum) => {
            return ctx.error("ERR DUMP payload version or checksum are wrong")
        }
        Err(e) => {
            // As Redis in a RESTORE: the loader's complaint at verbose level, then the error.
            let why = match &e {
                rdb::RdbError::Corrupt(m) => m.clone(),
                other => other.to_string(),
            };
            crate::verbose!(ks.shared.log, "Internal error in RDB reading offset 0, function at restore -> {}", why);
            return ctx.error("ERR Bad data format");
        }
    };
    let deleted = replace && {
        ks.expire_if_needed(ctx, key);
        ks.delete(ctx, key)
    };
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(ctx.now);
    }
    if ttl != 0 && ttl <= ctx.now && !ks.keeps_expired() {
        // Already expired: nothing is created.
        if deleted {
            let del = if ks.shared.cfg().lazyfree_lazy_server_del() { "UNLINK" } else { "DEL" };
            ctx.rewrite(vec![Bytes::from_static(del.as_bytes()), key.clone()]);
            ks.notify(ctx, N::GENERIC, "del", key);
        } else {
            // Nothing changed: nothing to propagate.
            ctx.dirty = 0;
        }
        return ctx.out.ok();
    }
    ks.set_key(ctx, key, from_rdb(value), false);
    if ttl != 0 {
        ks.set_expire(ctx, key, ttl);
        if !absttl {
            let mut argv = a.to_vec();
            argv[2] = Bytes::from(ttl.to_string());
            argv.push(Bytes::from_static(b"ABSTTL"));
            ctx.rewrite(argv);
        }
    }
    // IDLETIME / FREQ set the key's access word (as Redis's objectSetLRUOrLFU).
    if let Some((k, _)) = ks.dbs[ctx.db].keys.get_key_value(key) {
        if let Some(i) = idle {
            k.set_clock(crate::keyspace::lru::with_idle(i.max(0) as u64, ctx.now));
        } else if let Some(f) = freq {
            k.set_clock(crate::keyspace::lru::clock_of(ctx.now) << 8 | (f.clamp(0, 255) as u32));
        }
    }
    ks.notify(ctx, N::GENERIC, "restore", key);
    ctx.out.ok();
}
