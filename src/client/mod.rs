//! The client actor: one per connection.
//!
//! A reader task reads the socket, parses every complete request it has, and sends the actor
//! the whole batch (so a pipeline costs one message); it runs at most one batch ahead of the
//! actor (backpressure: a slow actor slows the reader). The actor keeps the connection's state (db, MULTI queue, auth,
//! protocol, name), runs connection commands itself, sends everything else to the keyspace
//! as one [`Exec`], and writes all replies with one write.

pub mod acl;
mod admin;
mod cmddocs;
mod commands;
mod ldb;
mod migrate;

use crate::keyspace::cmd::{self, CommandSpec, Route};
use crate::keyspace::{self, Cmd, Exec, Item, Keyspace};
use crate::resp::request::Argv;
use crate::resp::{Limits, Out, ProtoError, Request, RequestParser};
use crate::rt::{self, async_trait, Actor, Addr, Context, Handler, Message, ReadExt, Conn};
use crate::shared::{ClientMeta, Shared};
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc;
use std::time::Instant;

/// Requests the reader task parsed from one read, and the protocol error that ended it, if
/// any. Replies `false` when the connection must close.
pub struct Batch {
    pub reqs: Vec<Request>,
    pub error: Option<ProtoError>,
    /// Bytes of the requests (CLIENT LIST's qbuf while they run).
    pub bytes: u64,
}
impl Message for Batch {
    type Result = ();
}

/// A batch whose outcome the reader waits for (whether the connection stays open): one that
/// decides how the rest is read.
pub struct AwaitedBatch(pub Batch);
impl Message for AwaitedBatch {
    type Result = bool;
}

/// Close this connection: (who asks, why), both for the trace (CLIENT KILL, shutdown, the
/// reader task at the end of the socket).
pub struct Kill(pub &'static str, pub &'static str);
impl Message for Kill {
    type Result = ();
}

/// What to do after a command.
#[derive(PartialEq)]
pub(crate) enum Next {
    Continue,
    /// Write what is buffered, then close (QUIT, protocol error, SHUTDOWN).
    Close,
    /// Close without another byte (a cross-protocol attack: HTTP's `POST` or `Host:`).
    Abort,
}

pub struct Client {
    pub(crate) id: u64,
    pub(crate) stream: Conn,
    pub(crate) shared: Arc<Shared>,
    pub(crate) keyspace: Addr<Keyspace>,
    /// The replication actors (replication commands talk to them).
    pub(crate) repl: crate::repl::ReplActors,
    pub(crate) meta: Arc<ClientMeta>,
    pub(crate) db: usize,
    pub(crate) resp3: bool,
    /// Commands queued since MULTI (None: not in a transaction).
    pub(crate) multi: Option<Vec<Cmd>>,
    /// A queued command was rejected: EXEC answers EXECABORT.
    pub(crate) multi_error: bool,
    /// Keyspace commands waiting to go out as one Exec.
    pending: Vec<Item>,
    /// Replies not yet written.
    pub(crate) out: Out,
    /// Offset of the replication stream after this client's last write (WAIT).
    pub(crate) repl_offset: i64,
    /// CLIENT REPLY OFF/SKIP state.
    pub(crate) reply_off: bool,
    pub(crate) reply_skip: bool,
    /// `out.error_count` when last looked at (see `take_failed`).
    errors_seen: u64,
    /// Where the reply of the command CLIENT REPLY SKIP silences starts, while it runs.
    pub(crate) skip_from: Option<usize>,
    /// REPLCONF state, used if this connection turns into a replica.
    pub(crate) handshake: crate::repl::replica::Handshake,
    /// The socket now belongs to a replica actor: do not close it on stop.
    pub(crate) handed_over: bool,
    /// Running the connection commands of an EXEC (WAIT answers at once there).
    pub(crate) in_exec: bool,
    /// WATCH aborted the transaction being executed.
    txn_aborted: bool,
    /// The last command looked up (renamed commands never reach here under their old name).
    last_spec: Option<&'static CommandSpec>,
    /// Execs sent to the keyspace so far.
    exec_seq: u64,
    /// Stopping: batches still in the mailbox are dropped.
    stopping: bool,
    /// SCRIPT DEBUG mode (see [`ldb::Mode`]).
    ldb_mode: ldb::Mode,
    /// Replies the socket did not take at once, for the writer task (started on first use):
    /// the client goes on reading and answering meanwhile, its output buffer (CLIENT LIST
    /// `omem`) growing in memory as Redis's does, up to `client-output-buffer-limit`.
    writer: Option<flume::Sender<Bytes>>,
    /// Since when the output buffer is over the soft limit.
    soft_limit_since: Option<std::time::Instant>,
}

impl Client {
    pub fn new(stream: Conn, shared: Arc<Shared>, keyspace: Addr<Keyspace>, repl: crate::repl::ReplActors, meta: Arc<ClientMeta>) -> Self {
        let authenticated = acl::default_user_open(&shared);
        meta.authenticated.store(authenticated, Relaxed);
        Client {
            id: meta.id,
            stream,
            shared,
            keyspace,
            repl,
            meta,
            db: 0,
            resp3: false,
            multi: None,
            multi_error: false,
            pending: Vec::new(),
            out: Out::new(false),
            repl_offset: 0,
            reply_off: false,
            reply_skip: false,
            errors_seen: 0,
            skip_from: None,
            handshake: Default::default(),
            handed_over: false,
            in_exec: false,
            txn_aborted: false,
            last_spec: None,
            exec_seq: 0,
            stopping: false,
            ldb_mode: ldb::Mode::Off,
            writer: None,
            soft_limit_since: None,
        }
    }

    fn authenticated(&self) -> bool {
        self.meta.authenticated.load(Relaxed)
    }

    /// [`flush`](Self::flush) from a path taken rarely: boxed, so the futures of the callers
    /// (moved to the heap with every batch) stay small.
    async fn flush_boxed(&mut self) {
        if !self.pending.is_empty() {
            Box::pin(self.flush()).await;
        }
    }

