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

/// Adds one executor thread, once per process (a long script holds the keyspace's thread:
/// the connections must still be served). The thread stays: stopping it again could stop the
/// one a later long script relies on.
pub fn lend_executor_thread() {
    static LENT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !LENT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let _ = futures::executor::block_on(async_global_executor::spawn_more_threads(1));
    }
}

/// Sleeps without blocking the executor.
/// Lets the other ready tasks run before this one continues.
pub async fn yield_now() {
    async_std::task::yield_now().await
}

pub async fn sleep(d: Duration) {
    async_std::task::sleep(d).await
}

/// Stops a listening socket from accepting (new connections are refused) while its owner
/// still holds it; a pending accept on it fails.
pub fn stop_listening(fd: i32) {
    // SAFETY: shutdown(2) on a descriptor the caller keeps open; no memory is involved.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}

/// Awaits `fut` for at most `d`; `None` on timeout.
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    async_std::future::timeout(d, fut).await.ok()
}

/// A broadcast wake-up: [`wait_or`](Signal::wait_or) returns when the future is done or the
/// next [`notify_all`](Signal::notify_all) comes, whichever is first. No timer per wait.
#[derive(Default)]
pub struct Signal(event_listener::Event);

impl Signal {
    pub fn notify_all(&self) {
        self.0.notify(usize::MAX);
    }

    /// Awaits `fut` until the next notification, checking `cond` once the wait is registered
    /// (so a notification between the check and the wait is not missed): None when `cond`
    /// held or a notification came first.
    pub async fn wait_or<F: Future + Unpin>(&self, fut: &mut F, cond: impl Fn() -> bool) -> Option<F::Output> {
        let listener = self.0.listen();
        if cond() {
            return None;
        }
        match futures::future::select(fut, listener).await {
            futures::future::Either::Left((out, _)) => Some(out),
            futures::future::Either::Right(_) => None,
        }
    }
}

/// Runs a future to completion on the current thread (binary entry point, tests).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    async_std::task::block_on(fut)
}

/// Starts an actor and returns its address.
pub async fn start<A: Actor>(actor: A) -> ActorResult<Addr<A>> {
    actor.start().await
}

pub use async_std::os::unix::net::{UnixListener, UnixStream};

/// Binds a TCP listener whose accept queue holds `backlog` connections (`tcp-backlog`).
///
/// async-std's `bind` listens with std's fixed backlog of 128; `listen` is called again on
/// the bound socket with the configured length (the kernel updates the queue of a listening
/// socket in place, and caps it at `net.core.somaxconn`).
pub async fn tcp_listen(addr: &str, backlog: i32) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr).await?;
    socket2::SockRef::from(&l).listen(backlog)?;
    Ok(l)
}

/// Binds a Unix-socket listener whose queue holds `backlog` connections, like [`tcp_listen`]
/// (Redis uses `tcp-backlog` for both).
pub async fn unix_listen(path: &str, backlog: i32) -> std::io::Result<UnixListener> {
    let l = UnixListener::bind(path).await?;
    socket2::SockRef::from(&l).listen(backlog)?;
    Ok(l)
}

/// A client connection: TCP or a Unix socket (`unixsocket` directive). Cloning shares the
/// socket (one reader task, one writer), like async-std's own streams.
#[derive(Clone, Debug)]
pub enum Conn {
    /// Held as async-io's `Async` (what async-std's stream wraps) for `readable`.
    Tcp(std::sync::Arc<async_io::Async<std::net::TcpStream>>),
    Unix(UnixStream),
}

impl Conn {
    /// A connection over an accepted TCP stream.
    pub fn tcp(s: TcpStream) -> std::io::Result<Conn> {
        let s = std::net::TcpStream::try_from(s)?;
        Ok(Conn::Tcp(std::sync::Arc::new(async_io::Async::new(s)?)))
    }

    /// Waits until the socket has bytes to read (or is closed), without reading. A reader
    /// that expects to wait (it has answered everything it read) waits here first instead of
    /// trying a read that would fail with EAGAIN: one system call less per request batch.
    pub async fn readable(&self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.readable().await,
            Conn::Unix(_) => Ok(()),
        }
    }

    /// `ip:port` of the peer (`/path:0` style for Unix sockets, as Redis shows them).
    pub fn peer(&self) -> String {
        match self {
            Conn::Tcp(s) => s.get_ref().peer_addr().map(|a| a.to_string()).unwrap_or_default(),
            Conn::Unix(s) => s
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("{}:0", p.display())))
                .unwrap_or_else(|| "/unixsocket:0".into()),
        }
    }

    pub fn local(&self) -> String {
        match self {
            Conn::Tcp(s) => s.get_ref().local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Conn::Unix(s) => s
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("{}:0", p.display())))
                .unwrap_or_default(),
        }
    }

    /// Whether the peer is local as Redis's `islocalClient` has it (protected mode): a Unix
    /// socket, or TCP from exactly 127.0.0.1 or ::1 (not the rest of 127.0.0.0/8).
    pub fn is_local(&self) -> bool {
        match self {
            Conn::Tcp(s) => s
                .get_ref()
                .peer_addr()
                .map(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST || a.ip() == std::net::Ipv6Addr::LOCALHOST)
                .unwrap_or(false),
            Conn::Unix(_) => true,
        }
    }

    pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.get_ref().shutdown(how),
            Conn::Unix(s) => s.shutdown(how),
        }
    }

    pub fn set_nodelay(&self) {
        if let Conn::Tcp(s) = self {
            let _ = s.get_ref().set_nodelay(true);
        }
    }
}

impl futures::AsyncRead for Conn {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(s) => std::pin::Pin::new(&mut &**s).poll_read(cx, buf),
            Conn::Unix(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl futures::AsyncWrite for Conn {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(s) => std::pin::Pin::new(&mut &**s).poll_write(cx, buf),
            Conn::Unix(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => std::pin::Pin::new(&mut &**s).poll_flush(cx),
            Conn::Unix(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_close(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => std::pin::Pin::new(&mut &**s).poll_close(cx),
            Conn::Unix(s) => std::pin::Pin::new(s).poll_close(cx),
        }
    }
}
