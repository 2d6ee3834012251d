//! Small byte-level utilities: glob matching, number parsing/formatting, argument splitting.

pub mod glob;
pub mod num;
pub mod splitargs;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// `n` random lowercase hex characters (run IDs, replication IDs).
pub fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)])).collect()
}