    /// Sends the pending keyspace commands as one Exec and appends the replies.
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // A transaction that paused clients itself runs to its end (the pause starts after it).
        if self.shared.pause.maybe_set() && !self.in_exec {
            Box::pin(self.wait_if_paused()).await;
        }
        let mut items = std::mem::take(&mut self.pending);
        while !items.is_empty() {
            let pushes = self.meta.in_pubsub() || self.meta.monitor.load(Relaxed) || self.meta.gets_invalidations.load(Relaxed);
            self.exec_seq += 1;
            let scripts = items.iter().any(has_script);
            let in_flight = &self.shared.script.in_flight;
            if scripts {
                in_flight.fetch_add(1, Relaxed);
            }
            let watch = scripts || in_flight.load(Relaxed) > 0;
            // Which items are transactions, for the -BUSY answers of a cancelled Exec (none
            // listed: all are commands).
            let n_items = items.len();
            let any_txn = watch && items.iter().any(|i| !matches!(i, Item::Cmd(_)));
            let kinds: Vec<bool> = if any_txn { items.iter().map(|i| !matches!(i, Item::Cmd(_))).collect() } else { Vec::new() };
            // The reply buffer is lent unless a cancelled Exec could lose replies in it (a
            // script may go busy) or the replies are dropped anyway (CLIENT REPLY OFF).
            let lend = !self.reply_off && (!watch || self.out.buf.is_empty());
            let out = if lend { std::mem::take(&mut self.out.buf) } else { BytesMut::new() };
            let msg = Exec { client_id: self.id, seq: self.exec_seq, db: self.db, resp3: self.resp3, items, pushes, out, ldb: None };
            // The rare paths' futures are boxed: this one stays small, and so does every
            // future that awaits it (a batch's future is moved into the heap per batch).
            let done = if watch { Box::pin(self.call_keyspace(msg)).await } else { Some(self.keyspace.call(msg).await) };
            if scripts {
                self.shared.script.in_flight.fetch_sub(1, Relaxed);
            }
            let done = match done {
                Some(Ok(done)) => done,
                Some(Err(_)) => {
                    self.out.error("ERR server is shutting down");
                    return;
                }
                None => {
                    // A script went busy while these waited behind it: -BUSY, as Redis answers
                    // the clients it reads during a long script.
                    let busy = self.shared.script.busy.load(Relaxed);
                    let msg = if busy == 2 {
                        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
                    } else {
                        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
                    };
                    let kinds = if kinds.is_empty() { vec![false; n_items] } else { kinds };
                    for txn in kinds {
                        if txn {
                            self.out.error(format!("EXECABORT Transaction discarded because of: {}", msg));
                        } else {
                            self.out.error(msg);
                        }
                    }
                    return;
                }
            };
            if self.pending.capacity() == 0 && done.items.capacity() <= 1024 {
                self.pending = done.items;
            }
            let mut rare = done.rare;
            if let Some(r) = &rare {
                self.txn_aborted |= r.txn_aborted;
                if self.reply_off && !r.pushes.is_empty() {
                    // CLIENT REPLY OFF silences replies, not pushes (as Redis's CLIENT_PUSHING).
                    self.out.buf.extend_from_slice(&r.pushes);
                }
            }
            let mut cmds = rare.as_mut().map(|r| std::mem::take(&mut r.client_cmds)).unwrap_or_default();
            let mut out = done.out;
            if lend {
                // Ours again: what it held before, then this Exec's replies.
                debug_assert!(self.out.buf.is_empty(), "nothing is written to the buffer while it is lent");
                if cmds.is_empty() {
                    self.out.buf = std::mem::take(&mut out);
                } else {
                    let base = cmds[0].0;
                    self.out.buf = out.split_to(base);
                    for (at, _) in cmds.iter_mut() {
                        *at -= base;
                    }
                }
            }
            if done.repl_offset > self.repl_offset && self.shared.repl.throttle.on.load(Relaxed) {
                Box::pin(self.held_for_replicas()).await;
            }
            if !cmds.is_empty() {
                Box::pin(self.splice_client_cmds(out, cmds)).await;
                self.absorb(&[], done.db, done.repl_offset);
            } else {
                self.absorb(&out, done.db, done.repl_offset);
            }
            let Some((rx, rest)) = rare.and_then(|mut r| r.blocked.take()) else { return };
            match Box::pin(self.wait_blocked(rx)).await {
                Some(u) => self.absorb(&u.out, u.db, u.repl_offset),
                None => return,
            }
            items = rest;
        }
    }

    /// `repl-backpressure`: the batch wrote while a replica lags near its output limit; its
    /// replies wait until the backlog releases the throttle (or the connection is killed,
    /// or the server shuts down).
    async fn held_for_replicas(&mut self) {
        let t = &self.shared.repl.throttle;
        t.delayed.fetch_add(1, Relaxed);
        loop {
            let released = t.released.listen();
            if !t.on.load(SeqCst) || self.meta.killed.load(Relaxed) || self.shared.shutting_down.load(Relaxed) {
                return;
            }
            let _ = rt::timeout(std::time::Duration::from_millis(100), released).await;
        }
    }

    /// A command blocked: what is answered so far goes out now; the rest waits for the
    /// reply.
    async fn wait_blocked(&mut self, rx: flume::Receiver<keyspace::blocking::Unblocked>) -> Option<keyspace::blocking::Unblocked> {
        self.write_out().await;
        self.meta.blocked.store(true, Relaxed);
        // The peer left before the command blocked (its reader's ReaderGone may have reached
        // the keyspace first): drop the command now.
        if self.meta.eof.load(SeqCst) {
            let _ = self.keyspace.send(keyspace::ReaderGone(self.id));
        }
        let unblocked = self.wait_unblocked(rx).await;
        self.meta.blocked.store(false, Relaxed);
        unblocked
    }

    /// Sends an Exec and waits for it; None when a script turned busy meanwhile (the Exec is
    /// then cancelled: the keyspace drops it when it gets to it).
    async fn call_keyspace(&mut self, msg: Exec) -> Option<rt::ActorResult<keyspace::ExecDone>> {
        let seq = msg.seq;
        let mut call = Box::pin(self.keyspace.call(msg));
        let sc = &self.shared.script;
        let others_busy = || sc.busy.load(SeqCst) != 0 && sc.client.load(SeqCst) != self.id;
        loop {
            if let Some(r) = sc.turned_busy.wait_or(&mut call, others_busy).await {
                return Some(r);
            }
            if others_busy() {
                if let Ok(mut set) = sc.cancelled.lock() {
                    set.insert((self.id, seq));
                    sc.cancelled_count.store(set.len() as u64, Relaxed);
                }
                return None;
            }
        }
    }

    /// Whether error replies were written since the last call (a connection command that
    /// answered an error failed, as Redis counts `failed_calls`).
    fn take_failed(&mut self) -> bool {
        let failed = self.out.error_count > self.errors_seen;
        self.errors_seen = self.out.error_count;
        failed
    }

    fn absorb(&mut self, out: &[u8], db: usize, repl_offset: i64) {
        if !self.reply_off {
            self.out.buf.extend_from_slice(out);
        }
        if self.db != db {
            self.db = db;
            self.meta.db.store(db as u64, Relaxed);
        }
        self.repl_offset = self.repl_offset.max(repl_offset);
    }

    /// Waits for a blocked command's reply, staying responsive to CLIENT KILL and shutdown.
    async fn wait_unblocked(&mut self, rx: flume::Receiver<keyspace::blocking::Unblocked>) -> Option<keyspace::blocking::Unblocked> {
        // Invalidations reach a blocked connection while it waits, as in Redis (its push
        // waiter cannot reach this actor until the wait is over).
        let invalidations = self.meta.gets_invalidations.load(Relaxed);
        let tick = std::time::Duration::from_millis(if invalidations { 10 } else { 50 });
        loop {
            match rt::timeout(tick, rx.recv_async()).await {
                Some(Ok(u)) => return Some(u),
                Some(Err(_)) => return None,
                None => {
                    if self.meta.killed.load(Relaxed) || self.meta.eof.load(Relaxed) || self.shared.shutting_down.load(Relaxed) {
                        let _ = self.keyspace.send(keyspace::ClientGone(self.id));
                        return None;
                    }
                    if invalidations && self.meta.push.maybe_pending() {
                        self.meta.push.drain_into(&mut self.out.buf);
                        if !self.write_out().await {
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// Runs the connection commands of a transaction (the keyspace left them out) and puts
    /// each reply at its place among the keyspace's replies.
    async fn splice_client_cmds(&mut self, out: BytesMut, cmds: Vec<(usize, Cmd)>) {
        self.in_exec = true;
        let mut prev = 0;
        for (at, c) in cmds {
            if !self.reply_off {
                self.out.buf.extend_from_slice(&out[prev..at]);
            }
            prev = at;
            let start = self.out.buf.len();
            let killed = self.meta.killed.load(Relaxed);
            self.take_failed();
            let _ = commands::run(self, c.spec, &c.argv).await;
            if self.take_failed() {
                cmd::stat(&self.shared, c.spec, &c.argv).failed.fetch_add(1, Relaxed);
            }
            // No replies after the client killed itself, as Redis.
            if self.reply_off || killed {
                self.out.buf.truncate(start);
            }
            cmd::stat(&self.shared, c.spec, &c.argv).calls.fetch_add(1, Relaxed);
        }
        if !self.reply_off {
            self.out.buf.extend_from_slice(&out[prev..]);
        }
        self.in_exec = false;
    }

    /// Whether a write pause holds `c`: writes, and commands that may propagate (PFCOUNT, a
    /// script), except a script that declared `no-writes` (Redis reads a script's declared
    /// flags before running it; the keyspace holds them).
    async fn held_by_write_pause(&self, c: &Cmd) -> bool {
        if c.spec.is_write() {
            return true;
        }
        if !c.spec.has(cmd::MAY_REPLICATE) {
            return false;
        }
        if !matches!(c.spec.name, "eval" | "evalsha" | "fcall") {
            return true;
        }
        match self.keyspace.call(keyspace::ScriptFlags(c.argv.to_vec())).await {
            Ok(Some(flags)) => flags & keyspace::script::NO_WRITES == 0,
            _ => true,
        }
    }

    /// CLIENT PAUSE (and FAILOVER's write pause): hold commands until the pause ends. Woken
    /// when the pause changes (UNPAUSE, a new PAUSE, the failover's end) or when its time is
    /// up; no polling.
    async fn wait_if_paused(&self) {
        // As Redis, commands that may propagate (PFCOUNT) wait with the writes; a transaction
        // waits when it holds one of those.
        let mut writes = false;
        for i in &self.pending {
            let cmds = match i {
                Item::Cmd(c) => std::slice::from_ref(c),
                Item::Txn(cmds) | Item::TxnPart { cmds, .. } => &cmds[..],
            };
            for c in cmds {
                if self.held_by_write_pause(c).await {
                    writes = true;
                    break;
                }
            }
        }
        let pause = &self.shared.pause;
        if pause.held(writes).is_none() {
            return;
        }
        // Counted as blocked while held, as Redis counts its postponed clients.
        let _blocked = crate::shared::Postponed::new(&self.shared.stats.blocked_clients, &self.meta.blocked);
        pause.released(writes).await;
    }

    /// Routes one request: queue it, send it to the keyspace, or run it here.
    async fn process(&mut self, req: Request) -> Next {
        let argv = req.argv;
        // This actor is the only writer of its own counter (the server-wide one is added once
        // per batch).
        self.meta.tot_cmds.store(self.meta.tot_cmds.load(Relaxed) + 1, Relaxed);
        if cmd::eq(&argv[0], "post") || cmd::eq(&argv[0], "host:") {
            self.security_warning();
            return Next::Abort;
        }
        // A pipeline mostly repeats one command: try the previous one before the table.
        let cached = self.last_spec.filter(|s| argv[0].len() == s.name.len() && argv[0].eq_ignore_ascii_case(s.name.as_bytes()));
        let found = if self.shared.renames.is_empty() {
            cached.or_else(|| cmd::lookup(&argv[0]))
        } else {
            self.shared.renames.resolve(&argv[0]).ok().and_then(cmd::lookup)
        };
        let Some(spec) = found else {
            self.reject(&cmd::unknown_command_error(&argv)).await;
            return Next::Continue;
        };
        self.last_spec = Some(spec);
        if !spec.arity_ok(argv.len()) {
            self.reject_cmd(spec, &argv, &cmd::arity_error(spec.name)).await;
            return Next::Continue;
        }
        // CLIENT TRACKING and its kin run in the keyspace, which owns the tracking table.
        let spec = keyspace::tracking::routed(spec, &argv);
        if let Some(e) = self.protected_refusal(spec, &argv) {
            self.reject_cmd(spec, &argv, e).await;
            return Next::Continue;
        }
        if !self.authenticated() && !spec.has(cmd::NO_AUTH) {
            self.reject_cmd(spec, &argv, "NOAUTH Authentication required.").await;
            return Next::Continue;
        }
        if self.shared.acl_active.load(Relaxed) {
            if let Some(msg) = self.acl_refusal(spec, &argv) {
                self.reject_cmd(spec, &argv, &msg).await;
                return Next::Continue;
            }
        }
        // -LOADING comes before -BUSY (a script in the AOF being loaded), as Redis checks.
        if self.shared.loading.load(Relaxed) && self.denied_while_loading(spec) && Box::pin(self.still_loading()).await {
            self.reject_cmd(spec, &argv, "LOADING Redis is loading the dataset in memory").await;
            return Next::Continue;
        }
        if self.shared.script.busy.load(Relaxed) != 0 {
            if let Some(next) = Box::pin(self.while_script_busy(spec, &argv)).await {
                return next;
            }
        }
        if self.shared.shutting_down.load(Relaxed) && spec.name != "shutdown" {
            self.flush_boxed().await;
            self.out.error("ERR server is shutting down");
            return Next::Continue;
        }
        if let Some(e) = self.role_check(spec, &argv) {
            self.reject_cmd(spec, &argv, e).await;
            return Next::Continue;
        }
        if spec.name == "exec" && self.multi.is_some() && Box::pin(self.queued_script_writes()).await {
            self.reject_cmd(spec, &argv, "READONLY You can't write against a read only replica.").await;
            return Next::Continue;
        }
        if self.shared.hot.maxmemory.load(Relaxed) > 0 && Box::pin(self.out_of_memory(spec, &argv)).await {
            const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
            self.reject_cmd(spec, &argv, OOM).await;
            return Next::Continue;
        }
        if !self.resp3 && !spec.has(cmd::SUBSCRIBING) && self.meta.in_pubsub() {
            let msg = format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                command_name(spec, &argv)
            );
            self.reject_cmd(spec, &argv, msg).await;
            return Next::Continue;
        }
        if self.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset") {
            // Inside MULTI, a command MISCONF would refuse dooms the transaction at once, as
            // Redis's processCommand (outside MULTI the keyspace refuses it where it runs).
            if (spec.is_write() || spec.name == "ping") && crate::keyspace::persist::writes_denied_by_disk_error(&self.shared) {
                self.reject_cmd(spec, &argv, crate::keyspace::persist::MISCONF).await;
                return Next::Continue;
            }
            if spec.has(cmd::NO_MULTI) {
                self.reject("ERR Command not allowed inside a transaction").await;
                return Next::Continue;
            }
            // Replies must stay in request order: anything pending goes out first.
            self.flush_boxed().await;
            if let Some(q) = self.multi.as_mut() {
                q.push(Cmd { spec, argv });
            }
            self.out.simple("QUEUED");
            return Next::Continue;
        }
        self.meta.last_cmd.store(spec.index, Relaxed);
        if spec.has(cmd::CONTAINER) {
            *self.meta.last_sub.lock().unwrap_or_else(|e| e.into_inner()) = command_name(spec, &argv);
        }
        match spec.route {
            Route::Keyspace(_) => {
                if ldb::concerns(self.ldb_mode, spec, &argv) {
                    return Box::pin(self.ldb_command(spec, argv)).await;
                }
                if spec.name == "watch" && self.multi.is_some() {
                    self.flush_boxed().await;
                    self.out.error("ERR WATCH inside MULTI is not allowed");
                    return Next::Continue;
                }
                let subscribing = spec.has(cmd::SUBSCRIBING) && spec.has(cmd::PUBSUB);
                if subscribing {
                    // (Un)subscribe confirmations are pushes: CLIENT REPLY SKIP does not
                    // silence them (as Redis's CLIENT_PUSHING).
                    self.skip_from = None;
                }
                self.pending.push(Item::Cmd(Cmd { spec, argv }));
                if subscribing {
                    // The commands after it are checked against the subscribed context.
                    self.flush_boxed().await;
                }
                Next::Continue
            }
            Route::Client => Box::pin(self.run_local(spec, argv)).await,
        }
    }

    /// Runs a connection command here, after the keyspace answered what came before it.
    async fn run_local(&mut self, spec: &'static CommandSpec, argv: Argv) -> Next {
        self.flush().await;
        let start = Instant::now();
        let db = self.db;
        self.take_failed();
        let next = self.local(spec, &argv).await;
        let failed = self.take_failed();
        if !matches!(spec.name, "client" | "multi") {
            // CLIENT CACHING applies to the next command only (CLIENT ones aside).
            self.meta.tracking.fetch_and(!crate::shared::track::CACHING, Relaxed);
        }
        if self.shared.hot.monitors.load(Relaxed) > 0 && monitor_shows(spec, &argv) {
            let _ = self.keyspace.send(keyspace::MonitorFeed { client_id: self.id, db, argv: redacted(spec, &argv) });
        }
        let ns = start.elapsed().as_nanos() as u64;
        let micros = ns / 1000;
        let st = cmd::stat(&self.shared, spec, &argv);
        st.calls.fetch_add(1, Relaxed);
        if failed {
            st.failed.fetch_add(1, Relaxed);
        }
        st.usec.fetch_add(micros, Relaxed);
        // EXEC itself is not logged (skip_slowlog): the commands it ran are.
        if !spec.has(cmd::SKIP_SLOWLOG) {
            self.shared.slowlog_command(self.id, &argv, micros);
        }
        self.shared.record_latency(&st, spec.has(cmd::FAST), ns, false);
        next
    }

    /// A script runs past busy-reply-threshold (the keyspace is inside it): SCRIPT KILL and
    /// FUNCTION KILL are answered here, commands allowed while busy go on, the rest get -BUSY.
    async fn while_script_busy(&mut self, spec: &'static CommandSpec, argv: &[Bytes]) -> Option<Next> {
        let shared = self.shared.clone();
        let sc = &shared.script;
        let busy = sc.busy.load(Relaxed);
        let kill = argv.len() == 2 && cmd::eq(&argv[1], "kill") && matches!(spec.name, "script" | "function");
        if kill {
            self.flush().await;
            if (spec.name == "function") != (busy == 2) {
                self.out.error(if busy == 2 {
                    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
                } else {
                    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
                });
            } else if sc.wrote.load(Relaxed) {
                self.out.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
            } else {
                sc.kill.store(true, Relaxed);
                self.out.ok();
            }
            return Some(Next::Continue);
        }
        if spec.name == "function" && argv.len() == 2 && cmd::eq(&argv[1], "stats") {
            self.flush().await;
            self.function_stats_while_busy(busy);
            return Some(Next::Continue);
        }
        let allowed = spec.has(cmd::ALLOW_BUSY) || (spec.name == "shutdown" && argv.len() == 2 && cmd::eq(&argv[1], "nosave"));
        if allowed {
            return None;
        }
        let msg = if busy == 2 {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        };
        self.reject_cmd(spec, &argv, msg).await;
        Some(Next::Continue)
    }

    /// FUNCTION STATS while a script is busy (the keyspace is inside it): the running
    /// function as the keyspace published it; -BUSY while an EVAL script runs, as Redis.
    fn function_stats_while_busy(&mut self, busy: u8) {
        let running = self.shared.script.running.lock().unwrap_or_else(|e| e.into_inner());
        let Some(r) = running.as_ref().filter(|_| busy == 2) else {
            drop(running);
            return self.out.error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        };
        let out = &mut self.out;
        out.map(2);
        out.bulk(b"running_script");
        out.map(3);
        out.bulk(b"name");
        out.bulk(r.name.as_bytes());
        out.bulk(b"command");
        out.array(r.argv.len());
        for a in &r.argv {
            out.bulk(a);
        }
        out.bulk(b"duration_ms");
        out.int(r.started.elapsed().as_millis() as i64);
        out.bulk(b"engines");
        out.map(1);
        out.bulk(b"LUA");
        out.map(2);
        out.bulk(b"libraries_count");
        out.int(r.libraries as i64);
        out.bulk(b"functions_count");
        out.int(r.functions as i64);
    }

    /// An HTTP request line or header reached us: someone is trying cross-protocol scripting
    /// through a browser or a proxy. Logged at most once a minute, as Redis.
    fn security_warning(&self) {
        let now = crate::util::now_ms() / 1000;
        let last = self.shared.security_warning_at.load(Relaxed);
        if (now - last).abs() > 60 && self.shared.security_warning_at.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
            crate::warning!(self.shared.log, "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.");
        }
    }

    /// DEBUG and MODULE LOAD/LOADEX/UNLOAD are refused unless `enable-debug-command` /
    /// `enable-module-command` is `yes`, or `local` and the client is local (Redis checks this
    /// right after the arity, before authentication).
    fn protected_refusal(&self, spec: &CommandSpec, argv: &[Bytes]) -> Option<&'static str> {
        let allowed = match spec.name {
            "debug" => self.shared.cfg().enable_debug_command(),
            // Only a well-formed LOAD, LOADEX or UNLOAD (the subcommand's arity comes first).
            "module"
                if (argv.len() >= 3 && (cmd::eq(&argv[1], "load") || cmd::eq(&argv[1], "loadex")))
                    || (argv.len() == 3 && cmd::eq(&argv[1], "unload")) =>
            {
                self.shared.cfg().enable_module_command()
            }
            _ => return None,
        };
        if allowed.allows(self.meta.local) {
            return None;
        }
        Some(if spec.name == "debug" {
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
        } else {
            "ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
        })
    }

    /// On a read-only replica, whether the transaction holds a script that declared flags
    /// without `no-writes` (a write: Redis judges EXEC by its commands' flags, a script's
    /// being the ones it declared).
    async fn queued_script_writes(&self) -> bool {
        let sh = &self.shared;
        if !sh.is_replica.load(Relaxed) || !sh.hot.replica_read_only.load(Relaxed) {
            return false;
        }
        let Some(queued) = &self.multi else { return false };
        for c in queued {
            if !matches!(c.spec.name, "eval" | "evalsha" | "fcall") {
                continue;
            }
            if let Ok(Some(flags)) = self.keyspace.call(keyspace::ScriptFlags(c.argv.to_vec())).await {
                if flags & keyspace::script::NO_WRITES == 0 {
                    return true;
                }
            }
        }
        false
    }

    /// Errors that depend on replication: read-only replica, stale data, min-replicas.
    /// EXEC is judged by what it queued, as Redis's processCommand uses the transaction's
    /// flags: a write if any queued command writes, refused on a stale replica if any lacks
    /// `stale`.
    fn role_check(&self, spec: &CommandSpec, argv: &[Bytes]) -> Option<&'static str> {
        let sh = &self.shared;
        let queued = match &self.multi {
            Some(q) if spec.name == "exec" => &q[..],
            _ => &[],
        };
        let writes = spec.is_write() || queued.iter().any(|c| c.spec.is_write());
        // SCRIPT LOAD is the one SCRIPT subcommand flagged `stale` in Redis 7.0.
        let script_load = spec.name == "script" && argv.get(1).is_some_and(|s| cmd::eq(s, "load"));
        let stale_allowed = (spec.has(cmd::STALE) || script_load) && queued.iter().all(|c| c.spec.has(cmd::STALE));
        if sh.is_replica.load(Relaxed) {
            let ro = sh.hot.replica_read_only.load(Relaxed);
            let stale_ok = sh.hot.replica_serve_stale_data.load(Relaxed);
            if ro && writes {
                return Some("READONLY You can't write against a read only replica.");
            }
            if !stale_ok && !stale_allowed {
                let up = sh.repl.link_up();
                if !up {
                    return Some("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
                }
            }
        } else if writes {
            let min = sh.hot.min_replicas_to_write.load(Relaxed);
            let lag = sh.hot.min_replicas_max_lag.load(Relaxed);
            if min > 0 {
                let good = sh.repl.good_replicas(lag) as u64;
                if good < min {
                    return Some("NOREPLICAS Not enough good replicas to write.");
                }
            }
        }
        None
    }

    /// Whether the RDB is still loading once the first `loading-process-events-interval-bytes`
    /// of it are in. Redis serves clients only between such chunks, so a command sent while
    /// a small file loads simply waits for it; here it waits until the load ends or that
    /// much is loaded (then `-LOADING`, as Redis answers from its first chunk on).
    async fn still_loading(&self) -> bool {
        let chunk = self.shared.cfg().int("loading-process-events-interval-bytes").max(0) as u64;
        while self.shared.loading.load(Relaxed) {
            if self.shared.loading_bytes.load(Relaxed) >= chunk || self.shared.loading_aof.load(Relaxed) {
                return true;
            }
            crate::rt::sleep(std::time::Duration::from_millis(1)).await;
        }
        false
    }

    /// While an RDB loads, commands without the `loading` flag are refused, and an EXEC with
    /// such a command queued (Redis's `is_denyloading_command`).
    /// While a replica loads its master's RDB asynchronously, only the commands flagged
    /// `no_async_loading` are refused (Redis's `is_deny_async_loading_command`).
    fn denied_while_loading(&self, spec: &CommandSpec) -> bool {
        let denied = |s: &CommandSpec| match self.shared.async_loading.load(Relaxed) {
            true => s.has(cmd::NO_ASYNC_LOADING),
            false => !s.has(cmd::LOADING),
        };
        match &self.multi {
            Some(q) if spec.name == "exec" => q.iter().any(|c| denied(c.spec)),
            _ => denied(spec),
        }
    }

    /// Whether `spec` must be refused because used memory is over `maxmemory`. As Redis's
    /// processCommand: any command first has the keyspace evict keys (unless the policy is
    /// `noeviction`, or this is a replica with `replica-ignore-maxmemory`); then, if memory
    /// is still over the limit, commands that may grow memory are refused, anything but
    /// EXEC/DISCARD/QUIT/RESET inside MULTI, and an EXEC with such commands queued.
    async fn out_of_memory(&mut self, spec: &CommandSpec, argv: &[Bytes]) -> bool {
        let maxmemory = self.shared.hot.maxmemory.load(Relaxed);
        if maxmemory == 0 || !crate::keyspace::evict::evicts_here(&self.shared) {
            return false;
        }
        let used = crate::keyspace::info::used_memory_cached();
        if used <= maxmemory || used.saturating_sub(crate::keyspace::evict::not_counted_memory(&self.shared)) <= maxmemory {
            return false;
        }
        let reject = match &self.multi {
            Some(q) if spec.name == "exec" => q.iter().any(|c| denied_by_oom(c.spec, &c.argv)),
            Some(_) => !matches!(spec.name, "exec" | "discard" | "quit" | "reset"),
            None => denied_by_oom(spec, argv),
        };
        if self.shared.hot.policy() == crate::shared::Policy::NoEviction {
            return reject;
        }
        // The keyspace evicts, in order with the commands this client sent before.
        self.flush().await;
        let allowed = self.keyspace.call(keyspace::Evict).await.unwrap_or(true);
        reject && !allowed
    }

    /// [`reject`](Self::reject) for a known command: a rejected EXEC discards the transaction
    /// and answers EXECABORT with the reason, as Redis's `rejectCommand` does.
    /// Counts a rejected call (`rejected_calls`), as Redis for every command it rejects.
    async fn reject_cmd(&mut self, spec: &CommandSpec, argv: &[Bytes], msg: impl AsRef<[u8]>) {
        cmd::stat(&self.shared, spec, argv).rejected.fetch_add(1, Relaxed);
        if spec.name != "exec" {
            return self.reject(msg).await;
        }
        self.flush_boxed().await;
        self.multi = None;
        self.multi_error = false;
        self.meta.multi.store(-1, Relaxed);
        let _ = self.keyspace.send(keyspace::Unwatch(self.id));
        let msg = msg.as_ref();
        let reason = msg.strip_prefix(b"ERR ").unwrap_or(msg);
        self.out.error([&b"EXECABORT Transaction discarded because of: "[..], reason].concat());
    }

    /// Replies with an error for a command that could not even be queued; inside MULTI it
    /// dooms the transaction. Earlier pipelined commands are answered first.
    async fn reject(&mut self, msg: impl AsRef<[u8]>) {
        self.flush_boxed().await;
        if self.multi.is_some() {
            self.multi_error = true;
        }
        self.out.error(msg);
    }

    /// Connection-level commands.
    async fn local(&mut self, spec: &'static CommandSpec, argv: &[Bytes]) -> Next {
        match spec.name {
            "multi" => {
                if self.multi.is_some() {
                    self.out.error("ERR MULTI calls can not be nested");
                } else {
                    self.multi = Some(Vec::new());
                    self.multi_error = false;
                    self.meta.multi.store(0, Relaxed);
                    self.out.ok();
                }
            }
            "exec" => self.exec().await,
            "discard" => {
                if self.multi.take().is_none() {
                    self.out.error("ERR DISCARD without MULTI");
                } else {
                    self.multi_error = false;
                    self.meta.multi.store(-1, Relaxed);
                    let _ = self.keyspace.send(keyspace::Unwatch(self.id));
                    self.out.ok();
                }
            }
            "quit" => {
                self.out.ok();
                return Next::Close;
            }
            _ => return commands::run(self, spec, argv).await,
        }
        Next::Continue
    }

    async fn exec(&mut self) {
        let Some(queue) = self.multi.take() else {
            self.out.error("ERR EXEC without MULTI");
            return;
        };
        self.meta.multi.store(-1, Relaxed);
        if std::mem::take(&mut self.multi_error) {
            let _ = self.keyspace.send(keyspace::Unwatch(self.id));
            self.out.error("EXECABORT Transaction discarded because of previous errors.");
            return;
        }
        let queue = if self.shared.acl_active.load(Relaxed) { self.acl_recheck(queue) } else { queue };
        if !queue.iter().any(runs_in_client) {
            self.pending.push(Item::Txn(queue));
            return self.flush().await;
        }
        self.exec_in_pieces(queue).await;
    }

    /// EXEC of a transaction with connection commands: the keyspace runs the pieces between
    /// them, this actor runs them in between, so each takes effect in its queued order.
    async fn exec_in_pieces(&mut self, queue: Vec<Cmd>) {
        let total = queue.len();
        let mut header = Some(total);
        let mut serve_pending = false;
        let mut rest = queue.into_iter().peekable();
        self.in_exec = true;
        // Replies stop after the client killed itself (as Redis): where they stop.
        let killed_before = self.meta.killed.load(Relaxed);
        let mut cut = None;
        loop {
            let mut cmds = Vec::new();
            while let Some(c) = rest.next_if(|c| !runs_in_client(c)) {
                cmds.push(c);
            }
            // A last, possibly empty, piece after the last connection command lets the
            // keyspace serve the clients blocked on keys the transaction fed.
            if header.is_some() || !cmds.is_empty() || (serve_pending && rest.peek().is_none()) {
                let more = rest.peek().is_some();
                serve_pending = more;
                self.pending.push(Item::TxnPart { cmds, header: header.take(), more });
                self.txn_aborted = false;
                self.flush().await;
                if self.txn_aborted {
                    break;
                }
            }
            if !killed_before && cut.is_none() && self.meta.killed.load(Relaxed) {
                cut = Some(self.out.buf.len());
            }
            let Some(c) = rest.next() else { break };
            let start = self.out.buf.len();
            let began = std::time::Instant::now();
            self.take_failed();
            let _ = commands::run(self, c.spec, &c.argv).await;
            let failed = self.take_failed();
            let micros = began.elapsed().as_micros() as u64;
            self.shared.slowlog_command(self.id, &c.argv, micros);
            if self.reply_off {
                self.out.buf.truncate(start);
            }
            if !killed_before && cut.is_none() && self.meta.killed.load(Relaxed) {
                cut = Some(self.out.buf.len());
            }
            let st = cmd::stat(&self.shared, c.spec, &c.argv);
            st.calls.fetch_add(1, Relaxed);
            st.usec.fetch_add(micros, Relaxed);
            if failed {
                st.failed.fetch_add(1, Relaxed);
            }
        }
        if let Some(at) = cut {
            self.out.buf.truncate(at);
        }
        self.in_exec = false;
    }

    /// Writes buffered replies to the socket. The buffer's allocation is kept for the next
    /// batch up to [`REPLY_BUF_KEEP`] bytes (as Redis keeps a client's 16 KiB reply buffer
    /// and frees the larger reply blocks once written).
    async fn write_out(&mut self) -> bool {
        self.shared.errorstats.record(&mut self.out.errors);
        if self.out.buf.is_empty() {
            return true;
        }
        let buf = std::mem::take(&mut self.out.buf);
        self.shared.stats.net_output_bytes.fetch_add(buf.len() as u64, Relaxed);
        self.meta.tot_net_out.fetch_add(buf.len() as u64, Relaxed);
        let mut buf = buf;
        if self.meta.omem.load(Relaxed) == 0 {
            // Nothing queued: what the socket takes now is written here.
            let mut done = 0;
            while done < buf.len() {
                use futures::FutureExt;
                match rt::WriteExt::write(&mut self.stream, &buf[done..]).now_or_never() {
                    Some(Ok(0)) | Some(Err(_)) => return false,
                    Some(Ok(n)) => done += n,
                    None => break,
                }
            }
            if done == buf.len() {
                // Reuse the allocation for the next batch unless it grew large.
                if buf.capacity() <= REPLY_BUF_KEEP {
                    buf.clear();
                    self.out.buf = buf;
                }
                self.soft_limit_since = None;
                return true;
            }
            // An exact-size copy is queued (what is counted is what is held); the buffer is
            // reused for the next batch.
            let rest = Bytes::copy_from_slice(&buf[done..]);
            if buf.capacity() <= REPLY_BUF_KEEP {
                buf.clear();
                self.out.buf = buf;
            }
            return self.queue_output(rest);
        }
        self.queue_output(buf.freeze())
    }

    /// Queues replies the socket did not take for the writer task. Held until written:
    /// CLIENT LIST `omem`, what `maxmemory-clients` counts, and what
    /// `client-output-buffer-limit` bounds (false: over it, the client is closed).
    fn queue_output(&mut self, buf: Bytes) -> bool {
        let queued = self.meta.omem.fetch_add(buf.len() as u64, Relaxed) + buf.len() as u64;
        if self.over_output_limit(queued) {
            crate::warning!(
                self.shared.log,
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                crate::keyspace::cmd::clients::client_line(&self.meta)
            );
            self.meta.killed.store(true, Relaxed);
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
            return false;
        }
        if queued >= EVICTION_CHECK_BYTES as u64 && self.shared.hot.maxmemory_clients.load(Relaxed) != 0 {
            keyspace::evict::evict_clients(&self.shared);
        }
        let tx = self.writer.get_or_insert_with(|| {
            let (tx, rx) = flume::unbounded();
            rt::spawn(write_loop(self.stream.clone(), rx, self.meta.clone()));
            tx
        });
        tx.send(buf).is_ok()
    }

    /// `client-output-buffer-limit` for this client's class (normal or pubsub): over the
    /// hard limit, or over the soft one for longer than its seconds.
    fn over_output_limit(&mut self, queued: u64) -> bool {
        let l = if self.meta.in_pubsub() { self.shared.hot.pubsub_limit() } else { self.shared.hot.normal_limit() };
        if l.hard_limit_bytes > 0 && queued >= l.hard_limit_bytes {
            return true;
        }
        if l.soft_limit_bytes > 0 && queued >= l.soft_limit_bytes {
            // As Redis: the first time only starts the clock.
            let first = self.soft_limit_since.is_none();
            let since = *self.soft_limit_since.get_or_insert_with(std::time::Instant::now);
            return !first && since.elapsed().as_secs() > l.soft_limit_seconds;
        }
        self.soft_limit_since = None;
        false
    }

    /// Waits until the writer task wrote everything queued (before the socket changes hands
    /// or a debugging session writes to it directly).
    pub(crate) async fn drain_output(&self) {
        crate::shared::output_drained(&self.meta).await;
    }
}

#[async_trait]
impl Actor for Client {
    async fn started(&mut self, ctx: &mut Context<Self>) -> rt::ActorResult<()> {
        let addr = ctx.address();
        let stream = self.stream.clone();
        let shared = self.shared.clone();
        let meta = self.meta.clone();
        rt::spawn(push_loop(meta.push.waiter(), addr.downgrade()));
        rt::spawn(read_loop(stream, addr, self.keyspace.clone(), shared, meta));
        Ok(())
    }

    async fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.meta.push.close();
        self.meta.gate.close();
        if self.handed_over {
            let _ = self.keyspace.send(keyspace::ClientGone(self.id));
            return;
        }
        if self.writer.take().is_none() || self.meta.killed.load(Relaxed) {
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
        }
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
        self.shared.stats.connected_clients.fetch_sub(1, Relaxed);
        let _ = self.keyspace.send(keyspace::ClientGone(self.id));
    }
}

