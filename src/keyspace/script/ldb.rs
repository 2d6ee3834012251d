//! LDB, the Lua debugger of `SCRIPT DEBUG YES|SYNC`, as Redis 7.0's.
//!
//! A debugging session lasts one EVAL. The client actor forwards what the debugging client
//! sends (raw bytes) over [`LdbLink::input`] and writes what arrives on [`LdbLink::output`]
//! (the debugger's log lines, as a RESP array of status replies). On the keyspace side, a
//! Lua line hook stops the script where the user asked (step, breakpoints,
//! `redis.breakpoint()`), sends the log, and blocks reading debugger commands until one
//! resumes the script. The session state lives in the Lua state's app data ([`Ldb`]).
//!
//! Redis forks for `SCRIPT DEBUG YES` so the server keeps serving others and the script's
//! changes are thrown away; tandem has no fork: the keyspace is blocked during any session
//! (as Redis's SYNC mode), and in YES mode the dataset is restored at the end and the
//! script's effects are not propagated (see `eval.rs`).
//!
//! If the client goes away (or the server shuts down), the script runs to its end without
//! stopping again, as Redis's debugger does when its read fails.

use super::{api, busy_hook};
use crate::shared::{ClientMeta, Shared};
use bytes::Bytes;
use mlua::{Lua, Table, Value, VmState};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The channels between a debugging client and its session (carried by the EVAL's Exec).
pub struct LdbLink {
    /// SCRIPT DEBUG SYNC (changes kept); false: YES (changes rolled back).
    pub sync: bool,
    /// What the client sends, as read from its socket.
    pub input: flume::Receiver<Bytes>,
    /// Bytes to write to the client (log arrays).
    pub output: flume::Sender<Bytes>,
    /// The client's connection state (a killed client ends the wait for commands).
    pub meta: Arc<ClientMeta>,
}

/// Default `maxlen` (Redis's LDB_MAX_LEN_DEFAULT).
const MAXLEN_DEFAULT: usize = 256;
/// Most breakpoints at once (Redis's LDB_BREAKPOINTS_MAX).
const BREAKPOINTS_MAX: usize = 64;
/// How deep nested tables are shown (Redis's LDB_MAX_VALUES_DEPTH).
const MAX_VALUES_DEPTH: usize = 10;
/// Pending input beyond this ends the script (Redis: 1 MB).
const MAX_CBUF: usize = 1 << 20;

/// A debugging session in progress (Lua app data).
pub(crate) struct Ldb {
    link: LdbLink,
    shared: Arc<Shared>,
    /// The scripts' environment (what `eval` code sees).
    env: Table,
    /// The script's source lines.
    src: Vec<Vec<u8>>,
    /// Log lines not sent yet.
    logs: Vec<Vec<u8>>,
    /// Stop at the next line.
    step: bool,
    /// `redis.breakpoint()` was called: stop at the next line.
    luabp: bool,
    bp: Vec<i32>,
    current: i32,
    maxlen: usize,
    maxlen_hint_sent: bool,
    /// Input not yet parsed into a command.
    cbuf: Vec<u8>,
    /// The client is gone: no more stops.
    gone: bool,
    /// Since when the script ran without stopping (the infinite-loop stop).
    started: Instant,
}

/// Starts a session for the EVAL of `body`: installs the state and the line hook.
pub(crate) fn start(lua: &Lua, env: Table, link: LdbLink, shared: Arc<Shared>, body: &[u8]) {
    let body = trim_end_newlines(body);
    let src = body.split(|&b| b == b'\n').map(|l| l.to_vec()).collect();
    // YES mode logs what Redis's forked session logs.
    if link.sync {
        crate::warning!(shared.log, "Redis synchronous debugging eval session started");
    } else {
        crate::warning!(shared.log, "Redis forked for debugging eval");
    }
    // The keyspace's thread waits on the client: the connections must still be served.
    crate::rt::lend_executor_thread();
    let ldb = Ldb {
        link,
        shared,
        env,
        src,
        logs: Vec::new(),
        step: true,
        luabp: false,
        bp: Vec::new(),
        current: 0,
        maxlen: MAXLEN_DEFAULT,
        maxlen_hint_sent: false,
        cbuf: Vec::new(),
        gone: false,
        started: Instant::now(),
    };
    lua.set_app_data(ldb);
    lua.set_hook(mlua::HookTriggers::new().every_line().every_nth_instruction(100_000), hook);
}

/// Ends the session: sends the last log lines and `<endsession>`, restores the busy hook.
pub(crate) fn end(lua: &Lua) {
    log(lua, "<endsession>");
    send_logs(lua);
    if let Some(ldb) = lua.remove_app_data::<Ldb>() {
        if ldb.link.sync {
            crate::warning!(ldb.shared.log, "Redis synchronous debugging eval session ended");
        } else {
            crate::warning!(ldb.shared.log, "Lua debugging session child exiting");
        }
    }
    lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), busy_hook);
}

