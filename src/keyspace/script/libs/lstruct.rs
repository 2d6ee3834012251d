//! `struct`: pack/unpack/size of binary records (formats `<` `>` `=` `!`, `x`, `b` `B`, `h`
//! `H`, `l` `L`, `T`, `i[n]` `I[n]`, `f`, `d`, `s`, `c[n]`), as the struct library documents.

use super::{num, rt};
use mlua::{Lua, MultiValue, Table, Value};

struct Fmt<'a> {
    f: &'a [u8],
    pos: usize,
    little: bool,
}

enum Item {
    Int { size: usize, signed: bool },
    Float,
    Double,
    Pad,
    Zstr,
    Chars(Option<usize>),
}

impl Fmt<'_> {
    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.pos < self.f.len() && self.f[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        std::str::from_utf8(&self.f[start..self.pos]).ok()?.parse().ok()
    }

    fn next(&mut self) -> mlua::Result<Option<Item>> {
        while self.pos < self.f.len() {
            let c = self.f[self.pos];
            self.pos += 1;
            let item = match c {
                b'<' | b'=' => {
                    self.little = true;
                    continue;
                }
                b'>' => {
                    self.little = false;
                    continue;
                }
                b'!' => {
                    self.number();
                    continue;
                }
                b' ' => continue,
                b'x' => Item::Pad,
                b'b' | b'B' => Item::Int { size: 1, signed: c == b'b' },
                b'h' | b'H' => Item::Int { size: 2, signed: c == b'h' },
                b'l' | b'L' | b'T' => Item::Int { size: 8, signed: c == b'l' },
                b'i' | b'I' => {
                    let size = self.number().unwrap_or(4);
                    if size == 0 || size > 8 {
                        return Err(rt(format!("integral size {} is larger than limit of 8", size)));
                    }
                    Item::Int { size, signed: c == b'i' }
                }
                b'f' => Item::Float,
                b'd' => Item::Double,
                b's' => Item::Zstr,
                b'c' => Item::Chars(self.number()),
                _ => return Err(rt(format!("invalid format option '{}'", c as char))),
            };
            return Ok(Some(item));
        }
        Ok(None)
    }
}

fn put_int(v: i64, size: usize, little: bool, out: &mut Vec<u8>) {
    let bytes = v.to_le_bytes();
    let mut b = bytes[..size].to_vec();
    if !little {
        b.reverse();
    }
    out.extend_from_slice(&b);
}

