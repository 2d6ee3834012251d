//! ACL as Redis 7.0: users with passwords and selectors, the ACL command, authentication,
//! and the per-command permission check (NOPERM). The users live in `Shared::acl`
//! (`crate::shared::acl`); the rules work on the command [`catalog`].

mod catalog;
mod check;
mod command;
mod describe;
mod file;
mod rules;

pub(super) use command::acl;
pub use file::init;
pub use catalog::{category_names, command_list, entry_category_names, entry_keyspecs, Begin, Find, KeySpec, KEY_FLAG_NAMES};
pub use check::getkeys;

use super::Client;
use crate::keyspace::cmd::CommandSpec;
use crate::shared::acl::{LogEntry, User};
use crate::shared::Shared;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// Settings the rules depend on, from the configuration.
fn defaults(shared: &Shared) -> rules::Defaults {
    rules::Defaults { all_channels: shared.cfg().enum_name("acl-pubsub-default") == "allchannels" }
}

/// Sets the fast-path flag: whether any user is restricted.
pub fn refresh_active(shared: &Shared) {
    let acl = shared.acl.read().unwrap_or_else(|e| e.into_inner());
    let active = acl.users.values().any(|u| !u.unrestricted());
    shared.acl_active.store(active, Relaxed);
}

/// Whether a new connection is authenticated at once (the default user is on and nopass).
pub fn default_user_open(shared: &Shared) -> bool {
    let acl = shared.acl.read().unwrap_or_else(|e| e.into_inner());
    acl.users.get("default").is_some_and(|u| u.enabled && u.nopass)
}

/// The `user` lines CONFIG REWRITE writes: every user as it is now (none when users live
/// in an ACL file).
pub fn rewrite_lines(shared: &Shared) -> Vec<String> {
    if shared.cfg().string("aclfile").is_some_and(|f| !f.is_empty()) {
        return vec![];
    }
    let acl = shared.acl.read().unwrap_or_else(|e| e.into_inner());
    acl.users.values().map(|u| format!("user {} {}", u.name, describe::user(u))).collect()
}

/// A copy of a user.
fn user(shared: &Shared, name: &str) -> Option<User> {
    shared.acl.read().unwrap_or_else(|e| e.into_inner()).users.get(name).cloned()
}

/// The stand-in for a queued command the user may no longer run: it answers its error
/// (`argv[0]`) inside EXEC's reply.
pub const DENIED_IN_EXEC: &str = "acl-denied-in-exec";
static DENIED_SPEC: CommandSpec = CommandSpec {
    name: DENIED_IN_EXEC,
    arity: 1,
    flags: 0,
    first_key: 0,
    last_key: 0,
    step: 0,
    group: "server",
    summary: "",
    route: crate::keyspace::cmd::Route::Client,
    index: usize::MAX,
};

/// The ACL check of a command called by a script run by client `id` (context `lua`).
pub fn script_check(shared: &Shared, id: u64, index: usize, argv: &[Bytes]) -> Option<String> {
    let spec = crate::keyspace::cmd::table().get(index)?;
    let meta = shared.clients.lock().unwrap_or_else(|e| e.into_inner()).get(&id).map(|e| e.meta.clone())?;
    let name = Shared::user_of(&meta);
    let r = {
        let acl = shared.acl.read().unwrap_or_else(|e| e.into_inner());
        match acl.users.get(&name) {
            Some(u) if u.unrestricted() => Ok(()),
            Some(u) => check::check(u, spec, argv),
            None => Err(check::Denied::Command),
        }
    };
    let d = r.err()?;
    let object = match d {
        check::Denied::Command => check::fullname(spec, argv),
        check::Denied::Key(i) | check::Denied::Channel(i) => String::from_utf8_lossy(&argv[i]).to_string(),
    };
    log_denial(shared, &meta, d.reason(), "lua", object, name);
    let why = match d {
        check::Denied::Command => "can't run this command or subcommand",
        check::Denied::Key(_) => "can't access at least one of the keys mentioned in the command arguments",
        check::Denied::Channel(_) => "can't publish to the channel mentioned in the command",
    };
    Some(format!("ERR The user executing the script {}", why))
}

