//! The command catalog ACL rules work on: every Redis 7.0 command and subcommand with its ACL
//! categories and key specs (as `COMMAND INFO` of Redis 7.0.15 reports them, kept in
//! `categories.txt` and `keyspecs.txt`, with each spec's flags in `keyflags.txt`), plus any
//! command of tandem's table Redis lacks.
//! Each entry has an id: the index of its bit in a selector.

use crate::keyspace::cmd::{self, CommandSpec};
use std::collections::HashMap;
use std::sync::OnceLock;

/// ACL CAT's categories, in Redis's order.
pub const CATEGORIES: &[&str] = &[
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub",
    "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
];

/// Where a key spec starts looking: an index, or after a keyword searched from an index
/// (backwards from the end when negative).
#[derive(Debug)]
pub enum Begin {
    Index(usize),
    Keyword(String, i64),
    Unknown,
}

/// How a key spec finds its keys from where it begins.
#[derive(Debug)]
pub enum Find {
    /// Up to `last` (relative to the start, or from the end when negative; with `limit`,
    /// a fraction of what remains), every `step`.
    Range { last: i64, step: usize, limit: i64 },
    /// A key count at `idx` (relative), the keys from `first` (relative), every `step`.
    Keynum { idx: usize, first: usize, step: usize },
    Unknown,
}

#[derive(Debug)]
pub struct KeySpec {
    pub begin: Begin,
    pub find: Find,
    /// `shared::acl::READ` / `WRITE` bits the key needs.
    pub perms: u8,
    /// The spec may miss keys (the command's own key finder is used instead).
    pub incomplete: bool,
    /// Not a key (a shard channel).
    pub not_key: bool,
    /// The spec's flags as COMMAND GETKEYSANDFLAGS names them ([`KEY_FLAG_NAMES`] bits).
    pub flags: u16,
}

/// Key spec flags, in the order Redis prints them.
pub const KEY_FLAG_NAMES: &[&str] = &["RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete", "variable_flags"];

/// The bits of `ro,access`-style flag lists.
pub fn key_flags(list: &str) -> u16 {
    list.split(',').filter_map(|f| KEY_FLAG_NAMES.iter().position(|n| n.eq_ignore_ascii_case(f))).fold(0, |a, i| a | 1 << i)
}

#[derive(Debug)]
pub struct Entry {
    /// `get`, `client|kill`.
    pub name: String,
    /// Bit i set: in `CATEGORIES[i]`.
    pub cats: u32,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub keyspecs: Vec<KeySpec>,
    /// A tandem command Redis lacks: its keys come from tandem's table.
    pub derived: bool,
}

pub struct Catalog {
    pub entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    /// Command table index -> id.
    by_table: Vec<usize>,
}

pub fn category_bit(name: &str) -> Option<u32> {
    CATEGORIES.iter().position(|c| c.eq_ignore_ascii_case(name)).map(|i| 1 << i)
}

fn parse_perms(s: &str) -> u8 {
    let mut p = 0;
    if s.contains('R') {
        p |= crate::shared::acl::READ;
    }
    if s.contains('W') {
        p |= crate::shared::acl::WRITE;
    }
    p
}

/// `i:1/r:0:1:0/RW`, `k:STORE:6/r:0:1:0/W`, `i:2/n:0:1:1/R`, `?/?/R/inc`.
fn parse_keyspec(s: &str) -> Option<KeySpec> {
    let parts: Vec<&str> = s.split('/').collect();
    let nums = |t: &str| t.split(':').skip(1).map(|x| x.parse::<i64>().unwrap_or(0)).collect::<Vec<i64>>();
    let b = parts.first()?;
    let begin = if let Some(i) = b.strip_prefix("i:") {
        Begin::Index(i.parse().ok()?)
    } else if let Some(k) = b.strip_prefix("k:") {
        let (word, from) = k.rsplit_once(':')?;
        Begin::Keyword(word.to_string(), from.parse().ok()?)
    } else {
        Begin::Unknown
    };
    let f = parts.get(1)?;
    let n = nums(f);
    let find = match (f.chars().next(), n.as_slice()) {
        (Some('r'), [last, step, limit]) => Find::Range { last: *last, step: (*step).max(1) as usize, limit: *limit },
        (Some('n'), [idx, first, step]) => Find::Keynum { idx: *idx as usize, first: *first as usize, step: (*step).max(1) as usize },
        _ => Find::Unknown,
    };
    let perms = parse_perms(parts.get(2)?);
    Some(KeySpec { begin, find, perms, incomplete: parts.contains(&"inc"), not_key: parts.contains(&"notkey"), flags: 0 })
}

/// Categories of a tandem command Redis does not have, from its flags.
fn derived_categories(spec: &CommandSpec) -> u32 {
    let mut names = vec![if spec.has(cmd::FAST) { "fast" } else { "slow" }];
    if spec.has(cmd::WRITE) {
        names.push("write");
    }
    if spec.has(cmd::READONLY) {
        names.push("read");
    }
    if spec.has(cmd::ADMIN) {
        names.extend(["admin", "dangerous"]);
    }
    names.iter().filter_map(|n| category_bit(n)).fold(0, |a, b| a | b)
}

