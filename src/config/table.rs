//! The typed directive table: every directive tandem accepts, with its
//! Redis 7.0 name, alias, flags, value type, bounds and default, and whether
//! tandem actually honours it (the others are validated but have no effect).

/// The directive cannot be changed with CONFIG SET.
pub const IMMUTABLE: u16 = 1 << 0;
/// CONFIG SET needs `enable-protected-configs`.
pub const PROTECTED: u16 = 1 << 1;
/// The value is a secret (passwords).
pub const SENSITIVE: u16 = 1 << 2;
/// Only reported by CONFIG GET when named exactly (no glob).
pub const HIDDEN: u16 = 1 << 3;
/// The directive takes several arguments (a single argument is re-split).
pub const MULTI_ARG: u16 = 1 << 4;

/// How a numeric directive is written and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumFmt {
    /// Plain integer.
    Int,
    /// Byte count, accepts k/kb/m/mb/g/gb suffixes.
    Mem,
    /// Byte count or `N%` (stored as -N).
    MemPct,
    /// Octal integer (permissions).
    Octal,
}

/// Extra validation for string directives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrCheck {
    /// Any string.
    None,
    /// A bare file name, no path (`dbfilename`).
    FileName,
    /// A non-empty bare file name (`appendfilename`).
    AofFileName,
    /// A non-empty bare directory name (`appenddirname`).
    AofDirName,
    /// Under 256 characters of letters, digits, hyphens and dots.
    Hostname,
    /// A `proc-title-template` with known `{variables}` that does not expand to blank.
    ProcTitle,
}

/// Directives with their own syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `dir`: an existing directory, stored as an absolute path.
    Dir,
    /// `save`: `seconds changes` pairs, `""` for none.
    Save,
    /// `client-output-buffer-limit`: `class hard soft seconds` quadruples.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values`: three integers from -2000 to 2000.
    OomScoreAdjValues,
    /// `notify-keyspace-events`: a string of class characters (`KEA`, ...).
    NotifyKeyspaceEvents,
    /// `bind`: up to 16 addresses.
    Bind,
    /// `replicaof`: `host port` or `no one`.
    ReplicaOf,
    /// `latency-tracking-info-percentiles`: numbers from 0 to 100.
    LatencyPercentiles,
}

/// A directive's value type, with its default and validation.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `yes` / `no`, with the default.
    Bool(bool),
    /// A string.
    Str {
        /// Default value (None = unset).
        default: Option<&'static str>,
        /// Setting `""` unsets the value.
        empty_is_null: bool,
        /// Extra validation.
        check: StrCheck,
    },
    /// One of a list of names.
    Enum {
        /// Accepted names and their values (several names may share a value).
        items: &'static [(&'static str, i32)],
        /// Default value.
        default: i32,
        /// The values are bits that combine (`shutdown-on-sigint` / `shutdown-on-sigterm`),
        /// SAVE and NOSAVE excluding each other.
        shutdown_flags: bool,
    },
    /// An integer.
    Num {
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
        /// Default value.
        default: i128,
        /// How it is written.
        fmt: NumFmt,
        /// Range-checked on the value read as unsigned (Redis's unsigned C types).
        unsigned: bool,
    },
    /// A directive with its own syntax.
    Special(Special),
}

/// One directive.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Canonical Redis 7.0 name.
    pub name: &'static str,
    /// Older name also accepted (e.g. `slaveof` for `replicaof`).
    pub alias: Option<&'static str>,
    /// [`IMMUTABLE`], [`PROTECTED`], [`SENSITIVE`], [`HIDDEN`], [`MULTI_ARG`] bits.
    pub flags: u16,
    /// Value type, default and validation.
    pub kind: Kind,
    /// true when tandem acts on the value; false = parsed, validated and
    /// reported by CONFIG GET, but "no effect here".
    pub honoured: bool,
}

