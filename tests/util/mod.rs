//! Helpers for integration tests: run the built binary, parse its case folder back.
#![allow(dead_code)]

pub mod archive;
pub mod quine;

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
        hashsweep::output::csv::COLUMNS,
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

/// Asserts that `verify` passes on the case folder `dir`.
pub fn assert_verified(dir: &Path) {
    let v = run(&["verify".as_ref(), dir.as_os_str()]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
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

/// A mount made by a test, unmounted (lazily, should something hold it) on drop.
pub struct Mounted(pub PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Mounts a tmpfs at `at` with `options` (root only; `None` otherwise).
pub fn tmpfs(at: &Path, options: &str) -> Option<Mounted> {
    if !is_root() {
        return None;
    }
    std::fs::create_dir_all(at).unwrap();
    sh(&format!(
        "mount -t tmpfs -o {options} tmpfs '{}'",
        at.display()
    ));
    Some(Mounted(at.to_path_buf()))
}

/// Builds an ext4 image of `content` with `mkfs.ext4 -d` and loop-mounts it at
/// `at` with `options` (e.g. `ro,nodev`). Root and e2fsprogs only; `None`
/// otherwise.
pub fn mount_ext4(content: &Path, image: &Path, at: &Path, options: &str) -> Option<Mounted> {
    if !is_root() || !have("mkfs.ext4") {
        return None;
    }
    std::fs::create_dir_all(at).unwrap();
    sh(&format!(
        "mkfs.ext4 -q -F -d '{}' '{}' 16M",
        content.display(),
        image.display()
    ));
    sh(&format!(
        "mount -o loop,{options} '{}' '{}'",
        image.display(),
        at.display()
    ));
    Some(Mounted(at.to_path_buf()))
}

/// Waits until `done` holds, for at most `seconds`; whether it held.
pub fn wait_until(seconds: f64, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}

/// Waits for a child for at most `seconds`; kills it (and fails) after.
pub fn wait_or_kill(child: &mut std::process::Child, seconds: f64, what: &str) -> Output {
    let exited = wait_until(seconds, || child.try_wait().unwrap().is_some());
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what}: still running after {seconds} s (a hang)");
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    use std::io::Read;
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Output {
        status: child.wait().unwrap(),
        stdout,
        stderr,
    }
}

/// Every audit-log event named `name`.
pub fn audit_events(dir: &Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .expect("audit log")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("audit line is JSON"))
        .filter(|e| e["event"] == name)
        .collect()
}

/// Kills a process when dropped (if it is still running): a test that fails
/// part-way must not leave a scan of a huge file running.
pub struct KillOnDrop(pub u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: sending a signal to a child process of this test.
        unsafe {
            libc::kill(self.0 as i32, libc::SIGKILL);
        }
    }
}
