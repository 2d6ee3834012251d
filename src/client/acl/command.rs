//! The ACL command and its subcommands.

use super::catalog::{catalog, category_bit, CATEGORIES};
use super::{check, defaults, describe, file, refresh_active, rules, user};
use crate::client::{Client, Next};
use crate::keyspace::cmd::{self, clients::kill_users};
use crate::shared::acl::{LogEntry, Selector, User};
use crate::shared::Shared;
use bytes::Bytes;

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// The ACL command; Close when the caller's own user was deleted.
pub async fn acl(c: &mut Client, a: &[Bytes]) -> Next {
    let sub = text(&a[1]).to_ascii_lowercase();
    let no_file = c.shared.cfg().string("aclfile").is_none_or(|f| f.is_empty());
    if let Some(e) = arity_error(&sub, a.len()) {
        c.out.error(e);
        return Next::Continue;
    }
    match (sub.as_str(), a.len()) {
        ("setuser", 3..) => return setuser(c, a).await,
        ("deluser", 3..) => return deluser(c, a),
        ("getuser", 3) => getuser(c, &text(&a[2])),
        ("list", 2) | ("users", 2) => list(c, sub == "users"),
        ("whoami", 2) => {
            let u = Shared::user_of(&c.meta);
            c.out.bulk(u.as_bytes());
        }
        ("load" | "save", _) if no_file => c.out.error("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."),
        ("load", 2) => return load(c),
        ("save", 2) => match file::save(&c.shared) {
            Ok(()) => c.out.ok(),
            Err(e) => {
                crate::warning!(c.shared.log, "{}", e);
                c.out.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
            }
        },
        ("cat", 2) => {
            c.out.array(CATEGORIES.len());
            CATEGORIES.iter().for_each(|k| c.out.bulk(k.as_bytes()));
        }
        ("cat", 3) => cat(c, &a[2]),
        ("genpass", 2 | 3) => genpass(c, a),
        ("log", 2 | 3) => log(c, a),
        ("dryrun", 4..) => dryrun(c, a),
        ("help", 2) => {
            c.out.help(HELP);
        }
        _ if ARITY.iter().any(|(s, _)| *s == sub) => {
            c.out.error(format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.", String::from_utf8_lossy(cmd::cstr(&a[1], 128))))
        }
        _ => c.out.error(cmd::unknown_subcommand(&a[1], "ACL")),
    }
    Next::Continue
}

/// Redis's arity of each ACL subcommand (negative: at least).
const ARITY: &[(&str, i32)] = &[
    ("cat", -2), ("deluser", -3), ("dryrun", -4), ("genpass", -2), ("getuser", 3), ("help", 2), ("list", 2), ("load", 2),
    ("log", -2), ("save", 2), ("setuser", -3), ("users", 2), ("whoami", 2),
];

fn arity_error(sub: &str, argc: usize) -> Option<String> {
    let &(_, n) = ARITY.iter().find(|(s, _)| *s == sub)?;
    let ok = if n > 0 { argc as i32 == n } else { argc as i32 >= -n };
    (!ok).then(|| format!("ERR wrong number of arguments for 'acl|{}' command", sub))
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b == 0 || b.is_ascii_whitespace())
}

/// Whether the user's channels shrank: its Pub/Sub connections may hold subscriptions it
/// may no longer have.
fn channels_shrank(old: &User, new: &User) -> bool {
    if new.all_selectors().any(|s| s.all_channels) {
        return false;
    }
    if old.all_selectors().any(|s| s.all_channels) {
        return true;
    }
    let kept: Vec<&Vec<u8>> = new.all_selectors().flat_map(|s: &Selector| s.channels.iter()).collect();
    old.all_selectors().flat_map(|s| s.channels.iter()).any(|ch| !kept.contains(&ch))
}

/// Whether `new`'s channel patterns still allow every subscription (a pattern subscription
/// must be one of them literally; a channel must match one).
fn subscriptions_allowed(new: &User, channels: &[Bytes], patterns: &[Bytes], shard: &[Bytes]) -> bool {
    let allowed: Vec<&Vec<u8>> = new.all_selectors().flat_map(|s: &Selector| s.channels.iter()).collect();
    let matches = |ch: &Bytes| allowed.iter().any(|p| crate::util::glob::glob_match(p, ch, false));
    channels.iter().chain(shard).all(matches) && patterns.iter().all(|p| allowed.iter().any(|a| a[..] == p[..]))
}

