//! Lua scripting (EVAL and FUNCTION), run inside the keyspace actor.
//!
//! The Lua state belongs to the keyspace actor: a script runs within the actor's turn, so it
//! is atomic as in Redis, and `redis.call` runs commands straight against the keyspace (the
//! same `call` a client's command goes through). While a script runs, its [`Run`] (pointing
//! back at the keyspace) is reachable through [`running`]; the callbacks reach the keyspace
//! through it. Effects are collected by the feed's transaction buffer and leave wrapped in MULTI/EXEC
//! when there are several, as Redis 7.0 propagates script effects.

mod api;
mod convert;
mod fastcall;
pub mod eval;
pub mod functions;
pub mod ldb;
pub mod libs;

use crate::keyspace::Keyspace;
use crate::resp::Out;
use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};
use std::collections::HashMap;
use std::time::Instant;

/// Script flags (shebang `flags=` and `register_function` flags).
pub const NO_WRITES: u32 = 1;
pub const ALLOW_OOM: u32 = 2;
pub const ALLOW_STALE: u32 = 4;
pub const NO_CLUSTER: u32 = 8;
pub const ALLOW_CROSS_SLOT: u32 = 16;
/// The script has a shebang (flags were declared; without it, EVAL keeps its pre-7.0 rules).
pub const HAS_SHEBANG: u32 = 1 << 8;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (NO_WRITES, "no-writes"),
    (ALLOW_OOM, "allow-oom"),
    (ALLOW_STALE, "allow-stale"),
    (NO_CLUSTER, "no-cluster"),
    (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

/// `redis.set_repl` targets.
pub const REPL_AOF: u8 = 1;
pub const REPL_REPLICA: u8 = 2;
pub const REPL_ALL: u8 = 3;

/// A pointer to the keyspace running the script (set for the length of one run).
pub(crate) struct KsPtr(pub *mut Keyspace);
// The pointer is only dereferenced on the keyspace actor's thread, during the run that set it.
unsafe impl Send for KsPtr {}

thread_local! {
    /// The running script's [`Run`], set by [`RunGuard`] for the length of one run (scripts
    /// run synchronously on the keyspace's thread, so one thread runs one script at a time).
    static RUNNING: std::cell::Cell<*mut Run> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// Makes a run the running script until dropped (the previous one, if any, afterwards).
struct RunGuard(*mut Run);

impl RunGuard {
    fn new(run: *mut Run) -> RunGuard {
        RunGuard(RUNNING.with(|c| c.replace(run)))
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.with(|c| c.set(self.0));
    }
}

/// The running script's state, None outside a run.
///
/// # Safety
/// The reference must be dropped before anything that can call [`running`] again (a call
/// into Lua, a callback): one reference at a time.
pub(super) unsafe fn running<'a>() -> Option<&'a mut Run> {
    let p = RUNNING.with(|c| c.get());
    // SAFETY: set by RunGuard to a Run alive for the guard's length; see the contract.
    unsafe { p.as_mut() }
}

/// The state of the running script (see [`running`]).
pub(crate) struct Run {
    pub ks: KsPtr,
    pub db: usize,
    pub client_id: u64,
    /// RESP version of the replies redis.call converts (redis.setresp).
    pub resp: u8,
    /// EVAL_RO, FCALL_RO, or a `no-writes` script.
    pub read_only: bool,
    pub flags: u32,
    /// Where effects go (redis.set_repl).
    pub repl: u8,
    /// The script wrote to the dataset.
    pub wrote: bool,
    /// Memory was over maxmemory when the script started.
    pub oom_at_start: bool,
    pub started: Instant,
    /// The script's name in error messages: its SHA1 or the function's name.
    pub name: String,
    /// A function (FCALL), not an EVAL script.
    pub is_function: bool,
    /// The FCALL command (FUNCTION STATS shows it while the function is busy).
    pub argv: Vec<Bytes>,
    /// busy-reply-threshold in ms (0: never busy).
    pub busy_after_ms: u64,
    /// Past the threshold: the connections answer -BUSY.
    pub busy: bool,
    /// SCRIPT KILL / FUNCTION KILL stopped it: every pcall re-raises.
    pub killed: bool,
    /// The reply of a command redis.call ran, left for the finisher (see fastcall).
    pub pending: Option<bytes::BytesMut>,
    /// A debugging session runs the script (redis.call logs: no fast path).
    pub ldb: bool,
}

/// The error a killed script ends with.
fn kill_error(_run: &Run) -> mlua::Error {
    // Redis 7.0 says SCRIPT KILL for a function stopped by FUNCTION KILL too.
    mlua::Error::external(api::ScriptErr(b"ERR Script killed by user with SCRIPT KILL...".to_vec(), false))
}

/// Runs every 100,000 Lua instructions: past busy-reply-threshold the script is published as
/// busy (and an executor thread lent, so the connections answer -BUSY), then a kill request
/// is honoured while the script has not written.
fn busy_hook(lua: &Lua, _: mlua::Debug) -> mlua::Result<mlua::VmState> {
    // SAFETY: dropped before returning to Lua.
    let Some(run) = (unsafe { running() }) else {
        if functions::load_timed_out(lua) {
            return Err(mlua::Error::RuntimeError("FUNCTION LOAD timeout".into()));
        }
        return Ok(mlua::VmState::Continue);
    };
    if run.killed {
        return Err(kill_error(run));
    }
    // SAFETY: see KsPtr.
    let ks = unsafe { &*run.ks.0 };
    let sh = ks.shared().clone();
    if !run.busy {
        if run.busy_after_ms == 0 || (run.started.elapsed().as_millis() as u64) < run.busy_after_ms {
            return Ok(mlua::VmState::Continue);
        }
        run.busy = true;
        crate::warning!(sh.log, "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
            run.started.elapsed().as_millis(), if run.is_function { "FUNCTION KILL" } else { "SCRIPT KILL" }, run.name);
        sh.script.wrote.store(run.wrote, std::sync::atomic::Ordering::SeqCst);
        sh.script.client.store(run.client_id, std::sync::atomic::Ordering::SeqCst);
        if run.is_function {
            // What FUNCTION STATS shows while the function is busy (the connections answer it).
            let running = crate::shared::RunningScript {
                name: run.name.clone(),
                argv: run.argv.clone(),
                started: run.started,
                libraries: ks.scripting.libs.library_count() as u64,
                functions: ks.scripting.libs.function_count() as u64,
            };
            *sh.script.running.lock().unwrap_or_else(|e| e.into_inner()) = Some(running);
        }
        sh.script.busy.store(if run.is_function { 2 } else { 1 }, std::sync::atomic::Ordering::SeqCst);
        sh.script.turned_busy.notify_all();
        crate::rt::lend_executor_thread();
    }
    sh.script.wrote.store(run.wrote, std::sync::atomic::Ordering::SeqCst);
    if sh.script.kill.swap(false, std::sync::atomic::Ordering::SeqCst) && !run.wrote {
        run.killed = true;
        crate::warning!(sh.log, "Script killed by user with {} KILL...", if run.is_function { "FUNCTION" } else { "SCRIPT" });
        return Err(kill_error(run));
    }
    Ok(mlua::VmState::Continue)
}

/// Whether the running script was killed (the sandbox's pcall then re-raises).
fn killed(_: &Lua, _: ()) -> mlua::Result<bool> {
    // SAFETY: read and dropped at once.
    Ok(unsafe { running() }.is_some_and(|r| r.killed))
}

/// One Lua state with its sandbox (shared through an `Arc`).
pub(crate) struct Engine {
    pub lua: Lua,
    /// The scripts' global environment (read-only).
    pub env: Table,
    /// `run(f, a, b)`: f(a, b) under the error handler.
    pub runner: Function,
    /// The runner in the registry, for [`enter`].
    runner_key: mlua::RegistryKey,
    /// The Lua state itself, for [`call_entry`] (mlua's main state: scripts are never run
    /// from inside a Lua callback).
    state: RawState,
    /// `set_loading(on)`: the globals become the library-loading API (FUNCTION LOAD).
    pub set_loading: Function,
    /// Runs since the last explicit garbage-collection step.
    pub runs: std::sync::atomic::AtomicU32,
}

impl Engine {
    pub fn new() -> mlua::Result<Engine> {
        let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
        let globals = lua.globals();
        let redis = lua.create_table()?;
        api::install(&lua, &redis)?;
        globals.raw_set("redis", redis.clone())?;
        libs::install(&lua, &globals)?;
        // redis.call/pcall are C functions that hand the rare cases to these (fastcall).
        lua.set_named_registry_value(fastcall::SLOW_CALL.to_str().unwrap_or_default(), lua.create_function(api::call)?)?;
        lua.set_named_registry_value(fastcall::SLOW_PCALL.to_str().unwrap_or_default(), lua.create_function(api::pcall)?)?;
        lua.set_named_registry_value(fastcall::FINISH_CALL.to_str().unwrap_or_default(), lua.create_function(|lua, ()| fastcall::finish(lua, true))?)?;
        lua.set_named_registry_value(fastcall::FINISH_PCALL.to_str().unwrap_or_default(), lua.create_function(|lua, ()| fastcall::finish(lua, false))?)?;
        // SAFETY: both follow the C function protocol (see fastcall).
        redis.raw_set("call", unsafe { lua.create_c_function(fastcall::call)? })?;
        redis.raw_set("pcall", unsafe { lua.create_c_function(fastcall::pcall)? })?;
        let err_text = lua.create_function(api::err_text)?;
        let killed = lua.create_function(killed)?;
        lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), busy_hook);
        let handler = lua.create_function(api::error_handler)?;
        let load_api = lua.create_table()?;
        load_api.raw_set("redis", api::load_api(&lua)?)?;
        let prelude = lua.load(include_str!("prelude.lua")).set_name("=tandem").into_function()?;
        let (env, runner, set_loading): (Table, Function, Function) = prelude.call((err_text, handler, load_api, killed))?;
        let runner_key = lua.create_registry_value(runner.clone())?;
        // SAFETY: `enter` follows the C function protocol (see its comment).
        let entry = unsafe { lua.create_c_function(enter)? };
        lua.set_named_registry_value(ENTRY.to_str().unwrap_or_default(), entry)?;
        let mut state = std::ptr::null_mut();
        // SAFETY: only reads the state pointer.
        unsafe { lua.exec_raw::<()>((), |s| state = s)? };
        Ok(Engine { lua, env, runner, runner_key, state: RawState(state), set_loading, runs: Default::default() })
    }

    /// Compiles a script body as Redis names it (`@user_script`) in the sandbox.
    pub fn compile(&self, body: &[u8], chunk: &str) -> Result<Function, String> {
        self.lua
            .load(body)
            .set_name(chunk)
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| error_text(&e))
    }
}

