//! `audit.jsonl`: a provenance header, then one JSON event per line (see
//! [`super::event::Event`]: decisions, each unreadable entry, the end with
//! totals). Each line is flushed as written, so the log survives a crash up to
//! its last event.

use crate::error::{Error, Result};
use crate::evidence::fs::mounts::MountFacts;
use crate::hashset::SetInfo;
use serde::Serialize;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use crate::time::now;

use super::event::Event;

/// The provenance header: who ran what, where, on which evidence, with which sets.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// Tool name.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// The git commit the binary was built from (`unknown` outside a checkout).
    pub build_commit: &'static str,
    /// The full argument vector.
    pub args: Vec<String>,
    /// Host name.
    pub host: String,
    /// Operating system and kernel release.
    pub os: String,
    /// User name and numeric user id.
    pub user: String,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// The evidence root, canonical.
    #[serde(serialize_with = "crate::pathfmt::serialize_path")]
    pub evidence: PathBuf,
    /// What identifies the evidence's filesystem (checked by `--resume`).
    pub evidence_identity: crate::evidence::fs::identity::EvidenceIdentity,
    /// Device number of the evidence root, `major:minor`.
    pub evidence_device: String,
    /// The filesystem holding the evidence (type, source, options), where the OS tells.
    pub evidence_mount: Option<MountFacts>,
    /// Case identifier.
    pub case: Option<String>,
    /// Exhibit identifier.
    pub exhibit: Option<String>,
    /// Examiner.
    pub examiner: Option<String>,
    /// Every hash set, with role, format, counts and source SHA-256.
    pub hashsets: Vec<SetInfo>,
    /// What a `--resume` must match (see `ScanConfig::identity`).
    pub identity: Value,
}

/// The `started` time in the header of an existing audit log.
pub fn header_started(path: &Path) -> Option<String> {
    let first = crate::output::first_line(path).ok()?;
    let header: Value = serde_json::from_str(first.trim_end()).ok()?;
    header["started"].as_str().map(String::from)
}

/// The warnings an audit log records (`warning` events), in order, each once.
pub fn earlier_warnings(path: &Path) -> Vec<String> {
    use std::io::BufRead;
    let Ok(file) = crate::output::open_case_file(path) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let (Some("warning"), Some(w)) = (v["event"].as_str(), v["warning"].as_str()) {
            if !out.iter().any(|o| o == w) {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// Host name, OS and user of this process.
pub fn host_facts() -> (String, String, String) {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let host = if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = format!("{} {}", std::env::consts::OS, release.trim())
        .trim()
        .to_string();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    (host, os, format!("{name} (uid {uid})"))
}

/// The open event log.
pub struct Audit {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Audit {
    /// Creates the log and writes the header as its first line.
    pub fn create(path: &Path, header: &Header) -> Result<Audit> {
        let f = File::create(path).map_err(|e| Error::output(path, e))?;
        let mut audit = Audit {
            path: path.to_path_buf(),
            w: BufWriter::new(f),
        };
        let mut v = serde_json::to_value(header).expect("header serialises");
        v["event"] = json!("header");
        audit.line(&v)?;
        Ok(audit)
    }

    /// Opens an existing log to append events (when resuming). A last line torn
    /// by a crash is ended first, so each event stays on a line of its own.
    pub fn append(path: &Path) -> Result<Audit> {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let f = std::fs::OpenOptions::new()
            .append(true)
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Error::output(path, e))?;
        let len = f.metadata().map_err(|e| Error::output(path, e))?.len();
        let mut last = [b'\n'];
        if len > 0 {
            f.read_exact_at(&mut last, len - 1)
                .map_err(|e| Error::output(path, e))?;
        }
        let torn = last[0] != b'\n';
        let mut audit = Audit {
            path: path.to_path_buf(),
            w: BufWriter::new(f),
        };
        if torn {
            audit
                .w
                .write_all(b"\n")
                .map_err(|e| Error::output(path, e))?;
        }
        Ok(audit)
    }

    /// Appends one event, with its time.
    pub fn event(&mut self, event: Event) -> Result<()> {
        let mut v = serde_json::to_value(&event).expect("an event serialises");
        v["time"] = json!(now());
        self.line(&v)
    }

    fn line(&mut self, v: &Value) -> Result<()> {
        let run = |w: &mut BufWriter<File>| -> std::io::Result<()> {
            serde_json::to_writer(&mut *w, v)?;
            w.write_all(b"\n")?;
            w.flush()
        };
        run(&mut self.w).map_err(|e| Error::output(&self.path, e))
    }

    /// Flushes and syncs the log to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.w.flush().map_err(|e| Error::output(&self.path, e))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| Error::output(&self.path, e))
    }
}
