//! Connection and server commands that run in the client actor: AUTH, HELLO, RESET, CLIENT,
//! CONFIG, COMMAND, SHUTDOWN.

use super::{Client, Next};
use crate::keyspace::cmd::clients::{client_line, client_type, kill_cmd};
use crate::keyspace::cmd::{self, eq, err, CommandSpec};
use crate::keyspace;
use crate::repl::backlog::{Backlog, WaitAcks, WaitEnd};
use crate::util::num;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub(super) async fn run(c: &mut Client, spec: &'static CommandSpec, a: &[Bytes]) -> Next {
    match spec.name {
        "auth" => auth(c, a),
        "hello" => hello(c, a),
        "reset" => reset(c),
        "client" => return client(c, a).await,
        "config" => config(c, a),
        "command" => command(c, a),
        "shutdown" => return shutdown(c, a),
        "replconf" => replconf(c, a),
        "psync" => return sync(c, a, true).await,
        "sync" => return sync(c, a, false).await,
        "wait" => wait(c, a).await,
        "replicaof" | "slaveof" => replicaof(c, a).await,
        "failover" => failover(c, a).await,
        "acl" => acl(c, a),
        "module" => module(c, a),
        _ => c.out.error(format!("ERR '{}' cannot run here", spec.name)),
    }
    Next::Continue
}

/// Checks a password (and user, which must be `default`); replies on failure.
fn check_password(c: &mut Client, user: Option<&[u8]>, pass: &[u8]) -> bool {
    let required = c.shared.cfg().requirepass().clone();
    let ok = match (&required, user) {
        (_, Some(u)) if u != b"default" => false,
        (Some(p), _) => p.as_slice() == pass,
        (None, Some(_)) => true,
        (None, None) => {
            c.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return false;
        }
    };
    if !ok {
        c.out.error("WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    c.meta.authenticated.store(true, Relaxed);
    true
}

fn auth(c: &mut Client, a: &[Bytes]) {
    let ok = match a.len() {
        2 => check_password(c, None, &a[1]),
        3 => check_password(c, Some(&a[1]), &a[2]),
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
            if !check_password(c, Some(&a[i + 1]), &a[i + 2]) {
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

fn reset(c: &mut Client) {
    c.multi = None;
    c.multi_error = false;
    c.db = 0;
    c.meta.db.store(0, Relaxed);
    c.resp3 = false;
    c.out.resp3 = false;
    c.reply_off = false;
    c.reply_skip = false;
    *c.meta.name.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let authed = c.shared.cfg().requirepass().is_none();
    c.meta.authenticated.store(authed, Relaxed);
    let _ = c.keyspace.send(keyspace::Unwatch(c.id));
    c.out.simple("RESET");
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
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
                c.out.ok();
            } else if eq(&a[2], "OFF") {
                c.reply_off = true;
            } else if eq(&a[2], "SKIP") {
                c.reply_skip = true;
            } else {
                c.out.error(err::SYNTAX);
            }
        }
        "no-evict" | "no-touch" if a.len() == 3 => c.out.ok(),
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
            c.out.array(CLIENT_HELP.len());
            for l in CLIENT_HELP {
                c.out.simple(l);
            }
        }
        "id" | "getname" | "setname" | "info" | "kill" | "pause" | "unpause" | "reply" => arity(c),
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
    let clients = c.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    let mut metas: Vec<_> = clients.values().map(|e| e.meta.clone()).collect();
    drop(clients);
    metas.sort_by_key(|m| m.id);
    let mut s = String::new();
    for m in metas {
        if typ.as_ref().is_some_and(|t| t != client_type(&m)) {
            continue;
        }
        if ids.as_ref().is_some_and(|v| !v.contains(&m.id)) {
            continue;
        }
        s.push_str(&client_line(&m));
        s.push('\n');
    }
    c.out.verbatim(&s);
}

fn client_kill(c: &mut Client, a: &[Bytes]) -> Next {
    kill_cmd(&c.shared, c.id, &mut c.out, a);
    if c.meta.killed.load(Relaxed) { Next::Close } else { Next::Continue }
}

fn config(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "get" if a.len() >= 3 => {
            let cfg = c.shared.cfg();
            let mut pairs: Vec<(String, String)> = vec![];
            for p in &a[2..] {
                for kv in cfg.get(p) {
                    if !pairs.iter().any(|(k, _)| *k == kv.0) {
                        pairs.push(kv);
                    }
                }
            }
            drop(cfg);
            c.out.map(pairs.len());
            for (k, v) in pairs {
                c.out.bulk(k.as_bytes());
                c.out.bulk(v.as_bytes());
            }
        }
        "set" if a.len() >= 4 && a.len().is_multiple_of(2) => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = a[2..].chunks(2).map(|p| (p[0].to_vec(), p[1].to_vec())).collect();
            let local = c.meta.local;
            let r = c.shared.config.write().unwrap_or_else(|e| e.into_inner()).set_ext(&pairs, local);
            match r {
                Ok(_) => {
                    c.shared.apply_config();
                    c.out.ok()
                }
                Err(e) => c.out.error(&e),
            }
        }
        "resetstat" if a.len() == 2 => {
            for s in &c.shared.cmd_stats {
                s.calls.store(0, Relaxed);
                s.usec.store(0, Relaxed);
                s.rejected.store(0, Relaxed);
                s.failed.store(0, Relaxed);
            }
            c.shared.reset_stats();
            let _ = c.keyspace.send(keyspace::ResetStats);
            c.out.ok();
        }
        "rewrite" if a.len() == 2 => {
            let r = c.shared.cfg().rewrite();
            match r {
                Ok(()) => c.out.ok(),
                Err(e) => c.out.error(&e),
            }
        }
        "help" => {
            c.out.array(1);
            c.out.simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are: GET, SET, RESETSTAT, REWRITE, HELP");
        }
        "get" | "set" | "resetstat" | "rewrite" => {
            c.out.error(format!("ERR wrong number of arguments for 'config|{}' command", sub))
        }
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "CONFIG")),
    }
}

