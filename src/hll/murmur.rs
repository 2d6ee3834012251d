//! MurmurHash64A (Austin Appleby), as Redis uses it for HyperLogLog elements: 8-byte blocks
//! read little-endian, the tail folded in byte by byte.

const M: u64 = 0xc6a4_a793_5bd1_e995;
const R: u32 = 47;

pub fn hash64a(data: &[u8], seed: u32) -> u64 {
    let mut h = (seed as u64) ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        let mut k = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}
