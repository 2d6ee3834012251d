//! The sparse encoding: the registers as a sequence of run-length opcodes.
//! - ZERO  `00llllll`: 1..=64 registers at zero (l = length - 1);
//! - XZERO `01llllll llllllll`: 1..=16384 registers at zero (14-bit length - 1, high bits
//!   first);
//! - VAL   `1vvvvvll`: 1..=4 registers at value 1..=32 (v = value - 1, l = length - 1).
//!
//! A well-formed body covers exactly 16384 registers. Values above 32 cannot be written
//! sparse: such an update (or one that would make the value longer than
//! `hll-sparse-max-bytes`) converts the value to dense first.

use super::{dense, invalidate_cache, to_dense, Corrupt, HDR, REGISTERS};

const ZERO_MAX: usize = 64;
const XZERO_MAX: usize = 16384;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
/// How many opcodes after an update are looked at for adjacent equal VALs to join.
const MERGE_SCAN: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Zero(usize),
    XZero(usize),
    Val { value: u8, len: usize },
}

impl Op {
    /// Registers covered (never zero).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) => n,
            Op::Val { len, .. } => len,
        }
    }

    /// Bytes taken in the encoding.
    fn size(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }
}

/// Decodes the opcode at `p`. A truncated XZERO reads its missing byte as 0 (as Redis, whose
/// strings are NUL-terminated, does).
fn op_at(body: &[u8], p: usize) -> Op {
    let b = body.get(p).copied().unwrap_or(0);
    match b & 0xc0 {
        0x00 => Op::Zero((b & 0x3f) as usize + 1),
        0x40 => {
            let lo = body.get(p + 1).copied().unwrap_or(0) as usize;
            Op::XZero((((b & 0x3f) as usize) << 8 | lo) + 1)
        }
        _ => Op::Val { value: ((b >> 2) & 0x1f) + 1, len: (b & 0x3) as usize + 1 },
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len as u8 - 1)
}

/// The opcodes of a sparse body, in order.
pub fn ops(body: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = 0;
    std::iter::from_fn(move || {
        if p >= body.len() {
            return None;
        }
        let op = op_at(body, p);
        p += op.size();
        Some(op)
    })
}

/// Appends the zero runs covering `n` registers (XZEROs of at most 16384).
pub fn push_zeros(v: &mut Vec<u8>, mut n: usize) {
    while n > 0 {
        let run = n.min(XZERO_MAX);
        push_zero_run(v, run);
        n -= run;
    }
}

/// One zero run of 1..=16384 registers: ZERO when it fits, else XZERO.
fn push_zero_run(v: &mut Vec<u8>, n: usize) {
    let l = n - 1;
    if n > ZERO_MAX {
        v.push(0x40 | ((l >> 8) & 0x3f) as u8);
        v.push((l & 0xff) as u8);
    } else {
        v.push(l as u8);
    }
}

/// Calls `f(first, op)` for each opcode of a body. Corrupt unless the runs cover exactly the
/// 16384 registers; `f` never sees a run past the last register (as Redis with the
/// CVE-2025-32023 fix, which the Redis 7.0.15 that distributions ship carries).
pub fn walk(body: &[u8], mut f: impl FnMut(usize, Op)) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    for op in ops(body) {
        if idx + op.len() > REGISTERS {
            return Err(Corrupt);
        }
        f(idx, op);
        idx += op.len();
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// How many registers hold each value.
pub fn histogram(body: &[u8]) -> Result<[u64; 64], Corrupt> {
    let mut hist = [0u64; 64];
    walk(body, |_, op| {
        let v = match op {
            Op::Val { value, .. } => value as usize,
            _ => 0,
        };
        hist[v] += op.len() as u64;
    })?;
    Ok(hist)
}

/// The `PFDEBUG DECODE` text: `z:N`, `Z:N` and `v:VALUE,N`, space separated.
pub fn decode(body: &[u8]) -> String {
    let parts: Vec<String> = ops(body)
        .map(|op| match op {
            Op::Zero(n) => format!("z:{}", n),
            Op::XZero(n) => format!("Z:{}", n),
            Op::Val { value, len } => format!("v:{},{}", value, len),
        })
        .collect();
    parts.join(" ")
}

/// The opcode covering register `index`: its offset in the full value, the first register
/// it covers, and the offset of the opcode before it.
struct Found {
    p: usize,
    first: usize,
    op: Op,
    prev: Option<usize>,
}

fn find(s: &[u8], index: usize) -> Option<Found> {
    let end = s.len();
    let (mut p, mut first, mut prev) = (HDR, 0usize, None);
    while p < end {
        let op = op_at(s, p);
        if index < first + op.len() {
            return Some(Found { p, first, op, prev });
        }
        prev = Some(p);
        p += op.size();
        first += op.len();
    }
    None
}

/// Raises register `index` of sparse value `s` to `count` if lower; Ok(true) when it
/// changed. Converts to dense when `count` is too large for a VAL or the value would grow
/// past `max_bytes`.
pub fn raise(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    let f = find(s, index).ok_or(Corrupt)?;
    match f.op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        // A run of one register: the opcode becomes the new VAL.
        Op::Val { len: 1, .. } | Op::Zero(1) => s[f.p] = val_byte(count, 1),
        op => {
            let seq = split(op, f.first, index, count);
            let grows = seq.len().saturating_sub(op.size());
            if grows > 0 && s.len() + grows > max_bytes {
                return promote(s, index, count);
            }
            // A truncated XZERO at the very end (corrupt input) ends past the value: the
            // value then grows by the same delta as for a whole one, as in Redis.
            let new_len = s.len() + seq.len() - op.size();
            let old_end = (f.p + op.size()).min(s.len());
            s.splice(f.p..old_end, seq);
            s.truncate(new_len);
        }
    }
    join_vals(s, f.prev.unwrap_or(HDR));
    invalidate_cache(s);
    Ok(true)
}

/// The opcodes replacing `op` (covering registers from `first`) once register `index` holds
/// `count`: the part before, the new VAL, the part after.
fn split(op: Op, first: usize, index: usize, count: u8) -> Vec<u8> {
    let last = first + op.len() - 1;
    let mut seq = Vec::with_capacity(5);
    let run = |seq: &mut Vec<u8>, n: usize| match op {
        Op::Val { value, .. } => seq.push(val_byte(value, n)),
        _ => push_zero_run(seq, n),
    };
    if index > first {
        run(&mut seq, index - first);
    }
    seq.push(val_byte(count, 1));
    if index < last {
        run(&mut seq, last - index);
    }
    seq
}

/// Joins adjacent VALs of equal value (up to 4 registers) among the few opcodes from `p`.
fn join_vals(s: &mut Vec<u8>, mut p: usize) {
    let mut budget = MERGE_SCAN;
    while p < s.len() && budget > 0 {
        budget -= 1;
        let op = op_at(s, p);
        if let (Op::Val { value: v1, len: l1 }, Some(&next)) = (op, s.get(p + 1)) {
            if let Op::Val { value: v2, len: l2 } = op_at(&[next], 0) {
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    s[p + 1] = val_byte(v1, l1 + l2);
                    s.remove(p);
                    // Stay here: the joined run may join the next one too.
                    continue;
                }
            }
        }
        p += op.size();
    }
}

/// Converts to dense, then sets the register (which necessarily grows).
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(s)?;
    let regs = s.get_mut(HDR..).unwrap_or(&mut []);
    dense::raise(regs, index, count);
    Ok(true)
}
