//! ACL SETUSER rules: applying `on`, `>pass`, `~keys`, `&channels`, `+cmd`, `-@cat`,
//! `(selectors)` ... to a user, with Redis 7.0's error texts.

use super::catalog::{catalog, category_bit, Catalog};
use crate::shared::acl::{KeyPattern, Selector, User, READ, WRITE};

/// Why a rule was refused (the text after "Error in ACL SETUSER modifier '...': ").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleError {
    Unknown,
    Syntax,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSub,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelsAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSub => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Settings rules depend on (`acl-pubsub-default allchannels`).
#[derive(Clone, Copy)]
pub struct Defaults {
    pub all_channels: bool,
}

fn is(op: &[u8], word: &str) -> bool {
    op.eq_ignore_ascii_case(word.as_bytes())
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b == 0 || b.is_ascii_whitespace())
}

/// Allows or denies one command and its subcommands (first-args of it are forgotten).
pub fn change_perm(cat: &Catalog, s: &mut Selector, id: usize, allow: bool) {
    set_bit(s, id, allow);
    s.firstargs.remove(&id);
    for &c in &cat.entries[id].children {
        set_bit(s, c, allow);
    }
}

fn set_bit(s: &mut Selector, id: usize, allow: bool) {
    if let Some(b) = s.allowed.get_mut(id) {
        *b = allow;
    }
    if !allow {
        s.all_commands = false;
    }
}

/// `+@cat` / `-@cat` (`bit` from `category_bit`).
pub fn set_category(cat: &Catalog, s: &mut Selector, bit: u32, allow: bool) {
    for id in 0..cat.len() {
        if cat.entries[id].cats & bit != 0 {
            change_perm(cat, s, id, allow);
        }
    }
}

pub fn set_all(s: &mut Selector, allow: bool) {
    s.allowed.iter_mut().for_each(|b| *b = allow);
    s.all_commands = allow;
    s.future = allow;
    s.firstargs.clear();
}

/// Applies one rule that selectors accept (commands, keys, channels).
pub fn apply_selector_rule(s: &mut Selector, op: &[u8]) -> Result<(), RuleError> {
    let cat = catalog();
    if op.is_empty() {
        return Err(RuleError::Syntax);
    }
    if is(op, "allkeys") || op == b"~*" {
        s.all_keys = true;
        s.keys.clear();
    } else if is(op, "resetkeys") {
        s.all_keys = false;
        s.keys.clear();
    } else if is(op, "allchannels") || op == b"&*" {
        s.all_channels = true;
        s.channels.clear();
    } else if is(op, "resetchannels") {
        s.all_channels = false;
        s.channels.clear();
    } else if is(op, "allcommands") || is(op, "+@all") {
        set_all(s, true);
    } else if is(op, "nocommands") || is(op, "-@all") {
        set_all(s, false);
    } else if op[0] == b'~' || op[0] == b'%' {
        add_key_pattern(s, op)?;
    } else if op[0] == b'&' {
        add_channel(s, &op[1..])?;
    } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
        let bit = category_bit(&String::from_utf8_lossy(&op[2..])).ok_or(RuleError::Unknown)?;
        set_category(cat, s, bit, op[0] == b'+');
    } else if op[0] == b'+' {
        allow_command(cat, s, &String::from_utf8_lossy(&op[1..]))?;
    } else if op[0] == b'-' {
        let id = cat.find(&String::from_utf8_lossy(&op[1..])).ok_or(RuleError::Unknown)?;
        change_perm(cat, s, id, false);
    } else {
        return Err(RuleError::Syntax);
    }
    Ok(())
}

/// `+cmd`, `+container|sub`, `+cmd|first-arg`.
fn allow_command(cat: &Catalog, s: &mut Selector, name: &str) -> Result<(), RuleError> {
    let Some((base, sub)) = name.rsplit_once('|') else {
        let id = cat.find(name).ok_or(RuleError::Unknown)?;
        change_perm(cat, s, id, true);
        return Ok(());
    };
    let id = cat.find(base).ok_or(RuleError::Unknown)?;
    if cat.entries[id].parent.is_some() {
        return Err(RuleError::FirstArgOfSub);
    }
    if sub.is_empty() {
        return Err(RuleError::Syntax);
    }
    if !cat.entries[id].children.is_empty() {
        let sub_id = cat.find(name).ok_or(RuleError::Unknown)?;
        change_perm(cat, s, sub_id, true);
        return Ok(());
    }
    let args = s.firstargs.entry(id).or_default();
    if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
        args.push(sub.to_string());
    }
    Ok(())
}

fn add_key_pattern(s: &mut Selector, op: &[u8]) -> Result<(), RuleError> {
    if s.all_keys {
        return Err(RuleError::KeysAfterAll);
    }
    let (perms, offset) = if op[0] == b'%' { key_perms(op)? } else { (READ | WRITE, 1) };
    let pat = &op[offset.min(op.len())..];
    if has_spaces(pat) {
        return Err(RuleError::Syntax);
    }
    match s.keys.iter_mut().find(|k| k.pattern == pat) {
        Some(k) => k.perms |= perms,
        None => s.keys.push(KeyPattern { pattern: pat.to_vec(), perms }),
    }
    Ok(())
}

