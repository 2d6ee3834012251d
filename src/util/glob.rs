//! Redis-compatible glob matching (`KEYS`, `SCAN MATCH`, `PSUBSCRIBE`,
//! `CONFIG GET`, ...).
//!
//! The semantics intentionally reproduce Redis' `stringmatchlen`, quirks
//! included, because clients can observe every one of them:
//!
//! * `*` matches any run of bytes, `?` exactly one byte.
//! * `[...]` is a byte class; `[^...]` negates it; `a-z` is a range and
//!   reversed ranges (`z-a`) are accepted.  Range bounds are compared as
//!   *signed* bytes (Redis runs on platforms where `char` is signed), so
//!   `[a-\xff]` is really the range `\xff..=a`, i.e. -1..=97.
//! * `\x` escapes `x`, both outside and inside brackets.  Inside brackets the
//!   escaped byte is always compared case-sensitively.
//! * A `[` class that is never closed extends to the end of the pattern and
//!   still matches one byte (`"[^"` matches any single byte).
//! * `[a-]` is *not* "a or -": the range swallows the `]` as its upper bound,
//!   so the class keeps going (here it is unterminated).
//! * The empty string is only matched by the empty pattern (even `*` does not
//!   match it; `KEYS *` works only because Redis special-cases it, see
//!   [`is_match_all`]).
//! * With `nocase`, only ASCII letters are folded.
//!
//! Two protections against hostile patterns are included:
//!
//! * Once the tail after a `*` failed to match at every remaining position,
//!   no earlier `*` can succeed by consuming more, so the whole match is
//!   abandoned (CVE-2022-36021; keeps `*a*a*a...b` linear-ish instead of
//!   exponential).
//! * More than [`MAX_NESTING`] nested `*` expansions make the match fail
//!   (CVE-2024-31228; bounds recursion depth / stack use).

/// Recursion depth at which matching gives up and reports "no match".
/// Same limit as Redis (a call at depth > 1000 fails).
pub const MAX_NESTING: usize = 1000;

/// Match `string` against the Redis glob `pattern`.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut m = Matcher {
        pat: pattern,
        s: string,
        nocase,
        give_up: false,
    };
    m.match_from(0, 0, 0)
}

/// True when the pattern is exactly `*`: callers (KEYS/SCAN) use this to skip
/// matching altogether, which is also what makes an empty key visible to
/// `KEYS *` in Redis.
pub fn is_match_all(pattern: &[u8]) -> bool {
    pattern == b"*"
}

struct Matcher<'a> {
    pat: &'a [u8],
    s: &'a [u8],
    nocase: bool,
    /// Set when a `*` proved that its tail matches nowhere in the rest of the
    /// string; every enclosing `*` can then stop trying longer expansions.
    give_up: bool,
}

