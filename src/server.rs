//! A server instance: the listener, the keyspace, and their shutdown.
//!
//! `Server::start` is what the binary and embedders both call, so embedding runs exactly the
//! code that serves. Several servers can run in one process: nothing here is global.

use crate::client::{Client, Kill};
use crate::config::Config;
use crate::embed::{Connection, Value};
use crate::keyspace::Keyspace;
use crate::repl::ReplActors;
use crate::rt::{self, async_trait, Actor, Addr, Conn, Context, Handler, Message, TcpListener, UnixListener};
use crate::shared::{ClientEntry, ClientMeta, Shared};
pub use crate::shared::ShutdownRequest;
use futures::FutureExt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// A running server: its address, its actors, and how to stop it.
pub struct ServerHandle {
    /// The first address bound (port 0 in the config is resolved here).
    pub addr: SocketAddr,
    pub(crate) keyspace: Addr<Keyspace>,
    pub(crate) listener: Addr<Listener>,
    pub(crate) shared: Arc<Shared>,
    /// The replication actors (the backlog and the master link).
    pub(crate) repl: ReplActors,
    /// The connection `exec`, `wait` and the other helpers use (opened on first use).
    pub(crate) default_conn: futures::lock::Mutex<Option<crate::embed::Connection>>,
}

impl ServerHandle {
    /// This server's logger (the binary logs its start-up lines through it).
    pub fn log(&self) -> &crate::logging::ServerLog {
        &self.shared.log
    }

    /// Shuts this server down on SIGTERM/SIGINT (the binary's signal handling).
    pub fn forward_signals(&self, signals: Option<signal_hook::iterator::Signals>) {
        crate::signals::forward(signals, self.shared.clone());
    }