fn trim_end_newlines(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
}

/// Whether redis.call logs its commands and replies (a session, stepping).
pub(crate) fn logging(lua: &Lua) -> bool {
    lua.app_data_ref::<Ldb>().is_some_and(|l| l.step)
}

/// Adds a log line.
pub(crate) fn log(lua: &Lua, line: impl Into<Vec<u8>>) {
    if let Some(mut l) = lua.app_data_mut::<Ldb>() {
        l.logs.push(line.into());
    }
}

/// Adds a log line cut at `maxlen` (with a hint the first time).
fn log_with_maxlen(lua: &Lua, mut line: Vec<u8>) {
    let Some(mut l) = lua.app_data_mut::<Ldb>() else { return };
    if l.maxlen == 0 || line.len() <= l.maxlen {
        l.logs.push(line);
        return;
    }
    line.truncate(l.maxlen);
    line.extend_from_slice(b" ...");
    l.logs.push(line);
    if !l.maxlen_hint_sent {
        l.maxlen_hint_sent = true;
        l.logs.push(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.".to_vec());
    }
}

/// Sends the pending log lines as one array of status replies (CR and LF become spaces).
fn send_logs(lua: &Lua) {
    let Some(mut l) = lua.app_data_mut::<Ldb>() else { return };
    let mut out = format!("*{}\r\n", l.logs.len()).into_bytes();
    for line in l.logs.drain(..) {
        out.push(b'+');
        out.extend(line.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
        out.extend_from_slice(b"\r\n");
    }
    let _ = l.link.output.send(Bytes::from(out));
}

/// `redis.call` logged a command (`<redis> args`, ten at most).
pub(crate) fn log_command(lua: &Lua, argv: &[Bytes]) {
    let mut s = b"<redis>".to_vec();
    for (j, a) in argv.iter().enumerate() {
        if j == 10 {
            // Redis's count (one less than what is left out).
            s.extend_from_slice(format!(" ... ({} more)", argv.len() - j - 1).as_bytes());
            break;
        }
        s.push(b' ');
        s.extend_from_slice(a);
    }
    log(lua, s);
}

/// `redis.call` logged a reply, in Redis's human form.
pub(crate) fn log_reply(lua: &Lua, reply: &[u8]) {
    let mut s = b"<reply> ".to_vec();
    let mut pos = 0;
    human_reply(reply, &mut pos, &mut s);
    log_with_maxlen(lua, s);
}

/// An error of `redis.call` (`<error> msg`, without the generic `ERR ` code).
pub(crate) fn log_error(lua: &Lua, msg: &[u8]) {
    let msg = msg.strip_prefix(b"ERR ").unwrap_or(msg);
    log(lua, [&b"<error> "[..], msg].concat());
}

/// The line of a RESP reply at `pos` (without its CRLF); moves past it.
fn reply_line<'a>(r: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = (*pos).min(r.len());
    let end = r[start..].windows(2).position(|w| w == b"\r\n").map_or(r.len(), |i| start + i);
    *pos = (end + 2).min(r.len().max(end));
    &r[start..end]
}

/// Appends a RESP reply in Redis's debugger form (ldbRedisProtocolToHuman).
fn human_reply(r: &[u8], pos: &mut usize, o: &mut Vec<u8>) {
    let Some(&kind) = r.get(*pos) else { return };
    let line = reply_line(r, pos);
    let body = &line[1..];
    let count = || std::str::from_utf8(body).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    match kind {
        b':' => o.extend_from_slice(body),
        b'$' => {
            let n = count();
            if n < 0 {
                o.extend_from_slice(b"NULL");
            } else {
                let end = (*pos + n as usize).min(r.len());
                o.extend_from_slice(repr(&r[*pos..end]).as_bytes());
                *pos = (end + 2).min(r.len());
            }
        }
        b'+' | b'-' => o.extend_from_slice(repr(line).as_bytes()),
        b'*' | b'~' => {
            let n = count();
            if n < 0 {
                o.extend_from_slice(b"NULL");
                return;
            }
            o.extend_from_slice(if kind == b'*' { b"[" } else { b"~(" });
            for j in 0..n {
                human_reply(r, pos, o);
                if j != n - 1 {
                    o.push(b',');
                }
            }
            o.push(if kind == b'*' { b']' } else { b')' });
        }
        b'%' => {
            let n = count();
            o.push(b'{');
            for j in 0..n {
                human_reply(r, pos, o);
                o.extend_from_slice(b" => ");
                human_reply(r, pos, o);
                if j != n - 1 {
                    o.push(b',');
                }
            }
            o.push(b'}');
        }
        b'_' => o.extend_from_slice(b"(null)"),
        b'#' => o.extend_from_slice(if body.first() == Some(&b't') { b"#true" } else { b"#false" }),
        b',' => {
            o.extend_from_slice(b"(double) ");
            o.extend_from_slice(body);
        }
        _ => {}
    }
}

fn repr(b: &[u8]) -> String {
    crate::util::splitargs::repr(b)
}

/// A Lua value as the debugger shows it (ldbCatStackValue).
pub(crate) fn value_repr(v: &Value, level: usize, o: &mut String) {
    if level == MAX_VALUES_DEPTH {
        o.push_str("<max recursion level reached! Nested table?>");
        return;
    }
    match v {
        Value::String(s) => o.push_str(&repr(&s.as_bytes())),
        Value::Boolean(b) => o.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => o.push_str(&super::libs::cjson::format_g(*i as f64, 6)),
        Value::Number(n) => o.push_str(&number_g(*n)),
        Value::Nil => o.push_str("nil"),
        Value::Table(t) => table_repr(t, level + 1, o),
        Value::Function(_) => o.push_str(&format!("\"function@{:p}\"", v.to_pointer())),
        Value::Thread(_) => o.push_str(&format!("\"thread@{:p}\"", v.to_pointer())),
        Value::UserData(_) => o.push_str(&format!("\"userdata@{:p}\"", v.to_pointer())),
        Value::LightUserData(_) => o.push_str(&format!("\"light-userdata@{:p}\"", v.to_pointer())),
        _ => o.push_str("\"<unknown-lua-type>\""),
    }
}

/// `%g` of a number (C's spelling of the special values).
fn number_g(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf".into() } else { "inf".into() };
    }
    super::libs::cjson::format_g(n, 6)
}

