//! walk -> hashing workers -> one report writer -> sorted reports.
//!
//! The walk runs first and doubles as the pre-count (files and bytes) that gives
//! the progress bar its ETA. Workers then take entries in path order, each with
//! its own reused read buffer, and send finished records over a bounded channel
//! to a single writer thread. The writer turns each record into its report line,
//! appends it to the journal, appends hits to `hits.csv` (flushed per hit) and
//! logs unreadable and changing files to the audit log. At the end the lines are
//! sorted by path and written as `report.csv`, and `hits.csv` is rewritten in the
//! same order, so the same evidence always gives the same bytes whatever the
//! thread timing, and whether or not the scan was interrupted and resumed.

use crate::audit::{self, Audit, Header};
use crate::config::ScanConfig;
use crate::digest::{hash_reader, MultiHasher};
use crate::error::{Error, ExitStatus, Result};
use crate::failpoint;
use crate::journal::{self, Journal, LineWriter, Row, JOURNAL};
use crate::matcher::{Matcher, Scratch};
use crate::progress::Progress;
use crate::record::{Kind, Record, Times, Verdict};
use crate::report::csv::{cells, col};
use crate::report::summary::{SetSummary, Summary, Tally, Timings, Totals};
use crate::report::{self, AUDIT, HITS, MANIFEST, REPORT, SUMMARY};
use crate::walk::{self, Found, Status, WalkOptions};
use serde_json::json;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
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

/// The case folder being written: the audit log, the journal and what an
/// interrupted run left in it.
struct Case {
    audit: Audit,
    journal: Journal,
    /// Rows recovered from the journal of an interrupted run.
    rows: Vec<Row>,
    tally: Tally,
    /// Start of the scan (of the first run, when resuming).
    started: String,
}

