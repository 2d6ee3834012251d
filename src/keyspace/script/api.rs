//! The `redis` table scripts see: redis.call/pcall (one raw caller, wrapped in the prelude),
//! the reply helpers, logging, RESP and replication settings; and the error handler.

use super::{convert, Run, REPL_ALL, REPL_AOF, REPL_REPLICA};
use crate::keyspace::cmd::{self, Route};
use crate::keyspace::Cmd;
use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};

const VERSION: &str = "7.0.15";
const VERSION_NUM: i64 = 0x07000f;

pub fn install(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.raw_set("REDIS_VERSION", VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", VERSION_NUM)?;
    for (name, v) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        redis.raw_set(name, v)?;
    }
    for (name, v) in [("REPL_NONE", 0), ("REPL_AOF", REPL_AOF), ("REPL_SLAVE", REPL_REPLICA), ("REPL_REPLICA", REPL_REPLICA), ("REPL_ALL", REPL_ALL)] {
        redis.raw_set(name, v)?;
    }
    redis.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
    redis.raw_set("error_reply", lua.create_function(|lua, v: Value| reply_table(lua, v, "err", "error_reply"))?)?;
    redis.raw_set("status_reply", lua.create_function(|lua, v: Value| reply_table(lua, v, "ok", "status_reply"))?)?;
    redis.raw_set("log", lua.create_function(log)?)?;
    redis.raw_set("setresp", lua.create_function(setresp)?)?;
    redis.raw_set("set_repl", lua.create_function(set_repl)?)?;
    redis.raw_set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    redis.raw_set("acl_check_cmd", lua.create_function(acl_check_cmd)?)?;
    redis.raw_set("breakpoint", lua.create_function(super::ldb::breakpoint)?)?;
    redis.raw_set("debug", lua.create_function(super::ldb::debug)?)?;
    Ok(())
}

/// The `redis` table a library's code sees while FUNCTION LOAD runs it.
pub fn load_api(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("REDIS_VERSION", VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", VERSION_NUM)?;
    for (name, v) in [("LOG_DEBUG", 0), ("LOG_VERBOSE", 1), ("LOG_NOTICE", 2), ("LOG_WARNING", 3)] {
        t.raw_set(name, v)?;
    }
    t.raw_set("log", lua.create_function(log)?)?;
    t.raw_set("register_function", lua.create_function(super::functions::register_function)?)?;
    Ok(t)
}

fn err(msg: &str) -> mlua::Error {
    mlua::Error::RuntimeError(msg.to_string())
}

fn sha1hex(_: &Lua, args: MultiValue) -> mlua::Result<String> {
    if args.len() != 1 {
        return Err(err("wrong number of arguments"));
    }
    let body = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(i) => i.to_string().into_bytes(),
        Value::Number(n) => convert::lua_number_string(*n).into_bytes(),
        _ => Vec::new(),
    };
    Ok(super::sha1_hex(&body))
}

/// redis.error_reply / redis.status_reply: `{err=msg}` / `{ok=msg}`.
fn reply_table(lua: &Lua, v: Value, field: &str, _name: &str) -> mlua::Result<Table> {
    let Value::String(s) = v else {
        return Err(err("wrong number or type of arguments"));
    };
    let t = lua.create_table()?;
    let b = s.as_bytes();
    // As Redis: the first word is the error code (a leading '-' dropped); a message of one
    // word gets the generic ERR code.
    let text: Vec<u8> = if field == "err" {
        let rest = b.strip_prefix(b"-").unwrap_or(&b);
        if rest.contains(&b' ') {
            rest.to_vec()
        } else {
            [&b"ERR "[..], rest].concat()
        }
    } else {
        b.to_vec()
    };
    t.raw_set(field, lua.create_string(&text)?)?;
    Ok(t)
}

fn log(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(err("redis.log() requires two arguments or more."));
    }
    let Value::Integer(level) = args[0] else {
        return Err(err("First argument must be a number (log level)."));
    };
    if !(0..=3).contains(&level) {
        return Err(err("Invalid debug level."));
    }
    let mut msg = String::new();
    for (i, a) in args.iter().skip(1).enumerate() {
        if i > 0 {
            msg.push(' ');
        }
        match a {
            Value::String(s) => msg.push_str(&s.to_string_lossy()),
            Value::Integer(n) => msg.push_str(&n.to_string()),
            Value::Number(n) => msg.push_str(&convert::lua_number_string(*n)),
            _ => {}
        }
    }
    // SAFETY: dropped before returning (logging does not call into Lua).
    if let Some(run) = unsafe { super::running() } {
        // SAFETY: see KsPtr; the keyspace is alive for the whole run.
        let ks = unsafe { &*run.ks.0 };
        let lg = &ks.shared().log;
        match level {
            0 => crate::debug!(lg, "{}", msg),
            1 => crate::verbose!(lg, "{}", msg),
            2 => crate::notice!(lg, "{}", msg),
            _ => crate::warning!(lg, "{}", msg),
        }
    }
    Ok(())
}

