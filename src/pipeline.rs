//! walk -> hashing workers -> one report writer -> sorted reports.
//!
//! The walk runs first and doubles as the pre-count (files and bytes) that gives
//! the progress bar its ETA. Workers then take entries in path order, each with
//! its own reused read buffer, and send finished records over a bounded channel
//! to a single writer thread, which appends hits to `hits.csv` (flushed per hit)
//! and keeps every record. At the end the records are sorted by path and written
//! as `report.csv`; `hits.csv` is rewritten in the same order, so the same
//! evidence always gives the same bytes whatever the thread timing.

use crate::audit::{self, Audit, Header};
use crate::config::ScanConfig;
use crate::digest::{hash_reader, MultiHasher};
use crate::error::{Error, ExitStatus, Result};
use crate::hashset::SetEntry;
use crate::matcher::Matcher;
use crate::progress::Progress;
use crate::record::{Kind, Record, Times, Verdict};
use crate::report::csv::CsvReport;
use crate::report::summary::{SetSummary, Summary, Timings, Totals, VerdictCounts};
use crate::report::{self, AUDIT, HITS, MANIFEST, REPORT, SUMMARY};
use crate::walk::{self, Found, Status, WalkOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Read buffer per worker. Large enough to amortise system calls, small enough
/// that MD5 and SHA-1 both find it in the CPU cache.
pub const READ_BUFFER: usize = 256 * 1024;

/// What a finished scan hands back to the caller.
#[derive(Debug)]
pub struct ScanOutcome {
    /// The summary, as written to summary.json.
    pub summary: Summary,
    /// The exit status.
    pub status: ExitStatus,
}

/// Runs the scan described by `cfg`, writing the case folder. `interrupt` stops it
/// early; the case folder is then written and marked incomplete.
pub fn scan(
    cfg: &ScanConfig,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<ScanOutcome> {
    let started_at = Instant::now();
    let started = audit::now();
    let dir = &cfg.output;
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;

    let (host, os, user) = audit::host_facts();
    let root_dev = std::fs::metadata(&cfg.evidence)
        .map(|m| m.dev())
        .unwrap_or(0);
    let header = Header {
        tool: crate::TOOL_NAME,
        version: crate::TOOL_VERSION,
        args: cfg.argv.clone(),
        host,
        os,
        user,
        started: started.clone(),
        evidence: cfg.evidence.clone(),
        evidence_device: format!("{}:{}", libc::major(root_dev), libc::minor(root_dev)),
        case: cfg.case.clone(),
        exhibit: cfg.exhibit.clone(),
        examiner: cfg.examiner.clone(),
        hashsets: cfg
            .matcher
            .sets()
            .iter()
            .map(|s| s.info().clone())
            .collect(),
    };
    let mut audit = Audit::create(&dir.join(AUDIT), &header)?;
    audit.event(
        "decision",
        json!({
            "threads": cfg.threads,
            "sha256": cfg.sha256,
            "sha256_reason": cfg.sha256_reason,
            "cross_filesystems": cfg.cross_filesystems,
            "read_buffer_bytes": READ_BUFFER,
        }),
    )?;

    let hits_path = dir.join(HITS);
    let hits_file = File::create(&hits_path).map_err(|e| Error::output(&hits_path, e))?;
    let mut hits =
        CsvReport::new(BufWriter::new(hits_file)).map_err(|e| Error::output(&hits_path, e))?;
    hits.flush().map_err(|e| Error::output(&hits_path, e))?;

    let walk_opts = WalkOptions {
        threads: cfg.threads,
        cross_filesystems: cfg.cross_filesystems,
    };
    let found = walk::walk(&cfg.evidence, &walk_opts, progress, interrupt)
        .map_err(|e| Error::Usage(format!("evidence {}: {e}", cfg.evidence.display())))?;
    let walk_seconds = started_at.elapsed().as_secs_f64();
    let walk_interrupted = interrupt.load(Ordering::SeqCst);
    let total_bytes: u64 = found
        .iter()
        .filter(|f| f.status == Status::Hash)
        .map(|f| f.size)
        .sum();
    audit.event(
        "walk",
        json!({
            "entries": found.len(),
            "regular_files": found.iter().filter(|f| f.status == Status::Hash).count(),
            "bytes": total_bytes,
            "seconds": walk_seconds,
            "interrupted": walk_interrupted,
        }),
    )?;
    progress.hashing(found.len() as u64, total_bytes);

    let set_names: Vec<String> = cfg
        .matcher
        .sets()
        .iter()
        .map(|s| s.info().name.clone())
        .collect();
    let hash_start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Record>(4096);
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let ctx = Worker {
        matcher: &cfg.matcher,
        sha256: cfg.sha256,
    };
    let written = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let r = collect(rx, &mut hits, &hits_path, &mut audit, progress, &set_names);
            if r.is_err() {
                abort.store(true, Ordering::SeqCst);
            }
            r
        });
        for _ in 0..cfg.threads {
            let tx = tx.clone();
            let (found, next, abort, ctx) = (&found, &next, &abort, &ctx);
            s.spawn(move || {
                let mut buf = vec![0u8; READ_BUFFER];
                let mut scratch = Vec::new();
                loop {
                    if interrupt.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = found.get(i) else { break };
                    let record = ctx.process(entry, &mut buf, &mut scratch);
                    let bytes = if entry.status == Status::Hash {
                        record.size
                    } else {
                        0
                    };
                    if tx.send(record).is_err() {
                        break;
                    }
                    progress.file_done(bytes);
                }
            });
        }
        drop(tx);
        writer.join().expect("report writer panicked")
    })?;
    let hash_seconds = hash_start.elapsed().as_secs_f64();
    progress.finishing();

    let Collected {
        mut records,
        verdicts,
        per_set,
        categories,
        files_hashed,
        bytes_hashed,
        empty_files,
    } = written;
    let interrupted = walk_interrupted || (records.len() as u64) < found.len() as u64;
    records.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let entries_found = found.len() as u64;
    drop(found);

    write_rows(&dir.join(REPORT), records.iter())?;
    write_rows(&hits_path, records.iter().filter(|r| r.verdict.is_hit()))?;

    let status = if interrupted {
        ExitStatus::Interrupted
    } else if verdicts.alert + verdicts.conflict > 0 {
        ExitStatus::Alert
    } else if verdicts.unreadable > 0 {
        ExitStatus::Unreadable
    } else {
        ExitStatus::NoAlert
    };
    let summary = Summary {
        tool: crate::TOOL_NAME,
        version: crate::TOOL_VERSION,
        status: if interrupted {
            "interrupted"
        } else {
            "complete"
        },
        complete: !interrupted,
        evidence: cfg.evidence.display().to_string(),
        case: cfg.case.clone(),
        exhibit: cfg.exhibit.clone(),
        examiner: cfg.examiner.clone(),
        started,
        finished: audit::now(),
        threads: cfg.threads,
        sha256: cfg.sha256,
        totals: Totals {
            entries_found,
            rows: records.len() as u64,
            files_hashed,
            bytes_hashed,
            empty_files,
        },
        verdicts,
        hashsets: cfg
            .matcher
            .sets()
            .iter()
            .zip(&per_set)
            .map(|(s, &hits)| SetSummary {
                name: s.info().name.clone(),
                role: s.info().role.as_str(),
                entries: s.info().counts.entries,
                hits,
            })
            .collect(),
        categories,
        timings: Timings {
            walk_seconds,
            hash_seconds,
            total_seconds: started_at.elapsed().as_secs_f64(),
        },
        exit_status: status.code(),
    };
    let mut summary_json = serde_json::to_vec_pretty(&summary).expect("summary serialises");
    summary_json.push(b'\n');
    audit::write_atomically(&dir.join(SUMMARY), &summary_json)?;
    audit.event(
        "end",
        json!({
            "status": summary.status,
            "rows": summary.totals.rows,
            "files_hashed": files_hashed,
            "bytes_hashed": bytes_hashed,
            "verdicts": summary.verdicts,
            "exit_status": status.code(),
        }),
    )?;
    audit.sync()?;
    report::manifest::write(dir, &[AUDIT, HITS, REPORT, SUMMARY], MANIFEST)?;
    Ok(ScanOutcome { summary, status })
}

