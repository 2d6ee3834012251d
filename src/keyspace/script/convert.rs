//! Conversions between RESP replies and Lua values, as Redis documents them.
//!
//! RESP -> Lua (a command's reply inside redis.call): integer -> number, bulk -> string,
//! array -> table, status -> `{ok=...}`, error -> `{err=...}`, nil bulk/array -> false; with
//! RESP3 (redis.setresp(3)): map -> `{map={...}}`, set -> `{set={m=true}}`, null -> nil,
//! boolean -> boolean, double -> `{double=n}`, big number -> `{big_number=s}`, verbatim ->
//! `{verbatim_string={format=..., string=...}}`.
//!
//! Lua -> RESP (the script's return value): number -> integer (truncated), string -> bulk,
//! true -> 1, false and nil -> null, a table with `err`/`ok`/`double`/`map`/`set`/
//! `big_number`/`verbatim_string` -> that type, any other table -> array up to the first nil.

use crate::resp::Out;
use mlua::{Lua, Table, Value};

/// Lua's `%.14g` text of a number (what tostring gives and redis.call sends).
pub fn lua_number_string(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if n == n.trunc() && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    // %.14g: 14 significant digits, exponent form when the exponent is < -4 or >= 14.
    let exp = n.abs().log10().floor() as i32;
    if !(-4..14).contains(&exp) {
        let s = format!("{:.13e}", n);
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = trim_zeros(mant);
        let e: i32 = e.parse().unwrap_or(0);
        format!("{}e{}{:02}", mant, if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = (13 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Reads one RESP reply from `buf` at `pos` as a Lua value.
pub fn resp_to_lua(lua: &Lua, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let Some(&kind) = buf.get(*pos) else { return Ok(Value::Nil) };
    let line_end = find_crlf(buf, *pos).unwrap_or(buf.len());
    let line = &buf[*pos + 1..line_end];
    *pos = (line_end + 2).min(buf.len());
    let num = || crate::util::num::parse_i64(line).unwrap_or(0);
    Ok(match kind {
        b':' => Value::Integer(num()),
        b'$' | b'=' | b'!' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let data = &buf[*pos..(*pos + n as usize).min(buf.len())];
            *pos = (*pos + n as usize + 2).min(buf.len());
            match kind {
                b'=' => {
                    let t = lua.create_table()?;
                    let (fmt, s) = if data.len() >= 4 { (&data[..3], &data[4..]) } else { (&b"txt"[..], data) };
                    t.raw_set("format", lua.create_string(fmt)?)?;
                    t.raw_set("string", lua.create_string(s)?)?;
                    single(lua, "verbatim_string", Value::Table(t))?
                }
                b'!' => single(lua, "err", Value::String(lua.create_string(data)?))?,
                _ => Value::String(lua.create_string(data)?),
            }
        }
        b'+' => single(lua, "ok", Value::String(lua.create_string(line)?))?,
        b'-' => single(lua, "err", Value::String(lua.create_string(line)?))?,
        b'*' | b'~' | b'>' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n as usize, 0)?;
            for i in 0..n {
                let v = resp_to_lua(lua, buf, pos)?;
                if kind == b'~' {
                    t.raw_set(v, true)?;
                } else {
                    t.raw_set(i + 1, v)?;
                }
            }
            if kind == b'~' {
                single(lua, "set", Value::Table(t))?
            } else {
                Value::Table(t)
            }
        }
        b'%' | b'|' => {
            let n = num();
            let t = lua.create_table()?;
            for _ in 0..n {
                let k = resp_to_lua(lua, buf, pos)?;
                let v = resp_to_lua(lua, buf, pos)?;
                t.raw_set(k, v)?;
            }
            if kind == b'|' {
                // An attribute precedes the real reply: skipped.
                return resp_to_lua(lua, buf, pos);
            }
            single(lua, "map", Value::Table(t))?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let d = std::str::from_utf8(line).ok().and_then(|s| parse_resp_double(s)).unwrap_or(0.0);
            single(lua, "double", Value::Number(d))?
        }
        b'(' => single(lua, "big_number", Value::String(lua.create_string(line)?))?,
        _ => Value::Nil,
    })
}

fn parse_resp_double(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn single(lua: &Lua, key: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(key, v)?;
    Ok(Value::Table(t))
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..].windows(2).position(|w| w == b"\r\n").map(|i| i + from)
}

/// Deepest table nesting a reply may have (a table holding itself would never end).
const MAX_DEPTH: usize = 1000;

/// Writes the script's return value as a reply.
/// `lua_resp3`: the script chose RESP3 (redis.setresp(3)): booleans stay booleans.
pub fn lua_to_resp(lua: &Lua, v: &Value, out: &mut Out, lua_resp3: bool) {
    let resp3 = out.resp3;
    write_value(lua, v, out, resp3, 0, lua_resp3)
}

fn write_value(lua: &Lua, v: &Value, out: &mut Out, resp3: bool, depth: usize, lua3: bool) {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(to_i64(*n)),
        Value::Boolean(b) if lua3 => {
            if resp3 {
                out.raw(if *b { b"#t\r\n" } else { b"#f\r\n" })
            } else {
                out.int(*b as i64)
            }
        }
        Value::Boolean(true) => out.int(1),
        Value::Boolean(false) | Value::Nil => out.null(),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                out.error("ERR reached lua stack limit");
                return;
            }
            write_table(lua, t, out, resp3, depth, lua3)
        }
        _ => out.null(),
    }
}

