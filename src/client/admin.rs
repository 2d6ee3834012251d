//! Server administration commands that run in the client actor: CONFIG, COMMAND, SHUTDOWN
//! and MODULE.

use super::{Client, Next};
use crate::keyspace::cmd::{self, eq, err, CommandSpec};
use crate::keyspace;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub(super) fn config(c: &mut Client, a: &[Bytes]) {
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

pub(super) fn command(c: &mut Client, a: &[Bytes]) {
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
            let pos = spec.keys_of(&a[2..]);
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

pub(super) fn shutdown(c: &mut Client, a: &[Bytes]) -> Next {
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
