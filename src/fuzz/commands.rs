//! Command argument handling: random argv for every command of the table, against an
//! embedded server whose keyspace holds every type and encoding (restored before each
//! input, so an input's outcome depends on it alone).
//!
//! An input is a choice sequence: which commands, which subcommand, which of the arguments
//! COMMAND DOCS describes (tokens, optional and repeated ones), and values for them: key
//! names of each type, numbers with their boundaries, patterns, stream IDs, DUMP payloads
//! (also corrupted and resealed), random bytes; then a few edits off the grammar.

use super::{check_log, seal_dump, within};
use crate::embed::Value;
use crate::server::{Server, ServerHandle};
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::Mutex;

/// An argument as COMMAND DOCS describes it.
#[derive(Default, Debug)]
struct Arg {
    kind: String,
    token: Option<Bytes>,
    optional: bool,
    multiple: bool,
    args: Vec<Arg>,
}

/// A command or subcommand to generate: its leading words and arguments.
struct Entry {
    words: Vec<Bytes>,
    args: Vec<Arg>,
    /// Every token of the command (for off-grammar edits).
    tokens: Vec<Bytes>,
    arity: i32,
}

struct World {
    server: ServerHandle,
    dir: PathBuf,
    log_seen: u64,
    entries: Vec<Entry>,
    /// RESTORE arguments (key, ttl, payload) of the typed keyspace.
    template: Vec<[Bytes; 3]>,
    keys: Vec<Bytes>,
    payloads: Vec<Bytes>,
}

static WORLD: Mutex<Option<World>> = Mutex::new(None);

const LIBRARY: &str = "#!lua name=fuzzlib\nredis.register_function('f1', function(keys, args) return #keys end)\n\
redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

