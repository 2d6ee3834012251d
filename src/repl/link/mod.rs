//! The master link (replica side): an actor that owns Redis's replica state machine
//! (`MasterLinkState`), the role, and the life of the socket work.
//!
//! The actor decides; a task does the I/O. For each attempt to reach the master it spawns
//! one `link-io` task (`attempt`) that connects, runs the handshake (`handshake`),
//! receives and loads the RDB (`transfer`) and applies the stream (`apply`). The task
//! never touches the link's state: it reports every state change, transfer progress, stream
//! position and its end to the actor as [`Report`] messages, tagged with its attempt number
//! so a report from an abandoned attempt is ignored. The actor publishes what INFO and ROLE
//! show (a snapshot only it writes) and decides when to reconnect: at once after a link that
//! was up (the cached master makes that a partial resync), every second after a failed
//! attempt. REPLICAOF and shutdown drop the attempt's stop handle: the task wakes wherever it
//! waits and closes its socket at once.
//!
//! ```text
//!  client --SetMaster--> MasterLink --spawn--> link-io --PING/REPLCONF/PSYNC--> master
//!                           ^   |                 |  --CachedMaster/LoadSnapshot/
//!                           |   +--SetRole------> keyspace  Continued/ApplyStream-->
//!                           +------Report(State, Progress, Streaming, Ended)--+
//! ```

mod apply;
mod attempt;
mod conn;
mod dual;
mod handshake;
mod transfer;

use super::backlog::Backlog;
use crate::keyspace::Keyspace;
use crate::rt::{self, async_trait, Actor, Addr, Context, Handler, Message, WeakAddr};
use crate::shared::Shared;
pub use crate::shared::repl::{LinkStatus, MasterLinkState, Role};
use std::sync::Arc;
use std::time::Duration;

/// The master-link actor.
pub struct MasterLink {
    shared: Arc<Shared>,
    keyspace: Addr<Keyspace>,
    /// The backlog (a failover that ends stops its wait for a synced replica).
    backlog: Addr<Backlog>,
    me: Option<WeakAddr<MasterLink>>,
    status: LinkStatus,
    role: Role,
    /// The current attempt's number: reports from older attempts are ignored.
    attempt: u64,
    /// The current attempt's stop handle: the task lives while this sender does.
    stop: Option<flume::Sender<()>>,
    /// The next attempt's PSYNC carries FAILOVER.
    failover_next: bool,
    /// A cut transfer kept to resume (resumable full sync).
    partial: Arc<std::sync::Mutex<Option<transfer::Partial>>>,
}

impl MasterLink {
    pub fn new(shared: Arc<Shared>, keyspace: Addr<Keyspace>, backlog: Addr<Backlog>) -> Self {
        MasterLink {
            shared,
            keyspace,
            backlog,
            me: None,
            status: LinkStatus::default(),
            role: Role::Master,
            attempt: 0,
            stop: None,
            failover_next: false,
            partial: Default::default(),
        }
    }

    /// Makes the status visible to INFO and ROLE.
    fn publish(&self) {
        *self.shared.repl.link.lock().unwrap_or_else(|e| e.into_inner()) = self.status.clone();
    }

    /// The role changes here and nowhere else; the keyspace applies it in order.
    async fn set_role(&mut self, role: Role) {
        self.role = role;
        let master = if role.is_replica() { self.status.master.clone() } else { None };
        self.shared.events.emit(crate::events::ReplEvent::Role { master });
        crate::trace_msg!(self.shared.log, "master-link", "keyspace", "SetRole({:?})", role);
        let _ = self.keyspace.call(super::SetRole(role)).await;
    }

    /// Ends the current attempt (its socket closes now) and starts a new one.
    fn launch(&mut self) {
        self.stop = None;
        self.attempt += 1;
        let Some((host, port)) = self.status.master.clone() else { return };
        let Some(me) = self.me.clone() else { return };
        let (stop_tx, stop) = flume::bounded(1);
        self.stop = Some(stop_tx);
        let a = attempt::Attempt {
            shared: self.shared.clone(),
            keyspace: self.keyspace.clone(),
            backlog: self.backlog.clone(),
            link: me,
            id: self.attempt,
            stop,
            host,
            port,
            failover: std::mem::take(&mut self.failover_next),
            conv: String::new(),
            peer: String::new(),
            db: 0,
            partial: self.partial.clone(),
        };
        crate::trace_msg!(self.shared.log, "master-link", "link-io", "Start(attempt={})", self.attempt);
        rt::spawn(a.run());
    }
}

