//! Number parsing and formatting with Redis' exact acceptance rules.
//!
//! Redis is strict and a little idiosyncratic about which strings count as
//! numbers (no spaces, no `+` on integers, hex floats accepted, ...).  Clients
//! and test suites depend on those rules, so they are reproduced here:
//!
//! * [`parse_i64`]: `string2ll` (INCRBY, EXPIRE, LRANGE indexes, ...).
//! * [`parse_f64`]: `string2d` / `strtod` (ZADD scores, ZINCRBY, ...).
//! * [`fmt_double`]: `%.17g`, as used by RESP2 double replies (ZSCORE).
//!
//! INCRBYFLOAT's `long double` parsing and printing are in [`super::longdouble`].

/// Longest string `string2ll` considers (its buffer is 21 bytes incl. NUL).
const MAX_INT_STR_LEN: usize = 20;

// ---------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------

/// Parse a signed 64-bit integer with Redis' `string2ll` strictness:
/// optional `-`, then `0` alone or a digit 1-9 followed by digits.  Rejects
/// empty input, `+`, spaces, leading zeros, `-0`, more than 20 bytes, and
/// anything outside the i64 range.
pub fn parse_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > MAX_INT_STR_LEN {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let mag = parse_canonical_digits(digits)?;
    if neg {
        // -(i64::MIN) does not fit in i64, so go through i128.
        i64::try_from(-(mag as i128)).ok()
    } else {
        i64::try_from(mag).ok()
    }
}

/// Parse an unsigned 64-bit integer with the same strictness as
/// [`parse_i64`] (no sign at all, no leading zeros, overflow rejected).
///
/// Note: Redis' `string2ull` falls back to the lax `strtoull` when
/// `string2ll` fails; that fallback is deliberately not reproduced.
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > MAX_INT_STR_LEN {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    parse_canonical_digits(b)
}

/// Digits with a non-zero first digit, checked for u64 overflow.
fn parse_canonical_digits(d: &[u8]) -> Option<u64> {
    match d.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

#[cfg(test)]
/// Two-digit lookup table: "00" "01" ... "99".
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

#[cfg(test)]
/// Append the decimal form of `v` to `out` (no heap allocation beyond
/// growing `out`).
pub fn fmt_i64(v: i64, out: &mut Vec<u8>) {
    if v < 0 {
        out.push(b'-');
    }
    fmt_u64(v.unsigned_abs(), out);
}

#[cfg(test)]
/// Append the decimal form of `v` to `out`.
pub fn fmt_u64(mut v: u64, out: &mut Vec<u8>) {
    // u64::MAX has 20 digits.
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        pos -= 1;
        buf[pos] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[pos..]);
}

// ---------------------------------------------------------------------------
// Floating point parsing
// ---------------------------------------------------------------------------

/// Syntactic shape of a float literal accepted by C's `strtod`.
#[derive(Debug)]
enum FloatLit<'a> {
    /// `inf` / `infinity`, any case.
    Inf { neg: bool },
    /// Decimal literal; `text` is the whole input (valid for Rust's parser).
    Dec {
        text: &'a str,
        /// Decimal exponent of the first non-zero digit (d.ddd x 10^sci),
        /// or None when every mantissa digit is zero.
        sci: Option<i64>,
    },
    /// Hex literal `0x<hex>[.<hex>][p[+-]<dec>]`: value = mant * 2^exp2.
    Hex { neg: bool, mant: u64, exp2: i64 },
}

/// Recognise the complete input as a `strtod` float literal.  Anything that
/// `strtod` would stop short of (trailing bytes), leading whitespace, `nan`
/// and empty input give None.
fn scan_float(b: &[u8]) -> Option<FloatLit<'_>> {
    let (neg, body) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(FloatLit::Inf { neg });
    }
    if body.len() >= 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        return scan_hex(&body[2..]).map(|(mant, exp2)| FloatLit::Hex { neg, mant, exp2 });
    }
    scan_decimal(body).map(|sci| FloatLit::Dec {
        // Only ASCII reached this point, so this cannot fail.
        text: std::str::from_utf8(b).ok().unwrap_or(""),
        sci,
    })
}

/// Parse a run of ASCII decimal digits as an exponent, saturating far
/// beyond any meaningful float exponent.
fn saturating_exp(d: &[u8]) -> i64 {
    d.iter()
        .fold(0i64, |acc, &c| (acc * 10 + (c - b'0') as i64).min(1_000_000_000))
}

