//! SIGTERM/SIGINT handling for the binary: a signal becomes a shutdown request.

use crate::shared::Shared;
use std::sync::Arc;

/// Registers for SIGTERM and SIGINT (before the server starts, so none is missed).
///
/// SIGXFSZ is ignored: a write past the process's file-size limit (`ulimit -f`) then fails
/// with EFBIG, which the AOF and RDB writers report and recover from, instead of killing the
/// server and losing what it holds in memory.
pub fn listen() -> Option<signal_hook::iterator::Signals> {
    // SAFETY: setting a signal's disposition to "ignore" before other threads use it.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]).ok()
}

/// Forwards signals to the server from a small thread.
pub(crate) fn forward(signals: Option<signal_hook::iterator::Signals>, shared: Arc<Shared>) {
    let Some(mut signals) = signals else { return };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let name = if sig == signal_hook::consts::SIGINT { "SIGINT" } else { "SIGTERM" };
            shared.signal_shutdown(name);
            // A keyspace held (a debugging session, a long command) runs no cron: after 200 ms
            // the shutdown starts from here, unless DEBUG PAUSE-CRON holds it back.
            let shared = shared.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if !shared.cron_paused.load(std::sync::atomic::Ordering::Relaxed) {
                    shared.take_signalled_shutdown();
                }
            });
        }
    });
}
