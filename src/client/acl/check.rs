//! Whether a user may run a command: the command bit (or an allowed first argument), the keys
//! (by each key spec's read/write needs) and the Pub/Sub channels, selector by selector, as
//! Redis 7.0's ACL check.

use super::catalog::{catalog, key_flags, Begin, Catalog, Find, KeySpec};
use crate::shared::acl::{READ, WRITE};
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

/// What a command asks for: its catalog id, the keys (argument index, permissions needed)
/// and channels (argument index, is a pattern) it names.
pub struct Request<'a> {
    id: usize,
    no_auth: bool,
    argv: &'a [Bytes],
    keys: Vec<(usize, u8)>,
    channels: Vec<(usize, bool)>,
}

impl<'a> Request<'a> {
    /// A command of tandem's table.
    pub fn new(spec: &CommandSpec, argv: &'a [Bytes]) -> Request<'a> {
        let cat = catalog();
        let id = cat.id_of(spec, argv);
        Request { id, no_auth: spec.has(cmd::NO_AUTH), argv, keys: keys(cat, id, spec, argv), channels: channels(spec, argv) }
    }

    /// A command tandem does not run but Redis knows (ACL DRYRUN): its keys from its key
    /// specs (MIGRATE's as Redis finds them).
    pub fn catalog_only(id: usize, argv: &'a [Bytes]) -> Request<'a> {
        let e = &catalog().entries[id];
        let keys = match e.name.as_str() {
            "migrate" => migrate_keys(argv).into_iter().map(|p| (p, READ | WRITE)).collect(),
            _ => keys_from_specs(&e.keyspecs, argv).unwrap_or_default(),
        };
        Request { id, no_auth: false, argv, keys, channels: vec![] }
    }

    pub fn fullname(&self) -> &str {
        &catalog().entries[self.id].name
    }
}

/// The keys COMMAND GETKEYS and GETKEYSANDFLAGS name (argument positions, with their key
/// flags as [`KEY_FLAG_NAMES`] bits), found as Redis 7.0 finds them: the key specs of the
/// command or subcommand, or its own key finder where they fall short or the flags depend on
/// the arguments (SET, BITFIELD, SORT, MIGRATE). Errors are Redis's replies.
pub fn getkeys(spec: &CommandSpec, argv: &[Bytes]) -> Result<Vec<(usize, u16)>, &'static str> {
    const NO_KEYS: &str = "ERR The command has no key arguments";
    let cat = catalog();
    let id = cat.id_of(spec, argv);
    let e = &cat.entries[id];
    let has_keys = if e.derived { spec.first_key > 0 } else { e.keyspecs.iter().any(|k| !k.not_key) };
    if !has_keys {
        return Err(NO_KEYS);
    }
    if !spec.arity_ok(argv.len()) {
        return Err("ERR Invalid number of arguments specified for command");
    }
    let f = key_flags;
    let spec_flags = |i: usize| e.keyspecs.get(i).map_or(0, |k| k.flags);
    let keys: Option<Vec<(usize, u16)>> = if e.derived {
        let flags = if spec.is_write() { f("RW,access,update") } else { f("RO,access") };
        Some(spec.keys_of(argv).into_iter().map(|p| (p, flags)).collect())
    } else {
        match spec.name {
            "sort" | "sort_ro" => {
                Some(spec.keys_of(argv).into_iter().map(|p| (p, if p == 1 { f("RO,access") } else { f("OW,update") })).collect())
            }
            "migrate" => Some(migrate_keys(argv).into_iter().map(|p| (p, f("RW,access,delete"))).collect()),
            "set" => {
                let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
                Some(vec![(1, if get { f("RW,access,update") } else { f("OW,update") })])
            }
            "bitfield" => Some(vec![(1, if bitfield_read_only(argv) { f("RO,access") } else { f("RW,access,update") })]),
            _ => spec_positions(&e.keyspecs, argv).map(|v| v.into_iter().map(|(p, i)| (p, spec_flags(i))).collect()),
        }
    };
    match keys {
        Some(k) if !k.is_empty() => Ok(k),
        // Scripts and functions may name no key (Redis's NO_MANDATORY_KEYS): an empty list,
        // even for a key count the arguments do not hold.
        _ if spec.has(crate::keyspace::cmd::NO_MANDATORY_KEYS) => Ok(vec![]),
        _ => Err("ERR Invalid arguments specified for command"),
    }
}

/// MIGRATE's keys: the key argument, or what follows KEYS when it is empty.
fn migrate_keys(argv: &[Bytes]) -> Vec<usize> {
    if argv.len() > 3 && !argv[3].is_empty() {
        return vec![3];
    }
    let mut i = 6;
    while i < argv.len() {
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"keys") {
            return (i + 1..argv.len()).collect();
        }
        i += 1;
    }
    vec![]
}

/// Checks `argv` against every selector of `u`: Ok when one allows it, else the most
/// telling refusal (a channel over a key over the command; the later argument).
pub fn check(u: &User, spec: &CommandSpec, argv: &[Bytes]) -> Result<(), Denied> {
    check_request(u, &Request::new(spec, argv))
}

pub fn check_request(u: &User, r: &Request) -> Result<(), Denied> {
    let cat = catalog();
    let mut worst = Denied::Command;
    for s in u.all_selectors() {
        match check_selector(cat, s, r) {
            Ok(()) => return Ok(()),
            Err(d) if d.rank() > worst.rank() => worst = d,
            Err(_) => {}
        }
    }
    Err(worst)
}

