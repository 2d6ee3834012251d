//! Bitmaps (issue 13): BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, byte for byte against
//! redis-server: edge cases and errors, random ranges and fields over random strings, and
//! what each write propagates to a replica (read from a raw SYNC stream on both servers).

mod support;
use support::*;

/// A tiny deterministic generator (the same inputs on both servers).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn signed(&mut self, n: u64) -> i64 {
        self.below(2 * n + 1) as i64 - n as i64
    }
}

#[test]
fn bit_commands_edge_cases_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let cmds: &[&[&str]] = &[
            &["BITCOUNT", "none"],
            &["BITCOUNT", "none", "x", "y"],
            &["BITCOUNT", "none", "1"],
            &["SET", "s", "foobar"],
            &["BITCOUNT", "s"],
            &["BITCOUNT", "s", "1"],
            &["BITCOUNT", "s", "0", "0"],
            &["BITCOUNT", "s", "1", "1"],
            &["BITCOUNT", "s", "1", "1", "BYTE"],
            &["BITCOUNT", "s", "5", "30", "BIT"],
            &["BITCOUNT", "s", "-1", "-2"],
            &["BITCOUNT", "s", "-2", "-1", "bit"],
            &["BITCOUNT", "s", "0", "-1", "NOPE"],
            &["BITCOUNT", "s", "a", "1"],
            &["BITCOUNT", "s", "0", "1", "BIT", "x"],
            &["BITPOS", "none", "0"],
            &["BITPOS", "none", "1"],
            &["BITPOS", "none", "2"],
            &["BITPOS", "none", "x"],
            &["BITPOS", "s", "1"],
            &["BITPOS", "s", "0"],
            &["BITPOS", "s", "1", "2"],
            &["BITPOS", "s", "1", "2", "-1", "BYTE"],
            &["BITPOS", "s", "0", "7", "15", "BIT"],
            &["BITPOS", "s", "1", "7", "15", "bit"],
            &["BITPOS", "s", "0", "1", "x"],
            &["BITPOS", "s", "0", "1", "2", "PIXEL"],
            &["BITPOS", "s", "0", "1", "2", "BIT", "3"],
            &["SET", "ones", "\u{7f}"],
            &["SETBIT", "full", "7", "1"],
            &["BITOP", "NOT", "full", "full"],
            &["GET", "full"],
            &["BITPOS", "full", "0"],
            &["BITPOS", "full", "0", "0", "-1"],
            &["BITPOS", "full", "1", "0", "-1", "BIT"],
            &["SET", "e", ""],
            &["BITCOUNT", "e"],
            &["BITPOS", "e", "0"],
            &["BITPOS", "e", "1"],
            &["BITOP", "AND", "dest", "s", "ones"],
            &["GET", "dest"],
            &["BITOP", "OR", "dest", "s", "ones", "none"],
            &["GET", "dest"],
            &["BITOP", "XOR", "dest", "s", "s"],
            &["GET", "dest"],
            &["BITOP", "NOT", "dest", "s", "ones"],
            &["BITOP", "NAND", "dest", "s"],
            &["BITOP", "AND", "dest", "none", "none2"],
            &["EXISTS", "dest"],
            &["LPUSH", "list", "a"],
            &["BITOP", "AND", "dest", "s", "list"],
            &["BITCOUNT", "list"],
            &["BITPOS", "list", "1"],
            &["BITFIELD", "list", "GET", "u8", "0"],
            &["BITFIELD", "list"],
            &["BITFIELD", "none"],
            &["BITFIELD", "bf", "GET", "u8", "0"],
            &["EXISTS", "bf"],
            &["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0", "INCRBY", "i8", "0", "100"],
            &["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "INCRBY", "u4", "3", "-100"],
            &["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "100", "SET", "u2", "#3", "7", "GET", "u2", "#3"],
            &["BITFIELD", "bf", "SET", "u8", "0", "-1", "OVERFLOW", "SAT", "SET", "u8", "8", "-1", "SET", "i8", "16", "200"],
            &["BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1", "GET", "u63", "1"],
            &["BITFIELD", "bf", "GET", "u64", "0"],
            &["BITFIELD", "bf", "GET", "i65", "0"],
            &["BITFIELD", "bf", "GET", "x8", "0"],
            &["BITFIELD", "bf", "GET", "i0", "0"],
            &["BITFIELD", "bf", "GET", "i8", "-1"],
            &["BITFIELD", "bf", "GET", "i8", "#-1"],
            &["BITFIELD", "bf", "GET", "i8", "4294967296"],
            &["BITFIELD", "bf", "GET", "i8", "34359738368"],
            &["BITFIELD", "bf", "SET", "i8", "0"],
            &["BITFIELD", "bf", "SET", "i8", "0", "x"],
            &["BITFIELD", "bf", "OVERFLOW", "MAYBE"],
            &["BITFIELD", "bf", "OVERFLOW"],
            &["BITFIELD", "bf", "FOO", "i8", "0"],
            &["BITFIELD", "bf", "OVERFLOW", "WRAP"],
            &["BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u4", "#2"],
            &["BITFIELD_RO", "bf", "SET", "i8", "0", "1"],
            &["BITFIELD_RO", "none", "GET", "i8", "0"],
            &["BITFIELD", "grow", "OVERFLOW", "FAIL", "SET", "u2", "100", "9"],
            &["STRLEN", "grow"],
            &["OBJECT", "ENCODING", "bf"],
            &["SET", "n", "12345"],
            &["BITFIELD", "n", "INCRBY", "u8", "0", "1"],
            &["OBJECT", "ENCODING", "n"],
            &["GET", "n"],
        ];
        cmds.iter().map(|a| c.raw(a)).collect::<Vec<_>>()
    });
}