fn write_rows<'a>(path: &Path, rows: impl Iterator<Item = &'a Record>) -> Result<()> {
    audit::write_with(path, |w| {
        let mut report = CsvReport::new(w)?;
        for r in rows {
            report.write(r)?;
        }
        report.flush()
    })
}

struct Collected {
    records: Vec<Record>,
    verdicts: VerdictCounts,
    per_set: Vec<u64>,
    categories: BTreeMap<String, u64>,
    files_hashed: u64,
    bytes_hashed: u64,
    empty_files: u64,
}

/// The single writer: receives every record, streams hits, logs unreadable entries.
fn collect(
    rx: crossbeam_channel::Receiver<Record>,
    hits: &mut CsvReport<BufWriter<File>>,
    hits_path: &Path,
    audit: &mut Audit,
    progress: &dyn Progress,
    set_names: &[String],
) -> Result<Collected> {
    let mut c = Collected {
        records: Vec::new(),
        verdicts: VerdictCounts::default(),
        per_set: vec![0; set_names.len()],
        categories: BTreeMap::new(),
        files_hashed: 0,
        bytes_hashed: 0,
        empty_files: 0,
    };
    for record in rx.iter() {
        c.verdicts.add(record.verdict);
        if record.digests.is_some() {
            c.files_hashed += 1;
            c.bytes_hashed += record.size;
            if record.size == 0 {
                c.empty_files += 1;
            }
        }
        if !record.hashsets.is_empty() {
            for name in record.hashsets.split(';') {
                if let Some(i) = set_names.iter().position(|n| n == name) {
                    c.per_set[i] += 1;
                }
            }
        }
        if record.verdict.is_hit() {
            if !record.category.is_empty() {
                *c.categories.entry(record.category.clone()).or_default() += 1;
            }
            hits.write(&record)
                .map_err(|e| Error::output(hits_path, e))?;
            hits.flush().map_err(|e| Error::output(hits_path, e))?;
            progress.hit(&record);
        }
        if record.verdict == Verdict::Unreadable {
            audit.event(
                "unreadable",
                json!({ "path": record.path, "kind": record.kind.as_str(), "note": record.note }),
            )?;
        }
        c.records.push(record);
    }
    Ok(c)
}

