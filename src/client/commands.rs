//! The commands a client actor runs itself: the connection's own (AUTH, HELLO, RESET, CLIENT)
//! here, server administration in [`admin`], ACL in [`acl`], and the replication commands in
//! `repl::commands`, which borrow what they need of the connection.

use super::{acl, admin, Client, Next};
use crate::keyspace::cmd::clients::{client_line, kill_cmd};
use crate::keyspace::cmd::{self, eq, err, CommandSpec};
use crate::keyspace;
use crate::repl::commands::{After, Caller};
use crate::util::num;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub(super) async fn run(c: &mut Client, spec: &'static CommandSpec, a: &[Bytes]) -> Next {
    match spec.name {
        "auth" => auth(c, a),
        "hello" => hello(c, a),
        "reset" => reset(c).await,
        "client" => return client(c, a).await,
        "config" => admin::config(c, a).await,
        "command" => admin::command(c, a),
        "shutdown" => return admin::shutdown(c, a).await,
        "replconf" | "psync" | "sync" | "wait" | "waitoffset" | "writeoffset" | "verifyreplicas" | "replicaof" | "slaveof" | "failover" => return replication(c, spec.name, a).await,
        "acl" => return acl::acl(c, a).await,
        acl::DENIED_IN_EXEC => c.out.error(&a[0]),
        "module" => admin::module(c, a),
        "slowlog" => admin::slowlog(c, a),
        "latency" => admin::latency(c, a),
        "migrate" => super::migrate::migrate(c, a).await,
        "cluster" | "asking" | "readonly" | "readwrite" => admin::cluster(c, a),
        _ => c.out.error(format!("ERR '{}' cannot run here", spec.name)),
    }
    Next::Continue
}

/// Runs a replication command (`repl::commands`), lending it what it needs of this
/// connection.
async fn replication(c: &mut Client, name: &str, a: &[Bytes]) -> Next {
    let mut caller = Caller {
        id: c.id,
        meta: &c.meta,
        shared: &c.shared,
        keyspace: &c.keyspace,
        repl: &c.repl,
        stream: &mut c.stream,
        out: &mut c.out,
        handshake: &mut c.handshake,
        repl_offset: c.repl_offset,
        in_txn: c.multi.is_some() || c.in_exec,
    };
    match crate::repl::commands::run(&mut caller, name, a).await {
        After::Continue => Next::Continue,
        After::Close => Next::Close,
        After::HandedOver => {
            c.handed_over = true;
            Next::Close
        }
    }
}

