//! Validated settings for a scan. Every check happens here, before the evidence
//! is touched or the case folder created: a bad flag or a malformed hash set
//! never leaves a half-written case folder.

use crate::error::{Error, Result};
use crate::hashset::{self, HashSetLookup, Role};
use crate::iopolicy::IoChoice;
use crate::journal::JOURNAL;
use crate::matcher::Matcher;
use crate::report::{AUDIT, CASE_FILES, MANIFEST, SUMMARY};
use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};

/// A hash set as named on the command line: `PATH` or `NAME=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetArg {
    /// Explicit name, if given.
    pub name: Option<String>,
    /// The file.
    pub path: PathBuf,
    /// Its role; `None` keeps an index's own role (a raw file is then an alert set).
    pub role: Option<Role>,
}

impl SetArg {
    /// Parses `PATH` or `NAME=PATH`. A value that names an existing file is
    /// always a path, even when it contains `=`.
    pub fn parse(value: &str, role: Option<Role>) -> SetArg {
        if !Path::new(value).exists() {
            if let Some((name, path)) = value.split_once('=') {
                if !name.is_empty() && !name.contains('/') {
                    return SetArg {
                        name: Some(name.to_string()),
                        path: PathBuf::from(path),
                        role,
                    };
                }
            }
        }
        SetArg {
            name: None,
            path: PathBuf::from(value),
            role,
        }
    }
}

/// The scan request as the user gave it.
#[derive(Debug, Clone, Default)]
pub struct ScanArgs {
    /// The evidence root.
    pub evidence: PathBuf,
    /// The case folder to create.
    pub output: PathBuf,
    /// Hash sets, in command-line order.
    pub hashsets: Vec<SetArg>,
    /// Case identifier.
    pub case: Option<String>,
    /// Exhibit identifier.
    pub exhibit: Option<String>,
    /// Examiner name.
    pub examiner: Option<String>,
    /// Hashing threads; `None` for one per core.
    pub threads: Option<usize>,
    /// The read policy.
    pub io: IoChoice,
    /// Stop after this many alert or conflict rows.
    pub stop_after: Option<u64>,
    /// Always compute SHA-256.
    pub sha256: bool,
    /// Enter other filesystems mounted below the evidence root.
    pub cross_filesystems: bool,
    /// The full argument vector, for provenance.
    pub argv: Vec<String>,
    /// Finish the interrupted scan in `output` instead of starting a new one.
    pub resume: bool,
}

/// A validated scan.
pub struct ScanConfig {
    /// The evidence root, canonical.
    pub evidence: PathBuf,
    /// The case folder (absolute; may not exist yet).
    pub output: PathBuf,
    /// Case identifier.
    pub case: Option<String>,
    /// Exhibit identifier.
    pub exhibit: Option<String>,
    /// Examiner name.
    pub examiner: Option<String>,
    /// Hashing threads (one per core unless `--threads`).
    pub threads: usize,
    /// Threads walking, and reading under the solid-state policy: `--threads`
    /// when given, else four per core, so that flash storage has requests
    /// queued while files wait on it (hashing stays bounded by the cores).
    pub io_threads: usize,
    /// The read policy asked for.
    pub io: IoChoice,
    /// Stop after this many alert or conflict rows.
    pub stop_after: Option<u64>,
    /// Whether SHA-256 is computed.
    pub sha256: bool,
    /// Why SHA-256 is or is not computed.
    pub sha256_reason: &'static str,
    /// Enter other filesystems.
    pub cross_filesystems: bool,
    /// The loaded sets.
    pub matcher: Matcher,
    /// The full argument vector.
    pub argv: Vec<String>,
    /// Whether this run finishes an interrupted scan.
    pub resume: bool,
}

/// Walking and reading threads per core when `--threads` is not given. Measured
/// on an ext4 image with the page cache dropped (docs/performance.md): 2.60 s
/// with one reader per core, 2.21 s with four; no change when the data is cached.
const IO_THREADS_PER_CORE: usize = 4;

/// Resolves `path` to an absolute path with every existing prefix canonical.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut c) => {
                for part in rest.iter().rev() {
                    c.push(part);
                }
                return Ok(c);
            }
            Err(_) => {
                let Some(parent) = existing.parent() else {
                    return Ok(abs);
                };
                match existing.components().next_back() {
                    Some(Component::Normal(n)) => rest.push(n.to_owned()),
                    Some(Component::ParentDir) => return Ok(abs),
                    _ => {}
                }
                existing = parent;
            }
        }
    }
}