fn command_info(c: &mut Client, spec: &CommandSpec) {
    c.out.array(10);
    c.out.bulk(spec.name.as_bytes());
    c.out.int(spec.arity as i64);
    let flags = spec.flag_names();
    c.out.set(flags.len());
    for f in flags {
        c.out.simple(f);
    }
    c.out.int(spec.first_key as i64);
    c.out.int(spec.last_key as i64);
    c.out.int(spec.step as i64);
    let cats = acl_categories(spec);
    c.out.set(cats.len());
    for cat in cats {
        c.out.simple(cat);
    }
    c.out.array(0);
    c.out.array(0);
    c.out.array(0);
}

fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    let mut v = vec![];
    if spec.is_write() {
        v.push("@write");
    }
    if spec.has(cmd::READONLY) {
        v.push("@read");
    }
    v.push(match spec.group {
        "string" => "@string",
        "bitmap" => "@bitmap",
        "generic" => "@keyspace",
        "list" => "@list",
        "hash" => "@hash",
        "set" => "@set",
        "sorted-set" => "@sortedset",
        "hyperloglog" => "@hyperloglog",
        "connection" => "@connection",
        "transactions" => "@transaction",
        "scripting" => "@scripting",
        _ => "@admin",
    });
    if spec.group == "hyperloglog" && spec.has(cmd::ADMIN) {
        v.push("@admin");
    }
    if spec.has(cmd::FAST) {
        v.push("@fast");
    } else {
        v.push("@slow");
    }
    if spec.has(cmd::ADMIN) {
        v.push("@dangerous");
    }
    v
}

