//! One attempt to reach the master: the `link-io` task. Connects, registers the master
//! client, runs the handshake, the transfer or the partial resync, then applies the stream
//! until the link drops or the MasterLink actor tells it to stop; reports every step to the
//! actor and never touches the link's state itself.

use super::conn::{or_stop, Conn, STOPPED, TIMEOUT};
use super::handshake::Psynced;
use super::{LinkEvent, MasterLink, MasterLinkState, Report};
use crate::events::ReplEvent;
use crate::keyspace::Keyspace;
use crate::repl::backlog::Backlog;
use crate::rt::{self, Addr, TcpStream, WeakAddr};
use crate::shared::{ClientEntry, ClientMeta, Shared};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// How an attempt ended.
pub(super) enum LinkEnd {
    /// Lost or failed: the actor reconnects.
    Retry(String),
    /// Ended for good (a failover target refused us): the actor does not reconnect.
    Final(String),
    /// Told to stop (REPLICAOF changed, shutdown): nothing to report.
    Stale,
}

/// The state of one attempt (the task owns it; the actor only sees its reports).
pub(super) struct Attempt {
    pub shared: Arc<Shared>,
    pub keyspace: Addr<Keyspace>,
    pub backlog: Addr<Backlog>,
    pub link: WeakAddr<MasterLink>,
    /// The attempt's number (tags its reports).
    pub id: u64,
    /// Disconnected once the actor drops this attempt's sender: stop.
    pub stop: flume::Receiver<()>,
    pub host: String,
    pub port: u16,
    /// Send `PSYNC ... FAILOVER` (this server is handing its role to the target).
    pub failover: bool,
    /// The conversation id on trace lines: this replica as its master sees it (ip:port).
    pub conv: String,
    /// The master's socket as a trace participant (`net:<ip:port>`).
    pub peer: String,
    /// The db the master's stream has selected.
    pub db: usize,
    /// A cut transfer kept to resume (shared with the MasterLink and the next attempts).
    pub partial: Arc<std::sync::Mutex<Option<super::transfer::Partial>>>,
}

impl Attempt {
    /// Whether the actor still wants this attempt.
    pub fn current(&self) -> bool {
        !self.stop.is_disconnected()
    }

    /// Tells the actor something happened.
    pub fn report(&self, event: LinkEvent) {
        crate::trace_msg!(self.shared.log, "link-io", "master-link", "{} {{conv={}}}", event, self.conv);
        if let Some(a) = self.link.upgrade() {
            let _ = a.send(Report { attempt: self.id, event });
        }
    }

    /// Moves the state machine on (the actor records it).
    pub fn state(&self, st: MasterLinkState) {
        self.report(LinkEvent::State(st));
    }

    /// Traces a protocol line this replica writes to its master.
    pub fn wire_out(&self, line: std::fmt::Arguments<'_>) {
        crate::trace_wire!(self.shared.log, "link-io", self.peer, "{} {{conv={}}}", line, self.conv);
    }

    /// Traces a protocol line this replica reads from its master.
    pub fn wire_in(&self, line: std::fmt::Arguments<'_>) {
        crate::trace_wire!(self.shared.log, self.peer, "link-io", "{} {{conv={}}}", line, self.conv);
    }

    /// Runs the attempt and reports how it ended.
    pub async fn run(mut self) {
        let end = self.attempt().await;
        if !self.current() {
            return;
        }
        match end {
            LinkEnd::Retry(why) => self.report(LinkEvent::Ended { why, retry: true }),
            LinkEnd::Final(why) => self.report(LinkEvent::Ended { why, retry: false }),
            LinkEnd::Stale => {}
        }
    }