/// A table: `{v1; v2}` when it is an array, `{[k]=v; ...}` otherwise.
fn table_repr(t: &Table, level: usize, o: &mut String) {
    let mut array = Vec::new();
    let mut full = Vec::new();
    let mut is_array = true;
    let mut expected = 1i64;
    for (k, v) in t.clone().pairs::<Value, Value>().flatten() {
        let idx_ok = match k {
            Value::Integer(i) => i == expected,
            Value::Number(n) => n == expected as f64,
            _ => false,
        };
        is_array &= idx_ok;
        let mut a = String::new();
        value_repr(&v, level, &mut a);
        let mut key = String::new();
        value_repr(&k, level, &mut key);
        full.push(format!("[{}]={}", key, a));
        array.push(a);
        expected += 1;
    }
    o.push('{');
    o.push_str(&if is_array { array } else { full }.join("; "));
    o.push('}');
}

/// `redis.debug(...)`: logs its arguments (in a session).
pub(crate) fn debug(lua: &Lua, args: mlua::MultiValue) -> mlua::Result<()> {
    let Some(line) = lua.app_data_ref::<Ldb>().map(|l| l.current) else { return Ok(()) };
    let parts: Vec<String> = args
        .iter()
        .map(|v| {
            let mut s = String::new();
            value_repr(v, 0, &mut s);
            s
        })
        .collect();
    log(lua, format!("<debug> line {}: {}", line, parts.join(", ")));
    Ok(())
}

