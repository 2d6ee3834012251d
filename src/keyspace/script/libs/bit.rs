//! `bit`: LuaBitOp's operations on 32-bit integers (results are signed 32-bit numbers).

use super::{num, rt};
use mlua::{Lua, MultiValue, Table, Value};

/// A number as LuaBitOp sees it: rounded to an integer, taken modulo 2^32.
fn tobit(v: &Value) -> mlua::Result<i32> {
    let n = num(v).ok_or_else(|| rt("bad argument to bit operation (number expected)"))?;
    let r = n.round_ties_even();
    Ok((r.rem_euclid(4294967296.0) as u64) as u32 as i32)
}

fn arg(args: &MultiValue, i: usize) -> mlua::Result<i32> {
    tobit(args.get(i).unwrap_or(&Value::Nil))
}

fn fold(args: MultiValue, f: fn(i32, i32) -> i32) -> mlua::Result<i32> {
    let mut acc = arg(&args, 0)?;
    for i in 1..args.len() {
        acc = f(acc, arg(&args, i)?);
    }
    Ok(acc)
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", lua.create_function(|_, a: MultiValue| arg(&a, 0))?)?;
    t.raw_set("bnot", lua.create_function(|_, a: MultiValue| Ok(!arg(&a, 0)?))?)?;
    t.raw_set("band", lua.create_function(|_, a: MultiValue| fold(a, |x, y| x & y))?)?;
    t.raw_set("bor", lua.create_function(|_, a: MultiValue| fold(a, |x, y| x | y))?)?;
    t.raw_set("bxor", lua.create_function(|_, a: MultiValue| fold(a, |x, y| x ^ y))?)?;
    t.raw_set("lshift", lua.create_function(|_, a: MultiValue| Ok(((arg(&a, 0)? as u32) << (arg(&a, 1)? & 31)) as i32))?)?;
    t.raw_set("rshift", lua.create_function(|_, a: MultiValue| Ok(((arg(&a, 0)? as u32) >> (arg(&a, 1)? & 31)) as i32))?)?;
    t.raw_set("arshift", lua.create_function(|_, a: MultiValue| Ok(arg(&a, 0)? >> (arg(&a, 1)? & 31)))?)?;
    t.raw_set("rol", lua.create_function(|_, a: MultiValue| Ok((arg(&a, 0)? as u32).rotate_left((arg(&a, 1)? & 31) as u32) as i32))?)?;
    t.raw_set("ror", lua.create_function(|_, a: MultiValue| Ok((arg(&a, 0)? as u32).rotate_right((arg(&a, 1)? & 31) as u32) as i32))?)?;
    t.raw_set("bswap", lua.create_function(|_, a: MultiValue| Ok((arg(&a, 0)? as u32).swap_bytes() as i32))?)?;
    t.raw_set("tohex", lua.create_function(|_, a: MultiValue| {
        let x = arg(&a, 0)? as u32;
        let n = if a.len() > 1 { arg(&a, 1)? } else { 8 };
        let (upper, n) = if n < 0 { (true, (-n) as usize) } else { (false, n as usize) };
        let n = n.min(8);
        let s = if upper { format!("{:08X}", x) } else { format!("{:08x}", x) };
        Ok(s[8 - n..].to_string())
    })?)?;
    Ok(t)
}