    async fn attempt(&mut self) -> LinkEnd {
        let timeout = Duration::from_secs(self.shared.cfg().repl_timeout().max(1));
        self.state(MasterLinkState::Connecting);
        crate::notice!(self.shared.log, "Connecting to MASTER {}:{}", self.host, self.port);
        let addr = format!("{}:{}", self.host, self.port);
        let Some(connected) = or_stop(&self.stop, rt::timeout(timeout, TcpStream::connect(&addr))).await else {
            return LinkEnd::Stale;
        };
        let stream = match connected {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                crate::warning!(self.shared.log, "Error condition on socket for SYNC: {}", e);
                return LinkEnd::Retry(e.to_string());
            }
            None => {
                crate::warning!(self.shared.log, "Timeout connecting to the MASTER...");
                return LinkEnd::Retry("connect timeout".into());
            }
        };
        let _ = stream.set_nodelay(true);
        self.peer = format!("net:{}", stream.peer_addr().map(|a| a.to_string()).unwrap_or(addr));
        let local_ip = stream.local_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        self.conv = format!("{}:{}", local_ip, self.announced_port());
        crate::notice!(self.shared.log, "MASTER <-> REPLICA sync started");
        let tag = (self.peer.clone(), self.conv.clone());
        let mut conn = Conn::new(stream.clone(), self.stop.clone(), timeout, self.shared.clone(), tag);
        // Register as the master client, so CLIENT LIST / CLIENT KILL TYPE master see it.
        let meta = self.register(&stream);
        let mut last = MasterLinkState::Connecting;
        let r = match self.handshake(&mut conn, &mut last).await {
            Ok(Psynced::Continue { start }) => {
                let events = &self.shared.events;
                events.emit(ReplEvent::SyncStarted { full: false });
                events.emit(ReplEvent::SyncFinished { full: false, offset: start });
                self.stream(&mut conn, &meta, start).await
            }
            Ok(Psynced::Full { replid, offset }) => {
                last = MasterLinkState::Transfer;
                self.shared.events.emit(ReplEvent::SyncStarted { full: true });
                match self.transfer(&mut conn, replid, offset).await {
                    Ok(()) => {
                        last = MasterLinkState::Connected;
                        self.shared.events.emit(ReplEvent::SyncFinished { full: true, offset });
                        self.stream(&mut conn, &meta, offset).await
                    }
                    Err(e) => e,
                }
            }
            Ok(Psynced::DualChannel) => self.dual_channel(&mut conn, &meta, &mut last).await,
            Ok(Psynced::Resume(p)) => {
                last = MasterLinkState::Transfer;
                let offset = p.offset;
                match self.transfer_resumed(&mut conn, p).await {
                    Ok(()) => {
                        last = MasterLinkState::Connected;
                        self.shared.events.emit(ReplEvent::SyncFinished { full: true, offset });
                        self.stream(&mut conn, &meta, offset).await
                    }
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if let LinkEnd::Retry(_) = &r {
            if last != MasterLinkState::Transfer && conn.acked.load(Relaxed) >= 0 {
                last = MasterLinkState::Connected;
            }
        }
        let r = match r {
            LinkEnd::Retry(_) if !self.current() => LinkEnd::Stale,
            r => r,
        };
        // The socket closes here: the writer ends with `conn` (its only sender) and the
        // clients table drops its clone below.
        let _ = stream.shutdown(std::net::Shutdown::Both);
        drop(conn);
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(&meta.id);
        self.shared.stats.connected_clients.fetch_sub(1, Relaxed);
        if let LinkEnd::Retry(why) = &r {
            let was_up = last == MasterLinkState::Connected;
            if why == TIMEOUT && last == MasterLinkState::Transfer {
                crate::warning!(self.shared.log, "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            } else if why == TIMEOUT && !was_up {
                crate::warning!(self.shared.log, "Timeout connecting to the MASTER...");
            }
            if was_up {
                crate::notice!(self.shared.log, "Connection with master lost.");
                crate::notice!(self.shared.log, "Caching the disconnected master state.");
            } else {
                crate::verbose!(self.shared.log, "sync attempt failed: {}", why);
            }
        }
        if matches!(&r, LinkEnd::Retry(w) if w == STOPPED) {
            return LinkEnd::Stale;
        }
        r
    }

    /// The port this replica announces (REPLCONF listening-port).
    pub fn announced_port(&self) -> u16 {
        let announce = self.shared.cfg().replica_announce_port();
        if announce > 0 {
            announce
        } else {
            self.shared.port()
        }
    }

    fn register(&self, stream: &TcpStream) -> Arc<ClientMeta> {
        let id = self.shared.next_client_id();
        let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let local = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let meta = Arc::new(ClientMeta::new(id, peer, local, true));
        let s = stream.clone();
        self.shared.clients.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            ClientEntry {
                meta: meta.clone(),
                kill: Box::new(move || {
                    let _ = s.shutdown(std::net::Shutdown::Both);
                }),
            },
        );
        self.shared.stats.connected_clients.fetch_add(1, Relaxed);
        meta
    }
}