impl Spec {
    /// Whether `flag` (one of the flag constants) is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
    /// Whether the directive takes several arguments ([`MULTI_ARG`]).
    pub fn multi_arg(&self) -> bool {
        self.has(MULTI_ARG)
    }
}

const INT_MAX: i128 = i32::MAX as i128;
const INT_MIN: i128 = i32::MIN as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;

const H: bool = true; // honoured
const N: bool = false; // no effect here

const fn boolean(name: &'static str, alias: Option<&'static str>, flags: u16, default: bool, honoured: bool) -> Spec {
    Spec { name, alias, flags, kind: Kind::Bool(default), honoured }
}
const fn string(name: &'static str, alias: Option<&'static str>, flags: u16, empty_is_null: bool, default: Option<&'static str>, check: StrCheck, honoured: bool) -> Spec {
    Spec { name, alias, flags, kind: Kind::Str { default, empty_is_null, check }, honoured }
}
const fn enumeration(name: &'static str, flags: u16, items: &'static [(&'static str, i32)], default: i32, honoured: bool) -> Spec {
    Spec { name, alias: None, flags, kind: Kind::Enum { items, default, shutdown_flags: false }, honoured }
}
#[allow(clippy::too_many_arguments)]
const fn num(name: &'static str, alias: Option<&'static str>, flags: u16, min: i128, max: i128, default: i128, fmt: NumFmt, honoured: bool) -> Spec {
    Spec { name, alias, flags, kind: Kind::Num { min, max, default, fmt, unsigned: false }, honoured }
}
/// Numeric directive whose range check is done on the unsigned value
/// (Redis's unsigned int / size_t / unsigned long long configs).
#[allow(clippy::too_many_arguments)]
const fn unum(name: &'static str, alias: Option<&'static str>, flags: u16, min: i128, max: i128, default: i128, fmt: NumFmt, honoured: bool) -> Spec {
    Spec { name, alias, flags, kind: Kind::Num { min, max, default, fmt, unsigned: true }, honoured }
}
const fn special(name: &'static str, alias: Option<&'static str>, flags: u16, s: Special, honoured: bool) -> Spec {
    Spec { name, alias, flags, kind: Kind::Special(s), honoured }
}

/// `maxmemory-policy` values (default `noeviction`).
pub const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
/// `syslog-facility` values (default `local0`).
pub const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 0),
    ("local0", 1),
    ("local1", 2),
    ("local2", 3),
    ("local3", 4),
    ("local4", 5),
    ("local5", 6),
    ("local6", 7),
    ("local7", 8),
];
/// Redis loglevels (7.0 has no "nothing").
pub const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
/// `supervised` values (default `no`).
pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
/// `appendfsync` values (default `everysec`).
pub const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
/// Bit flags, several may be given.
pub const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
/// `repl-diskless-load` values (default `disabled`).
pub const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
/// `oom-score-adj` values (`relative` is the same as `yes`; default `no`).
pub const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
/// `acl-pubsub-default` values (default `resetchannels`).
pub const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
/// `sanitize-dump-payload` values (default `no`).
pub const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
/// no / yes / local (only connections from the local host).
pub const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
/// `cluster-preferred-endpoint-type` values (default `ip`).
pub const CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
/// `propagation-error-behavior` values (default `ignore`).
pub const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

use NumFmt::{Int, Mem, MemPct, Octal};
use StrCheck as C;

const fn shutdown(name: &'static str) -> Spec {
    Spec {
        name,
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::Enum { items: SHUTDOWN_ON_SIG, default: 0, shutdown_flags: true },
        honoured: H,
    }
}

