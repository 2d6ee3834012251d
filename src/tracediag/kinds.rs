//! Conversation kinds: which message kinds and protocol lines make up each conversation.
//!
//! [`KINDS`] is the one table to extend: add a name to a row (or a row) and `--kind` knows it.
//! A line belongs to a kind when
//! - it is a message or a reply (`->`, `-->`) whose kind is in the row's `messages`, or
//! - it is a protocol line (`=>`) whose text matches one of the row's `wire` patterns.
//!
//! A name may sit in several rows. Lines whose kind is in no row are kept only under `all`.

use super::parse::{Arrow, TraceLine};

/// One conversation kind: its name and the lines that belong to it.
#[derive(Debug, PartialEq, Eq)]
pub struct KindSpec {
    /// The name `--kind` takes.
    pub name: &'static str,
    /// One line on what the conversation is.
    pub about: &'static str,
    /// Message and reply kinds (`Psync`, `FullResync`), compared exactly.
    pub messages: &'static [&'static str],
    /// Protocol-line patterns, compared without regard to case: a prefix that ends at a word
    /// boundary (`PING` matches `PING` but not `PINGS`), or `prefix ... suffix` (the line
    /// starts with the prefix and ends with the suffix, the two not overlapping).
    pub wire: &'static [&'static str],
}

/// The conversation kinds (`all` is not a row: it keeps every line).
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "handshake",
        about: "a replica connects to its master: PING, AUTH, REPLCONF listening-port/capa",
        messages: &["SetMaster", "StopLink", "Accepted", "start", "Connect", "Connected", "Handshake", "CachedMaster"],
        wire: &[
            "connect",
            "connected",
            "PING",
            "+PONG",
            "-NOAUTH",
            "AUTH",
            "REPLCONF listening-port",
            "REPLCONF ip-address",
            "REPLCONF capa",
            "+OK",
            "-ERR",
        ],
    },
    KindSpec {
        name: "psync",
        about: "PSYNC and its answer: +CONTINUE (partial) or +FULLRESYNC",
        messages: &[
            "Psync",
            "Continue",
            "FullResync",
            "Error",
            "Begin",
            "Continued",
            "CachedMaster",
            "Subscribe",
            "Online",
        ],
        wire: &["PSYNC", "SYNC", "+CONTINUE", "+FULLRESYNC", "-NOMASTERLINK", "-LOADING"],
    },
    KindSpec {
        name: "fullsync",
        about: "a full resync: the RDB written by the master and loaded by the replica",
        messages: &[
            "FullResync",
            "FullSync",
            "Write",
            "JobDone",
            "BulkStarted",
            "RdbReady",
            "LoadSnapshot",
            "Reset",
            "Subscribe",
            "Online",
            "SetRole",
        ],
        wire: &["+FULLRESYNC", "SYNC", "RDB", "$EOF", "$"],
    },
    KindSpec {
        name: "propagation",
        about: "the write stream: keyspace -> backlog -> replica -> socket -> replica keyspace, and ACKs",
        messages: &["Append", "FlushFeed", "Stream", "ApplyStream", "Ack", "Acked"],
        wire: &["REPLCONF ACK", "REPLCONF GETACK", "stream", "*", "SELECT", "MULTI", "EXEC"],
    },
    KindSpec {
        name: "wait",
        about: "WAIT: GETACK into the stream, ACKs counted by the backlog, the client answered",
        messages: &["WaitAcks", "WaitEnd", "GetAck", "Ack", "Acked"],
        wire: &["REPLCONF GETACK", "REPLCONF ACK"],
    },
    KindSpec {
        name: "failover",
        about: "FAILOVER: pause writes, wait for the target's ACK, hand over with PSYNC ... FAILOVER",
        messages: &[
            "Failover",
            "CurrentOffset",
            "WaitSynced",
            "CancelSynced",
            "Synced",
            "SetMasterFailover",
            "Pause",
            "Unpause",
            "SetRole",
        ],
        wire: &["PSYNC ... FAILOVER", "FAILOVER"],
    },
    KindSpec {
        name: "pubsub",
        about: "Pub/Sub: SUBSCRIBE and PUBLISH through the keyspace, pushes to subscribers, PUBLISH in the stream",
        messages: &["Exec", "ExecDone", "Push", "WritePushes", "Append", "Stream", "ApplyStream", "MonitorFeed", "ResetClient"],
        wire: &["stream", "*"],
    },
    KindSpec {
        name: "tracking",
        about: "client-side caching: reads and writes through the keyspace, invalidations pushed to tracking (or redirection) connections",
        messages: &["Exec", "ExecDone", "Push", "WritePushes", "ApplyStream", "TrackingLimit"],
        wire: &[],
    },
    KindSpec {
        name: "promotion",
        about: "a replica becomes a master (REPLICAOF NO ONE, or the target of a FAILOVER)",
        messages: &["SetRole", "SetMaster", "StopLink", "Promote", "ShiftReplid", "DropAll"],
        wire: &["PSYNC ... FAILOVER", "REPLICAOF", "SLAVEOF"],
    },
    KindSpec {
        name: "waitoffset",
        about: "read-your-writes: WRITEOFFSET on the master, WAITOFFSET answered by the replica's keyspace once it applied that point",
        messages: &["Exec", "ExecDone", "HistoryOf", "History", "WaitOffset", "Reached", "Pending", "Lost", "Append", "Stream", "ApplyStream", "Applied", "Paused"],
        wire: &["stream", "*"],
    },
    KindSpec {
        name: "verify",
        about: "consistency proof: the master's snapshot and marker, each replica's digest at the marker, the backlog's verdicts",
        messages: &["StartVerify", "Round", "NoRound", "AwaitVerdicts", "Verdicts", "VerifyAt", "VerifyDigested", "Reference", "ReplicaDigest", "Append", "Stream", "ApplyStream", "Applied"],
        wire: &["REPLCONF GETACK", "REPLCONF DIGEST", "REPLCONF ACK"],
    },
    KindSpec {
        name: "backpressure",
        about: "repl-backpressure: the backlog holds write replies while a replica lags near its output limit",
        messages: &["Throttle", "Drained", "Append", "Stream"],
        wire: &[],
    },
];