fn command(c: &mut Client, a: &[Bytes]) {
    let table = cmd::table();
    if a.len() == 1 {
        c.out.array(table.len());
        for s in table {
            command_info(c, s);
        }
        return;
    }
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "count" if a.len() == 2 => c.out.int(table.len() as i64),
        "list" => {
            c.out.array(table.len());
            for s in table {
                c.out.bulk(s.name.as_bytes());
            }
        }
        "info" => {
            let specs: Vec<Option<&'static CommandSpec>> = if a.len() == 2 {
                table.iter().map(Some).collect()
            } else {
                a[2..].iter().map(|n| cmd::lookup(n)).collect()
            };
            c.out.array(specs.len());
            for s in specs {
                match s {
                    Some(s) => command_info(c, s),
                    None => c.out.null_array(),
                }
            }
        }
        "docs" => {
            // Without names: an error, so redis-cli falls back to its built-in Redis 7.0 help
            // table, whose argument hints are complete (ours carry summaries only).
            if a.len() == 2 {
                return c.out.error("ERR COMMAND DOCS needs command names on tandem (redis-cli then uses its built-in help and hints)");
            }
            let specs: Vec<&'static CommandSpec> = if a.len() == 2 {
                table.iter().collect()
            } else {
                a[2..].iter().filter_map(|n| cmd::lookup(n)).collect()
            };
            c.out.map(specs.len());
            for s in specs {
                c.out.bulk(s.name.as_bytes());
                c.out.map(3);
                c.out.bulk(b"summary");
                c.out.bulk(s.summary.as_bytes());
                c.out.bulk(b"since");
                c.out.bulk(b"1.0.0");
                c.out.bulk(b"group");
                c.out.bulk(s.group.as_bytes());
            }
        }
        "getkeys" if a.len() >= 3 => {
            let Some(spec) = cmd::lookup(&a[2]) else {
                return c.out.error("ERR Invalid command specified");
            };
            if !spec.arity_ok(a.len() - 2) {
                return c.out.error("ERR Invalid number of arguments specified for command");
            }
            let pos = spec.key_positions(a.len() - 2);
            if pos.is_empty() {
                return c.out.error("ERR The command has no key arguments");
            }
            c.out.array(pos.len());
            for p in pos {
                c.out.bulk(&a[2 + p]);
            }
        }
        "help" => {
            c.out.array(1);
            c.out.simple("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are: COUNT, DOCS, GETKEYS, INFO, LIST, HELP");
        }
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "COMMAND")),
    }
}

fn shutdown(c: &mut Client, a: &[Bytes]) -> Next {
    let mut req = crate::shared::ShutdownRequest::default();
    for o in &a[1..] {
        if eq(o, "NOSAVE") {
            req.nosave = true;
        } else if eq(o, "SAVE") {
            req.save = true;
        } else if eq(o, "NOW") {
            req.now = true;
        } else if eq(o, "FORCE") {
            req.force = true;
        } else if eq(o, "ABORT") {
            req.abort = true;
        } else {
            c.out.error(err::SYNTAX);
            return Next::Continue;
        }
    }
    if req.nosave && req.save {
        c.out.error(err::SYNTAX);
        return Next::Continue;
    }
    if req.abort {
        c.out.error("ERR No shutdown in progress.");
        return Next::Continue;
    }
    c.shared.request_shutdown(req);
    Next::Close
}

