//! Tokenising of "human" command lines and the matching quoting function.
//!
//! [`splitargs`] follows Redis' `sdssplitargs`, used for the inline
//! protocol (`telnet`-style commands), config files and `redis-cli` input.
//! [`repr`] follows `sdscatrepr`, used wherever Redis shows a string inside
//! double quotes (CONFIG REWRITE, MONITOR, log lines, CLIENT LIST fields).
//! The output of `repr` is always re-parsed by `splitargs` to the same bytes.

/// Whitespace as C's `isspace` in the C locale (includes `\v` and `\f`).
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end an unquoted token.  Note: narrower than [`is_c_space`]
/// (`\v` and `\f` do *not* end a token although they are skipped between
/// tokens) — a Redis quirk we keep.
fn ends_bare_token(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Split a line into arguments like Redis' `sdssplitargs`.
///
/// * Arguments are separated by whitespace; an empty or all-blank line gives
///   an empty vector.
/// * `"..."` supports `\n \r \t \b \a`, `\xHH` (two hex digits) and `\<any>`
///   meaning that byte literally (so `\\` and `\"`).
/// * `'...'` only understands `\'`; every other byte is literal.
/// * A quote may start in the middle of a bare token (`foo"bar"` is
///   `foobar`), but a closing quote must be followed by whitespace or the end
///   of input, otherwise the whole line is invalid (None).
/// * Unterminated quotes give None.
///
/// Like the C version, which works on NUL-terminated strings, input stops
/// at the first NUL byte.
pub fn splitargs(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&c| c == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let (arg, next) = read_token(line, i)?;
        args.push(arg);
        i = next;
    }
}

/// Read one argument starting at `line[i]` (not whitespace).  Returns the
/// argument and the index just after it.
fn read_token(line: &[u8], mut i: usize) -> Option<(Vec<u8>, usize)> {
    let mut cur = Vec::new();
    while i < line.len() {
        match line[i] {
            c if ends_bare_token(c) => return Some((cur, i + 1)),
            b'"' => return read_double_quoted(line, i + 1, cur),
            b'\'' => return read_single_quoted(line, i + 1, cur),
            c => cur.push(c),
        }
        i += 1;
    }
    Some((cur, i))
}

/// After a closing quote at `line[q]`, the token ends; the next byte must be
/// whitespace or the end of input.
fn after_closing_quote(line: &[u8], q: usize, cur: Vec<u8>) -> Option<(Vec<u8>, usize)> {
    match line.get(q + 1) {
        Some(&c) if !is_c_space(c) => None,
        _ => Some((cur, q + 1)),
    }
}