#[async_trait]
impl Handler<Batch> for Client {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Batch) {
        crate::trace_msg!(self.shared.log, "reader", format_args!("client:{}", self.id), "Batch({} requests)", msg.reqs.len());
        self.start_batch(ctx, msg).await;
    }
}

#[async_trait]
impl Handler<AwaitedBatch> for Client {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: AwaitedBatch) -> bool {
        crate::trace_msg!(self.shared.log, "reader", format_args!("client:{}", self.id), "AwaitedBatch({} requests)", msg.0.reqs.len());
        self.start_batch(ctx, msg.0).await
    }
}

impl Client {
    /// Stops the actor: batches already in the mailbox are not run (Redis reads nothing more
    /// from a client it closes).
    fn stop(&mut self, ctx: &mut Context<Self>) {
        self.stopping = true;
        ctx.stop(None);
    }

    async fn start_batch(&mut self, ctx: &mut Context<Self>, msg: Batch) -> bool {
        self.meta.gate.started();
        if self.stopping || self.meta.killed.load(Relaxed) {
            return false;
        }
        self.meta.qbuf_batch.store(msg.bytes, Relaxed);
        let open = self.run_batch(ctx, msg).await;
        self.meta.qbuf_batch.store(0, Relaxed);
        open
    }

    /// Runs a batch's requests in order and writes their replies; false when the connection
    /// closes.
    async fn run_batch(&mut self, ctx: &mut Context<Self>, msg: Batch) -> bool {
        *self.meta.last_interaction.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        if self.meta.gets_invalidations.load(Relaxed) && self.meta.push.maybe_pending() {
            // Invalidations already queued precede the replies of these requests (a reply the
            // client actor makes itself, QUEUED, would otherwise overtake them).
            self.meta.push.drain_into(&mut self.out.buf);
        }
        let mut next = Next::Continue;
        let mut processed = 0;
        self.pending.reserve(msg.reqs.len());
        for req in msg.reqs {
            processed += 1;
            // CLIENT REPLY SKIP: this command's reply is dropped (earlier ones go out).
            let skip = std::mem::take(&mut self.reply_skip).then_some(());
            if skip.is_some() {
                self.flush_boxed().await;
                self.skip_from = Some(self.out.buf.len());
            }
            next = self.process(req).await;
            // CLIENT REPLY ON, as the skipped command, cancels the skip (its +OK goes out).
            if let Some(at) = self.skip_from.take() {
                self.flush_boxed().await;
                self.out.buf.truncate(at);
            }
            if next != Next::Continue {
                break;
            }
        }
        self.shared.stats.total_commands_processed.fetch_add(processed, Relaxed);
        self.flush().await;
        if next == Next::Abort {
            // What came before ran (as in Redis), but no reply goes out.
            self.out.buf.clear();
            self.stop(ctx);
            return false;
        }
        if let Some(e) = msg.error.filter(|_| next == Next::Continue) {
            self.out.raw(e.reply().as_bytes());
            crate::verbose!(self.shared.log, "Protocol error ({}) from client: id={} addr={}", e.0, self.id, self.meta.addr);
            next = Next::Close;
        }
        if next == Next::Close {
            // Gone for the server from now on (a tracking redirection to it is broken).
            self.meta.push.close();
        }
        let ok = self.write_out().await;
        if !ok || next == Next::Close || self.meta.killed.load(Relaxed) {
            self.stop(ctx);
            return false;
        }
        true
    }
}

