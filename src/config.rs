//! Validated settings for a scan. Every check happens here, before the evidence
//! is touched or the case folder created: a bad flag or a malformed hash set
//! never leaves a half-written case folder.

use crate::case::audit::Header;
use crate::case::journal::{JOURNAL, OLD_JOURNAL};
use crate::case::lock::CaseLock;
use crate::error::{Error, Result};
use crate::evidence::fs::identity::EvidenceIdentity;
use crate::evidence::io::IoChoice;
use crate::hashset::{self, HashSetLookup, Role};
use crate::matcher::Matcher;
use crate::output::{AUDIT, CASE_FILES, MANIFEST, SUMMARY};
use crate::pathfmt;
use serde_json::{json, Value};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
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
    /// always a path, even when it contains `=`. Names cannot hold `/`, so
    /// `a/b=c` is a path; when no such file exists, the error says both.
    pub fn parse(value: &OsStr, role: Option<Role>) -> Result<SetArg> {
        let path = Path::new(value);
        let bytes = value.as_bytes();
        let shown = pathfmt::escape(bytes);
        if path.exists() {
            return Ok(SetArg {
                name: None,
                path: path.to_path_buf(),
                role,
            });
        }
        if let Some(eq) = bytes.iter().position(|&b| b == b'=') {
            let (name, rest) = (&bytes[..eq], &bytes[eq + 1..]);
            if name.contains(&b'/') {
                return Err(Error::Usage(format!(
                    "hash set `{shown}`: no such file (a set name cannot hold `/`, so this is read as a path)"
                )));
            }
            if name.is_empty() {
                return Err(Error::Usage(format!(
                    "hash set `{shown}`: no such file, and no set name before `=`"
                )));
            }
            if rest.is_empty() {
                return Err(Error::Usage(format!(
                    "hash set `{shown}`: no file after `=`; give NAME=PATH"
                )));
            }
            let name = std::str::from_utf8(name).map_err(|_| {
                Error::Usage(format!("hash set `{shown}`: the set name is not UTF-8"))
            })?;
            return Ok(SetArg {
                name: Some(name.to_string()),
                path: PathBuf::from(OsStr::from_bytes(rest)),
                role,
            });
        }
        Ok(SetArg {
            name: None,
            path: path.to_path_buf(),
            role,
        })
    }
}

/// Why a set name cannot be used, if it cannot: it names the set in the
/// `hashsets` column, in `;`-separated lists, and on the terminal.
pub fn check_set_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("is empty")
    } else if name.contains(';') {
        Err("holds `;`, which separates set names in the report")
    } else if name.chars().any(char::is_control) {
        Err("holds a control character")
    } else if name.starts_with(['=', '+', '-', '@', '\'']) {
        Err("starts with = + - @ or ', which a spreadsheet reads as a formula")
    } else {
        Ok(())
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
    /// Stop after this many alert, conflict or similar rows.
    pub stop_after: Option<u64>,
    /// Always compute SHA-256.
    pub sha256: bool,
    /// Compute pictures' PDQ hashes (on unless `--no-pdq`).
    pub pdq: bool,
    /// `--pdq-distance`.
    pub pdq_distance: u32,
    /// Read archives' members, within these limits (`None`: `--no-archives`).
    pub archives: Option<crate::archive::Limits>,
    /// Enter other filesystems mounted below the evidence root.
    pub cross_filesystems: bool,
    /// The full argument vector, for provenance.
    pub argv: Vec<OsString>,
    /// Finish the interrupted scan in `output` instead of starting a new one.
    pub resume: bool,
    /// Read symbolic links' targets even where that updates their access time.
    pub read_link_targets: bool,
    /// Write `report.jsonl`.
    pub jsonl: bool,
    /// Write `report.dfxml`.
    pub dfxml: bool,
    /// Write each row to stdout as a JSON line as it is found.
    pub stream: bool,
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
    /// Stop after this many alert, conflict or similar rows.
    pub stop_after: Option<u64>,
    /// Whether SHA-256 is computed.
    pub sha256: bool,
    /// Why SHA-256 is or is not computed.
    pub sha256_reason: &'static str,
    /// Whether pictures' PDQ hashes are computed.
    pub pdq: bool,
    /// Archives' members are read within these limits (`None`: `--no-archives`).
    pub archives: Option<crate::archive::Limits>,
    /// Enter other filesystems.
    pub cross_filesystems: bool,
    /// The loaded sets.
    pub matcher: Matcher,
    /// The full argument vector, each argument escaped as report paths are.
    pub argv: Vec<String>,
    /// Whether this run finishes an interrupted scan.
    pub resume: bool,
    /// `--resume` of a case folder that is already complete: nothing is to be
    /// scanned; the caller verifies the folder and reports its recorded status.
    pub already_complete: bool,
    /// Read symbolic links' targets even where that updates their access time.
    pub read_link_targets: bool,
    /// What identifies the evidence (recorded; checked on `--resume`).
    pub evidence_identity: EvidenceIdentity,
    /// The case folder, locked for this scan.
    pub case_dir: CaseLock,
    /// Write `report.jsonl`.
    pub jsonl: bool,
    /// Write `report.dfxml`.
    pub dfxml: bool,
    /// Write each row to stdout as a JSON line as it is found.
    pub stream: bool,
}