    /// Loads the AOF now (with `appendonly yes`) and waits for it, clients being answered
    /// -LOADING meanwhile: the binary calls it once it logged its start-up lines, so the
    /// load's lines come between them and "Ready to accept connections", as in Redis's log.
    /// (Left alone, the keyspace's first cron tick starts the load.) False when the load
    /// failed: the server is then stopping.
    pub async fn load(&self) -> bool {
        let _ = self.keyspace.call(crate::keyspace::aof::LoadAof).await;
        self.shared.fatal.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Stops the server: no new connections, in-flight replies finish, clients close.
    pub async fn stop(self) {
        // Forced: stop() always ends the server, even when its final save fails.
        self.shared.request_shutdown(ShutdownRequest { force: true, ..Default::default() });
        let _ = self.join().await;
    }

    /// Waits until the server stops (SHUTDOWN, a signal, or `stop`), then tears it down.
    ///
    /// Nothing after the final save waits for an actor: the teardown is sent, not called, so
    /// a busy executor (a long command such as DEBUG SLEEP holding the only thread) cannot
    /// hold the process back once it said it is ready to exit.
    /// Err when the server stopped on a fatal error of its own (an unreadable RDB at start).
    pub async fn join(mut self) -> Result<(), String> {
        let req = loop {
            let req = self.shared.shutdown_rx.recv_async().await.unwrap_or_default();
            self.shared.shutdown_started.store(true, Relaxed);
            let fatal = self.shared.fatal.lock().unwrap_or_else(|e| e.into_inner()).is_some();
            if req.signal.is_none() && !fatal {
                crate::warning!(self.shared.log, "User requested shutdown...");
            }
            // The save child goes first, as in Redis's prepareForShutdown: once connections
            // are refused its temp file is gone.
            crate::keyspace::persist::stop_save_child(&self.shared);
            crate::keyspace::aof::stop_rewrite_child(&self.shared);
            if self.shared.cfg().flag("appendonly") {
                let _ = rt::timeout(std::time::Duration::from_secs(5), self.keyspace.call(crate::keyspace::aof::AofShutdown)).await;
            }
            if crate::keyspace::persist::final_save(&self.shared, &self.keyspace, &req).await || req.force {
                break req;
            }
            // As Redis: a failed final save keeps the server running (SHUTDOWN FORCE exits).
            crate::warning!(self.shared.log, "Errors trying to shut down the server. Check the logs for more information.");
            self.shared.shutdown_started.store(false, Relaxed);
            if let Some(tx) = &req.outcome {
                let _ = tx.send(false);
            }
        };
        if let Some(tx) = &req.outcome {
            let _ = tx.send(true);
        }
        // Sent, not awaited: a thread held by a long command (DEBUG SLEEP) must not delay the
        // exit. `finish` stops the listening sockets itself, before any client's connection
        // closes, as Redis closes them first (a client that saw its connection close cannot
        // connect again).
        let _ = self.listener.send(StopAccepting);
        finish(&self.shared);
        let actors = &self.repl;
        let _ = actors.link.send(crate::repl::link::StopLink);
        // Other actors hold the backlog's and the link's addresses (the keyspace, clients,
        // replicas): they end only when told (queued after what they were sent before).
        let _ = actors.link.clone().stop(None);
        let _ = actors.backlog.clone().stop(None);
        let _ = self.listener.stop(None);
        let _ = self.keyspace.stop(None);
        crate::keyspace::persist::remove_own_temp(&self.shared);
        let fatal = self.shared.fatal.lock().unwrap_or_else(|e| e.into_inner()).take();
        if fatal.is_none() {
            crate::warning!(self.shared.log, "Redis is now ready to exit, bye bye...");
        }
        self.shared.log.flush();
        fatal.map_or(Ok(()), Err)
    }
}

/// Refuses new commands and closes every client.
fn finish(shared: &Arc<Shared>) {
    shared.shutting_down.store(true, Relaxed);
    // The listening sockets stop at once, whatever the executor's threads are doing (their
    // accept tasks end when the listener actor handles StopAccepting).
    for fd in std::mem::take(&mut *shared.listen_fds.lock().unwrap_or_else(|e| e.into_inner())) {
        rt::stop_listening(fd);
    }
    let kills: Vec<_> = {
        let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.values().map(|e| (e.meta.clone(), ())).collect()
    };
    for (m, _) in &kills {
        m.killed.store(true, Relaxed);
    }
    {
        let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
        for e in clients.values() {
            (e.kill)();
        }
    }
}

/// Starts servers: [`Server::start`] (logs as the config says) or
/// [`Server::start_with_log`] (a logger of the caller's choosing).
pub struct Server;

impl Server {
    /// Binds the configured addresses and starts the keyspace and listener actors.
    /// Logs go where the config's `logfile`, `loglevel` and `trace` say.
    pub async fn start(config: Config) -> Result<ServerHandle, String> {
        let log = crate::logging::ServerLog::from_config(&config)?;
        Self::start_with_log(config, log).await
    }

    /// [`Server::start`] with a logger chosen by the caller (the binary's, which logged the
    /// start-up lines, or [`ServerLog::via_app`](crate::logging::ServerLog::via_app) to route
    /// this server's lines through the application's own `log` logger).
    pub async fn start_with_log(config: Config, log: Arc<crate::logging::ServerLog>) -> Result<ServerHandle, String> {
        for (old, _) in &config.rename_commands {
            if crate::keyspace::cmd::lookup(old).is_none() {
                let msg = format!("No such command in rename-command: {}", String::from_utf8_lossy(old));
                crate::warning!(log, "{}", msg);
                return Err(msg);
            }
        }
        let shared = Shared::new(config, log, crate::keyspace::cmd::table().len());
        crate::client::acl::init(&shared)?;
        let (port, binds, backlog) = {
            let c = shared.cfg();
            (c.port(), c.bind(), c.int("tcp-backlog").clamp(0, i32::MAX as i128) as i32)
        };
        check_backlog(&shared.log, backlog);
        let listeners = match bind_tcp(&shared, port, &binds, backlog).await {
            Ok(l) => l,
            Err((addr, e)) => {
                crate::warning!(shared.log, "Warning: Could not create server TCP listening socket {}: {}", addr, e);
                return Err(format!("Failed listening on port {} (tcp), aborting.", port));
            }
        };
        let Some(first) = listeners.first() else {
            return Err(format!("Failed listening on port {} (tcp), aborting.", port));
        };
        let addr = first.local_addr().map_err(|e| e.to_string())?;
        shared.port.store(addr.port() as u64, Relaxed);
        shared.log.set_name(&addr.port().to_string());
        if shared.log.role() == 'C' {
            shared.log.set_role(if shared.cfg().replicaof().is_some() { 'S' } else { 'M' });
        }
        let mut socks: Vec<Sock> = listeners.into_iter().map(Sock::Tcp).collect();
        let unix = shared.cfg().unixsocket().filter(|p| !p.is_empty());
        if let Some(path) = unix {
            let _ = std::fs::remove_file(&path);
            match rt::unix_listen(&path, backlog).await {
                Ok(l) => {
                    let perm = shared.cfg().int("unixsocketperm") as u32;
                    if perm != 0 {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm));
                    }
                    socks.push(Sock::Unix(l));
                }
                Err(e) => {
                    crate::warning!(shared.log, "Failed opening Unix socket: {}", e);
                    return Err(format!("Failed opening Unix socket {}: {}", path, e));
                }
            }
        }
        let keyspace = rt::start(Keyspace::new(shared.clone())).await.map_err(|e| e.to_string())?;
        let repl = crate::repl::start(&shared, &keyspace).await?;
        let listener = rt::start(Listener { shared: shared.clone(), keyspace: keyspace.clone(), repl: repl.clone(), sockets: Mutex::new(socks), stops: vec![] })
            .await
            .map_err(|e| e.to_string())?;
        let _ = shared.listener.set(Box::new(ListenerRef(listener.downgrade())));
        shared.update_proc_title();
        let used = crate::keyspace::info::used_memory();
        shared.stats.startup_memory.store(used, std::sync::atomic::Ordering::Relaxed);
        crate::keyspace::memory::note_usage(&shared, used);
        Ok(ServerHandle { addr, keyspace, listener, shared, repl, default_conn: Default::default() })
    }
}

