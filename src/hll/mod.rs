//! HyperLogLog values in Redis's exact byte layout (a plain string value).
//!
//! Layout: a 16-byte header, then the registers.
//! - bytes 0..4: the magic `HYLL`;
//! - byte 4: the encoding, 0 dense or 1 sparse;
//! - bytes 5..8: unused (zero in new values, kept as found);
//! - bytes 8..16: the cached cardinality, little-endian; the top bit of byte 15 set means the
//!   cache is stale.
//!
//! There are 2^14 registers of 6 bits. Dense values pack them LSB-first into 12288 bytes;
//! sparse values run-length encode them (see [`sparse`]). Elements are hashed with
//! MurmurHash64A (seed `0xadc83b19`): the low 14 bits choose the register, the position of the
//! lowest set bit in the remaining 50 (plus one) is the value offered to it.
//!
//! Everything here works on untrusted bytes (any string can claim to be a HyperLogLog):
//! corrupt input gives [`Corrupt`], never a panic.

pub mod dense;
pub mod estimate;
pub mod murmur;
pub mod sparse;

/// Bits of the hash that select a register.
pub const P: u32 = 14;
/// Bits of the hash left for the run of zeros.
pub const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
pub const HDR: usize = 16;
/// Size of a dense value: header plus 16384 registers of 6 bits.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
pub const ENC_DENSE: u8 = 0;
pub const ENC_SPARSE: u8 = 1;
/// Seed of the element hash.
pub const SEED: u32 = 0xadc8_3b19;

const MAGIC: &[u8; 4] = b"HYLL";
const CACHE_STALE: u8 = 0x80;

/// A value that passed the header check but whose registers are not well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Whether `s` looks like a HyperLogLog: the magic, a known encoding, and the exact size
/// when dense. (Sparse bodies are only checked when walked.)
pub fn valid_header(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == MAGIC
        && s[4] <= ENC_SPARSE
        && (s[4] != ENC_DENSE || s.len() == DENSE_SIZE)
}

/// The encoding byte (call on values that passed [`valid_header`]).
pub fn encoding(s: &[u8]) -> u8 {
    s.get(4).copied().unwrap_or(ENC_SPARSE)
}

pub fn is_sparse(s: &[u8]) -> bool {
    encoding(s) == ENC_SPARSE
}

/// A new, empty HyperLogLog: sparse, every register zero (one XZERO run), cache zero.
pub fn new_empty() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(MAGIC);
    v.push(ENC_SPARSE);
    v.resize(HDR, 0);
    sparse::push_zeros(&mut v, REGISTERS);
    v
}

/// The cached cardinality, if the cache is valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    let card: [u8; 8] = s.get(8..HDR)?.try_into().ok()?;
    (card[7] & CACHE_STALE == 0).then(|| u64::from_le_bytes(card))
}

pub fn set_cache(s: &mut [u8], card: u64) {
    if let Some(c) = s.get_mut(8..HDR) {
        c.copy_from_slice(&card.to_le_bytes());
    }
}

pub fn invalidate_cache(s: &mut [u8]) {
    if let Some(b) = s.get_mut(HDR - 1) {
        *b |= CACHE_STALE;
    }
}