#[async_trait]
impl Actor for MasterLink {
    async fn started(&mut self, ctx: &mut Context<Self>) -> rt::ActorResult<()> {
        self.me = Some(ctx.address().downgrade());
        Ok(())
    }
}

/// Who asked for a role change (for the log line and the trace).
#[derive(Clone, Debug, Default)]
pub struct Requester {
    /// The trace participant: `client:<id>`, `failover`, `config`, `embedder`.
    pub actor: String,
    /// How Redis's log names it: a CLIENT LIST line, or the server itself.
    pub line: String,
}

impl Requester {
    /// The server itself (config at start-up, failover).
    pub fn server(actor: &str) -> Self {
        Requester { actor: actor.into(), line: String::new() }
    }
}

/// REPLICAOF host port / NO ONE. Replies with the status line for the client.
pub struct SetMaster {
    pub target: Option<(String, u16)>,
    pub by: Requester,
}
impl Message for SetMaster {
    type Result = String;
}

/// FAILOVER: become a replica of `target`, sending `PSYNC ... FAILOVER` so it promotes itself.
pub struct SetMasterFailover {
    pub target: (String, u16),
    pub by: Requester,
}
impl Message for SetMasterFailover {
    type Result = String;
}

/// Server shutdown: end the link (its socket closes).
pub struct StopLink;
impl Message for StopLink {
    type Result = ();
}

/// The link's status now (embedding API; INFO and ROLE read the published copy).
pub struct GetStatus;
impl Message for GetStatus {
    type Result = LinkStatus;
}

/// What a `link-io` task reports.
#[derive(Debug)]
pub enum LinkEvent {
    /// The handshake or the transfer moved on.
    State(MasterLinkState),
    /// RDB bytes received so far (`total` 0: an `$EOF:` stream of unknown size).
    Progress { read: i64, total: i64 },
    /// Stream bytes read from the master up to this offset.
    Streaming { read_offset: i64 },
    /// The attempt ended; `retry`: reconnect (false: a failover target refused us).
    Ended { why: String, retry: bool },
}

impl std::fmt::Display for LinkEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkEvent::State(st) => write!(f, "State({:?})", st),
            LinkEvent::Progress { read, total } => write!(f, "Progress({} of {} bytes)", read, total),
            LinkEvent::Streaming { read_offset } => write!(f, "Streaming(read_offset={})", read_offset),
            LinkEvent::Ended { why, retry } => write!(f, "Ended({}, {})", why, if *retry { "retry" } else { "final" }),
        }
    }
}

/// A report from the `link-io` task of attempt `attempt`.
pub struct Report {
    pub attempt: u64,
    pub event: LinkEvent,
}
impl Message for Report {
    type Result = ();
}

/// Time to try again (sent by a timer after a lost link or a failed attempt).
struct Reconnect {
    attempt: u64,
}
impl Message for Reconnect {
    type Result = ();
}

#[async_trait]
impl Handler<StopLink> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: StopLink) {
        crate::trace_msg!(self.shared.log, "server", "master-link", "StopLink");
        self.stop = None;
        self.attempt += 1;
    }
}

#[async_trait]
impl Handler<GetStatus> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, _msg: GetStatus) -> LinkStatus {
        crate::trace_msg!(self.shared.log, "embedder", "master-link", "GetStatus");
        self.status.clone()
    }
}

#[async_trait]
impl Handler<SetMasterFailover> for MasterLink {
    async fn handle(&mut self, ctx: &mut Context<Self>, msg: SetMasterFailover) -> String {
        crate::trace_msg!(self.shared.log, msg.by.actor, "master-link", "SetMasterFailover({}:{})", msg.target.0, msg.target.1);
        self.failover_next = true;
        <Self as Handler<SetMaster>>::handle(self, ctx, SetMaster { target: Some(msg.target), by: msg.by }).await
    }
}