/// The most threads `--threads` accepts: more only costs memory and time.
pub const MAX_THREADS: usize = 1024;

/// Walking and reading threads per core when `--threads` is not given. Measured
/// on an ext4 image with the page cache dropped (docs/performance.md): 2.60 s
/// with one reader per core, 2.21 s with four; no change when the data is cached.
const IO_THREADS_PER_CORE: usize = 4;

/// Resolves `path` as creating it would: to an absolute path, each existing
/// prefix canonical (symbolic links resolved), and `..` after a folder that does
/// not exist yet taken as the folder's parent (as `mkdir -p` goes through it).
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut out = PathBuf::from("/");
    for part in abs.components() {
        match part {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            // `out` is canonical here, so its textual parent is the real one.
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                if std::fs::symlink_metadata(&out).is_ok() {
                    if let Ok(c) = out.canonicalize() {
                        out = c;
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `path`, or its nearest ancestor that exists.
fn nearest_existing(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|p| std::fs::symlink_metadata(p).is_ok())
        .map(Path::to_path_buf)
}

/// Whether `output` lies inside the evidence rooted at `evidence`, decided by
/// device and inode rather than path text: an ancestor of `output` (or its
/// nearest existing one) is the evidence root, or, on the evidence's
/// filesystem, lies under the evidence root's place in that filesystem (a bind
/// mount of a folder inside the evidence mounted elsewhere).
fn inside_evidence(evidence: &Path, output: &Path) -> bool {
    let Ok(ev) = std::fs::metadata(evidence) else {
        return false;
    };
    if output.starts_with(evidence) {
        return true;
    }
    let ev_mount = crate::evidence::fs::mounts::find(evidence);
    let mut at = Some(output);
    while let Some(p) = at {
        if let Ok(m) = std::fs::metadata(p) {
            if (m.dev(), m.ino()) == (ev.dev(), ev.ino()) {
                return true;
            }
            if m.dev() == ev.dev() {
                if let (Some(em), Some(pm)) = (&ev_mount, crate::evidence::fs::mounts::find(p)) {
                    if pm
                        .path_in_filesystem(p)
                        .starts_with(em.path_in_filesystem(evidence))
                    {
                        return true;
                    }
                }
            }
        }
        at = p.parent();
    }
    false
}

impl ScanConfig {
    /// Checks every argument, loads every hash set, then creates and locks the
    /// case folder and checks what it holds (nothing, or the interrupted scan
    /// being resumed). Nothing is created before every other check has passed.
    pub fn new(args: ScanArgs) -> Result<ScanConfig> {
        let evidence = args.evidence.canonicalize().map_err(|e| {
            Error::Usage(format!(
                "evidence {}: {e}",
                pathfmt::path_text(&args.evidence)
            ))
        })?;
        if !evidence.is_dir() {
            return Err(Error::Usage(format!(
                "evidence {} is not a directory; give the mount point of the evidence",
                pathfmt::path_text(&args.evidence)
            )));
        }
        let output = resolve(&args.output).map_err(|e| {
            Error::Usage(format!("output {}: {e}", pathfmt::path_text(&args.output)))
        })?;
        let inside = || {
            Error::Usage(format!(
                "the case folder {} is inside the evidence tree {}; nothing may be written there",
                pathfmt::path_text(&output),
                pathfmt::path_text(&evidence)
            ))
        };
        if inside_evidence(&evidence, &output) {
            return Err(inside());
        }
        let evidence_identity = EvidenceIdentity::of(&evidence);
        let on_evidence_fs = |output: &Path| {
            nearest_existing(output).is_some_and(|a| {
                std::fs::metadata(&a)
                    .is_ok_and(|m| std::fs::metadata(&evidence).is_ok_and(|e| e.dev() != m.dev()))
                    && crate::evidence::fs::identity::same_filesystem(&evidence_identity, &a)
            })
        };
        if on_evidence_fs(&output) {
            return Err(Error::Usage(format!(
                "the case folder {} is on the evidence's own filesystem, mounted a second time; writing there would change the exhibit",
                pathfmt::path_text(&output)
            )));
        }
        let threads = match args.threads {
            Some(0) => return Err(Error::Usage("--threads must be at least 1".into())),
            Some(n) if n > MAX_THREADS => {
                return Err(Error::Usage(format!(
                    "--threads {n} is more than {MAX_THREADS}; a few per core is enough"
                )))
            }
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
            if let Err(why) = check_set_name(name) {
                return Err(Error::Usage(format!(
                    "hash set name `{}` {why}; name the set with NAME={}",
                    pathfmt::for_terminal(name),
                    pathfmt::path_text(&arg.path)
                )));
            }
            if let Some(other) = sets.iter().find(|s| s.info().name == *name) {
                return Err(Error::Usage(format!(
                    "two hash sets are named `{name}` ({} and {}); name one with NAME=PATH",
                    pathfmt::path_text(&other.info().path),
                    pathfmt::path_text(&arg.path)
                )));
            }
            sets.push(Box::new(set));
        }
        let matcher = Matcher::new(sets).with_pdq_distance(args.pdq_distance);
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
        let case_dir = CaseLock::acquire(&output)?;
        // Checked again now that the folder exists: it is what gets written.
        if inside_evidence(&evidence, &output) {
            case_dir.abandon();
            return Err(inside());
        }
        let mut cfg = ScanConfig {
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
            pdq: args.pdq,
            archives: args.archives,
            cross_filesystems: args.cross_filesystems,
            matcher,
            argv: args
                .argv
                .iter()
                .map(|a| pathfmt::escape(a.as_bytes()))
                .collect(),
            resume: args.resume,
            already_complete: false,
            read_link_targets: args.read_link_targets,
            evidence_identity,
            case_dir,
            jsonl: args.jsonl,
            dfxml: args.dfxml,
            stream: args.stream,
        };
        let checked = if cfg.resume {
            cfg.check_resume()
        } else {
            cfg.check_new()
        };
        match checked {
            Ok(()) => Ok(cfg),
            Err(e) => {
                cfg.case_dir.abandon();
                Err(e)
            }
        }
    }

    /// Case files written besides the four always there.
    pub fn outputs(&self) -> Vec<&'static str> {
        [
            (self.jsonl, crate::output::REPORT_JSONL),
            (self.dfxml, crate::output::REPORT_DFXML),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// A new scan: the folder must hold no case.
    fn check_new(&self) -> Result<()> {
        match CASE_FILES
            .iter()
            .chain([&JOURNAL, &OLD_JOURNAL])
            .find(|f| self.output.join(f).exists())
        {
            Some(f) => Err(Error::Usage(format!(
                "output {} already holds a case ({f}); choose a new folder, or add --resume to finish an interrupted scan",
                pathfmt::path_text(&self.output)
            ))),
            None => Ok(()),
        }
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
            "evidence": pathfmt::path_text(&self.evidence),
            "hashsets": sets,
            "sha256": self.sha256,
            "cross_filesystems": self.cross_filesystems,
            "pdq": self.pdq,
            "pdq_distance": self.matcher.pdq_distance(),
            "archives": self.archives.map(|l| json!({
                "depth": l.depth,
                "members": l.members,
                "bytes": l.bytes,
                "ratio": l.ratio,
            })),
        })
    }

    /// Checks the case folder of the scan to resume: it holds one, of the same
    /// evidence (by path and by identity), sets and options. Case, exhibit and
    /// examiner, when not given again, are taken from it; given differently,
    /// they are refused. A complete scan is noted ([`ScanConfig::already_complete`]).
    fn check_resume(&mut self) -> Result<()> {
        let path = self.output.join(AUDIT);
        if !path.is_file() {
            return Err(Error::Usage(format!(
                "--resume: {} holds no interrupted scan (no {AUDIT})",
                pathfmt::path_text(&self.output)
            )));
        }
        let first = crate::output::first_line(&path).map_err(|e| Error::io(&path, e))?;
        let header: Value = serde_json::from_str::<Value>(first.trim_end())
            .ok()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--resume: {} has no readable header",
                    pathfmt::path_text(&path)
                ))
            })?;
        let refuse = |what: String| {
            Error::Usage(format!(
                "--resume refused: {what} (case folder {})",
                pathfmt::path_text(&self.output)
            ))
        };
        if self.output.join(OLD_JOURNAL).symlink_metadata().is_ok() {
            return Err(refuse(format!(
                "the scan was started by an earlier build of hashsweep ({} {}, commit {}), whose journal ({OLD_JOURNAL}) this build cannot read; finish it with that build, or scan again into a new folder",
                header["tool"].as_str().unwrap_or("?"),
                header["version"].as_str().unwrap_or("?"),
                header["build_commit"].as_str().unwrap_or("?"),
            )));
        }
        let before = &header["identity"];
        let now = self.identity();
        for (key, what) in [
            ("evidence", "evidence"),
            ("hashsets", "hash sets (names, roles or content)"),
            ("sha256", "--sha256 setting"),
            ("cross_filesystems", "--cross-filesystems setting"),
            ("pdq", "--no-pdq setting"),
            ("pdq_distance", "--pdq-distance"),
            ("archives", "--no-archives and --archive-* settings"),
        ] {
            if before[key] != now[key] {
                return Err(refuse(format!(
                    "the {what} differ from the interrupted scan's (was {}, now {})",
                    before[key], now[key]
                )));
            }
        }
        let recorded: EvidenceIdentity =
            serde_json::from_value(header["evidence_identity"].clone()).map_err(|_| {
                refuse("the interrupted scan recorded no evidence identity (an older hashsweep); start a new case folder".into())
            })?;
        let differences = recorded.differences(&self.evidence_identity);
        if !differences.is_empty() {
            return Err(refuse(format!(
                "the evidence at {} is not the one the interrupted scan read: {}",
                pathfmt::path_text(&self.evidence),
                differences.join("; ")
            )));
        }
        for (field, value) in [
            ("case", &mut self.case),
            ("exhibit", &mut self.exhibit),
            ("examiner", &mut self.examiner),
        ] {
            let was = header[field].as_str().map(String::from);
            match value {
                None => *value = was,
                Some(v) if Some(v.as_str()) != was.as_deref() => {
                    return Err(refuse(format!(
                        "--{field} `{}` differs from the interrupted scan's ({}); omit it to keep the recorded one",
                        pathfmt::for_terminal(v),
                        was.map_or("none".to_string(), |w| format!("`{}`", pathfmt::for_terminal(&w)))
                    )));
                }
                Some(_) => {}
            }
        }
        // Outputs an earlier run of the case asked for are made again, so that
        // none is left behind the report.
        for (on, name) in [
            (&mut self.jsonl, crate::output::REPORT_JSONL),
            (&mut self.dfxml, crate::output::REPORT_DFXML),
        ] {
            if self.output.join(name).symlink_metadata().is_ok() {
                *on = true;
            }
        }
        self.already_complete = self.output.join(MANIFEST).is_file()
            && summary_says_complete(&self.output.join(SUMMARY));
        Ok(())
    }
}