/// ACL SETUSER; Close when the caller's own subscriptions are no longer allowed.
async fn setuser(c: &mut Client, a: &[Bytes]) -> Next {
    let name = text(&a[2]);
    if has_spaces(&a[2]) {
        c.out.error("ERR Usernames can't contain spaces or null characters");
        return Next::Continue;
    }
    let d = defaults(&c.shared);
    let args: Vec<Vec<u8>> = a[3..].iter().map(|x| x.to_vec()).collect();
    let old = user(&c.shared, &name);
    let base = old.clone().unwrap_or_else(|| User::new(&name, catalog().len(), d.all_channels));
    let new = match rules::apply_all(&base, &args, d) {
        Ok(u) => u,
        Err(e) => {
            c.out.error(e);
            return Next::Continue;
        }
    };
    let me_killed = match &old {
        Some(old) if channels_shrank(old, &new) => kill_pubsub_clients(c, &name, &new).await,
        _ => false,
    };
    c.shared.acl.write().unwrap_or_else(|e| e.into_inner()).users.insert(name, new);
    refresh_active(&c.shared);
    c.out.ok();
    if me_killed {
        return Next::Close;
    }
    Next::Continue
}

/// Closes the Pub/Sub connections of `user` holding subscriptions its new rules (`new`)
/// no longer allow; whether the caller's is one of them.
async fn kill_pubsub_clients(c: &mut Client, user: &str, new: &User) -> bool {
    let ids: Vec<u64> = {
        let clients = c.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.values().filter(|e| e.meta.in_pubsub() && Shared::user_of(&e.meta) == user).map(|e| e.meta.id).collect()
    };
    if ids.is_empty() {
        return false;
    }
    let subs = c.keyspace.call(crate::keyspace::SubscriptionsOf(ids)).await.unwrap_or_default();
    let doomed: Vec<u64> = subs.iter().filter(|(_, ch, p, s)| !subscriptions_allowed(new, ch, p, s)).map(|x| x.0).collect();
    let clients = c.shared.clients.lock().unwrap_or_else(|e| e.into_inner());
    for &id in &doomed {
        let Some(e) = clients.get(&id) else { continue };
        e.meta.killed.store(true, std::sync::atomic::Ordering::Relaxed);
        if id != c.id {
            (e.kill)();
        }
    }
    doomed.contains(&c.id)
}

fn deluser(c: &mut Client, a: &[Bytes]) -> Next {
    let names: Vec<String> = a[2..].iter().map(|n| text(n)).collect();
    if names.iter().any(|n| n == "default") {
        c.out.error("ERR The 'default' user cannot be removed");
        return Next::Continue;
    }
    let removed: Vec<String> = {
        let mut acl = c.shared.acl.write().unwrap_or_else(|e| e.into_inner());
        names.into_iter().filter(|n| acl.users.remove(n).is_some()).collect()
    };
    let me_killed = kill_users(&c.shared, c.id, &removed);
    refresh_active(&c.shared);
    c.out.int(removed.len() as i64);
    if me_killed {
        return Next::Close;
    }
    Next::Continue
}

fn selector_fields(c: &mut Client, s: &Selector) {
    c.out.bulk(b"commands");
    c.out.bulk(describe::command_rules(s).as_bytes());
    c.out.bulk(b"keys");
    c.out.bulk(describe::keys_field(s).as_bytes());
    c.out.bulk(b"channels");
    c.out.bulk(describe::channels_field(s).as_bytes());
}

fn getuser(c: &mut Client, name: &str) {
    let Some(u) = user(&c.shared, name) else { return c.out.null() };
    c.out.map(6);
    c.out.bulk(b"flags");
    let flags = describe::flags(&u);
    c.out.set(flags.len());
    flags.iter().for_each(|f| c.out.bulk(f.as_bytes()));
    c.out.bulk(b"passwords");
    c.out.array(u.passwords.len());
    u.passwords.iter().for_each(|p| c.out.bulk(p.as_bytes()));
    selector_fields(c, &u.root);
    c.out.bulk(b"selectors");
    c.out.array(u.selectors.len());
    for s in &u.selectors {
        c.out.map(3);
        selector_fields(c, s);
    }
}

fn list(c: &mut Client, names_only: bool) {
    let lines: Vec<String> = {
        let acl = c.shared.acl.read().unwrap_or_else(|e| e.into_inner());
        acl.users.values().map(|u| if names_only { u.name.clone() } else { format!("user {} {}", u.name, describe::user(u)) }).collect()
    };
    c.out.array(lines.len());
    lines.iter().for_each(|l| c.out.bulk(l.as_bytes()));
}