/// A cached EVAL script.
pub(crate) struct Script {
    /// In the registry: a handle per cached script would take a slot of Lua's C stack each.
    pub func: mlua::RegistryKey,
    pub body: Bytes,
    pub flags: u32,
}

/// The keyspace's scripting state: the EVAL engine and its script cache, the function
/// libraries and their engine.
pub struct Scripting {
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript` commands.
    pub disable_deny: bool,
    /// Shared with the run in progress (one count, not four Lua handles, per EVAL).
    eval: Option<std::sync::Arc<Engine>>,
    scripts: HashMap<String, Script, ahash::RandomState>,
    pub(crate) libs: functions::Libraries,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting { disable_deny: false, eval: None, scripts: HashMap::default(), libs: Default::default() }
    }
}

impl Scripting {
    /// The flags a script command runs with when it declared them (a shebang, a registered
    /// function), as Redis's evalGetCommandFlags / fcallGetCommandFlags read them before the
    /// command runs; None: no declared flags (a pre-7.0 script, an unknown SHA or function).
    pub fn declared_flags(&self, argv: &[Bytes]) -> Option<u32> {
        let name = String::from_utf8_lossy(argv.first()?).to_ascii_lowercase();
        let flags = match name.as_str() {
            "eval" | "eval_ro" => match self.scripts.get(&sha1_hex(argv.get(1)?)) {
                Some(s) => s.flags,
                None => parse_shebang(argv.get(1)?, false).ok()??.0,
            },
            "evalsha" | "evalsha_ro" => self.scripts.get(&String::from_utf8_lossy(argv.get(1)?).to_ascii_lowercase())?.flags,
            "fcall" | "fcall_ro" => self.libs.find(&String::from_utf8_lossy(argv.get(1)?))?.flags,
            _ => return None,
        };
        (flags & HAS_SHEBANG != 0).then_some(flags)
    }

    /// The EVAL engine, made on first use.
    pub(crate) fn eval_engine(&mut self) -> Result<&std::sync::Arc<Engine>, String> {
        if self.eval.is_none() {
            self.eval = Some(std::sync::Arc::new(Engine::new().map_err(|e| format!("ERR failed to start Lua: {}", e))?));
        }
        Ok(self.eval.as_ref().expect("engine"))
    }

    /// SCRIPT FLUSH: a new Lua state, no cached scripts.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.eval = None;
    }

    pub fn memory(&self) -> usize {
        self.eval.as_ref().map_or(0, |e| e.lua.used_memory())
    }

    /// Bytes of cached script bodies (INFO used_memory_scripts).
    pub fn scripts_bytes(&self) -> usize {
        self.scripts.values().map(|s| s.body.len() + 40).sum()
    }

    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }
}

impl Keyspace {
    /// Whether a script is running (its commands see frozen time and ordered SORT output).
    pub fn in_script(&self) -> bool {
        self.script_time.is_some()
    }
}

/// The text of a Lua error (compile errors and errors raised from Rust).
pub(crate) fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::ExternalError(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// What a run calls: a script function (in the registry) and its keys and arguments.
pub(crate) struct Call<'a> {
    /// The function's registry id (it stays registered for the run: SCRIPT FLUSH and
    /// FUNCTION DELETE cannot run from a script).
    pub func: i64,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// A function (FCALL) takes them as arguments; an EVAL script finds them in the
    /// globals KEYS and ARGV.
    pub as_args: bool,
}

/// The frame [`enter`] reads (a light userdata pointing at it is its one argument).
struct Entry<'a> {
    runner: i64,
    func: i64,
    keys: &'a [Bytes],
    argv: &'a [Bytes],
    as_args: bool,
}

/// The Lua state of an [`Engine`].
struct RawState(*mut mlua::ffi::lua_State);
// SAFETY: used only by the thread running a script, while the engine is alive (as the Lua
// it belongs to, which mlua's `send` feature makes Send).
unsafe impl Send for RawState {}
unsafe impl Sync for RawState {}

/// Registry names: [`enter`], and where [`call_entry`] leaves a result for mlua to take.
const ENTRY: &std::ffi::CStr = c"tandem.enter";
const RESULT: &std::ffi::CStr = c"tandem.result";

/// What a run returned.
enum Returned {
    /// A plain value, already written as the reply.
    Written,
    /// (ok, value) for the mlua conversion.
    Value(bool, Value),
}

/// Calls [`enter`] with a raw `lua_pcall` (mlua's call pushes an error-handler closure per
/// call, garbage for the collector, and holds handles to the results). A plain result
/// (number, string, nil) is written to `out` straight from the stack, as
/// `convert::lua_to_resp` writes it; any other goes through the registry to mlua.
fn call_entry(engine: &Engine, entry: &Entry, out: &mut crate::resp::reply::Out) -> mlua::Result<Returned> {
    use mlua::ffi;
    let state = engine.state.0;
    // SAFETY: the engine's own state, not inside a callback; the stack is put back as found.
    let ok = unsafe {
        let top = ffi::lua_gettop(state);
        if ffi::lua_checkstack(state, 4) == 0 {
            return Err(mlua::Error::StackError);
        }
        ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, ENTRY.as_ptr());
        ffi::lua_pushlightuserdata(state, entry as *const Entry as *mut std::ffi::c_void);
        if ffi::lua_pcall(state, 1, 2, 0) != 0 {
            let mut len = 0usize;
            let p = ffi::lua_tolstring(state, -1, &mut len);
            let msg = if p.is_null() { String::from("error in the script runner") } else { String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned() };
            ffi::lua_settop(state, top);
            return Err(mlua::Error::RuntimeError(msg));
        }
        let ok = ffi::lua_toboolean(state, -2) != 0;
        let written = ok
            && match ffi::lua_type(state, -1) {
                ffi::LUA_TNUMBER => {
                    out.int(convert::to_i64(ffi::lua_tonumber(state, -1)));
                    true
                }
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(state, -1, &mut len);
                    out.bulk(std::slice::from_raw_parts(p as *const u8, len));
                    true
                }
                ffi::LUA_TNIL => {
                    out.null();
                    true
                }
                _ => false,
            };
        if written {
            ffi::lua_settop(state, top);
            return Ok(Returned::Written);
        }
        ffi::lua_setfield(state, ffi::LUA_REGISTRYINDEX, RESULT.as_ptr());
        ffi::lua_settop(state, top);
        ok
    };
    let v: Value = engine.lua.named_registry_value(RESULT.to_str().unwrap_or_default())?;
    engine.lua.unset_named_registry_value(RESULT.to_str().unwrap_or_default())?;
    Ok(Returned::Value(ok, v))
}

/// Calls the runner with a script function and its keys and arguments, building the Lua
/// tables straight on the stack: one call into Lua per run, no handle per string. Returns
/// the runner's two results (ok, value).
///
/// Errors raised here (out of memory) unwind through this frame, which owns nothing to drop.
unsafe extern "C-unwind" fn enter(state: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
    use mlua::ffi;
    unsafe fn push_seq(state: *mut ffi::lua_State, items: &[Bytes]) {
        ffi::lua_createtable(state, items.len() as i32, 0);
        for (i, item) in items.iter().enumerate() {
            ffi::lua_pushlstring(state, item.as_ptr() as *const _, item.len());
            ffi::lua_rawseti(state, -2, i as i64 + 1);
        }
    }
    let e = &*(ffi::lua_touserdata(state, 1) as *const Entry);
    ffi::lua_settop(state, 0);
    ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, e.runner);
    ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, e.func);
    push_seq(state, e.keys);
    push_seq(state, e.argv);
    if e.as_args {
        ffi::lua_call(state, 3, 2);
    } else {
        ffi::lua_setfield(state, ffi::LUA_GLOBALSINDEX, c"ARGV".as_ptr());
        ffi::lua_setfield(state, ffi::LUA_GLOBALSINDEX, c"KEYS".as_ptr());
        ffi::lua_call(state, 1, 2);
    }
    2
}

/// Runs a script function for a client: sets up [`Run`], wraps effects in one transaction,
/// writes the reply (or the error with Redis's ` script: <name>, on <source>:<line>.` suffix).
pub(crate) fn run_script(ks: &mut Keyspace, ctx: &mut crate::keyspace::Ctx, engine: &Engine, call: Call, mut run: Run) {
    let lua = &engine.lua;
    run.ks = KsPtr(ks as *mut Keyspace);
    run.busy_after_ms = ks.shared().hot.busy_reply_threshold.load(std::sync::atomic::Ordering::Relaxed);
    ks.shared().script.kill.store(false, std::sync::atomic::Ordering::SeqCst);
    run.ldb = ks.ldb_session;
    let guard = RunGuard::new(&mut run);
    // Time stands still inside a script (keys do not expire halfway), as in Redis.
    let outer_time = ks.script_time.replace(ctx.now);
    ks.feed.begin_txn();
    let mark = ks.feed.txn_len();
    let entry = Entry { runner: engine.runner_key.id() as i64, func: call.func, keys: call.keys, argv: call.argv, as_args: call.as_args };
    let result = call_entry(engine, &entry, ctx.out);
    drop(guard);
    // A debugging session of SCRIPT DEBUG YES: its effects are rolled back, never propagated.
    if ks.ldb_discard {
        ks.feed.txn_truncate(mark);
    }
    ks.feed.end_txn();
    ks.script_time = outer_time;
    if run.busy {
        let sc = &ks.shared().script;
        sc.busy.store(0, std::sync::atomic::Ordering::SeqCst);
        sc.kill.store(false, std::sync::atomic::Ordering::SeqCst);
        *sc.running.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    let name = &run.name;
    let lua_resp3 = run.resp == 3;
    match result {
        Ok(Returned::Written) => {}
        Ok(Returned::Value(true, v)) => {
            // A returned error table (redis.pcall's) makes the script's call a failed one,
            // whether or not its error was counted when the command failed.
            if let Value::Table(t) = &v {
                if convert::stats_counted(t) && t.raw_get::<Value>("err").is_ok_and(|e| !e.is_nil()) {
                    ctx.failed = true;
                }
            }
            convert::lua_to_resp(&lua, &v, ctx.out, lua_resp3)
        }
        Ok(Returned::Value(false, e)) => {
            let msg = convert::error_reply(&e, name);
            if matches!(&e, Value::Table(t) if convert::stats_counted(t)) {
                ctx.failed = true;
                ctx.out.error_uncounted(msg);
            } else {
                ctx.error(msg);
            }
        }
        Err(e) => ctx.error(format!("ERR {}", error_text(&e))),
    }
    // Lua's garbage is collected in steps besides the collector's own pace: a step of 50
    // every 50 runs, as Redis does (a step per run costs more than it collects).
    let runs = engine.runs.load(std::sync::atomic::Ordering::Relaxed) + 1;
    engine.runs.store(runs % GC_CYCLE_PERIOD, std::sync::atomic::Ordering::Relaxed);
    if runs == GC_CYCLE_PERIOD {
        let _ = lua.gc_step_kbytes(GC_CYCLE_PERIOD as i32);
    }
}

/// Runs between explicit garbage-collection steps (Redis's LUA_GC_CYCLE_PERIOD).
const GC_CYCLE_PERIOD: u32 = 50;

/// Parses a shebang line: `#!lua [name=<lib>] [flags=a,b]`. Returns the flags, the
/// library name, and the body after the line; Err with Redis's message.
pub(crate) fn parse_shebang(body: &[u8], allow_name: bool) -> Result<Option<(u32, Option<String>)>, String> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]).to_string();
    // The engine is what directly follows `#!` (empty in `#! name=x`); the options are split
    // as Redis splits them (quotes allowed: `name="foo"`).
    let (engine, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
    let opts: Vec<String> = match crate::util::splitargs::splitargs(rest.as_bytes()) {
        Some(v) => v.into_iter().map(|o| String::from_utf8_lossy(&o).into_owned()).collect(),
        None => return Err("ERR Invalid metadata value given: unbalanced quotes".to_string()),
    };
    let parts = opts.iter().map(|o| o.as_str());
    // Function engines are looked up ignoring case (`#!LUA`); EVAL wants `#!lua`.
    if engine != "lua" && !(allow_name && engine.eq_ignore_ascii_case("lua")) {
        return Err(format!("ERR Unexpected engine in script shebang: #!{}", engine));
    }
    let mut flags = HAS_SHEBANG;
    let mut name = None;
    for p in parts {
        if let Some(f) = p.strip_prefix("flags=") {
            for f in f.split(',').filter(|f| !f.is_empty()) {
                match FLAG_NAMES.iter().find(|(_, n)| *n == f) {
                    Some((v, _)) => flags |= v,
                    None => return Err(format!("ERR Unexpected flag in script shebang: {}", f)),
                }
            }
        } else if let (true, Some(n)) = (allow_name, p.strip_prefix("name=")) {
            if name.is_some() {
                return Err("ERR Invalid metadata value, name argument was given multiple times".to_string());
            }
            name = Some(n.to_string());
        } else {
            return Err(format!("ERR Unknown lua shebang option: {}", p));
        }
    }
    Ok(Some((flags, name)))
}

/// A body's SHA1 in lower-case hex.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Output buffer for a command run from a script.
pub(crate) fn script_out(resp: u8) -> Out {
    Out::new(resp == 3)
}