/// The register an element falls in and the value it offers (1..=Q+1).
pub fn hash_element(e: &[u8]) -> (usize, u8) {
    let h = murmur::hash64a(e, SEED);
    let index = (h & (REGISTERS as u64 - 1)) as usize;
    // A sentinel bit bounds the run at Q zeros.
    let rest = (h >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Adds one element; Ok(true) when a register grew. May promote a sparse value to dense
/// when it would outgrow `sparse_max` bytes.
pub fn add(s: &mut Vec<u8>, e: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = hash_element(e);
    set_register(s, index, count, sparse_max)
}

/// Adds one element to a dense value in place; true when a register grew.
pub fn add_dense(s: &mut [u8], e: &[u8]) -> bool {
    let (index, count) = hash_element(e);
    dense::raise(regs_mut(s), index, count)
}

/// Raises register `index` to `count` if lower; Ok(true) when it changed.
pub fn set_register(s: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    match encoding(s) {
        ENC_DENSE => Ok(dense::raise(regs_mut(s), index, count)),
        ENC_SPARSE => sparse::raise(s, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

/// Converts a sparse value to dense in place (header, cache included, kept); Ok(true) when
/// it was sparse.
pub fn to_dense(s: &mut Vec<u8>) -> Result<bool, Corrupt> {
    if !is_sparse(s) {
        return Ok(false);
    }
    let (hdr, body) = (s.get(..HDR).ok_or(Corrupt)?, &s[HDR..]);
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(hdr);
    d[4] = ENC_DENSE;
    let regs = &mut d[HDR..];
    sparse::walk(body, |first, op| {
        if let sparse::Op::Val { value, len } = op {
            for r in first..first + len {
                dense::set(regs, r, value);
            }
        }
    })?;
    *s = d;
    Ok(true)
}

/// Folds a value into `max` (one byte per register): `max[i] = MAX(max[i], reg[i])`.
pub fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if !is_sparse(s) {
        let regs = regs(s);
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense::get(regs, i));
        }
        return Ok(());
    }
    sparse::walk(s.get(HDR..).ok_or(Corrupt)?, |first, op| {
        if let sparse::Op::Val { value, len } = op {
            for m in max.iter_mut().skip(first).take(len) {
                *m = (*m).max(value);
            }
        }
    })
}

/// The estimated cardinality of a value's registers (ignores the cache).
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    let hist = if is_sparse(s) { sparse::histogram(s.get(HDR..).ok_or(Corrupt)?)? } else { dense::histogram(regs(s)) };
    Ok(estimate::cardinality(&hist))
}

/// The estimated cardinality of registers held one per byte (a merge result).
pub fn count_bytes(regs: &[u8]) -> u64 {
    let mut hist = [0u64; 64];
    for &r in regs {
        hist[(r & 63) as usize] += 1;
    }
    estimate::cardinality(&hist)
}

/// Every register of a dense value, one per byte.
pub fn dense_registers(s: &[u8]) -> Vec<u8> {
    let regs = regs(s);
    (0..REGISTERS).map(|i| dense::get(regs, i)).collect()
}

fn regs(s: &[u8]) -> &[u8] {
    s.get(HDR..).unwrap_or(&[])
}

fn regs_mut(s: &mut [u8]) -> &mut [u8] {
    s.get_mut(HDR..).unwrap_or(&mut [])
}

/// PFSELFTEST: register packing and estimator error, dense and sparse side by side.
/// Err carries the TESTFAILED message.
pub fn self_test(rng: &mut impl rand::Rng, sparse_max: usize) -> Result<(), String> {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = rng.gen::<u8>() & 63;
            dense::set(&mut regs, i, *b);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let v = dense::get(&regs, i);
            if v != b {
                return Err(format!("TESTFAILED Register {} should be {} but is {}", i, b, v));
            }
        }
    }
    let mut dense_hll = new_empty();
    to_dense(&mut dense_hll).map_err(|_| "TESTFAILED dense conversion".to_string())?;
    let mut sparse_hll = new_empty();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let seed: u64 = rng.gen();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let e = (j ^ seed).to_le_bytes();
        let (index, c) = hash_element(&e);
        dense::raise(regs_mut(&mut dense_hll), index, c);
        set_register(&mut sparse_hll, index, c, sparse_max).map_err(|_| "TESTFAILED corrupt sparse".to_string())?;
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max / 2 && !is_sparse(&sparse_hll) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense_hll).map_err(|_| "TESTFAILED corrupt dense".to_string())?;
        if count(&sparse_hll) != Ok(card) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = checkpoint.abs_diff(card);
        let maxerr = if j == 10 { 1 } else { (relerr * 6.0 * checkpoint as f64).ceil() as u64 };
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{} abserr:{}", checkpoint, abserr));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