/// Split an optional exponent `<marker>[+-]digits` off the end of a
/// mantissa.  Returns (mantissa, exponent) or None if a marker is present
/// but not followed by digits (strtod would leave it unconsumed).
fn split_exponent(b: &[u8], markers: [u8; 2]) -> Option<(&[u8], i64)> {
    let Some(pos) = b.iter().position(|c| markers.contains(c)) else {
        return Some((b, 0));
    };
    let (mant, rest) = (&b[..pos], &b[pos + 1..]);
    let (sign, digits) = match rest.first() {
        Some(b'-') => (-1, &rest[1..]),
        Some(b'+') => (1, &rest[1..]),
        _ => (1, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((mant, sign * saturating_exp(digits)))
}

/// `digits[.digits][e[+-]digits]` with at least one mantissa digit.
/// Returns the scientific exponent of the first non-zero digit (None when all are zero).
fn scan_decimal(b: &[u8]) -> Option<Option<i64>> {
    let (mant, exp10) = split_exponent(b, [b'e', b'E'])?;
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(dot) => (&mant[..dot], &mant[dot + 1..]),
        None => (mant, &mant[mant.len()..]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let digits = int.iter().chain(frac.iter());
    let Some(first_nz) = digits.clone().position(|&c| c != b'0') else {
        return Some(None);
    };
    Some(Some(int.len() as i64 - 1 - first_nz as i64 + exp10))
}

/// `hex[.hex][p[+-]digits]` after the `0x` prefix, with at least one hex
/// digit.  Returns (mantissa, binary exponent) keeping the first 15 hex
/// digits (60 bits) and folding any further non-zero digit into a sticky
/// bit (good enough for correct rounding in all but contrived cases).
fn scan_hex(b: &[u8]) -> Option<(u64, i64)> {
    let (mant, exp2) = split_exponent(b, [b'p', b'P'])?;
    let (int, frac) = match mant.iter().position(|&c| c == b'.') {
        Some(dot) => (&mant[..dot], &mant[dot + 1..]),
        None => (mant, &mant[mant.len()..]),
    };
    let all_hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    if int.len() + frac.len() == 0 || !all_hex(int) || !all_hex(frac) {
        return None;
    }
    let mut m: u64 = 0;
    let mut exp = exp2;
    let mut kept = 0;
    let mut sticky = false;
    let mut seen_nonzero = false;
    for (i, &c) in int.iter().chain(frac.iter()).enumerate() {
        let d = (c as char).to_digit(16).unwrap_or(0) as u64;
        let is_frac = i >= int.len();
        seen_nonzero |= d != 0;
        if !seen_nonzero {
            if is_frac {
                exp -= 4; // leading zero after the point
            }
            continue;
        }
        if kept < 15 {
            m = m << 4 | d;
            kept += 1;
            if is_frac {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !is_frac {
                exp += 4; // dropped integer digit still scales the value
            }
        }
    }
    if sticky {
        m = m << 1 | 1;
        exp -= 1;
    }
    Some((m, exp))
}

/// `mant * 2^exp2` as f64, scaling in steps so intermediates never
/// overflow or underflow prematurely.
fn scale_pow2(mant: u64, mut exp2: i64) -> f64 {
    let mut v = mant as f64;
    while exp2 > 0 && v.is_finite() {
        let step = exp2.min(1000);
        v *= 2f64.powi(step as i32);
        exp2 -= step;
    }
    while exp2 < 0 && v != 0.0 {
        let step = (-exp2).min(1000);
        v /= 2f64.powi(step as i32);
        exp2 += step;
    }
    v
}

/// Parse a double with Redis' `string2d` rules (ZADD, ZINCRBY, ...):
/// the whole input must be a `strtod` literal — decimal (`1`, `-1.5`, `.5`,
/// `1.`, `1e10`, leading zeros ok), hex (`0x10`, `0x1p-3`), or
/// `inf`/`infinity` with optional sign, any case.  Rejected: empty input,
/// leading/trailing spaces, `nan`, and literals that overflow to infinity or
/// underflow all the way to zero (`1e400`, `1e-400`; but `0e-400` is 0).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let lit = scan_float(b)?;
    match lit {
        FloatLit::Inf { neg } => Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY }),
        FloatLit::Dec { text, sci, .. } => {
            let v: f64 = text.parse().ok()?;
            let out_of_range = v.is_infinite() || (v == 0.0 && sci.is_some());
            (!out_of_range).then_some(v)
        }
        FloatLit::Hex { neg, mant, exp2 } => {
            let v = scale_pow2(mant, exp2);
            if v.is_infinite() || (v == 0.0 && mant != 0) {
                return None;
            }
            Some(if neg { -v } else { v })
        }
    }
}

// ---------------------------------------------------------------------------
// Floating point formatting
// ---------------------------------------------------------------------------

/// Format like C's `printf("%.17g")`, which is what Redis 7.0 uses for
/// RESP2 double replies (ZSCORE, ZINCRBY, ZRANGE WITHSCORES, ...):
/// `1.1` -> `1.1000000000000001`, `1e20` -> `1e+20`, `3000.0` -> `3000`,
/// `-0.0` -> `-0`, infinities -> `inf` / `-inf`, NaN -> `nan`.
pub fn fmt_double(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    const PREC: i32 = 17;
    // Rust's `{:e}` with a precision rounds exactly (half-to-even on exact
    // ties), like glibc, so it gives %g's decimal exponent after rounding.
    let sci = format!("{:.*e}", (PREC - 1) as usize, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..PREC).contains(&exp) {
        let mut s = strip_fraction_zeros(mantissa).to_string();
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            s.push('0');
        }
        s.push_str(&abs.to_string());
        s
    } else {
        let fixed = format!("{:.*}", (PREC - 1 - exp) as usize, v);
        strip_fraction_zeros(&fixed).to_string()
    }
}

