//! The handshake (Redis's `syncWithMaster` states up to PSYNC): PING, AUTH, REPLCONF
//! listening-port / ip-address / capa, then PSYNC with the cached master (or `? -1`) and its
//! answer: `+FULLRESYNC`, `+CONTINUE`, or an error that makes the link retry.

use super::attempt::{Attempt, LinkEnd};
use super::conn::Conn;
use super::MasterLinkState;
use crate::repl::{CachedMaster, Continued};

/// How the master answered PSYNC.
pub(super) enum Psynced {
    /// `+FULLRESYNC <replid> <offset>` (or a SYNC fallback): an RDB follows.
    Full { replid: String, offset: i64 },
    /// `+CONTINUE`: the stream continues from our offset `start`.
    Continue { start: i64 },
    /// `+DUALCHANNELSYNC` (Valkey 8): the RDB comes on a second connection.
    DualChannel,
    /// `+RESUME` (tandem): the rest of the RDB of a cut transfer follows.
    Resume(super::transfer::Partial),
}

impl Attempt {
    /// Forgets a cut transfer (its parser ends, its loading state too).
    fn drop_partial(&self) {
        let p = self.partial.lock().ok().and_then(|mut s| s.take());
        if p.is_some() {
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: discarding the transfer kept to resume");
        }
    }

    /// Runs the handshake; `last` follows the state for the end-of-attempt log lines.
    pub(super) async fn handshake(&mut self, conn: &mut Conn, last: &mut MasterLinkState) -> Result<Psynced, LinkEnd> {
        macro_rules! step {
            ($st:expr) => {{
                *last = $st;
                self.state($st);
            }};
        }
        let retry = LinkEnd::Retry;
        step!(MasterLinkState::ReceivePong);
        self.wire_out(format_args!("PING"));
        conn.send(&[b"PING"]);
        let pong = conn.reply_line().await.map_err(retry)?;
        self.wire_in(format_args!("{}", pong));
        if pong.starts_with('-')
            && !pong.starts_with("-NOAUTH")
            && !pong.starts_with("-NOPERM")
            && !pong.starts_with("-ERR operation not permitted")
        {
            crate::warning!(self.shared.log, "Error reply to PING from master: '{}'", &pong[1..]);
            return Err(LinkEnd::Retry(pong));
        }
        crate::notice!(self.shared.log, "Master replied to PING, replication can continue...");
        if !self.current() {
            return Err(LinkEnd::Stale);
        }
        // AUTH, REPLCONF listening-port, [ip-address], capa: pipelined.
        step!(MasterLinkState::SendHandshake);
        let (auth, user, ip) = {
            let c = self.shared.cfg();
            (c.masterauth(), c.masteruser(), c.replica_announce_ip())
        };
        let port = self.announced_port();
        let mut expect = 0;
        if let Some(pass) = &auth {
            self.wire_out(format_args!("AUTH (redacted)"));
            match &user {
                Some(u) => conn.send(&[b"AUTH", u, pass]),
                None => conn.send(&[b"AUTH", pass]),
            }
        }
        let port_s = port.to_string();
        self.wire_out(format_args!("REPLCONF listening-port {}", port_s));
        conn.send(&[b"REPLCONF", b"listening-port", port_s.as_bytes()]);
        expect += 1;
        if let Some(ip) = &ip {
            self.wire_out(format_args!("REPLCONF ip-address {}", ip));
            conn.send(&[b"REPLCONF", b"ip-address", ip.as_bytes()]);
            expect += 1;
        }
        // tandem-verify: this replica answers its master's verification markers (real
        // Redis and Valkey masters ignore a capability they do not know).
        if self.shared.cfg().dual_channel() {
            self.wire_out(format_args!("REPLCONF capa eof capa psync2 capa tandem-verify capa tandem-resume capa dual-channel"));
            conn.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2", b"capa", b"tandem-verify", b"capa", b"tandem-resume", b"capa", b"dual-channel"]);
        } else {
            self.wire_out(format_args!("REPLCONF capa eof capa psync2 capa tandem-verify capa tandem-resume"));
            conn.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2", b"capa", b"tandem-verify", b"capa", b"tandem-resume"]);
        }
        expect += 1;
        if auth.is_some() {
            step!(MasterLinkState::ReceiveAuth);
            let r = conn.reply_line().await.map_err(retry)?;
            self.wire_in(format_args!("{}", r));
            if r.starts_with('-') {
                crate::warning!(self.shared.log, "Unable to AUTH to MASTER: {}", &r[1..]);
                return Err(LinkEnd::Retry(r));
            }
        }
        step!(MasterLinkState::ReceivePort);
        for i in 0..expect {
            if i == expect - 1 {
                step!(MasterLinkState::ReceiveCapa);
            }
            let r = conn.reply_line().await.map_err(retry)?;
            self.wire_in(format_args!("{}", r));
            if r.starts_with('-') {
                crate::notice!(self.shared.log, "(Non critical) Master does not understand REPLCONF: {}", &r[1..]);
            }
        }
        self.psync(conn, last).await
    }