#[async_trait]
impl Handler<SetMaster> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: SetMaster) -> String {
        let by = msg.by.actor.clone();
        crate::trace_msg!(self.shared.log, by, "master-link", "SetMaster({})", target_text(&msg.target));
        let who = if msg.by.line.is_empty() { "tandem".to_string() } else { msg.by.line.clone() };
        let reply = match msg.target {
            None => {
                if self.status.master.is_none() {
                    "OK".to_string()
                } else {
                    // The old link ends now, closing its socket (as Redis frees the master client).
                    self.stop = None;
                    self.attempt += 1;
                    self.status = LinkStatus::default();
                    self.publish();
                    self.shared.cfg_mut().set_replicaof(None);
                    self.set_role(Role::Master).await;
                    crate::notice!(self.shared.log, "MASTER MODE enabled (user request from '{}')", who);
                    "OK".to_string()
                }
            }
            Some(m) => {
                if self.status.master.as_ref() == Some(&m) {
                    "OK Already connected to specified master".to_string()
                } else {
                    self.status = LinkStatus { master: Some(m.clone()), state: MasterLinkState::Connect, ..Default::default() };
                    self.publish();
                    self.shared.cfg_mut().set_replicaof(Some(m.clone()));
                    self.set_role(Role::Replica).await;
                    crate::notice!(self.shared.log, "REPLICAOF {}:{} enabled (user request from '{}')", m.0, m.1, who);
                    self.launch();
                    "OK".to_string()
                }
            }
        };
        crate::trace_reply!(self.shared.log, "master-link", by, "{}", reply);
        reply
    }
}

fn target_text(t: &Option<(String, u16)>) -> String {
    match t {
        Some((h, p)) => format!("{h}:{p}"),
        None => "NO ONE".into(),
    }
}

#[async_trait]
impl Handler<Report> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Report) {
        if msg.attempt != self.attempt {
            crate::trace_msg!(self.shared.log, "master-link", "master-link", "Ignored({}, from stale attempt {})", msg.event, msg.attempt);
            return;
        }
        let now = crate::util::now_ms();
        let s = &mut self.status;
        match msg.event {
            LinkEvent::State(st) => {
                s.state = st;
                self.shared.events.emit(crate::events::ReplEvent::LinkState(format!("{st:?}")));
                if st == MasterLinkState::Connected {
                    s.last_io_ms = now;
                    s.down_since_ms = 0;
                }
            }
            LinkEvent::Progress { read, total } => {
                s.sync_read = read;
                s.sync_total = total;
                s.last_io_ms = now;
            }
            LinkEvent::Streaming { read_offset } => {
                s.last_io_ms = now;
                s.read_offset = read_offset;
            }
            LinkEvent::Ended { why, retry } => {
                let was_up = s.state == MasterLinkState::Connected;
                if was_up {
                    s.down_since_ms = now;
                    self.shared.events.emit(crate::events::ReplEvent::LinkLost);
                }
                s.state = MasterLinkState::Connect;
                self.stop = None;
                if retry {
                    crate::verbose!(self.shared.log, "Master link attempt ended: {}", why);
                    // A link that was up reconnects at once (the cached master makes it a
                    // partial resync); failed attempts retry every second.
                    let pause = if was_up { Duration::from_millis(10) } else { Duration::from_secs(1) };
                    let attempt = self.attempt;
                    if let Some(me) = self.me.clone() {
                        rt::spawn(async move {
                            rt::sleep(pause).await;
                            if let Some(a) = me.upgrade() {
                                let _ = a.send(Reconnect { attempt });
                            }
                        });
                    }
                }
            }
        }
        self.publish();
    }
}

#[async_trait]
impl Handler<Reconnect> for MasterLink {
    async fn handle(&mut self, _ctx: &mut Context<Self>, msg: Reconnect) {
        if msg.attempt != self.attempt || self.status.master.is_none() || self.stop.is_some() {
            return;
        }
        crate::trace_msg!(self.shared.log, "timer", "master-link", "Reconnect");
        if let Some((h, p)) = &self.status.master {
            crate::notice!(self.shared.log, "Reconnecting to MASTER {}:{}", h, p);
        }
        self.launch();
    }
}
