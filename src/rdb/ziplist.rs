//! Legacy blob formats found in RDB files from older Redis versions:
//! ziplist, zipmap and intset. Parsers are bounds-checked; the builders
//! exist to produce old-format test files.

use super::listpack::LpEntry;

/// Parse and validate a ziplist, calling `f` for each entry. Returns the count.
///
/// Layout: u32 LE total bytes, u32 LE tail offset, u16 LE count (65535 =
/// unknown), entries, 0xFF. Entry: prevlen (1 byte, or 0xFE + u32 LE),
/// encoding (+ length / integer payload), data.
pub fn parse_ziplist<'a>(zl: &'a [u8], mut f: impl FnMut(LpEntry<'a>)) -> Result<usize, String> {
    if zl.len() < 11 {
        return Err("ziplist too short".into());
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if total != zl.len() {
        return Err(format!(
            "ziplist header size {} != blob size {}",
            total,
            zl.len()
        ));
    }
    let hdr_count = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    let end = zl.len() - 1;
    let mut p = 10usize;
    let mut count = 0usize;
    let mut prev_len = 0usize;
    let need = |p: usize, n: usize| -> Result<(), String> {
        if p.checked_add(n).is_none_or(|e| e > end) {
            Err("ziplist entry out of range".into())
        } else {
            Ok(())
        }
    };
    loop {
        if p > end {
            return Err("ziplist missing terminator".into());
        }
        if zl[p] == 0xFF {
            if p != end {
                return Err("ziplist terminator before end".into());
            }
            break;
        }
        let start = p;
        // prevlen
        let pl = if zl[p] < 254 {
            p += 1;
            zl[p - 1] as usize
        } else if zl[p] == 254 {
            need(p, 5)?;
            let v = u32::from_le_bytes([zl[p + 1], zl[p + 2], zl[p + 3], zl[p + 4]]) as usize;
            p += 5;
            v
        } else {
            return Err("invalid ziplist prevlen".into());
        };
        if pl != prev_len {
            return Err("ziplist prevlen mismatch".into());
        }
        need(p, 1)?;
        let b = zl[p];
        let entry = match b >> 6 {
            0 => {
                let n = (b & 0x3F) as usize;
                need(p + 1, n)?;
                p += 1 + n;
                LpEntry::Str(&zl[p - n..p])
            }
            1 => {
                need(p, 2)?;
                let n = (((b & 0x3F) as usize) << 8) | zl[p + 1] as usize;
                need(p + 2, n)?;
                p += 2 + n;
                LpEntry::Str(&zl[p - n..p])
            }
            2 => {
                if b != 0x80 {
                    return Err("invalid ziplist string encoding".into());
                }
                need(p, 5)?;
                let n = u32::from_be_bytes([zl[p + 1], zl[p + 2], zl[p + 3], zl[p + 4]]) as usize;
                need(p + 5, n)?;
                p += 5 + n;
                LpEntry::Str(&zl[p - n..p])
            }
            _ => {
                let (w, v): (usize, i64) = match b {
                    0xC0 => {
                        need(p, 3)?;
                        (3, i16::from_le_bytes([zl[p + 1], zl[p + 2]]) as i64)
                    }
                    0xD0 => {
                        need(p, 5)?;
                        (
                            5,
                            i32::from_le_bytes([zl[p + 1], zl[p + 2], zl[p + 3], zl[p + 4]]) as i64,
                        )
                    }
                    0xE0 => {
                        need(p, 9)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&zl[p + 1..p + 9]);
                        (9, i64::from_le_bytes(a))
                    }
                    0xF0 => {
                        need(p, 4)?;
                        (
                            4,
                            (i32::from_le_bytes([0, zl[p + 1], zl[p + 2], zl[p + 3]]) >> 8) as i64,
                        )
                    }
                    0xFE => {
                        need(p, 2)?;
                        (2, zl[p + 1] as i8 as i64)
                    }
                    0xF1..=0xFD => (1, ((b & 0x0F) as i64) - 1),
                    _ => return Err(format!("invalid ziplist encoding 0x{b:02x}")),
                };
                p += w;
                LpEntry::Int(v)
            }
        };
        prev_len = p - start;
        count += 1;
        f(entry);
    }
    if hdr_count != 65535 && hdr_count != count {
        return Err(format!("ziplist count {hdr_count} != actual {count}"));
    }
    Ok(count)
}