/// `redis.breakpoint()`: stop at the next line (true in a session).
pub(crate) fn breakpoint(lua: &Lua, _: ()) -> mlua::Result<bool> {
    match lua.app_data_mut::<Ldb>() {
        Some(mut l) => {
            l.luabp = true;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The line hook: stops where the user asked and runs the debugger's command loop.
fn hook(lua: &Lua, dbg: mlua::Debug) -> mlua::Result<VmState> {
    let in_script = dbg.source().short_src.is_some_and(|s| s.contains("user_script"));
    let line = dbg.curr_line();
    let count_event = matches!(dbg.event(), mlua::DebugEvent::Count);
    drop(dbg);
    let reason = {
        if !in_script {
            return Ok(VmState::Continue);
        }
        let Some(mut l) = lua.app_data_mut::<Ldb>() else { return Ok(VmState::Continue) };
        l.current = line;
        let bp = l.bp.contains(&line) || l.luabp;
        let mut timeout = false;
        if count_event && !l.step && !bp {
            let limit = match l.shared.cfg().busy_reply_threshold() {
                0 => 5000,
                ms => ms.max(0) as u128,
            };
            if l.started.elapsed().as_millis() < limit {
                return Ok(VmState::Continue);
            }
            timeout = true;
            l.step = true;
        }
        if !l.step && !bp {
            return Ok(VmState::Continue);
        }
        let reason = if bp {
            if l.luabp { "redis.breakpoint() called" } else { "break point" }
        } else if timeout {
            "timeout reached, infinite loop?"
        } else {
            "step over"
        };
        l.step = false;
        l.luabp = false;
        if l.gone {
            // Nobody to ask: an endless loop would hold the server forever.
            if timeout {
                return Err(raise("ERR timeout during Lua debugging with client closing connection"));
            }
            return Ok(VmState::Continue);
        }
        l.logs.push(format!("* Stopped at {}, stop reason = {}", line, reason).into_bytes());
        (reason, timeout)
    };
    log_source_line(lua, line);
    send_logs(lua);
    let connected = repl(lua)?;
    if !connected && reason.1 {
        return Err(raise("ERR timeout during Lua debugging with client closing connection"));
    }
    if let Some(mut l) = lua.app_data_mut::<Ldb>() {
        l.started = Instant::now();
    }
    Ok(VmState::Continue)
}

/// An error that ends the script (with Redis's message).
fn raise(msg: &str) -> mlua::Error {
    mlua::Error::external(api::ScriptErr(msg.as_bytes().to_vec(), false))
}

/// Logs a source line with its markers (`->` current line, `#` breakpoint).
fn log_source_line(lua: &Lua, n: i32) {
    let Some(mut l) = lua.app_data_mut::<Ldb>() else { return };
    let text: &[u8] = match usize::try_from(n - 1).ok().and_then(|i| l.src.get(i)) {
        Some(t) => t,
        None => b"<out of range source code line>",
    };
    let prefix = match (l.current == n, l.bp.contains(&n)) {
        (true, true) => "->#",
        (true, false) => "-> ",
        (false, true) => "  #",
        (false, false) => "   ",
    };
    let mut s = format!("{}{:<3} ", prefix, n).into_bytes();
    s.extend_from_slice(text);
    l.logs.push(s);
}

/// `list`: the lines within `context` of `around` (all when `around` is 0).
fn list(lua: &Lua, around: i32, context: i32) {
    let lines = lua.app_data_ref::<Ldb>().map_or(0, |l| l.src.len() as i32);
    for j in 1..=lines {
        if around != 0 && (around - j).abs() > context {
            continue;
        }
        log_source_line(lua, j);
    }
}

/// What waiting for a command gave.
enum Input {
    Cmd(Vec<Vec<u8>>),
    /// The client is gone (or the server is shutting down).
    Gone,
}

/// Reads the next debugger command, waiting for the client.
fn next_command(lua: &Lua) -> mlua::Result<Input> {
    loop {
        let Some(mut l) = lua.app_data_mut::<Ldb>() else { return Ok(Input::Gone) };
        match parse_command(&l.cbuf) {
            Parsed::Cmd(argv) => {
                l.cbuf.clear();
                return Ok(Input::Cmd(argv));
            }
            Parsed::Error => return Err(raise("ERR protocol error")),
            Parsed::Incomplete => {}
        }
        match l.link.input.recv_timeout(Duration::from_millis(100)) {
            Ok(b) => {
                l.cbuf.extend_from_slice(&b);
                if l.cbuf.len() > MAX_CBUF {
                    l.cbuf = Vec::new();
                    return Err(raise("ERR max client buffer reached"));
                }
            }
            Err(flume::RecvTimeoutError::Timeout) => {
                let m = &l.link.meta;
                if !(l.shared.shutting_down.load(Relaxed) || m.killed.load(Relaxed) || m.eof.load(Relaxed)) {
                    continue;
                }
                return Ok(Input::Gone);
            }
            Err(flume::RecvTimeoutError::Disconnected) => return Ok(Input::Gone),
        }
    }
}

/// The outcome of parsing the input buffer.
enum Parsed {
    Cmd(Vec<Vec<u8>>),
    Incomplete,
    Error,
}

/// Redis's forgiving parser of debugger commands: `*<n>` then `n` bulk strings, each of 1 to
/// 1024 bytes, at most 1024 of them.
fn parse_command(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::Incomplete;
    }
    let Some(star) = buf.iter().position(|&b| b == b'*') else { return Parsed::Error };
    let mut p = star + 1;
    let Some(n) = take_line(buf, &mut p) else { return Parsed::Incomplete };
    let argc = atoi(n);
    if argc <= 0 || argc > 1024 {
        return Parsed::Error;
    }
    let mut argv = Vec::with_capacity(argc as usize);
    while argv.len() < argc as usize {
        match buf.get(p) {
            None => return Parsed::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parsed::Error,
        }
        p += 1;
        let Some(len) = take_line(buf, &mut p) else { return Parsed::Incomplete };
        let len = atoi(len);
        if len <= 0 || len > 1024 {
            return Parsed::Error;
        }
        let len = len as usize;
        if p + len + 2 > buf.len() {
            return Parsed::Incomplete;
        }
        argv.push(buf[p..p + len].to_vec());
        p += len;
        if &buf[p..p + 2] != b"\r\n" {
            return Parsed::Error;
        }
        p += 2;
    }
    Parsed::Cmd(argv)
}

/// The text up to the next CRLF from `p` (then past it); None when there is no CRLF yet.
fn take_line<'a>(buf: &'a [u8], p: &mut usize) -> Option<&'a [u8]> {
    let rest = &buf[*p..];
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    *p += i + 2;
    Some(&rest[..i])
}

