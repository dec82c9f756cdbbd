//! Helpers for integration tests: run the built binary, parse its case folder back.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hashsweep"))
}

/// Runs `hashsweep` with `args`, capturing output (stderr is not a terminal).
pub fn run(args: &[&OsStr]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run hashsweep")
}

/// Result of a scan: exit code, stderr and the parsed case folder.
pub struct Scan {
    pub code: i32,
    pub stderr: String,
    pub dir: PathBuf,
}

/// Scans `evidence` into `case_dir` with extra arguments.
pub fn scan(evidence: &Path, case_dir: &Path, extra: &[&str]) -> Scan {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("scan"),
        evidence.as_os_str(),
        OsStr::new("--output"),
        case_dir.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let out = run(&args);
    Scan {
        code: out.status.code().expect("exit code"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: case_dir.to_path_buf(),
    }
}

pub type Row = BTreeMap<String, String>;

/// Parses a report CSV with a CSV reader; checks the header.
pub fn read_rows(path: &Path) -> Vec<Row> {
    let mut r = csv::ReaderBuilder::new()
        .from_path(path)
        .expect("open report");
    let headers = r.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        hashsweep::report::csv::COLUMNS,
        "{}",
        path.display()
    );
    r.records()
        .map(|rec| {
            let rec = rec.expect("valid CSV row");
            headers
                .iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

impl Scan {
    pub fn rows(&self) -> Vec<Row> {
        read_rows(&self.dir.join("report.csv"))
    }

    pub fn hits(&self) -> Vec<Row> {
        read_rows(&self.dir.join("hits.csv"))
    }

    pub fn summary(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.dir.join("summary.json")).expect("summary");
        serde_json::from_str(&text).expect("summary is JSON")
    }

    /// The row whose escaped path is `path`; panics when absent.
    /// The first audit-log event named `name`.
    pub fn audit_event(&self, name: &str) -> serde_json::Value {
        let audit = std::fs::read_to_string(self.dir.join("audit.jsonl")).expect("audit log");
        audit
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("audit line is JSON"))
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} event in the audit log"))
    }

    pub fn row(&self, path: &str) -> Row {
        self.rows()
            .into_iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("no row for {path:?}"))
    }
}

/// Writes a file, creating its parents.
pub fn write(root: &Path, rel: impl AsRef<[u8]>, data: &[u8]) -> PathBuf {
    let p = root.join(OsStr::from_bytes(rel.as_ref()));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hashsweep::digest::to_hex(&md5::Md5::digest(data))
}

pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest;
    hashsweep::digest::to_hex(&sha1::Sha1::digest(data))
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs a shell command, panicking with its output on failure.
pub fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn skip(test: &str, why: &str) {
    eprintln!("skipped: {test}: {why}");
}
