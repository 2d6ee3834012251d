//! `cmsgpack`: MessagePack pack/unpack with lua-cmsgpack's choices (smallest integer form,
//! float32 when exact, str8 for 32..255 bytes, tables as arrays when their keys are 1..n,
//! nesting cut at 16 levels).

use super::rt;
use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(|lua, a: MultiValue| {
        if a.is_empty() {
            return Err(rt("MessagePack pack needs input."));
        }
        let mut out = Vec::new();
        for v in a.iter() {
            pack(v, 0, &mut out)?;
        }
        lua.create_string(&out)
    })?)?;
    t.raw_set("unpack", lua.create_function(|lua, s: mlua::String| {
        let b = s.as_bytes();
        let mut pos = 0;
        let mut vals = Vec::new();
        while pos < b.len() {
            vals.push(unpack(lua, &b, &mut pos)?);
        }
        Ok(MultiValue::from_iter(vals))
    })?)?;
    t.raw_set("unpack_one", lua.create_function(|lua, (s, offset): (mlua::String, Option<i64>)| {
        unpack_limit(lua, &s.as_bytes(), 1, offset.unwrap_or(0))
    })?)?;
    t.raw_set("unpack_limit", lua.create_function(|lua, (s, limit, offset): (mlua::String, i64, Option<i64>)| {
        unpack_limit(lua, &s.as_bytes(), limit, offset.unwrap_or(0))
    })?)?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

fn unpack_limit(lua: &Lua, b: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue> {
    if offset < 0 || offset as usize > b.len() {
        return Err(rt(format!("Start offset {} greater than input length {}.", offset, b.len())));
    }
    let mut pos = offset as usize;
    let mut vals = Vec::new();
    while pos < b.len() && (limit <= 0 || (vals.len() as i64) < limit) {
        vals.push(unpack(lua, b, &mut pos)?);
    }
    let next = if pos >= b.len() { -1 } else { pos as i64 };
    let mut mv = vec![Value::Integer(next)];
    mv.extend(vals);
    Ok(MultiValue::from_iter(mv))
}

fn pack_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        if i <= 127 {
            out.push(i as u8);
        } else if i <= 0xff {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn pack_number(n: f64, out: &mut Vec<u8>) {
    if n.fract() == 0.0 && n.is_finite() && n.abs() < 9.2e18 {
        return pack_int(n as i64, out);
    }
    let f = n as f32;
    if f as f64 == n || n.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_len(len: usize, small: (u8, usize), l16: u8, l32: u8, out: &mut Vec<u8>) {
    if len < small.1 {
        out.push(small.0 | len as u8);
    } else if len <= 0xffff {
        out.push(l16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(l32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// The array length when the table's keys are exactly 1..n.
fn as_array(t: &Table) -> mlua::Result<Option<usize>> {
    let mut count = 0usize;
    let mut max = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        match k {
            Value::Integer(i) if i >= 1 => max = max.max(i as usize),
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => max = max.max(n as usize),
            _ => return Ok(None),
        }
        count += 1;
    }
    Ok(if count == max { Some(max) } else { None })
}

fn pack(v: &Value, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => pack_int(*i, out),
        Value::Number(n) => pack_number(*n, out),
        Value::String(s) => {
            let b = s.as_bytes();
            let len = b.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Table(t) if depth < MAX_NESTING => match as_array(t)? {
            Some(n) => {
                pack_len(n, (0x90, 16), 0xdc, 0xdd, out);
                for i in 1..=n {
                    pack(&t.raw_get::<Value>(i)?, depth + 1, out)?;
                }
            }
            None => {
                // Counted first, then encoded while iterating: every value held at once takes
                // a slot of Lua's C stack (at most 8000).
                let n = t.clone().pairs::<Value, Value>().count();
                pack_len(n, (0x80, 16), 0xde, 0xdf, out);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    pack(&k, depth + 1, out)?;
                    pack(&val, depth + 1, out)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

fn take<'a>(b: &'a [u8], pos: &mut usize, n: usize) -> mlua::Result<&'a [u8]> {
    if b.len() - *pos < n {
        return Err(rt("Missing bytes in input."));
    }
    let s = &b[*pos..*pos + n];
    *pos += n;
    Ok(s)
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
}

fn unpack(lua: &Lua, b: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let c = take(b, pos, 1)?[0];
    let str_of = |n: usize, pos: &mut usize| -> mlua::Result<Value> { Ok(Value::String(lua.create_string(take(b, pos, n)?)?)) };
    Ok(match c {
        0x00..=0x7f => Value::Integer(c as i64),
        0xe0..=0xff => Value::Integer(c as i8 as i64),
        0xa0..=0xbf => str_of((c & 0x1f) as usize, pos)?,
        0x90..=0x9f => array(lua, b, pos, (c & 0x0f) as usize)?,
        0x80..=0x8f => map(lua, b, pos, (c & 0x0f) as usize)?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xca => Value::Number(f32::from_bits(be(take(b, pos, 4)?) as u32) as f64),
        0xcb => Value::Number(f64::from_bits(be(take(b, pos, 8)?))),
        0xcc => Value::Integer(be(take(b, pos, 1)?) as i64),
        0xcd => Value::Integer(be(take(b, pos, 2)?) as i64),
        0xce => Value::Integer(be(take(b, pos, 4)?) as i64),
        0xcf => Value::Number(be(take(b, pos, 8)?) as f64),
        0xd0 => Value::Integer(be(take(b, pos, 1)?) as u8 as i8 as i64),
        0xd1 => Value::Integer(be(take(b, pos, 2)?) as u16 as i16 as i64),
        0xd2 => Value::Integer(be(take(b, pos, 4)?) as u32 as i32 as i64),
        0xd3 => Value::Integer(be(take(b, pos, 8)?) as i64),
        0xc4 | 0xd9 => {
            let n = be(take(b, pos, 1)?) as usize;
            str_of(n, pos)?
        }
        0xc5 | 0xda => {
            let n = be(take(b, pos, 2)?) as usize;
            str_of(n, pos)?
        }
        0xc6 | 0xdb => {
            let n = be(take(b, pos, 4)?) as usize;
            str_of(n, pos)?
        }
        0xdc => {
            let n = be(take(b, pos, 2)?) as usize;
            array(lua, b, pos, n)?
        }
        0xdd => {
            let n = be(take(b, pos, 4)?) as usize;
            array(lua, b, pos, n)?
        }
        0xde => {
            let n = be(take(b, pos, 2)?) as usize;
            map(lua, b, pos, n)?
        }
        0xdf => {
            let n = be(take(b, pos, 4)?) as usize;
            map(lua, b, pos, n)?
        }
        _ => return Err(rt("Bad data format in input.")),
    })
}

fn array(lua: &Lua, b: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
    for i in 1..=n {
        t.raw_set(i, unpack(lua, b, pos)?)?;
    }
    Ok(Value::Table(t))
}

fn map(lua: &Lua, b: &[u8], pos: &mut usize, n: usize) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = unpack(lua, b, pos)?;
        let v = unpack(lua, b, pos)?;
        if k != Value::Nil {
            t.raw_set(k, v)?;
        }
    }
    Ok(Value::Table(t))
}
