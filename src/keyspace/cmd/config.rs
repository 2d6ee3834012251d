//! CONFIG SET's work on the shared configuration: what the connection's actor runs, and what
//! the keyspace runs in place when CONFIG SET is queued in a transaction (so the transaction
//! stays one turn of the keyspace, atomic and propagated as one MULTI/EXEC, as in Redis).

use crate::keyspace::Keyspace;
use crate::resp::Out;
use crate::shared::Shared;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// Name/value pairs of a CONFIG SET.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The pairs of `CONFIG SET k v [k v ...]` (argv from CONFIG).
pub fn pairs(a: &[Bytes]) -> Pairs {
    a[2..].chunks(2).map(|p| (p[0].to_vec(), p[1].to_vec())).collect()
}

/// Directives that cannot change while the RDB loads (Redis's DENY_LOADING_CONFIG).
fn denied_while_loading(k: &[u8]) -> bool {
    ["dir", "appendonly", "repl-diskless-load"].iter().any(|n| k.eq_ignore_ascii_case(n.as_bytes()))
}

/// Settings whose change needs more than the shared configuration (the listener moves, the
/// AOF starts or stops): only the connection's actor applies them.
pub fn needs_connection(pairs: &Pairs) -> bool {
    pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(b"port") || crate::keyspace::aof::is_aof_setting(k))
}

/// Whether a queued command is a CONFIG SET or GET the keyspace runs in place.
pub fn runs_in_place(argv: &[Bytes]) -> bool {
    let sub = |s: &[u8]| argv.get(1).is_some_and(|a| a.eq_ignore_ascii_case(s));
    if sub(b"get") {
        return argv.len() >= 3;
    }
    sub(b"set") && argv.len() >= 4 && argv.len().is_multiple_of(2) && !needs_connection(&pairs(argv))
}

/// Sets the pairs; on success returns what they replaced (to put back if a later step
/// fails). Redis's error text otherwise.
pub fn set(shared: &Shared, pairs: &Pairs, local: bool) -> Result<Pairs, String> {
    if shared.loading.load(Relaxed) && pairs.iter().any(|(k, _)| denied_while_loading(k)) {
        return Err("LOADING Redis is loading the dataset in memory".into());
    }
    let backup: Pairs = {
        let cfg = shared.cfg();
        pairs.iter().flat_map(|(k, _)| cfg.get(k)).map(|(k, v)| (k.into_bytes(), v.into_bytes())).collect()
    };
    shared.config.write().unwrap_or_else(|e| e.into_inner()).set_ext(pairs, local)?;
    Ok(backup)
}

/// What follows a successful set, wherever it ran: the settings take effect, and lowering
/// maxmemory below the memory in use is warned about as Redis does.
pub fn applied(shared: &Shared, pairs: &Pairs) {
    shared.apply_config();
    if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(b"maxmemory")) {
        warn_maxmemory_below_usage(shared);
    }
}

/// Whether tracking-table-max-keys changed (the keyspace applies the new limit at once).
pub fn changes_tracking_limit(pairs: &Pairs) -> bool {
    pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(b"tracking-table-max-keys"))
}

/// CONFIG SET maxmemory below the memory in use: Redis's warning (the keyspace's cron then
/// evicts, as Redis's eviction time proc).
fn warn_maxmemory_below_usage(shared: &Shared) {
    let max = shared.hot.maxmemory.load(Relaxed);
    let used = crate::keyspace::info::used_memory().saturating_sub(crate::keyspace::evict::not_counted_memory(shared));
    if max > 0 && max < used {
        crate::warning!(shared.log, "WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", max, used);
    }
}

/// CONFIG GET's reply.
pub fn get(shared: &Shared, out: &mut Out, a: &[Bytes]) {
    let cfg = shared.cfg();
    let mut found: Vec<(String, String)> = vec![];
    for p in &a[2..] {
        for kv in cfg.get(p) {
            if !found.iter().any(|(k, _)| *k == kv.0) {
                found.push(kv);
            }
        }
    }
    drop(cfg);
    out.map(found.len());
    for (k, v) in found {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

impl Keyspace {
    /// CONFIG SET / GET queued in a transaction, run in the transaction's turn.
    pub(crate) fn config_in_place(&mut self, client_id: u64, out: &mut Out, a: &[Bytes]) {
        if !a[1].eq_ignore_ascii_case(b"set") {
            return get(&self.shared, out, a);
        }
        let local = self.client_meta(client_id).is_some_and(|m| m.local);
        let pairs = pairs(a);
        match set(&self.shared, &pairs, local) {
            Ok(_) => {
                applied(&self.shared, &pairs);
                if changes_tracking_limit(&pairs) {
                    self.tracking_limit();
                }
                out.ok();
            }
            Err(e) => out.error(&e),
        }
    }
}