fn build() -> Catalog {
    let mut c = Catalog { entries: vec![], by_name: HashMap::new(), by_table: vec![] };
    for line in include_str!("categories.txt").lines() {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        let cats = words.filter_map(category_bit).fold(0, |a, b| a | b);
        c.add(name, cats);
    }
    for line in include_str!("keyspecs.txt").lines() {
        let mut words = line.split_whitespace();
        let Some(&id) = words.next().and_then(|n| c.by_name.get(n)) else { continue };
        c.entries[id].keyspecs = words.filter_map(parse_keyspec).collect();
    }
    for line in include_str!("keyflags.txt").lines() {
        let mut words = line.split_whitespace();
        let Some(&id) = words.next().and_then(|n| c.by_name.get(n)) else { continue };
        for (spec, flags) in c.entries[id].keyspecs.iter_mut().zip(words) {
            spec.flags = key_flags(flags);
        }
    }
    for spec in cmd::table() {
        let id = match c.by_name.get(spec.name) {
            Some(&id) => id,
            None => {
                let id = c.add(spec.name, derived_categories(spec));
                c.entries[id].derived = true;
                id
            }
        };
        c.by_table.push(id);
    }
    c
}

impl Catalog {
    fn add(&mut self, name: &str, cats: u32) -> usize {
        let id = self.entries.len();
        let parent = name.split_once('|').and_then(|(p, _)| self.by_name.get(p).copied());
        if let Some(p) = parent {
            self.entries[p].children.push(id);
        }
        self.entries.push(Entry { name: name.to_string(), cats, parent, children: vec![], keyspecs: vec![], derived: false });
        self.by_name.insert(name.to_string(), id);
        id
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// An entry by (case-insensitive) full name.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The id `argv` runs as: the subcommand's for a container, else the command's.
    pub fn id_of<A: AsRef<[u8]>>(&self, spec: &CommandSpec, argv: &[A]) -> usize {
        let id = self.by_table.get(spec.index).copied().unwrap_or(0);
        match (self.entries.get(id), argv.get(1)) {
            (Some(e), Some(sub)) if !e.children.is_empty() => {
                let full = format!("{}|{}", e.name, String::from_utf8_lossy(sub.as_ref()).to_ascii_lowercase());
                self.by_name.get(&full).copied().unwrap_or(id)
            }
            _ => id,
        }
    }

    /// Top-level ids, each followed by its subcommands (the order rules are described in).
    pub fn walk(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.entries.len()).filter(|&i| self.entries[i].parent.is_none()).flat_map(|i| std::iter::once(i).chain(self.entries[i].children.iter().copied()))
    }

    /// Whether tandem runs the (top-level) command of entry `id`.
    pub fn implemented(&self, id: usize) -> bool {
        let top = self.entries[id].parent.unwrap_or(id);
        cmd::lookup(self.entries[top].name.as_bytes()).is_some()
    }
}

/// A command's ACL categories as COMMAND INFO lists them (`@read`, ..., in Redis's order).
pub fn category_names(spec: &CommandSpec) -> Vec<String> {
    let c = catalog();
    let cats = c.by_table.get(spec.index).and_then(|&id| c.entries.get(id)).map_or(0, |e| e.cats);
    names_of(cats)
}

/// The ACL categories of a catalog entry (`acl|cat`) by full name, as COMMAND INFO lists them.
pub fn entry_category_names(name: &str) -> Vec<String> {
    let c = catalog();
    names_of(c.find(name).map_or(0, |id| c.entries[id].cats))
}

/// The key specs of a catalog entry by full name (none for an unknown one).
pub fn entry_keyspecs(name: &str) -> &'static [KeySpec] {
    let c = catalog();
    c.find(name).map_or(&[], |id| c.entries[id].keyspecs.as_slice())
}

fn names_of(cats: u32) -> Vec<String> {
    CATEGORIES.iter().enumerate().filter(|(i, _)| cats & 1 << i != 0).map(|(_, n)| format!("@{}", n)).collect()
}

pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(build)
}

/// COMMAND LIST: the names of the commands tandem runs and of their subcommands
/// (`client|list`), optionally only those in an ACL category or matching a glob pattern
/// (case-insensitive), in the catalog's order.
pub fn command_list(aclcat: Option<&str>, pattern: Option<&[u8]>) -> Vec<String> {
    let cat = catalog();
    let bit = match aclcat {
        Some(name) => match category_bit(name) {
            Some(b) => Some(b),
            None => return vec![],
        },
        None => None,
    };
    cat.entries
        .iter()
        .filter(|e| {
            let top = e.parent.map_or(e.name.as_str(), |p| cat.entries[p].name.as_str());
            cmd::lookup(top.as_bytes()).is_some()
        })
        .filter(|e| bit.is_none_or(|b| e.cats & b != 0))
        .filter(|e| pattern.is_none_or(|p| crate::util::glob::glob_match(p, e.name.as_bytes(), true)))
        .map(|e| e.name.clone())
        .collect()
}