/// C's atoi: an optional sign and the leading digits; 0 when there are none.
fn atoi(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for c in digits.bytes().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if neg { -v } else { v }
}

/// The debugger's command loop at a stop; false when the client is gone (the script then
/// runs to its end).
fn repl(lua: &Lua) -> mlua::Result<bool> {
    loop {
        let argv = match next_command(lua)? {
            Input::Cmd(a) => a,
            Input::Gone => {
                if let Some(mut l) = lua.app_data_mut::<Ldb>() {
                    l.step = false;
                    l.bp.clear();
                    l.gone = true;
                }
                return Ok(false);
            }
        };
        // Compared as C strings (up to a NUL byte), as Redis does.
        let name = argv[0].split(|&b| b == 0).next().unwrap_or(&[]).to_ascii_lowercase();
        let is = |a: &str, b: &str| name == a.as_bytes() || name == b.as_bytes();
        if is("h", "help") {
            help(lua);
        } else if is("s", "step") || is("n", "next") {
            if let Some(mut l) = lua.app_data_mut::<Ldb>() {
                l.step = true;
            }
            return Ok(true);
        } else if is("c", "continue") {
            return Ok(true);
        } else if is("t", "trace") {
            trace(lua);
        } else if is("m", "maxlen") {
            maxlen(lua, &argv);
        } else if is("b", "break") {
            breaks(lua, &argv);
        } else if is("e", "eval") {
            eval(lua, &argv);
        } else if is("a", "abort") {
            return Err(raise("ERR script aborted for user request"));
        } else if argv.len() > 1 && is("r", "redis") {
            redis(lua, &argv);
        } else if is("p", "print") {
            if argv.len() == 2 {
                print_var(lua, &argv[1]);
            } else {
                print_all(lua);
            }
        } else if is("l", "list") {
            let current = lua.app_data_ref::<Ldb>().map_or(0, |l| l.current);
            let num = argv.get(1).map_or(0, |a| atoi(a)) as i32;
            let around = if num > 0 { num } else { current };
            let ctx = argv.get(2).map_or(5, |a| atoi(a) as i32);
            list(lua, around, ctx);
        } else if is("w", "whole") {
            list(lua, 1, 1_000_000);
        } else {
            log(lua, "<error> Unknown Redis Lua debugger command or wrong number of arguments.");
        }
        send_logs(lua);
    }
}

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

