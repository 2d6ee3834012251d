//! Server administration commands that run in the client actor: CONFIG, COMMAND, SHUTDOWN
//! and MODULE.

use super::cmddocs::{self, Target};
use super::{Client, Next};
use crate::keyspace::cmd::{self, eq, err, CommandSpec};
use crate::keyspace;
use crate::util::num;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub(super) async fn config(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "get" if a.len() >= 3 => cmd::config::get(&c.shared, &mut c.out, a),
        "set" if a.len() >= 4 && a.len().is_multiple_of(2) => {
            let pairs = cmd::config::pairs(a);
            let old_port = c.shared.cfg().port();
            let mut r = cmd::config::set(&c.shared, &pairs, c.meta.local);
            if let Ok(backup) = &r {
                let port = c.shared.cfg().port();
                if port != old_port && rebind(c, port).await.is_err() {
                    let _ = c.shared.cfg_mut().set_ext(backup, true);
                    r = Err("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.".into());
                }
            }
            match r {
                Ok(backup) => {
                    cmd::config::applied(&c.shared, &pairs);
                    if pairs.iter().any(|(k, _)| keyspace::aof::is_aof_setting(k)) {
                        if let Ok(Err(e)) = c.keyspace.call(keyspace::aof::AofConfig).await {
                            let _ = c.shared.cfg_mut().set_ext(&backup, true);
                            c.shared.apply_config();
                            return c.out.error(format!("ERR CONFIG SET failed (possibly related to argument 'appendonly') - {}", e));
                        }
                    }
                    if cmd::config::changes_tracking_limit(&pairs) {
                        let _ = c.keyspace.send(keyspace::tracking::TrackingLimit);
                    }
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
                s.hist.reset();
            }
            c.shared.sub_stats.lock().unwrap_or_else(|e| e.into_inner()).clear();
            c.shared.reset_stats();
            let _ = c.keyspace.send(keyspace::ResetStats);
            c.out.ok();
        }
        "rewrite" if a.len() == 2 => {
            let users = super::acl::rewrite_lines(&c.shared);
            c.shared.cfg_mut().acl_rewrite = Some(users);
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

/// CONFIG SET port: the listener moves to the new port (the old sockets stay on failure).
async fn rebind(c: &Client, port: u16) -> Result<(), String> {
    match c.shared.listener.get() {
        Some(l) => l.rebind(port).await,
        None => Err("no listener".into()),
    }
}

/// COMMAND INFO [name ...]: every command of the table, or an entry per name asked (a null
/// for an unknown one).
fn command_info(c: &mut Client, names: &[Bytes], table: &'static [CommandSpec]) {
    if names.is_empty() {
        c.out.array(table.len());
        for s in table {
            cmddocs::info_reply(&mut c.out, Some(Target::Top(s)));
        }
        return;
    }
    c.out.array(names.len());
    for name in names {
        cmddocs::info_reply(&mut c.out, cmddocs::resolve(name));
    }
}

/// COMMAND DOCS [name ...]: a map of every command of the table, or of the names asked that
/// exist.
fn command_docs(c: &mut Client, names: &[Bytes], table: &'static [CommandSpec]) {
    let targets: Vec<Target> = if names.is_empty() {
        table.iter().map(Target::Top).collect()
    } else {
        names.iter().filter_map(|n| cmddocs::resolve(n)).collect()
    };
    c.out.map(targets.len());
    for t in targets {
        cmddocs::docs_reply(&mut c.out, t);
    }
}

pub(super) fn command(c: &mut Client, a: &[Bytes]) {
    let table = cmd::table();
    if a.len() == 1 {
        return command_info(c, &[], table);
    }
    let sub = String::from_utf8_lossy(&a[1]).to_lowercase();
    match sub.as_str() {
        "count" if a.len() == 2 => c.out.int(table.len() as i64),
        "list" => {
            // COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
            let names = match a.len() {
                2 => super::acl::command_list(None, None),
                5 if eq(&a[2], "filterby") => {
                    let what = String::from_utf8_lossy(&a[3]).to_ascii_lowercase();
                    match what.as_str() {
                        // No modules are loaded.
                        "module" => vec![],
                        "aclcat" => super::acl::command_list(Some(&String::from_utf8_lossy(&a[4])), None),
                        "pattern" => super::acl::command_list(None, Some(&a[4])),
                        _ => return c.out.error(err::SYNTAX),
                    }
                }
                _ => return c.out.error(err::SYNTAX),
            };
            c.out.array(names.len());
            for n in names {
                c.out.bulk(n.as_bytes());
            }
        }
        "info" => command_info(c, &a[2..], table),
        "docs" => command_docs(c, &a[2..], table),
        "getkeys" | "getkeysandflags" if a.len() < 4 => c.out.error(format!("ERR wrong number of arguments for 'command|{}' command", sub)),
        "getkeys" | "getkeysandflags" => {
            let Some(spec) = cmd::lookup(&a[2]) else {
                return c.out.error("ERR Invalid command specified");
            };
            let keys = match super::acl::getkeys(spec, &a[2..]) {
                Ok(keys) => keys,
                Err(e) => return c.out.error(e),
            };
            c.out.array(keys.len());
            for (p, flags) in keys {
                if sub == "getkeys" {
                    c.out.bulk(&a[2 + p]);
                    continue;
                }
                c.out.array(2);
                c.out.bulk(&a[2 + p]);
                let names: Vec<&str> = super::acl::KEY_FLAG_NAMES.iter().enumerate().filter(|(i, _)| flags & (1 << i) != 0).map(|(_, n)| *n).collect();
                c.out.set(names.len());
                for n in names {
                    c.out.simple(n);
                }
            }
        }
        "help" if a.len() == 2 => c.out.help(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
            "HELP",
            "    Prints this help.",
        ]),
        _ => c.out.error(crate::keyspace::cmd::unknown_subcommand(&a[1], "COMMAND")),
    }
}

pub(super) async fn shutdown(c: &mut Client, a: &[Bytes]) -> Next {
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
        if c.shared.abort_shutdown() {
            c.out.ok();
        } else {
            c.out.error("ERR No shutdown in progress.");
        }
        return Next::Continue;
    }
    let (tx, rx) = flume::bounded(1);
    req.outcome = Some(tx);
    c.shared.request_shutdown(req);
    if !rx.recv_async().await.unwrap_or(true) {
        c.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
        return Next::Continue;
    }
    // As Redis, the connection of SHUTDOWN closes only once nothing new can connect (a
    // client that sees it close and reconnects gets "connection refused").
    if let Some(l) = c.shared.listener.get() {
        let _ = crate::rt::timeout(std::time::Duration::from_secs(1), l.stop_accepting()).await;
    }
    Next::Close
}

/// MODULE: tandem loads no modules. LIST answers an empty list; LOAD, LOADEX and UNLOAD are
/// refused before they get here unless `enable-module-command` allows them (then they fail
/// as a module that cannot be loaded or is not loaded does in Redis).
pub(super) fn module(c: &mut Client, a: &[Bytes]) {
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
            c.out.help(&lines);
        }
        ("list" | "load" | "loadex" | "unload" | "help", _) => {
            c.out.error(format!("ERR wrong number of arguments for 'module|{}' command", sub))
        }
        _ => c.out.error(cmd::unknown_subcommand(&a[1], "MODULE")),
    }
}