fn log_denial(shared: &Shared, meta: &crate::shared::ClientMeta, reason: &'static str, context: &'static str, object: String, username: String) {
    let client_info = crate::keyspace::cmd::clients::client_line(meta);
    let max = shared.cfg().int("acllog-max-len").max(0) as usize;
    let e = LogEntry { count: 1, reason, context, object, username, ctime_ms: crate::util::now_ms(), client_info };
    shared.acl.write().unwrap_or_else(|e| e.into_inner()).log_denial(e, max);
}

impl Client {
    /// EXEC checks the queued commands again (the rules may have changed since MULTI): a
    /// refused one answers NOPERM in place, as Redis.
    pub(super) fn acl_recheck(&mut self, queue: Vec<crate::keyspace::Cmd>) -> Vec<crate::keyspace::Cmd> {
        let was = std::mem::replace(&mut self.in_exec, true);
        let out = queue.into_iter().map(|c| match self.acl_refusal(c.spec, &c.argv) {
            None => c,
            Some(msg) if !msg.starts_with("NOPERM") => crate::keyspace::Cmd { spec: &DENIED_SPEC, argv: smallvec::smallvec![Bytes::from(msg)] },
            Some(msg) => {
                let why = match msg.as_str() {
                    m if m.contains("to run the") => "no permission to execute the command or subcommand",
                    m if m.contains("keys") => "no permission to touch the specified keys",
                    _ => "no permission to access one of the channels used as arguments",
                };
                let err = format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {}", why);
                crate::keyspace::Cmd { spec: &DENIED_SPEC, argv: smallvec::smallvec![Bytes::from(err)] }
            }
        }).collect();
        self.in_exec = was;
        out
    }

    /// The permission check of this connection's user (None: allowed); refusals go to the
    /// ACL LOG. Called only while some user is restricted.
    pub(super) fn acl_refusal(&self, spec: &CommandSpec, argv: &[Bytes]) -> Option<String> {
        // No copy of the name on the way: most commands pass.
        let r: Result<(), check::Denied> = {
            let name = self.meta.user.lock().unwrap_or_else(|e| e.into_inner());
            let acl = self.shared.acl.read().unwrap_or_else(|e| e.into_inner());
            match acl.users.get(name.as_str()) {
                Some(u) if u.unrestricted() => return None,
                Some(u) => match check::check(u, spec, argv) {
                    Ok(()) => return check::sort_refusal(u, spec, argv).map(String::from),
                    Err(d) => Err(d),
                },
                None => Err(check::Denied::Command),
            }
        };
        let d: check::Denied = r.err()?;
        let name = Shared::user_of(&self.meta);
        let full = check::fullname(spec, argv);
        let object = match d {
            check::Denied::Command => full.clone(),
            check::Denied::Key(i) | check::Denied::Channel(i) => String::from_utf8_lossy(&argv[i]).to_string(),
        };
        let context = if self.multi.is_some() || self.in_exec { "multi" } else { "toplevel" };
        self.log_acl(d.reason(), context, object, name);
        Some(d.message(&full))
    }

    fn log_acl(&self, reason: &'static str, context: &'static str, object: String, username: String) {
        log_denial(&self.shared, &self.meta, reason, context, object, username);
    }

    /// AUTH / HELLO AUTH: `user` (`default` when None) with `pass`. On success the
    /// connection runs as that user; a failure is logged.
    pub(super) fn authenticate(&mut self, cmd: &[u8], user: Option<&[u8]>, pass: &[u8]) -> bool {
        let name = String::from_utf8_lossy(user.unwrap_or(b"default")).to_string();
        let ok = {
            let acl = self.shared.acl.read().unwrap_or_else(|e| e.into_inner());
            acl.users.get(&name).is_some_and(|u| u.password_ok(pass))
        };
        if ok {
            *self.meta.user.lock().unwrap_or_else(|e| e.into_inner()) = name;
            self.meta.authenticated.store(true, Relaxed);
        } else {
            let context = if self.multi.is_some() { "multi" } else { "toplevel" };
            self.log_acl("auth", context, String::from_utf8_lossy(cmd).to_string(), name);
        }
        ok
    }
}