fn help(lua: &Lua) {
    for l in HELP {
        log(lua, *l);
    }
}

/// `maxlen [len]`: shows or sets the length logged replies and values are cut at.
fn maxlen(lua: &Lua, argv: &[Vec<u8>]) {
    let Some(mut l) = lua.app_data_mut::<Ldb>() else { return };
    if argv.len() == 2 {
        let mut v = atoi(&argv[1]) as i32 as i64;
        l.maxlen_hint_sent = true;
        if v != 0 && v <= 60 {
            v = 60;
        }
        l.maxlen = v as usize;
    }
    let line = if l.maxlen != 0 {
        format!("<value> replies are truncated at {} bytes.", l.maxlen as i32)
    } else {
        "<value> replies are unlimited.".to_string()
    };
    l.logs.push(line.into_bytes());
}

/// `break`: lists, adds (`n`), removes (`-n`) or clears (`0`) breakpoints.
fn breaks(lua: &Lua, argv: &[Vec<u8>]) {
    if argv.len() == 1 {
        let bps = lua.app_data_ref::<Ldb>().map(|l| l.bp.clone()).unwrap_or_default();
        if bps.is_empty() {
            log(lua, "No breakpoints set. Use 'b <line>' to add one.");
        } else {
            log(lua, format!("{} breakpoints set:", bps.len()));
            for b in bps {
                log_source_line(lua, b);
            }
        }
        return;
    }
    for arg in &argv[1..] {
        let Some(line) = std::str::from_utf8(arg).ok().and_then(|s| crate::util::num::parse_i64(s.as_bytes())) else {
            log(lua, [&b"Invalid argument:'"[..], arg, b"'"].concat());
            continue;
        };
        let Some(mut l) = lua.app_data_mut::<Ldb>() else { return };
        if line == 0 {
            l.bp.clear();
            l.logs.push(b"All breakpoints removed.".to_vec());
        } else if line > 0 {
            if l.bp.len() == BREAKPOINTS_MAX {
                l.logs.push(b"Too many breakpoints set.".to_vec());
            } else if line <= l.src.len() as i64 && !l.bp.contains(&(line as i32)) {
                l.bp.push(line as i32);
                drop(l);
                list(lua, line as i32, 1);
            } else {
                l.logs.push(b"Wrong line number.".to_vec());
            }
        } else if let Some(i) = l.bp.iter().position(|&b| b as i64 == -line) {
            l.bp.remove(i);
            l.logs.push(b"Breakpoint removed.".to_vec());
        } else {
            l.logs.push(b"No breakpoint in the specified line.".to_vec());
        }
    }
}