#[async_trait]
impl Handler<Kill> for Client {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: Kill) {
        crate::trace_msg!(self.shared.log, msg.0, format_args!("client:{}", self.id), "Kill({})", msg.1);
        self.stop(ctx);
    }
}

/// The name CLIENT LIST shows in `cmd=`: `container|subcommand` for container commands, as
/// Redis does (`client|info`, `config|get`).
fn command_name(spec: &CommandSpec, argv: &[Bytes]) -> String {
    cmd::sub_name(spec, argv).unwrap_or_else(|| spec.name.to_string())
}

/// The reader task: socket -> requests -> one `Batch` call per read.
/// Buffer size from which a read (query buffer) or a write (replies) checks
/// `maxmemory-clients`.
const EVICTION_CHECK_BYTES: usize = 64 * 1024;

/// Writes a client's queued replies in order. The queue ends with the client actor: what
/// is still queued is written (QUIT's reply), then the socket is shut.
async fn write_loop(mut stream: Conn, rx: flume::Receiver<Bytes>, meta: Arc<ClientMeta>) {
    use rt::WriteExt;
    while let Ok(chunk) = rx.recv_async().await {
        if meta.killed.load(Relaxed) || stream.write_all(&chunk).await.is_err() {
            break;
        }
        meta.omem.fetch_sub(chunk.len() as u64, Relaxed);
    }
    meta.omem.store(0, Relaxed);
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

async fn read_loop(mut stream: Conn, addr: Addr<Client>, keyspace: Addr<Keyspace>, shared: Arc<Shared>, meta: Arc<ClientMeta>) {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    // Sized as the last batch: a steady pipeline allocates its request list once per batch.
    let mut last_batch = 1;
    // Whether the socket is likely drained (the last read did not fill the chunk): then the
    // client is waiting for our replies, so wait for readability rather than try a read.
    let mut drained = false;
    // Whether the reader stops because the peer closed (not because the actor did).
    let mut eof = false;
    loop {
        if drained && stream.readable().await.is_err() {
            eof = true;
            break;
        }
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                eof = true;
                break;
            }
            Ok(n) => n,
        };
        drained = n < chunk.len();
        if meta.killed.load(Relaxed) {
            break;
        }
        shared.stats.net_input_bytes.fetch_add(n as u64, Relaxed);
        meta.tot_net_in.fetch_add(n as u64, Relaxed);
        buf.extend_from_slice(&chunk[..n]);
        // In a Lua debugging session, the debugger reads the bytes.
        if ldb::forward(&meta, &mut buf) {
            continue;
        }
        let held = buf.len() + parser.partial_bytes();
        let max_bulk = shared.hot.proto_max_bulk_len.load(Relaxed);
        let qbuf_limit = shared.hot.query_buffer_limit.load(Relaxed) as usize;
        let limits = Limits { max_bulk_len: max_bulk, authenticated: meta.authenticated.load(Relaxed) };
        let mut reqs = Vec::with_capacity(last_batch);
        let error = parser.parse(&mut buf, limits, &mut reqs).err();
        last_batch = reqs.len().clamp(1, 1024);
        let left = buf.len() + parser.partial_bytes();
        meta.qbuf.store(left as u64, Relaxed);
        meta.qbuf_free.store((buf.capacity() - buf.len()) as u64, Relaxed);
        if reqs.is_empty() && error.is_none() {
            // As Redis 7.0, the limit is on bytes not yet parsed: the arguments of a
            // half-read multibulk already parsed out of the buffer do not count.
            if buf.len() > qbuf_limit {
                crate::warning!(shared.log, 
                    "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
                    meta.id,
                    meta.addr,
                    String::from_utf8_lossy(&buf[..buf.len().min(64)])
                );
                shared.stats.client_qbuf_limit_disconnections.fetch_add(1, Relaxed);
                break;
            }
            // A query buffer this large may take the clients over `maxmemory-clients`: looked
            // at now (Redis looks before each sleep), not only at the next cron.
            if left >= EVICTION_CHECK_BYTES && shared.hot.maxmemory_clients.load(Relaxed) != 0 {
                keyspace::evict::evict_clients(&shared);
            }
            continue;
        }
        // The answers are awaited when the batch decides how the rest is read: a protocol
        // error closes the connection, SYNC/PSYNC hand the socket to a replica actor, and
        // before authentication the parser's limits depend on the outcome.
        let closing = error.is_some();
        let wait = closing || !limits.authenticated || reqs.iter().any(|r| takes_socket(&r.argv));
        if !meta.gate.room().await {
            break;
        }
        meta.gate.sent();
        let batch = Batch { reqs, error, bytes: held.saturating_sub(left) as u64 };
        if wait {
            match addr.call(AwaitedBatch(batch)).await {
                Ok(true) if !closing => {}
                _ => break,
            }
        } else if addr.send(batch).is_err() {
            break;
        }
        // Give back memory a huge request left behind.
        if buf.is_empty() && buf.capacity() > 1024 * 1024 {
            buf = BytesMut::with_capacity(16 * 1024);
        }
    }
    if eof {
        // A debugging session sees the client leave (its script then runs to the end).
        ldb::client_gone(&meta);
        // A command blocked for this connection is dropped now; batches already sent still
        // run, as Redis answers what it read before the end of the stream.
        meta.eof.store(true, SeqCst);
        let _ = keyspace.send(keyspace::ReaderGone(meta.id));
    }
    let _ = addr.send(Kill("reader", "connection closed"));
}

