//! Bitmap commands over string values (Redis's bitops.c): BITCOUNT, BITPOS, BITOP, BITFIELD,
//! BITFIELD_RO. SETBIT and GETBIT live with the other string commands.
//!
//! Bits are numbered from the most significant bit of the first byte, as Redis numbers them.

use super::Route::Keyspace as K;
use super::{eq, err};
use crate::config::notify as N;
use crate::keyspace::{thin::Thin, Ctx, Keyspace, Value};
use crate::util::num;
use bytes::Bytes;

crate::command_specs! {
    "bitcount", -2, "readonly", 1, 1, 1, "bitmap", K(bitcount), "Count set bits in a string";
    "bitpos", -3, "readonly", 1, 1, 1, "bitmap", K(bitpos), "Find first bit set or clear in a string";
    "bitop", -4, "write denyoom", 2, -1, 1, "bitmap", K(bitop), "Perform bitwise operations between strings";
    "bitfield", -2, "write denyoom", 1, 1, 1, "bitmap", K(bitfield), "Perform arbitrary bitfield integer operations on strings";
    "bitfield_ro", -2, "readonly fast", 1, 1, 1, "bitmap", K(bitfield_ro), "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD";
}

/// The string at `key` for reading: `Ok(None)` when missing, `Err` (after replying) on
/// wrong type.
fn read<'k>(ks: &'k mut Keyspace, ctx: &mut Ctx, key: &[u8]) -> Result<Option<&'k [u8]>, ()> {
    super::strings::read_str(ks, ctx, key)
}

/// A `start end [BYTE|BIT]` range resolved against a string of `len` bytes, as Redis
/// resolves it: negative indexes from the end, clamped, in bits from here on. None for an
/// empty range.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    let total = if in_bits { (len as i64) << 3 } else { len as i64 };
    let fix = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (fix(start), fix(end).min(total - 1));
    if start > end {
        return None;
    }
    Some(if in_bits { (start as u64, end as u64) } else { ((start as u64) << 3, ((end as u64) << 3) | 7) })
}