/// The row named `name` (any case); `None` for an unknown name and for `all`.
pub fn kind_spec(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name.eq_ignore_ascii_case(name))
}

/// The names `--kind` accepts: `all` and every row of [`KINDS`].
pub fn kind_names() -> Vec<&'static str> {
    std::iter::once("all").chain(KINDS.iter().map(|k| k.name)).collect()
}

/// Whether `text` starts with `prefix` (any case), ending at a word boundary when the prefix
/// ends in a letter or digit.
fn starts_word(text: &str, prefix: &str) -> bool {
    let (t, p) = (text.as_bytes(), prefix.as_bytes());
    if t.len() < p.len() || !t[..p.len()].eq_ignore_ascii_case(p) {
        return false;
    }
    match (p.last(), t.get(p.len())) {
        (Some(l), Some(n)) if l.is_ascii_alphanumeric() => !n.is_ascii_alphanumeric(),
        _ => true,
    }
}

/// Whether `text` ends with `suffix` (any case), starting at a word boundary when the suffix
/// starts with a letter or digit.
fn ends_word(text: &str, suffix: &str) -> bool {
    let (t, s) = (text.as_bytes(), suffix.as_bytes());
    if t.len() < s.len() || !t[t.len() - s.len()..].eq_ignore_ascii_case(s) {
        return false;
    }
    let before = t.len() - s.len();
    match (s.first(), before.checked_sub(1).map(|i| t[i])) {
        (Some(f), Some(b)) if f.is_ascii_alphanumeric() => !b.is_ascii_alphanumeric(),
        _ => true,
    }
}

/// Whether the protocol line `text` matches the pattern (see [`KindSpec::wire`]).
pub fn wire_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once(" ... ") {
        Some((pre, suf)) => text.len() >= pre.len() + suf.len() && starts_word(text, pre) && ends_word(text, suf),
        None => starts_word(text, pattern),
    }
}

impl KindSpec {
    /// Whether `line` belongs to this conversation kind.
    pub fn matches(&self, line: &TraceLine) -> bool {
        match line.arrow {
            Arrow::Send | Arrow::Reply => self.messages.contains(&line.kind.as_str()),
            Arrow::Wire => {
                let body = line.body();
                self.wire.iter().any(|p| wire_matches(p, &body))
            }
        }
    }
}

/// The names of the conversation kinds `line` belongs to (empty: only `all`).
pub fn kinds_of(line: &TraceLine) -> Vec<&'static str> {
    KINDS.iter().filter(|k| k.matches(line)).map(|k| k.name).collect()
}