fn replconf(c: &mut Client, a: &[Bytes]) {
    if a.len().is_multiple_of(2) {
        return c.out.error(err::SYNTAX);
    }
    let mut i = 1;
    while i < a.len() {
        let (o, v) = (&a[i], &a[i + 1]);
        if eq(o, "listening-port") {
            match num::parse_i64(v).filter(|p| (0..=65535).contains(p)) {
                Some(p) => c.handshake.listening_port = p as u16,
                None => return c.out.error(err::NOT_INT),
            }
        } else if eq(o, "ip-address") {
            c.handshake.ip_address = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq(o, "capa") {
            if eq(v, "eof") {
                c.handshake.capa_eof = true;
            } else if eq(v, "psync2") {
                c.handshake.capa_psync2 = true;
            }
        } else if eq(o, "rdb-only") {
            match num::parse_i64(v) {
                Some(0) => c.handshake.rdb_only = false,
                Some(1) => c.handshake.rdb_only = true,
                _ => return c.out.error(err::NOT_INT),
            }
        } else if eq(o, "rdb-filter-only") {
            if !v.is_empty() && !eq(v, "functions") {
                return c.out.error([&b"ERR Unsupported rdb-filter-only option: "[..], cmd::cstr(v, usize::MAX)].concat());
            }
        } else if eq(o, "ack") || eq(o, "getack") {
            // Only meaningful on a replica link: no reply, as Redis.
            return;
        } else {
            return c.out.error([&b"ERR Unrecognized REPLCONF option: "[..], cmd::cstr(o, usize::MAX)].concat());
        }
        i += 2;
    }
    if c.shared.log.tracing() {
        trace_handshake(c, a);
    }
    c.out.ok();
}

/// The conversation id of a connection that is becoming a replica: `ip:listening-port`.
fn handshake_conv(c: &Client) -> String {
    let ip = c.handshake.ip_address.clone().unwrap_or_else(|| c.meta.addr.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or_default());
    format!("{}:{}", ip, c.handshake.listening_port)
}

/// Traces a replication handshake line read from a replica-to-be (REPLCONF, PSYNC, SYNC).
fn trace_handshake(c: &Client, a: &[Bytes]) {
    let line = a.iter().map(|x| String::from_utf8_lossy(x).into_owned()).collect::<Vec<_>>().join(" ");
    let conv = handshake_conv(c);
    crate::trace_wire!(c.shared.log, format_args!("net:{}", c.meta.addr), format_args!("client:{}", c.id), "{} {{conv={}}}", line, conv);
}

/// SYNC / PSYNC: this connection becomes a replica actor's.
async fn sync(c: &mut Client, a: &[Bytes], psync: bool) -> Next {
    use crate::repl::{replica::{Begin, Replica}, Psync};
    if c.meta.is_replica.load(Relaxed) {
        return Next::Continue;
    }
    if c.shared.log.tracing() {
        trace_handshake(c, a);
    }
    if c.shared.is_replica.load(Relaxed) {
        let up = c.shared.repl.link_up();
        if !up {
            c.out.error("NOMASTERLINK Can't SYNC while not connected with my master");
            return Next::Continue;
        }
    }
    if psync && a.len() > 3 && eq(&a[3], "FAILOVER") {
        crate::warning!(c.shared.log, "Failover request received for replid {}.", String::from_utf8_lossy(&a[1]));
        if !c.shared.is_replica.load(Relaxed) {
            c.out.error("ERR PSYNC FAILOVER can't be sent to a master.");
            return Next::Continue;
        }
        let mine = c.keyspace.call(crate::repl::CachedMaster).await.ok().flatten().map(|(id, _, _)| id);
        if mine.as_deref() != Some(&*String::from_utf8_lossy(&a[1])) {
            c.out.error("ERR PSYNC FAILOVER replid must match my replid.");
            return Next::Continue;
        }
        let by = crate::repl::link::Requester { actor: format!("client:{}", c.id), line: client_line(&c.meta) };
        let _ = c.repl.link.call(crate::repl::link::SetMaster { target: None, by }).await;
        crate::notice!(c.shared.log, "MASTER MODE enabled (failover request from '{}')", client_line(&c.meta));
    }
    if c.shared.repl.failover_state() != crate::repl::failover::FailoverState::NoFailover {
        c.out.error("NOMASTERLINK Can't SYNC while failing over");
        return Next::Continue;
    }
    let (replid, offset) = if psync {
        match num::parse_i64(&a[2]) {
            Some(o) => (String::from_utf8_lossy(&a[1]).into_owned(), o),
            None => {
                c.out.error(err::NOT_INT);
                return Next::Continue;
            }
        }
    } else {
        ("?".to_string(), -1)
    };
    // Replies still buffered go out before the replica's stream.
    let pending = std::mem::take(&mut c.out.buf);
    if !pending.is_empty() {
        use crate::rt::WriteExt;
        let _ = c.stream.write_all(&pending).await;
    }
    let replica = Replica::new(
        c.stream.clone(),
        c.meta.clone(),
        c.shared.clone(),
        c.keyspace.clone(),
        c.repl.backlog.clone(),
        c.handshake.clone(),
        psync,
    );
    let info = replica.info.clone();
    let out = replica.outlet();
    let name = info.name();
    crate::notice!(c.shared.log, "Replica {} asks for synchronization", name);
    let Ok(addr) = crate::rt::start(replica).await else {
        return Next::Close;
    };
    c.handed_over = true;
    let msg = Psync { id: c.id, name, replid, offset, psync, replica: addr.clone(), out, meta: c.meta.clone(), backlog: c.repl.backlog.clone() };
    let outcome = c.keyspace.call(msg).await.unwrap_or(crate::repl::PsyncOutcome::Error("ERR server is shutting down".into()));
    let _ = addr.send(Begin(outcome));
    Next::Close
}

async fn wait(c: &mut Client, a: &[Bytes]) {
    if c.shared.is_replica.load(Relaxed) {
        return c.out.error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let (Some(n), Some(timeout)) = (num::parse_i64(&a[1]), num::parse_i64(&a[2])) else {
        return c.out.error(err::NOT_INT);
    };
    if timeout < 0 {
        return c.out.error("ERR timeout is negative");
    }
    let target = c.repl_offset;
    let backlog = c.repl.backlog.clone();
    let id = c.id;
    let count_now = |backlog: crate::rt::Addr<Backlog>| async move { backlog.call(WaitEnd { client: id, target }).await.unwrap_or(0) };
    let got = count_now(backlog.clone()).await;
    if got as i64 >= n || c.multi.is_some() || c.in_exec {
        return c.out.int(got as i64);
    }
    // A conversation, not a poll: the backlog answers once enough replicas' ACKs (which their
    // actors report to it) reach our offset; GETACK asks every replica for one now.
    let (tx, rx) = flume::bounded(1);
    let _ = backlog.send(WaitAcks { client: id, target, n: n.max(0) as usize, reply: tx });
    let _ = c.keyspace.call(crate::repl::GetAck(c.id)).await;
    let deadline = (timeout > 0).then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    loop {
        // Woken by the answer; the slices only notice CLIENT KILL and shutdown meanwhile.
        let slice = deadline.map_or(std::time::Duration::from_millis(100), |d| {
            d.saturating_duration_since(std::time::Instant::now()).min(std::time::Duration::from_millis(100))
        });
        if let Some(Ok(got)) = crate::rt::timeout(slice, rx.recv_async()).await {
            return c.out.int(got as i64);
        }
        let expired = deadline.is_some_and(|d| std::time::Instant::now() >= d);
        if expired || c.meta.killed.load(Relaxed) || c.shared.shutting_down.load(Relaxed) {
            let got = count_now(backlog).await;
            return c.out.int(got as i64);
        }
    }
}

async fn replicaof(c: &mut Client, a: &[Bytes]) {
    use crate::repl::link::{Requester, SetMaster};
    // As Redis: a failover owns the role until it ends or FAILOVER ABORT.
    if c.shared.repl.failover_state() != crate::repl::failover::FailoverState::NoFailover {
        return c.out.error("ERR REPLICAOF not allowed while failing over.");
    }
    let target = if eq(&a[1], "NO") && eq(&a[2], "ONE") {
        None
    } else {
        let Some(port) = num::parse_i64(&a[2]) else {
            return c.out.error(err::NOT_INT);
        };
        if !(0..=65535).contains(&port) {
            return c.out.error("ERR Invalid master port");
        }
        Some((String::from_utf8_lossy(&a[1]).into_owned(), port as u16))
    };
    let by = Requester { actor: format!("client:{}", c.id), line: client_line(&c.meta) };
    match c.repl.link.call(SetMaster { target, by }).await {
        Ok(status) => c.out.simple(&status),
        Err(_) => c.out.error("ERR server is shutting down"),
    }
}

async fn failover(c: &mut Client, a: &[Bytes]) {
    use crate::repl::failover::{self as fo, Failover, FailoverState};
    if a.len() == 2 && eq(&a[1], "ABORT") {
        if c.shared.repl.failover_state() == FailoverState::NoFailover {
            return c.out.error("ERR No failover in progress.");
        }
        fo::abort(&c.shared, &c.repl, "Failover manually aborted").await;
        return c.out.ok();
    }
    let (mut timeout, mut force, mut target) = (0i64, false, None::<(String, u16)>);
    let mut j = 1;
    while j < a.len() {
        if eq(&a[j], "TIMEOUT") && j + 1 < a.len() && timeout == 0 {
            let Some(t) = num::parse_i64(&a[j + 1]) else { return c.out.error(err::NOT_INT) };
            if t <= 0 {
                return c.out.error("ERR FAILOVER timeout must be greater than 0");
            }
            timeout = t;
            j += 2;
        } else if eq(&a[j], "TO") && j + 2 < a.len() && target.is_none() {
            let Some(p) = num::parse_i64(&a[j + 2]) else { return c.out.error(err::NOT_INT) };
            target = Some((String::from_utf8_lossy(&a[j + 1]).into_owned(), p as u16));
            j += 3;
        } else if eq(&a[j], "FORCE") && !force {
            force = true;
            j += 1;
        } else {
            return c.out.error(err::SYNTAX);
        }
    }
    if c.shared.repl.failover_state() != FailoverState::NoFailover {
        return c.out.error("ERR FAILOVER already in progress.");
    }
    if c.shared.is_replica.load(Relaxed) {
        return c.out.error("ERR FAILOVER is not valid when server is a replica.");
    }
    let replicas = c.shared.repl.replicas.lock().map(|r| r.clone()).unwrap_or_default();
    if replicas.is_empty() {
        return c.out.error("ERR FAILOVER requires connected replicas.");
    }
    if force && (timeout == 0 || target.is_none()) {
        return c.out.error("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    }
    if let Some((h, p)) = &target {
        let Some(r) = replicas.iter().find(|r| r.ip == *h && r.port.load(Relaxed) as u16 == *p) else {
            return c.out.error("ERR FAILOVER target HOST and PORT is not a replica.");
        };
        if r.state() != crate::repl::replica::ReplicaState::Online {
            return c.out.error("ERR FAILOVER target replica is not online.");
        }
        crate::notice!(c.shared.log, "FAILOVER requested to {}:{}.", h, p);
    } else {
        crate::notice!(c.shared.log, "FAILOVER requested to any replica.");
    }
    let end_ms = if timeout > 0 { crate::util::now_ms() + timeout } else { 0 };
    if let Ok(mut f) = c.shared.repl.failover.lock() {
        *f = Failover { state: FailoverState::WaitingForSync, target, end_ms, force };
    }
    c.shared.pause.failover.store(true, Relaxed);
    crate::rt::spawn(fo::run(c.shared.clone(), c.keyspace.clone(), c.repl.clone()));
    c.out.ok();
}

/// A minimal ACL: one user, `default`, whose command permissions can be narrowed with
/// `ACL SETUSER default -cmd` / `+cmd` (enough for operators and Redis's tests).
fn acl(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "whoami" => c.out.bulk(b"default"),
        "users" => {
            c.out.array(1);
            c.out.bulk(b"default");
        }
        "list" => {
            let denied = c.shared.acl_denied.lock().map(|d| d.clone()).unwrap_or_default();
            let mut rule = String::from("user default on nopass ~* &* +@all");
            let mut d: Vec<_> = denied.into_iter().collect();
            d.sort();
            for x in d {
                rule.push_str(&format!(" -{}", x));
            }
            c.out.array(1);
            c.out.bulk(rule.as_bytes());
        }
        "setuser" if a.len() >= 3 => {
            if a[2] != "default" {
                return c.out.error("ERR tandem supports only the 'default' user");
            }
            let mut denied = c.shared.acl_denied.lock().unwrap_or_else(|e| e.into_inner());
            for r in &a[3..] {
                let r = String::from_utf8_lossy(r).to_lowercase();
                if let Some(cmd) = r.strip_prefix('-').filter(|x| !x.starts_with('@')) {
                    denied.insert(cmd.to_string());
                } else if let Some(cmd) = r.strip_prefix('+').filter(|x| !x.starts_with('@')) {
                    denied.remove(cmd);
                } else if r == "+@all" || r == "allcommands" || r == "on" || r == "nopass" || r == "~*" || r == "&*" || r == "reset" {
                    if r != "on" && r != "nopass" && r != "~*" && r != "&*" {
                        denied.clear();
                    }
                } else {
                    return c.out.error(format!("ERR Error in ACL SETUSER modifier '{}': Syntax error", r));
                }
            }
            c.shared.acl_active.store(!denied.is_empty(), Relaxed);
            c.out.ok();
        }
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "ACL")),
    }
}

/// MODULE: tandem loads no modules. LIST answers an empty list; LOAD, LOADEX and UNLOAD are
/// refused before they get here unless `enable-module-command` allows them (then they fail
/// as a module that cannot be loaded or is not loaded does in Redis).
fn module(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("list", 2) => c.out.array(0),
        ("load" | "loadex", 3..) => {
            crate::warning!(c.shared.log, "Module {} failed to load: tandem does not load Redis modules", String::from_utf8_lossy(&a[2]));
            c.out.error("ERR Error loading the extension. Please check the server logs.");
        }
        ("unload", 3) => c.out.error("ERR Error unloading module: no such module with that name"),
        ("help", 2) => {
            let lines = [
                "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LIST",
                "    Return a list of loaded modules.",
                "LOAD <path> [<arg> ...]",
                "    Load a module library from <path>, passing to it any optional arguments.",
                "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
                "    Load a module library from <path>, while passing it module configurations and optional arguments.",
                "UNLOAD <name>",
                "    Unload a module.",
                "HELP",
                "    Prints this help.",
            ];
            c.out.array(lines.len());
            for l in lines {
                c.out.simple(l);
            }
        }
        ("list" | "load" | "loadex" | "unload" | "help", _) => {
            c.out.error(format!("ERR wrong number of arguments for 'module|{}' command", sub))
        }
        _ => c.out.error(cmd::unknown_subcommand(&a[1], "MODULE")),
    }
}
