//! ACL users as Redis 7.0 keeps them: flags, password hashes (SHA-256 hex) and selectors
//! (command permissions, key patterns, channel patterns). Plain data shared by the
//! connections; the client layer (`client::acl`) parses rules, describes users and checks
//! commands, since it knows the command catalog.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Key permission bits of a pattern.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    /// `READ`, `WRITE` or both.
    pub perms: u8,
}

/// A set of permissions: the root one (rules outside parentheses) or a `(...)` selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Allowed commands by catalog id.
    pub allowed: Vec<bool>,
    /// `+@all` was given and nothing was removed since (no check of the bits needed).
    pub all_commands: bool,
    /// `+@all` was the base (commands added later would be allowed): describes as `+@all`.
    pub future: bool,
    /// First arguments allowed for otherwise denied commands (`+select|0`), by id.
    pub firstargs: HashMap<usize, Vec<String>>,
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    pub all_channels: bool,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// No commands, keys nor channels (all channels when `acl-pubsub-default` says so).
    pub fn new(ids: usize, all_channels: bool) -> Selector {
        Selector {
            allowed: vec![false; ids],
            all_commands: false,
            future: false,
            firstargs: HashMap::new(),
            all_keys: false,
            keys: vec![],
            all_channels,
            channels: vec![],
        }
    }
}

/// One user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// None, Some(true) = `sanitize-payload`, Some(false) = `skip-sanitize-payload`.
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests, in the order they were added.
    pub passwords: Vec<String>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no password, nothing allowed.
    pub fn new(name: &str, ids: usize, all_channels: bool) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: vec![],
            root: Selector::new(ids, all_channels),
            selectors: vec![],
        }
    }

    /// Every selector, the root first.
    pub fn all_selectors(&self) -> impl Iterator<Item = &Selector> {
        std::iter::once(&self.root).chain(self.selectors.iter())
    }

    /// Whether `pass` authenticates this user (enabled, and nopass or a matching password).
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = crate::util::sha256::hex(pass);
        self.passwords.iter().any(|p| *p == h)
    }

    /// Whether this user may do anything (its connections need no check).
    pub fn unrestricted(&self) -> bool {
        let r = &self.root;
        r.all_commands && r.all_keys && r.all_channels
    }
}

/// An ACL LOG entry.
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel`, `multi` or `lua`.
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub ctime_ms: i64,
    pub client_info: String,
}

/// Every user, and the ACL LOG.
#[derive(Default)]
pub struct Acl {
    pub users: BTreeMap<String, User>,
    /// Newest first.
    pub log: VecDeque<LogEntry>,
}

impl Acl {
    /// Records a denial: an entry of the same reason, context, object and user less than 60
    /// seconds old (among the 10 newest) counts up and moves to the front.
    pub fn log_denial(&mut self, e: LogEntry, max_len: usize) {
        let found = self.log.iter().take(10).position(|x| {
            x.reason == e.reason
                && x.context == e.context
                && (x.ctime_ms - e.ctime_ms).abs() <= 60_000
                && x.object == e.object
                && x.username == e.username
        });
        if let Some(i) = found {
            if let Some(mut x) = self.log.remove(i) {
                x.count += 1;
                x.ctime_ms = e.ctime_ms;
                x.client_info = e.client_info;
                self.log.push_front(x);
            }
            return;
        }
        self.log.push_front(e);
        self.log.truncate(max_len);
    }
}