/// SLOWLOG GET [count] | LEN | RESET | HELP.
pub(super) fn slowlog(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("get", 2 | 3) => {
            let count = match a.get(2) {
                None => Some(10),
                Some(n) => match num::parse_i64(n) {
                    Some(-1) => None,
                    Some(n) if n >= 0 => Some(n as usize),
                    _ => return c.out.error("ERR count should be greater than or equal to -1"),
                },
            };
            let entries = c.shared.slowlog.lock().unwrap_or_else(|e| e.into_inner()).newest(count);
            c.out.array(entries.len());
            for e in entries {
                c.out.array(6);
                c.out.int(e.id as i64);
                c.out.int(e.time);
                c.out.int(e.duration as i64);
                c.out.array(e.argv.len());
                for arg in &e.argv {
                    c.out.bulk(arg);
                }
                c.out.bulk(e.peer.as_bytes());
                c.out.bulk(&e.name);
            }
        }
        ("len", 2) => {
            let n = c.shared.slowlog.lock().unwrap_or_else(|e| e.into_inner()).len();
            c.out.int(n as i64)
        }
        ("reset", 2) => {
            c.shared.slowlog.lock().unwrap_or_else(|e| e.into_inner()).reset();
            c.out.ok()
        }
        ("help", 2) => {
            let lines = [
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ];
            c.out.help(&lines);
        }
        ("get" | "len" | "reset" | "help", _) => {
            c.out.error(format!("ERR wrong number of arguments for 'slowlog|{}' command", sub))
        }
        _ => c.out.error(cmd::unknown_subcommand(&a[1], "SLOWLOG")),
    }
}

