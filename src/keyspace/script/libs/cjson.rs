//! `cjson`: JSON encode/decode with lua-cjson's rules (numbers as `%.14g`, `/` escaped,
//! sparse-array detection, depth limits, `cjson.null`) and its settings functions.

use super::{num, rt};
use crate::keyspace::script::convert::lua_number_string;
use mlua::{LightUserData, Lua, MultiValue, Table, Value};
use std::sync::{Arc, Mutex};

struct Settings {
    encode_max_depth: usize,
    decode_max_depth: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    sparse_convert: bool,
    sparse_ratio: usize,
    sparse_safe: usize,
    precision: usize,
    keep_buffer: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            precision: 14,
            keep_buffer: true,
        }
    }
}

type Shared = Arc<Mutex<Settings>>;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let s: Shared = Default::default();
    let st = s.clone();
    t.raw_set("encode", lua.create_function(move |lua, a: MultiValue| {
        if a.len() != 1 {
            return Err(rt("bad argument #1 to 'encode' (expected 1 argument)"));
        }
        let cfg = st.lock().map_err(|_| rt("cjson settings"))?;
        let mut out = Vec::new();
        encode(lua, &a[0], &cfg, 0, &mut out)?;
        lua.create_string(&out)
    })?)?;
    let st = s.clone();
    t.raw_set("decode", lua.create_function(move |lua, a: MultiValue| {
        let Some(Value::String(text)) = a.front() else {
            return Err(rt("bad argument #1 to 'decode' (string expected)"));
        };
        let max_depth = st.lock().map_err(|_| rt("cjson settings"))?.decode_max_depth;
        let bytes = text.as_bytes();
        let mut p = Parser { lua, s: &bytes, pos: 0, depth: 0, max_depth };
        let v = p.value()?;
        p.ws();
        if p.pos < p.s.len() {
            return Err(p.err("the end", p.token_name()));
        }
        Ok(v)
    })?)?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    macro_rules! int_setting {
        ($name:literal, $field:ident, $min:expr, $max:expr) => {{
            let st = s.clone();
            t.raw_set($name, lua.create_function(move |_, a: MultiValue| {
                let mut cfg = st.lock().map_err(|_| rt("cjson settings"))?;
                if let Some(v) = a.front().and_then(num) {
                    let v = v as i64;
                    if v < $min || v > $max {
                        return Err(rt(format!("bad argument #1 to '{}' (expected integer between {} and {})", $name, $min, $max)));
                    }
                    cfg.$field = v as usize;
                }
                Ok(cfg.$field as i64)
            })?)?;
        }};
    }
    int_setting!("encode_max_depth", encode_max_depth, 1, i32::MAX as i64);
    int_setting!("decode_max_depth", decode_max_depth, 1, i32::MAX as i64);
    int_setting!("encode_number_precision", precision, 1, 14);
    macro_rules! bool_setting {
        ($name:literal, $field:ident) => {{
            let st = s.clone();
            t.raw_set($name, lua.create_function(move |_, a: MultiValue| {
                let mut cfg = st.lock().map_err(|_| rt("cjson settings"))?;
                match a.front() {
                    Some(Value::Boolean(b)) => cfg.$field = *b,
                    Some(Value::String(s)) if s.as_bytes().as_ref() == b"on" => cfg.$field = true,
                    Some(Value::String(s)) if s.as_bytes().as_ref() == b"off" => cfg.$field = false,
                    _ => {}
                }
                Ok(cfg.$field)
            })?)?;
        }};
    }
    bool_setting!("encode_invalid_numbers", encode_invalid_numbers);
    bool_setting!("decode_invalid_numbers", decode_invalid_numbers);
    bool_setting!("encode_keep_buffer", keep_buffer);
    let st = s.clone();
    t.raw_set("encode_sparse_array", lua.create_function(move |_, a: MultiValue| {
        let mut cfg = st.lock().map_err(|_| rt("cjson settings"))?;
        if let Some(Value::Boolean(b)) = a.front() {
            cfg.sparse_convert = *b;
        }
        if let Some(v) = a.get(1).and_then(num) {
            cfg.sparse_ratio = v as usize;
        }
        if let Some(v) = a.get(2).and_then(num) {
            cfg.sparse_safe = v as usize;
        }
        Ok((cfg.sparse_convert, cfg.sparse_ratio as i64, cfg.sparse_safe as i64))
    })?)?;
    Ok(t)
}

