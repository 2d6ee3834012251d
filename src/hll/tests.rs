use super::*;

#[test]
fn element_hashes_match_redis() {
    // Registers and values read from redis-server 7.0 (PFADD of one element, PFDEBUG DECODE).
    assert_eq!(hash_element(b"a"), (12711, 2));
    assert_eq!(hash_element(b"b"), (15780, 1));
    assert_eq!(hash_element(b"c"), (8436, 1));
    assert_eq!(hash_element(b""), (5938, 2));
    assert_eq!(hash_element(b"hello"), (9216, 1));
    let mut v = new_empty();
    add(&mut v, b"a", 3000).unwrap();
    assert_eq!(sparse::decode(&v[HDR..]), "Z:12711 v:2,1 Z:3672");
}

#[test]
fn empty_value_layout() {
    let v = new_empty();
    assert_eq!(v, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
    assert!(valid_header(&v));
    assert_eq!(count(&v), Ok(0));
    assert_eq!(cached(&v), Some(0));
}

#[test]
fn dense_pack_roundtrip() {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    for i in 0..REGISTERS {
        dense::set(&mut regs, i, (i * 7 % 64) as u8);
    }
    for i in 0..REGISTERS {
        assert_eq!(dense::get(&regs, i), (i * 7 % 64) as u8);
    }
}

#[test]
fn sparse_and_dense_agree() {
    let mut s = new_empty();
    let mut d = new_empty();
    to_dense(&mut d).unwrap();
    for n in 0..5000u32 {
        let e = n.to_string();
        let a = add(&mut s, e.as_bytes(), 3000).unwrap();
        let b = add(&mut d, e.as_bytes(), 3000).unwrap();
        assert_eq!(a, b, "element {n}");
        assert_eq!(count(&s).unwrap(), count(&d).unwrap());
    }
    assert!(!is_sparse(&s));
    let mut s2 = new_empty();
    for n in 0..100u32 {
        add(&mut s2, n.to_string().as_bytes(), 3000).unwrap();
    }
    assert!(is_sparse(&s2));
    let mut regs = vec![0u8; REGISTERS];
    merge_into(&mut regs, &s2).unwrap();
    let mut d2 = s2.clone();
    to_dense(&mut d2).unwrap();
    assert_eq!(regs, dense_registers(&d2));
}

#[test]
fn corrupt_inputs_never_panic() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    use rand::{Rng, SeedableRng};
    for round in 0..2000 {
        let mut v = new_empty();
        for n in 0..(round % 300) {
            add(&mut v, format!("{round}-{n}").as_bytes(), 3000).unwrap();
        }
        for _ in 0..rng.gen_range(1..5) {
            let pos = rng.gen_range(0..v.len());
            v[pos] = rng.gen();
        }
        if rng.gen_bool(0.2) {
            v.truncate(rng.gen_range(HDR..=v.len()));
        }
        if !valid_header(&v) {
            continue;
        }
        let _ = count(&v);
        let mut m = vec![0u8; REGISTERS];
        let _ = merge_into(&mut m, &v);
        let mut w = v.clone();
        let _ = to_dense(&mut w);
        let mut w = v.clone();
        for n in 0..20 {
            let _ = add(&mut w, format!("x{n}").as_bytes(), 3000);
        }
        let _ = sparse::decode(&v[HDR..]);
    }
}

#[test]
fn runs_past_the_last_register_are_corrupt() {
    // Two full XZERO runs, then a VAL: the runs overflow before the VAL is reached.
    let mut v = new_empty();
    v.extend_from_slice(&[0x7f, 0xff, 0xff]);
    assert_eq!(count(&v), Err(Corrupt));
    let mut m = vec![0u8; REGISTERS];
    assert_eq!(merge_into(&mut m, &v), Err(Corrupt));
    assert_eq!(to_dense(&mut v.clone()), Err(Corrupt));
    // Covering exactly 16384 then one more VAL is corrupt too.
    let mut w = new_empty();
    w.push(0x80);
    assert_eq!(merge_into(&mut m, &w), Err(Corrupt));
}

#[test]
fn alpha_is_redis_constant() {
    let redis: f64 = "0.721347520444481703680".parse().unwrap();
    assert_eq!(redis, 0.721_347_520_444_481_7);
    assert_eq!(DENSE_SIZE, 12304);
}