fn setresp(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(err("redis.setresp() requires one argument."));
    }
    let v = match args[0] {
        Value::Integer(i) => i,
        Value::Number(n) => n as i64,
        _ => 0,
    };
    if v != 2 && v != 3 {
        return Err(err("RESP version must be 2 or 3."));
    }
    // SAFETY: dropped at once.
    if let Some(run) = unsafe { super::running() } {
        run.resp = v as u8;
    }
    Ok(())
}

fn set_repl(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() != 1 {
        return Err(err("redis.set_repl() requires one argument."));
    }
    let v = match args[0] {
        Value::Integer(i) => i,
        Value::Number(n) => n as i64,
        _ => -1,
    };
    if !(0..=3).contains(&v) {
        return Err(err("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."));
    }
    // SAFETY: dropped at once.
    if let Some(run) = unsafe { super::running() } {
        run.repl = v as u8;
    }
    Ok(())
}

/// An argument of redis.call as Redis takes it: strings as they are, numbers in Lua's
/// `%.14g` form.
fn arg_bytes(v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        // Lua 5.1's numbers are doubles: an "integer" is one mlua found integral.
        Value::Integer(i) => Some(Bytes::from(crate::rdb::fmt_g17(*i as f64))),
        Value::Number(n) => Some(Bytes::from(crate::rdb::fmt_g17(*n))),
        _ => None,
    }
}

/// An error redis.call raises: its message travels to the error handler (or to pcall) as
/// the error's cause.
#[derive(Debug)]
pub struct ScriptErr(pub Vec<u8>, pub bool);
impl std::fmt::Display for ScriptErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}
impl std::error::Error for ScriptErr {}

/// The ScriptErr inside an mlua error, if it is one.
pub fn script_err(e: &mlua::Error) -> Option<&ScriptErr> {
    match e {
        mlua::Error::CallbackError { cause, .. } => script_err(cause),
        mlua::Error::ExternalError(x) => x.downcast_ref::<ScriptErr>(),
        _ => None,
    }
}

pub(super) fn raise(v: Value) -> mlua::Error {
    let (msg, counted) = match &v {
        Value::Table(t) => (t.raw_get::<mlua::String>("err").map(|s| s.as_bytes().to_vec()).unwrap_or_default(), convert::stats_counted(t)),
        _ => (Vec::new(), false),
    };
    // The flag travels with the error: the script's final error reply is not counted twice.
    mlua::Error::external(ScriptErr(msg, counted))
}

/// redis.call: the reply, or the command's error raised.
pub fn call(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    match raw_call(lua, args)? {
        (0, v) => Ok(v),
        (_, v) => Err(raise(v)),
    }
}

/// redis.pcall: the reply or the error table; argument errors are raised.
pub fn pcall(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    match raw_call(lua, args)? {
        (2, v) => Err(raise(v)),
        (_, v) => Ok(v),
    }
}

/// An error value's text as pcall gives it to scripts.
pub fn err_text(lua: &Lua, e: Value) -> mlua::Result<Value> {
    Ok(match e {
        Value::Error(e) => {
            let text = match (script_err(&e), super::libs::lib_err(&e)) {
                (Some(s), _) => s.0.clone(),
                (_, Some(l)) => l.0.clone().into_bytes(),
                _ => super::error_text(&e).into_bytes(),
            };
            Value::String(lua.create_string(&text)?)
        }
        v => v,
    })
}

/// The error table redis.call raises and redis.pcall returns.
fn error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(msg)?)?;
    Ok(Value::Table(t))
}

/// Status codes of the raw caller: 0 reply, 1 error reply, 2 error raised even by pcall.
fn status(lua: &Lua, code: i64, msg: &str) -> mlua::Result<(i64, Value)> {
    Ok((code, error_table(lua, msg.as_bytes())?))
}

/// An error table for an error already counted in INFO errorstats (see
/// [`convert::STATS_COUNTED`]).
pub(super) fn counted_error_table(lua: &Lua, msg: &[u8]) -> mlua::Result<Value> {
    let t = error_table(lua, msg)?;
    if let Value::Table(t) = &t {
        t.raw_set(convert::STATS_COUNTED, true)?;
    }
    Ok(t)
}

/// A command refused from a script: counted as an error reply now, as Redis counts its
/// script-call refusals, and handed to the script as an error reply.
fn refused(lua: &Lua, msg: &str) -> mlua::Result<(i64, Value)> {
    // SAFETY: dropped before the error table is made.
    if let Some(run) = unsafe { super::running() } {
        // SAFETY: see KsPtr; the keyspace is alive for the whole run.
        let ks = unsafe { &*run.ks.0 };
        ks.shared().errorstats.record_one(msg.as_bytes());
    }
    Ok((1, counted_error_table(lua, msg.as_bytes())?))
}

