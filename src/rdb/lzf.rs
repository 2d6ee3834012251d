//! LZF compression, bit-compatible with the format Redis reads and writes.
//!
//! Stream format: a control byte `c`.
//! * `c < 32`: a literal run of `c + 1` bytes follows.
//! * otherwise a back reference: `len = c >> 5` (if 7, add the next byte),
//!   `off = ((c & 31) << 8) | next byte`; copy `len + 2` bytes starting
//!   `off + 1` bytes before the current output end (copies may overlap).

const HASH_BITS: u32 = 14;
const HASH_SIZE: usize = 1 << HASH_BITS;
const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13; // distance - 1 must fit in 13 bits
const MAX_REF: usize = (1 << 8) + (1 << 3); // 264 = 7 + 255 + 2

/// An LZF compressor whose hash table is allocated once and reused across
/// calls without clearing: entries store positions relative to a running
/// base, so entries from earlier calls are recognised as stale.
pub struct LzfCompressor {
    table: Vec<u64>,
    base: u64,
}

impl Default for LzfCompressor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash3(p: &[u8]) -> usize {
    let v = (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32;
    (v.wrapping_mul(2654435761) >> (32 - HASH_BITS)) as usize
}

impl LzfCompressor {
    pub fn new() -> Self {
        LzfCompressor {
            table: Vec::new(),
            base: 1,
        }
    }

    /// Compress `input` appending to `out`. Returns the compressed length, or
    /// `None` (with `out` restored to its old length) if the result would be
    /// longer than `max_out` bytes or the input is empty.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Option<usize> {
        if input.is_empty() {
            return None;
        }
        if self.table.is_empty() {
            self.table = vec![0u64; HASH_SIZE];
        }
        if self.base > u64::MAX / 2 {
            self.table.iter_mut().for_each(|e| *e = 0);
            self.base = 1;
        }
        let start = out.len();
        let limit = start + max_out;
        let res = self.compress_inner(input, out, limit);
        // Everything stored during this call becomes stale for the next one.
        self.base += input.len() as u64 + MAX_OFF as u64 + 1;
        match res {
            Some(()) => Some(out.len() - start),
            None => {
                out.truncate(start);
                None
            }
        }
    }

    fn compress_inner(&mut self, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<()> {
        let n = input.len();
        let base = self.base;
        let mut lit_start = 0usize;
        let mut i = 0usize;
        while i + 2 < n {
            let h = hash3(&input[i..]);
            let cand = self.table[h];
            self.table[h] = base + i as u64;
            if cand >= base {
                let c = (cand - base) as usize;
                let dist = i - c; // c < i always
                if dist <= MAX_OFF && input[c..c + 3] == input[i..i + 3] {
                    let maxlen = (n - i).min(MAX_REF);
                    let len = 3 + common_prefix(&input[c + 3..c + maxlen], &input[i + 3..i + maxlen]);
                    emit_literals(&input[lit_start..i], out, limit)?;
                    let off = dist - 1;
                    let l = len - 2;
                    if l < 7 {
                        push(out, limit, &[((l << 5) | (off >> 8)) as u8, off as u8])?;
                    } else {
                        push(
                            out,
                            limit,
                            &[((7 << 5) | (off >> 8)) as u8, (l - 7) as u8, off as u8],
                        )?;
                    }
                    // Index only the match's last two positions (as liblzf's VERY_FAST mode):
                    // indexing every covered position costs more than the matches it finds.
                    let end = i + len;
                    for j in end.saturating_sub(2).max(i + 1)..end {
                        if j + 2 < n {
                            self.table[hash3(&input[j..])] = base + j as u64;
                        }
                    }
                    i = end;
                    lit_start = i;
                    continue;
                }
            }
            i += 1;
        }
        emit_literals(&input[lit_start..], out, limit)?;
        Some(())
    }
}

/// Length of the common prefix of `a` and `b` (compared a word at a time).
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + 8 <= n {
        let x = u64::from_le_bytes(a[k..k + 8].try_into().unwrap_or_default());
        let y = u64::from_le_bytes(b[k..k + 8].try_into().unwrap_or_default());
        if x != y {
            return k + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < n && a[k] == b[k] {
        k += 1;
    }
    k
}

#[inline]
fn push(out: &mut Vec<u8>, limit: usize, b: &[u8]) -> Option<()> {
    if out.len() + b.len() > limit {
        return None;
    }
    out.extend_from_slice(b);
    Some(())
}

fn emit_literals(mut lit: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<()> {
    while !lit.is_empty() {
        let k = lit.len().min(MAX_LIT);
        if out.len() + 1 + k > limit {
            return None;
        }
        out.push((k - 1) as u8);
        out.extend_from_slice(&lit[..k]);
        lit = &lit[k..];
    }
    Some(())
}

/// One-shot compression with a fresh table (convenience; prefer a reused
/// [`LzfCompressor`]).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    LzfCompressor::new().compress(input, &mut out, max_out)?;
    Some(out)
}

/// Errors from [`decompress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LzfError {
    /// The input references data outside the output, or runs past its end.
    Corrupt,
    /// The output would not have exactly the announced length.
    LengthMismatch,
}

/// Makes room for `k` more output bytes: the buffer grows as output is produced (at most
/// doubling, never past `out_len`), not to the declared size up front.
fn grow(out: &mut Vec<u8>, k: usize, out_len: usize) {
    if out.capacity() - out.len() < k {
        let target = (out.len() * 2).max(out.len() + k).max(256).min(out_len);
        out.reserve_exact(target - out.len());
    }
}

/// Decompress `input`, which must expand to exactly `out_len` bytes.
/// Never panics on bad input. `out_len` is not trusted: the output grows as
/// it is produced (so corrupt data claiming a huge length costs little), and
/// its final capacity is exactly `out_len`.
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, LzfError> {
    // Small outputs are allocated at once; a large claimed length is not trusted up front.
    let first = if out_len <= 1 << 16 { out_len } else { out_len.min(input.len().saturating_mul(2)) };
    let mut out: Vec<u8> = Vec::with_capacity(first);
    let mut i = 0usize;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let k = ctrl + 1;
            if i + k > input.len() {
                return Err(LzfError::Corrupt);
            }
            if out.len() + k > out_len {
                return Err(LzfError::LengthMismatch);
            }
            grow(&mut out, k, out_len);
            out.extend_from_slice(&input[i..i + k]);
            i += k;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i).ok_or(LzfError::Corrupt)? as usize;
                i += 1;
            }
            let lo = *input.get(i).ok_or(LzfError::Corrupt)? as usize;
            i += 1;
            let dist = (((ctrl & 0x1f) << 8) | lo) + 1;
            let len = len + 2;
            if dist > out.len() {
                return Err(LzfError::Corrupt);
            }
            if out.len() + len > out_len {
                return Err(LzfError::LengthMismatch);
            }
            grow(&mut out, len, out_len);
            // An overlapping reference repeats the last `dist` bytes: copy what exists, then
            // what was just copied (the available run doubles each time).
            let from = out.len() - dist;
            let mut left = len;
            while left > 0 {
                let k = left.min(out.len() - from);
                out.extend_from_within(from..from + k);
                left -= k;
            }
        }
    }
    if out.len() != out_len {
        return Err(LzfError::LengthMismatch);
    }
    Ok(out)
}

