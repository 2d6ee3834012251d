//! Redis's Lua libraries, written here in Rust with the behaviour the libraries document:
//! `bit` (LuaBitOp), `cjson` (lua-cjson), `cmsgpack` (lua-cmsgpack), `struct` (Roberto
//! Ierusalimschy's struct library).

mod bit;
pub(crate) mod cjson;
mod cmsgpack;
mod lstruct;

use mlua::{Lua, Table};

pub fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("bit", bit::table(lua)?)?;
    globals.raw_set("cjson", cjson::table(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::table(lua)?)?;
    globals.raw_set("struct", lstruct::table(lua)?)?;
    Ok(())
}

/// A Lua number as a double (integers included).
pub(crate) fn num(v: &mlua::Value) -> Option<f64> {
    match v {
        mlua::Value::Integer(i) => Some(*i as f64),
        mlua::Value::Number(n) => Some(*n),
        mlua::Value::String(s) => std::str::from_utf8(&s.as_bytes()).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A library's error: like Lua's luaL_error, the script's position goes before the message
/// (the error handler adds it).
#[derive(Debug)]
pub struct LibErr(pub String);
impl std::fmt::Display for LibErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for LibErr {}

pub(crate) fn rt(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::external(LibErr(msg.into()))
}

/// The LibErr inside an mlua error, if it is one.
pub fn lib_err(e: &mlua::Error) -> Option<&LibErr> {
    match e {
        mlua::Error::CallbackError { cause, .. } => lib_err(cause),
        mlua::Error::ExternalError(x) => x.downcast_ref::<LibErr>(),
        _ => None,
    }
}
