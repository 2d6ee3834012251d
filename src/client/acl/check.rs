//! Whether a user may run a command: the command bit (or an allowed first argument), the keys
//! (by each key spec's read/write needs) and the Pub/Sub channels, selector by selector, as
//! Redis 7.0's ACL check.

use super::catalog::{catalog, Begin, Catalog};
use crate::keyspace::cmd::{self, CommandSpec};
use crate::shared::acl::{Selector, User};
use crate::util::glob::glob_match;
use bytes::Bytes;

/// Why a command is refused; the argument index of the key or channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    /// The NOPERM reply.
    pub fn message(&self, fullname: &str) -> String {
        match self {
            Denied::Command => format!("NOPERM this user has no permissions to run the '{}' command", fullname),
            Denied::Key(_) => "NOPERM this user has no permissions to access one of the keys used as arguments".to_string(),
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".to_string(),
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key(_) => "key",
            Denied::Channel(_) => "channel",
        }
    }

    fn rank(&self) -> (u8, usize) {
        match *self {
            Denied::Command => (0, 0),
            Denied::Key(i) => (1, i),
            Denied::Channel(i) => (2, i),
        }
    }
}

/// The command's full name as Redis names it (`client|kill`).
pub fn fullname<A: AsRef<[u8]>>(spec: &CommandSpec, argv: &[A]) -> String {
    let cat = catalog();
    cat.entries.get(cat.id_of(spec, argv)).map(|e| e.name.clone()).unwrap_or_else(|| spec.name.to_string())
}

/// Checks `argv` against every selector of `u`: Ok when one allows it, else the most
/// telling refusal (a channel over a key over the command; the later argument).
pub fn check(u: &User, spec: &CommandSpec, argv: &[Bytes]) -> Result<(), Denied> {
    let cat = catalog();
    let id = cat.id_of(spec, argv);
    let mut worst = Denied::Command;
    for s in u.all_selectors() {
        match check_selector(cat, s, id, spec, argv) {
            Ok(()) => return Ok(()),
            Err(d) if d.rank() > worst.rank() => worst = d,
            Err(_) => {}
        }
    }
    Err(worst)
}

fn command_allowed(cat: &Catalog, s: &Selector, id: usize, spec: &CommandSpec, argv: &[Bytes]) -> bool {
    if s.all_commands || spec.has(cmd::NO_AUTH) || s.allowed.get(id).copied().unwrap_or(false) {
        return true;
    }
    let idx = if cat.entries[id].parent.is_some() { 2 } else { 1 };
    match (s.firstargs.get(&id), argv.get(idx)) {
        (Some(args), Some(a)) => args.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(a)),
        _ => false,
    }
}

fn check_selector(cat: &Catalog, s: &Selector, id: usize, spec: &CommandSpec, argv: &[Bytes]) -> Result<(), Denied> {
    if !command_allowed(cat, s, id, spec, argv) {
        return Err(Denied::Command);
    }
    if !s.all_keys && !is_shard_channel_cmd(spec) {
        for pos in spec.keys_of(argv) {
            let needs = key_perms(cat, id, spec, argv, pos);
            let ok = s.keys.iter().any(|k| k.perms & needs == needs && glob_match(&k.pattern, &argv[pos], false));
            if !ok {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !s.all_channels {
        for (pos, pattern) in channels(spec, argv) {
            let ch = &argv[pos];
            let ok = s.channels.iter().any(|p| if pattern { p[..] == ch[..] } else { glob_match(p, ch, false) });
            if !ok {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

fn is_shard_channel_cmd(spec: &CommandSpec) -> bool {
    matches!(spec.name, "spublish" | "ssubscribe" | "sunsubscribe")
}

/// The read/write permissions the key at `pos` needs, from the command's key specs.
fn key_perms(cat: &Catalog, id: usize, spec: &CommandSpec, argv: &[Bytes], pos: usize) -> u8 {
    use crate::shared::acl::{READ, WRITE};
    match spec.name {
        "set" => return if argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) { READ | WRITE } else { WRITE },
        "bitfield" => return if bitfield_read_only(argv) { READ } else { READ | WRITE },
        _ => {}
    }
    let specs = &cat.entries[id].keyspecs;
    let keyword = pos.checked_sub(1).map(|i| String::from_utf8_lossy(&argv[i]).to_ascii_lowercase());
    let by_keyword = specs.iter().find(|k| matches!(&k.begin, Begin::Keyword(w) if Some(w) == keyword.as_ref() && pos > 1));
    let by_index = specs.iter().filter(|k| matches!(k.begin, Begin::Index(i) if i <= pos)).last();
    match by_keyword.or(by_index).or(specs.first()) {
        Some(k) if spec.name == "sort" && pos > 1 => k.perms | WRITE,
        Some(k) => k.perms,
        None if spec.has(cmd::WRITE) => WRITE,
        None => READ,
    }
}

/// Whether a BITFIELD only reads (GET and OVERFLOW operations only), as Redis decides.
fn bitfield_read_only(argv: &[Bytes]) -> bool {
    let mut i = 2;
    while i < argv.len() {
        let rem = argv.len() - i - 1;
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
            i += 3;
        } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// The channel arguments of a Pub/Sub command, and whether each is a pattern.
fn channels(spec: &CommandSpec, argv: &[Bytes]) -> Vec<(usize, bool)> {
    match spec.name {
        "publish" | "spublish" if argv.len() > 1 => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..argv.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argv.len()).map(|i| (i, true)).collect(),
        _ => vec![],
    }
}
