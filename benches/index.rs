//! Hash-set index benchmark helper, driven by `scripts/bench-index`.
//!
//! `cargo bench --bench index -- generate N FILE` writes an NSRL RDS 2.x
//! `NSRLFile.txt` of N rows with distinct, reproducible MD5+SHA-1 pairs.
//! `cargo bench --bench index -- lookup N SET.hsx` opens the index (timing the
//! open) and runs single-threaded lookups of MD5s and SHA-1s, half present and
//! half absent, printing lookups per second; it checks every present digest is found.

use hashsweep::hashset::index::IndexSet;
use hashsweep::hashset::{Algo, HashSetLookup};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::Instant;

/// Digest bytes of entry `i` (present) or of probe `i` (absent), reproducibly.
fn digest(i: u64, salt: u64) -> [u8; 36] {
    let mut out = [0u8; 36];
    let mut s = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    for chunk in out.chunks_mut(8) {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let b = z.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    out
}

const PRESENT: u64 = 1;
const ABSENT: u64 = 0xDEAD_BEEF;

fn hex_upper(b: &[u8], out: &mut Vec<u8>) {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    for x in b {
        out.push(H[(x >> 4) as usize]);
        out.push(H[(x & 15) as usize]);
    }
}

fn generate(n: u64, path: &str) {
    let mut w = BufWriter::with_capacity(1 << 22, std::fs::File::create(path).expect("create"));
    w.write_all(b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n").unwrap();
    let mut line = Vec::with_capacity(160);
    for i in 0..n {
        let d = digest(i, PRESENT);
        line.clear();
        line.push(b'"');
        hex_upper(&d[16..36], &mut line);
        line.extend_from_slice(b"\",\"");
        hex_upper(&d[..16], &mut line);
        line.extend_from_slice(
            format!(
                "\",\"00000000\",\"file{i}.dll\",{},{},\"358\",\"\"\r\n",
                1000 + i % 100_000,
                i % 5000
            )
            .as_bytes(),
        );
        w.write_all(&line).unwrap();
    }
    w.flush().unwrap();
}

fn lookup(n: u64, path: &str) {
    let start = Instant::now();
    let set = IndexSet::open(std::path::Path::new(path)).expect("open index");
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "open                {open_ms:.2} ms ({} entries, {:.2} GB index)",
        set.info().counts.entries,
        set.len_bytes() as f64 / 1e9
    );
    // Lookups are measured with the index in the page cache (as on a laptop that
    // has used the set before): warm it by touching one byte per page.
    let t = Instant::now();
    let mut sum = 0u64;
    for e in set.entries().step_by(64) {
        sum = sum.wrapping_add(e.size.unwrap_or(0));
    }
    black_box(sum);
    let mut warm = Vec::new();
    for i in (0..n).step_by(37) {
        let d = digest(i, PRESENT);
        set.find(Algo::Sha1, &d[16..36], &mut warm);
        set.find(Algo::Md5, &d[..16], &mut warm);
        warm.clear();
    }
    println!("warm-up             {:.1} s", t.elapsed().as_secs_f64());
    let probes = 4_000_000u64;
    for (algo, range) in [(Algo::Md5, 0..16), (Algo::Sha1, 16..36)] {
        let mut out = Vec::with_capacity(4);
        let mut found = 0u64;
        // Pre-computed probes: half present (random entries), half absent.
        let keys: Vec<[u8; 36]> = (0..probes)
            .map(|j| {
                if j % 2 == 0 {
                    digest((j.wrapping_mul(2_654_435_761)) % n, PRESENT)
                } else {
                    digest(j, ABSENT)
                }
            })
            .collect();
        let t = Instant::now();
        for k in &keys {
            out.clear();
            set.find(algo, &k[range.clone()], &mut out);
            found += out.len() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        black_box(&out);
        assert_eq!(
            found,
            probes / 2,
            "every present digest is found, no absent one"
        );
        println!(
            "{:<6} lookups     {:.2} million/s on one core, one at a time (half present, half absent)",
            algo.name(),
            probes as f64 / secs / 1e6
        );
        // In groups, through the batched lookup whose memory accesses overlap.
        let t = Instant::now();
        let mut found = 0u64;
        let mut hits = Vec::new();
        for group in keys.chunks(8) {
            let queries: Vec<(Algo, &[u8])> =
                group.iter().map(|k| (algo, &k[range.clone()])).collect();
            hits.clear();
            set.find_batch(&queries, &mut hits);
            found += hits.len() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(found, probes / 2);
        println!(
            "{:<6} lookups     {:.2} million/s on one core, batched in groups of 8",
            algo.name(),
            probes as f64 / secs / 1e6
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["generate", n, path] => generate(n.parse().expect("N"), path),
        ["lookup", n, path] => lookup(n.parse().expect("N"), path),
        _ => println!("usage: cargo bench --bench index -- generate N FILE | lookup N SET.hsx"),
    }
}
