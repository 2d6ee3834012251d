//! SIGTERM/SIGINT handling for the binary: a signal becomes a shutdown request.

use crate::shared::Shared;
use std::sync::Arc;

/// Registers for SIGTERM and SIGINT (before the server starts, so none is missed).
pub fn listen() -> Option<signal_hook::iterator::Signals> {
    signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]).ok()
}

/// Forwards signals to the server from a small thread.
pub(crate) fn forward(signals: Option<signal_hook::iterator::Signals>, shared: Arc<Shared>) {
    let Some(mut signals) = signals else { return };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let name = if sig == signal_hook::consts::SIGINT { "SIGINT" } else { "SIGTERM" };
            shared.signal_shutdown(name);
        }
    });
}