/// Binds `port` on every configured address (`-addr`: optional). With port 0 the first
/// listener picks the port and the others reuse it. Err((addr, reason)) for the first
/// address that cannot be bound.
async fn bind_tcp(shared: &Shared, port: u16, binds: &[String], backlog: i32) -> Result<Vec<TcpListener>, (String, String)> {
    let mut listeners: Vec<TcpListener> = vec![];
    for b in binds {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, b.as_str()),
        };
        // `*`: every IPv4 address; `::*`: every IPv6 address.
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let p = match (listeners.first(), port) {
            (Some(l), 0) => l.local_addr().map(|a| a.port()).unwrap_or(0),
            _ => port,
        };
        let addr = if host.contains(':') { format!("[{}]:{}", host, p) } else { format!("{}:{}", host, p) };
        match rt::tcp_listen(&addr, backlog).await {
            Ok(l) => listeners.push(l),
            Err(e) if optional => crate::verbose!(shared.log, "Skipping optional bind {}: {}", addr, e),
            Err(e) => return Err((addr, crate::util::strerror(&e))),
        }
    }
    Ok(listeners)
}

/// Warns, as Redis does, when the kernel caps the listen queue below `tcp-backlog`.
fn check_backlog(log: &crate::logging::ServerLog, backlog: i32) {
    let Some(max) = std::fs::read_to_string("/proc/sys/net/core/somaxconn").ok().and_then(|v| v.trim().parse::<i32>().ok()) else {
        return;
    };
    if max < backlog {
        crate::warning!(log, 
            "WARNING: The TCP backlog setting of {} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {}.",
            backlog,
            max
        );
    }
}

/// Runs a server until `shutdown` resolves or it is shut down from inside.
pub async fn run(config: Config, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), String> {
    let handle = Server::start(config).await?;
    let shared = handle.shared.clone();
    rt::spawn(async move {
        shutdown.await;
        shared.request_shutdown(ShutdownRequest { signal: Some("SIGTERM"), ..Default::default() });
    });
    if handle.load().await {
        crate::notice!(handle.shared.log, "Ready to accept connections");
    }
    handle.join().await
}

/// The listener actor: accepts connections and starts a client actor for each.
pub struct Listener {
    shared: Arc<Shared>,
    keyspace: Addr<Keyspace>,
    repl: ReplActors,
    sockets: Mutex<Vec<Sock>>,
    /// One per accept task: (a TCP socket?, dropping it ends the task, disconnected once
    /// the task ended and closed its socket).
    stops: Vec<(bool, i32, flume::Sender<()>, flume::Receiver<()>)>,
}