/// LATENCY LATEST | HISTORY event | RESET [event ...] | GRAPH event | DOCTOR | HISTOGRAM
/// [command ...] | HELP.
pub(super) fn latency(c: &mut Client, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let arg = |i: usize| String::from_utf8_lossy(&a[i]).into_owned();
    match (sub.as_str(), a.len()) {
        ("latest", 2) => {
            let events = c.shared.latency.lock().unwrap_or_else(|e| e.into_inner()).latest();
            c.out.array(events.len());
            for (name, time, last, max) in events {
                c.out.array(4);
                c.out.bulk(name.as_bytes());
                c.out.int(time);
                c.out.int(last as i64);
                c.out.int(max as i64);
            }
        }
        ("history", 3) => {
            let samples = c.shared.latency.lock().unwrap_or_else(|e| e.into_inner()).history(&arg(2));
            c.out.array(samples.len());
            for (time, ms) in samples {
                c.out.array(2);
                c.out.int(time);
                c.out.int(ms as i64);
            }
        }
        ("reset", _) => {
            let names: Vec<String> = (2..a.len()).map(arg).collect();
            let n = c.shared.latency.lock().unwrap_or_else(|e| e.into_inner()).reset(&names);
            c.out.int(n as i64);
        }
        ("graph", 3) => {
            let event = arg(2);
            let series = c.shared.latency.lock().unwrap_or_else(|e| e.into_inner()).series(&event);
            match series {
                Some(s) if !s.samples.is_empty() => c.out.verbatim(&latency_graph(&event, &s)),
                _ => c.out.error(format!("ERR No samples available for event '{event}'")),
            }
        }
        ("doctor", 2) => {
            let cx = doctor_context(c);
            let now = crate::util::now_ms() / 1000;
            let report = c.shared.latency.lock().unwrap_or_else(|e| e.into_inner()).doctor(&cx, now);
            c.out.verbatim(&report);
        }
        ("histogram", _) => latency_histogram(c, &a[2..]),
        ("help", 2) => {
            let lines = [
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ];
            c.out.help(&lines);
        }
        ("latest" | "history" | "graph" | "doctor" | "help", _) => {
            c.out.error(format!("ERR wrong number of arguments for 'latency|{}' command", sub))
        }
        _ => c.out.error(cmd::unknown_subcommand(&a[1], "LATENCY")),
    }
}

/// LATENCY HISTOGRAM: per command (a container's per subcommand) its calls and the
/// cumulative distribution of their latencies; unknown names are skipped.
fn latency_histogram(c: &mut Client, names: &[Bytes]) {
    let mut picked: Vec<(String, Vec<(u64, u64)>, u64)> = Vec::new();
    let subs = c.shared.sub_stats.lock().unwrap_or_else(|e| e.into_inner());
    let subs: std::collections::BTreeMap<&String, &crate::shared::latency::Histogram> = subs.iter().filter(|(_, s)| s.hist.calls() > 0).map(|(k, s)| (k, &s.hist)).collect();
    let add_top = |picked: &mut Vec<(String, Vec<(u64, u64)>, u64)>, spec: &CommandSpec| {
        let h = &c.shared.cmd_stats[spec.index].hist;
        if h.calls() > 0 {
            picked.push((spec.name.to_string(), h.cdf(), h.calls()));
        }
    };
    if names.is_empty() {
        for spec in cmd::table() {
            add_top(&mut picked, spec);
        }
        for (name, h) in subs.iter() {
            picked.push((name.to_string(), h.cdf(), h.calls()));
        }
    } else {
        for n in names {
            let n = String::from_utf8_lossy(n).to_ascii_lowercase();
            if let Some(h) = subs.get(&n) {
                picked.push((n.clone(), h.cdf(), h.calls()));
                continue;
            }
            let Some(spec) = cmd::lookup(n.as_bytes()) else { continue };
            add_top(&mut picked, spec);
            let prefix = format!("{}|", spec.name);
            for (name, h) in subs.iter().filter(|(k, _)| k.starts_with(&prefix)) {
                picked.push((name.to_string(), h.cdf(), h.calls()));
            }
        }
    }
    drop(subs);
    c.out.map(picked.len());
    for (name, cdf, calls) in picked {
        c.out.bulk(name.as_bytes());
        c.out.map(2);
        c.out.bulk(b"calls");
        c.out.int(calls as i64);
        c.out.bulk(b"histogram_usec");
        c.out.map(cdf.len());
        for (us, n) in cdf {
            c.out.int(us as i64);
            c.out.int(n as i64);
        }
    }
}