/// What every hashing worker shares.
struct Worker<'a> {
    matcher: &'a Matcher,
    sha256: bool,
}

/// Opens an evidence file read-only without following links, without blocking on
/// a FIFO that replaced it, and without updating its access time where allowed.
pub fn open_evidence(path: &Path) -> std::io::Result<File> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    let open = |flags| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
    };
    match open(base | libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base),
        r => r,
    }
}

impl Worker<'_> {
    fn process(&self, entry: &Found, buf: &mut [u8], scratch: &mut Vec<SetEntry>) -> Record {
        let mut r = Record {
            path: entry.rel.clone(),
            kind: entry.kind,
            size: entry.size,
            times: entry.times,
            digests: None,
            verdict: Verdict::Skipped,
            hashsets: String::new(),
            category: String::new(),
            note: String::new(),
        };
        match &entry.status {
            Status::Skip(note) => r.note = note.clone(),
            Status::Unreadable(note) => {
                r.verdict = Verdict::Unreadable;
                r.note = note.clone();
            }
            Status::Hash => self.hash(entry, &mut r, buf, scratch),
        }
        r
    }

    fn hash(&self, entry: &Found, r: &mut Record, buf: &mut [u8], scratch: &mut Vec<SetEntry>) {
        let file = match open_evidence(&entry.path) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                r.kind = Kind::Symlink;
                r.note = "replaced by a symbolic link after the walk; not followed".into();
                return;
            }
            Err(e) => {
                r.verdict = Verdict::Unreadable;
                r.note = format!("cannot open: {e}");
                return;
            }
        };
        let before = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                r.verdict = Verdict::Unreadable;
                r.note = format!("cannot stat the open file: {e}");
                return;
            }
        };
        if !before.is_file() {
            r.kind = Kind::from_file_type(before.file_type());
            r.note = format!("became a {} after the walk; not read", r.kind.as_str());
            return;
        }
        let mut notes = Vec::new();
        if (before.dev(), before.ino()) != (entry.dev, entry.ino) {
            notes.push(
                "replaced after the walk (another inode); the file read is reported".to_string(),
            );
            r.times = Times::from_metadata(&before);
        }
        let mut hasher = MultiHasher::new(self.sha256);
        let size = match hash_reader(&mut &file, buf, &mut hasher) {
            Ok(n) => n,
            Err(fail) => {
                r.verdict = Verdict::Unreadable;
                r.note = format!("read error at byte offset {}: {}", fail.offset, fail.error);
                return;
            }
        };
        if let Ok(after) = file.metadata() {
            let changed = after.len() != size
                || (after.mtime(), after.mtime_nsec()) != (before.mtime(), before.mtime_nsec());
            if changed {
                notes.push(format!(
                    "changed while being read: {} bytes read, size now {}, modified {}",
                    size,
                    after.len(),
                    Times::from_metadata(&after)
                        .modified
                        .map(|t| t.rfc3339())
                        .unwrap_or_default()
                ));
            }
        }
        let digests = hasher.finish();
        let j = self.matcher.judge(&digests, size, scratch);
        r.size = size;
        r.digests = Some(digests);
        r.verdict = j.verdict;
        r.hashsets = j.hashsets;
        r.category = j.category;
        if !j.note.is_empty() {
            notes.insert(0, j.note);
        }
        r.note = notes.join("; ");
    }
}
