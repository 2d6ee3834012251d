//! The client registry's commands: CLIENT LIST lines and CLIENT KILL. They read and close
//! connections through `Shared::clients`, so they need no connection of their own: the client
//! actor runs them, and the keyspace runs CLIENT KILL in place inside a transaction (its
//! effect is then ordered with the transaction's other commands).

use super::err;
use crate::resp::Out;
use crate::shared::{track, ClientMeta, Shared};
use crate::util::num;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// Commands whose CLIENT LIST `cmd=` names the subcommand too (`client|list`).
pub const CONTAINERS: &[&str] = &[
    "acl", "client", "cluster", "command", "config", "function", "latency", "memory", "module", "object", "pubsub", "script", "slowlog", "xgroup", "xinfo",
];

/// One CLIENT LIST line.
pub fn client_line(m: &ClientMeta) -> String {
    let name = m.name.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default();
    let idle = m.last_interaction.lock().unwrap_or_else(|e| e.into_inner()).elapsed().as_secs();
    let cmd = match super::table().get(m.last_cmd.load(Relaxed)) {
        Some(c) if CONTAINERS.contains(&c.name) => m.last_sub.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        Some(c) => c.name.to_string(),
        None => String::new(),
    };
    // Redis's letters, in its order: O (monitor) or S (replica), M, P, x, b, t, R, B; N for
    // none.
    let mut flags = String::new();
    if m.monitor.load(Relaxed) {
        flags.push('O');
    } else if m.is_replica.load(Relaxed) {
        flags.push('S');
    }
    if m.is_master.load(Relaxed) {
        flags.push('M');
    }
    if m.in_pubsub() {
        flags.push('P');
    }
    if m.multi.load(Relaxed) >= 0 {
        flags.push('x');
    }
    if m.blocked.load(Relaxed) {
        flags.push('b');
    }
    let tracking = m.tracking.load(Relaxed);
    for (bit, letter) in [(track::ON, 't'), (track::BROKEN_REDIR, 'R'), (track::BCAST, 'B')] {
        if tracking & bit != 0 {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll={} omem={} tot-mem=0 events=r cmd={} user={} redir={} resp={}",
        m.id,
        m.addr,
        m.laddr,
        m.fd,
        String::from_utf8_lossy(&name),
        m.created.elapsed().as_secs(),
        idle,
        flags,
        m.db.load(Relaxed),
        m.subs.load(Relaxed),
        m.psubs.load(Relaxed),
        m.ssubs.load(Relaxed),
        m.multi.load(Relaxed),
        m.qbuf.load(Relaxed) + m.qbuf_batch.load(Relaxed),
        m.qbuf_free.load(Relaxed),
        m.push.pending_frames(),
        m.omem.load(Relaxed) + m.push.pending_bytes() as u64,
        if cmd.is_empty() { "NULL".to_string() } else { cmd },
        Shared::user_of(m),
        if tracking & track::ON != 0 { m.tracking_redir.load(Relaxed) as i64 } else { -1 },
        m.resp.load(Relaxed).max(2),
    )
}

/// A connection's type as CLIENT LIST TYPE and CLIENT KILL TYPE name it.
/// CLIENT LIST's text: a line per connection (of type `typ`, with an id in `ids`), by id.
/// Buffer bytes held for clients, as INFO's `mem_clients_normal` and `mem_clients_slaves`:
/// (normal and pubsub clients' query and output buffers, what replicas pin of the
/// replication buffer).
pub fn buffer_memory(shared: &Shared) -> (u64, u64) {
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    let (mut normal, mut replicas) = (0, 0);
    for e in clients.values() {
        let m = &e.meta;
        let out = m.omem.load(Relaxed) + m.push.pending_bytes() as u64;
        if m.is_replica.load(Relaxed) {
            replicas += out;
        } else if !m.is_master.load(Relaxed) {
            normal += out + m.qbuf.load(Relaxed) + m.qbuf_free.load(Relaxed) + m.qbuf_batch.load(Relaxed);
        }
    }
    (normal, replicas)
}

/// The largest query buffer and the largest output buffer among the connections (INFO's
/// `client_recent_max_input_buffer` / `client_recent_max_output_buffer`).
pub fn largest_buffers(shared: &Shared) -> (u64, u64) {
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    clients.values().fold((0, 0), |(i, o), e| {
        let m = &e.meta;
        (i.max(m.qbuf.load(Relaxed) + m.qbuf_free.load(Relaxed)), o.max(m.omem.load(Relaxed)))
    })
}

pub fn list_text(shared: &Shared, typ: Option<&str>, ids: Option<&[u64]>) -> String {
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    let mut metas: Vec<_> = clients.values().map(|e| e.meta.clone()).collect();
    drop(clients);
    metas.sort_by_key(|m| m.id);
    let mut s = String::new();
    for m in metas {
        if typ.is_some_and(|t| t != client_type(&m)) || ids.is_some_and(|v| !v.contains(&m.id)) {
            continue;
        }
        s.push_str(&client_line(&m));
        s.push('\n');
    }
    s
}

pub fn client_type(m: &ClientMeta) -> &'static str {
    if m.is_master.load(Relaxed) {
        "master"
    } else if m.is_replica.load(Relaxed) {
        "replica"
    } else if m.in_pubsub() {
        "pubsub"
    } else {
        "normal"
    }
}