fn summary_says_complete(path: &Path) -> bool {
    crate::output::read_case_file(path, 16 << 20)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|v| v["complete"] == json!(true))
}

impl ScanConfig {
    /// The audit header for this scan, starting at `started`.
    pub fn header(&self, started: &str) -> Header {
        let (host, os, user) = crate::case::audit::host_facts();
        let dev = std::fs::metadata(&self.evidence)
            .map(|m| m.dev())
            .unwrap_or(0);
        Header {
            tool: crate::TOOL_NAME,
            version: crate::TOOL_VERSION,
            build_commit: env!("HASHSWEEP_COMMIT"),
            args: self.argv.clone(),
            host,
            os,
            user,
            started: started.to_string(),
            evidence: self.evidence.clone(),
            evidence_identity: self.evidence_identity.clone(),
            evidence_device: format!("{}:{}", libc::major(dev), libc::minor(dev)),
            evidence_mount: crate::evidence::fs::mounts::find(&self.evidence),
            case: self.case.clone(),
            exhibit: self.exhibit.clone(),
            examiner: self.examiner.clone(),
            hashsets: self
                .matcher
                .sets()
                .iter()
                .map(|s| s.info().clone())
                .collect(),
            identity: self.identity(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<SetArg> {
        SetArg::parse(OsStr::new(v), None)
    }

    #[test]
    fn set_arg_name_syntax_and_its_errors() {
        assert_eq!(
            parse("vic=/x/y.json").unwrap(),
            SetArg {
                name: Some("vic".into()),
                path: "/x/y.json".into(),
                role: None
            }
        );
        let e = parse("/a=b/c").unwrap_err().to_string();
        assert!(e.contains("cannot hold `/`"), "{e}");
        let e = parse("name=").unwrap_err().to_string();
        assert!(e.contains("no file after `=`"), "{e}");
        let e = parse("=x").unwrap_err().to_string();
        assert!(e.contains("no set name"), "{e}");
        let raw = SetArg::parse(OsStr::from_bytes(b"/x/\xff.txt"), None).unwrap();
        assert_eq!(raw.path.as_os_str().as_bytes(), b"/x/\xff.txt");
        assert!(check_set_name("a\u{1b}[2Jb").is_err());
        assert!(check_set_name("-x").is_err());
        assert!(check_set_name("vic 2024").is_ok());
    }

    #[test]
    fn resolve_keeps_missing_tail_and_goes_up_through_it() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("ev")).unwrap();
        std::os::unix::fs::symlink(root.join("ev"), root.join("link")).unwrap();
        let r = resolve(&root.join("does-not-exist/x")).unwrap();
        assert_eq!(r, root.join("does-not-exist/x"));
        let r = resolve(&root.join("missing/../ev/case")).unwrap();
        assert_eq!(r, root.join("ev/case"));
        let r = resolve(&root.join("link/../link/case")).unwrap();
        assert_eq!(r, root.join("ev/case"));
        assert!(inside_evidence(&root.join("ev"), &r));
        assert!(!inside_evidence(&root.join("ev"), &root.join("case")));
    }
}
