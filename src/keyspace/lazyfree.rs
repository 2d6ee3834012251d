//! Freeing big things off the keyspace thread: FLUSHALL/FLUSHDB ASYNC (or plain, with
//! `lazyfree-lazy-user-flush yes`) and the old dataset a replica replaces after a full sync
//! with `replica-lazy-flush yes`. The keyspace swaps in empty tables at once; dropping the old
//! ones (which can take a while for millions of keys) happens on a thread of its own.

use crate::shared::Shared;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// Drops `v`, which holds `objects` keys, on a background thread (inline if no thread can
/// be started).
pub fn free_later<T: Send + 'static>(shared: &Arc<Shared>, v: T, objects: u64) {
    if objects == 0 {
        return;
    }
    shared.stats.lazyfree_pending_objects.fetch_add(objects, Relaxed);
    let sh = shared.clone();
    let job = move || {
        drop(v);
        sh.stats.lazyfree_pending_objects.fetch_sub(objects, Relaxed);
        sh.stats.lazyfreed_objects.fetch_add(objects, Relaxed);
    };
    if let Err(e) = std::thread::Builder::new().name("lazyfree".into()).spawn(job) {
        // The job (and what it held) is dropped with the error.
        shared.stats.lazyfree_pending_objects.fetch_sub(objects, Relaxed);
        crate::warning!(shared.log, "Can't start a lazyfree thread ({}): freed in the foreground", e);
    }
}