impl ScanConfig {
    /// Checks every argument and loads every hash set.
    pub fn new(args: ScanArgs) -> Result<ScanConfig> {
        let evidence = args
            .evidence
            .canonicalize()
            .map_err(|e| Error::Usage(format!("evidence {}: {e}", args.evidence.display())))?;
        if !evidence.is_dir() {
            return Err(Error::Usage(format!(
                "evidence {} is not a directory; give the mount point of the evidence",
                args.evidence.display()
            )));
        }
        let output = resolve(&args.output)
            .map_err(|e| Error::Usage(format!("output {}: {e}", args.output.display())))?;
        if output.starts_with(&evidence) {
            return Err(Error::Usage(format!(
                "the case folder {} is inside the evidence tree {}; nothing may be written there",
                output.display(),
                evidence.display()
            )));
        }
        if args.resume {
            // Checked again against the loaded sets below.
            if !output.join(AUDIT).is_file() {
                return Err(Error::Usage(format!(
                    "--resume: {} holds no interrupted scan (no {AUDIT})",
                    output.display()
                )));
            }
            if output.join(MANIFEST).is_file() && summary_says_complete(&output.join(SUMMARY)) {
                return Err(Error::Usage(format!(
                    "--resume: the scan in {} is already complete",
                    output.display()
                )));
            }
        } else if output.exists() {
            if !output.is_dir() {
                return Err(Error::Usage(format!(
                    "output {} exists and is not a folder",
                    output.display()
                )));
            }
            if let Some(f) = CASE_FILES
                .iter()
                .chain([&JOURNAL])
                .find(|f| output.join(f).exists())
            {
                return Err(Error::Usage(format!(
                    "output {} already holds a case ({f}); choose a new folder, or add --resume to finish an interrupted scan",
                    output.display()
                )));
            }
        }
        let threads = match args.threads {
            Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if args.stop_after == Some(0) {
            return Err(Error::Usage("--stop-after must be at least 1".into()));
        }
        let mut sets: Vec<Box<dyn HashSetLookup>> = Vec::new();
        for arg in &args.hashsets {
            let set = hashset::open(&arg.path, arg.name.as_deref(), arg.role)?;
            let name = &set.info().name;
            let formula = name.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']);
            if name.is_empty() || name.contains(';') || formula {
                return Err(Error::Usage(format!(
                    "hash set name `{name}` must be non-empty, hold no `;` and not start with = + - @ '; name it with NAME={}",
                    arg.path.display()
                )));
            }
            if let Some(other) = sets.iter().find(|s| s.info().name == *name) {
                return Err(Error::Usage(format!(
                    "two hash sets are named `{name}` ({} and {}); name one with NAME=PATH",
                    other.info().path.display(),
                    arg.path.display()
                )));
            }
            sets.push(Box::new(set));
        }
        let matcher = Matcher::new(sets);
        let (sha256, sha256_reason) = if args.sha256 {
            (true, "asked for with --sha256")
        } else if matcher.needs_sha256() {
            (true, "a hash set has entries with only a SHA-256 digest")
        } else {
            (
                false,
                "not asked for, and every set entry has an MD5 or SHA-1",
            )
        };
        let cfg = ScanConfig {
            evidence,
            output,
            case: args.case,
            exhibit: args.exhibit,
            examiner: args.examiner,
            threads,
            io_threads: args.threads.unwrap_or(threads * IO_THREADS_PER_CORE),
            io: args.io,
            stop_after: args.stop_after,
            sha256,
            sha256_reason,
            cross_filesystems: args.cross_filesystems,
            matcher,
            argv: args.argv,
            resume: args.resume,
        };
        if cfg.resume {
            cfg.check_resume()?;
        }
        Ok(cfg)
    }

    /// What must be the same for a scan to be resumed: the evidence, every set
    /// (name, role, content digest) and the options that change report rows.
    pub fn identity(&self) -> Value {
        let sets: Vec<Value> = self
            .matcher
            .sets()
            .iter()
            .map(|s| {
                let i = s.info();
                json!({ "name": i.name, "role": i.role.as_str(), "sha256": i.sha256 })
            })
            .collect();
        json!({
            "evidence": self.evidence,
            "hashsets": sets,
            "sha256": self.sha256,
            "cross_filesystems": self.cross_filesystems,
        })
    }

    /// Refuses to resume a scan of other evidence, with other sets or options.
    fn check_resume(&self) -> Result<()> {
        let path = self.output.join(AUDIT);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let header: Value = text
            .lines()
            .next()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--resume: {} has no readable header",
                    path.display()
                ))
            })?;
        let before = &header["identity"];
        let now = self.identity();
        for (key, what) in [
            ("evidence", "evidence"),
            ("hashsets", "hash sets (names, roles or content)"),
            ("sha256", "--sha256 setting"),
            ("cross_filesystems", "--cross-filesystems setting"),
        ] {
            if before[key] != now[key] {
                return Err(Error::Usage(format!(
                    "--resume refused: the {what} differ from the interrupted scan in {} (was {}, now {})",
                    self.output.display(),
                    before[key],
                    now[key]
                )));
            }
        }
        Ok(())
    }
}

fn summary_says_complete(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|v| v["complete"] == json!(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_arg_name_syntax() {
        assert_eq!(
            SetArg::parse("vic=/x/y.json", None),
            SetArg {
                name: Some("vic".into()),
                path: "/x/y.json".into(),
                role: None
            }
        );
        assert_eq!(SetArg::parse("/a=b/c", Some(Role::KnownGood)).name, None);
    }

    #[test]
    fn resolve_keeps_missing_tail() {
        let tmp = std::env::temp_dir().canonicalize().unwrap();
        let r = resolve(&tmp.join("does-not-exist/x")).unwrap();
        assert_eq!(r, tmp.join("does-not-exist/x"));
    }
}
