//! Redis CRC64 (Jones polynomial, reflected, init 0, no final xor).

use crc::{Crc, Table, CRC_64_REDIS};

/// The CRC engine (16-lane table: "slicing by 16").
pub static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// A streaming CRC64 state.
pub type Crc64Digest = crc::Digest<'static, u64, Table<16>>;

/// CRC64 of `data` in one call.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// A fresh streaming digest.
pub fn crc64_digest() -> Crc64Digest {
    CRC64.digest()
}

#[cfg(test)]
mod t {
    #[test]
    fn check_value() {
        assert_eq!(super::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
        let mut d = super::crc64_digest();
        d.update(b"1234");
        d.update(b"56789");
        assert_eq!(d.finalize(), 0xe9c6d914c4b8d9ca);
    }
}