fn load(c: &mut Client) -> Next {
    match file::load(&c.shared) {
        Ok(old_users) => {
            let me_killed = kill_users(&c.shared, c.id, &old_users);
            refresh_active(&c.shared);
            c.out.ok();
            if me_killed {
                return Next::Close;
            }
        }
        Err(e) => c.out.error(format!("ERR {}", e)),
    }
    Next::Continue
}

fn cat(c: &mut Client, name: &[u8]) {
    let Some(bit) = category_bit(&text(name)) else {
        return c.out.error(format!("ERR Unknown category '{}'", String::from_utf8_lossy(cmd::cstr(name, 128))));
    };
    let cat = catalog();
    let names: Vec<&str> = cat.walk().filter(|&id| cat.entries[id].cats & bit != 0 && cat.implemented(id)).map(|id| cat.entries[id].name.as_str()).collect();
    c.out.array(names.len());
    names.iter().for_each(|n| c.out.bulk(n.as_bytes()));
}

fn genpass(c: &mut Client, a: &[Bytes]) {
    let bits = match a.get(2) {
        None => 256,
        Some(b) => match crate::util::num::parse_i64(b) {
            Some(n) => n,
            None => return c.out.error(cmd::err::NOT_INT),
        },
    };
    if !(1..=4096).contains(&bits) {
        return c.out.error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    }
    let chars = (bits as usize).div_ceil(4);
    c.out.bulk(crate::util::random_hex(chars).as_bytes());
}

fn log(c: &mut Client, a: &[Bytes]) {
    let mut count = 10;
    if let Some(arg) = a.get(2) {
        if arg.eq_ignore_ascii_case(b"reset") {
            c.shared.acl.write().unwrap_or_else(|e| e.into_inner()).log.clear();
            return c.out.ok();
        }
        match crate::util::num::parse_i64(arg) {
            Some(n) => count = n.max(0) as usize,
            None => return c.out.error(cmd::err::NOT_INT),
        }
    }
    let entries: Vec<LogEntry> = c.shared.acl.read().unwrap_or_else(|e| e.into_inner()).log.iter().take(count).cloned().collect();
    let now = crate::util::now_ms();
    c.out.array(entries.len());
    for e in entries {
        c.out.map(7);
        c.out.bulk(b"count");
        c.out.int(e.count as i64);
        c.out.bulk(b"reason");
        c.out.bulk(e.reason.as_bytes());
        c.out.bulk(b"context");
        c.out.bulk(e.context.as_bytes());
        c.out.bulk(b"object");
        c.out.bulk(e.object.as_bytes());
        c.out.bulk(b"username");
        c.out.bulk(e.username.as_bytes());
        c.out.bulk(b"age-seconds");
        c.out.double((now - e.ctime_ms) as f64 / 1000.0);
        c.out.bulk(b"client-info");
        c.out.bulk(e.client_info.as_bytes());
    }
}

fn dryrun(c: &mut Client, a: &[Bytes]) {
    let name = text(&a[2]);
    let Some(u) = user(&c.shared, &name) else {
        return c.out.error(format!("ERR User '{}' not found", name));
    };
    let argv = &a[3..];
    let req = match cmd::lookup(&a[3]) {
        Some(spec) if spec.arity_ok(argv.len()) => check::Request::new(spec, argv),
        Some(spec) => return c.out.error(format!("ERR wrong number of arguments for '{}' command", check::fullname(spec, argv))),
        // A command Redis has and tandem does not (MIGRATE): its permissions still apply.
        None => match catalog().find(&text(&a[3])).filter(|&id| catalog().entries[id].parent.is_none()) {
            Some(id) => check::Request::catalog_only(id, argv),
            None => return c.out.error(format!("ERR Command '{}' not found", text(&a[3]))),
        },
    };
    let full = req.fullname().to_string();
    match check::check_request(&u, &req) {
        Ok(()) => c.out.ok(),
        Err(check::Denied::Command) => c.out.bulk(format!("This user has no permissions to run the '{}' command", full).as_bytes()),
        Err(check::Denied::Key(i)) => c.out.bulk(format!("This user has no permissions to access the '{}' key", text(&argv[i])).as_bytes()),
        Err(check::Denied::Channel(i)) => c.out.bulk(format!("This user has no permissions to access the '{}' channel", text(&argv[i])).as_bytes()),
    }
}
