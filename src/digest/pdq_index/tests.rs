use super::build::build_with_key_bits;
use super::*;
use crate::testing::Rng;

/// A set with clusters of near hashes and repeats, as pictures give.
fn clustered(rng: &mut Rng, n: usize) -> Vec<Pdq> {
    let mut set: Vec<Pdq> = Vec::with_capacity(n);
    while set.len() < n {
        match rng.below(4) {
            0 | 1 if !set.is_empty() => {
                let base = set[rng.below(set.len())];
                let k = rng.below(48) as u32;
                set.push(rng.flip(&base, k));
            }
            2 if !set.is_empty() => set.push(set[rng.below(set.len())]),
            _ => set.push(rng.hash()),
        }
    }
    set
}

/// Compares the tables with a linear scan on random and near queries.
fn compare(bytes: &[u8], set: &[Pdq], rng: &mut Rng, queries: usize) {
    let view = PdqIndexView::new(bytes).unwrap();
    assert_eq!(view.len(), set.len());
    let (mut got, mut want) = (Vec::new(), Vec::new());
    let mut hits = 0;
    for i in 0..queries {
        let query = if set.is_empty() || i % 3 == 0 {
            rng.hash()
        } else {
            let base = set[rng.below(set.len())];
            let k = rng.below(45) as u32;
            rng.flip(&base, k)
        };
        for d in [0, 1, 15, 31, 32, 40, 63, 64, 100] {
            got.clear();
            want.clear();
            view.search(&query, d, &mut got);
            view.search_linear(&query, d, &mut want);
            assert_eq!(got, want, "query {} at distance {d}", query.to_hex());
            hits += want.len();
        }
    }
    if set.len() > 1 {
        assert!(hits > queries, "the test queries find neighbours");
    }
}

#[test]
fn deltas_are_distinct_and_ordered_by_bits() {
    let mut seen = std::collections::HashSet::new();
    for (i, d) in DELTAS.iter().enumerate() {
        assert!(seen.insert(*d));
        let bits = d.count_ones() as usize;
        assert!(i < DELTAS_WITHIN[bits] && (bits == 0 || i >= DELTAS_WITHIN[bits - 1]));
    }
}

#[test]
fn every_scanner_agrees_with_counting_bits() {
    let mut rng = Rng(5);
    let inline: Vec<u8> = (0..2 * 300).map(|_| rng.next_u64() as u8).collect();
    let mut got = Vec::new();
    for _ in 0..3000 {
        let a = rng.below(301);
        let b = a + rng.below(301 - a);
        let word = rng.next_u64() as u16;
        let near = rng.below(18) as u32;
        let want: Vec<(u32, u32)> = (a..b)
            .filter(|&i| {
                let w = u16::from_le_bytes([inline[2 * i], inline[2 * i + 1]]);
                (w ^ word).count_ones() <= near
            })
            .map(|i| (3, i as u32))
            .collect();
        got.clear();
        scan(&inline, a..b, word, near, 3, &mut got);
        assert_eq!(got, want);
        if near >= 16 {
            continue;
        }
        type Scanner = fn(&[u8], Range<usize>, u16, u32, &mut Finds);
        let mut scanners: Vec<Scanner> = vec![scan_u64];
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: SSE2 is part of the x86_64 baseline.
            scanners.push(|i, r, w, n, f| unsafe { scan_sse2(i, r, w, n, f) });
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: only when the CPU has AVX2.
                scanners.push(|i, r, w, n, f| unsafe { scan_avx2(i, r, w, n, f) });
            }
        }
        for scanner in scanners {
            got.clear();
            let mut finds = Finds {
                slot: 3,
                found: &mut got,
            };
            scanner(&inline, a..b, word, near, &mut finds);
            assert_eq!(got, want);
        }
    }
    got.clear();
    scan(&inline, 5..400, 0, 3, 0, &mut got);
    let reversed = Range { start: 9, end: 5 };
    scan(&inline, reversed, 0, 3, 0, &mut got);
    assert!(got.is_empty(), "ranges out of bounds are skipped");
}

