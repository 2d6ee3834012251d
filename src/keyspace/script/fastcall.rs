//! redis.call and redis.pcall as raw Lua C functions: the common call (string or number
//! arguments, a command the script may run, a RESP2 reply of integers, bulk strings,
//! statuses and arrays of them) goes from the Lua stack to the keyspace and back without
//! mlua's per-callback machinery (a value handle per argument, its callback frame).
//!
//! Everything else is handed, before anything runs, to the mlua functions in `api` that do
//! the whole work (argument errors, refusals, the debugger's logging), or, once the command
//! ran, to a finisher that converts the reply kept in [`super::Run::pending`] (errors, RESP3).
//!
//! The running script's [`super::Run`] is found through [`super::running`].

use super::{api, convert};
use crate::keyspace::cmd::{self, Route};
use crate::keyspace::Cmd;
use bytes::Bytes;
use mlua::ffi;
use std::ffi::CStr;
use std::os::raw::c_int;

/// Registry names of the mlua functions the C functions hand over to.
pub(super) const SLOW_CALL: &CStr = c"tandem.call";
pub(super) const SLOW_PCALL: &CStr = c"tandem.pcall";
pub(super) const FINISH_CALL: &CStr = c"tandem.finish_call";
pub(super) const FINISH_PCALL: &CStr = c"tandem.finish_pcall";

/// What [`attempt`] did.
enum Outcome {
    /// Nothing ran: the mlua function does the whole call.
    Delegate,
    /// The reply is on the stack.
    Pushed,
    /// The command ran; its reply waits in `Run::pending` for the finisher.
    Pending,
}

/// `redis.call`.
pub(super) unsafe extern "C-unwind" fn call(state: *mut ffi::lua_State) -> c_int {
    dispatch(state, SLOW_CALL, FINISH_CALL)
}

/// `redis.pcall`.
pub(super) unsafe extern "C-unwind" fn pcall(state: *mut ffi::lua_State) -> c_int {
    dispatch(state, SLOW_PCALL, FINISH_PCALL)
}

/// Errors the handed-over functions raise unwind through this frame, which then owns
/// nothing to drop.
unsafe fn dispatch(state: *mut ffi::lua_State, slow: &CStr, finish: &CStr) -> c_int {
    let n = ffi::lua_gettop(state);
    match attempt(state, n) {
        Outcome::Pushed => 1,
        Outcome::Delegate => {
            ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, slow.as_ptr());
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, n, 1);
            1
        }
        Outcome::Pending => {
            ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, finish.as_ptr());
            ffi::lua_call(state, 0, 1);
            1
        }
    }
}

/// A number argument as Redis sends it: in `%.17g` (`-0` keeps its sign).
fn number_arg(x: f64) -> Bytes {
    Bytes::from(crate::rdb::fmt_g17(x))
}

unsafe fn attempt(state: *mut ffi::lua_State, n: c_int) -> Outcome {
    // SAFETY: dropped before this returns (nothing here calls into Lua).
    let Some(run) = super::running() else { return Outcome::Delegate };
    if n == 0 || run.ldb {
        return Outcome::Delegate;
    }
    let mut argv = crate::resp::request::Argv::with_capacity(n as usize);
    for i in 1..=n {
        match ffi::lua_type(state, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let s = ffi::lua_tolstring(state, i, &mut len);
                argv.push(Bytes::copy_from_slice(std::slice::from_raw_parts(s as *const u8, len)));
            }
            ffi::LUA_TNUMBER => argv.push(number_arg(ffi::lua_tonumber(state, i))),
            _ => return Outcome::Delegate,
        }
    }
    let Some(spec) = cmd::lookup(&argv[0]) else { return Outcome::Delegate };
    if !spec.arity_ok(argv.len()) {
        return Outcome::Delegate;
    }
    // SAFETY: see KsPtr: the keyspace set this pointer for the run in progress.
    let ks = &mut *run.ks.0;
    // An ACL check logs its refusals (ACL LOG): with restricted users the mlua function
    // makes the one check.
    let refused = ks.shared().acl_active.load(std::sync::atomic::Ordering::Relaxed)
        || (!spec.has(cmd::STALE) && ks.running_stale())
        || spec.has(cmd::NOSCRIPT)
        || matches!(spec.route, Route::Client)
        || (run.read_only && (spec.is_write() || spec.has(cmd::MAY_REPLICATE)))
        || (spec.is_write() && ks.script_write_refusal(spec, run).is_some());
    if refused {
        return Outcome::Delegate;
    }
    if spec.is_write() {
        run.wrote = true;
    }
    let buf = api::execute(ks, run, Cmd { spec, argv });
    if run.resp == 2 && simple(&buf, &mut 0, 0) {
        push_simple(state, &buf, &mut 0);
        return Outcome::Pushed;
    }
    run.pending = Some(buf);
    Outcome::Pending
}