#[cfg(test)]
mod t {
    use super::*;

    fn rt(c: &mut LzfCompressor, data: &[u8]) {
        let mut out = Vec::new();
        if let Some(n) = c.compress(data, &mut out, data.len() + data.len() / 16 + 64) {
            assert_eq!(n, out.len());
            assert_eq!(decompress(&out, data.len()).unwrap(), data);
        } else {
            assert!(data.is_empty());
        }
    }

    #[test]
    fn roundtrips() {
        let mut c = LzfCompressor::new();
        let mut seed = 12345u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 2, 3, 4, 5, 31, 32, 33, 100, 1000, 9000, 70000] {
            let rand: Vec<u8> = (0..n).map(|_| rnd() as u8).collect();
            rt(&mut c, &rand);
            let rep: Vec<u8> = (0..n).map(|i| b"abcabcabd"[i % 9]).collect();
            rt(&mut c, &rep);
            let zeros = vec![0u8; n];
            rt(&mut c, &zeros);
            let small_alpha: Vec<u8> = (0..n).map(|_| b'a' + (rnd() % 4) as u8).collect();
            rt(&mut c, &small_alpha);
        }
        // Far-apart repeats (beyond the 8 KiB window) must not be referenced.
        let mut v: Vec<u8> = (0..20000).map(|_| rnd() as u8).collect();
        let copy = v[..100].to_vec();
        v.extend_from_slice(&copy);
        rt(&mut c, &v);
    }

    #[test]
    fn compresses() {
        let data = vec![b'x'; 1000];
        let out = compress(&data, 996).unwrap();
        assert!(out.len() < 30, "{}", out.len());
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
    }

    #[test]
    fn corrupt_never_panics() {
        let data = b"hello hello hello hello hello world world world world".repeat(5);
        let comp = compress(&data, data.len()).unwrap();
        for cut in 0..comp.len() {
            let _ = decompress(&comp[..cut], data.len());
        }
        for pos in 0..comp.len() {
            let mut c = comp.clone();
            c[pos] ^= 0x5a;
            let _ = decompress(&c, data.len());
        }
        assert_eq!(decompress(&[0xe0, 0x10, 0x00], 100), Err(LzfError::Corrupt));
    }
}
