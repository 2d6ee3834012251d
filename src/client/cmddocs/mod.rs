//! COMMAND INFO and COMMAND DOCS as Redis 7.0.15 answers them: tandem's command table for a
//! command's name, arity, flags and key range, the ACL catalog for its categories and key
//! specs, and Redis's command documentation ([`data`]) for the rest and for subcommands.

mod data;
mod docs;
mod info;

pub use docs::docs_reply;
pub use info::info_reply;

use crate::keyspace::cmd::{self, CommandSpec};
use data::Doc;

/// What a name given to COMMAND INFO / DOCS stands for.
#[derive(Clone, Copy)]
pub enum Target {
    /// A command of tandem's table.
    Top(&'static CommandSpec),
    /// A subcommand (`acl|cat`) of a container command tandem runs.
    Sub(&'static Doc),
}

/// A name as Redis looks it up: `get`, or `container|sub` (one level, case-insensitive).
pub fn resolve(name: &[u8]) -> Option<Target> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    let mut parts = lower.split('|');
    let (top, sub) = (parts.next()?, parts.next());
    if parts.next().is_some() {
        return None;
    }
    let spec = cmd::lookup(top.as_bytes())?;
    let Some(sub) = sub else { return Some(Target::Top(spec)) };
    let d = data::docs();
    if d.get(spec.name).is_none_or(|doc| doc.subs.is_empty()) {
        return None;
    }
    d.get(&format!("{}|{}", spec.name, sub)).map(Target::Sub)
}

/// The subcommands of a command of tandem's table (none for others).
fn subcommands(name: &str) -> Vec<&'static Doc> {
    let d = data::docs();
    d.get(name).map_or(vec![], |doc| doc.subs.iter().map(|&i| &d.all[i]).collect())
}
