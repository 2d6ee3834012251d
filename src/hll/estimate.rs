//! Redis 7.0's cardinality estimator: Otmar Ertl's improved raw estimator ("New cardinality
//! estimation algorithms for HyperLogLog sketches", arXiv:1702.01284), computed from the
//! histogram of register values. The arithmetic order matters: results must equal Redis's
//! to the unit.

use super::{Q, REGISTERS};

/// 1 / (2 ln 2): the bias constant for m -> infinity (Redis's 0.721347520444481703680,
/// to the nearest double).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// Ertl's sigma(x) = x + sum_k x^(2^k) 2^(k-1), for the registers still at zero.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's tau(x), for the registers that saturated (value Q+1).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// The estimate from `hist[v]` = number of registers holding v (values above Q+1 ignored).
pub fn cardinality(hist: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - hist[q + 1] as f64) / m);
    for j in (1..=q).rev() {
        z += hist[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(hist[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}
