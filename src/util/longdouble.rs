//! INCRBYFLOAT and HINCRBYFLOAT in the platform's C `long double`, as Redis computes them.
//!
//! Redis adds in `long double` (x87 80-bit extended precision on x86-64) and prints the sum
//! with `%.17Lf`, so `INCRBYFLOAT k -44.35` on 0 answers `-44.35` where a sum in `f64`
//! prints `-44.349999999999994`. Rust has no 80-bit type, so the arithmetic lives in
//! src/util/longdouble.c (strtold, `+`, snprintf: the C library's own digits, as Redis's) and
//! values cross as opaque blobs.

use std::os::raw::{c_char, c_int, c_longlong};

/// A C `long double`, opaque on the Rust side.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct LongDouble([u8; 16]);

extern "C" {
    fn tandem_ld_parse(s: *const c_char, len: usize, out: *mut LongDouble) -> c_int;
    fn tandem_ld_from_i64(n: c_longlong, out: *mut LongDouble);
    fn tandem_ld_from_double(d: f64, out: *mut LongDouble);
    fn tandem_ld_add(a: *const LongDouble, b: *const LongDouble, out: *mut LongDouble);
    fn tandem_ld_is_finite(a: *const LongDouble) -> c_int;
    fn tandem_ld_human(a: *const LongDouble, buf: *mut c_char, cap: usize) -> usize;
    fn tandem_sort_weight(s: *const c_char, len: usize, out: *mut f64) -> c_int;
}

/// SORT's numeric weight of a value, as Redis reads it with `strtod`: leading spaces
/// accepted, text after a NUL ignored, anything else left over, overflow, underflow or NaN
/// refused.
pub fn sort_weight(text: &[u8]) -> Option<f64> {
    let mut out = 0.0;
    // SAFETY: the C side reads `len` bytes of `text` and writes one f64.
    let ok = unsafe { tandem_sort_weight(text.as_ptr() as *const c_char, text.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// The longest text Redis parses or prints for a long double (MAX_LONG_DOUBLE_CHARS).
const MAX_CHARS: usize = 5 * 1024;

impl LongDouble {
    /// Parses with Redis's `string2ld` rules: `strtold` over the whole text, no leading
    /// space, no NaN, no overflow, under 5 KiB.
    pub fn parse(text: &[u8]) -> Option<LongDouble> {
        let mut out = LongDouble([0; 16]);
        // SAFETY: the C side reads `len` bytes of `text` and writes one blob into `out`.
        let ok = unsafe { tandem_ld_parse(text.as_ptr() as *const c_char, text.len(), &mut out) };
        (ok == 1).then_some(out)
    }

    /// Zero.
    pub fn zero() -> LongDouble {
        Self::from_i64(0)
    }

    pub fn from_i64(n: i64) -> LongDouble {
        let mut out = LongDouble([0; 16]);
        // SAFETY: writes one blob into `out`.
        unsafe { tandem_ld_from_i64(n, &mut out) };
        out
    }

    /// An `f64`, widened exactly.
    pub fn from_f64(d: f64) -> LongDouble {
        let mut out = LongDouble([0; 16]);
        // SAFETY: writes one blob into `out`.
        unsafe { tandem_ld_from_double(d, &mut out) };
        out
    }

    /// The sum, rounded as the C `+` rounds it.
    pub fn add(&self, other: &LongDouble) -> LongDouble {
        let mut out = LongDouble([0; 16]);
        // SAFETY: reads two blobs, writes one; all are valid `long double`s made by the C side.
        unsafe { tandem_ld_add(self, other, &mut out) };
        out
    }

    /// Neither NaN nor an infinity.
    pub fn is_finite(&self) -> bool {
        // SAFETY: reads a blob made by the C side.
        unsafe { tandem_ld_is_finite(self) == 1 }
    }

    /// Redis's human-friendly form (`ld2string` with LD_STR_HUMAN): `%.17Lf` without the
    /// trailing zeros of the fraction, `-0` as `0`. None for NaN or an infinity.
    pub fn human(&self) -> Option<String> {
        if !self.is_finite() {
            return None;
        }
        let mut buf = vec![0u8; MAX_CHARS];
        // SAFETY: the C side writes at most `cap` bytes (NUL included) into `buf`.
        let n = unsafe { tandem_ld_human(self, buf.as_mut_ptr() as *mut c_char, buf.len()) };
        if n == 0 {
            return None;
        }
        buf.truncate(n);
        String::from_utf8(buf).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(a: &str, b: &str) -> Option<String> {
        LongDouble::parse(a.as_bytes())?.add(&LongDouble::parse(b.as_bytes())?).human()
    }

    #[test]
    fn prints_what_redis_prints() {
        assert_eq!(sum("0", "-44.35").as_deref(), Some("-44.35"));
        assert_eq!(sum("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(sum("1e20", "10.5").as_deref(), Some("100000000000000000008"));
        assert_eq!(sum("5.0e3", "2.0e2").as_deref(), Some("5200"));
        assert_eq!(sum("-0", "0").as_deref(), Some("0"));
        assert_eq!(sum("inf", "1"), None);
    }

    #[test]
    fn ten_and_a_half_plus() {
        // 10.5 INCRBYFLOAT <incr>, verified against redis-server 7.0.15.
        let cases = [
            ("0.1", "10.6"),
            ("5.0e3", "5010.5"),
            ("1.5", "12"),
            ("-0.000001", "10.499999"),
            ("1e10", "10000000010.5"),
            ("-0.5", "10"),
            ("-0", "10.5"),
            ("0x10", "26.5"),
        ];
        for (inc, want) in cases {
            assert_eq!(sum("10.5", inc).as_deref(), Some(want), "{inc}");
        }
    }

    #[test]
    fn parses_as_string2ld() {
        for bad in ["", " 1", "1 ", "nan", "abc", "1e5000", "1e-5000", "1.5x"] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad:?}");
        }
        for good in ["1", "-1.5", "1e400", "0x10", "inf", "-inf", "+3"] {
            assert!(LongDouble::parse(good.as_bytes()).is_some(), "{good:?}");
        }
        assert!(LongDouble::parse(&vec![b'1'; MAX_CHARS]).is_none());
    }
}
