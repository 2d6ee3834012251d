//! maxmemory eviction, as Redis 7.0's `performEvictions`: while used memory (less what Redis
//! does not count, the replication buffer beyond `repl-backlog-size`) is over `maxmemory`,
//! keys chosen by `maxmemory-policy` are deleted, each propagated as DEL (UNLINK with
//! `lazyfree-lazy-eviction`) and published as an `evicted` event.
//!
//! LRU, LFU and TTL policies sample `maxmemory-samples` keys of each database into a pool of
//! the 16 best candidates kept between rounds (Redis's eviction pool), then evict the best
//! one still present; random policies take a random key of the databases in turn. A round
//! stops after `maxmemory-eviction-tenacity`'s time budget and continues from the mailbox
//! (Redis's eviction time proc), so a big eviction does not stall the clients.

use super::{lru, Keyspace};
use crate::shared::{Policy, Shared};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Candidates kept between rounds (`EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;

/// What a round of eviction achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Memory is within the limit (or nothing to do).
    Ok,
    /// The time budget ran out: eviction continues later; the command is allowed.
    Running,
    /// Over the limit with nothing left to evict (or `noeviction`).
    Fail,
}

/// One pool entry: the higher `score`, the better the candidate.
#[derive(Clone)]
pub struct Candidate {
    score: u64,
    db: usize,
    key: Bytes,
}

/// The eviction pool and the random policies' next database.
#[derive(Default)]
pub struct Evictor {
    pool: Vec<Candidate>,
    next_db: usize,
    /// An `EvictMore` is in the mailbox.
    pub more_queued: bool,
}

/// Memory Redis does not count against maxmemory (`freeMemoryGetNotCountedMemory`): the
/// shared replication buffer beyond `repl-backlog-size` and its blocks' bookkeeping (what
/// lagging replicas pin).
pub fn not_counted_memory(shared: &Shared) -> u64 {
    let held = shared.repl.buffer_mem.load(Relaxed);
    let size = shared.cfg().repl_backlog_size();
    let counted = size + (size / crate::shared::REPL_BLOCK as u64 + 1) * crate::shared::REPL_BLOCK_OVERHEAD as u64;
    held.saturating_sub(counted)
}

/// `maxmemory-clients` in bytes (a percentage is of `maxmemory`); 0: no client eviction.
fn client_memory_limit(shared: &Shared) -> u64 {
    let v = shared.hot.maxmemory_clients.load(Relaxed);
    if v >= 0 {
        return v as u64;
    }
    shared.hot.maxmemory.load(Relaxed).saturating_mul(v.unsigned_abs() as u64) / 100
}

/// What a connection holds in buffers: its query buffer, the batch waiting for it, the
/// replies being written and the pushes queued for it.
fn client_memory(m: &crate::shared::ClientMeta) -> u64 {
    m.qbuf.load(Relaxed) + m.qbuf_free.load(Relaxed) + m.qbuf_batch.load(Relaxed) + m.omem.load(Relaxed) + m.push.pending_bytes() as u64
}

/// Client eviction (`maxmemory-clients`), as Redis 7.0's: while the connections' buffers add
/// up to more than the limit, the one holding the most is closed and counted in
/// `evicted_clients`. Replicas and the master link are neither counted nor evicted, CLIENT
/// NO-EVICT connections are counted but never evicted. True when a connection was (its memory is freed as its actor stops).
pub fn evict_clients(shared: &Shared) -> bool {
    let limit = client_memory_limit(shared);
    if limit == 0 {
        return false;
    }
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    // Normal and Pub/Sub connections count, CLIENT NO-EVICT ones too (as in Redis, they can
    // push the others out); only the others are candidates.
    let normal = |m: &crate::shared::ClientMeta| !m.is_replica.load(Relaxed) && !m.is_master.load(Relaxed) && !m.killed.load(Relaxed);
    let mut total: u64 = clients.values().filter(|e| normal(&e.meta)).map(|e| client_memory(&e.meta)).sum();
    if total <= limit {
        return false;
    }
    let mut mems: Vec<(u64, u64)> =
        clients.iter().filter(|(_, e)| normal(&e.meta) && !e.meta.no_evict.load(Relaxed)).map(|(id, e)| (client_memory(&e.meta), *id)).collect();
    mems.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    let mut evicted = false;
    for (mem, id) in mems {
        if total <= limit {
            break;
        }
        let Some(e) = clients.get(&id) else { continue };
        crate::verbose!(shared.log, "Evicting client: {}", crate::keyspace::cmd::clients::client_line(&e.meta));
        e.meta.killed.store(true, Relaxed);
        (e.kill)();
        shared.stats.evicted_clients.fetch_add(1, Relaxed);
        total -= mem;
        evicted = true;
    }
    evicted
}

/// With client eviction on, whether a closed connection has not given its memory back yet
/// (its actor stops soon): keys wait rather than pay for it.
fn evicted_clients_pending(shared: &Shared) -> bool {
    if shared.hot.maxmemory_clients.load(Relaxed) == 0 {
        return false;
    }
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    clients.values().any(|e| e.meta.killed.load(Relaxed) && !e.meta.is_replica.load(Relaxed))
}

/// Bytes over `maxmemory` now, fresh from the allocator (0 when within it or unlimited).
pub fn bytes_over(shared: &Shared) -> u64 {
    let max = shared.hot.maxmemory.load(Relaxed);
    if max == 0 {
        return 0;
    }
    let used = super::info::used_memory().saturating_sub(not_counted_memory(shared));
    used.saturating_sub(max)
}

/// Whether this server evicts at all: not as a replica with `replica-ignore-maxmemory`.
pub fn evicts_here(shared: &Shared) -> bool {
    !(shared.is_replica.load(Relaxed) && shared.hot.replica_ignore_maxmemory.load(Relaxed))
}

/// `maxmemory-eviction-tenacity` as a time budget (Redis's `evictionTimeLimitUs`).
fn time_limit(tenacity: u64) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * tenacity.max(1))),
        11..=99 => Some(Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64)),
        _ => None,
    }
}

/// An estimate of the bytes deleting a key gives back: its allocation, the table slot, the
/// value (rounded up as the allocator's size classes do for small ones).
fn key_cost(key_len: usize, v: &super::Value) -> u64 {
    let round = |n: usize| n.div_ceil(16) * 16;
    let value = match v {
        super::Value::Str(s) => round(s.len() + 4),
        other => other.approx_size() + 64,
    };
    (32 + round(key_len + 8) + value) as u64
}

impl Keyspace {
    /// Evicts until memory is within `maxmemory`, the time budget runs out, or nothing is
    /// left to evict.
    pub fn perform_evictions(&mut self) -> Outcome {
        // Connections over `maxmemory-clients` go first, as in Redis; their memory comes back
        // as they stop, so keys wait for the next look.
        if evict_clients(&self.shared) || (bytes_over(&self.shared) > 0 && evicted_clients_pending(&self.shared)) {
            return Outcome::Ok;
        }
        if !evicts_here(&self.shared) {
            return Outcome::Ok;
        }
        let mut to_free = bytes_over(&self.shared);
        if to_free == 0 {
            return Outcome::Ok;
        }
        let policy = self.shared.hot.policy();
        if policy == Policy::NoEviction {
            return Outcome::Fail;
        }
        let (samples, limit) = {
            let cfg = self.shared.cfg();
            (cfg.maxmemory_samples().max(1) as usize, time_limit(cfg.int("maxmemory-eviction-tenacity") as u64))
        };
        let lazy = self.shared.cfg().lazyfree_lazy_eviction();
        let start = Instant::now();
        let mut evicted = 0u64;
        let measured = super::info::thread_alloc().is_some();
        // Keys are evicted until what they freed adds up to the excess. With the allocator's
        // per-thread totals, that is what each deletion really freed (as Redis counts), and
        // the pass ends there; otherwise the sizes are estimates and the allocator is asked
        // again after each pass (tables keep their capacity, so an estimate can be high).
        loop {
            let mut freed = 0u64;
            while freed < to_free {
                let Some((db, key)) = self.pick_victim(policy, samples) else {
                    super::info::forget_used_memory();
                    return Outcome::Fail;
                };
                freed += self.evict_key(db, &key, lazy);
                evicted += 1;
                if evicted.is_multiple_of(16) && limit.is_some_and(|l| start.elapsed() > l) {
                    super::info::forget_used_memory();
                    return if bytes_over(&self.shared) == 0 { Outcome::Ok } else { Outcome::Running };
                }
            }
            super::info::forget_used_memory();
            if measured && !lazy {
                return Outcome::Ok;
            }
            to_free = bytes_over(&self.shared);
            if to_free == 0 {
                return Outcome::Ok;
            }
        }
    }

    /// Deletes an evicted key: DEL (or UNLINK) to the replicas, `evicted` to subscribers,
    /// WATCHers dirtied. Returns the bytes it is estimated to free.
    fn evict_key(&mut self, db: usize, key: &[u8], lazy: bool) -> u64 {
        let before = super::info::thread_alloc();
        let d = &mut self.dbs[db];
        let Some((k, v)) = d.keys.remove_entry(key) else { return 0 };
        let mut cost = key_cost(k.len(), &v);
        d.expires.remove(key);
        if lazy {
            super::lazyfree::free_later(&self.shared, v, 1);
        } else {
            drop(v);
        }
        drop(k);
        // What the deletion freed, measured before the invalidations and notifications
        // below allocate their messages (Redis measures the same span).
        if let (false, Some((a0, f0)), Some((a1, f1))) = (lazy, before, super::info::thread_alloc()) {
            cost = (f1 - f0).saturating_sub(a1 - a0);
        }
        self.stats.evicted_keys += 1;
        self.signal_modified(db, key, 0);
        let verb: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
        let key = Bytes::copy_from_slice(key);
        self.feed.propagate(db, vec![vec![Bytes::from_static(verb), key.clone()]], false);
        self.notify_db(None, crate::config::notify::EVICTED, "evicted", &key, db);
        cost
    }

    /// The next key to evict under `policy`, if any key can be.
    fn pick_victim(&mut self, policy: Policy, samples: usize) -> Option<(usize, Bytes)> {
        match policy {
            Policy::AllkeysRandom | Policy::VolatileRandom => self.random_victim(policy.is_volatile()),
            _ => self.pooled_victim(policy, samples),
        }
    }

    /// Random policies: a random key (with a TTL, for volatile-random) of the next database
    /// that has one.
    fn random_victim(&mut self, volatile: bool) -> Option<(usize, Bytes)> {
        let n = self.dbs.len();
        for _ in 0..n {
            let db = self.evictor.next_db % n;
            self.evictor.next_db = self.evictor.next_db.wrapping_add(1);
            let d = &self.dbs[db];
            let key = if volatile {
                d.expires.random_entry(&mut self.rng).map(|(k, _)| k.to_bytes())
            } else {
                d.keys.random_entry(&mut self.rng).map(|(k, _)| k.to_bytes())
            };
            if key.is_some() {
                return key.map(|k| (db, k));
            }
        }
        None
    }

    /// LRU, LFU and TTL policies: refill the pool from samples of every database, then take
    /// the best candidate that still exists.
    fn pooled_victim(&mut self, policy: Policy, samples: usize) -> Option<(usize, Bytes)> {
        loop {
            let candidates: usize = self
                .dbs
                .iter()
                .map(|d| if policy.is_volatile() { d.expires.len() } else { d.keys.len() })
                .sum();
            if candidates == 0 {
                return None;
            }
            for db in 0..self.dbs.len() {
                self.populate_pool(policy, db, samples);
            }
            while let Some(c) = self.evictor.pool.pop() {
                let d = &self.dbs[c.db];
                let present = if policy.is_volatile() { d.expires.contains_key(&c.key) } else { d.keys.contains_key(&c.key) };
                if present {
                    return Some((c.db, c.key));
                }
            }
        }
    }

    /// Samples keys of `db` into the pool (Redis's `evictionPoolPopulate`).
    fn populate_pool(&mut self, policy: Policy, db: usize, samples: usize) {
        let now = crate::util::now_ms();
        let decay = self.shared.hot.lfu_decay_time.load(Relaxed);
        let d = &self.dbs[db];
        let volatile = policy.is_volatile();
        if (volatile && d.expires.is_empty()) || d.keys.is_empty() {
            return;
        }
        for _ in 0..samples {
            let (key, when) = if volatile {
                match d.expires.random_entry(&mut self.rng) {
                    Some((k, &w)) => (k.as_slice(), w),
                    None => break,
                }
            } else {
                match d.keys.random_entry(&mut self.rng) {
                    Some((k, _)) => (k.as_slice(), 0),
                    None => break,
                }
            };
            let word = || d.keys.get_key_value(key).map_or(0, |(k, _)| k.clock());
            let score = match policy {
                Policy::VolatileTtl => u64::MAX - when.max(0) as u64,
                p if p.is_lfu() => 255 - lru::lfu_counter(word(), now, decay) as u64,
                _ => lru::idle_secs(word(), now) * 1000,
            };
            insert_candidate(&mut self.evictor.pool, Candidate { score, db, key: Bytes::copy_from_slice(key) });
        }
    }
}

/// Puts a candidate into the pool, kept sorted by score ascending (best last), at most
/// [`POOL_SIZE`] entries: a candidate worse than all of a full pool is dropped.
fn insert_candidate(pool: &mut Vec<Candidate>, c: Candidate) {
    if let Some(existing) = pool.iter().position(|p| p.db == c.db && p.key == c.key) {
        pool.remove(existing);
    }
    let at = pool.partition_point(|p| p.score < c.score);
    if pool.len() >= POOL_SIZE {
        if at == 0 {
            return;
        }
        pool.remove(0);
        pool.insert(at - 1, c);
    } else {
        pool.insert(at, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_keeps_the_best() {
        let mut pool = vec![];
        for s in [5u64, 1, 9, 3, 7, 20, 0, 15, 11, 2, 4, 6, 8, 10, 12, 13, 14, 16, 17] {
            insert_candidate(&mut pool, Candidate { score: s, db: 0, key: Bytes::from(s.to_string()) });
        }
        assert_eq!(pool.len(), POOL_SIZE);
        let scores: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*scores.last().unwrap(), 20);
        assert_eq!(scores[0], 3, "the three lowest of 19 were dropped");
    }

    #[test]
    fn tenacity() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(100), None);
        assert!(time_limit(50).unwrap() > Duration::from_millis(100));
    }
}
