//! PDQ index benchmark, run by `scripts/bench-pdq-index`.
//!
//! For each size (1 million and 10 million hashes, or the comma list in
//! `PDQ_INDEX_SIZES`), builds the structure over random hashes and runs
//! single-threaded searches at distance 31 for about two seconds of CPU time
//! (rates are per second of the thread's CPU time; the wall-clock rate is
//! printed too, and is lower when other work shares the core): half of the
//! queries random (no neighbour), half stored hashes with 0 to 31 bits flipped
//! (each must be found). A linear scan's rate is estimated from a few hundred
//! queries. Prints one line per size.

use hashsweep::digest::pdq::Pdq;
use hashsweep::digest::pdq_index::{PdqIndex, PdqIndexView, DEFAULT_DISTANCE};
use hashsweep::testing::Rng;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Sizes measured when `PDQ_INDEX_SIZES` is not set.
const DEFAULT_SIZES: [usize; 2] = [1_000_000, 10_000_000];
/// How long the searches through the index run.
const RUN_TIME: Duration = Duration::from_secs(2);
/// Distinct queries prepared (used round and round).
const QUERIES: usize = 1 << 16;

/// A query and the entry it must find (`None` for a random query).
struct Query {
    hash: Pdq,
    expect: Option<u32>,
}

fn queries(rng: &mut Rng, set: &[Pdq]) -> Vec<Query> {
    (0..QUERIES)
        .map(|i| {
            if i % 2 == 0 {
                Query {
                    hash: rng.hash(),
                    expect: None,
                }
            } else {
                let n = rng.below(set.len());
                let k = rng.below(DEFAULT_DISTANCE as usize + 1) as u32;
                Query {
                    hash: rng.flip(&set[n], k),
                    expect: Some(n as u32),
                }
            }
        })
        .collect()
}

/// This thread's CPU time: rates are per second of one core's time, so that
/// other work on the machine does not count against the structure.
fn thread_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Searches through the index for about [`RUN_TIME`] of CPU time; queries
/// per second of CPU time and of wall-clock time.
fn index_rate(view: &PdqIndexView, queries: &[Query]) -> (f64, f64) {
    let mut out = Vec::new();
    let mut done = 0usize;
    let start = Instant::now();
    let cpu = thread_time();
    while thread_time() - cpu < RUN_TIME {
        for q in &queries[done % QUERIES..done % QUERIES + 256] {
            out.clear();
            view.search(&q.hash, DEFAULT_DISTANCE, &mut out);
            if let Some(n) = q.expect {
                assert!(
                    out.iter().any(|e| e.0 == n),
                    "entry {n} is found from {}",
                    q.hash.to_hex()
                );
            }
            black_box(&out);
        }
        done += 256;
    }
    let n = done as f64;
    (
        n / (thread_time() - cpu).as_secs_f64(),
        n / start.elapsed().as_secs_f64(),
    )
}

/// A linear scan's queries per second of CPU time, from up to 300 queries
/// (or a second).
fn linear_rate(view: &PdqIndexView, queries: &[Query]) -> f64 {
    let mut out = Vec::new();
    let mut done = 0usize;
    let start = thread_time();
    for q in queries.iter().take(300) {
        out.clear();
        view.search_linear(&q.hash, DEFAULT_DISTANCE, &mut out);
        black_box(&out);
        done += 1;
        if thread_time() - start > Duration::from_secs(1) {
            break;
        }
    }
    done as f64 / (thread_time() - start).as_secs_f64()
}

fn run(size: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ size as u64);
    let set: Vec<Pdq> = (0..size).map(|_| rng.hash()).collect();
    let start = Instant::now();
    let index = PdqIndex::build(&set);
    let build = start.elapsed().as_secs_f64();
    let view = index.view();
    let queries = queries(&mut rng, &set);
    drop(set);
    let (rate, wall) = index_rate(&view, &queries);
    let linear = linear_rate(&view, &queries);
    println!(
        "pdq-index {size} entries: {rate:.0} queries/s at distance {DEFAULT_DISTANCE} (linear scan: {linear:.0} q/s), build {build:.1} s, {:.1} MB; wall clock {wall:.0} queries/s",
        index.as_bytes().len() as f64 / 1e6
    );
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("PDQ_INDEX_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("PDQ_INDEX_SIZES: a comma list of sizes")
            })
            .collect(),
        Err(_) => DEFAULT_SIZES.to_vec(),
    };
    for size in sizes {
        run(size.max(1));
    }
}
