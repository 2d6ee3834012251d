//! Listpack blobs (Redis 7.0): building and parsing.
//!
//! Layout: u32 LE total bytes, u16 LE element count (65535 = unknown),
//! entries, 0xFF. Each entry is encoding+data followed by a "backlen" that
//! stores the size of encoding+data in 1..=5 bytes of 7 bits.

use super::parse_canonical_i64;

pub const HEADER_SIZE: usize = 6;
const EOF: u8 = 0xFF;

/// An element of a listpack: Redis stores canonical integers as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpEntry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> LpEntry<'a> {
    /// The element as bytes (integers as canonical decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            LpEntry::Str(s) => s.to_vec(),
            LpEntry::Int(i) => i.to_string().into_bytes(),
        }
    }
}

fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

fn push_backlen(buf: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    // Most significant 7-bit group first; all but the first byte carry 0x80.
    for k in (0..n).rev() {
        let group = ((l >> (7 * k)) & 127) as u8;
        if k == n - 1 {
            buf.push(group);
        } else {
            buf.push(group | 128);
        }
    }
}

/// Size in bytes an element would take in a listpack (entry + backlen).
pub fn entry_size(s: &[u8]) -> usize {
    let enc = match int_candidate(s) {
        Some(v) => int_enc_len(v),
        None => str_enc_len(s.len()),
    };
    enc + backlen_size(enc)
}

fn int_candidate(s: &[u8]) -> Option<i64> {
    if s.len() <= 20 {
        parse_canonical_i64(s)
    } else {
        None
    }
}

fn int_enc_len(v: i64) -> usize {
    if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (-32768..=32767).contains(&v) {
        3
    } else if (-8388608..=8388607).contains(&v) {
        4
    } else if (-2147483648..=2147483647).contains(&v) {
        5
    } else {
        9
    }
}

fn str_enc_len(len: usize) -> usize {
    if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    }
}

