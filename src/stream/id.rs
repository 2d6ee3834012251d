//! Stream entry IDs (`<ms>-<seq>`) and their parsing, as Redis 7.0 reads them.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The successor, or None for the largest ID.
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The predecessor, or None for 0-0.
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// The 16-byte big-endian form (RDB node keys and PEL entries).
    pub fn to_be_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_be_bytes(b: &[u8]) -> Option<StreamId> {
        if b.len() != 16 {
            return None;
        }
        let ms = u64::from_be_bytes(b[..8].try_into().ok()?);
        let seq = u64::from_be_bytes(b[8..].try_into().ok()?);
        Some(StreamId { ms, seq })
    }

    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_string())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Redis's `string2ull` for the forms clients send: decimal digits (leading zeros allowed, as
/// strtoull allows them), an optional `+`, fitting u64.
fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = s.strip_prefix(b"+").unwrap_or(s);
    if s.is_empty() || s.len() > 20 || !s.iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A parsed ID argument: `seq_given` false for the `<ms>-*` form.
#[derive(Clone, Copy, Debug)]
pub struct ParsedId {
    pub id: StreamId,
    pub seq_given: bool,
}

/// Redis's streamGenericParseIDOrReply: `-`/`+` (unless strict), `<ms>`, `<ms>-<seq>`,
/// `<ms>-*` (when `allow_auto_seq`). `missing_seq` fills an absent sequence.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, allow_auto_seq: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    if arg == b"-" {
        return if strict { None } else { Some(ParsedId { id: StreamId::MIN, seq_given: true }) };
    }
    if arg == b"+" {
        return if strict { None } else { Some(ParsedId { id: StreamId::MAX, seq_given: true }) };
    }
    // A NUL ends the C string Redis parses.
    let arg = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    match arg.iter().position(|&b| b == b'-') {
        None => Some(ParsedId { id: StreamId::new(parse_u64(arg)?, missing_seq), seq_given: true }),
        Some(d) => {
            let ms = parse_u64(&arg[..d])?;
            let rest = &arg[d + 1..];
            if allow_auto_seq && rest == b"*" {
                return Some(ParsedId { id: StreamId::new(ms, 0), seq_given: false });
            }
            Some(ParsedId { id: StreamId::new(ms, parse_u64(rest)?), seq_given: true })
        }
    }
}

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// An interval bound of XRANGE/XPENDING: `(` makes it exclusive (strict parse after it).
/// Returns (id, exclusive).
pub fn parse_interval(arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    if arg.len() > 1 && arg[0] == b'(' {
        Some((parse_id(&arg[1..], missing_seq, true, false)?.id, true))
    } else {
        Some((parse_id(arg, missing_seq, false, false)?.id, false))
    }
}