fn command_allowed(cat: &Catalog, s: &Selector, r: &Request) -> bool {
    if s.all_commands || r.no_auth || s.allowed.get(r.id).copied().unwrap_or(false) {
        return true;
    }
    let idx = if cat.entries[r.id].parent.is_some() { 2 } else { 1 };
    match (s.firstargs.get(&r.id), r.argv.get(idx)) {
        (Some(args), Some(a)) => args.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(a)),
        _ => false,
    }
}

fn check_selector(cat: &Catalog, s: &Selector, r: &Request) -> Result<(), Denied> {
    if !command_allowed(cat, s, r) {
        return Err(Denied::Command);
    }
    if !s.all_keys {
        for &(pos, needs) in &r.keys {
            let ok = s.keys.iter().any(|k| k.perms & needs == needs && glob_match(&k.pattern, &r.argv[pos], false));
            if !ok {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !s.all_channels {
        for &(pos, pattern) in &r.channels {
            let ch = &r.argv[pos];
            let ok = s.channels.iter().any(|p| if pattern { p[..] == ch[..] } else { glob_match(p, ch, false) });
            if !ok {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

/// The keys of `argv` with the permissions each needs: from the command's key specs as
/// Redis finds them, or its own key finder where they fall short (SORT, MIGRATE, an invalid
/// key count: none).
fn keys(cat: &Catalog, id: usize, spec: &CommandSpec, argv: &[Bytes]) -> Vec<(usize, u8)> {
    let e = &cat.entries[id];
    if e.derived {
        let perms = if spec.has(cmd::WRITE) { WRITE } else { READ };
        return spec.keys_of(argv).into_iter().map(|p| (p, perms)).collect();
    }
    let mut keys = match spec.name {
        "migrate" => migrate_keys(argv).into_iter().map(|p| (p, READ | WRITE)).collect(),
        "sort" | "sort_ro" => spec.keys_of(argv).into_iter().map(|p| (p, if p == 1 { READ } else { WRITE })).collect(),
        _ => keys_from_specs(&e.keyspecs, argv).unwrap_or_default(),
    };
    // SET and BITFIELD need write or read access depending on their arguments.
    let variable = match spec.name {
        "set" => Some(if argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) { READ | WRITE } else { WRITE }),
        "bitfield" => Some(if bitfield_read_only(argv) { READ } else { READ | WRITE }),
        _ => None,
    };
    if let Some(p) = variable {
        keys.iter_mut().for_each(|k| k.1 = p);
    }
    keys
}

/// Where a spec begins in `argv` (None: its keyword is absent).
fn spec_start(k: &KeySpec, argv: &[Bytes]) -> Option<Result<usize, ()>> {
    match &k.begin {
        Begin::Index(i) => Some(Ok(*i)),
        Begin::Keyword(word, from) => {
            let argc = argv.len() as i64;
            let found = if *from > 0 {
                (*from..argc - 1).find(|&i| argv[i as usize].eq_ignore_ascii_case(word.as_bytes()))
            } else {
                (2..=argc + from).rev().find(|&i| i < argc && argv[i as usize].eq_ignore_ascii_case(word.as_bytes()))
            };
            found.map(|i| Ok(i as usize + 1))
        }
        Begin::Unknown => Some(Err(())),
    }
}

/// The keys the specs name; None when a spec cannot say (invalid or incomplete).
fn keys_from_specs(specs: &[KeySpec], argv: &[Bytes]) -> Option<Vec<(usize, u8)>> {
    Some(spec_positions(specs, argv)?.into_iter().map(|(p, i)| (p, specs[i].perms)).collect())
}

/// The keys the specs name, each with the index of the spec that found it; None when a spec
/// cannot say (invalid or incomplete).
fn spec_positions(specs: &[KeySpec], argv: &[Bytes]) -> Option<Vec<(usize, usize)>> {
    let argc = argv.len() as i64;
    let mut out = vec![];
    for (si, k) in specs.iter().enumerate().filter(|(_, k)| !k.not_key) {
        let first = match spec_start(k, argv) {
            None => continue,
            Some(Err(())) => return None,
            Some(Ok(f)) => f as i64,
        };
        let (first, last, step) = match k.find {
            Find::Range { last, step, limit } => {
                let end = if last >= 0 {
                    first + last
                } else if limit == 0 {
                    argc + last
                } else {
                    first + ((argc - first) / limit + last)
                };
                (first, end, step)
            }
            Find::Keynum { idx, first: fk, step } => {
                let at = first as usize + idx;
                let n = argv.get(at).and_then(|a| crate::util::num::parse_i64(a)).filter(|&n| n >= 0)?;
                if n == 0 {
                    continue;
                }
                let f = first + fk as i64;
                (f, f + n - 1, step)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, si));
            i += step as i64;
        }
        if k.incomplete {
            return None;
        }
    }
    Some(out)
}

/// SORT's BY (with a pattern) and GET read keys the ACL check cannot see: they need a
/// selector that runs the command with read access to every key, as Redis.
pub fn sort_refusal(u: &User, spec: &CommandSpec, argv: &[Bytes]) -> Option<&'static str> {
    if !matches!(spec.name, "sort" | "sort_ro") {
        return None;
    }
    let r = Request::new(spec, argv);
    let cat = catalog();
    let full = u.all_selectors().any(|s| {
        check_selector(cat, s, &r).is_ok() && (s.all_keys || s.keys.iter().any(|k| k.perms & READ != 0 && k.pattern == b"*"))
    });
    if full {
        return None;
    }
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            j += 2;
        } else if spec.name == "sort" && a.eq_ignore_ascii_case(b"store") && left >= 1 {
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            if argv[j + 1].contains(&b'*') {
                return Some("ERR BY option of SORT denied due to insufficient ACL permissions.");
            }
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            return Some("ERR GET option of SORT denied due to insufficient ACL permissions.");
        }
        j += 1;
    }
    None
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