/// A connection accepted by an accept task.
struct Accepted(Conn);

/// A listening socket.
enum Sock {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Sock {
    fn raw_fd(&self) -> i32 {
        use std::os::unix::io::AsRawFd;
        match self {
            Sock::Tcp(l) => l.as_raw_fd(),
            Sock::Unix(l) => l.as_raw_fd(),
        }
    }

    async fn accept(&self) -> std::io::Result<Conn> {
        match self {
            Sock::Tcp(l) => Conn::tcp(l.accept().await?.0),
            Sock::Unix(l) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
        }
    }
}
impl Message for Accepted {
    type Result = ();
}

#[async_trait]
impl Actor for Listener {
    async fn started(&mut self, ctx: &mut Context<Self>) -> rt::ActorResult<()> {
        let sockets = std::mem::take(&mut *self.sockets.lock().unwrap_or_else(|e| e.into_inner()));
        for l in sockets {
            self.spawn_accept(ctx, l);
        }
        Ok(())
    }
}

impl Listener {
    /// Starts the accept task of `l`: it hands each connection to this actor and ends (closing
    /// the socket) when its stop sender is dropped: when this actor stops (the server's end)
    /// or CONFIG SET port replaces the TCP sockets.
    fn spawn_accept(&mut self, ctx: &mut Context<Self>, l: Sock) {
        let (stop_tx, stop_rx) = flume::bounded::<()>(1);
        let (done_tx, done_rx) = flume::bounded::<()>(1);
        let fd = l.raw_fd();
        self.shared.listen_fds.lock().unwrap_or_else(|e| e.into_inner()).push(fd);
        self.stops.push((matches!(l, Sock::Tcp(_)), fd, stop_tx, done_rx));
        let addr = ctx.address().downgrade();
        let shared = self.shared.clone();
        rt::spawn(async move {
            let _done = done_tx;
            loop {
                let conn = l.accept().fuse();
                let stopping = stop_rx.recv_async().fuse();
                futures::pin_mut!(conn, stopping);
                let accepted = futures::select! {
                    c = conn => c,
                    _ = stopping => break,
                };
                let Some(a) = addr.upgrade() else { break };
                match accepted {
                    Ok(stream) => {
                        let _ = a.send(Accepted(stream));
                    }
                    Err(_) if shared.shutting_down.load(Relaxed) => break,
                    Err(e) => {
                        crate::warning!(shared.log, "Accepting client connection: {}", e);
                        rt::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }
        });
    }
}

/// CONFIG SET port: listen on the new port on every configured address, then close the old
/// TCP sockets (0: no TCP listener). Err(why) when the new port cannot be bound; the old
/// sockets stay.
struct Rebind(u16);
impl Message for Rebind {
    type Result = Result<(), String>;
}

#[async_trait]
impl Handler<Rebind> for Listener {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Rebind) -> Result<(), String> {
        crate::trace_msg!(self.shared.log, "client", "listener", "Rebind({})", msg.0);
        let fresh = if msg.0 == 0 {
            vec![]
        } else {
            let (binds, backlog) = {
                let c = self.shared.cfg();
                (c.bind(), c.int("tcp-backlog").clamp(0, i32::MAX as i128) as i32)
            };
            match bind_tcp(&self.shared, msg.0, &binds, backlog).await {
                Ok(l) => l,
                Err((addr, why)) => {
                    crate::warning!(self.shared.log, "Warning: Could not create server TCP listening socket {}: bind: {}", addr, why);
                    return Err(why);
                }
            }
        };
        self.close(true).await;
        self.shared.port.store(msg.0 as u64, Relaxed);
        for l in fresh {
            self.spawn_accept(ctx, Sock::Tcp(l));
        }
        Ok(())
    }
}

impl Listener {
    /// Ends the accept tasks (of TCP sockets only, or all) and waits until their sockets are
    /// closed.
    async fn close(&mut self, tcp_only: bool) {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.stops).into_iter().partition(|(tcp, _, _, _)| *tcp || !tcp_only);
        self.stops = kept;
        let mut done = vec![];
        for (_, fd, stop, d) in gone {
            // Off the list before the socket can close (its number may then be reused).
            self.shared.listen_fds.lock().unwrap_or_else(|e| e.into_inner()).retain(|f| *f != fd);
            drop(stop);
            done.push(d);
        }
        for d in done {
            let _ = d.recv_async().await;
        }
    }
}

/// The server is shutting down: no more connections (the sockets are closed on return, as
/// Redis closes its listening sockets before it exits).
pub(crate) struct StopAccepting;
impl Message for StopAccepting {
    type Result = ();
}

#[async_trait]
impl Handler<StopAccepting> for Listener {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: StopAccepting) {
        crate::trace_msg!(self.shared.log, "server", "listener", "StopAccepting");
        self.close(false).await;
    }
}

