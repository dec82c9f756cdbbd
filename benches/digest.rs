//! Single-core digest throughput: the CPU ceiling that scan throughput is
//! measured against. Run with `cargo bench --bench digest`. Prints MB/s
//! (10^6 bytes per second) for each digest alone and for one MD5+SHA-1 pass as
//! the scan does it, hashing from a buffer the size the scan reads with.

use hashsweep::digest::MultiHasher;
use hashsweep::scan::READ_BUFFER;
use sha2::Digest;
use std::hint::black_box;
use std::time::Instant;

const TOTAL: usize = 1 << 30;

fn rate(name: &str, mut f: impl FnMut(&[u8])) -> f64 {
    let buf: Vec<u8> = (0..READ_BUFFER).map(|i| (i * 31 + 7) as u8).collect();
    f(&buf); // warm up
    let start = Instant::now();
    for _ in 0..TOTAL / READ_BUFFER {
        f(black_box(&buf));
    }
    let mbps = TOTAL as f64 / start.elapsed().as_secs_f64() / 1e6;
    println!("{name:<14} {mbps:8.0} MB/s");
    mbps
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sha_ni = std::arch::is_x86_feature_detected!("sha");
    println!(
        "one core, {} MiB in {} KiB reads; CPU SHA extensions: {}",
        TOTAL >> 20,
        READ_BUFFER >> 10,
        if sha_ni { "yes" } else { "no" }
    );
    let mut md5 = md5::Md5::new();
    rate("md5", |b| md5.update(b));
    let mut sha1 = sha1::Sha1::new();
    rate("sha1", |b| sha1.update(b));
    let mut sha256 = sha2::Sha256::new();
    rate("sha256", |b| sha256.update(b));
    let (mut m, mut s) = (md5::Md5::new(), sha1::Sha1::new());
    rate("md5, then sha1", |b| {
        m.update(b);
        s.update(b)
    });
    let mut both = MultiHasher::new(false);
    let combined = rate("md5+sha1", |b| both.update(b));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "ceiling        {:8.0} MB/s  (md5+sha1 x {cores} cores)",
        combined * cores as f64
    );
    black_box((md5, sha1, sha256, m, s, both.finish()));
}