/// The typed keyspace: every type and encoding (thresholds are Redis 7.0's defaults).
fn dataset() -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let with = |head: &[&str], items: Vec<String>| s(head).into_iter().chain(items).collect::<Vec<_>>();
    let big = "x".repeat(100);
    vec![
        s(&["SET", "s:int", "12345"]),
        s(&["SET", "s:embstr", "hello world"]),
        with(&["SET", "s:raw"], vec![big.clone()]),
        s(&["SET", "s:float", "3.25"]),
        s(&["SET", "s:bits", "\u{7f}\u{1}abc"]),
        with(&["SET"], vec!["a".repeat(60), "a".repeat(60)]),
        s(&["PFADD", "hll:sparse", "a", "b", "c"]),
        with(&["PFADD", "hll:dense"], (0..2000).map(|i| format!("e{i}")).collect()),
        s(&["RPUSH", "l:small", "a", "b", "c", "1", "2", "-300", "70000"]),
        with(&["RPUSH", "l:big"], (0..300).map(|i| format!("{big}-{i}")).collect()),
        s(&["SADD", "set:int", "1", "2", "3", "-5", "70000"]),
        s(&["SADD", "set:str", "a", "b", "c", "hello"]),
        with(&["SADD", "set:big"], (0..600).map(|i| (i * 3).to_string()).collect()),
        s(&["ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "+inf", "d"]),
        with(&["ZADD", "z:big"], (0..200).flat_map(|i| [(i as f64 / 3.0).to_string(), format!("m{i}")]).collect()),
        s(&["GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]),
        s(&["HSET", "h:small", "f1", "v1", "f2", "2", "n", "-12345678901"]),
        with(&["HSET", "h:big"], (0..200).flat_map(|i| [format!("f{i}"), format!("v{i}")]).collect()),
        s(&["XADD", "st", "1-1", "a", "1", "b", "2"]),
        s(&["XADD", "st", "1-2", "a", "3"]),
        s(&["XADD", "st", "5-0", "c", "x"]),
        s(&["XGROUP", "CREATE", "st", "g1", "0"]),
        s(&["XGROUP", "CREATE", "st", "g2", "$"]),
        s(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "st", ">"]),
        s(&["XGROUP", "CREATECONSUMER", "st", "g2", "bob"]),
        s(&["SET", "e:str", "v", "PX", "100000000"]),
        s(&["RPUSH", "e:list", "a"]),
        s(&["EXPIRE", "e:list", "1000000"]),
    ]
}

/// Fixed values the generator draws arguments from, by kind.
const INTS: &[&str] = &[
    "0", "1", "-1", "2", "3", "5", "10", "100", "1000", "-100", "127", "128", "255", "256", "65535", "65536",
    "2147483647", "-2147483648", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "18446744073709551615", "1e3", "01", " 1", "", "0x10", "-0",
];
const DOUBLES: &[&str] = &["0", "1.5", "-1.5", "inf", "-inf", "+inf", "nan", "1e308", "-1e308", "4.9e-324", "0.1", "1e-10", "10", "3"];
const STRINGS: &[&str] = &[
    "a", "", "hello", "f1", "f2", "m1", "g1", "g2", "alice", "bob", "Palermo", "1-1", "0-0", "$", ">", "*", "+", "-",
    "(1", "[a", "(a", "18446744073709551615-18446744073709551615", "1-*", "0.01", "m", "km", "ft", "mi", "#",
    "nosort", "h:*->f1", "*->field", "GET", "f1", "fuzzlib", "f1", "ro", "default", "ASC", "DESC",
];
const PATTERNS: &[&str] = &["*", "?", "[a-z]*", "\\", "[", "h:*", "*[^", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "[[]]", "*\\"];
const TIMES: &[&str] = &["0", "1", "4102444800", "-1", "9223372036854775807", "1700000000"];
const SCRIPTS: &[&str] = &[
    "return 1",
    "return redis.call('get', KEYS[1])",
    "return redis.pcall(ARGV[1], KEYS[1], ARGV[2])",
    "return redis.call(unpack(ARGV))",
    "return {1, 'a', {2}, false, redis.status_reply('x'), redis.error_reply('y')}",
    "redis.setresp(3) return redis.call('hgetall', KEYS[1])",
    "return cjson.encode(redis.call('lrange', KEYS[1], 0, -1))",
    "return cmsgpack.unpack(ARGV[1])",
    "return struct.unpack(ARGV[1], ARGV[2])",
    "return bit.tohex(tonumber(ARGV[1]))",
];

/// Commands that legitimately block, sleep, end the server or the connection, or change
/// the server's role: never generated.
fn skipped(words: &[Bytes]) -> bool {
    let w = |i: usize| words.get(i).map(|b| String::from_utf8_lossy(b).to_ascii_lowercase()).unwrap_or_default();
    let (name, sub) = (w(0), w(1));
    match name.as_str() {
        "shutdown" | "monitor" | "sync" | "psync" | "replicaof" | "slaveof" | "failover" | "subscribe" | "psubscribe"
        | "ssubscribe" | "wait" | "waitaof" | "waitoffset" | "quit" | "migrate" | "module" => true,
        "client" => matches!(sub.as_str(), "kill" | "pause" | "reply" | "unpause"),
        // A Lua debugging session ends by closing the connection, as in Redis.
        "script" => sub == "debug",
        "config" => matches!(sub.as_str(), "set" | "rewrite"),
        "debug" => !matches!(
            sub.as_str(),
            "object" | "digest" | "digest-value" | "htstats" | "htstats-key" | "protocol" | "stringmatch-len" | "listpack"
                | "quicklist-packed-threshold" | "change-repl-id" | "set-active-expire" | "log" | "help"
        ),
        _ => false,
    }
}

/// CONFIG SET stays on parameters that change encodings and behaviour, not where the server
/// listens, writes or how much it may allocate.
const CONFIG_SET: &[&str] = &[
    "hash-max-listpack-entries", "hash-max-listpack-value", "set-max-intset-entries", "zset-max-listpack-entries",
    "zset-max-listpack-value", "list-max-listpack-size", "list-compress-depth", "notify-keyspace-events",
    "lfu-log-factor", "lfu-decay-time", "maxmemory-policy", "slowlog-log-slower-than", "stream-node-max-entries",
    "stream-node-max-bytes", "lazyfree-lazy-user-del", "latency-tracking", "activerehashing",
];

/// Builds the typed keyspace, reads COMMAND DOCS, and keeps the RESTORE arguments of every
/// key for the resets.
pub fn init() {
    let mut world = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    if world.is_some() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("tandem-fuzz-commands-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    let text = format!(
        "port 0\nbind 127.0.0.1\nsave \"\"\ndir {}\nlogfile {}\nenable-debug-command yes\nproto-max-bulk-len 1mb\nloglevel warning\n",
        dir.display(),
        dir.join("log").display()
    );
    let cfg = crate::config::Config::from_text(&text).expect("fuzz server config");
    let server = crate::rt::block_on(Server::start(cfg)).expect("fuzz server starts");
    let w = crate::rt::block_on(build(server, dir));
    *world = Some(w);
}

async fn build(server: ServerHandle, dir: PathBuf) -> World {
    for cmd in dataset() {
        let r = server.exec(&cmd).await.expect("dataset");
        assert!(!matches!(r, Value::Error(_)), "{cmd:?}: {r:?}");
    }
    let mut template = vec![];
    let keys = match server.exec(&["KEYS", "*"]).await {
        Ok(Value::Array(ks)) => ks.into_iter().filter_map(|k| k.as_bytes().map(Bytes::copy_from_slice)).collect::<Vec<_>>(),
        r => panic!("KEYS: {r:?}"),
    };
    for k in &keys {
        let ttl = server.exec(&[&b"PTTL"[..], k]).await.ok().and_then(|v| v.as_int()).unwrap_or(-1).max(0);
        let Ok(Value::Bulk(p)) = server.exec(&[&b"DUMP"[..], k]).await else { panic!("DUMP {k:?}") };
        template.push([k.clone(), Bytes::from(ttl.to_string()), p]);
    }
    let mut payloads: Vec<Bytes> = template.iter().map(|t| t[2].clone()).collect();
    server.exec(&["FUNCTION", "LOAD", LIBRARY]).await.expect("library");
    if let Ok(Value::Bulk(p)) = server.exec(&["FUNCTION", "DUMP"]).await {
        payloads.push(p);
    }
    let docs = server.exec(&["COMMAND", "DOCS"]).await.expect("COMMAND DOCS");
    let entries = entries(&docs);
    let mut keys = keys;
    keys.extend([&b"missing"[..], b"{t}x", b"s:new"].map(Bytes::from_static));
    World { server, dir, log_seen: 0, entries, template, keys, payloads }
}

/// Field/value pairs of a RESP2 flat array or a RESP3 map.
fn pairs(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Array(items) => items.chunks_exact(2).filter_map(|c| Some((c[0].as_str()?, &c[1]))).collect(),
        Value::Map(m) => m.iter().filter_map(|(k, v)| Some((k.as_str()?, v))).collect(),
        _ => vec![],
    }
}

fn parse_args(v: &Value) -> Vec<Arg> {
    let Value::Array(items) = v else { return vec![] };
    items
        .iter()
        .map(|a| {
            let mut arg = Arg::default();
            for (k, v) in pairs(a) {
                match k.as_str() {
                    "type" => arg.kind = v.as_str().unwrap_or_default(),
                    "token" => arg.token = v.as_bytes().map(Bytes::copy_from_slice),
                    "flags" => {
                        if let Value::Array(fs) = v {
                            let fs: Vec<String> = fs.iter().filter_map(|f| f.as_str()).collect();
                            arg.optional = fs.iter().any(|f| f == "optional");
                            arg.multiple = fs.iter().any(|f| f.starts_with("multiple"));
                        }
                    }
                    "arguments" => arg.args = parse_args(v),
                    _ => {}
                }
            }
            arg
        })
        .collect()
}

fn collect_tokens(args: &[Arg], out: &mut Vec<Bytes>) {
    for a in args {
        out.extend(a.token.clone());
        collect_tokens(&a.args, out);
    }
}

fn entry(words: Vec<Bytes>, doc: Option<&Value>, arity: i32) -> Entry {
    let args = doc.and_then(|d| pairs(d).into_iter().find(|(k, _)| k == "arguments").map(|(_, v)| parse_args(v))).unwrap_or_default();
    let mut tokens = vec![];
    collect_tokens(&args, &mut tokens);
    Entry { words, args, tokens, arity }
}

/// One entry per command of the table and per subcommand COMMAND DOCS knows, less the
/// skipped ones.
fn entries(docs: &Value) -> Vec<Entry> {
    let by_name: std::collections::HashMap<String, &Value> = pairs(docs).into_iter().collect();
    let mut out = vec![];
    for spec in crate::keyspace::cmd::table() {
        let doc = by_name.get(spec.name).copied();
        let subs = doc.and_then(|d| pairs(d).into_iter().find(|(k, _)| k == "subcommands").map(|(_, v)| v));
        out.push(entry(vec![Bytes::from_static(spec.name.as_bytes())], doc, spec.arity));
        for (full, sub_doc) in subs.map(pairs).unwrap_or_default() {
            let sub = full.rsplit('|').next().unwrap_or_default().to_string();
            let arity = pairs(sub_doc).iter().find(|(k, _)| k == "arity").and_then(|(_, v)| v.as_int()).unwrap_or(-2) as i32;
            out.push(entry(vec![Bytes::from_static(spec.name.as_bytes()), Bytes::from(sub)], Some(sub_doc), arity));
        }
    }
    out.retain(|e| !skipped(&e.words));
    out
}

/// Choices read from the input; zeros once it is used up.
struct Choices<'a> {
    data: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let v = if n <= 256 { self.byte() as usize } else { (self.byte() as usize) << 8 | self.byte() as usize };
        v % n
    }
    /// True with probability `k`/16.
    fn chance(&mut self, k: u8) -> bool {
        self.byte() % 16 < k
    }
    fn pick<'s>(&mut self, from: &[&'s str]) -> Bytes {
        Bytes::copy_from_slice(from[self.below(from.len())].as_bytes())
    }
    fn random_bytes(&mut self) -> Bytes {
        let n = self.below(24);
        Bytes::from((0..n).map(|_| self.byte()).collect::<Vec<u8>>())
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

impl World {
    /// A value of `kind` (COMMAND DOCS's argument types), sometimes anything at all.
    fn value(&self, c: &mut Choices, kind: &str, e: &Entry) -> Bytes {
        if c.chance(1) {
            return self.any(c, e);
        }
        match kind {
            "key" => self.keys[c.below(self.keys.len())].clone(),
            "integer" => {
                if c.chance(10) {
                    Bytes::from((c.below(12) as i64 - 2).to_string())
                } else {
                    c.pick(INTS)
                }
            }
            "double" => c.pick(DOUBLES),
            "pattern" => c.pick(PATTERNS),
            "unix-time" => c.pick(TIMES),
            _ if e.words[0].eq_ignore_ascii_case(b"restore") || e.words.get(1).is_some_and(|w| w.eq_ignore_ascii_case(b"restore")) => self.payload(c),
            _ if e.words[0].starts_with(b"eval") || e.words.get(1).is_some_and(|w| w.eq_ignore_ascii_case(b"load")) => {
                if c.chance(14) {
                    c.pick(SCRIPTS)
                } else {
                    c.random_bytes()
                }
            }
            _ => self.any(c, e),
        }
    }

    /// A value of any kind: a key, a number, a token of the command, a string, random bytes.
    fn any(&self, c: &mut Choices, e: &Entry) -> Bytes {
        match c.below(7) {
            0 => self.keys[c.below(self.keys.len())].clone(),
            1 => c.pick(INTS),
            2 => c.pick(DOUBLES),
            3 if !e.tokens.is_empty() => e.tokens[c.below(e.tokens.len())].clone(),
            4 => c.pick(STRINGS),
            5 => self.payload(c),
            _ => c.random_bytes(),
        }
    }

    /// A DUMP payload of the typed keyspace, often corrupted and given a correct checksum
    /// (as Redis's corrupt-dump fuzzer does).
    fn payload(&self, c: &mut Choices) -> Bytes {
        let mut p = self.payloads[c.below(self.payloads.len())].to_vec();
        if c.chance(10) && p.len() > 10 {
            for _ in 0..1 + c.below(4) {
                let at = c.below(p.len() - 10);
                match c.below(3) {
                    0 => p[at] ^= 1 << c.below(8),
                    1 => p[at] = c.byte(),
                    _ => {
                        let n = c.below(8).min(p.len() - 10 - at);
                        p.drain(at..at + n);
                    }
                }
            }
            seal_dump(&mut p);
        }
        Bytes::from(p)
    }

    /// Arguments following the documented grammar: optional ones taken or not, repeated
    /// ones 1-3 times, one branch of a one-of.
    fn grammar(&self, c: &mut Choices, args: &[Arg], e: &Entry, out: &mut Vec<Bytes>) {
        for a in args {
            if a.optional && c.chance(8) {
                continue;
            }
            let times = if a.multiple { 1 + c.below(3) } else { 1 };
            for _ in 0..times {
                if let Some(t) = &a.token {
                    out.push(if c.chance(2) { Bytes::from(t.to_ascii_lowercase()) } else { t.clone() });
                }
                match a.kind.as_str() {
                    "pure-token" => {}
                    "oneof" if !a.args.is_empty() => {
                        let pick = &a.args[c.below(a.args.len())];
                        self.grammar(c, std::slice::from_ref(pick), e, out);
                    }
                    "block" => self.grammar(c, &a.args, e, out),
                    kind => out.push(self.value(c, kind, e)),
                }
            }
        }
    }

    /// One argv: a command of the table, grammar arguments, then edits off the grammar.
    fn argv(&self, c: &mut Choices) -> Vec<Bytes> {
        let e = &self.entries[c.below(self.entries.len())];
        let mut argv = e.words.clone();
        if c.chance(1) {
            argv[0] = Bytes::from(argv[0].to_ascii_uppercase());
        }
        self.grammar(c, &e.args, e, &mut argv);
        if c.chance(4) {
            for _ in 0..1 + c.below(3) {
                let at = e.words.len() + c.below(argv.len() + 1 - e.words.len());
                match c.below(3) {
                    0 => argv.insert(at, self.any(c, e)),
                    1 if at < argv.len() => drop(argv.remove(at)),
                    _ if at < argv.len() => argv[at] = self.any(c, e),
                    _ => {}
                }
            }
        }
        let argc = argv.len() as i32;
        if e.arity > 0 && argc < e.arity && c.chance(12) {
            while (argv.len() as i32) < e.arity {
                argv.push(self.any(c, e));
            }
        }
        tame(&mut argv);
        argv
    }
}

/// Keeps a generated command from legitimately blocking or reconfiguring the server:
/// blocking timeouts become 10 ms, CONFIG SET stays on harmless parameters, ACL SETUSER on
/// users other than `default`.
fn tame(argv: &mut [Bytes]) {
    let name = argv[0].to_ascii_lowercase();
    let last = argv.len() - 1;
    match &name[..] {
        b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" | b"brpoplpush" | b"blmove" if last > 0 => argv[last] = Bytes::from_static(b"0.01"),
        b"blmpop" | b"bzmpop" if last > 0 => argv[1] = Bytes::from_static(b"0.01"),
        b"xread" | b"xreadgroup" => {
            for i in 1..argv.len() {
                if argv[i - 1].eq_ignore_ascii_case(b"block") {
                    argv[i] = Bytes::from_static(b"1");
                }
            }
        }
        b"config" if argv.get(1).is_some_and(|s| s.eq_ignore_ascii_case(b"set")) => {
            for i in (2..argv.len()).step_by(2) {
                if !CONFIG_SET.iter().any(|p| argv[i].eq_ignore_ascii_case(p.as_bytes())) {
                    argv[i] = Bytes::from_static(CONFIG_SET[i % CONFIG_SET.len()].as_bytes());
                }
            }
        }
        b"acl" if argv.len() > 2 && argv[2].eq_ignore_ascii_case(b"default") => argv[2] = Bytes::from_static(b"fuzzuser"),
        _ => {}
    }
}

/// Whether a reply is the keyspace's answer to a command that panicked.
fn is_bug(v: &Value) -> bool {
    match v {
        Value::Error(e) => e.contains("internal error while running"),
        Value::Array(items) => items.iter().any(is_bug),
        _ => false,
    }
}

fn show(argv: &[Bytes]) -> String {
    let text = argv.iter().map(|a| format!("{:?}", String::from_utf8_lossy(&a[..a.len().min(64)]))).collect::<Vec<_>>().join(" ");
    text.chars().take(400).collect()
}

/// Restores the typed keyspace (FLUSHALL, then RESTORE of every key, in one script) and the
/// function library, on a new connection.
async fn reset(w: &World, conn: &mut crate::embed::Connection) -> Result<(), String> {
    const SCRIPT: &str = "redis.call('flushall') for i = 1, #KEYS do redis.call('restore', KEYS[i], ARGV[2*i-1], ARGV[2*i]) end return #KEYS";
    let mut argv: Vec<Bytes> = vec![Bytes::from_static(b"EVAL"), Bytes::from_static(SCRIPT.as_bytes()), Bytes::from(w.template.len().to_string())];
    argv.extend(w.template.iter().map(|t| t[0].clone()));
    argv.extend(w.template.iter().flat_map(|t| [t[1].clone(), t[2].clone()]));
    let r = conn.exec(&argv).await?;
    if r.as_int() != Some(w.template.len() as i64) {
        return Err(format!("reset: {r:?}"));
    }
    conn.exec(&["FUNCTION", "LOAD", "REPLACE", LIBRARY]).await?;
    conn.exec(&["CONFIG", "SET", "hash-max-listpack-entries", "128", "set-max-intset-entries", "512", "zset-max-listpack-entries", "128", "list-max-listpack-size", "-2", "maxmemory-policy", "noeviction", "notify-keyspace-events", ""]).await?;
    Ok(())
}

/// Runs the commands an input describes (1-6) on a fresh connection after a reset; each
/// must answer within a second, none may panic, and the server must answer PING after.
pub fn run(data: &[u8]) {
    let mut guard = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    let w = guard.as_mut().expect("commands::init ran");
    let mut c = Choices { data, at: 0 };
    let n = 1 + c.below(6);
    let mut cmds: Vec<Vec<Bytes>> = vec![];
    while cmds.len() < n && (cmds.is_empty() || !c.done()) {
        cmds.push(w.argv(&mut c));
    }
    let mut conn = within(1000, w.server.connect()).and_then(|r| r).expect("connect");
    within(1000, reset(w, &mut conn)).and_then(|r| r).expect("reset");
    let all = || cmds.iter().map(|a| show(a)).collect::<Vec<_>>().join(" ; ");
    for argv in &cmds {
        let reply = within(1000, conn.exec(argv)).unwrap_or_else(|e| panic!("{}: {e} (input: {})", show(argv), all()));
        let reply = reply.unwrap_or_else(|e| panic!("{}: connection dropped: {e} (input: {})", show(argv), all()));
        assert!(!is_bug(&reply), "{}: {reply:?}", show(argv));
    }
    drop(conn);
    let pong = within(1000, w.server.exec(&["PING"])).and_then(|r| r);
    assert_eq!(pong, Ok(Value::Status("PONG".into())), "the server answers after {:?}", cmds.iter().map(|a| show(a)).collect::<Vec<_>>());
    check_log(&w.dir.join("log"), &mut w.log_seen, "commands");
}

/// Stops the server and removes its directory.
pub fn finish() {
    let w = WORLD.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(w) = w {
        crate::rt::block_on(w.server.stop());
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}
