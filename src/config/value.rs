//! Values of directives: parsing (with Redis's validation and error texts),
//! rendering for CONFIG GET, and the lines CONFIG REWRITE writes.

use super::table::{Kind, NumFmt, Spec, Special, StrCheck};
use crate::util::splitargs::repr;

/// Output buffer limits for one client class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ObufLimit {
    /// The client is disconnected as soon as its output buffer exceeds this many bytes
    /// (0 = no hard limit).
    pub hard_limit_bytes: u64,
    /// The client is disconnected when its output buffer stays above this many bytes
    /// (0 = no soft limit) ...
    pub soft_limit_bytes: u64,
    /// ... for this many seconds.
    pub soft_limit_seconds: u64,
}

/// Client classes of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    /// `normal`: ordinary clients.
    Normal = 0,
    /// `replica` (or `slave`): replicas attached to this master.
    Replica = 1,
    /// `pubsub`: clients subscribed to a channel or pattern.
    Pubsub = 2,
}

impl ClientClass {
    /// Parses normal / replica / slave / pubsub (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<ClientClass> {
        let n = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        match n.as_str() {
            "normal" => Some(ClientClass::Normal),
            "replica" | "slave" => Some(ClientClass::Replica),
            "pubsub" => Some(ClientClass::Pubsub),
            _ => None,
        }
    }
    /// Name used by CONFIG GET (Redis still says "slave").
    pub fn get_name(self) -> &'static str {
        ["normal", "slave", "pubsub"][self as usize]
    }
    /// Name used by CONFIG REWRITE.
    pub fn rewrite_name(self) -> &'static str {
        ["normal", "replica", "pubsub"][self as usize]
    }
    /// Every class, in index order (the order CONFIG GET lists them).
    pub const ALL: [ClientClass; 3] = [ClientClass::Normal, ClientClass::Replica, ClientClass::Pubsub];
}

/// `client-output-buffer-limit` defaults, indexed by [`ClientClass`]: normal 0 0 0,
/// replica 256mb 64mb 60, pubsub 32mb 8mb 60.
pub const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit { hard_limit_bytes: 0, soft_limit_bytes: 0, soft_limit_seconds: 0 },
    ObufLimit { hard_limit_bytes: 256 << 20, soft_limit_bytes: 64 << 20, soft_limit_seconds: 60 },
    ObufLimit { hard_limit_bytes: 32 << 20, soft_limit_bytes: 8 << 20, soft_limit_seconds: 60 },
];
/// `save` default as (seconds, changes) points: 3600 1, 300 100, 60 10000.
pub const SAVE_DEFAULT: [(u64, u64); 3] = [(3600, 1), (300, 100), (60, 10000)];
/// `oom-score-adj-values` default: 0 200 800.
pub const OOM_DEFAULTS: [i32; 3] = [0, 200, 800];
/// `bind` default (no `bind` directive): every IPv4 address and, if available, every IPv6 one, as Redis 7.0 (protected mode keeps a server without a password to loopback clients).
pub const BIND_DEFAULT: [&str; 2] = ["*", "-::*"];
/// `latency-tracking-info-percentiles` default: 50 99 99.9.
pub const PERCENTILES_DEFAULT: [f64; 3] = [50.0, 99.0, 99.9];