/// Checks a user's password (`default` without a user); replies on failure.
fn check_password(c: &mut Client, cmd: &[u8], user: Option<&[u8]>, pass: &[u8]) -> bool {
    let default_nopass = c.shared.acl.read().map(|a| a.users.get("default").is_some_and(|u| u.nopass)).unwrap_or(false);
    if user.is_none() && default_nopass {
        c.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        return false;
    }
    if !c.authenticate(cmd, user, pass) {
        c.out.error("WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    true
}

fn auth(c: &mut Client, a: &[Bytes]) {
    let ok = match a.len() {
        2 => check_password(c, &a[0], None, &a[1]),
        3 => check_password(c, &a[0], Some(&a[1]), &a[2]),
        _ => {
            c.out.error(err::SYNTAX);
            return;
        }
    };
    if ok {
        c.out.ok();
    }
}

fn hello(c: &mut Client, a: &[Bytes]) {
    let mut proto = if c.resp3 { 3 } else { 2 };
    let mut i = 1;
    if a.len() > 1 {
        match num::parse_i64(&a[1]) {
            Some(v) if v == 2 || v == 3 => proto = v,
            Some(_) => return c.out.error("NOPROTO unsupported protocol version"),
            None => return c.out.error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut name = None;
    while i < a.len() {
        if eq(&a[i], "AUTH") && i + 2 < a.len() {
            if !check_password(c, &a[0], Some(&a[i + 1]), &a[i + 2]) {
                return;
            }
            i += 3;
        } else if eq(&a[i], "SETNAME") && i + 1 < a.len() {
            if !valid_name(&a[i + 1]) {
                return c.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            }
            name = Some(a[i + 1].clone());
            i += 2;
        } else {
            return c.out.error([&b"ERR Syntax error in HELLO option '"[..], cmd::cstr(&a[i], usize::MAX), b"'"].concat());
        }
    }
    if !c.meta.authenticated.load(Relaxed) {
        return c.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = name {
        *c.meta.name.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
    }
    c.resp3 = proto == 3;
    c.out.resp3 = c.resp3;
    c.meta.resp.store(proto as u64, Relaxed);
    let role = if c.shared.is_replica.load(Relaxed) { "replica" } else { "master" };
    c.out.map(7);
    c.out.bulk(b"server");
    c.out.bulk(b"redis");
    c.out.bulk(b"version");
    c.out.bulk(b"7.0.15");
    c.out.bulk(b"proto");
    c.out.int(proto);
    c.out.bulk(b"id");
    c.out.int(c.id as i64);
    c.out.bulk(b"mode");
    c.out.bulk(b"standalone");
    c.out.bulk(b"role");
    c.out.bulk(role.as_bytes());
    c.out.bulk(b"modules");
    c.out.array(0);
}

async fn reset(c: &mut Client) {
    c.multi = None;
    c.multi_error = false;
    c.db = 0;
    c.meta.db.store(0, Relaxed);
    c.resp3 = false;
    c.out.resp3 = false;
    c.reply_off = false;
    c.reply_skip = false;
    *c.meta.name.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let authed = acl::default_user_open(&c.shared);
    c.meta.authenticated.store(authed, Relaxed);
    *c.meta.user.lock().unwrap_or_else(|e| e.into_inner()) = "default".to_string();
    // Awaited: the next command must find the client out of Pub/Sub and MONITOR.
    let _ = c.keyspace.call(keyspace::ResetClient(c.id)).await;
    c.out.simple("RESET");
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME", "    Return the name of the current connection.",
    "ID", "    Return the ID of the current connection.",
    "INFO", "    Return information about the current client connection.",
    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, SKIPME.",
    "LIST [options ...]", "    Return information about client connections.",
    "UNPAUSE", "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
    "SETNAME <name>", "    Assign the name <name> to the current connection.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO", "    Report tracking status for the current connection.",
    "HELP", "    Print this help.",
];

async fn client(c: &mut Client, a: &[Bytes]) -> Next {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    let arity = |c: &mut Client| c.out.error(format!("ERR wrong number of arguments for 'client|{}' command", sub));
    match sub.as_str() {
        "id" if a.len() == 2 => c.out.int(c.id as i64),
        "getname" if a.len() == 2 => {
            let n = c.meta.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
            match n {
                Some(n) => c.out.bulk(&n),
                None => c.out.null(),
            }
        }
        "setname" if a.len() == 3 => {
            if !valid_name(&a[2]) {
                c.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            } else {
                let n = if a[2].is_empty() { None } else { Some(a[2].clone()) };
                *c.meta.name.lock().unwrap_or_else(|e| e.into_inner()) = n;
                c.out.ok();
            }
        }
        "info" if a.len() == 2 => {
            let line = client_line(&c.meta) + "\n";
            c.out.verbatim(&line);
        }
        "list" => client_list(c, a),
        "kill" if a.len() >= 3 => return client_kill(c, a),
        "pause" if a.len() == 3 || a.len() == 4 => {
            let Some(ms) = num::parse_i64(&a[2]).filter(|&v| v >= 0) else {
                c.out.error("ERR timeout is not an integer or out of range");
                return Next::Continue;
            };
            let all = match a.get(3) {
                None => true,
                Some(m) if eq(m, "ALL") => true,
                Some(m) if eq(m, "WRITE") => false,
                Some(_) => {
                    c.out.error(err::SYNTAX);
                    return Next::Continue;
                }
            };
            c.shared.pause.all.store(all, Relaxed);
            c.shared.pause.until_ms.store(crate::util::now_ms() + ms, Relaxed);
            c.shared.pause.wake();
            c.out.ok();
        }
        "unpause" if a.len() == 2 => {
            c.shared.pause.until_ms.store(0, Relaxed);
            c.shared.pause.wake();
            c.out.ok();
        }
        "reply" if a.len() == 3 => {
            if eq(&a[2], "ON") {
                c.reply_off = false;
                c.skip_from = None;
                c.out.ok();
            } else if eq(&a[2], "OFF") {
                c.reply_off = true;
            } else if eq(&a[2], "SKIP") {
                c.reply_skip = true;
            } else {
                c.out.error(err::SYNTAX);
            }
        }
        "no-evict" if a.len() == 3 => {
            if eq(&a[2], "on") || eq(&a[2], "off") {
                c.meta.no_evict.store(eq(&a[2], "on"), Relaxed);
                c.out.ok();
            } else {
                c.out.error(err::SYNTAX);
            }
        }
        "no-touch" if a.len() == 3 => c.out.ok(),
        "unblock" if a.len() == 3 || a.len() == 4 => {
            let Some(id) = num::parse_i64(&a[2]) else {
                c.out.error(err::NOT_INT);
                return Next::Continue;
            };
            let error = match a.get(3) {
                None => false,
                Some(m) if eq(m, "TIMEOUT") => false,
                Some(m) if eq(m, "ERROR") => true,
                Some(_) => {
                    c.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                    return Next::Continue;
                }
            };
            let r = c.keyspace.call(keyspace::UnblockClient { id: id as u64, error }).await.unwrap_or(false);
            c.out.int(r as i64);
        }
        "help" => {
            c.out.help(&CLIENT_HELP);
        }
        "id" | "getname" | "setname" | "info" | "kill" | "pause" | "unpause" | "reply" | "tracking" | "caching" | "getredir" | "trackinginfo" => arity(c),
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "CLIENT")),
    }
    Next::Continue
}

fn client_list(c: &mut Client, a: &[Bytes]) {
    let mut typ: Option<String> = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < a.len() {
        if eq(&a[i], "TYPE") && i + 1 < a.len() {
            let t = String::from_utf8_lossy(&a[i + 1]).to_lowercase();
            let t = if t == "slave" { "replica".to_string() } else { t };
            if !["normal", "master", "replica", "pubsub"].contains(&t.as_str()) {
                return c.out.error([&b"ERR Unknown client type '"[..], cmd::cstr(&a[i + 1], usize::MAX), b"'"].concat());
            }
            typ = Some(t);
            i += 2;
        } else if eq(&a[i], "ID") && i + 1 < a.len() {
            let mut v = vec![];
            for x in &a[i + 1..] {
                match num::parse_i64(x).filter(|&n| n > 0) {
                    Some(n) => v.push(n as u64),
                    None => return c.out.error("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
            i = a.len();
        } else {
            return c.out.error(err::SYNTAX);
        }
    }
    let s = crate::keyspace::cmd::clients::list_text(&c.shared, typ.as_deref(), ids.as_deref());
    c.out.verbatim(&s);
}

fn client_kill(c: &mut Client, a: &[Bytes]) -> Next {
    kill_cmd(&c.shared, c.id, &mut c.out, a);
    if c.meta.killed.load(Relaxed) { Next::Close } else { Next::Continue }
}