/// The listener as the client layer sees it (CONFIG SET port).
struct ListenerRef(rt::WeakAddr<Listener>);

#[async_trait]
impl crate::shared::ListenerControl for ListenerRef {
    async fn rebind(&self, port: u16) -> Result<(), String> {
        let Some(l) = self.0.upgrade() else { return Err("the server is stopping".into()) };
        l.call(Rebind(port)).await.unwrap_or_else(|e| Err(e.to_string()))
    }
    async fn stop_accepting(&self) {
        if let Some(l) = self.0.upgrade() {
            let _ = l.call(StopAccepting).await;
        }
    }
}

#[async_trait]
impl Handler<Accepted> for Listener {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Accepted) {
        let stream = msg.0;
        let sh = &self.shared;
        crate::trace_msg!(sh.log, "acceptor", "listener", "Accepted({})", stream.peer());
        if sh.shutting_down.load(Relaxed) {
            // Accepted just before the stop: close it rather than leave it behind.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        sh.stats.total_connections_received.fetch_add(1, Relaxed);
        let peer = stream.peer();
        let local = stream.local();
        stream.set_nodelay();
        let (maxclients, protected, nopass) = {
            let c = sh.cfg();
            (c.maxclients(), c.protected_mode(), c.requirepass().is_none())
        };
        if sh.stats.connected_clients.load(Relaxed) >= maxclients {
            sh.stats.rejected_connections.fetch_add(1, Relaxed);
            let mut s = stream;
            use rt::WriteExt;
            let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
            return;
        }
        let loopback = stream.is_local();
        if protected && nopass && !loopback {
            let mut s = stream;
            use rt::WriteExt;
            let _ = s.write_all(b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n").await;
            return;
        }
        start_client(sh, &self.keyspace, &self.repl, stream, peer, local, "listener").await;
    }
}

/// Opens an in-process connection: one end of a Unix socket pair becomes a client actor's
/// socket, the other the returned [`Connection`](crate::embed::Connection).
pub(crate) async fn connect_in_process(sh: &Arc<Shared>, keyspace: &Addr<Keyspace>, repl: &ReplActors) -> Result<crate::embed::Connection, String> {
    if sh.shutting_down.load(Relaxed) {
        return Err("server is shutting down".into());
    }
    let (ours, theirs) = rt::UnixStream::pair().map_err(|e| e.to_string())?;
    let meta = start_client(sh, keyspace, repl, Conn::Unix(theirs), "embedded:0".into(), "embedded:0".into(), "embedder")
        .await
        .ok_or("the client actor did not start")?;
    // The application owns the server: its connections need no AUTH.
    meta.authenticated.store(true, Relaxed);
    Ok(crate::embed::Connection::new(ours, meta.id))
}

/// Starts the client actor of a connection and registers it (CLIENT LIST, CLIENT KILL,
/// shutdown). Returns its id, or None when it could not start.
async fn start_client(sh: &Arc<Shared>, keyspace: &Addr<Keyspace>, repl: &ReplActors, stream: Conn, peer: String, local: String, by: &str) -> Option<Arc<ClientMeta>> {
    let id = sh.next_client_id();
    let meta = Arc::new(ClientMeta::new(id, peer, local, false));
    crate::trace_msg!(sh.log, by, format_args!("client:{}", id), "Start(addr={})", meta.addr);
    let client = Client::new(stream.clone(), sh.clone(), keyspace.clone(), repl.clone(), meta.clone());
    let addr = rt::start(client).await.ok()?;
    sh.stats.connected_clients.fetch_add(1, Relaxed);
    let weak = addr.downgrade();
    let kill_stream = stream;
    let entry = ClientEntry {
        meta: meta.clone(),
        kill: Box::new(move || {
            // Closed at once, as Redis frees a killed client on the spot (the peer sees
            // EOF now, even while the keyspace is busy, e.g. a DEBUG SLEEP queued after
            // the kill in a transaction); the actor stops after its current batch.
            let _ = kill_stream.shutdown(std::net::Shutdown::Both);
            if let Some(a) = weak.upgrade() {
                let _ = a.send(Kill("server", "killed"));
            }
        }),
    };
    let mut clients = sh.clients.lock().unwrap_or_else(|e| e.into_inner());
    // Shutdown may have closed the known clients while this one was starting.
    if sh.shutting_down.load(Relaxed) {
        entry.meta.killed.store(true, Relaxed);
        (entry.kill)();
    }
    clients.insert(id, entry);
    Some(meta)
}

/// The embedding API of a running server.
impl ServerHandle {
    /// Opens a new in-process connection (its own client: own db, MULTI, CLIENT SETNAME).
    pub async fn connect(&self) -> Result<Connection, String> {
        connect_in_process(&self.shared, &self.keyspace, &self.repl).await
    }

