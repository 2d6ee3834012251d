//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.

use super::{parse_shebang, run_script, sha1_hex, Run, Script, ALLOW_OOM, ALLOW_STALE, HAS_SHEBANG, NO_WRITES, REPL_ALL};
use crate::keyspace::cmd::{self, eq, CommandSpec};
use crate::keyspace::{Ctx, Keyspace};
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

pub fn eval(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    eval_generic(ks, ctx, a, false, false)
}
pub fn evalsha(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    eval_generic(ks, ctx, a, true, false)
}
pub fn eval_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    eval_generic(ks, ctx, a, false, true)
}
pub fn evalsha_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    eval_generic(ks, ctx, a, true, true)
}

/// The numkeys argument of EVAL/FCALL, checked as Redis checks it.
pub(crate) fn numkeys(ctx: &mut Ctx, a: &[Bytes]) -> Option<usize> {
    let n = cmd::arg_i64(ctx, &a[2])?;
    if n < 0 {
        ctx.error("ERR Number of keys can't be negative");
        return None;
    }
    if n as usize > a.len() - 3 {
        ctx.error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    Some(n as usize)
}

impl Keyspace {
    /// Compiles and caches an EVAL body; returns its SHA1.
    fn cache_script(&mut self, body: &Bytes) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripting.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let flags = match parse_shebang(body, false) {
            Ok(Some((f, _))) => f,
            Ok(None) => 0,
            Err(e) => return Err(e),
        };
        // A shebang line is Lua-commented out (Lua 5.1 would not skip it in a string chunk).
        let src: Vec<u8> = if flags & HAS_SHEBANG != 0 { [&b"--"[..], &body[..]].concat() } else { body.to_vec() };
        let engine = self.scripting.eval_engine()?;
        let func = engine.compile(&src, "@user_script").map_err(|e| format!("ERR Error compiling script (new function): {}", e))?;
        let func = engine.lua.create_registry_value(func).map_err(|e| format!("ERR {}", e))?;
        self.scripting.scripts.insert(sha.clone(), Script { func, body: body.clone(), flags });
        Ok(sha)
    }

    /// Why a script declared with flags may not start (checked before it runs, as Redis's
    /// scriptPrepareForRun): writes on a read-only replica, out of memory, min-replicas.
    pub(crate) fn script_start_refusal(&self, flags: u32, ro_cmd: bool) -> Option<&'static str> {
        if self.applying_master {
            return None;
        }
        // A stale replica runs only scripts that declare `allow-stale` (Redis drops EVAL's
        // `stale` command flag for the others).
        if self.running_stale() && (flags & HAS_SHEBANG == 0 || flags & ALLOW_STALE == 0) {
            return Some("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        }
        if flags & HAS_SHEBANG == 0 || flags & NO_WRITES != 0 {
            return None;
        }
        let hot = &self.shared.hot;
        if self.is_replica && hot.replica_read_only.load(Relaxed) {
            return Some("READONLY You can't write against a read only replica.");
        }
        if ro_cmd {
            return Some("ERR Can not execute a script with write flag using *_ro command.");
        }
        if flags & ALLOW_OOM == 0 && over_maxmemory(self) {
            return Some("OOM command not allowed when used memory > 'maxmemory'.");
        }
        self.min_replicas_refusal()
    }

    /// A replica whose link is down while `replica-serve-stale-data` is `no`.
    pub(crate) fn running_stale(&self) -> bool {
        self.is_replica && !self.shared.hot.replica_serve_stale_data.load(Relaxed) && !self.shared.repl.link_up()
    }

    fn min_replicas_refusal(&self) -> Option<&'static str> {
        let hot = &self.shared.hot;
        let min = hot.min_replicas_to_write.load(Relaxed);
        if !self.is_replica && min > 0 && (self.shared.repl.good_replicas(hot.min_replicas_max_lag.load(Relaxed)) as u64) < min {
            return Some("NOREPLICAS Not enough good replicas to write.");
        }
        None
    }

    /// Why a write command called from a script is refused.
    pub(crate) fn script_write_refusal(&self, spec: &CommandSpec, run: &Run) -> Option<&'static str> {
        if self.applying_master {
            return None;
        }
        if self.is_replica && self.shared.hot.replica_read_only.load(Relaxed) {
            return Some("READONLY You can't write against a read only replica.");
        }
        if spec.has(cmd::DENYOOM) && run.oom_at_start && run.flags & ALLOW_OOM == 0 {
            return Some("OOM command not allowed when used memory > 'maxmemory'.");
        }
        if !run.wrote {
            return self.min_replicas_refusal();
        }
        None
    }
}

impl Keyspace {
    /// A copy of the databases (copy-on-write: cheap), for a SCRIPT DEBUG YES session.
    fn snapshot_dbs(&self) -> Vec<crate::keyspace::Db> {
        self.dbs.clone()
    }

    /// Puts back the databases of [`snapshot_dbs`](Self::snapshot_dbs).
    fn restore_dbs(&mut self, dbs: Vec<crate::keyspace::Db>) {
        self.dbs = dbs;
    }
}

pub(crate) fn over_maxmemory(ks: &Keyspace) -> bool {
    let max = ks.shared.hot.maxmemory.load(Relaxed);
    max > 0 && !ks.is_replica && crate::keyspace::info::used_memory_cached() > max
}