fn read_double_quoted(line: &[u8], mut i: usize, mut cur: Vec<u8>) -> Option<(Vec<u8>, usize)> {
    loop {
        let c = *line.get(i)?; // end of input: unterminated quotes
        match c {
            b'\\' if line.get(i + 1) == Some(&b'x') => {
                let hex = line.get(i + 2).and_then(|&h| hex_val(h));
                let lo = line.get(i + 3).and_then(|&h| hex_val(h));
                if let (Some(h), Some(l)) = (hex, lo) {
                    cur.push(h * 16 + l);
                    i += 4;
                } else {
                    cur.push(b'x'); // "\x" not followed by two hex digits
                    i += 2;
                }
            }
            b'\\' if i + 1 < line.len() => {
                cur.push(match line[i + 1] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                i += 2;
            }
            b'"' => return after_closing_quote(line, i, cur),
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
}

fn read_single_quoted(line: &[u8], mut i: usize, mut cur: Vec<u8>) -> Option<(Vec<u8>, usize)> {
    loop {
        let c = *line.get(i)?; // end of input: unterminated quotes
        match c {
            b'\\' if line.get(i + 1) == Some(&b'\'') => {
                cur.push(b'\'');
                i += 2;
            }
            b'\'' => return after_closing_quote(line, i, cur),
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
}

/// Quote `arg` like Redis' `sdscatrepr`: wrap in double quotes, escape `\`
/// and `"` with a backslash, show `\n \r \t \a \b` symbolically, keep other
/// printable ASCII (0x20..=0x7e) as is, and write every remaining byte as
/// `\xHH` (lowercase hex).
pub fn repr(arg: &[u8]) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for &c in arg {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\x");
                out.push(HEX[(c >> 4) as usize] as char);
                out.push(HEX[(c & 0xf) as usize] as char);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        splitargs(s.as_bytes())
            .map(|v| v.into_iter().map(|a| String::from_utf8(a).unwrap()).collect())
    }

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn basic_splitting() {
        assert_eq!(split(""), v(&[]));
        assert_eq!(split("   \t\r\n "), v(&[]));
        assert_eq!(split("set foo bar"), v(&["set", "foo", "bar"]));
        assert_eq!(split("  set   foo\tbar\r\n"), v(&["set", "foo", "bar"]));
        assert_eq!(split("a\nb\rc"), v(&["a", "b", "c"]));
    }

    #[test]
    fn vertical_tab_and_formfeed_quirk() {
        // Skipped between tokens, but do not end a bare token.
        assert_eq!(split("\x0b\x0ca"), v(&["a"]));
        assert_eq!(split("a\x0bb c"), v(&["a\x0bb", "c"]));
        // They do count as separators after a closing quote.
        assert_eq!(split("\"a\"\x0bb"), v(&["a", "b"]));
    }

    #[test]
    fn double_quotes() {
        assert_eq!(split("set \"foo bar\" x"), v(&["set", "foo bar", "x"]));
        assert_eq!(split("\"\""), v(&[""]));
        assert_eq!(split("\"\" \"\""), v(&["", ""]));
        assert_eq!(
            split(r#""a\nb\rc\td\be\af\\g\"h\zi""#),
            v(&["a\nb\rc\td\x08e\x07f\\g\"hzi"])
        );
        assert_eq!(split(r#""\x41\x4a\x6b""#), v(&["AJk"]));
        // \x without two hex digits is just 'x'.
        assert_eq!(split(r#""\x4""#), v(&["x4"]));
        assert_eq!(split(r#""\xzz""#), v(&["xzz"]));
        // Quote opening mid-token joins with what came before.
        assert_eq!(split("foo\"bar baz\""), v(&["foobar baz"]));
        // Single quotes inside double quotes are literal.
        assert_eq!(split("\"it's\""), v(&["it's"]));
    }

    #[test]
    fn hex_escape_yields_raw_bytes() {
        assert_eq!(
            splitargs(br#""\x00\xff\xFe""#),
            Some(vec![vec![0x00, 0xff, 0xfe]])
        );
    }

    #[test]
    fn single_quotes() {
        assert_eq!(split("'foo bar'"), v(&["foo bar"]));
        assert_eq!(split(r"'it\'s'"), v(&["it's"]));
        assert_eq!(split(r"'a\nb'"), v(&["a\\nb"]));
        assert_eq!(split(r"'a\\b'"), v(&["a\\\\b"]));
        assert_eq!(split("'say \"hi\"'"), v(&["say \"hi\""]));
        assert_eq!(split("''"), v(&[""]));
    }

    #[test]
    fn invalid_lines() {
        assert_eq!(split("\"foo"), None);
        assert_eq!(split("'foo"), None);
        assert_eq!(split("\"foo\"bar"), None);
        assert_eq!(split("'foo'bar"), None);
        assert_eq!(split("set \"a\"\"b\""), None);
        assert_eq!(split(r#""foo\""#), None);
        assert_eq!(split("\"foo\\"), None);
        assert_eq!(split(r"'foo\'"), None);
    }

    #[test]
    fn stops_at_nul() {
        assert_eq!(splitargs(b"a b\0c d"), Some(vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(splitargs(b"\"a\0b\""), None);
    }

    #[test]
    fn repr_escapes() {
        assert_eq!(repr(b""), "\"\"");
        assert_eq!(repr(b"hello world"), "\"hello world\"");
        assert_eq!(repr(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(repr(b"\n\r\t\x07\x08"), r#""\n\r\t\a\b""#);
        assert_eq!(repr(b"\x00\x01\x1f\x7f\x80\xff"), r#""\x00\x01\x1f\x7f\x80\xff""#);
        assert_eq!(repr(b"\x0b\x0c"), r#""\x0b\x0c""#);
        assert_eq!(repr(b"~ 'x'"), "\"~ 'x'\"");
    }

    #[test]
    fn repr_round_trips_through_splitargs() {
        let mut x: u32 = 12345;
        for len in 0..300 {
            let arg: Vec<u8> = (0..len % 40)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x >> 8) as u8
                })
                .collect();
            let quoted = repr(&arg);
            let line = format!("cmd {quoted} tail");
            assert_eq!(
                splitargs(line.as_bytes()),
                Some(vec![b"cmd".to_vec(), arg.clone(), b"tail".to_vec()]),
                "{quoted}"
            );
        }
    }
}
