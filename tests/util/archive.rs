//! Helpers for the archive tests: tools, evidence folders, zips, timed scans.
#![allow(dead_code)]

use super::{bin, have, skip};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// The tools the tests make archives with.
pub fn tools(test: &str, needed: &[&str]) -> bool {
    let missing: Vec<&&str> = needed.iter().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        skip(
            test,
            &format!("missing {missing:?} (apt-get install zip xz-utils zstd bzip2 p7zip-full)"),
        );
        return false;
    }
    true
}

pub fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

/// A temporary folder holding an empty evidence folder `ev`.
pub fn evidence() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    (tmp, ev)
}

/// Zeros, compressible without end.
pub fn zeros(n: usize) -> Vec<u8> {
    vec![0u8; n]
}

/// A zip of `entries` (name, bytes), deflated.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut out));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(false);
        for (n, b) in entries {
            w.start_file(n.as_str(), o).unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap();
    }
    out
}

/// Scans `ev` into `case` on 2 threads, printing `label` with the seconds and
/// peak memory; asserts exit status 0, under 30 s and under 1 GiB.
pub fn scan_in_seconds_and_bounded_memory(ev: &Path, case: &Path, label: &str) {
    let (code, secs, peak) = timed_scan(ev, case, &["--threads", "2"]);
    eprintln!("{label}: {secs:.1} s, peak {peak:.0} MiB");
    assert_eq!(code, 0);
    assert!(secs < 30.0, "{secs} s");
    assert!(peak < 1024.0, "{peak} MiB");
}

/// Runs a scan, returning its exit code, seconds, and peak memory in MiB.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its peak memory
pub fn timed_scan(ev: &Path, case: &Path, extra: &[&str]) -> (i32, f64, f64) {
    let start = std::time::Instant::now();
    let child = Command::new(bin())
        .arg("scan")
        .arg(ev)
        .arg("--output")
        .arg(case)
        .args(extra)
        .arg("--quiet")
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 fills it for this child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let secs = start.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, secs, usage.ru_maxrss as f64 / 1024.0)
}

/// Scans `ev` against `set` with each of `threads`, into folders in `t`,
/// asserting that report.csv and hits.csv are the same bytes every time.
pub fn same_on_threads(ev: &Path, t: &Path, set: &Path, threads: &[&str]) -> Vec<super::Scan> {
    let scans: Vec<super::Scan> = threads
        .iter()
        .map(|n| {
            let args = ["--hashset", set.to_str().unwrap(), "--threads", n];
            super::scan(ev, &t.join(format!("threads-{n}")), &args)
        })
        .collect();
    for s in &scans[1..] {
        for f in ["report.csv", "hits.csv"] {
            assert_eq!(
                std::fs::read(scans[0].dir.join(f)).unwrap(),
                std::fs::read(s.dir.join(f)).unwrap(),
                "{f} with --threads {} and {}",
                threads[0],
                s.dir.display()
            );
        }
    }
    scans
}