/// `eval <code>`: runs code (as an expression first) and shows its value.
fn eval(lua: &Lua, argv: &[Vec<u8>]) {
    let code = argv[1..].join(&b' ');
    let Some(env) = lua.app_data_ref::<Ldb>().map(|l| l.env.clone()) else { return };
    let compile = |src: &[u8]| lua.load(src).set_name("@ldb_eval").set_mode(mlua::ChunkMode::Text).set_environment(env.clone()).into_function();
    let func = match compile(&[&b"return "[..], &code].concat()).or_else(|_| compile(&code)) {
        Ok(f) => f,
        Err(e) => return log(lua, format!("<error> {}", super::error_text(&e))),
    };
    match func.call::<Value>(()) {
        Ok(v) => {
            let mut s = "<retval> ".to_string();
            value_repr(&v, 0, &mut s);
            log_with_maxlen(lua, s.into_bytes());
        }
        Err(e) => {
            let text = match api::script_err(&e) {
                Some(se) => String::from_utf8_lossy(&se.0).into_owned(),
                None => super::error_text(&e),
            };
            log(lua, format!("<error> {}", text));
        }
    }
}

/// `redis <cmd...>`: runs a command through redis.call, which logs it and its reply.
fn redis(lua: &Lua, argv: &[Vec<u8>]) {
    let args: Vec<Value> = argv[1..].iter().filter_map(|a| lua.create_string(a).ok().map(Value::String)).collect();
    if let Some(mut l) = lua.app_data_mut::<Ldb>() {
        l.step = true;
    }
    let _ = api::call(lua, mlua::MultiValue::from_iter(args));
    if let Some(mut l) = lua.app_data_mut::<Ldb>() {
        l.step = false;
    }
}

/// `trace`: the script's frames, innermost first.
fn trace(lua: &Lua) {
    let mut frames = Vec::new();
    let mut level = 0;
    while let Some(d) = lua.inspect_stack(level) {
        let in_script = d.source().short_src.is_some_and(|s| s.contains("user_script"));
        if in_script {
            let name = d.names().name.map(|n| n.into_owned());
            frames.push((name, d.curr_line()));
        }
        level += 1;
    }
    if level == 0 {
        return log(lua, "<error> Can't retrieve Lua stack.");
    }
    for (i, (name, line)) in frames.into_iter().enumerate() {
        log(lua, format!("{} {}:", if i == 0 { "In" } else { "From" }, name.as_deref().unwrap_or("top level")));
        log_source_line(lua, line);
    }
}