/// Counts the set bits from bit `from` to bit `to` (inclusive).
fn count_bits(s: &[u8], from: u64, to: u64) -> u64 {
    let (first, last) = ((from >> 3) as usize, (to >> 3) as usize);
    let head_mask = 0xffu8 >> (from & 7);
    let tail_mask = 0xffu8 << (7 - (to & 7));
    if first == last {
        return (s[first] & head_mask & tail_mask).count_ones() as u64;
    }
    let mut n = (s[first] & head_mask).count_ones() as u64 + (s[last] & tail_mask).count_ones() as u64;
    let middle = &s[first + 1..last];
    let (words, rest) = middle.split_at(middle.len() & !7);
    n += words.chunks_exact(8).map(|w| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones() as u64).sum::<u64>();
    n + rest.iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Parses the optional BYTE|BIT unit.
fn unit(ctx: &mut Ctx, a: Option<&Bytes>) -> Option<bool> {
    match a {
        None => Some(false),
        Some(u) if eq(u, "BIT") => Some(true),
        Some(u) if eq(u, "BYTE") => Some(false),
        Some(_) => {
            ctx.error(err::SYNTAX);
            None
        }
    }
}

fn int_arg(ctx: &mut Ctx, a: &[u8]) -> Option<i64> {
    let v = num::parse_i64(a);
    if v.is_none() {
        ctx.error(err::NOT_INT);
    }
    v
}

/// `BITCOUNT key [start end [BYTE|BIT]]`. As Redis 7.0, a missing key answers 0 before the
/// arguments are looked at.
pub fn bitcount(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let s = match read(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => s,
    };
    let range = match a.len() {
        2 => bit_range(s.len(), 0, -1, false),
        4 | 5 => {
            let Some(start) = int_arg(ctx, &a[2]) else { return };
            let Some(end) = int_arg(ctx, &a[3]) else { return };
            let Some(in_bits) = unit(ctx, a.get(4)) else { return };
            if start < 0 && end < 0 && start > end {
                return ctx.out.int(0);
            }
            bit_range(s.len(), start, end, in_bits)
        }
        _ => return ctx.error(err::SYNTAX),
    };
    let n = range.map_or(0, |(from, to)| count_bits(s, from, to));
    ctx.out.int(n as i64);
}

/// First bit equal to `bit` from bit `from` to bit `to` (inclusive).
fn find_bit(s: &[u8], bit: bool, from: u64, to: u64) -> Option<u64> {
    let mut i = from;
    while i <= to {
        let byte = s[(i >> 3) as usize];
        let byte = if bit { byte } else { !byte };
        if i & 7 == 0 && to - i >= 7 {
            // A whole byte in range: skip it at once when it has no candidate.
            if byte == 0 {
                i += 8;
                continue;
            }
            return Some(i + byte.leading_zeros() as u64);
        }
        if byte & (0x80 >> (i & 7)) != 0 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`. A missing key is all zeros; looking for a 0
/// without an explicit end finds the first bit past the string.
pub fn bitpos(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    let bit = match num::parse_i64(&a[2]) {
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return ctx.error("ERR The bit argument must be 1 or 0."),
        None => return ctx.error(err::NOT_INT),
    };
    let s = match read(ks, ctx, &a[1]) {
        Err(()) => return,
        Ok(None) => return ctx.out.int(if bit { -1 } else { 0 }),
        Ok(Some(s)) => s,
    };
    if a.len() > 6 {
        return ctx.error(err::SYNTAX);
    }
    let mut end_given = false;
    let range = if a.len() == 3 {
        bit_range(s.len(), 0, -1, false)
    } else {
        let Some(start) = int_arg(ctx, &a[3]) else { return };
        let Some(in_bits) = unit(ctx, a.get(5)) else { return };
        let end = match a.get(4) {
            Some(e) => {
                let Some(e) = int_arg(ctx, e) else { return };
                end_given = true;
                e
            }
            None => -1,
        };
        bit_range(s.len(), start, end, in_bits)
    };
    let Some((from, to)) = range else { return ctx.out.int(-1) };
    let pos = match find_bit(s, bit, from, to) {
        Some(p) => p as i64,
        // No 0 in the range: without an end, the string continues with zeros.
        None if !bit && !end_given => to as i64 + 1,
        None => -1,
    };
    ctx.out.int(pos);
}

/// `BITOP AND|OR|XOR|NOT destkey key [key ...]`: missing keys are empty strings (zeros);
/// an empty result deletes the destination.
pub fn bitop(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    #[derive(PartialEq, Clone, Copy)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = match &a[1] {
        o if eq(o, "AND") => Op::And,
        o if eq(o, "OR") => Op::Or,
        o if eq(o, "XOR") => Op::Xor,
        o if eq(o, "NOT") => Op::Not,
        _ => return ctx.error(err::SYNTAX),
    };
    if op == Op::Not && a.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    let mut srcs: Vec<Bytes> = Vec::with_capacity(a.len() - 3);
    for k in &a[3..] {
        match ks.lookup_read(ctx, k) {
            None => srcs.push(Bytes::new()),
            Some(Value::Str(s)) => srcs.push(s.to_bytes()),
            Some(_) => return ctx.error(err::WRONGTYPE),
        }
    }
    let len = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let dest = &a[2];
    if len == 0 {
        if ks.delete(ctx, dest) {
            ks.notify(ctx, N::GENERIC, "del", dest);
        }
        return ctx.out.int(0);
    }
    let mut res = Thin::zeroed(len);
    let out = res.as_mut_slice();
    let byte = |s: &Bytes, j: usize| s.get(j).copied().unwrap_or(0);
    for (j, o) in out.iter_mut().enumerate() {
        let mut v = byte(&srcs[0], j);
        match op {
            Op::Not => v = !v,
            Op::And => srcs[1..].iter().for_each(|s| v &= byte(s, j)),
            Op::Or => srcs[1..].iter().for_each(|s| v |= byte(s, j)),
            Op::Xor => srcs[1..].iter().for_each(|s| v ^= byte(s, j)),
        }
        *o = v;
    }
    ks.set_key(ctx, dest, Value::Str(res), false);
    ks.mark_raw(ctx.db, dest);
    ks.notify(ctx, N::STRING, "set", dest);
    ctx.out.int(len as i64);
}

/// An integer type of BITFIELD: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy)]
struct Field {
    signed: bool,
    bits: u32,
}

impl Field {
    fn parse(a: &[u8]) -> Option<Field> {
        let signed = match a.first()? {
            b'i' => true,
            b'u' => false,
            _ => return None,
        };
        let bits = num::parse_i64(&a[1..])?;
        let max = if signed { 64 } else { 63 };
        (1..=max).contains(&bits).then_some(Field { signed, bits: bits as u32 })
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// `v` wrapped into the type (two's complement for signed types).
    fn wrap(self, v: i128) -> i128 {
        let m = v.rem_euclid(1i128 << self.bits);
        if self.signed && m > self.max() {
            m - (1i128 << self.bits)
        } else {
            m
        }
    }

    /// Reads the field at bit `offset`; bits past the end of `s` read as 0.
    fn get(self, s: &[u8], offset: u64) -> i128 {
        let mut v: u64 = 0;
        for i in 0..self.bits as u64 {
            let bit = offset + i;
            let b = s.get((bit >> 3) as usize).map_or(0, |b| (b >> (7 - (bit & 7))) & 1);
            v = (v << 1) | b as u64;
        }
        if self.signed && self.bits < 64 && v >> (self.bits - 1) & 1 == 1 {
            (v as i128) - (1i128 << self.bits)
        } else if self.signed {
            v as i64 as i128
        } else {
            v as i128
        }
    }

    /// Writes `v` (already in range) at bit `offset` of `s`, which is long enough.
    fn set(self, s: &mut [u8], offset: u64, v: i128) {
        let raw = v as u64;
        for i in 0..self.bits as u64 {
            let bit = offset + i;
            let on = (raw >> (self.bits as u64 - 1 - i)) & 1;
            let byte = &mut s[(bit >> 3) as usize];
            let shift = 7 - (bit & 7);
            *byte = (*byte & !(1 << shift)) | ((on as u8) << shift);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct BitfieldOp {
    op: FieldOp,
    field: Field,
    offset: u64,
    overflow: Overflow,
}

/// Parses BITFIELD's subcommands; None after replying with the error.
fn parse_bitfield(ks: &Keyspace, ctx: &mut Ctx, a: &[Bytes]) -> Option<Vec<BitfieldOp>> {
    const TYPE_ERR: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    let max_bytes = ks.shared.hot.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed).max(0) as u64;
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let rem = a.len() - j - 1;
        let sub = &a[j];
        let kind = if eq(sub, "GET") && rem >= 2 {
            0
        } else if eq(sub, "SET") && rem >= 3 {
            1
        } else if eq(sub, "INCRBY") && rem >= 3 {
            2
        } else if eq(sub, "OVERFLOW") && rem >= 1 {
            overflow = match &a[j + 1] {
                o if eq(o, "WRAP") => Overflow::Wrap,
                o if eq(o, "SAT") => Overflow::Sat,
                o if eq(o, "FAIL") => Overflow::Fail,
                _ => {
                    ctx.error("ERR Invalid OVERFLOW type specified");
                    return None;
                }
            };
            j += 2;
            continue;
        } else {
            ctx.error(err::SYNTAX);
            return None;
        };
        let Some(field) = Field::parse(&a[j + 1]) else {
            ctx.error(TYPE_ERR);
            return None;
        };
        let Some(offset) = field_offset(&a[j + 2], field.bits, max_bytes) else {
            ctx.error("ERR bit offset is not an integer or out of range");
            return None;
        };
        let op = if kind == 0 {
            FieldOp::Get
        } else {
            let v = int_arg(ctx, &a[j + 3])?;
            if kind == 1 {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        ops.push(BitfieldOp { op, field, offset, overflow });
        j += if kind == 0 { 3 } else { 4 };
    }
    Some(ops)
}

/// A BITFIELD offset: bits, or `#n` for the n-th field of this width; under
/// proto-max-bulk-len bytes.
fn field_offset(a: &[u8], bits: u32, max_bytes: u64) -> Option<u64> {
    let (hash, digits) = match a.first() {
        Some(b'#') => (true, &a[1..]),
        _ => (false, a),
    };
    let n = num::parse_i64(digits)?;
    let n = if hash { n.checked_mul(bits as i64)? } else { n };
    (n >= 0 && ((n as u64) >> 3) < max_bytes).then_some(n as u64)
}

pub fn bitfield(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    run_bitfield(ks, ctx, a, false)
}

pub fn bitfield_ro(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes]) {
    run_bitfield(ks, ctx, a, true)
}

/// `BITFIELD key [GET type offset] [OVERFLOW WRAP|SAT|FAIL] [SET type offset value]
/// [INCRBY type offset increment] ...`: one reply per GET/SET/INCRBY; a FAIL overflow
/// answers nil and writes nothing. As Redis, the string is created or grown to the farthest
/// bit written before the operations run.
fn run_bitfield(ks: &mut Keyspace, ctx: &mut Ctx, a: &[Bytes], read_only: bool) {
    let Some(ops) = parse_bitfield(ks, ctx, a) else { return };
    let highest = ops.iter().filter(|o| !matches!(o.op, FieldOp::Get)).map(|o| o.offset + o.field.bits as u64 - 1).max();
    let Some(highest) = highest else {
        // Only GETs: a read.
        let s = match read(ks, ctx, &a[1]) {
            Err(()) => return,
            Ok(s) => s.unwrap_or(&[]),
        };
        ctx.out.array(ops.len());
        for o in &ops {
            ctx.out.int(o.field.get(s, o.offset) as i64);
        }
        return;
    };
    if read_only {
        return ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let key = &a[1];
    let need = (highest >> 3) as usize + 1;
    // Whether the string was created or grown: then every write counts as a change, else
    // only writes that change the field (as Redis 7.0.15).
    let grown = match ks.lookup_write(ctx, key) {
        Some(Value::Str(s)) => {
            let grows = s.len() < need;
            s.grow_zeroed(need);
            grows
        }
        Some(_) => return ctx.error(err::WRONGTYPE),
        None => {
            // Created even when every write fails (as Redis's dbAdd, which is no change).
            ks.set_key(ctx, key, Value::Str(Thin::zeroed(need)), false);
            ctx.dirty -= 1;
            true
        }
    };
    ks.mark_raw(ctx.db, key);
    let Some(Value::Str(s)) = ks.lookup_write(ctx, key) else { return };
    let buf = s.as_mut_slice();
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    let mut changes = 0u64;
    for o in &ops {
        let f = o.field;
        let old = f.get(buf, o.offset);
        let (target, answer_new) = match o.op {
            FieldOp::Get => {
                replies.push(Some(old as i64));
                continue;
            }
            // An unsigned SET takes the 64-bit pattern of the value, as Redis's cast.
            FieldOp::Set(v) if !f.signed => (v as u64 as i128, false),
            FieldOp::Set(v) => (v as i128, false),
            FieldOp::IncrBy(by) => (old + by as i128, true),
        };
        let new = if (f.min()..=f.max()).contains(&target) {
            target
        } else {
            match o.overflow {
                Overflow::Wrap => f.wrap(target),
                Overflow::Sat if target > f.max() => f.max(),
                Overflow::Sat => f.min(),
                Overflow::Fail => {
                    replies.push(None);
                    continue;
                }
            }
        };
        f.set(buf, o.offset, new);
        if grown || new != old {
            changes += 1;
        }
        replies.push(Some(if answer_new { new } else { old } as i64));
    }
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    if changes > 0 {
        ks.modified(ctx, key);
        ctx.dirty += changes - 1;
        ks.notify(ctx, N::STRING, "setbit", key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_msb_first() {
        let mut s = vec![0u8; 3];
        let u5 = Field { signed: false, bits: 5 };
        u5.set(&mut s, 3, 0b10110);
        assert_eq!(s, [0b0001_0110, 0, 0]);
        assert_eq!(u5.get(&s, 3), 0b10110);
        let i8f = Field { signed: true, bits: 8 };
        i8f.set(&mut s, 4, -1);
        assert_eq!(i8f.get(&s, 4), -1);
        assert_eq!(i8f.wrap(128), -128);
        assert_eq!(i8f.wrap(-129), 127);
        let i64f = Field { signed: true, bits: 64 };
        let mut w = vec![0u8; 9];
        i64f.set(&mut w, 1, i64::MIN as i128);
        assert_eq!(i64f.get(&w, 1), i64::MIN as i128);
        assert_eq!(i64f.wrap(i64::MAX as i128 + 1), i64::MIN as i128);
    }

    #[test]
    fn counts_and_finds_bits() {
        let s = [0xffu8, 0x0f, 0x00, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let total: u64 = s.iter().map(|b| b.count_ones() as u64).sum();
        assert_eq!(count_bits(&s, 0, s.len() as u64 * 8 - 1), total);
        assert_eq!(count_bits(&s, 4, 11), 4);
        assert_eq!(count_bits(&s, 4, 15), 8);
        assert_eq!(find_bit(&s, false, 0, 95), Some(8));
        assert_eq!(find_bit(&s, true, 16, 95), Some(24));
        assert_eq!(find_bit(&s, true, 25, 30), None);
    }
}