pub fn table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(|lua, a: MultiValue| {
        let Some(Value::String(fmt)) = a.front() else { return Err(rt("bad argument #1 to 'pack' (string expected)")) };
        let fb = fmt.as_bytes();
        let mut f = Fmt { f: &fb, pos: 0, little: true };
        let mut out = Vec::new();
        let mut arg = 1;
        let mut next_arg = |n: &str| -> mlua::Result<Value> {
            let v = a.get(arg).cloned().ok_or_else(|| rt(format!("bad argument #{} to 'pack' ({} expected, got no value)", arg + 1, n)))?;
            arg += 1;
            Ok(v)
        };
        while let Some(item) = f.next()? {
            match item {
                Item::Pad => out.push(0),
                Item::Int { size, .. } => {
                    let v = num(&next_arg("number")?).ok_or_else(|| rt("bad argument to 'pack' (number expected)"))?;
                    put_int(v as i64, size, f.little, &mut out);
                }
                Item::Float => {
                    let v = num(&next_arg("number")?).unwrap_or(0.0) as f32;
                    out.extend_from_slice(&if f.little { v.to_le_bytes() } else { v.to_be_bytes() });
                }
                Item::Double => {
                    let v = num(&next_arg("number")?).unwrap_or(0.0);
                    out.extend_from_slice(&if f.little { v.to_le_bytes() } else { v.to_be_bytes() });
                }
                Item::Zstr | Item::Chars(_) => {
                    let Value::String(s) = next_arg("string")? else { return Err(rt("bad argument to 'pack' (string expected)")) };
                    let s = s.as_bytes();
                    match item {
                        Item::Zstr => {
                            out.extend_from_slice(&s);
                            out.push(0);
                        }
                        Item::Chars(Some(n)) if n > 0 => {
                            if s.len() < n {
                                return Err(rt("bad argument to 'pack' (string too short)"));
                            }
                            out.extend_from_slice(&s[..n]);
                        }
                        _ => out.extend_from_slice(&s),
                    }
                }
            }
        }
        lua.create_string(&out)
    })?)?;
    t.raw_set("unpack", lua.create_function(|lua, (fmt, data, init): (mlua::String, mlua::String, Option<i64>)| {
        let fb = fmt.as_bytes();
        let d = data.as_bytes();
        let mut f = Fmt { f: &fb, pos: 0, little: true };
        let mut pos = (init.unwrap_or(1).max(1) - 1) as usize;
        let mut vals: Vec<Value> = Vec::new();
        let need = |pos: usize, n: usize| -> mlua::Result<()> {
            if pos + n > d.len() {
                Err(rt("bad argument #2 to 'unpack' (data string too short)"))
            } else {
                Ok(())
            }
        };
        while let Some(item) = f.next()? {
            match item {
                Item::Pad => pos += 1,
                Item::Int { size, signed } => {
                    need(pos, size)?;
                    let mut b = d[pos..pos + size].to_vec();
                    if !f.little {
                        b.reverse();
                    }
                    let mut v: u64 = 0;
                    for (i, x) in b.iter().enumerate() {
                        v |= (*x as u64) << (8 * i);
                    }
                    let v = if signed && size < 8 && v & (1 << (size * 8 - 1)) != 0 { (v | (!0u64 << (size * 8))) as i64 as f64 } else if signed { v as i64 as f64 } else { v as f64 };
                    vals.push(Value::Number(v));
                    pos += size;
                }
                Item::Float => {
                    need(pos, 4)?;
                    let b: [u8; 4] = d[pos..pos + 4].try_into().unwrap_or([0; 4]);
                    vals.push(Value::Number(if f.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) } as f64));
                    pos += 4;
                }
                Item::Double => {
                    need(pos, 8)?;
                    let b: [u8; 8] = d[pos..pos + 8].try_into().unwrap_or([0; 8]);
                    vals.push(Value::Number(if f.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
                    pos += 8;
                }
                Item::Zstr => {
                    let end = d[pos.min(d.len())..].iter().position(|&b| b == 0).map(|i| pos + i).ok_or_else(|| rt("unfinished string in data"))?;
                    vals.push(Value::String(lua.create_string(&d[pos..end])?));
                    pos = end + 1;
                }
                Item::Chars(n) => {
                    let n = match n {
                        Some(0) | None => {
                            // c0: the length is the previous value read.
                            let Some(prev) = vals.pop().as_ref().and_then(num) else { return Err(rt("format 'c0' needs a previous size")) };
                            prev as usize
                        }
                        Some(n) => n,
                    };
                    need(pos, n)?;
                    vals.push(Value::String(lua.create_string(&d[pos..pos + n])?));
                    pos += n;
                }
            }
        }
        vals.push(Value::Integer(pos as i64 + 1));
        Ok(MultiValue::from_iter(vals))
    })?)?;
    t.raw_set("size", lua.create_function(|_, fmt: mlua::String| {
        let fb = fmt.as_bytes();
        let mut f = Fmt { f: &fb, pos: 0, little: true };
        let mut size = 0usize;
        while let Some(item) = f.next()? {
            size += match item {
                Item::Pad => 1,
                Item::Int { size, .. } => size,
                Item::Float => 4,
                Item::Double => 8,
                Item::Chars(Some(n)) => n,
                Item::Zstr | Item::Chars(None) => return Err(rt("options 'c0' - 's' have undefined sizes")),
            };
        }
        Ok(size as i64)
    })?)?;
    Ok(t)
}
