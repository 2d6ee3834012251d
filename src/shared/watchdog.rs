//! The software watchdog (`watchdog-period`), as Redis's: when the server's main work has
//! stalled for longer than the period (the keyspace has not run its cron: a slow command, a
//! long script, a blocking load), it logs `--- WATCHDOG TIMER EXPIRED ---` once per stall,
//! with what the server was doing where Redis prints the main thread's stack.

use super::Shared;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the watchdog looks while it is off.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// Starts this server's watchdog: a thread of its own, as the stall it reports may hold the
/// executor's threads. It ends when the server is gone (`Shared` drops `stop`'s sender).
pub fn start(shared: &Arc<Shared>, stop: flume::Receiver<()>) {
    let weak = Arc::downgrade(shared);
    let _ = std::thread::Builder::new().name("watchdog".into()).spawn(move || run(weak, stop));
}

fn run(weak: Weak<Shared>, stop: flume::Receiver<()>) {
    // The cron stamp of the stall already reported (one report per stall, as Redis's
    // one-shot timer that only serverCron re-arms).
    let mut reported = None;
    loop {
        let wait = match weak.upgrade() {
            Some(shared) => check(&shared, &mut reported),
            None => return,
        };
        if let Err(flume::RecvTimeoutError::Disconnected) = stop.recv_timeout(wait) {
            return;
        }
    }
}

/// The effective period (ms; 0 when off): at least two cron periods, as Redis enforces.
fn period_ms(shared: &Shared) -> u64 {
    let c = shared.cfg();
    let period = c.int("watchdog-period").max(0) as u64;
    if period == 0 {
        return 0;
    }
    let hz = c.hz().clamp(1, 500) as u64;
    period.max(1000 / hz * 2)
}

/// Reports a stall if there is one; returns when to look again.
fn check(shared: &Shared, reported: &mut Option<u64>) -> Duration {
    let period = period_ms(shared);
    if period == 0 {
        *reported = None;
        return IDLE_CHECK;
    }
    let stamp = shared.cron_stamp.load(Relaxed);
    let stalled = (crate::util::now_ms() as u64).saturating_sub(stamp);
    if stalled >= period && *reported != Some(stamp) {
        *reported = Some(stamp);
        crate::warning!(shared.log, "--- WATCHDOG TIMER EXPIRED ---");
        crate::warning!(shared.log, "The server has not run its cron for {} ms: {}.", stalled, doing(shared));
        crate::warning!(shared.log, "--------");
    }
    Duration::from_millis((period / 4).clamp(10, 100))
}

/// What keeps the server from its cron, as far as the shared state tells.
fn doing(shared: &Shared) -> &'static str {
    if shared.script.busy.load(Relaxed) != 0 {
        "a script is running past busy-reply-threshold"
    } else if shared.loading.load(Relaxed) && !shared.async_loading.load(Relaxed) {
        "loading a dataset (commands get -LOADING)"
    } else {
        "the keyspace is busy with one command or transaction"
    }
}