/// Runs the scan described by `cfg`, writing the case folder. `interrupt` stops it
/// early; the case folder is then written and marked incomplete, and the journal
/// kept for `--resume`.
pub fn scan(
    cfg: &ScanConfig,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<ScanOutcome> {
    let started_at = Instant::now();
    let dir = &cfg.output;
    let set_names: Vec<String> = cfg
        .matcher
        .sets()
        .iter()
        .map(|s| s.info().name.clone())
        .collect();
    let mut lines = LineWriter::default();
    let mut case = if cfg.resume {
        reopen_case(cfg, &set_names, &mut lines)?
    } else {
        create_case(cfg, &set_names)?
    };
    case.audit.event(
        "decision",
        json!({
            "threads": cfg.threads,
            "io": "read() per file, O_NOATIME where permitted, read buffer per thread",
            "read_buffer_bytes": READ_BUFFER,
            "sha256": cfg.sha256,
            "sha256_reason": cfg.sha256_reason,
            "cross_filesystems": cfg.cross_filesystems,
        }),
    )?;

    let hits_path = dir.join(HITS);
    let mut hits = open_hits(&hits_path, &case.rows, &mut lines)?;

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
    case.audit.event(
        "walk",
        json!({
            "entries": found.len(),
            "regular_files": found.iter().filter(|f| f.status == Status::Hash).count(),
            "bytes": total_bytes,
            "seconds": walk_seconds,
            "interrupted": walk_interrupted,
        }),
    )?;

    // Entries done by an earlier run are not read again.
    let done: HashSet<&str> = case.rows.iter().map(|r| r.path.as_str()).collect();
    let todo: Vec<&Found> = found
        .iter()
        .filter(|f| !done.contains(f.rel.as_str()))
        .collect();
    if cfg.resume {
        let walked: HashSet<&str> = found.iter().map(|f| f.rel.as_str()).collect();
        let vanished = case
            .rows
            .iter()
            .filter(|r| !walked.contains(r.path.as_str()))
            .count();
        case.audit.event(
            "resume-plan",
            json!({ "entries_done": found.len() - todo.len(), "entries_to_do": todo.len(),
                    "journal_rows_not_found_now": vanished }),
        )?;
    }
    progress.hashing(found.len() as u64, total_bytes);
    for f in found.iter().filter(|f| done.contains(f.rel.as_str())) {
        progress.file_done(if f.status == Status::Hash { f.size } else { 0 });
    }
    drop(done);

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
            let mut w = Writer {
                case: &mut case,
                hits: &mut hits,
                hits_path: &hits_path,
                lines: &mut lines,
                progress,
                set_names: &set_names,
            };
            let r = w.run(rx);
            if r.is_err() {
                abort.store(true, Ordering::SeqCst);
            }
            r
        });
        for _ in 0..cfg.threads {
            let tx = tx.clone();
            let (todo, next, abort, ctx) = (&todo, &next, &abort, &ctx);
            s.spawn(move || {
                let mut buf = vec![0u8; READ_BUFFER];
                let mut scratch = Scratch::default();
                loop {
                    if interrupt.load(Ordering::Relaxed) || abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = todo.get(i) else { break };
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
    });
    if let Err(e) = written {
        // Keep what the journal holds for --resume; the error says what failed.
        let _ = case.journal.flush();
        return Err(e);
    }
    let hash_seconds = hash_start.elapsed().as_secs_f64();
    progress.finishing();
    case.journal
        .sync()
        .map_err(|e| Error::output(case.journal.path(), e))?;
    drop(hits);

    let Case {
        mut audit,
        journal,
        mut rows,
        tally,
        started,
    } = case;
    drop(journal);
    let entries_found = found.len() as u64;
    drop(todo);
    drop(found);
    let interrupted =
        walk_interrupted || interrupt.load(Ordering::SeqCst) || rows_missing(&rows, entries_found);
    // A path appears once; should a journal ever repeat one, its first row stands.
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    rows.dedup_by(|b, a| a.path == b.path);

    failpoint::hit("before-report");
    let header = lines.header();
    write_lines(&dir.join(REPORT), &header, rows.iter(), true)?;
    write_lines(&hits_path, &header, rows.iter().filter(|r| r.hit), false)?;

    let v = &tally.verdicts;
    let status = if interrupted {
        ExitStatus::Interrupted
    } else if v.alert + v.conflict > 0 {
        ExitStatus::Alert
    } else if v.unreadable > 0 {
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
            rows: rows.len() as u64,
            files_hashed: tally.files_hashed,
            bytes_hashed: tally.bytes_hashed,
            empty_files: tally.empty_files,
        },
        verdicts: tally.verdicts.clone(),
        hashsets: cfg
            .matcher
            .sets()
            .iter()
            .zip(&tally.per_set)
            .map(|(s, &hits)| SetSummary {
                name: s.info().name.clone(),
                role: s.info().role.as_str(),
                entries: s.info().counts.entries,
                hits,
            })
            .collect(),
        categories: tally.categories.clone(),
        timings: Timings {
            walk_seconds,
            hash_seconds,
            total_seconds: started_at.elapsed().as_secs_f64(),
        },
        resumed: cfg.resume,
        exit_status: status.code(),
    };
    let mut summary_json = serde_json::to_vec_pretty(&summary).expect("summary serialises");
    summary_json.push(b'\n');
    audit::write_atomically(&dir.join(SUMMARY), &summary_json)?;
    audit.event(
        if interrupted { "interrupted" } else { "end" },
        json!({
            "status": summary.status,
            "rows": summary.totals.rows,
            "files_hashed": summary.totals.files_hashed,
            "bytes_hashed": summary.totals.bytes_hashed,
            "verdicts": summary.verdicts,
            "exit_status": status.code(),
        }),
    )?;
    audit.sync()?;
    report::manifest::write(dir, &[AUDIT, HITS, REPORT, SUMMARY], MANIFEST)?;
    if !interrupted {
        let j = dir.join(JOURNAL);
        std::fs::remove_file(&j).map_err(|e| Error::output(&j, e))?;
    }
    Ok(ScanOutcome { summary, status })
}

fn rows_missing(rows: &[Row], entries_found: u64) -> bool {
    (rows.len() as u64) < entries_found
}

/// Starts a new case folder: audit header, empty journal.
fn create_case(cfg: &ScanConfig, set_names: &[String]) -> Result<Case> {
    let dir = &cfg.output;
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    let started = audit::now();
    let header = Header::new(cfg, &started);
    let audit = Audit::create(&dir.join(AUDIT), &header)?;
    let jpath = dir.join(JOURNAL);
    let journal = Journal::open(&jpath, 0).map_err(|e| Error::output(&jpath, e))?;
    Ok(Case {
        audit,
        journal,
        rows: Vec::new(),
        tally: Tally::new(set_names),
        started,
    })
}

/// Reopens the case folder of an interrupted scan: reads its journal back.
fn reopen_case(cfg: &ScanConfig, set_names: &[String], lines: &mut LineWriter) -> Result<Case> {
    let dir = &cfg.output;
    let jpath = dir.join(JOURNAL);
    let recovered = journal::recover(&jpath).map_err(|e| Error::io(&jpath, e))?;
    let mut audit = Audit::append(&dir.join(AUDIT))?;
    audit.event(
        "resume",
        json!({
            "args": cfg.argv,
            "journal_rows": recovered.rows.len(),
            "journal_bytes_dropped": recovered.dropped_bytes,
        }),
    )?;
    let mut tally = Tally::new(set_names);
    let rows = recovered
        .rows
        .iter()
        .map(|c| {
            tally.add(c, set_names);
            Row {
                path: c[col::PATH].clone(),
                hit: Verdict::parse(&c[col::VERDICT]).is_some_and(Verdict::is_hit),
                line: lines.line(c),
            }
        })
        .collect();
    let journal =
        Journal::open(&jpath, recovered.intact_bytes).map_err(|e| Error::output(&jpath, e))?;
    let started = audit::header_started(&dir.join(AUDIT)).unwrap_or_else(audit::now);
    Ok(Case {
        audit,
        journal,
        rows,
        tally,
        started,
    })
}