/// ASCII-only lowercase on a signed "C char" value (what `tolower` does in
/// the C locale, where non-ASCII values map to themselves).
fn lower(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// A byte as C's signed `char` would see it.
fn signed(b: u8) -> i32 {
    b as i8 as i32
}

impl<'a> Matcher<'a> {
    fn eq_byte(&self, a: u8, b: u8) -> bool {
        if self.nocase {
            lower(signed(a)) == lower(signed(b))
        } else {
            a == b
        }
    }

    /// Match `pat[p..]` against `s[si..]`.  `depth` counts nested `*`
    /// expansions for the CVE-2024-31228 limit.
    fn match_from(&mut self, mut p: usize, mut si: usize, depth: usize) -> bool {
        if depth > MAX_NESTING {
            return false;
        }
        let plen = self.pat.len();
        let slen = self.s.len();
        while p < plen && si < slen {
            match self.pat[p] {
                b'*' => return self.match_star(p, si, depth),
                b'?' => {
                    si += 1;
                    p += 1;
                }
                b'[' => {
                    let (hit, next) = self.match_class(p + 1, self.s[si]);
                    if !hit {
                        return false;
                    }
                    si += 1;
                    p = next;
                }
                c => {
                    // A trailing lone backslash is a literal backslash.
                    let lit = if c == b'\\' && p + 1 < plen {
                        p += 1;
                        self.pat[p]
                    } else {
                        c
                    };
                    if !self.eq_byte(lit, self.s[si]) {
                        return false;
                    }
                    si += 1;
                    p += 1;
                }
            }
            if si == slen {
                // String exhausted: only trailing stars may remain.
                while p < plen && self.pat[p] == b'*' {
                    p += 1;
                }
                break;
            }
        }
        p == plen && si == slen
    }

    /// Handle a `*` at `pat[p]` with at least one byte left in the string.
    fn match_star(&mut self, mut p: usize, si: usize, depth: usize) -> bool {
        let plen = self.pat.len();
        while p + 1 < plen && self.pat[p + 1] == b'*' {
            p += 1;
        }
        if p + 1 == plen {
            return true; // trailing star eats everything
        }
        // Try the tail at every position that leaves at least one byte; the
        // tail starts with a non-`*` token, which always needs one byte.
        for start in si..self.s.len() {
            if self.match_from(p + 1, start, depth + 1) {
                return true;
            }
            if self.give_up {
                return false;
            }
        }
        // The tail matches at no position: a longer expansion of any earlier
        // star would only start the tail later, so nothing can succeed.
        self.give_up = true;
        false
    }

    /// Evaluate the class whose body starts at `pat[p]` (just after `[`)
    /// against byte `c`.  Returns (matched, index just past the class).
    ///
    /// An unterminated class ends at the end of the pattern.
    fn match_class(&self, mut p: usize, c: u8) -> (bool, usize) {
        let pat = self.pat;
        let end = pat.len();
        let negate = p < end && pat[p] == b'^';
        if negate {
            p += 1;
        }
        let mut hit = false;
        loop {
            let left = end - p;
            if left >= 2 && pat[p] == b'\\' {
                p += 1;
                // Escaped bytes are compared exactly, even with nocase.
                hit |= pat[p] == c;
            } else if left >= 1 && pat[p] == b']' {
                break;
            } else if left == 0 {
                // Unterminated: pretend the last pattern byte closed it.
                p -= 1;
                break;
            } else if left >= 3 && pat[p + 1] == b'-' {
                hit |= self.in_range(pat[p], pat[p + 2], c);
                p += 2;
            } else {
                hit |= self.eq_byte(pat[p], c);
            }
            p += 1;
        }
        (hit != negate, p + 1)
    }

    /// Range test with Redis' quirks: bounds are signed bytes, swapped if
    /// reversed, and only then case-folded.
    fn in_range(&self, a: u8, b: u8, c: u8) -> bool {
        let (mut lo, mut hi) = (signed(a), signed(b));
        if lo > hi {
            std::mem::swap(&mut lo, &mut hi);
        }
        let mut ch = signed(c);
        if self.nocase {
            lo = lower(lo);
            hi = lower(hi);
            ch = lower(ch);
        }
        lo <= ch && ch <= hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn table() {
        // (pattern, string, expected).  Rows marked "redis" were checked
        // against redis-server 7.0.15 with KEYS.
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),        // redis
            ("*", "", false),      // redis (via "**"; KEYS special-cases "*")
            ("**", "", false),     // redis
            ("?*", "", false),     // redis
            ("[^", "", false),     // redis
            ("a", "a", true),
            ("a", "b", false),
            ("a", "aa", false),
            ("aa", "a", false),
            ("a*", "a", true),     // redis
            ("a**", "a", true),    // redis
            ("*", "anything", true),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "hllo", true),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("[z-a]", "z", true),  // redis: reversed range
            ("[z-a]", "m", true),
            ("[a-z]", "A", false), // redis
            ("[a-]b", "ab", false), // redis: range a..']' swallows the ']'
            ("[a-]b", "b", true),   // redis
            ("[a-]", "a", true),    // redis
            ("[a-]", "-", false),   // redis
            ("[a-]]", "a", true),   // redis
            ("[", "x", false),      // redis
            ("[^", "x", true),      // redis: unterminated negated empty class
            ("a[", "ab", false),    // redis
            ("a[b", "ab", true),    // redis
            ("a[^c", "ab", true),   // redis
            ("a[\\", "ab", false),  // redis
            ("a[\\", "a\\", true),  // redis: lone backslash literal in class
            ("[]]", "]", false),    // redis: "[]" is an empty class
            ("[\\]]", "]", true),   // redis
            ("[\\]a]", "a", true),  // redis
            ("[x-", "x", true),     // redis: unterminated, '-' is literal
            ("[x-", "-", true),     // redis
            ("[x-", "y", false),    // redis
            ("\\", "\\", true),     // redis: trailing backslash is literal
            ("a\\", "a\\", true),   // redis
            ("\\*", "*", true),     // redis
            ("\\*", "a", false),
            ("\\ab", "ab", true),   // redis
            ("\\?", "?", true),
            ("\\?", "x", false),
            ("*\\*", "abc*", true),
            ("*\\*", "abc", false),
            ("[\\-]", "-", true),
            ("[a\\-z]", "b", false),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("*a*b*c*", "xxaxxcxxbxx", false),
            ("*.txt", "file.txt", true),
            ("*.txt", "file.txt.bak", false),
            ("a*b*", "ab", true),
            ("*?", "a", true),
            ("*??", "a", false),
            ("user:*:name", "user:42:name", true),
        ];
        for &(p, s, want) in cases {
            assert_eq!(m(p, s), want, "pattern {:?} string {:?}", p, s);
        }
    }

    #[test]
    fn signed_char_ranges() {
        // Checked against redis-server: bounds compare as signed char.
        assert!(!glob_match(b"[a-\xff]", b"\x80", false));
        assert!(!glob_match(b"[\x01-\x7f]", b"\x80", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[a-\xff]", b"0", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(glob_match(b"\xe9*", b"\xe9t\xe9", false));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
        assert!(glob_match(b"[A-Z]x", b"qX", true));
        assert!(glob_match(b"[abc]", b"B", true));
        assert!(glob_match(b"[^abc]", b"d", true));
        assert!(!glob_match(b"[^abc]", b"B", true));
        // Escapes inside a class stay case-sensitive.
        assert!(!glob_match(b"[\\A]", b"a", true));
        assert!(glob_match(b"[\\A]", b"A", true));
        // ...but escapes outside a class fold.
        assert!(glob_match(b"\\A", b"a", true));
        // Swap happens before folding: [Z-a] folds to the empty range z..a.
        assert!(!glob_match(b"[Z-a]", b"_", true));
        assert!(glob_match(b"[Z-a]", b"_", false));
        // Non-ASCII is never folded.
        assert!(!glob_match(b"\xc9", b"\xe9", true));
    }

    #[test]
    fn embedded_nul_bytes() {
        assert!(glob_match(b"a\0*", b"a\0bc", false));
        assert!(glob_match(b"[\0]", b"\0", false));
        assert!(!glob_match(b"a", b"a\0", false));
    }

    #[test]
    fn match_all() {
        assert!(is_match_all(b"*"));
        assert!(!is_match_all(b"**"));
        assert!(!is_match_all(b""));
        assert!(!is_match_all(b"a*"));
    }

    fn assert_fast(pattern: &[u8], string: &[u8], want: bool) {
        let t = Instant::now();
        assert_eq!(glob_match(pattern, string, false), want);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "took {:?} for pattern of len {}",
            t.elapsed(),
            pattern.len()
        );
    }

    #[test]
    fn pathological_star_patterns_are_fast() {
        // CVE-2022-36021 style: many stars, string that almost matches.
        let mut pat = Vec::new();
        for _ in 0..100 {
            pat.extend_from_slice(b"*a");
        }
        pat.extend_from_slice(b"*b");
        let s = vec![b'a'; 10_000];
        assert_fast(&pat, &s, false);

        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert_fast(pat, &vec![b'a'; 50_000], false);

        // Same shape but succeeding.
        let mut s = vec![b'a'; 10_000];
        s.push(b'b');
        let mut pat = Vec::new();
        for _ in 0..100 {
            pat.extend_from_slice(b"*a");
        }
        pat.extend_from_slice(b"*b");
        assert_fast(&pat, &s, true);

        // Many stars with '?'.
        let mut pat = Vec::new();
        for _ in 0..200 {
            pat.extend_from_slice(b"*?");
        }
        pat.push(b'x');
        assert_fast(&pat, &vec![b'y'; 5_000], false);
    }

    #[test]
    fn nesting_limit() {
        // 1000 nested stars are fine, 1001 exceed the limit -> no match.
        let pat = b"*a".repeat(1000);
        let s = vec![b'a'; 1000];
        assert_fast(&pat, &s, true);
        let pat = b"*a".repeat(1001);
        let s = vec![b'a'; 1001];
        assert_fast(&pat, &s, false);
        // Huge pattern vs huge string: bounded recursion, no stack overflow.
        let pat = b"*a".repeat(100_000);
        let s = vec![b'a'; 100_000];
        assert_fast(&pat, &s, false);
        // Consecutive stars collapse and do not count as nesting.
        let mut pat = vec![b'*'; 5000];
        pat.push(b'a');
        assert_fast(&pat, b"xxxa", true);
    }

    // ---- reference matcher for fuzzing -------------------------------------

    /// One pattern element: a star, or a predicate over a single byte.
    enum Tok {
        Star,
        Byte(Box<dyn Fn(u8) -> bool>),
    }

    /// Tokenize a pattern independently of the matcher's control flow.
    fn tokenize(p: &[u8], nocase: bool) -> Vec<Tok> {
        let fold = move |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
        let sgn = |b: u8| b as i8 as i32;
        let mut out = Vec::new();
        let mut i = 0;
        while i < p.len() {
            match p[i] {
                b'*' => {
                    out.push(Tok::Star);
                    i += 1;
                }
                b'?' => {
                    out.push(Tok::Byte(Box::new(|_| true)));
                    i += 1;
                }
                b'[' => {
                    i += 1;
                    let neg = i < p.len() && p[i] == b'^';
                    if neg {
                        i += 1;
                    }
                    // Collect members as (lo, hi, exact) items.
                    let mut items: Vec<(i32, i32, bool)> = Vec::new();
                    loop {
                        if i + 1 < p.len() && p[i] == b'\\' {
                            items.push((sgn(p[i + 1]), sgn(p[i + 1]), true));
                            i += 2;
                        } else if i < p.len() && p[i] == b']' {
                            i += 1;
                            break;
                        } else if i >= p.len() {
                            break;
                        } else if i + 2 < p.len() && p[i + 1] == b'-' {
                            let (a, b) = (sgn(p[i]), sgn(p[i + 2]));
                            let (lo, hi) = (a.min(b), a.max(b));
                            items.push((lo, hi, false));
                            i += 3;
                        } else {
                            items.push((sgn(p[i]), sgn(p[i]), false));
                            i += 1;
                        }
                    }
                    let f = move |c: u8| {
                        let lc = |x: i32| {
                            if nocase && (65..=90).contains(&x) {
                                x + 32
                            } else {
                                x
                            }
                        };
                        let hit = items.iter().any(|&(lo, hi, exact)| {
                            let ch = sgn(c);
                            if exact {
                                ch == lo
                            } else {
                                lc(lo) <= lc(ch) && lc(ch) <= lc(hi)
                            }
                        });
                        hit != neg
                    };
                    out.push(Tok::Byte(Box::new(f)));
                }
                b => {
                    let lit = if b == b'\\' && i + 1 < p.len() {
                        i += 1;
                        p[i]
                    } else {
                        b
                    };
                    i += 1;
                    out.push(Tok::Byte(Box::new(move |c| fold(c) == fold(lit))));
                }
            }
        }
        out
    }

    /// Plain exponential backtracking over tokens.
    fn ref_tokens(t: &[Tok], s: &[u8]) -> bool {
        match t.first() {
            None => s.is_empty(),
            Some(Tok::Star) => (0..=s.len()).any(|k| ref_tokens(&t[1..], &s[k..])),
            Some(Tok::Byte(f)) => !s.is_empty() && f(s[0]) && ref_tokens(&t[1..], &s[1..]),
        }
    }

    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        if s.is_empty() {
            return p.is_empty(); // Redis quirk: the empty string only matches ""
        }
        ref_tokens(&tokenize(p, nocase), s)
    }

    /// Small xorshift so the test needs no extra crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_against_reference() {
        let pat_alpha = b"ab*?[]^-\\AB\x80\xff";
        let str_alpha = b"abAB-]^\\*?\x80\xff";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for iter in 0..200_000 {
            let pl = rng.below(9);
            let sl = rng.below(8);
            let p: Vec<u8> = (0..pl).map(|_| pat_alpha[rng.below(pat_alpha.len())]).collect();
            let s: Vec<u8> = (0..sl).map(|_| str_alpha[rng.below(str_alpha.len())]).collect();
            let nocase = iter % 3 == 0;
            assert_eq!(
                glob_match(&p, &s, nocase),
                reference(&p, &s, nocase),
                "pattern {:?} string {:?} nocase {}",
                String::from_utf8_lossy(&p),
                String::from_utf8_lossy(&s),
                nocase
            );
        }
    }
}
