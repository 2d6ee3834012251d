//! Redis 7.0 functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL, FCALL and
//! FCALL_RO. Libraries live in their own Lua state (as in Redis); they are part of the
//! dataset (RDB `FUNCTION2` records, full syncs) and FUNCTION's writes propagate verbatim.

use super::eval::{new_run, numkeys};
use super::{parse_shebang, run_script, Engine, FLAG_NAMES, HAS_SHEBANG};
use crate::keyspace::cmd::{self, eq};
use crate::keyspace::{Ctx, Keyspace};
use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};
use std::collections::{BTreeMap, HashMap};

pub(crate) struct FuncDef {
    /// In the registry (a handle each would take a slot of Lua's C stack).
    pub func: mlua::RegistryKey,
    pub flags: u32,
    pub description: Option<String>,
}

pub(crate) struct Library {
    pub code: Bytes,
    pub functions: BTreeMap<String, FuncDef>,
}

/// The loaded libraries and the engine they run in.
#[derive(Default)]
pub struct Libraries {
    engine: Option<std::sync::Arc<Engine>>,
    libs: BTreeMap<String, Library>,
    /// Function name (lower case: FCALL ignores case) -> library name and the name as given.
    index: HashMap<String, (String, String)>,
}

/// Functions registered by the library being loaded (Lua app data during FUNCTION LOAD).
struct Loading {
    functions: BTreeMap<String, FuncDef>,
    started: std::time::Instant,
}

/// How long a library's code may run while it loads (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Called by the instruction hook: a library whose loading code runs too long fails
/// (`FUNCTION LOAD timeout`) instead of holding the keyspace forever.
pub(crate) fn load_timed_out(lua: &Lua) -> bool {
    lua.app_data_ref::<Loading>().is_some_and(|l| l.started.elapsed() > LOAD_TIMEOUT)
}

impl Libraries {
    fn engine(&mut self) -> Result<std::sync::Arc<Engine>, String> {
        if self.engine.is_none() {
            self.engine = Some(std::sync::Arc::new(Engine::new().map_err(|e| format!("ERR failed to start Lua: {}", e))?));
        }
        Ok(self.engine.clone().expect("engine"))
    }

    pub fn flush(&mut self) {
        self.libs.clear();
        self.index.clear();
        self.engine = None;
    }

    /// Every library's code (RDB FUNCTION2 records, FUNCTION DUMP).
    pub fn codes(&self) -> Vec<Bytes> {
        self.libs.values().map(|l| l.code.clone()).collect()
    }