fn eval_generic(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], by_sha: bool, ro: bool) {
    // MONITOR shows the script before the commands it runs, as Redis's evalCommand.
    if ks.pubsub.has_monitors() {
        ks.feed_monitors(ctx.client_id, ctx.db, a, Some(&mut *ctx.out), false);
    }
    // The client asked for a debugging session (SCRIPT DEBUG) for this EVAL.
    if let (false, Some(link)) = (by_sha, ks.ldb_link.take()) {
        return debug_eval(ks, ctx, a, ro, link);
    }
    eval_body(ks, ctx, a, by_sha, ro)
}

/// EVAL in a debugging session: the session starts before anything is checked (errors come
/// after its `<endsession>`, as in Redis). In YES mode the dataset is restored at the end
/// and the script's effects are not propagated (Redis runs it in a forked child).
fn debug_eval(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], ro: bool, link: super::ldb::LdbLink) {
    let sync = link.sync;
    let engine = match ks.scripting.eval_engine() {
        Ok(e) => e.clone(),
        Err(e) => return ctx.error(e),
    };
    super::ldb::start(&engine.lua, engine.env.clone(), link, ks.shared().clone(), &a[1]);
    let snapshot = (!sync).then(|| ks.snapshot_dbs());
    ks.ldb_discard = !sync;
    ks.ldb_session = true;
    eval_body(ks, ctx, a, false, ro);
    ks.ldb_session = false;
    ks.ldb_discard = false;
    super::ldb::end(&engine.lua);
    if let Some(dbs) = snapshot {
        ks.restore_dbs(dbs);
    }
}

fn eval_body(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], by_sha: bool, ro: bool) {
    let Some(nkeys) = numkeys(ctx, a) else { return };
    let sha = if by_sha {
        match sha_arg(&a[1]) {
            Some(s) => s,
            None => return ctx.error("NOSCRIPT No matching script. Please use EVAL."),
        }
    } else {
        match ks.cache_script(&a[1]) {
            Ok(s) => s,
            Err(e) => return ctx.error(e),
        }
    };
    let Some((flags, func)) = ks.scripting.scripts.get(&sha).map(|s| (s.flags, s.func.id() as i64)) else {
        return ctx.error("NOSCRIPT No matching script. Please use EVAL.");
    };
    if let Some(e) = ks.script_start_refusal(flags, ro) {
        return ctx.error(e);
    }
    let engine = match ks.scripting.eval_engine() {
        Ok(e) => e.clone(),
        Err(e) => return ctx.error(e),
    };
    let call = super::Call { func, keys: &a[3..3 + nkeys], argv: &a[3 + nkeys..], as_args: false };
    let run = new_run(ks, ctx, flags, ro, sha);
    run_script(ks, ctx, &engine, call, run);
}

/// EVALSHA's SHA1 argument in lower case, if it has the length of one.
fn sha_arg(arg: &[u8]) -> Option<String> {
    let sha = std::str::from_utf8(arg).ok().filter(|s| s.len() == 40)?;
    Some(sha.to_ascii_lowercase())
}

pub(crate) fn new_run(ks: &Keyspace, ctx: &Ctx, flags: u32, ro: bool, name: String) -> Run {
    Run {
        ks: super::KsPtr(std::ptr::null_mut()),
        db: ctx.db,
        client_id: ctx.client_id,
        resp: 2,
        read_only: ro || flags & NO_WRITES != 0,
        flags,
        repl: REPL_ALL,
        wrote: false,
        oom_at_start: over_maxmemory(ks),
        started: Instant::now(),
        name,
        is_function: false,
        argv: Vec::new(),
        busy_after_ms: 0,
        busy: false,
        killed: false,
        pending: None,
        ldb: false,
    }
}

/// SCRIPT LOAD | EXISTS | FLUSH [ASYNC|SYNC] | KILL | HELP.
pub fn script(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match (sub.as_str(), a.len()) {
        ("load", 3) => match ks.cache_script(&a[2]) {
            Ok(sha) => ctx.out.bulk(sha.as_bytes()),
            Err(e) => ctx.error(e),
        },
        ("exists", 3..) => {
            ctx.out.array(a.len() - 2);
            for s in &a[2..] {
                let sha = String::from_utf8_lossy(s).to_ascii_lowercase();
                ctx.out.int(ks.scripting.scripts.contains_key(&sha) as i64);
            }
        }
        ("flush", 2 | 3) => {
            if a.len() == 3 && !eq(&a[2], "async") && !eq(&a[2], "sync") {
                return ctx.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            }
            ks.scripting.flush_scripts();
            ctx.out.ok();
        }
        ("kill", 2) => ctx.error("NOTBUSY No scripts in execution right now."),
        ("help", 2) => {
            let lines = [
                "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DEBUG (YES|SYNC|NO)",
                "    Set the debug mode for subsequent scripts executed.",
                "EXISTS <sha1> [<sha1> ...]",
                "    Return information about the existence of the scripts in the script cache.",
                "FLUSH [ASYNC|SYNC]",
                "    Flush the Lua scripts cache. Very dangerous on replicas.",
                "    When called without the optional mode argument, the behavior is determined by the",
                "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
                "    * ASYNC: Asynchronously flush the scripts cache.",
                "    * SYNC: Synchronously flush the scripts cache.",
                "KILL",
                "    Kill the currently executing Lua script.",
                "LOAD <script>",
                "    Load a script into the scripts cache without executing it.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.out.help(&lines);
        }
        // SCRIPT DEBUG YES|SYNC|NO is a connection setting: the client answers it.
        ("load" | "exists" | "flush" | "kill" | "help" | "debug", _) => {
            ctx.error(format!("ERR wrong number of arguments for 'script|{}' command", sub))
        }
        _ => ctx.error(cmd::unknown_subcommand(&a[1], "SCRIPT")),
    }
}