/// Starts `hits.csv` with its header and the hits an earlier run already found.
fn open_hits(path: &Path, earlier: &[Row], lines: &mut LineWriter) -> Result<BufWriter<File>> {
    let mut run = || -> std::io::Result<BufWriter<File>> {
        let mut w = BufWriter::new(File::create(path)?);
        w.write_all(&lines.header())?;
        for r in earlier.iter().filter(|r| r.hit) {
            w.write_all(&r.line)?;
        }
        w.flush()?;
        Ok(w)
    };
    run().map_err(|e| Error::output(path, e))
}

/// Writes a header and rows to `path` through a temporary file.
fn write_lines<'a>(
    path: &Path,
    header: &[u8],
    rows: impl Iterator<Item = &'a Row>,
    report: bool,
) -> Result<()> {
    audit::write_with(path, |w| {
        w.write_all(header)?;
        for (i, r) in rows.enumerate() {
            w.write_all(&r.line)?;
            if report && i == 1000 {
                w.flush()?;
                failpoint::hit("writing-report");
            }
        }
        Ok(())
    })
}

/// The single report writer: receives every record, journals it, streams hits,
/// logs unreadable and changing entries.
struct Writer<'a> {
    case: &'a mut Case,
    hits: &'a mut BufWriter<File>,
    hits_path: &'a Path,
    lines: &'a mut LineWriter,
    progress: &'a dyn Progress,
    set_names: &'a [String],
}

impl Writer<'_> {
    fn run(&mut self, rx: crossbeam_channel::Receiver<Record>) -> Result<()> {
        let stop_after = failpoint::rows();
        for (n, record) in rx.iter().enumerate() {
            let cells = cells(&record);
            let line = self.lines.line(&cells);
            let jpath = self.case.journal.path().to_path_buf();
            self.case
                .journal
                .append(&line)
                .map_err(|e| Error::output(&jpath, e))?;
            self.case.tally.add(&cells, self.set_names);
            let hit = record.verdict.is_hit();
            if hit {
                let run = |w: &mut BufWriter<File>| -> std::io::Result<()> {
                    w.write_all(&line)?;
                    w.flush()
                };
                run(self.hits).map_err(|e| Error::output(self.hits_path, e))?;
                self.progress.hit(&record);
            }
            if record.verdict == Verdict::Unreadable {
                self.case.audit.event(
                    "unreadable",
                    json!({ "path": record.path, "kind": record.kind.as_str(), "note": record.note }),
                )?;
            }
            if record.changed {
                self.case.audit.event(
                    "changed",
                    json!({ "path": record.path, "note": record.note }),
                )?;
            }
            self.case.rows.push(Row {
                path: record.path,
                hit,
                line,
            });
            if stop_after == Some(n + 1) {
                failpoint::kill();
            }
        }
        Ok(())
    }
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
    fn process(&self, entry: &Found, buf: &mut [u8], scratch: &mut Scratch) -> Record {
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
            changed: false,
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

    fn hash(&self, entry: &Found, r: &mut Record, buf: &mut [u8], scratch: &mut Scratch) {
        let file = match open_evidence(&entry.path) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                r.kind = Kind::Symlink;
                r.note = "replaced by a symbolic link after the walk; not followed".into();
                r.changed = true;
                return;
            }
            Err(e) => {
                r.verdict = Verdict::Unreadable;
                r.note = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("vanished between the walk and the read: {e}")
                } else {
                    format!("cannot open: {e}")
                };
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
            r.changed = true;
            return;
        }
        let mut notes = Vec::new();
        if (before.dev(), before.ino()) != (entry.dev, entry.ino) {
            notes.push(
                "replaced after the walk (another inode); the file read is reported".to_string(),
            );
            r.times = Times::from_metadata(&before);
            r.changed = true;
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
                    "changed while being read: {} bytes read, size now {}, modified {}; the digests are of the bytes read",
                    size,
                    after.len(),
                    Times::from_metadata(&after).modified.map(|t| t.rfc3339()).unwrap_or_default()
                ));
                r.changed = true;
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