/// The permissions of `%RW~pattern` and where the pattern starts.
fn key_perms(op: &[u8]) -> Result<(u8, usize), RuleError> {
    let mut perms = 0;
    let mut i = 1;
    while i < op.len() {
        match op[i].to_ascii_uppercase() {
            b'R' if perms & READ == 0 => perms |= READ,
            b'W' if perms & WRITE == 0 => perms |= WRITE,
            b'~' => {
                i += 1;
                break;
            }
            _ => return Err(RuleError::Syntax),
        }
        i += 1;
    }
    if perms == 0 {
        return Err(RuleError::Syntax);
    }
    Ok((perms, i))
}

fn add_channel(s: &mut Selector, pat: &[u8]) -> Result<(), RuleError> {
    if s.all_channels {
        return Err(RuleError::ChannelsAfterAll);
    }
    if has_spaces(pat) {
        return Err(RuleError::Syntax);
    }
    if !s.channels.iter().any(|c| c == pat) {
        s.channels.push(pat.to_vec());
    }
    Ok(())
}

fn check_hash(h: &[u8]) -> Result<(), RuleError> {
    if h.len() != 64 || !h.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        return Err(RuleError::BadHash);
    }
    Ok(())
}

/// Applies one SETUSER rule (already merged: a selector is one `(...)` string).
pub fn apply_rule(u: &mut User, op: &[u8], d: Defaults) -> Result<(), RuleError> {
    if op.is_empty() {
        return Ok(());
    }
    if is(op, "on") {
        u.enabled = true;
    } else if is(op, "off") {
        u.enabled = false;
    } else if is(op, "skip-sanitize-payload") {
        u.sanitize = Some(false);
    } else if is(op, "sanitize-payload") {
        u.sanitize = Some(true);
    } else if is(op, "nopass") {
        u.nopass = true;
        u.passwords.clear();
    } else if is(op, "resetpass") {
        u.nopass = false;
        u.passwords.clear();
    } else if op[0] == b'>' || op[0] == b'#' {
        let h = if op[0] == b'>' { crate::util::sha256::hex(&op[1..]) } else { check_hash(&op[1..]).map(|_| String::from_utf8_lossy(&op[1..]).to_string())? };
        if !u.passwords.contains(&h) {
            u.passwords.push(h);
        }
        u.nopass = false;
    } else if op[0] == b'<' || op[0] == b'!' {
        let h = if op[0] == b'<' { crate::util::sha256::hex(&op[1..]) } else { check_hash(&op[1..]).map(|_| String::from_utf8_lossy(&op[1..]).to_string())? };
        let before = u.passwords.len();
        u.passwords.retain(|p| *p != h);
        if u.passwords.len() == before {
            return Err(RuleError::NoSuchPassword);
        }
    } else if op[0] == b'(' && op[op.len() - 1] == b')' {
        u.selectors.push(parse_selector(op, d)?);
    } else if is(op, "clearselectors") {
        u.selectors.clear();
    } else if is(op, "reset") {
        reset(u, d);
    } else {
        apply_selector_rule(&mut u.root, op)?;
    }
    Ok(())
}

fn reset(u: &mut User, d: Defaults) {
    u.nopass = false;
    u.passwords.clear();
    u.root.all_keys = false;
    u.root.keys.clear();
    u.root.all_channels = d.all_channels;
    u.root.channels.clear();
    u.enabled = false;
    u.sanitize = Some(true);
    u.selectors.clear();
    set_all(&mut u.root, false);
}

/// A `(rule rule ...)` selector.
fn parse_selector(op: &[u8], d: Defaults) -> Result<Selector, RuleError> {
    let args = crate::util::splitargs::splitargs(&op[1..op.len() - 1]).ok_or(RuleError::Syntax)?;
    let mut s = Selector::new(catalog().len(), d.all_channels);
    for a in args {
        apply_selector_rule(&mut s, &a)?;
    }
    Ok(s)
}

/// Joins the words of a selector written over several arguments (`(~x` `+get)`) into one;
/// Err(i): the selector opened at argument i is never closed.
pub fn merge_selector_args(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = vec![];
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, a) in args.iter().enumerate() {
        let closes = a.last() == Some(&b')');
        if let Some((start, mut cur)) = open.take() {
            cur.push(b' ');
            cur.extend_from_slice(a);
            if closes {
                out.push(cur);
            } else {
                open = Some((start, cur));
            }
        } else if a.first() == Some(&b'(') && !closes {
            open = Some((i, a.clone()));
        } else {
            out.push(a.clone());
        }
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(out),
    }
}

/// Applies SETUSER's arguments to a copy of `u`: the changed user, or the error reply.
pub fn apply_all(u: &User, args: &[Vec<u8>], d: Defaults) -> Result<User, String> {
    let merged = merge_selector_args(args).map_err(|i| format!("ERR Unmatched parenthesis in acl selector starting at '{}'.", String::from_utf8_lossy(&args[i])))?;
    let mut new = u.clone();
    for op in &merged {
        apply_rule(&mut new, op, d).map_err(|e| format!("ERR Error in ACL SETUSER modifier '{}': {}", String::from_utf8_lossy(op), e.text()))?;
    }
    Ok(new)
}

/// The default user: on, nopass, every command, key and channel.
pub fn default_user() -> User {
    let mut u = User::new("default", catalog().len(), false);
    u.enabled = true;
    u.nopass = true;
    set_all(&mut u.root, true);
    u.root.all_keys = true;
    u.root.all_channels = true;
    u
}