/// An ASCII chart of an event's samples (oldest left), with its scale.
fn latency_graph(event: &str, s: &crate::shared::latency::Series) -> String {
    let max = s.samples.iter().map(|&(_, v)| v).max().unwrap_or(1).max(1);
    let min = s.samples.iter().map(|&(_, v)| v).min().unwrap_or(0);
    let rows = 4u64;
    let mut out = format!("{event} - high {max} ms, low {min} ms (all time high {} ms)\n", s.max);
    out.push_str(&"-".repeat(80));
    out.push('\n');
    for r in (1..=rows).rev() {
        let line: String = s.samples.iter().map(|&(_, v)| if v * rows >= r * max { '#' } else { ' ' }).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let now = crate::util::now_ms() / 1000;
    let ages: Vec<String> = s.samples.iter().map(|&(t, _)| format!("{}s", now - t)).collect();
    out.push_str(&format!("sample ages: {}\n", ages.join(" ")));
    out
}

/// What LATENCY DOCTOR's advice depends on: the settings it comments on and the last
/// fork's rate (Redis's `stat_fork_rate`: memory in use over the fork's time, in GB/s).
fn doctor_context(c: &Client) -> crate::shared::latency::DoctorContext {
    let cfg = c.shared.cfg();
    let fork_us = c.shared.stats.latest_fork_usec.load(Relaxed);
    let fork_rate = if fork_us > 0 { keyspace::info::used_memory() as f64 * 1_000_000.0 / fork_us as f64 / (1024.0 * 1024.0 * 1024.0) } else { 0.0 };
    crate::shared::latency::DoctorContext {
        threshold_ms: c.shared.hot.latency_threshold_ms.load(Relaxed),
        slowlog_slower_than_us: cfg.int("slowlog-log-slower-than") as i64,
        hz: cfg.hz() as u64,
        fsync_always: cfg.get(b"appendfsync").into_iter().any(|(_, v)| v == "always"),
        fork_rate,
        anon_huge_pages: crate::shared::latency::anon_huge_pages(),
    }
}

/// CLUSTER's subcommands with their arity (Redis 7.0's), for its errors.
const CLUSTER_SUBCOMMANDS: &[(&str, i32)] = &[
    ("addslots", -3), ("addslotsrange", -4), ("bumpepoch", 2), ("count-failure-reports", 3), ("countkeysinslot", 3),
    ("delslots", -3), ("delslotsrange", -4), ("failover", -2), ("flushslots", 2), ("forget", 3), ("getkeysinslot", 4),
    ("help", 2), ("info", 2), ("keyslot", 3), ("links", 2), ("meet", -4), ("myid", 2), ("nodes", 2), ("replicas", 3),
    ("replicate", 3), ("reset", -2), ("saveconfig", 2), ("set-config-epoch", 3), ("setslot", -4), ("shards", 2),
    ("slaves", 3), ("slots", 2),
];

/// CLUSTER, ASKING, READONLY, READWRITE: tandem runs standalone, and answers them as Redis
/// does with `cluster-enabled no` (after the checks a subcommand gets first).
pub fn cluster(c: &mut Client, a: &[Bytes]) {
    if eq(&a[0], "cluster") {
        let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
        let Some(&(_, arity)) = CLUSTER_SUBCOMMANDS.iter().find(|(n, _)| *n == sub) else {
            return c.out.error(cmd::unknown_subcommand(&a[1], "CLUSTER"));
        };
        let n = a.len() as i32;
        if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
            return c.out.error(cmd::arity_error(&format!("cluster|{sub}")));
        }
    }
    c.out.error("ERR This instance has cluster support disabled");
}
