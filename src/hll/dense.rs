//! Dense registers: 6 bits each, packed LSB-first (register i starts at bit 6*i, counting
//! from the least significant bit of byte 0). A register may straddle two bytes; the last
//! one ends exactly at the last byte.

/// Where register `i` starts: byte and bit offset in it.
fn at(i: usize) -> (usize, u32) {
    let bit = i * 6;
    (bit / 8, (bit % 8) as u32)
}

/// Register `i` (0 when out of range).
pub fn get(regs: &[u8], i: usize) -> u8 {
    let (byte, shift) = at(i);
    let lo = regs.get(byte).copied().unwrap_or(0) as u32;
    let hi = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((lo >> shift) | (hi << (8 - shift))) & 63) as u8
}

/// Sets register `i` to `v` (6 bits).
pub fn set(regs: &mut [u8], i: usize, v: u8) {
    let (byte, shift) = at(i);
    let v = (v & 63) as u32;
    if let Some(b) = regs.get_mut(byte) {
        *b = ((*b as u32 & !(63 << shift)) | (v << shift)) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        let spill = 8 - shift;
        *b = ((*b as u32 & !(63 >> spill)) | (v >> spill)) as u8;
    }
}

/// Raises register `i` to `v` if lower; true when it changed.
pub fn raise(regs: &mut [u8], i: usize, v: u8) -> bool {
    if get(regs, i) < v {
        set(regs, i, v);
        true
    } else {
        false
    }
}

/// How many registers hold each value.
pub fn histogram(regs: &[u8]) -> [u64; 64] {
    let mut hist = [0u64; 64];
    for i in 0..super::REGISTERS {
        hist[get(regs, i) as usize] += 1;
    }
    hist
}