    /// PSYNC with the cached master, or `? -1`, and its answer.
    async fn psync(&mut self, conn: &mut Conn, last: &mut MasterLinkState) -> Result<Psynced, LinkEnd> {
        *last = MasterLinkState::SendPsync;
        self.state(MasterLinkState::SendPsync);
        crate::trace_msg!(self.shared.log, "link-io", "keyspace", "CachedMaster {{conv={}}}", self.conv);
        let cached = self.keyspace.call(CachedMaster).await.ok().flatten();
        // A transfer from this master cut within its window: ask to resume it.
        let resume = self.partial.lock().ok().and_then(|mut slot| {
            let fits = slot.as_ref().is_some_and(|p| p.master == (self.host.clone(), self.port) && std::time::Instant::now() < p.deadline);
            if !fits {
                *slot = None;
            }
            slot.as_ref().map(|p| format!("{}:{}:{}", p.replid, p.offset, p.received))
        });
        if let Some(r) = resume {
            self.wire_out(format_args!("REPLCONF resume {}", r));
            conn.send(&[b"REPLCONF", b"resume", r.as_bytes()]);
            let answer = conn.reply_line().await.map_err(LinkEnd::Retry)?;
            self.wire_in(format_args!("{}", answer));
            if answer.starts_with('-') {
                crate::notice!(self.shared.log, "Master can't resume a full sync: {}", answer);
                self.drop_partial();
            }
        }
        match &cached {
            Some((id, off, _)) => {
                crate::trace_reply!(self.shared.log, "keyspace", "link-io", "Cached(replid={}, offset={}) {{off={} conv={}}}", id, off, off, self.conv);
                crate::notice!(self.shared.log, "Trying a partial resynchronization (request {}:{}).", id, off + 1);
                let o = (off + 1).to_string();
                if self.failover {
                    self.wire_out(format_args!("PSYNC {} {} FAILOVER", id, o));
                    conn.send(&[b"PSYNC", id.as_bytes(), o.as_bytes(), b"FAILOVER"]);
                } else {
                    self.wire_out(format_args!("PSYNC {} {}", id, o));
                    conn.send(&[b"PSYNC", id.as_bytes(), o.as_bytes()]);
                }
            }
            None => {
                crate::trace_reply!(self.shared.log, "keyspace", "link-io", "NoCachedMaster {{conv={}}}", self.conv);
                crate::notice!(self.shared.log, "Partial resynchronization not possible (no cached master)");
                self.wire_out(format_args!("PSYNC ? -1"));
                conn.send(&[b"PSYNC", b"?", b"-1"]);
            }
        }
        *last = MasterLinkState::ReceivePsync;
        self.state(MasterLinkState::ReceivePsync);
        let reply = conn.reply_line().await.map_err(LinkEnd::Retry)?;
        self.wire_in(format_args!("{}", reply));
        if self.failover {
            self.failover = false;
            if reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE") {
                crate::repl::failover::clear(&self.shared, &self.backlog);
            } else {
                crate::notice!(self.shared.log, "FAILOVER target rejected psync request: {}", reply);
                if let Some(link) = self.link.upgrade() {
                    let shared = self.shared.clone();
                    let backlog = self.backlog.clone();
                    crate::rt::spawn(async move {
                        crate::repl::failover::abort(&shared, &backlog, &link, "Failover target rejected psync request").await
                    });
                }
                return Err(LinkEnd::Final(reply));
            }
        }
        let mut words = reply.split_whitespace();
        let head = words.next().unwrap_or("");
        if head == "+RESUME" {
            let p = self.partial.lock().ok().and_then(|mut s| s.take());
            if let Some(p) = p {
                crate::notice!(self.shared.log, "Resuming the full sync from master: {}:{} from byte {}", p.replid, p.offset, p.received);
                return Ok(Psynced::Resume(p));
            }
            return Err(LinkEnd::Retry(reply));
        }
        self.drop_partial();
        if head == "+FULLRESYNC" {
            let replid = words.next().unwrap_or("").to_string();
            let offset: i64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
            crate::notice!(self.shared.log, "Full resync from master: {}:{}", replid, offset);
            if cached.is_some() {
                crate::notice!(self.shared.log, "Discarding previously cached master state.");
            }
            Ok(Psynced::Full { replid, offset })
        } else if head == "+CONTINUE" {
            let (cid, coff, cdb) = cached.unwrap_or_default();
            // The stream goes on in the db it had selected (kept with the cached master, even
            // across a REPLICAOF to another host and back).
            self.db = cdb;
            let replid = words.next().map(|s| s.to_string()).unwrap_or(cid);
            crate::notice!(self.shared.log, "Successful partial resynchronization with master.");
            crate::trace_msg!(self.shared.log, "link-io", "keyspace", "Continued(replid={}) {{off={} conv={}}}", replid, coff, self.conv);
            let _ = self.keyspace.call(Continued { replid }).await;
            crate::notice!(self.shared.log, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            Ok(Psynced::Continue { start: coff })
        } else if head == "+DUALCHANNELSYNC" {
            if cached.is_some() {
                crate::notice!(self.shared.log, "Discarding previously cached master state.");
            }
            Ok(Psynced::DualChannel)
        } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
            crate::notice!(self.shared.log, "Master is currently unable to PSYNC but should be in the future: {}", reply);
            Err(LinkEnd::Retry(reply))
        } else if reply.starts_with('-') {
            crate::warning!(self.shared.log, "Unexpected reply to PSYNC from master: {}", reply);
            crate::notice!(self.shared.log, "Retrying with SYNC...");
            self.wire_out(format_args!("SYNC"));
            conn.send(&[b"SYNC"]);
            Ok(Psynced::Full { replid: crate::util::random_hex(40), offset: 0 })
        } else {
            crate::warning!(self.shared.log, "Unexpected reply to PSYNC from master: {}", reply);
            Err(LinkEnd::Retry(reply))
        }
    }
}