/// Every directive, in the order used for CONFIG GET and CONFIG REWRITE.
pub static SPECS: &[Spec] = &[
    // booleans
    boolean("rdbchecksum", None, IMMUTABLE, true, H),
    boolean("daemonize", None, IMMUTABLE, false, N),
    boolean("io-threads-do-reads", None, IMMUTABLE, false, N),
    boolean("always-show-logo", None, IMMUTABLE, false, N),
    boolean("protected-mode", None, 0, true, H),
    boolean("rdbcompression", None, 0, true, H),
    boolean("rdb-del-sync-files", None, 0, false, N),
    boolean("activerehashing", None, 0, true, N),
    boolean("stop-writes-on-bgsave-error", None, 0, true, N),
    boolean("set-proc-title", None, IMMUTABLE, true, N),
    boolean("dynamic-hz", None, 0, true, H),
    boolean("lazyfree-lazy-eviction", None, 0, false, H),
    boolean("lazyfree-lazy-expire", None, 0, false, H),
    boolean("lazyfree-lazy-server-del", None, 0, false, H),
    boolean("lazyfree-lazy-user-del", None, 0, false, H),
    boolean("lazyfree-lazy-user-flush", None, 0, false, H),
    boolean("repl-disable-tcp-nodelay", None, 0, false, H),
    boolean("repl-diskless-sync", None, 0, true, H),
    boolean("aof-rewrite-incremental-fsync", None, 0, true, N),
    boolean("no-appendfsync-on-rewrite", None, 0, false, N),
    boolean("cluster-require-full-coverage", None, 0, true, N),
    boolean("rdb-save-incremental-fsync", None, 0, true, N),
    boolean("aof-load-truncated", None, 0, true, N),
    boolean("aof-use-rdb-preamble", None, 0, true, N),
    boolean("aof-timestamp-enabled", None, 0, false, N),
    boolean("cluster-replica-no-failover", Some("cluster-slave-no-failover"), 0, false, N),
    boolean("replica-lazy-flush", Some("slave-lazy-flush"), 0, false, H),
    boolean("replica-serve-stale-data", Some("slave-serve-stale-data"), 0, true, H),
    boolean("replica-read-only", Some("slave-read-only"), 0, true, H),
    boolean("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), 0, true, H),
    boolean("jemalloc-bg-thread", None, 0, true, N),
    boolean("activedefrag", None, 0, false, N),
    boolean("syslog-enabled", None, IMMUTABLE, false, N),
    boolean("cluster-enabled", None, IMMUTABLE, false, N),
    boolean("appendonly", None, 0, false, H),
    boolean("cluster-allow-reads-when-down", None, 0, false, N),
    boolean("cluster-allow-pubsubshard-when-down", None, 0, true, N),
    boolean("crash-log-enabled", None, 0, true, N),
    boolean("crash-memcheck-enabled", None, 0, true, N),
    boolean("use-exit-on-panic", None, HIDDEN, false, N),
    boolean("disable-thp", None, IMMUTABLE, true, N),
    boolean("cluster-allow-replica-migration", None, 0, true, N),
    boolean("replica-announced", None, 0, true, H),
    boolean("latency-tracking", None, 0, true, H),
    boolean("aof-disable-auto-gc", None, 0, false, N),
    boolean("replica-ignore-disk-write-errors", None, 0, false, N),
    // strings
    string("aclfile", None, IMMUTABLE, false, Some(""), C::None, N),
    string("unixsocket", None, IMMUTABLE, true, None, C::None, H),
    string("pidfile", None, IMMUTABLE, true, None, C::None, H),
    string("replica-announce-ip", Some("slave-announce-ip"), 0, true, None, C::None, H),
    string("masteruser", None, SENSITIVE, true, None, C::None, H),
    string("cluster-announce-ip", None, 0, true, None, C::None, N),
    string("cluster-config-file", None, IMMUTABLE, false, Some("nodes.conf"), C::None, N),
    string("cluster-announce-hostname", None, 0, true, None, C::Hostname, N),
    string("syslog-ident", None, IMMUTABLE, false, Some("redis"), C::None, N),
    string("dbfilename", None, PROTECTED, false, Some("dump.rdb"), C::FileName, H),
    string("appendfilename", None, IMMUTABLE, false, Some("appendonly.aof"), C::AofFileName, N),
    string("appenddirname", None, IMMUTABLE, false, Some("appendonlydir"), C::AofDirName, N),
    string("server_cpulist", None, IMMUTABLE, true, None, C::None, N),
    string("bio_cpulist", None, IMMUTABLE, true, None, C::None, N),
    string("aof_rewrite_cpulist", None, IMMUTABLE, true, None, C::None, N),
    string("bgsave_cpulist", None, IMMUTABLE, true, None, C::None, N),
    string("ignore-warnings", None, 0, false, Some(""), C::None, N),
    string("proc-title-template", None, 0, false, Some("{title} {listen-addr} {server-mode}"), C::ProcTitle, N),
    string("bind-source-addr", None, 0, true, None, C::None, N),
    string("logfile", None, IMMUTABLE, false, Some(""), C::None, H),
    string("masterauth", None, SENSITIVE, true, None, C::None, H),
    string("requirepass", None, SENSITIVE, true, None, C::None, H),
    // enums
    enumeration("supervised", IMMUTABLE, SUPERVISED, 0, N),
    enumeration("syslog-facility", IMMUTABLE, SYSLOG_FACILITY, 1, N),
    enumeration("repl-diskless-load", 0, REPL_DISKLESS_LOAD, 0, H),
    enumeration("loglevel", 0, LOGLEVEL, 2, H),
    enumeration("maxmemory-policy", 0, MAXMEMORY_POLICY, 7, H),
    enumeration("appendfsync", 0, APPENDFSYNC, 0, N),
    enumeration("oom-score-adj", 0, OOM_SCORE_ADJ, 0, N),
    enumeration("acl-pubsub-default", 0, ACL_PUBSUB_DEFAULT, 0, N),
    enumeration("sanitize-dump-payload", 0, SANITIZE_DUMP_PAYLOAD, 0, N),
    enumeration("enable-protected-configs", IMMUTABLE, PROTECTED_ACTION, 0, H),
    enumeration("enable-debug-command", IMMUTABLE, PROTECTED_ACTION, 0, H),
    enumeration("enable-module-command", IMMUTABLE, PROTECTED_ACTION, 0, H),
    enumeration("cluster-preferred-endpoint-type", 0, CLUSTER_ENDPOINT_TYPE, 0, N),
    enumeration("propagation-error-behavior", 0, PROPAGATION_ERROR_BEHAVIOR, 0, H),
    shutdown("shutdown-on-sigint"),
    shutdown("shutdown-on-sigterm"),
    // signed int
    num("databases", None, IMMUTABLE, 1, INT_MAX, 16, Int, H),
    num("port", None, 0, 0, 65535, 6379, Int, H),
    num("io-threads", None, IMMUTABLE, 1, 128, 1, Int, H),
    num("auto-aof-rewrite-percentage", None, 0, 0, INT_MAX, 100, Int, N),
    num("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), 0, 0, INT_MAX, 10, Int, N),
    num("list-max-listpack-size", Some("list-max-ziplist-size"), 0, INT_MIN, INT_MAX, -2, Int, H),
    num("tcp-keepalive", None, 0, 0, INT_MAX, 300, Int, H),
    num("cluster-migration-barrier", None, 0, 0, INT_MAX, 1, Int, N),
    num("active-defrag-cycle-min", None, 0, 1, 99, 1, Int, N),
    num("active-defrag-cycle-max", None, 0, 1, 99, 25, Int, N),
    num("active-defrag-threshold-lower", None, 0, 0, 1000, 10, Int, N),
    num("active-defrag-threshold-upper", None, 0, 0, 1000, 100, Int, N),
    num("lfu-log-factor", None, 0, 0, INT_MAX, 10, Int, H),
    num("lfu-decay-time", None, 0, 0, INT_MAX, 1, Int, H),
    num("replica-priority", Some("slave-priority"), 0, 0, INT_MAX, 100, Int, H),
    num("repl-diskless-sync-delay", None, 0, 0, INT_MAX, 5, Int, H),
    num("maxmemory-samples", None, 0, 1, INT_MAX, 5, Int, H),
    num("maxmemory-eviction-tenacity", None, 0, 0, 100, 10, Int, H),
    num("timeout", None, 0, 0, INT_MAX, 0, Int, H),
    num("replica-announce-port", Some("slave-announce-port"), 0, 0, 65535, 0, Int, H),
    num("tcp-backlog", None, IMMUTABLE, 0, INT_MAX, 511, Int, N),
    num("cluster-port", None, IMMUTABLE, 0, 65535, 0, Int, N),
    num("cluster-announce-bus-port", None, 0, 0, 65535, 0, Int, N),
    num("cluster-announce-port", None, 0, 0, 65535, 0, Int, N),
    num("cluster-announce-tls-port", None, 0, 0, 65535, 0, Int, N),
    num("repl-timeout", None, 0, 1, INT_MAX, 60, Int, H),
    num("repl-ping-replica-period", Some("repl-ping-slave-period"), 0, 1, INT_MAX, 10, Int, H),
    num("list-compress-depth", None, 0, 0, INT_MAX, 0, Int, H),
    num("rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, 0, Int, H),
    num("key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, 0, Int, H),
    num("active-expire-effort", None, 0, 1, 10, 1, Int, H),
    num("hz", None, 0, 0, INT_MAX, 10, Int, H),
    num("min-replicas-to-write", Some("min-slaves-to-write"), 0, 0, INT_MAX, 0, Int, H),
    num("min-replicas-max-lag", Some("min-slaves-max-lag"), 0, 0, INT_MAX, 10, Int, H),
    num("watchdog-period", None, HIDDEN, 0, INT_MAX, 0, Int, N),
    num("shutdown-timeout", None, 0, 0, INT_MAX, 10, Int, H),
    num("repl-diskless-sync-max-replicas", None, 0, 0, INT_MAX, 0, Int, H),
    // unsigned int
    unum("maxclients", None, 0, 1, UINT_MAX, 10000, Int, H),
    unum("unixsocketperm", None, IMMUTABLE, 0, 0o777, 0, Octal, H),
    unum("socket-mark-id", None, IMMUTABLE, 0, UINT_MAX, 0, Int, N),
    // unsigned long (range-checked as signed, like Redis)
    num("active-defrag-max-scan-fields", None, 0, 1, LONG_MAX, 1000, Int, N),
    num("slowlog-max-len", None, 0, 0, LONG_MAX, 128, Int, N),
    num("acllog-max-len", None, 0, 0, LONG_MAX, 128, Int, N),
    // long long
    num("busy-reply-threshold", Some("lua-time-limit"), 0, 0, LONG_MAX, 5000, Int, N),
    num("cluster-node-timeout", None, 0, 0, LONG_MAX, 15000, Int, N),
    num("slowlog-log-slower-than", None, 0, -1, LONG_MAX, 10000, Int, N),
    num("latency-monitor-threshold", None, 0, 0, LONG_MAX, 0, Int, N),
    num("proto-max-bulk-len", None, 0, 1024 * 1024, LONG_MAX, 512 * 1024 * 1024, Mem, H),
    num("stream-node-max-entries", None, 0, 0, LONG_MAX, 100, Int, N),
    num("repl-backlog-size", None, 0, 1, LONG_MAX, 1024 * 1024, Mem, H),
    // unsigned long long
    unum("maxmemory", None, 0, 0, ULLONG_MAX, 0, Mem, H),
    unum("cluster-link-sendbuf-limit", None, 0, 0, ULLONG_MAX, 0, Mem, N),
    // size_t
    unum("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), 0, 0, LONG_MAX, 512, Int, H),
    unum("set-max-intset-entries", None, 0, 0, LONG_MAX, 512, Int, H),
    unum("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), 0, 0, LONG_MAX, 128, Int, H),
    unum("active-defrag-ignore-bytes", None, 0, 1, LONG_MAX, 100 << 20, Mem, N),
    unum("hash-max-listpack-value", Some("hash-max-ziplist-value"), 0, 0, LONG_MAX, 64, Mem, H),
    unum("stream-node-max-bytes", None, 0, 0, LONG_MAX, 4096, Mem, N),
    unum("zset-max-listpack-value", Some("zset-max-ziplist-value"), 0, 0, LONG_MAX, 64, Mem, H),
    unum("hll-sparse-max-bytes", None, 0, 0, LONG_MAX, 3000, Mem, N),
    unum("tracking-table-max-keys", None, 0, 0, LONG_MAX, 1_000_000, Int, N),
    unum("client-query-buffer-limit", None, 0, 1024 * 1024, LONG_MAX, 1024 * 1024 * 1024, Mem, H),
    // ssize_t
    num("maxmemory-clients", None, 0, -100, LONG_MAX, 0, MemPct, N),
    // time_t / off_t
    num("repl-backlog-ttl", None, 0, 0, LONG_MAX, 3600, Int, H),
    num("auto-aof-rewrite-min-size", None, 0, 0, LONG_MAX, 64 * 1024 * 1024, Mem, N),
    num("loading-process-events-interval-bytes", None, HIDDEN, 1024, INT_MAX, 2 * 1024 * 1024, Int, H),
    // directives with their own syntax
    special("dir", None, PROTECTED, Special::Dir, H),
    special("save", None, MULTI_ARG, Special::Save, H),
    special("client-output-buffer-limit", None, MULTI_ARG, Special::ClientOutputBufferLimit, H),
    special("oom-score-adj-values", None, MULTI_ARG, Special::OomScoreAdjValues, N),
    special("notify-keyspace-events", None, 0, Special::NotifyKeyspaceEvents, H),
    special("bind", None, MULTI_ARG, Special::Bind, H),
    special("replicaof", Some("slaveof"), IMMUTABLE | MULTI_ARG, Special::ReplicaOf, H),
    special("latency-tracking-info-percentiles", None, MULTI_ARG, Special::LatencyPercentiles, N),
    // tandem's own
    boolean("trace", None, 0, false, H),
    boolean("repl-backpressure", None, 0, false, H),
    // Valkey 8's dual-channel replication (its name): the RDB on a second connection.
    boolean("dual-channel-replication-enabled", None, 0, false, H),
    num("repl-verify-period", None, 0, 0, INT_MAX, 60, Int, H),
    num("repl-resume-window", None, 0, 0, INT_MAX, 0, Int, H),
];

/// Directives only understood while reading a config file (not CONFIG GET/SET).
pub const FILE_ONLY: &[&str] = &["include", "rename-command", "user", "loadmodule", "sentinel"];

/// Old directives that are silently accepted (name, min argc, max argc incl. name).
pub const DEPRECATED: &[(&str, usize, usize)] =
    &[("list-max-ziplist-entries", 2, 2), ("list-max-ziplist-value", 2, 2), ("lua-replicate-commands", 2, 2)];

/// Lookup result: index into SPECS and whether the alias was used.
pub fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<&'static str, (usize, bool)>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, s) in SPECS.iter().enumerate() {
            m.insert(s.name, (i, false));
            if let Some(a) = s.alias {
                m.insert(a, (i, true));
            }
        }
        m
    });
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    index.get(lower.as_str()).copied()
}

/// Index of a canonical directive name; panics on a typo (internal use).
pub fn idx(name: &str) -> usize {
    match lookup(name.as_bytes()) {
        Some((i, _)) => i,
        None => panic!("unknown directive {name}"),
    }
}

/// The registered name for a lookup result (alias name when the alias was used).
pub fn registered_name(i: usize, alias: bool) -> &'static str {
    if alias {
        SPECS[i].alias.unwrap_or(SPECS[i].name)
    } else {
        SPECS[i].name
    }
}