/// Drop trailing zeros after a decimal point, and the point itself if
/// nothing remains after it.  Strings without a point are left alone.
fn strip_fraction_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_accepts_canonical() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("1", 1),
            ("-1", -1),
            ("10", 10),
            ("1234567890", 1234567890),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("-9223372036854775807", -i64::MAX),
        ];
        for &(s, v) in ok {
            assert_eq!(parse_i64(s.as_bytes()), Some(v), "{s:?}");
        }
    }

    #[test]
    fn parse_i64_rejects() {
        let bad = [
            "", "-", "+1", " 1", "1 ", "01", "00", "-0", "-01", "1.0", "1e3", "0x10", "abc",
            "12a", "9223372036854775808", "-9223372036854775809",
            "18446744073709551616", "99999999999999999999", "123456789012345678901",
            "--1", "1-", "\x001", "1\x00",
        ];
        for s in bad {
            assert_eq!(parse_i64(s.as_bytes()), None, "{s:?}");
        }
    }

    #[test]
    fn parse_u64_rules() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"01"), None);
        assert_eq!(parse_u64(b""), None);
    }

    #[test]
    fn fmt_integers() {
        let cases = [
            0i64, 1, -1, 9, 10, 99, 100, 101, -100, 12345, 1_000_000, i64::MAX, i64::MIN,
            i64::MIN + 1,
        ];
        for v in cases {
            let mut out = b"x".to_vec();
            fmt_i64(v, &mut out);
            assert_eq!(out, format!("x{v}").into_bytes());
            if v >= 0 {
                assert_eq!(parse_i64(&out[1..]), Some(v));
            }
        }
        let mut out = Vec::new();
        fmt_u64(u64::MAX, &mut out);
        assert_eq!(out, b"18446744073709551615");
        // Exhaustive-ish round trip over a spread of magnitudes.
        let mut x: i64 = 1;
        while x < i64::MAX / 3 {
            for v in [x, -x, x - 1, x + 7] {
                let mut out = Vec::new();
                fmt_i64(v, &mut out);
                assert_eq!(out, v.to_string().into_bytes());
                assert_eq!(parse_i64(&out), Some(v));
            }
            x = x * 3 + 1;
        }
    }

    #[test]
    fn parse_f64_accepts() {
        // All verified against redis-server 7.0.15 with ZADD.
        let ok: &[(&str, f64)] = &[
            ("1.1", 1.1),
            ("1", 1.0),
            ("-0", -0.0),
            ("1e20", 1e20),
            ("1E2", 100.0),
            ("3.0e3", 3000.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("+.5", 0.5),
            ("-.5", -0.5),
            ("+1", 1.0),
            ("00012", 12.0),
            ("0x10", 16.0),
            ("0X1P3", 8.0),
            ("0x.8", 0.5),
            ("0x1.8p1", 3.0),
            ("-0x1p-2", -0.25),
            ("1e-310", 1e-310),
            ("4.9e-324", 4.9e-324),
            ("0e-400", 0.0),
            ("1.7976931348623157e308", f64::MAX),
        ];
        for &(s, v) in ok {
            let got = parse_f64(s.as_bytes());
            assert_eq!(got, Some(v), "{s:?}");
            assert_eq!(got.unwrap().is_sign_negative(), v.is_sign_negative(), "{s:?}");
        }
        for s in ["inf", "+inf", "INF", "infinity", "Infinity", "+INFINITY"] {
            assert_eq!(parse_f64(s.as_bytes()), Some(f64::INFINITY), "{s:?}");
        }
        for s in ["-inf", "-Inf", "-infinity"] {
            assert_eq!(parse_f64(s.as_bytes()), Some(f64::NEG_INFINITY), "{s:?}");
        }
    }

    #[test]
    fn parse_f64_rejects() {
        let bad = [
            "", " 1", "1 ", "\t1", "nan", "NaN", "-nan", "nan(1)", ".", "-", "+", "e5", "1e",
            "1e+", "1e-", "1.2.3", "1e400", "-1e400", "1e-400", "1.8e308", "0x", "0x.", "0xg",
            "0x1p", "0x1p+", "0x1p99999", "inf1", "infin", "in", "1,5", "1_000", "0b1", "abc",
            "1\x00",
        ];
        for s in bad {
            assert_eq!(parse_f64(s.as_bytes()), None, "{s:?}");
        }
    }

    #[test]
    fn hex_parsing_details() {
        assert_eq!(parse_f64(b"0x0"), Some(0.0));
        assert_eq!(parse_f64(b"0x0.0p5"), Some(0.0));
        assert_eq!(parse_f64(b"0xff"), Some(255.0));
        assert_eq!(parse_f64(b"0x00000001p0"), Some(1.0));
        assert_eq!(parse_f64(b"0x0.001p12"), Some(1.0));
        assert_eq!(parse_f64(b"0x1234567890abcdef"), Some(0x1234567890abcdefu64 as f64));
        // Digits beyond the kept 60 bits only act as a sticky bit.
        assert_eq!(parse_f64(b"0x1234567890abcdef12p-8"), Some(0x1234567890abcdefu64 as f64));
        assert_eq!(parse_f64(b"0x100000000000000000000"), Some(2f64.powi(80)));
        assert_eq!(parse_f64(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_f64(b"0x1p-1080"), None); // underflows to zero
        assert_eq!(parse_f64(b"0x1p1023"), Some(2f64.powi(1023)));
        assert_eq!(parse_f64(b"0x1p1024"), None);
    }

    #[test]
    #[allow(clippy::excessive_precision)] // 2^50 + 0.25 is exact
    fn fmt_double_matches_redis_zscore() {
        // Verified with ZADD + ZSCORE against redis-server 7.0.15 (RESP2).
        let cases: &[(f64, &str)] = &[
            (1.1, "1.1000000000000001"),
            (1.0, "1"),
            (0.1, "0.10000000000000001"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (1e-4, "0.0001"),
            (0.0001234, "0.00012339999999999999"),
            (1e300, "1.0000000000000001e+300"),
            (1e-300, "1e-300"),
            (1e-310, "9.9999999999999694e-311"),
            (3000.0, "3000"),
            (1125899906842624.25, "1125899906842624.2"),
            (2.5, "2.5"),
            (1e15, "1000000000000000"),
            (9007199254740993.0, "9007199254740992"),
            (4.9e-324, "4.9406564584124654e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-1.5, "-1.5"),
            (-1e100, "-1e+100"),
        ];
        for &(v, want) in cases {
            assert_eq!(fmt_double(v), want, "{v:e}");
        }
        assert_eq!(fmt_double(f64::NAN), "nan");
        assert_eq!(fmt_double(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(fmt_double(99999999999999999.0), "1e+17");
        assert_eq!(fmt_double(12345.678), "12345.678");
    }

    #[test]
    fn fmt_double_round_trips() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let s = fmt_double(v);
            // 17 significant digits always round-trip.
            assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), Some(v.to_bits()), "{s}");
        }
    }
}