/// SYNC and PSYNC: the connection becomes a replica's, read by its own actor from then on.
fn takes_socket(argv: &[Bytes]) -> bool {
    cmd::eq(&argv[0], "sync") || cmd::eq(&argv[0], "psync")
}

/// Commands refused over maxmemory (Redis's `denyoom`), judged per subcommand where a
/// container's subcommands differ (FUNCTION LOAD and RESTORE add code to the dataset).
fn denied_by_oom(spec: &CommandSpec, argv: &[Bytes]) -> bool {
    spec.has(cmd::DENYOOM) || (spec.name == "function" && argv.get(1).is_some_and(|s| cmd::eq(s, "load") || cmd::eq(s, "restore")))
}

/// Whether MONITOR shows a connection command: not admin ones (CONFIG, most of CLIENT),
/// judged per subcommand for CLIENT as Redis 7.0's command table does.
fn monitor_shows(spec: &CommandSpec, argv: &[Bytes]) -> bool {
    if spec.name == "client" {
        const ADMIN_SUBS: &[&str] = &["kill", "list", "no-evict", "pause", "unpause", "unblock"];
        let sub = argv.get(1).map(|s| String::from_utf8_lossy(s).to_ascii_lowercase()).unwrap_or_default();
        return !ADMIN_SUBS.contains(&sub.as_str());
    }
    !spec.has(cmd::ADMIN | cmd::SKIP_MONITOR)
}