    /// Memory of the functions' Lua state (INFO used_memory_vm_functions).
    pub(crate) fn vm_memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.lua.used_memory())
    }

    /// What the libraries and their function tables hold besides the Lua state (INFO
    /// used_memory_functions): code and names.
    pub(crate) fn memory_overhead(&self) -> usize {
        let libs: usize = self.libs.iter().map(|(n, l)| n.len() + l.code.len() + 64).sum();
        let funcs: usize = self.index.iter().map(|(k, (l, n))| k.len() + l.len() + n.len() + 96).sum();
        libs + funcs
    }

    pub(crate) fn function_count(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn library_count(&self) -> usize {
        self.libs.len()
    }

    /// Compiles and runs a library's code, collecting its functions (nothing is installed).
    fn prepare(&mut self, code: &Bytes) -> Result<(String, Library), String> {
        let (_, name) = match parse_shebang(code, true) {
            Ok(Some(x)) => x,
            Ok(None) => return Err("ERR Missing library metadata".into()),
            Err(e) => {
                return Err(e
                    .replace("ERR Unknown lua shebang option: ", "ERR Invalid metadata value given: ")
                    .replace("ERR Unexpected engine in script shebang: #!", "ERR Engine '")
                    + if e.contains("engine") { "' not found" } else { "" })
            }
        };
        let Some(name) = name else { return Err("ERR Library name was not given".into()) };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long".into());
        }
        let engine = self.engine()?;
        let src: Vec<u8> = [&b"--"[..], &code[..]].concat();
        let chunk = engine.compile(&src, "@user_function").map_err(|e| format!("ERR Error compiling function: {}", e))?;
        let lua = &engine.lua;
        lua.set_app_data(Loading { functions: BTreeMap::new(), started: std::time::Instant::now() });
        let _ = engine.set_loading.call::<()>(true);
        let ran: mlua::Result<(bool, Value)> = engine.runner.call((chunk, Value::Nil, Value::Nil));
        let _ = engine.set_loading.call::<()>(false);
        let loading = lua.remove_app_data::<Loading>();
        match ran {
            Ok((true, _)) => {}
            Ok((false, e)) => {
                let msg = match &e {
                    Value::Table(t) => t.raw_get::<String>("err").unwrap_or_default(),
                    _ => String::new(),
                };
                return Err(format!("ERR Error registering functions: {}", msg));
            }
            Err(e) => return Err(format!("ERR Error registering functions: {}", super::error_text(&e))),
        }
        let functions = loading.map(|l| l.functions).unwrap_or_default();
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok((name, Library { code: code.clone(), functions }))
    }

    /// FUNCTION LOAD's work: Ok(library name).
    pub fn load(&mut self, code: &Bytes, replace: bool) -> Result<String, String> {
        let (name, lib) = self.prepare(code)?;
        if self.libs.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{}' already exists", name));
        }
        for f in lib.functions.keys() {
            if self.index.get(&f.to_ascii_lowercase()).is_some_and(|(owner, _)| *owner != name) {
                return Err(format!("ERR Function {} already exists", f));
            }
        }
        self.install(name.clone(), lib);
        Ok(name)
    }

    fn install(&mut self, name: String, lib: Library) {
        self.delete(&name);
        for f in lib.functions.keys() {
            self.index.insert(f.to_ascii_lowercase(), (name.clone(), f.clone()));
        }
        self.libs.insert(name, lib);
    }

    fn delete(&mut self, name: &str) -> bool {
        let Some(old) = self.libs.remove(name) else { return false };
        for f in old.functions.keys() {
            self.index.remove(&f.to_ascii_lowercase());
        }
        true
    }

    pub(crate) fn find(&self, fname: &str) -> Option<&FuncDef> {
        let (lib, name) = self.index.get(&fname.to_ascii_lowercase())?;
        self.libs.get(lib)?.functions.get(name)
    }
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`.
pub fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    let fail = |m: &str| Err(mlua::Error::RuntimeError(m.to_string()));
    let (name, func, flags, description) = match (args.len(), args.front()) {
        (1, Some(Value::Table(t))) => {
            let mut name = None;
            let mut func = None;
            let mut flags = 0;
            let mut description = None;
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy().to_string(),
                    _ => return fail("named argument key given to redis.register_function is not a string"),
                };
                match (key.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy().to_string()),
                    ("function_name", _) => return fail("function_name argument given to redis.register_function must be a string"),
                    ("callback", Value::Function(f)) => func = Some(f),
                    ("callback", _) => return fail("callback argument given to redis.register_function must be a function"),
                    ("description", Value::String(s)) => description = Some(s.to_string_lossy().to_string()),
                    ("description", _) => return fail("description argument given to redis.register_function must be a string"),
                    ("flags", Value::Table(ft)) => flags = parse_flags(&ft)?,
                    ("flags", _) => return fail("flags argument to redis.register_function must be a table representing function flags"),
                    _ => return fail("unknown argument given to redis.register_function"),
                }
            }
            let Some(name) = name else { return fail("redis.register_function must get a function name argument") };
            let Some(func) = func else { return fail("redis.register_function must get a callback argument") };
            (name, func, flags, description)
        }
        (2, Some(first)) => {
            // A number is a string to Lua (lua_isstring), as Redis takes it.
            let name = match first {
                Value::String(s) => s.to_string_lossy().to_string(),
                Value::Integer(_) | Value::Number(_) => match lua.coerce_string(first.clone()) {
                    Ok(Some(s)) => s.to_string_lossy().to_string(),
                    _ => return fail("first argument to redis.register_function must be a string"),
                },
                _ => return fail("first argument to redis.register_function must be a string"),
            };
            let Value::Function(f) = &args[1] else { return fail("second argument to redis.register_function must be a function") };
            (name, f.clone(), 0, None)
        }
        (1, _) => return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."),
        _ => return fail("wrong number of arguments to redis.register_function"),
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    let Some(mut loading) = lua.app_data_mut::<Loading>() else {
        return fail("redis.register_function can only be called on FUNCTION LOAD command");
    };
    if loading.functions.contains_key(&name) {
        return fail("Function already exists in the library");
    }
    let func = lua.create_registry_value(func)?;
    loading.functions.insert(name, FuncDef { func, flags: flags | HAS_SHEBANG, description });
    Ok(())
}

fn parse_flags(t: &Table) -> mlua::Result<u32> {
    let mut flags = 0;
    for v in t.clone().sequence_values::<Value>() {
        let Value::String(s) = v? else {
            return Err(mlua::Error::RuntimeError("unknown flag given".into()));
        };
        let s = s.to_string_lossy();
        match FLAG_NAMES.iter().find(|(_, n)| *n == s) {
            Some((f, _)) => flags |= f,
            None => return Err(mlua::Error::RuntimeError("unknown flag given".into())),
        }
    }
    Ok(flags)
}

pub fn fcall(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    fcall_generic(ks, ctx, a, false)
}
pub fn fcall_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    fcall_generic(ks, ctx, a, true)
}

fn fcall_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], ro: bool) {
    // MONITOR shows the call before the commands the function runs, as Redis.
    if ks.pubsub.has_monitors() {
        ks.feed_monitors(ctx.client_id, ctx.db, a, Some(&mut *ctx.out), false);
    }
    if crate::util::num::parse_i64(&a[2]).is_none() {
        return ctx.error("ERR Bad number of keys provided");
    }
    let Some(nkeys) = numkeys(ctx, a) else { return };
    let fname = String::from_utf8_lossy(&a[1]).to_string();
    let Some(def) = ks.scripting.libs.find(&fname) else {
        return ctx.error("ERR Function not found");
    };
    let (flags, func) = (def.flags, def.func.id() as i64);
    if let Some(e) = ks.script_start_refusal(flags, ro) {
        return ctx.error(e);
    }
    let engine = match ks.scripting.libs.engine() {
        Ok(e) => e,
        Err(e) => return ctx.error(e),
    };
    let call = super::Call { func, keys: &a[3..3 + nkeys], argv: &a[3 + nkeys..], as_args: true };
    let mut run = new_run(ks, ctx, flags, ro, fname);
    run.argv = a.to_vec();
    run.is_function = true;
    run_script(ks, ctx, &engine, call, run);
}

/// The FUNCTION command.
pub fn function(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let writes = matches!(sub.as_str(), "load" | "delete" | "flush" | "restore");
    if writes && ks.is_replica && !ks.applying_master && ks.shared.hot.replica_read_only.load(std::sync::atomic::Ordering::Relaxed) {
        return ctx.error("READONLY You can't write against a read only replica.");
    }
    match (sub.as_str(), a.len()) {
        ("load", 3..) => {
            let replace = a.len() >= 4;
            if let Some(bad) = a[2..a.len() - 1].iter().find(|o| !eq(o, "replace")) {
                return ctx.error(format!("ERR Unknown option given: {}", String::from_utf8_lossy(bad)));
            }
            match ks.scripting.libs.load(&a[a.len() - 1], replace) {
                Ok(name) => {
                    ctx.out.bulk(name.as_bytes());
                    propagate(ctx);
                }
                Err(e) => ctx.error(e),
            }
        }
        ("delete", 3) => {
            let name = String::from_utf8_lossy(&a[2]).to_string();
            if ks.scripting.libs.delete(&name) {
                ctx.out.ok();
                propagate(ctx);
            } else {
                ctx.error("ERR Library not found");
            }
        }
        ("flush", 4..) => ctx.error(format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.", String::from_utf8_lossy(&a[1]))),
        ("flush", 2 | 3) => {
            if a.len() == 3 && !eq(&a[2], "async") && !eq(&a[2], "sync") {
                return ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            }
            ks.scripting.libs.flush();
            ctx.out.ok();
            propagate(ctx);
        }
        ("kill", 2) => ctx.error("NOTBUSY No scripts in execution right now."),
        ("stats", 2) => {
            ctx.out.map(2);
            ctx.out.bulk(b"running_script");
            ctx.out.null();
            ctx.out.bulk(b"engines");
            ctx.out.map(1);
            ctx.out.bulk(b"LUA");
            ctx.out.map(2);
            ctx.out.bulk(b"libraries_count");
            ctx.out.int(ks.scripting.libs.libs.len() as i64);
            ctx.out.bulk(b"functions_count");
            ctx.out.int(ks.scripting.libs.function_count() as i64);
        }
        ("list", _) => list(ks, ctx, a),
        ("dump", 2) => {
            let payload = dump_payload(&ks.scripting.libs.codes());
            ctx.out.bulk(&payload);
        }
        ("restore", 3 | 4) => restore(ks, ctx, a),
        ("restore", 5..) => ctx.error(format!("ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.", String::from_utf8_lossy(&a[1]))),
        ("help", 2) => help(ctx),
        ("load" | "delete" | "flush" | "kill" | "stats" | "dump" | "restore" | "help", _) => {
            ctx.error(format!("ERR wrong number of arguments for 'function|{}' command", sub))
        }
        _ => ctx.error(cmd::unknown_subcommand(&a[1], "FUNCTION")),
    }
}

/// FUNCTION's writes go to replicas as sent.
fn propagate(ctx: &mut Ctx) {
    ctx.dirty += 1;
    ctx.force_propagate = true;
}

fn list(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let mut with_code = false;
    let mut pattern: Option<Bytes> = None;
    let mut i = 2;
    while i < a.len() {
        if eq(&a[i], "withcode") && !with_code {
            with_code = true;
        } else if eq(&a[i], "libraryname") && pattern.is_none() {
            let Some(p) = a.get(i + 1) else {
                return ctx.error("ERR library name argument was not given");
            };
            pattern = Some(p.clone());
            i += 1;
        } else {
            return ctx.error(format!("ERR Unknown argument {}", String::from_utf8_lossy(&a[i])));
        }
        i += 1;
    }
    let libs: Vec<(&String, &Library)> = ks
        .scripting
        .libs
        .libs
        .iter()
        .filter(|(n, _)| pattern.as_ref().is_none_or(|p| crate::util::glob::glob_match(p, n.as_bytes(), false)))
        .collect();
    ctx.out.array(libs.len());
    for (name, lib) in libs {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk(b"library_name");
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(b"engine");
        ctx.out.bulk(b"LUA");
        ctx.out.bulk(b"functions");
        ctx.out.array(lib.functions.len());
        for (fname, def) in &lib.functions {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(fname.as_bytes());
            ctx.out.bulk(b"description");
            match &def.description {
                Some(d) => ctx.out.bulk(d.as_bytes()),
                None => ctx.out.null(),
            }
            ctx.out.bulk(b"flags");
            let names: Vec<&str> = FLAG_NAMES.iter().filter(|(f, _)| def.flags & f != 0).map(|(_, n)| *n).collect();
            ctx.out.set(names.len());
            for n in names {
                ctx.out.simple(n);
            }
        }
        if with_code {
            ctx.out.bulk(b"library_code");
            ctx.out.bulk(&lib.code);
        }
    }
}

/// FUNCTION DUMP's payload: a FUNCTION2 record per library, RDB version, CRC64.
pub fn dump_payload(codes: &[Bytes]) -> Vec<u8> {
    let codes: Vec<&[u8]> = codes.iter().map(|c| &c[..]).collect();
    crate::rdb::writer::function_payload(&codes)
}

/// The libraries' codes in a FUNCTION DUMP payload (None when it is not one).
fn parse_payload(p: &[u8]) -> Option<Vec<Bytes>> {
    Some(crate::rdb::reader::parse_function_payload(p)?.into_iter().map(Bytes::from).collect())
}

fn restore(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy = match a.get(3) {
        None => Policy::Append,
        Some(p) if eq(p, "append") => Policy::Append,
        Some(p) if eq(p, "replace") => Policy::Replace,
        Some(p) if eq(p, "flush") => Policy::Flush,
        Some(_) => return ctx.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."),
    };
    let Some(codes) = parse_payload(&a[2]) else {
        return ctx.error("ERR DUMP payload version or checksum are wrong");
    };
    let libs = &mut ks.scripting.libs;
    let mut prepared = Vec::new();
    for code in &codes {
        match libs.prepare(code) {
            Ok(x) => prepared.push(x),
            Err(e) => return ctx.error(e),
        }
    }
    if policy != Policy::Flush {
        for (name, lib) in &prepared {
            if policy == Policy::Append && libs.libs.contains_key(name) {
                return ctx.error(format!("ERR Library {} already exists", name));
            }
            for f in lib.functions.keys() {
                if libs.index.get(&f.to_ascii_lowercase()).is_some_and(|(owner, _)| owner != name) {
                    return ctx.error(format!("ERR Function {} already exists", f));
                }
            }
        }
    } else {
        libs.libs.clear();
        libs.index.clear();
    }
    for (name, lib) in prepared {
        libs.install(name, lib);
    }
    ctx.out.ok();
    propagate(ctx);
}

impl Keyspace {
    /// The libraries an RDB (file, full sync, DEBUG RELOAD) carried replace ours.
    pub fn load_functions(&mut self, codes: &[Bytes]) {
        self.scripting.libs.flush();
        for code in codes {
            if let Err(e) = self.scripting.libs.load(code, true) {
                crate::warning!(self.shared.log, "Failed loading library from the RDB: {}", e);
            }
        }
    }
}

fn help(ctx: &mut Ctx) {
    let lines = [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "FLUSH [ASYNC|SYNC]",
        "    Deletes all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "KILL",
        "    Kill the current running function.",
        "STATS",
        "    Return information about the current running function.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this case there is no way to",
        "      restore the same function name in two libraries).",
        "HELP",
        "    Prints this help.",
    ];
    ctx.out.help(&lines);
}