/// A known command refused from a script: [`refused`], and counted in the command's
/// `rejected_calls`, as Redis's scriptCall does.
fn rejected(lua: &Lua, spec: &cmd::CommandSpec, argv: &[Bytes], msg: &str) -> mlua::Result<(i64, Value)> {
    // SAFETY: dropped before `refused` takes it again.
    if let Some(run) = unsafe { super::running() } {
        // SAFETY: see KsPtr; the keyspace is alive for the whole run.
        let ks = unsafe { &*run.ks.0 };
        cmd::stat(ks.shared(), spec, argv).rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    refused(lua, msg)
}

/// `redis.acl_check_cmd(command, args...)`: whether the script's caller (its ACL user) may
/// run the command with these arguments (keys and channels included); an unknown command
/// raises an error, as Redis.
fn acl_check_cmd(_: &Lua, args: MultiValue) -> mlua::Result<bool> {
    let raise_text = |msg: &str| mlua::Error::external(ScriptErr(msg.as_bytes().to_vec(), false));
    if args.is_empty() {
        return Err(raise_text("ERR Please specify at least one argument for this redis lib call"));
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        match arg_bytes(a) {
            Some(b) => argv.push(b),
            None => return Err(raise_text("ERR Lua redis lib command arguments must be strings or integers")),
        }
    }
    let Some(spec) = cmd::lookup(&argv[0]).filter(|s| s.arity_ok(argv.len())) else {
        return Err(raise_text("ERR Invalid command passed to redis.acl_check_cmd()"));
    };
    // SAFETY: dropped before returning.
    let Some(run) = (unsafe { super::running() }) else {
        return Err(raise_text("ERR redis.acl_check_cmd can only be called inside a script invocation"));
    };
    // SAFETY: see KsPtr; the keyspace is alive for the whole run and only read here.
    let ks = unsafe { &*run.ks.0 };
    Ok(ks.script_acl_refusal(run.client_id, spec, &argv).is_none())
}

/// redis.call/pcall's work: checks, runs the command in the keyspace, converts its reply.
/// In a debugging session that steps, the command and its reply (or error) are logged.
pub fn raw_call(lua: &Lua, args: MultiValue) -> mlua::Result<(i64, Value)> {
    if !super::ldb::logging(lua) {
        return run_call(lua, args, false);
    }
    let r = run_call(lua, args, true)?;
    if r.0 != 0 {
        if let Value::Table(t) = &r.1 {
            if !t.contains_key(LOGGED).unwrap_or(false) {
                let msg = t.raw_get::<mlua::String>("err").map(|s| s.as_bytes().to_vec()).unwrap_or_default();
                super::ldb::log_error(lua, &msg);
            }
            let _ = t.raw_set(LOGGED, Value::Nil);
        }
    }
    Ok(r)
}

/// Runs a command for the script of `run` (in its db, as its client, its effects kept or
/// dropped as redis.set_repl says) and returns the reply.
pub(super) fn execute(ks: &mut crate::keyspace::Keyspace, run: &mut Run, cmd: Cmd) -> bytes::BytesMut {
    let mut out = super::script_out(run.resp);
    let mut db = run.db;
    let txn_mark = ks.feed.txn_len();
    let _ = ks.call(&cmd, &mut db, run.client_id, &mut out, true);
    if run.repl & REPL_REPLICA == 0 {
        ks.feed.txn_truncate(txn_mark);
    }
    run.db = db;
    out.buf
}

/// Marks an error reply already logged as a reply (the debugger logs other errors).
const LOGGED: &str = "ldb_logged";

fn run_call(lua: &Lua, args: MultiValue, logging: bool) -> mlua::Result<(i64, Value)> {
    // SAFETY: dropped at once.
    if unsafe { super::running() }.is_none() {
        return status(lua, 2, "ERR redis.call can only be called inside a script invocation");
    }
    if args.is_empty() {
        return status(lua, 2, "ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for a in args.iter() {
        match arg_bytes(a) {
            Some(b) => argv.push(b),
            None => return status(lua, 2, "ERR Lua redis lib command arguments must be strings or integers"),
        }
    }
    if logging {
        super::ldb::log_command(lua, &argv);
    }
    let Some(spec) = cmd::lookup(&argv[0]) else {
        // CLUSTER is a command Redis has (refused in scripts); tandem has no cluster mode.
        if argv[0].eq_ignore_ascii_case(b"cluster") {
            return refused(lua, "ERR This Redis command is not allowed from script");
        }
        return refused(lua, "ERR Unknown Redis command called from script");
    };
    if !spec.arity_ok(argv.len()) {
        return rejected(lua, spec, &argv, "ERR Wrong number of args calling Redis command from script");
    }
    // SAFETY: dropped (or no longer used) before anything else takes it or calls into Lua.
    let Some(run) = (unsafe { super::running() }) else {
        return status(lua, 2, "ERR redis.call can only be called inside a script invocation");
    };
    // SAFETY: see KsPtr: the keyspace set this pointer for the run in progress and does not
    // touch itself until the Lua call returns.
    let ks = unsafe { &mut *run.ks.0 };
    if let Some(e) = ks.script_acl_refusal(run.client_id, spec, &argv) {
        return status(lua, 1, &e);
    }
    if !spec.has(cmd::STALE) && ks.running_stale() {
        return rejected(lua, spec, &argv, "ERR Can not execute the command on a stale replica");
    }
    let denied = spec.has(cmd::NOSCRIPT) && !(ks.scripting.disable_deny && spec.name != "eval" && spec.name != "fcall");
    // DEBUG SET-DISABLE-DENY-SCRIPTS (a test hook of Redis's): CLIENT LIST, which runs in
    // the connection's actor, is answered here from the shared client table.
    if !denied && spec.name == "client" && argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"list") {
        let text = crate::keyspace::cmd::clients::list_text(ks.shared(), None, None);
        return Ok((0, Value::String(lua.create_string(&text)?)));
    }
    if denied || matches!(spec.route, Route::Client) {
        return rejected(lua, spec, &argv, "ERR This Redis command is not allowed from script");
    }
    // Commands that may propagate (PUBLISH, PFCOUNT) count as writes here, as in Redis.
    if run.read_only && (spec.is_write() || spec.has(cmd::MAY_REPLICATE)) {
        return rejected(lua, spec, &argv, "ERR Write commands are not allowed from read-only scripts.");
    }
    if spec.is_write() {
        if let Some(e) = ks.script_write_refusal(spec, run) {
                return rejected(lua, spec, &argv, e);
        }
        run.wrote = true;
    }
    let buf = execute(ks, run, Cmd { spec, argv: argv.into() });
    if logging {
        // As Redis: an error reply is logged as an error, then as the reply.
        if buf.first() == Some(&b'-') {
            super::ldb::log_error(lua, &buf[..buf.len().saturating_sub(2)]);
        }
        super::ldb::log_reply(lua, &buf);
    }
    if buf.first() == Some(&b'-') {
        let end = buf.len().saturating_sub(2);
        // Counted when the command failed.
        let t = counted_error_table(lua, &buf[1..end])?;
        if let (true, Value::Table(t)) = (logging, &t) {
            t.raw_set(LOGGED, true)?;
        }
        return Ok((1, t));
    }
    let mut pos = 0;
    Ok((0, convert::resp_to_lua(lua, &buf, &mut pos)?))
}

/// The error handler every script runs under: makes the error a table with `err`, and adds
/// where the script was when it failed (`source`, `line`).
pub fn error_handler(lua: &Lua, e: Value) -> mlua::Result<Value> {
    let lib_error = match &e {
        Value::Error(x) => super::libs::lib_err(x).map(|l| l.0.clone()),
        _ => None,
    };
    let t = match e {
        Value::Table(t) => t,
        Value::Error(ref x) if script_err(x).is_some() => {
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(&script_err(x).map(|s| s.0.clone()).unwrap_or_default())?)?;
            if script_err(x).is_some_and(|s| s.1) {
                t.raw_set(convert::STATS_COUNTED, true)?;
            }
            t
        }
        other => {
            let text = match &other {
                Value::String(s) => s.to_string_lossy().to_string(),
                Value::Error(e) => super::error_text(e),
                Value::Nil => "nil".to_string(),
                Value::Integer(i) => i.to_string(),
                Value::Number(n) => convert::lua_number_string(*n),
                v => format!("{:?}", v.type_name()),
            };
            let t = lua.create_table()?;
            t.raw_set("err", format!("ERR {}", text))?;
            t
        }
    };
    for level in 1..64 {
        let Some(dbg) = lua.inspect_stack(level) else { break };
        let src = dbg.source();
        if src.what == "C" || src.source.as_deref() == Some("=tandem") {
            continue;
        }
        if let Some(s) = src.source {
            t.raw_set("source", s.to_string())?;
            t.raw_set("line", dbg.curr_line())?;
            if let Some(le) = lib_error {
                let short = s.strip_prefix('@').unwrap_or(&s);
                t.raw_set("err", format!("ERR {}:{}: {}", short, dbg.curr_line(), le))?;
            }
        }
        break;
    }
    Ok(Value::Table(t))
}
