//! The one place that names the async runtime and the actor library.
//!
//! Everything else in tandem spawns, sleeps, listens and talks to actors through these
//! re-exports and helpers, so moving from async-std/xactor to another runtime (smol, the
//! hannibal fork, xactor's tokio feature) touches only this file.

pub use async_std::io::{ReadExt, WriteExt};
pub use async_std::net::{TcpListener, TcpStream};
pub use async_trait::async_trait;
pub use xactor::{Actor, Addr, Context, Handler, Message, WeakAddr};

use std::future::Future;
use std::time::Duration;

/// Result type of actor calls (xactor uses anyhow).
pub type ActorResult<T> = xactor::Result<T>;

/// Spawns a detached task on the runtime's executor.
pub fn spawn<F>(fut: F) -> async_std::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    async_std::task::spawn(fut)
}

/// Runs blocking work (RDB serialisation, file I/O) off the executor threads.
pub fn spawn_blocking<F, T>(f: F) -> async_std::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    async_std::task::spawn_blocking(f)
}

/// Sleeps without blocking the executor.
pub async fn sleep(d: Duration) {
    async_std::task::sleep(d).await
}

/// Awaits `fut` for at most `d`; `None` on timeout.
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    async_std::future::timeout(d, fut).await.ok()
}

/// Runs a future to completion on the current thread (binary entry point, tests).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    async_std::task::block_on(fut)
}

/// Starts an actor and returns its address.
pub async fn start<A: Actor>(actor: A) -> ActorResult<Addr<A>> {
    actor.start().await
}

/// Logs one actor message on the trace target: `from -> to: kind`.
///
/// Cheap when tracing is off: the level check comes first.
#[macro_export]
macro_rules! trace_msg {
    ($from:expr, $to:expr, $($kind:tt)+) => {
        if log::log_enabled!(target: $crate::logging::TRACE_TARGET, log::Level::Trace) {
            log::trace!(target: $crate::logging::TRACE_TARGET, "{} -> {}: {}", $from, $to, format_args!($($kind)+));
        }
    };
}