/// The line at `pos` (without its CRLF) and the position after it.
fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], pos + end + 2))
}

/// Whether the reply at `pos` holds only integers, bulk strings, statuses and arrays of
/// them (what [`push_simple`] converts); advances `pos` past it.
fn simple(buf: &[u8], pos: &mut usize, depth: u32) -> bool {
    let Some(&kind) = buf.get(*pos) else { return false };
    let Some((l, next)) = line(buf, *pos + 1) else { return false };
    let Some(n) = crate::util::num::parse_i64(l) else { return kind == b'+' && { *pos = next; true } };
    *pos = next;
    match kind {
        b':' | b'+' => true,
        b'$' if n < 0 => true,
        b'$' => {
            *pos += n as usize + 2;
            *pos <= buf.len()
        }
        b'*' if n < 0 => true,
        b'*' if depth < 8 => (0..n).all(|_| simple(buf, pos, depth + 1)),
        _ => false,
    }
}

/// Pushes a reply [`simple`] accepted, converted as `convert::resp_to_lua` converts it.
unsafe fn push_simple(state: *mut ffi::lua_State, buf: &[u8], pos: &mut usize) {
    let kind = buf[*pos];
    let (l, next) = line(buf, *pos + 1).unwrap_or((&[], buf.len()));
    *pos = next;
    let n = crate::util::num::parse_i64(l).unwrap_or(0);
    match kind {
        b':' => ffi::lua_pushnumber(state, n as f64),
        b'+' => {
            ffi::lua_createtable(state, 0, 1);
            ffi::lua_pushlstring(state, l.as_ptr() as *const _, l.len());
            ffi::lua_setfield(state, -2, c"ok".as_ptr());
        }
        b'$' | b'*' if n < 0 => ffi::lua_pushboolean(state, 0),
        b'$' => {
            let data = &buf[*pos..*pos + n as usize];
            ffi::lua_pushlstring(state, data.as_ptr() as *const _, data.len());
            *pos += n as usize + 2;
        }
        _ => {
            ffi::lua_createtable(state, n as c_int, 0);
            for i in 0..n {
                push_simple(state, buf, pos);
                ffi::lua_rawseti(state, -2, i + 1);
            }
        }
    }
}

/// The finisher of redis.call (`raise`) or redis.pcall: the reply the command left in
/// `Run::pending`, converted; an error reply raised by call, returned by pcall.
pub(super) fn finish(lua: &mlua::Lua, raise: bool) -> mlua::Result<mlua::Value> {
    // SAFETY: dropped at once.
    let pending = unsafe { super::running() }.and_then(|r| r.pending.take());
    let Some(buf) = pending else { return Ok(mlua::Value::Nil) };
    if buf.first() == Some(&b'-') {
        let end = buf.len().saturating_sub(2);
        let t = api::counted_error_table(lua, &buf[1..end])?;
        return if raise { Err(api::raise(t)) } else { Ok(t) };
    }
    convert::resp_to_lua(lua, &buf, &mut 0)
}