/// Keyspace notification class flags (same bits as Redis).
pub mod notify {
    /// `K`: publish on `__keyspace@<db>__:<key>` channels.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>` channels.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: a key expired.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: a key was evicted for `maxmemory`.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: a key was looked up and not found (not part of `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// A key was loaded from an RDB (module events only; no character).
    pub const LOADED: u32 = 1 << 12;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: a key was created (not part of `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Current value of one directive.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// [`Kind::Bool`].
    Bool(bool),
    /// [`Kind::Num`]; a `MemPct` percentage is stored negated.
    Num(i128),
    /// [`Kind::Str`]; None = unset.
    Str(Option<Vec<u8>>),
    /// [`Kind::Enum`]: the value (bits ORed together for flag sets).
    Enum(i32),
    /// `dir`: absolute path.
    Dir(String),
    /// `save`: (seconds, changes) points; empty = no automatic saving.
    Save(Vec<(u64, u64)>),
    /// `client-output-buffer-limit`, indexed by [`ClientClass`].
    Obuf([ObufLimit; 3]),
    /// `oom-score-adj-values`.
    Oom([i32; 3]),
    /// `notify-keyspace-events`: bits from [`notify`].
    Notify(u32),
    /// `bind`: addresses, a leading '-' marks an optional one.
    Bind(Vec<String>),
    /// `replicaof`: the master's host and port, None = this is a master.
    ReplicaOf(Option<(String, u16)>),
    /// `latency-tracking-info-percentiles`.
    Percentiles(Vec<f64>),
}

/// The default value of a directive (`dir` defaults to the current directory).
pub fn default_val(spec: &Spec) -> Val {
    match spec.kind {
        Kind::Bool(b) => Val::Bool(b),
        Kind::Str { default, .. } => Val::Str(default.map(|s| s.as_bytes().to_vec())),
        Kind::Enum { default, .. } => Val::Enum(default),
        Kind::Num { default, .. } => Val::Num(default),
        Kind::Special(s) => match s {
            Special::Dir => Val::Dir(
                std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default(),
            ),
            Special::Save => Val::Save(SAVE_DEFAULT.to_vec()),
            Special::ClientOutputBufferLimit => Val::Obuf(OBUF_DEFAULTS),
            Special::OomScoreAdjValues => Val::Oom(OOM_DEFAULTS),
            Special::NotifyKeyspaceEvents => Val::Notify(0),
            Special::Bind => Val::Bind(BIND_DEFAULT.iter().map(|s| s.to_string()).collect()),
            Special::ReplicaOf => Val::ReplicaOf(None),
            Special::LatencyPercentiles => Val::Percentiles(PERCENTILES_DEFAULT.to_vec()),
        },
    }
}

// ---------------------------------------------------------------- number parsing

/// Strict integer parse (no spaces, no '+', no leading zeros), like Redis's string2ll.
pub fn strict_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: i128 = 0;
    for &d in digits {
        v = v * 10 + (d - b'0') as i128;
        if v > i64::MAX as i128 + 1 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Lenient integer parse in the style of C's strtoll with an "all consumed"
/// check: leading blanks and a sign are allowed, overflow saturates, an empty
/// string reads as 0.
pub fn lenient_i64(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || (9..=13).contains(&s[i])) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = (v * 10 + (s[i] - b'0') as i128).min(i64::MAX as i128 + 1);
        i += 1;
    }
    if i == start {
        // nothing converted: the whole input must be empty to pass
        return if s.is_empty() { Some(0) } else { None };
    }
    if i != s.len() {
        return None;
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Parses a memory amount: digits with an optional unit b, k (1000),
/// kb (1024), m, mb, g, gb (case-insensitive). Negative values are refused.
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let ndigits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = std::str::from_utf8(&s[ndigits..]).ok()?.to_ascii_lowercase();
    let mul: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if ndigits >= 128 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &s[..ndigits] {
        v = v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)).unwrap_or(u64::MAX);
    }
    Some(v.wrapping_mul(mul))
}

/// Writes a byte count with the largest exact unit (gb, mb, kb).
pub fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1 << 30;
    const MB: i64 = 1 << 20;
    const KB: i64 = 1 << 10;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

fn parse_octal(s: &[u8]) -> Option<i64> {
    let t = std::str::from_utf8(s).ok()?;
    let t = t.trim_start();
    if s.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    let v = i64::from_str_radix(digits, 8).ok()?;
    Some(if neg { -v } else { v })
}

fn trim_double(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// A percentile as Redis prints it: up to six decimals, no trailing zeros (`99.9`).
pub fn format_percentile(v: f64) -> String {
    trim_double(format!("{:.6}", v))
}

// ---------------------------------------------------------------- keyspace events

/// Parses `notify-keyspace-events` characters into [`notify`] bits (None on an
/// unknown character).
pub fn notify_flags_from_str(s: &[u8]) -> Option<u32> {
    use notify::*;
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// [`notify`] bits as `notify-keyspace-events` characters, the form CONFIG GET shows.
pub fn notify_flags_to_string(flags: u32) -> String {
    use notify::*;
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

// ---------------------------------------------------------------- enums

fn enum_error(items: &[(&str, i32)]) -> String {
    let names: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
    format!("argument(s) must be one of the following: {}", names.join(", "))
}

/// Name(s) of an enum value; several names joined by spaces for flag sets.
pub fn enum_name(items: &[(&str, i32)], value: i32, flags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut rest = value;
    for &(name, v) in items {
        if v == value {
            return name.to_string();
        }
        if flags && v != 0 && rest & v == v {
            names.push(name);
            rest &= !v;
        }
    }
    if names.is_empty() || rest != 0 {
        return "unknown".to_string();
    }
    names.join(" ")
}

// ---------------------------------------------------------------- string checks

fn is_base_name(s: &[u8]) -> bool {
    !s.contains(&b'/') && !s.contains(&b'\\')
}

fn check_proc_title(t: &[u8]) -> bool {
    // Expands the template with an empty title; it is valid when every
    // {variable} is known, braces balance ({{ and }} are literal braces) and
    // the expansion is not blank.
    let known: &[&[u8]] =
        &[b"title", b"listen-addr", b"server-mode", b"config-file", b"port", b"tls-port", b"unixsocket"];
    let mut out_nonblank = false;
    let mut i = 0;
    while i < t.len() {
        match t[i] {
            b'{' if t.get(i + 1) == Some(&b'{') => {
                out_nonblank = true;
                i += 2;
            }
            b'}' if t.get(i + 1) == Some(&b'}') => {
                out_nonblank = true;
                i += 2;
            }
            b'{' => {
                let Some(end) = t[i + 1..].iter().position(|&c| c == b'}') else { return false };
                let var = &t[i + 1..i + 1 + end];
                if !known.contains(&var) {
                    return false;
                }
                if var != b"title" && var != b"server-mode" && var != b"tls-port" && var != b"unixsocket" {
                    out_nonblank = true;
                }
                i += end + 2;
            }
            b'}' => return false,
            c => {
                if c != b' ' {
                    out_nonblank = true;
                }
                i += 1;
            }
        }
    }
    out_nonblank
}

fn check_string(check: StrCheck, v: &[u8]) -> Result<(), String> {
    match check {
        StrCheck::None => Ok(()),
        StrCheck::FileName if !is_base_name(v) => Err("dbfilename can't be a path, just a filename".into()),
        StrCheck::AofFileName if v.is_empty() => Err("appendfilename can't be empty".into()),
        StrCheck::AofFileName if !is_base_name(v) => Err("appendfilename can't be a path, just a filename".into()),
        StrCheck::AofDirName if v.is_empty() => Err("appenddirname can't be empty".into()),
        StrCheck::AofDirName if !is_base_name(v) => Err("appenddirname can't be a path, just a dirname".into()),
        StrCheck::Hostname if v.len() >= 256 => Err("Hostnames must be less than 256 characters".into()),
        StrCheck::Hostname if !v.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') => {
            Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
        }
        StrCheck::ProcTitle if !check_proc_title(v) => {
            Err("template format is invalid or contains unknown variables".into())
        }
        _ => Ok(()),
    }
}

pub use crate::util::strerror as io_error_text;

// ---------------------------------------------------------------- parse

/// Parses the arguments of one directive into its new value. `args` are the
/// values after the directive name (already split for multi-argument
/// directives); `current` is needed by directives that update partially.
pub fn parse(spec: &Spec, args: &[Vec<u8>], current: &Val) -> Result<Val, String> {
    let one = || -> Result<&[u8], String> {
        if args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        Ok(&args[0])
    };
    match spec.kind {
        Kind::Bool(_) => {
            let a = one()?;
            if a.eq_ignore_ascii_case(b"yes") {
                Ok(Val::Bool(true))
            } else if a.eq_ignore_ascii_case(b"no") {
                Ok(Val::Bool(false))
            } else {
                Err("argument must be 'yes' or 'no'".into())
            }
        }
        Kind::Str { empty_is_null, check, .. } => {
            let a = one()?;
            check_string(check, a)?;
            Ok(Val::Str(if empty_is_null && a.is_empty() { None } else { Some(a.to_vec()) }))
        }
        Kind::Enum { items, shutdown_flags, .. } => {
            if args.is_empty() || (!spec.multi_arg() && args.len() != 1) {
                return Err(enum_error(items));
            }
            let mut value = 0;
            for a in args {
                let m = items.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(a));
                match m {
                    Some((_, v)) => value |= v,
                    None => return Err(enum_error(items)),
                }
            }
            if shutdown_flags && value & 1 != 0 && value & 2 != 0 {
                return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
            }
            Ok(Val::Enum(value))
        }
        Kind::Num { min, max, fmt, unsigned, .. } => {
            let a = one()?;
            let parsed: Option<i64> = match fmt {
                NumFmt::Int => strict_i64(a),
                NumFmt::Mem => parse_memory(a).map(|v| v as i64),
                NumFmt::MemPct => parse_memory(a).map(|v| v as i64).or_else(|| {
                    if a.len() > 1 && a.ends_with(b"%") {
                        strict_i64(&a[..a.len() - 1]).filter(|v| *v >= 0).map(|v| -v)
                    } else {
                        None
                    }
                }),
                NumFmt::Octal => parse_octal(a),
            };
            let Some(ll) = parsed else {
                return Err(match fmt {
                    NumFmt::Int => "argument couldn't be parsed into an integer",
                    NumFmt::Mem => "argument must be a memory value",
                    NumFmt::MemPct => "argument must be a memory or percent value",
                    NumFmt::Octal => "argument couldn't be parsed as an octal number",
                }
                .into());
            };
            if unsigned {
                let u = ll as u64 as i128;
                if u > max || u < min {
                    return Err(if fmt == NumFmt::Octal {
                        format!("argument must be between {:o} and {:o} inclusive", min, max)
                    } else {
                        format!("argument must be between {} and {} inclusive", min, max)
                    });
                }
                Ok(Val::Num(u))
            } else {
                let v = ll as i128;
                if fmt == NumFmt::MemPct && v < 0 {
                    if v < min {
                        return Err(format!("percentage argument must be less or equal to {}", -min));
                    }
                } else if v > max || v < min {
                    return Err(format!("argument must be between {} and {} inclusive", min, max));
                }
                Ok(Val::Num(v))
            }
        }
        Kind::Special(s) => parse_special(s, args, current),
    }
}

fn parse_special(s: Special, args: &[Vec<u8>], current: &Val) -> Result<Val, String> {
    let lossy = |a: &[u8]| String::from_utf8_lossy(a).into_owned();
    match s {
        Special::Dir => {
            if args.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            let p = std::path::Path::new(std::ffi::OsStr::new(&lossy(&args[0]))).to_path_buf();
            let abs = std::fs::canonicalize(&p).map_err(|e| io_error_text(&e))?;
            if !abs.is_dir() {
                return Err("Not a directory".into());
            }
            Ok(Val::Dir(abs.to_string_lossy().into_owned()))
        }
        Special::Save => {
            let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
            if args.len() % 2 == 1 {
                return Err("Invalid save parameters".into());
            }
            let mut pairs = Vec::new();
            for pair in args.chunks(2) {
                let secs = lenient_i64(&pair[0]).filter(|v| *v >= 1);
                let changes = lenient_i64(&pair[1]).filter(|v| *v >= 0);
                match (secs, changes) {
                    (Some(s), Some(c)) => pairs.push((s as u64, c as u64)),
                    _ => return Err("Invalid save parameters".into()),
                }
            }
            Ok(Val::Save(pairs))
        }
        Special::ClientOutputBufferLimit => {
            if !args.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut limits = match current {
                Val::Obuf(l) => *l,
                _ => OBUF_DEFAULTS,
            };
            let mut updates = Vec::new();
            for quad in args.chunks(4) {
                let Some(class) = ClientClass::from_name(&quad[0]) else {
                    return Err("Invalid client class specified in buffer limit configuration.".into());
                };
                let hard = parse_memory(&quad[1]);
                let soft = parse_memory(&quad[2]);
                let secs = lenient_i64(&quad[3]).filter(|v| *v >= 0);
                match (hard, soft, secs) {
                    (Some(h), Some(s), Some(t)) => updates.push((
                        class,
                        ObufLimit { hard_limit_bytes: h, soft_limit_bytes: s, soft_limit_seconds: t as u64 },
                    )),
                    _ => {
                        return Err(
                            "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()
                        )
                    }
                }
            }
            for (c, l) in updates {
                limits[c as usize] = l;
            }
            Ok(Val::Obuf(limits))
        }
        Special::OomScoreAdjValues => {
            if args.len() != 3 {
                return Err("wrong number of arguments".into());
            }
            let mut v = [0i32; 3];
            for (i, a) in args.iter().enumerate() {
                match lenient_i64(a) {
                    Some(n) if (-2000..=2000).contains(&n) => v[i] = n as i32,
                    _ => {
                        return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into())
                    }
                }
            }
            Ok(Val::Oom(v))
        }
        Special::NotifyKeyspaceEvents => {
            if args.len() != 1 {
                return Err("wrong number of arguments".into());
            }
            notify_flags_from_str(&args[0])
                .map(Val::Notify)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())
        }
        Special::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
            Ok(Val::Bind(args.iter().map(|a| lossy(a)).collect()))
        }
        Special::ReplicaOf => {
            if args.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            if args[0].eq_ignore_ascii_case(b"no") && args[1].eq_ignore_ascii_case(b"one") {
                return Ok(Val::ReplicaOf(None));
            }
            match lenient_i64(&args[1]) {
                Some(p) if (0..=65535).contains(&p) => Ok(Val::ReplicaOf(Some((lossy(&args[0]), p as u16)))),
                _ => Err("Invalid master port".into()),
            }
        }
        Special::LatencyPercentiles => {
            let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
            let mut out = Vec::new();
            for a in args {
                let v = std::str::from_utf8(a)
                    .ok()
                    .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_ascii_whitespace()))
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|v| !v.is_nan());
                match v {
                    None => return Err("Invalid latency-tracking-info-percentiles parameters".into()),
                    Some(v) if !(0.0..=100.0).contains(&v) => {
                        return Err(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into()
                        )
                    }
                    Some(v) => out.push(v),
                }
            }
            Ok(Val::Percentiles(out))
        }
    }
}

// ---------------------------------------------------------------- render

/// The value as CONFIG GET shows it.
pub fn render(spec: &Spec, val: &Val) -> Vec<u8> {
    match (val, &spec.kind) {
        (Val::Bool(b), _) => (if *b { "yes" } else { "no" }).into(),
        (Val::Str(s), _) => s.clone().unwrap_or_default(),
        (Val::Enum(v), Kind::Enum { items, .. }) => enum_name(items, *v, spec.multi_arg()).into_bytes(),
        (Val::Num(v), Kind::Num { fmt, .. }) => match fmt {
            NumFmt::MemPct if *v < 0 => format!("{}%", -v).into_bytes(),
            NumFmt::Octal => format!("{:o}", v).into_bytes(),
            _ => v.to_string().into_bytes(),
        },
        (Val::Dir(d), _) => d.clone().into_bytes(),
        (Val::Save(pairs), _) => {
            pairs.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" ").into_bytes()
        }
        (Val::Obuf(l), _) => ClientClass::ALL
            .iter()
            .map(|c| {
                let x = l[*c as usize];
                format!("{} {} {} {}", c.get_name(), x.hard_limit_bytes, x.soft_limit_bytes, x.soft_limit_seconds)
            })
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes(),
        (Val::Oom(v), _) => format!("{} {} {}", v[0], v[1], v[2]).into_bytes(),
        (Val::Notify(f), _) => notify_flags_to_string(*f).into_bytes(),
        (Val::Bind(b), _) => b.join(" ").into_bytes(),
        (Val::ReplicaOf(Some((h, p))), _) => format!("{h} {p}").into_bytes(),
        (Val::ReplicaOf(None), _) => Vec::new(),
        (Val::Percentiles(p), _) => {
            p.iter().map(|v| format_percentile(*v)).collect::<Vec<_>>().join(" ").into_bytes()
        }
        _ => Vec::new(),
    }
}

/// Text lines CONFIG REWRITE wants for this directive, each with a "force"
/// flag (write it even if the old file did not mention the directive).
/// An empty list removes the directive's old lines.
pub fn rewrite_lines(spec: &Spec, val: &Val) -> Vec<(String, bool)> {
    let name = spec.name;
    let def = default_val(spec);
    let bytes_repr = |v: &[u8]| repr(v);
    match (val, &spec.kind) {
        (Val::Bool(b), _) => vec![(format!("{name} {}", if *b { "yes" } else { "no" }), *val != def)],
        (Val::Str(None), _) => vec![],
        (Val::Str(Some(s)), Kind::Str { default, .. }) => {
            let force = !matches!(default, Some(d) if d.as_bytes() == s.as_slice());
            vec![(format!("{name} {}", bytes_repr(s)), force)]
        }
        (Val::Enum(v), Kind::Enum { items, .. }) => {
            vec![(format!("{name} {}", enum_name(items, *v, spec.multi_arg())), *val != def)]
        }
        (Val::Num(v), Kind::Num { fmt, .. }) => {
            let text = match fmt {
                NumFmt::MemPct if *v < 0 => format!("{}%", -v),
                NumFmt::Mem | NumFmt::MemPct => format_memory(*v as i64),
                NumFmt::Octal => format!("{:o}", v),
                NumFmt::Int => v.to_string(),
            };
            vec![(format!("{name} {text}"), *val != def)]
        }
        (Val::Dir(d), _) => vec![(format!("{name} {}", bytes_repr(d.as_bytes())), true)],
        (Val::Save(pairs), _) => {
            if pairs.is_empty() {
                vec![(format!("{name} \"\""), true)]
            } else {
                pairs.iter().map(|(s, c)| (format!("{name} {s} {c}"), true)).collect()
            }
        }
        (Val::Obuf(l), _) => ClientClass::ALL
            .iter()
            .map(|c| {
                let x = l[*c as usize];
                let line = format!(
                    "{name} {} {} {} {}",
                    c.rewrite_name(),
                    format_memory(x.hard_limit_bytes as i64),
                    format_memory(x.soft_limit_bytes as i64),
                    x.soft_limit_seconds
                );
                (line, x != OBUF_DEFAULTS[*c as usize])
            })
            .collect(),
        (Val::Oom(v), _) => vec![(format!("{name} {} {} {}", v[0], v[1], v[2]), *v != OOM_DEFAULTS)],
        (Val::Notify(f), _) => {
            vec![(format!("{name} {}", bytes_repr(notify_flags_to_string(*f).as_bytes())), *f != 0)]
        }
        (Val::Bind(b), _) => {
            if *val == def {
                vec![]
            } else if b.is_empty() {
                vec![(format!("{name} \"\""), true)]
            } else {
                vec![(format!("{name} {}", b.join(" ")), true)]
            }
        }
        (Val::ReplicaOf(None), _) => vec![],
        (Val::ReplicaOf(Some((h, p))), _) => vec![(format!("{name} {h} {p}"), true)],
        (Val::Percentiles(p), _) => {
            if p.is_empty() {
                vec![(format!("{name} \"\""), true)]
            } else {
                let vals: Vec<String> = p.iter().map(|v| format_percentile(*v)).collect();
                vec![(format!("{name} {}", vals.join(" ")), true)]
            }
        }
        _ => vec![],
    }
}