#[test]
fn first_word_exists_within_the_distance_only() {
    let mut rng = Rng(7);
    for _ in 0..2000 {
        let a = rng.hash();
        let k = rng.below(70) as u32;
        let b = rng.flip(&a, k);
        for max in [0, 5, 15, 16, 31, 32, 47, 48, 63] {
            let first = Bounds::new(max).first_word(&a, &b);
            assert_eq!(first.is_some(), k <= max, "k {k} max {max}");
        }
    }
}

#[test]
fn tables_agree_with_a_linear_scan() {
    let mut rng = Rng(0x5eed);
    for n in [0, 1, 2, 7, 100, 3000] {
        let set = clustered(&mut rng, n);
        compare(&build(&set), &set, &mut rng, 60);
    }
}

#[test]
fn every_key_width_agrees_with_a_linear_scan() {
    let mut rng = Rng(42);
    let set = clustered(&mut rng, 2000);
    for bits in [0, 3, 9, 16] {
        compare(&build_with_key_bits(&set, bits), &set, &mut rng, 40);
    }
}

#[test]
fn full_width_keys_on_a_large_set_agree_with_a_linear_scan() {
    let mut rng = Rng(99);
    let set = clustered(&mut rng, 300_000);
    let bytes = build(&set);
    assert_eq!(le_u32(&bytes[12..16]), 16);
    let view = PdqIndexView::new(&bytes).unwrap();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for i in 0..300 {
        let query = if i % 2 == 0 {
            rng.hash()
        } else {
            let k = rng.below(42) as u32;
            let base = set[rng.below(set.len())];
            rng.flip(&base, k)
        };
        want.clear();
        view.search_linear(&query, 40, &mut want);
        for d in [0, 1, 15, 31, 32, 40] {
            got.clear();
            view.search(&query, d, &mut got);
            let expected: Vec<_> = want.iter().copied().filter(|e| e.1 <= d).collect();
            assert_eq!(got, expected, "query {} at distance {d}", query.to_hex());
        }
    }
}

#[test]
fn repeated_hashes_are_each_returned() {
    let mut rng = Rng(3);
    let a = rng.hash();
    let b = rng.flip(&a, 20);
    let set = vec![a, b, a, rng.hash(), a];
    let index = PdqIndex::build(&set);
    let view = index.view();
    let mut out = Vec::new();
    view.search(&a, 31, &mut out);
    assert_eq!(out, vec![(0, 0), (1, 20), (2, 0), (4, 0)]);
    assert_eq!(view.hash(1), b);
    assert_eq!(view.get(5), None);
}

#[test]
fn empty_set() {
    let index = PdqIndex::build(&[]);
    let view = index.view();
    assert!(view.is_empty());
    let mut out = Vec::new();
    view.search(&Pdq::default(), 31, &mut out);
    assert!(out.is_empty());
}

#[test]
fn bad_headers_are_refused() {
    let mut rng = Rng(11);
    let set = clustered(&mut rng, 50);
    let bytes = build(&set);
    assert!(PdqIndexView::new(&bytes[..bytes.len() - 8]).is_err());
    assert!(PdqIndexView::new(&bytes[..20]).is_err());
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert!(PdqIndexView::new(&bad).is_err());
    let mut bad = bytes.clone();
    bad[12] = 17;
    assert!(PdqIndexView::new(&bad).is_err());
    let mut bad = bytes.clone();
    bad[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(PdqIndexView::new(&bad).is_err());
    let mut bad = bytes;
    bad[16..24].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(PdqIndexView::new(&bad).is_err());
}

#[test]
fn corrupt_content_does_not_panic() {
    let mut rng = Rng(13);
    let set = clustered(&mut rng, 3000);
    let clean = build(&set);
    let mut out = Vec::new();
    for round in 0..40 {
        let mut bytes = clean.clone();
        // Scribble over a run of the body: starts, inline words, entry numbers.
        let len = 1 + rng.below(4096);
        let at = HEADER_LEN + rng.below(bytes.len() - HEADER_LEN - len);
        for b in &mut bytes[at..at + len] {
            *b = if round % 2 == 0 {
                0xFF
            } else {
                rng.next_u64() as u8
            };
        }
        let view = PdqIndexView::new(&bytes).unwrap();
        for _ in 0..20 {
            let query = set[rng.below(set.len())];
            out.clear();
            view.search(&query, 31, &mut out);
            view.search(&query, 63, &mut out);
        }
    }
}