/// Build a ziplist (strings stored as strings, canonical integers as integers).
pub fn build_ziplist<'a, I: IntoIterator<Item = &'a [u8]>>(items: I) -> Vec<u8> {
    let mut buf = vec![0u8; 10];
    let mut prev = 0usize;
    let mut count = 0usize;
    let mut tail = 10usize;
    for s in items {
        let start = buf.len();
        tail = start;
        if prev < 254 {
            buf.push(prev as u8);
        } else {
            buf.push(254);
            buf.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match (s.len() <= 20)
            .then(|| super::parse_canonical_i64(s))
            .flatten()
        {
            Some(v) if (0..=12).contains(&v) => buf.push(0xF1 + v as u8),
            Some(v) if v >= i8::MIN as i64 && v <= i8::MAX as i64 => {
                buf.push(0xFE);
                buf.push(v as i8 as u8);
            }
            Some(v) if v >= i16::MIN as i64 && v <= i16::MAX as i64 => {
                buf.push(0xC0);
                buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-8388608..=8388607).contains(&v) => {
                buf.push(0xF0);
                buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if v >= i32::MIN as i64 && v <= i32::MAX as i64 => {
                buf.push(0xD0);
                buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                buf.push(0xE0);
                buf.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                let n = s.len();
                if n < 64 {
                    buf.push(n as u8);
                } else if n < 16384 {
                    buf.push(0x40 | (n >> 8) as u8);
                    buf.push(n as u8);
                } else {
                    buf.push(0x80);
                    buf.extend_from_slice(&(n as u32).to_be_bytes());
                }
                buf.extend_from_slice(s);
            }
        }
        prev = buf.len() - start;
        count += 1;
    }
    buf.push(0xFF);
    let total = buf.len() as u32;
    buf[0..4].copy_from_slice(&total.to_le_bytes());
    buf[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    let c = if count < 65535 { count as u16 } else { 65535 };
    buf[8..10].copy_from_slice(&c.to_le_bytes());
    buf
}

/// Parse a zipmap (Redis <= 2.4 small hash): `zmlen`, then per pair
/// `len key len free value <free bytes>`, then 0xFF. Lengths are one byte
/// (< 254) or 254 + u32 LE.
pub fn parse_zipmap<'a>(
    zm: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<usize, String> {
    if zm.len() < 2 {
        return Err("zipmap too short".into());
    }
    let mut p = 1usize;
    let mut count = 0usize;
    let read_len = |p: &mut usize| -> Result<Option<usize>, String> {
        let b = *zm.get(*p).ok_or("zipmap truncated")?;
        match b {
            255 => Ok(None),
            254 => {
                if *p + 5 > zm.len() {
                    return Err("zipmap truncated".into());
                }
                let v =
                    u32::from_le_bytes([zm[*p + 1], zm[*p + 2], zm[*p + 3], zm[*p + 4]]) as usize;
                *p += 5;
                Ok(Some(v))
            }
            n => {
                *p += 1;
                Ok(Some(n as usize))
            }
        }
    };
    let take = |p: &mut usize, n: usize| -> Result<&'a [u8], String> {
        let e = p
            .checked_add(n)
            .filter(|&e| e <= zm.len())
            .ok_or("zipmap entry out of range")?;
        let s = &zm[*p..e];
        *p = e;
        Ok(s)
    };
    loop {
        let klen = match read_len(&mut p)? {
            None => break,
            Some(n) => n,
        };
        let k = take(&mut p, klen)?;
        let vlen = read_len(&mut p)?.ok_or("zipmap value missing")?;
        let free = *zm.get(p).ok_or("zipmap truncated")? as usize;
        p += 1;
        let v = take(&mut p, vlen)?;
        take(&mut p, free)?;
        count += 1;
        f(k, v);
    }
    if p != zm.len() - 1 {
        return Err("zipmap trailing garbage".into());
    }
    Ok(count)
}

/// Build a zipmap (for tests of old-format loading).
pub fn build_zipmap<'a, I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(pairs: I) -> Vec<u8> {
    let mut buf = vec![0u8];
    let mut n = 0usize;
    let put_len = |buf: &mut Vec<u8>, l: usize| {
        if l < 254 {
            buf.push(l as u8);
        } else {
            buf.push(254);
            buf.extend_from_slice(&(l as u32).to_le_bytes());
        }
    };
    for (k, v) in pairs {
        put_len(&mut buf, k.len());
        buf.extend_from_slice(k);
        put_len(&mut buf, v.len());
        buf.push(0);
        buf.extend_from_slice(v);
        n += 1;
    }
    buf.push(0xFF);
    buf[0] = if n < 254 { n as u8 } else { 254 };
    buf
}

/// Parse an intset: u32 LE encoding (2, 4 or 8), u32 LE count, sorted LE ints.
pub fn parse_intset(is: &[u8], mut f: impl FnMut(i64)) -> Result<usize, String> {
    if is.len() < 8 {
        return Err("intset too short".into());
    }
    let enc = u32::from_le_bytes([is[0], is[1], is[2], is[3]]) as usize;
    let count = u32::from_le_bytes([is[4], is[5], is[6], is[7]]) as usize;
    if enc != 2 && enc != 4 && enc != 8 {
        return Err(format!("invalid intset encoding {enc}"));
    }
    if count.checked_mul(enc).and_then(|n| n.checked_add(8)) != Some(is.len()) {
        return Err("intset size mismatch".into());
    }
    let mut prev: Option<i64> = None;
    for c in is[8..].chunks_exact(enc) {
        let v = match enc {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if let Some(p) = prev {
            if v <= p {
                return Err("intset not sorted or has duplicates".into());
            }
        }
        prev = Some(v);
        f(v);
    }
    Ok(count)
}

/// Build an intset from integers (sorted and de-duplicated here).
pub fn build_intset(vals: &mut Vec<i64>) -> Vec<u8> {
    vals.sort_unstable();
    vals.dedup();
    let (lo, hi) = (
        vals.first().copied().unwrap_or(0),
        vals.last().copied().unwrap_or(0),
    );
    let enc: usize = if lo >= i16::MIN as i64 && hi <= i16::MAX as i64 {
        2
    } else if lo >= i32::MIN as i64 && hi <= i32::MAX as i64 {
        4
    } else {
        8
    };
    let mut buf = Vec::with_capacity(8 + enc * vals.len());
    buf.extend_from_slice(&(enc as u32).to_le_bytes());
    buf.extend_from_slice(&(vals.len() as u32).to_le_bytes());
    for &v in vals.iter() {
        buf.extend_from_slice(&v.to_le_bytes()[..enc]);
    }
    buf
}

#[cfg(test)]
mod t {
    use super::*;

    #[test]
    fn ziplist_roundtrip() {
        let big = vec![b'q'; 20000];
        let mid = vec![b'm'; 300];
        let items: Vec<&[u8]> = vec![
            b"0",
            b"12",
            b"13",
            b"-1",
            b"-128",
            b"127",
            b"300",
            b"-32768",
            b"40000",
            b"-8388608",
            b"9000000",
            b"2147483647",
            b"99999999999",
            b"abc",
            b"",
            &mid,
            &big,
            b"tail",
        ];
        let zl = build_ziplist(items.iter().copied());
        let mut got = Vec::new();
        parse_ziplist(&zl, |e| got.push(e.to_vec())).unwrap();
        let exp: Vec<Vec<u8>> = items.iter().map(|s| s.to_vec()).collect();
        assert_eq!(got, exp);
        for cut in 0..zl.len().min(400) {
            assert!(parse_ziplist(&zl[..cut], |_| {}).is_err());
        }
    }

    #[test]
    fn zipmap_intset_roundtrip() {
        let long = vec![b'v'; 400];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"key", &long), (b"", b"")];
        let zm = build_zipmap(pairs.iter().copied());
        let mut got = Vec::new();
        parse_zipmap(&zm, |k, v| got.push((k.to_vec(), v.to_vec()))).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, long);
        let mut v = vec![5, -3, 70000, 5];
        let is = build_intset(&mut v);
        let mut got = Vec::new();
        parse_intset(&is, |x| got.push(x)).unwrap();
        assert_eq!(got, vec![-3, 5, 70000]);
        assert_eq!(&is[0..4], &4u32.to_le_bytes());
    }
}