/// The arguments MONITOR shows: AUTH's and HELLO's credentials become `(redacted)`, as
/// Redis 7.0 redacts them.
fn redacted(spec: &CommandSpec, argv: &[Bytes]) -> Vec<Bytes> {
    const R: Bytes = Bytes::from_static(b"(redacted)");
    let mut v = argv.to_vec();
    match spec.name {
        "auth" => v.iter_mut().skip(1).for_each(|a| *a = R),
        "hello" => {
            if let Some(i) = v.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
                for a in v.iter_mut().skip(i + 1).take(2) {
                    *a = R;
                }
            }
        }
        "migrate" => return crate::shared::slowlog::redact(argv),
        _ => {}
    }
    v
}

/// Write what was pushed to this connection (Pub/Sub messages, MONITOR lines) while it
/// was idle; sent by the connection's push waiter task.
pub struct WritePushes;
impl Message for WritePushes {
    type Result = bool;
}

#[async_trait]
impl Handler<WritePushes> for Client {
    async fn handle(&mut self, ctx: &mut Context<Self>, _msg: WritePushes) -> bool {
        let n = self.meta.push.drain_into(&mut self.out.buf);
        if n == 0 {
            return true;
        }
        crate::trace_msg!(self.shared.log, "push-waiter", format_args!("client:{}", self.id), "WritePushes({} bytes)", n);
        if !self.write_out().await {
            self.stop(ctx);
            return false;
        }
        true
    }
}