/// Random strings, random ranges in both units, random BITFIELD programs.
#[test]
fn bit_commands_random_match_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let mut c = Conn::connect(port);
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut out = Vec::new();
        for i in 0..40 {
            let len = r.below(40) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| match r.below(4) {
                0 => 0,
                1 => 0xff,
                _ => r.below(256) as u8,
            }).collect();
            let key = format!("k{i}");
            c.raw_bytes(&[b"SET".as_slice(), key.as_bytes(), &bytes]);
            for _ in 0..25 {
                let (s, e) = (r.signed(45 * 8).to_string(), r.signed(45 * 8).to_string());
                let unit = ["BYTE", "BIT", "byte", "bit"][r.below(4) as usize];
                let bit = r.below(2).to_string();
                out.push(c.raw(&["BITCOUNT", &key, &s, &e, unit]));
                out.push(c.raw(&["BITPOS", &key, &bit, &s]));
                out.push(c.raw(&["BITPOS", &key, &bit, &s, &e]));
                out.push(c.raw(&["BITPOS", &key, &bit, &s, &e, unit]));
            }
            let mut prog: Vec<String> = vec!["BITFIELD".into(), key.clone()];
            for _ in 0..12 {
                let signed = r.below(2) == 0;
                let bits = if signed { 1 + r.below(64) } else { 1 + r.below(63) };
                let ty = format!("{}{}", if signed { 'i' } else { 'u' }, bits);
                let off = if r.below(4) == 0 { format!("#{}", r.below(8)) } else { r.below(200).to_string() };
                match r.below(4) {
                    0 => prog.extend(["GET".into(), ty, off]),
                    1 => prog.extend(["SET".into(), ty, off, r.signed(1 << 40).to_string()]),
                    2 => prog.extend(["INCRBY".into(), ty, off, r.signed(300).to_string()]),
                    _ => prog.extend(["OVERFLOW".into(), ["WRAP", "SAT", "FAIL"][r.below(3) as usize].into()]),
                }
            }
            let prog: Vec<&str> = prog.iter().map(|s| s.as_str()).collect();
            out.push(c.raw(&prog));
            out.push(c.raw(&["GET", &key]));
            let other = format!("k{}", r.below(i + 1));
            let op = ["AND", "OR", "XOR"][r.below(3) as usize];
            out.push(c.raw(&["BITOP", op, "dest", &key, &other]));
            out.push(c.raw(&["GET", "dest"]));
        }
        out.push(c.raw(&["DEBUG", "DIGEST"]));
        out
    });
}

/// What BITOP and BITFIELD send to replicas: BITFIELD verbatim only when a field changed
/// (or the string grew), BITOP with an empty result deleting the destination.
#[test]
fn bit_commands_propagate_as_redis() {
    if !have_redis() {
        return;
    }
    same_on_both(|port| {
        let steps: &[&[&str]] = &[
            &["SET", "a", "abc"][..],
            &["BITOP", "NOT", "b", "a"],
            &["BITOP", "AND", "b", "none"],
            &["BITOP", "AND", "b", "none"],
            &["BITFIELD", "f", "SET", "u8", "0", "7", "GET", "u8", "0"],
            &["BITFIELD", "f", "SET", "u8", "0", "7"],
            &["BITFIELD", "f", "GET", "u8", "0"],
            &["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000"],
            &["BITFIELD", "f", "INCRBY", "u8", "0", "1"],
            &["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
        ];
        replies_and_stream(port, steps)
    });
}