/// CLIENT KILL for client `me`. It touches only shared state, so the keyspace runs it in
/// place inside a transaction (its effect is ordered with the transaction's other commands).
/// Killing `me` only marks it: the reply goes out first, then the connection closes.
/// Returns true when `me` was killed.
pub fn kill_cmd(shared: &Shared, me: u64, out: &mut Out, a: &[Bytes]) -> bool {
    // Old form: CLIENT KILL addr.
    if a.len() == 3 {
        let addr = String::from_utf8_lossy(&a[2]).to_string();
        let (n, me_killed) = kill_matching(shared, me, |m| m.addr == addr, false);
        if n == 0 {
            out.error("ERR No such client");
        } else {
            out.ok();
        }
        return me_killed;
    }
    let (mut id, mut addr, mut laddr, mut typ, mut skipme, mut user) = (None, None, None, None, true, None);
    let mut i = 2;
    while i < a.len() {
        if i + 1 >= a.len() {
            out.error(err::SYNTAX);
            return false;
        }
        let v = String::from_utf8_lossy(&a[i + 1]).to_string();
        let o = String::from_utf8_lossy(&a[i]).to_lowercase();
        match o.as_str() {
            "id" => match num::parse_i64(&a[i + 1]).filter(|&n| n > 0) {
                Some(n) => id = Some(n as u64),
                None => {
                    out.error("ERR client-id should be greater than 0");
                    return false;
                }
            },
            "addr" => addr = Some(v),
            "laddr" => laddr = Some(v),
            "type" => {
                let t = v.to_lowercase();
                let t = if t == "slave" { "replica".to_string() } else { t };
                if !["normal", "master", "replica", "pubsub"].contains(&t.as_str()) {
                    out.error(format!("ERR Unknown client type '{}'", v));
                    return false;
                }
                typ = Some(t);
            }
            "skipme" => {
                if v.eq_ignore_ascii_case("yes") {
                    skipme = true
                } else if v.eq_ignore_ascii_case("no") {
                    skipme = false
                } else {
                    out.error(err::SYNTAX);
                    return false;
                }
            }
            "user" => {
                if !shared.acl.read().map(|a| a.users.contains_key(&v)).unwrap_or(false) {
                    out.error(format!("ERR No such user '{}'", v));
                    return false;
                }
                user = Some(v);
            }
            _ => {
                out.error(err::SYNTAX);
                return false;
            },
        }
        i += 2;
    }
    let (n, me_killed) = kill_matching(
        shared,
        me,
        |m| {
            id.is_none_or(|x| m.id == x)
                && addr.as_ref().is_none_or(|x| &m.addr == x)
                && laddr.as_ref().is_none_or(|x| &m.laddr == x)
                && typ.as_ref().is_none_or(|x| x == client_type(m))
                && user.as_ref().is_none_or(|x| Shared::user_of(m) == *x)
        },
        skipme,
    );
    out.int(n as i64);
    me_killed
}

/// Closes every client matching `pred`; returns how many, and whether `me` was one.
/// Closes the connections running as one of `users` (ACL DELUSER, ACL LOAD); whether the
/// caller's own is among them (it closes after its reply).
pub fn kill_users(shared: &Shared, me: u64, users: &[String]) -> bool {
    kill_matching(shared, me, |m| users.contains(&Shared::user_of(m)), false).1
}

fn kill_matching(shared: &Shared, me: u64, pred: impl Fn(&ClientMeta) -> bool, skipme: bool) -> (usize, bool) {
    let clients = shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    let (mut n, mut me_killed) = (0, false);
    for e in clients.values() {
        if skipme && e.meta.id == me {
            continue;
        }
        // Already being closed (an earlier KILL, QUIT): not counted again.
        if e.meta.killed.load(Relaxed) && e.meta.id != me {
            continue;
        }
        if pred(&e.meta) {
            n += 1;
            e.meta.killed.store(true, Relaxed);
            if e.meta.id == me {
                // Killing ourselves: reply first, then close.
                me_killed = true;
            } else {
                (e.kill)();
            }
        }
    }
    (n, me_killed)
}
