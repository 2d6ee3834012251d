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

/// A copy of a user.
fn user(shared: &Shared, name: &str) -> Option<User> {
    shared.acl.read().unwrap_or_else(|e| e.into_inner()).users.get(name).cloned()
}

impl Client {
    /// The permission check of this connection's user (None: allowed); refusals go to the
    /// ACL LOG. Called only while some user is restricted.
    pub(super) fn acl_refusal(&self, spec: &CommandSpec, argv: &[Bytes]) -> Option<String> {
        let name = Shared::user_of(&self.meta);
        let r = {
            let acl = self.shared.acl.read().unwrap_or_else(|e| e.into_inner());
            match acl.users.get(&name) {
                Some(u) if u.unrestricted() => Ok(()),
                Some(u) => check::check(u, spec, argv),
                None => Err(check::Denied::Command),
            }
        };
        let d = r.err()?;
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
        let client_info = crate::keyspace::cmd::clients::client_line(&self.meta);
        let max = self.shared.cfg().int("acllog-max-len").max(0) as usize;
        let e = LogEntry { count: 1, reason, context, object, username, ctime_ms: crate::util::now_ms(), client_info };
        self.shared.acl.write().unwrap_or_else(|e| e.into_inner()).log_denial(e, max);
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