fn encode_number(n: f64, cfg: &Settings, out: &mut Vec<u8>) -> mlua::Result<()> {
    if n.is_nan() || n.is_infinite() {
        if !cfg.encode_invalid_numbers {
            return Err(rt("Cannot serialise number: must not be NaN or Inf"));
        }
        out.extend_from_slice(if n.is_nan() { b"nan" } else if n > 0.0 { b"inf" } else { b"-inf" });
        return Ok(());
    }
    let s = if cfg.precision == 14 { lua_number_string(n) } else { format_g(n, cfg.precision) };
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// `%.<p>g`.
pub(crate) fn format_g(n: f64, p: usize) -> String {
    if n == 0.0 {
        return "0".into();
    }
    let exp = n.abs().log10().floor() as i32;
    if exp < -4 || exp >= p as i32 {
        let s = format!("{:.*e}", p - 1, n);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        let e: i32 = e.parse().unwrap_or(0);
        format!("{}e{}{:02}", m, if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let d = (p as i32 - 1 - exp).max(0) as usize;
        let s = format!("{:.*}", d, n);
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    }
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// The array length of a table when every key is a positive integer (None: an object).
fn array_len(t: &Table, cfg: &Settings) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut count = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let idx = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(idx);
        count += 1;
    }
    if cfg.sparse_ratio > 0 && max > cfg.sparse_safe && max > count * cfg.sparse_ratio {
        if !cfg.sparse_convert {
            return Err(rt("Cannot serialise table: excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn encode(lua: &Lua, v: &Value, cfg: &Settings, depth: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(*i as f64, cfg, out)?,
        Value::Number(n) => encode_number(*n, cfg, out)?,
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(rt(format!("Cannot serialise, excessive nesting ({})", depth)));
            }
            match array_len(t, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(lua, &t.raw_get::<Value>(i)?, cfg, depth, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(&s.as_bytes(), out),
                            Value::Integer(_) | Value::Number(_) => {
                                out.push(b'"');
                                encode_number(num(&k).unwrap_or(0.0), cfg, out)?;
                                out.push(b'"');
                            }
                            _ => return Err(rt("Cannot serialise table: table key must be a number or string")),
                        }
                        out.push(b':');
                        encode(lua, &val, cfg, depth, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(rt(format!("Cannot serialise {}: type not supported", other.type_name()))),
    }
    Ok(())
}

struct Parser<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn token_name(&self) -> &'static str {
        match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            _ => "invalid token",
        }
    }

    fn err(&self, expected: &str, found: &str) -> mlua::Error {
        rt(format!("Expected {} but found {} at character {}", expected, found, self.pos + 1))
    }

    fn value(&mut self) -> mlua::Result<Value> {
        self.ws();
        let Some(&c) = self.s.get(self.pos) else { return Err(self.err("value", "T_END")) };
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            b'-' | b'0'..=b'9' | b'i' | b'n' | b'I' | b'N' => self.number(),
            _ => Err(self.err("value", "invalid token")),
        }
    }

    fn enter(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(rt(format!("Found too many nested data structures ({}) at character {}", self.depth, self.pos + 1)));
        }
        Ok(())
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.err("object key string", self.token_name()));
            }
            let k = self.string()?;
            self.ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.err("colon", self.token_name()));
            }
            self.pos += 1;
            let v = self.value()?;
            t.raw_set(self.lua.create_string(&k)?, v)?;
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("comma or object end", self.token_name())),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        self.pos += 1;
        let t = self.lua.create_table()?;
        self.ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value()?;
            t.raw_set(i, v)?;
            i += 1;
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("comma or array end", self.token_name())),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                self.pos = start;
                return Err(self.err("value", "invalid token"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else { return Err(self.err("value", "invalid token")) };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) && self.s[self.pos..].starts_with(b"\\u") {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => {
                            self.pos = start;
                            return Err(self.err("value", "invalid escape code"));
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let h = self.s.get(self.pos..self.pos + 4).ok_or_else(|| self.err("value", "invalid unicode escape code"))?;
        let v = u32::from_str_radix(std::str::from_utf8(h).unwrap_or("x"), 16).map_err(|_| self.err("value", "invalid unicode escape code"))?;
        self.pos += 4;
        Ok(v)
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len() && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'n' | b'I' | b'N') {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(n) if !text.eq_ignore_ascii_case("inf") && !text.eq_ignore_ascii_case("nan") || true => Ok(Value::Number(n)),
            _ => {
                self.pos = start;
                Err(self.err("value", "invalid number"))
            }
        }
    }
}