    /// Runs any command a connection could send, on this handle's own connection (opened on
    /// first use), e.g. `server.exec(&["SET", "k", "v"]).await`. An error reply is
    /// `Ok(Value::Error(..))`; use [`Value::into_result`](crate::embed::Value::into_result) to turn it into `Err`.
    pub async fn exec<A: AsRef<[u8]>>(&self, argv: &[A]) -> Result<Value, String> {
        let mut conn = self.default_conn.lock().await;
        if conn.is_none() {
            *conn = Some(self.connect().await?);
        }
        let Some(c) = conn.as_mut() else { return Err("no connection".into()) };
        let r = c.exec(argv).await;
        if r.is_err() {
            // Closed (CLIENT KILL, QUIT): the next call opens a new one.
            *conn = None;
        }
        r
    }

    /// REPLICAOF `host` `port`: this server becomes a replica (its dataset is replaced by the
    /// master's at the first sync).
    pub async fn replicaof(&self, host: &str, port: u16) -> Result<(), String> {
        self.exec(&["REPLICAOF", host, &port.to_string()]).await?.into_result().map(|_| ())
    }

    /// REPLICAOF NO ONE: promote this server to master (it keeps its data and history, so
    /// its own replicas continue with a partial resync).
    pub async fn promote(&self) -> Result<(), String> {
        self.exec(&["REPLICAOF", "NO", "ONE"]).await?.into_result().map(|_| ())
    }

    /// The replication offset now (master_repl_offset; on a replica, what it applied).
    pub async fn offset(&self) -> i64 {
        self.keyspace.call(crate::repl::CurrentOffset("embedder")).await.unwrap_or(-1)
    }

    /// WAIT `n` `timeout`: blocks until `n` replicas acknowledged the writes made through
    /// [`exec`](Self::exec) so far, or the timeout (0: none) passes; returns how many did.
    pub async fn wait(&self, n: usize, timeout: std::time::Duration) -> Result<i64, String> {
        let v = self.exec(&["WAIT", &n.to_string(), &timeout.as_millis().to_string()]).await?.into_result()?;
        v.as_int().ok_or_else(|| format!("unexpected WAIT reply {v:?}"))
    }

    /// INFO `section` ("" for the default sections), as text.
    pub async fn info(&self, section: &str) -> Result<String, String> {
        let v = if section.is_empty() { self.exec(&["INFO"]).await? } else { self.exec(&["INFO", section]).await? };
        v.into_result()?.as_str().ok_or_else(|| "unexpected INFO reply".into())
    }

    /// Replication events from now on (role and link changes, syncs, replicas online/lost).
    pub fn events(&self) -> flume::Receiver<crate::events::ReplEvent> {
        self.shared.events.subscribe()
    }

    /// The master link's status as its actor holds it (replica side).
    pub async fn link_status(&self) -> Option<crate::repl::LinkStatus> {
        self.repl.link.call(crate::repl::link::GetStatus).await.ok()
    }
}