/// The local variables of the script's frames (the innermost only unless `all`), as
/// (name, value), innermost frame first.
fn script_locals(lua: &Lua, all: bool) -> Vec<(Vec<u8>, Value)> {
    use mlua::ffi;
    // SAFETY: the closure only reads the call stack and pushes one table (exec_raw checks
    // the stack it needs and runs the closure protected).
    let res: mlua::Result<Table> = unsafe {
        lua.exec_raw((), |state| {
            ffi::lua_createtable(state, 0, 0);
            let out = ffi::lua_gettop(state);
            let mut n = 0;
            let mut level = 0;
            let mut ar: ffi::lua_Debug = std::mem::zeroed();
            while ffi::lua_getstack(state, level, &mut ar) != 0 {
                level += 1;
                ffi::lua_getinfo(state, c"S".as_ptr(), &mut ar);
                let src = std::ffi::CStr::from_ptr(ar.short_src.as_ptr());
                if !src.to_bytes().windows(11).any(|w| w == b"user_script") {
                    continue;
                }
                let mut i = 1;
                loop {
                    let name = ffi::lua_getlocal(state, &ar, i);
                    if name.is_null() {
                        break;
                    }
                    i += 1;
                    // Stack: out, value.
                    ffi::lua_pushstring(state, name);
                    n += 1;
                    ffi::lua_rawseti(state, out, n);
                    n += 1;
                    ffi::lua_rawseti(state, out, n);
                }
                if !all {
                    break;
                }
            }
            ffi::lua_pushinteger(state, n as ffi::lua_Integer);
            ffi::lua_setfield(state, out, c"n".as_ptr());
        })
    };
    let Ok(t) = res else { return Vec::new() };
    let n: i64 = t.raw_get("n").unwrap_or(0);
    let mut v = Vec::new();
    let mut i = 1;
    while i < n {
        let name: Option<mlua::String> = t.raw_get(i).ok();
        let value: Value = t.raw_get(i + 1).unwrap_or(Value::Nil);
        if let Some(name) = name {
            v.push((name.as_bytes().to_vec(), value));
        }
        i += 2;
    }
    v
}

/// `print`: the current frame's local variables.
fn print_all(lua: &Lua) {
    let mut vars = 0;
    for (name, value) in script_locals(lua, false) {
        if name.windows(12).any(|w| w == b"(*temporary)") {
            continue;
        }
        let mut s = format!("<value> {} = ", String::from_utf8_lossy(&name));
        value_repr(&value, 0, &mut s);
        log_with_maxlen(lua, s.into_bytes());
        vars += 1;
    }
    if vars == 0 {
        log(lua, "No local variables in the current context.");
    }
}

/// `print <var>`: a local variable (innermost frame first), or KEYS / ARGV.
fn print_var(lua: &Lua, var: &[u8]) {
    let found = script_locals(lua, true).into_iter().find(|(n, _)| n == var).map(|(_, v)| v);
    let value = match found {
        Some(v) => v,
        None if var == b"KEYS" || var == b"ARGV" => lua.globals().raw_get(lua.create_string(var).ok()).unwrap_or(Value::Nil),
        None => return log(lua, "No such variable."),
    };
    let mut s = "<value> ".to_string();
    value_repr(&value, 0, &mut s);
    log_with_maxlen(lua, s.into_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debugger_commands() {
        assert!(matches!(parse_command(b"*1\r\n$1\r\ns\r\n"), Parsed::Cmd(a) if a == vec![b"s".to_vec()]));
        assert!(matches!(parse_command(b"*2\r\n$1\r\ns\r\n"), Parsed::Incomplete));
        assert!(matches!(parse_command(b"*1\r\n$0\r\n\r\n"), Parsed::Error));
        assert!(matches!(parse_command(b"hello"), Parsed::Error));
        assert!(matches!(parse_command(b"*1\r\n$7\r\n\0hello\0\r\n"), Parsed::Cmd(_)));
    }

    #[test]
    fn replies_in_human_form() {
        let mut o = Vec::new();
        human_reply(b"*3\r\n$1\r\na\r\n:5\r\n$-1\r\n", &mut 0, &mut o);
        assert_eq!(o, b"[\"a\",5,NULL]");
        let mut o = Vec::new();
        human_reply(b"+OK\r\n", &mut 0, &mut o);
        assert_eq!(o, b"\"+OK\"");
    }
}