pub(super) fn to_i64(n: f64) -> i64 {
    if n.is_nan() {
        0
    } else {
        n as i64
    }
}

fn write_table(lua: &Lua, t: &Table, out: &mut Out, resp3: bool, depth: usize, lua3: bool) {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        if stats_counted(t) {
            out.error_uncounted(e.as_bytes());
        } else {
            out.error(e.as_bytes());
        }
        return;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let s: Vec<u8> = s.as_bytes().iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        out.raw(b"+");
        out.raw(&s);
        out.raw(b"\r\n");
        return;
    }
    if let Ok(d) = t.raw_get::<Value>("double") {
        if let Some(d) = match d {
            Value::Number(n) => Some(n),
            Value::Integer(i) => Some(i as f64),
            _ => None,
        } {
            out.double(d);
            return;
        }
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        let s: Vec<u8> = s.as_bytes().iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        if resp3 {
            out.raw(b"(");
            out.raw(&s);
            out.raw(b"\r\n");
        } else {
            out.bulk(&s);
        }
        return;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        // Counted, then written while iterating (each value held takes a Lua stack slot).
        out.map(m.clone().pairs::<Value, Value>().count());
        for (k, v) in m.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(lua, &k, out, resp3, depth + 1, lua3);
            write_value(lua, &v, out, resp3, depth + 1, lua3);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        out.set(s.clone().pairs::<Value, Value>().count());
        for (k, _) in s.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(lua, &k, out, resp3, depth + 1, lua3);
        }
        return;
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        let fmt: Option<mlua::String> = vt.raw_get("format").ok();
        let s: Option<mlua::String> = vt.raw_get("string").ok();
        if let (Some(fmt), Some(s)) = (fmt, s) {
            let s = s.as_bytes();
            if resp3 {
                out.raw(format!("={}\r\n", s.len() + 4).as_bytes());
                out.raw(&fmt.as_bytes());
                out.raw(b":");
                out.raw(&s);
                out.raw(b"\r\n");
            } else {
                out.bulk(&s);
            }
            return;
        }
    }
    let mut len = 0;
    while !matches!(t.raw_get::<Value>(len + 1), Ok(Value::Nil) | Err(_)) {
        len += 1;
    }
    out.array(len);
    for i in 1..=len {
        let v = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
        write_value(lua, &v, out, resp3, depth + 1, lua3);
    }
}

/// The reply for a script that failed: the error table's message, and where it failed.
pub fn error_reply(e: &Value, name: &str) -> Vec<u8> {
    let Value::Table(t) = e else {
        return b"ERR unknown error".to_vec();
    };
    let msg: Vec<u8> = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        Ok(Value::Integer(i)) => i.to_string().into_bytes(),
        Ok(Value::Number(n)) => lua_number_string(n).into_bytes(),
        _ => b"ERR unknown error".to_vec(),
    };
    let source: Option<String> = t.raw_get("source").ok();
    let line: Option<i64> = t.raw_get("line").ok();
    match (source, line) {
        (Some(s), Some(l)) => [&msg[..], format!(" script: {}, on {}:{}.", name, s, l).as_bytes()].concat(),
        _ => msg,
    }
}

/// The field Redis sets on the error table of a failed `redis.call` (the error was counted
/// in INFO errorstats when the command failed, so passing it on does not count it again).
pub const STATS_COUNTED: &str = "ignore_error_stats_update";

/// Whether an error table's error was already counted.
pub fn stats_counted(t: &Table) -> bool {
    matches!(t.raw_get::<Value>(STATS_COUNTED), Ok(Value::Boolean(true)))
}
