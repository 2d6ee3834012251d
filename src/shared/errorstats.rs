//! INFO errorstats: error replies counted by their code (the first word: `ERR`, `WRONGTYPE`,
//! `NOGROUP`, ...), as Redis 7.0 counts them.
//!
//! Whoever owns a reply buffer hands the codes its [`Out`](crate::resp::reply::Out)
//! recorded to [`ErrorStats::record`]: the keyspace after each command it runs, a client
//! actor before it writes its replies, the blocking machinery when it answers a parked client.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

#[derive(Default)]
pub struct ErrorStats {
    by_code: Mutex<BTreeMap<String, u64>>,
    /// INFO stats `total_error_replies`.
    pub total: AtomicU64,
}

impl ErrorStats {
    /// Counts the error replies whose codes are in `codes`, and empties it.
    pub fn record(&self, codes: &mut Vec<String>) {
        if codes.is_empty() {
            return;
        }
        self.total.fetch_add(codes.len() as u64, Relaxed);
        let mut map = self.by_code.lock().unwrap_or_else(|e| e.into_inner());
        for code in codes.drain(..) {
            *map.entry(code).or_default() += 1;
        }
    }

    /// Counts one error reply given by its text (`ERR ...`).
    pub fn record_one(&self, msg: &[u8]) {
        self.record(&mut vec![crate::resp::reply::error_code(msg)]);
    }

    /// The `errorstat_<CODE>:count=<n>` lines, codes in byte order.
    pub fn info_lines(&self) -> Vec<String> {
        let map = self.by_code.lock().unwrap_or_else(|e| e.into_inner());
        map.iter().map(|(code, n)| format!("errorstat_{}:count={}", safe_info(code), n)).collect()
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        self.total.store(0, Relaxed);
        self.by_code.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A code as INFO may show it: the field separators `:` and line ends become `_`
/// (`getSafeInfoString` in Redis replaces the same characters).
fn safe_info(code: &str) -> String {
    code.chars().map(|c| if matches!(c, ':' | '\r' | '\n') { '_' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_code_in_order() {
        let s = ErrorStats::default();
        s.record_one(b"WRONGTYPE Operation against a key holding the wrong kind of value");
        s.record_one(b"ERR syntax error");
        s.record_one(b"ERR x");
        s.record_one(b"NOGROUPnospacehere");
        assert_eq!(s.info_lines(), vec!["errorstat_ERR:count=3", "errorstat_WRONGTYPE:count=1"]);
        assert_eq!(s.total.load(Relaxed), 4);
        s.reset();
        assert!(s.info_lines().is_empty());
    }
}