/// The largest reply buffer a connection keeps between batches.
const REPLY_BUF_KEEP: usize = 16 * 1024;

/// Wakes the client actor when frames are pushed to its connection.
async fn push_loop(waiter: flume::Receiver<()>, addr: rt::WeakAddr<Client>) {
    while waiter.recv_async().await.is_ok() {
        // Let the batches already queued run first: a busy channel then costs one write per
        // round of the executor, not one per message.
        rt::yield_now().await;
        let Some(a) = addr.upgrade() else { break };
        if !matches!(a.call(WritePushes).await, Ok(true)) {
            break;
        }
    }
}

/// Queued commands the client actor runs itself (CLIENT KILL and most CONFIG SET / GET run
/// in the keyspace, in place).
fn runs_in_client(c: &Cmd) -> bool {
    matches!(c.spec.route, cmd::Route::Client)
        && !(c.spec.name == "client" && c.argv.len() >= 3 && c.argv[1].eq_ignore_ascii_case(b"kill"))
        && !(c.spec.name == "config" && cmd::config::runs_in_place(&c.argv))
}

/// Whether an item runs a script (EVAL, EVALSHA, FCALL and their _RO forms).
fn has_script(item: &Item) -> bool {
    let is = |c: &Cmd| matches!(c.spec.name, "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro");
    match item {
        Item::Cmd(c) => is(c),
        Item::Txn(cmds) | Item::TxnPart { cmds, .. } => cmds.iter().any(is),
    }
}