/// Incremental listpack builder.
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackBuilder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0u8; HEADER_SIZE]);
        ListpackBuilder { buf, count: 0 }
    }

    /// Forget all entries (keeps the allocation).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0u8; HEADER_SIZE]);
        self.count = 0;
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Total size the finished listpack would have.
    pub fn total_size(&self) -> usize {
        self.buf.len() + 1
    }

    /// Append an element, as an integer when it is a canonical integer.
    pub fn push(&mut self, s: &[u8]) {
        match int_candidate(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    pub fn push_int(&mut self, v: i64) {
        let b = &mut self.buf;
        let start = b.len();
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1FFF;
            b.push(0xC0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if (-2147483648..=2147483647).contains(&v) {
            b.push(0xF3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = b.len() - start;
        push_backlen(b, l);
        self.count += 1;
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let b = &mut self.buf;
        let start = b.len();
        let n = s.len();
        if n < 64 {
            b.push(0x80 | n as u8);
        } else if n < 4096 {
            b.push(0xE0 | (n >> 8) as u8);
            b.push(n as u8);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = b.len() - start;
        push_backlen(b, l);
        self.count += 1;
    }

    /// Finish: fill the header, append the terminator and return the bytes
    /// (the builder is left empty and reusable).
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::replace(&mut self.buf, Vec::with_capacity(256));
        out.push(EOF);
        let total = out.len() as u32;
        out[0..4].copy_from_slice(&total.to_le_bytes());
        let cnt = if self.count < 65535 {
            self.count as u16
        } else {
            65535
        };
        out[4..6].copy_from_slice(&cnt.to_le_bytes());
        self.clear();
        out
    }

    /// Like [`finish`](Self::finish) but returns a borrowed view valid until
    /// the next mutation; call [`clear`](Self::clear) afterwards.
    pub fn finish_in_place(&mut self) -> &[u8] {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let cnt = if self.count < 65535 {
            self.count as u16
        } else {
            65535
        };
        self.buf[4..6].copy_from_slice(&cnt.to_le_bytes());
        &self.buf
    }
}

/// Build a listpack from elements.
pub fn build<'a, I: IntoIterator<Item = &'a [u8]>>(items: I) -> Vec<u8> {
    let mut b = ListpackBuilder::new();
    for s in items {
        b.push(s);
    }
    b.finish()
}

/// Parse and validate a whole listpack, calling `f` for every entry.
/// Returns the number of entries. Errors are descriptive strings.
pub fn parse<'a>(lp: &'a [u8], mut f: impl FnMut(LpEntry<'a>)) -> Result<usize, String> {
    if lp.len() < HEADER_SIZE + 1 {
        return Err("listpack too short".into());
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(format!(
            "listpack header size {} != blob size {}",
            total,
            lp.len()
        ));
    }
    let hdr_count = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let mut p = HEADER_SIZE;
    let mut count = 0usize;
    let need = |p: usize, n: usize| -> Result<(), String> {
        if p.checked_add(n).is_none_or(|e| e > lp.len() - 1) {
            Err("listpack entry out of range".into())
        } else {
            Ok(())
        }
    };
    loop {
        if p >= lp.len() {
            return Err("listpack missing terminator".into());
        }
        let b = lp[p];
        if b == EOF {
            if p != lp.len() - 1 {
                return Err("listpack terminator before end".into());
            }
            break;
        }
        let start = p;
        let entry;
        if b & 0x80 == 0 {
            entry = LpEntry::Int((b & 0x7F) as i64);
            p += 1;
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3F) as usize;
            need(p + 1, n)?;
            entry = LpEntry::Str(&lp[p + 1..p + 1 + n]);
            p += 1 + n;
        } else if b & 0xE0 == 0xC0 {
            need(p, 2)?;
            let u = (((b & 0x1F) as i64) << 8) | lp[p + 1] as i64;
            entry = LpEntry::Int(if u >= 1 << 12 { u - (1 << 13) } else { u });
            p += 2;
        } else if b & 0xF0 == 0xE0 {
            need(p, 2)?;
            let n = (((b & 0x0F) as usize) << 8) | lp[p + 1] as usize;
            need(p + 2, n)?;
            entry = LpEntry::Str(&lp[p + 2..p + 2 + n]);
            p += 2 + n;
        } else {
            match b {
                0xF0 => {
                    need(p, 5)?;
                    let n =
                        u32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]) as usize;
                    need(p + 5, n)?;
                    entry = LpEntry::Str(&lp[p + 5..p + 5 + n]);
                    p += 5 + n;
                }
                0xF1 => {
                    need(p, 3)?;
                    entry = LpEntry::Int(i16::from_le_bytes([lp[p + 1], lp[p + 2]]) as i64);
                    p += 3;
                }
                0xF2 => {
                    need(p, 4)?;
                    let v = i32::from_le_bytes([0, lp[p + 1], lp[p + 2], lp[p + 3]]) >> 8;
                    entry = LpEntry::Int(v as i64);
                    p += 4;
                }
                0xF3 => {
                    need(p, 5)?;
                    entry = LpEntry::Int(i32::from_le_bytes([
                        lp[p + 1],
                        lp[p + 2],
                        lp[p + 3],
                        lp[p + 4],
                    ]) as i64);
                    p += 5;
                }
                0xF4 => {
                    need(p, 9)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&lp[p + 1..p + 9]);
                    entry = LpEntry::Int(i64::from_le_bytes(a));
                    p += 9;
                }
                _ => return Err(format!("invalid listpack encoding byte 0x{b:02x}")),
            }
        }
        let l = p - start;
        let bl = backlen_size(l);
        need(p, bl)?;
        // Validate the backlen bytes.
        let mut v: usize = 0;
        for (k, &c) in lp[p..p + bl].iter().enumerate() {
            let last = k == 0;
            if last != (c & 0x80 == 0) {
                return Err("invalid listpack backlen".into());
            }
            v = (v << 7) | (c & 0x7F) as usize;
        }
        if v != l {
            return Err("listpack backlen mismatch".into());
        }
        p += bl;
        count += 1;
        f(entry);
    }
    if hdr_count != 65535 && hdr_count != count {
        return Err(format!("listpack count {hdr_count} != actual {count}"));
    }
    Ok(count)
}

#[cfg(test)]
mod t {
    use super::*;

    #[test]
    fn roundtrip_all_encodings() {
        let big = vec![b'z'; 5000];
        let mid = vec![b'y'; 300];
        let items: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"4096".to_vec(),
            b"-32768".to_vec(),
            b"32768".to_vec(),
            b"-8388608".to_vec(),
            b"8388608".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483649".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"9223372036854775808".to_vec(),
            b"007".to_vec(),
            b"-0".to_vec(),
            b"".to_vec(),
            b"hello".to_vec(),
            mid.clone(),
            big.clone(),
        ];
        let lp = build(items.iter().map(|v| v.as_slice()));
        let mut got = Vec::new();
        let n = parse(&lp, |e| got.push(e.to_vec())).unwrap();
        assert_eq!(n, items.len());
        assert_eq!(got, items);
        let size: usize = items.iter().map(|s| entry_size(s)).sum::<usize>() + 7;
        assert_eq!(size, lp.len());
        // Ints are ints
        let lp = build([b"5".as_slice()]);
        assert_eq!(lp, vec![9, 0, 0, 0, 1, 0, 5, 1, 0xff]);
    }

    #[test]
    fn truncation_is_error() {
        let lp = build([b"hello".as_slice(), b"12345", b"x"]);
        for cut in 0..lp.len() {
            assert!(parse(&lp[..cut], |_| {}).is_err());
        }
    }
}
