//! walk -> read plan and I/O policy -> readers (and hashers) -> one report
//! writer -> sorted reports.
//!
//! The user folders near the top of the evidence ([`plan::priority_dirs`])
//! are walked first, then the rest of the tree; the walk doubles as the
//! pre-count (files and bytes) that gives the progress bar its ETA. The I/O
//! policy ([`crate::evidence::fs::device`]) and the read plan ([`crate::scan::plan`]: likely
//! hits first, hard links once) follow. On solid-state storage the user folders
//! are read while the rest is walked; its plan joins the queue once it is.
//! Files of 8 MiB and more are hashed through memory maps ([`crate::evidence::fs::mapped`]). On
//! solid-state storage parallel readers each read and hash whole files with a
//! reused buffer; on a spinning disk one reader feeds file chunks to hashing
//! threads. Finished records go over a bounded channel to a single writer thread. The writer turns each record into its report line,
//! appends it to the journal, appends hits to `hits.csv` (flushed per hit) and
//! logs unreadable and changing files to the audit log. At the end the lines are
//! sorted by path and written as `report.csv`, and `hits.csv` is rewritten in the
//! same order, so the same evidence always gives the same bytes whatever the
//! thread timing, and whether or not the scan was interrupted and resumed.

use crate::evidence::fs::atime::AccessTimes;
pub mod plan;

use crate::case::audit::{self, Audit};
use crate::case::journal::{self, Journal, Row, JOURNAL};
use crate::config::ScanConfig;
use crate::digest::content::{self, ContentType};
use crate::digest::{self, FileHasher, Halt, ReadEnd, ReadFailure, Update};
use crate::error::{Error, ExitStatus, Result};
use crate::evidence::fs::device::{self, CacheHints, Medium};
use crate::evidence::fs::mapped::{self, Mapped};
use crate::evidence::fs::walk::{self, Found, Part, Status, WalkOptions};
use crate::failpoint;
use crate::hashset::ContentCheck;
use crate::matcher::{Matcher, Scratch};
use crate::output::csv::LineWriter;
use crate::output::csv::{cells, col};
use crate::output::summary::{SetSummary, Summary, Tally, Timings, Totals};
use crate::output::{AUDIT, HITS, MANIFEST, REPORT, SUMMARY};
use crate::progress::Progress;
use crate::record::{Kind, Record, Times, Verdict};
use plan::{Queue, Take};
use serde_json::json;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
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
/// kept for `--resume`. Index files of the hash sets are checked against their
/// checksums meanwhile, on a thread of their own; a mismatch is a fatal error
/// before any report is written.
pub fn scan(
    cfg: &ScanConfig,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<ScanOutcome> {
    let warnings = WarningLog::new(progress);
    // Set to stop the queue once `--stop-after` is reached, or on a fatal error.
    let halt = AtomicBool::new(false);
    let stopping = || interrupt.load(Ordering::Relaxed) || halt.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        // Without a thread for it, the check runs when the reading is done.
        let checker = std::thread::Builder::new()
            .name("hashsweep-set-check".into())
            .spawn_scoped(s, || check_sets(cfg, &stopping))
            .ok();
        run(cfg, &warnings, interrupt, &halt, move || match checker {
            Some(c) => c.join().expect("hash-set check panicked"),
            None => check_sets(cfg, &|| false),
        })
    })
}

/// The outcome of checking one set's stored content.
struct SetCheck {
    name: String,
    path: std::path::PathBuf,
    result: ContentCheck,
    bytes: u64,
    seconds: f64,
}

/// Recomputes set `i`'s checksum (the whole index is read), giving up when
/// `stop` says so.
fn check_set(cfg: &ScanConfig, i: usize, stop: &dyn Fn() -> bool) -> SetCheck {
    let s = &cfg.matcher.sets()[i];
    let t = Instant::now();
    let result = s.verify_content(stop);
    SetCheck {
        name: s.info().name.clone(),
        path: s.info().path.clone(),
        bytes: if result == ContentCheck::NotStored {
            0
        } else {
            s.stored_len()
        },
        result,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// [`check_set`] for every set.
fn check_sets(cfg: &ScanConfig, stop: &dyn Fn() -> bool) -> Vec<SetCheck> {
    (0..cfg.matcher.sets().len())
        .map(|i| check_set(cfg, i, stop))
        .collect()
}

/// Passes progress on, keeping every warning for the audit log and summary.
struct WarningLog<'a> {
    inner: &'a dyn Progress,
    /// Warnings given by this run, each with the time it was first given.
    given: std::sync::Mutex<Vec<(String, String)>>,
    /// Warnings of earlier runs of the same case (a resume).
    earlier: std::sync::Mutex<Vec<String>>,
}

impl<'a> WarningLog<'a> {
    fn new(inner: &'a dyn Progress) -> WarningLog<'a> {
        WarningLog {
            inner,
            given: std::sync::Mutex::new(Vec::new()),
            earlier: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Takes in the warnings of earlier runs (not given again on stderr).
    fn carry(&self, earlier: Vec<String>) {
        *self.earlier.lock().expect("warnings") = earlier;
    }

    /// The warnings this run gave, in order, with when each was first given.
    fn given(&self) -> Vec<(String, String)> {
        self.given.lock().expect("warnings").clone()
    }

    /// Every warning of the case: earlier runs' first, each once.
    fn all(&self) -> Vec<String> {
        let mut all = self.earlier.lock().expect("warnings").clone();
        for (_, w) in self.given() {
            if !all.contains(&w) {
                all.push(w);
            }
        }
        all
    }
}

impl Progress for WarningLog<'_> {
    fn walking(&self, files: u64, bytes: u64) {
        self.inner.walking(files, bytes)
    }
    fn decision(&self, line: &str) {
        self.inner.decision(line)
    }
    fn warning(&self, line: &str) {
        let mut w = self.given.lock().expect("warnings");
        if w.iter().all(|(_, l)| l != line) {
            w.push((audit::now(), line.to_string()));
            self.inner.warning(line);
        }
    }
    fn hashing(&self, files: u64, bytes: u64) {
        self.inner.hashing(files, bytes)
    }
    fn found_more(&self, files: u64, bytes: u64) {
        self.inner.found_more(files, bytes)
    }
    fn file_done(&self, bytes: u64) {
        self.inner.file_done(bytes)
    }
    fn hit(&self, record: &Record) {
        self.inner.hit(record)
    }
    fn finishing(&self) {
        self.inner.finishing()
    }
}

/// Passes on only warnings: for the walk of the rest of the tree, which runs
/// while files are read and must not redraw the walk's counts.
struct WarningsOnly<'a>(&'a WarningLog<'a>);

impl Progress for WarningsOnly<'_> {
    fn warning(&self, line: &str) {
        self.0.warning(line)
    }
}

fn run(
    cfg: &ScanConfig,
    progress: &WarningLog,
    interrupt: &AtomicBool,
    halt: &AtomicBool,
    finish_checks: impl FnOnce() -> Vec<SetCheck>,
) -> Result<ScanOutcome> {
    let started_at = Instant::now();
    let dir = &cfg.output;
    // Started before anything is written: without threads there is no scan.
    let walk_pool = walk::walk_pool(cfg.io_threads).map_err(|e| {
        Error::Usage(format!(
            "cannot start {} walking threads ({e}): lower --threads, or raise the limit on processes (ulimit -u)",
            cfg.io_threads
        ))
    })?;
    let set_names: Vec<String> = cfg
        .matcher
        .sets()
        .iter()
        .map(|s| s.info().name.clone())
        .collect();
    let mut lines = LineWriter::default();
    let (mut case, recovered) = if cfg.resume {
        // Warnings of the earlier runs stay in the summary.
        progress.carry(audit::earlier_warnings(&dir.join(AUDIT)));
        reopen_case(cfg, &set_names)?
    } else {
        (create_case(cfg, &set_names)?, Vec::new())
    };
    if let Some(m) = crate::evidence::fs::mounts::find(&cfg.evidence).filter(|m| !m.read_only()) {
        progress.warning(&format!(
            "the evidence ({} on {}) is mounted read-write; hashsweep writes nothing there, but mount evidence read-only",
            m.source,
            crate::pathfmt::path_text(&m.mount_point)
        ));
    }
    let atimes = AccessTimes::new(cfg.read_link_targets, &cfg.evidence);
    case.audit.event(
        "decision",
        json!({
            "threads": cfg.threads,
            "io_threads": cfg.io_threads,
            "read_buffer_bytes": READ_BUFFER,
            "sha256": cfg.sha256,
            "sha256_reason": cfg.sha256_reason,
            "cross_filesystems": cfg.cross_filesystems,
        }),
    )?;

    let hits_path = dir.join(HITS);

    let walk_opts = WalkOptions {
        threads: cfg.io_threads,
        cross_filesystems: cfg.cross_filesystems,
        pool: Some(std::sync::Arc::new(walk_pool)),
    };
    let evidence_error =
        |e: std::io::Error| Error::Usage(format!("evidence {}: {e}", cfg.evidence.display()));
    // User folders are walked first; on solid-state storage they are read while
    // the rest of the tree is walked, so a hit comes before the walk ends.
    let priority = plan::priority_dirs(&cfg.evidence, cfg.cross_filesystems);
    let priority_rels: Vec<String> = priority
        .iter()
        .map(|p| walk::report_path(&cfg.evidence, p))
        .collect();
    let found_first = if priority.is_empty() {
        Vec::new()
    } else {
        let part = Part {
            starts: &priority,
            skip: &[],
            counted: (0, 0),
        };
        walk::walk_part(
            &cfg.evidence,
            &part,
            &walk_opts,
            &atimes,
            progress,
            &[interrupt],
        )
        .map_err(evidence_error)?
    };
    let first_seconds = started_at.elapsed().as_secs_f64();
    let first_refs: Vec<&Found> = found_first.iter().collect();
    let early = if priority.is_empty() {
        None
    } else {
        device::decide(
            &cfg.evidence,
            &first_refs,
            true,
            cfg.io,
            cfg.threads,
            cfg.io_threads,
        )
    };
    // A resume checks the journal against the whole walk before reading.
    let stream = !cfg.resume && early.as_ref().is_some_and(|p| p.medium == Medium::Ssd);
    let found_rest: OnceLock<Vec<Found>> = OnceLock::new();
    let first_totals = totals_of(&found_first);
    let rest_part = Part {
        starts: std::slice::from_ref(&cfg.evidence),
        skip: &priority,
        counted: first_totals,
    };
    // The rest of the walk: now, or (streaming) while the first part is read;
    // its seconds since the start, and whether it was cut short.
    let walk_rest = |progress: &dyn Progress| {
        let found = walk::walk_part(
            &cfg.evidence,
            &rest_part,
            &walk_opts,
            &atimes,
            progress,
            &[interrupt, halt],
        );
        let seconds = started_at.elapsed().as_secs_f64();
        let cut = interrupt.load(Ordering::SeqCst) || halt.load(Ordering::SeqCst);
        (found, seconds, cut)
    };
    let mut walk_end = (first_seconds, false);
    if !stream {
        let (found, seconds, cut) = walk_rest(progress);
        let _ = found_rest.set(found.map_err(evidence_error)?);
        walk_end = (seconds, cut);
    }
    let policy = match early {
        Some(p) => p,
        None => {
            let all: Vec<&Found> = first_refs
                .iter()
                .copied()
                .chain(found_rest.get().into_iter().flatten())
                .collect();
            device::decide(
                &cfg.evidence,
                &all,
                false,
                cfg.io,
                cfg.threads,
                cfg.io_threads,
            )
            .expect("a decision on the whole tree")
        }
    };
    drop(first_refs);
    progress.decision(&policy.describe());
    let physical = policy.medium == Medium::Hdd;

    if cfg.resume {
        // The journal is checked against the evidence as walked now: only rows
        // of entries found, whose digests give the verdict they say, stand.
        let all: Vec<&Found> = found_first
            .iter()
            .chain(found_rest.get().into_iter().flatten())
            .collect();
        // A walk cut short by a signal has not found every entry: rows of the
        // others are kept unchecked for the next resume, not rejected.
        let walk_cut = walk_end.1 || interrupt.load(Ordering::SeqCst);
        let checked = check_journal(cfg, recovered, &all, walk_cut, &mut lines, &set_names);
        case.audit.event("journal-check", checked.event)?;
        for (path, reason) in checked.rejected.iter().take(REJECTIONS_LOGGED) {
            case.audit.event(
                "journal-row-rejected",
                json!({ "path": path, "reason": reason }),
            )?;
        }
        if !walk_cut {
            // The journal keeps only the rows that stand, so nothing rejected
            // or superseded lingers for a later resume to weigh again.
            let jpath = dir.join(JOURNAL);
            audit::write_with(&jpath, |w| {
                for r in &checked.rows {
                    w.write_all(&r.line)?;
                }
                Ok(())
            })?;
            let len: u64 = checked.rows.iter().map(|r| r.line.len() as u64).sum();
            case.journal = Journal::open(&jpath, len).map_err(|e| Error::output(&jpath, e))?;
        }
        case.rows = checked.rows;
        case.tally = checked.tally;
    }
    let mut hits = open_hits(&hits_path, &case.rows, &mut lines)?;
    // Entries done by an earlier run are not read again.
    let done: HashSet<String> = case.rows.iter().map(|r| r.path.clone()).collect();
    let first: Vec<&Found> = found_first
        .iter()
        .filter(|f| !done.contains(&f.rel))
        .collect();
    let first_plan = plan::plan(&first, physical);
    let placed = std::sync::atomic::AtomicUsize::new(first_plan.physically_mapped);
    let todo = Todo {
        first,
        first_links: first_plan.links,
        rest: OnceLock::new(),
    };
    case.audit.event(
        "io-policy",
        json!({
            "policy": policy,
            "read_order": "user folders and picture/video/archive names first; large files whose content is not a picture, video or archive last",
            "walked_first": priority_rels,
            "read_while_walking": stream,
            "stop_after": cfg.stop_after,
        }),
    )?;
    let queue = Queue::new(first_plan.order, [interrupt, halt]);
    progress.hashing(first_totals.0, first_totals.1);
    for f in found_first.iter().filter(|f| done.contains(&f.rel)) {
        progress.file_done(if f.status == Status::Hash { f.size } else { 0 });
    }
    // Once the rest is walked: plan it, hand it to the readers, and say so.
    let publish_rest = |walk_end: (f64, bool)| {
        let rest = found_rest.get().map_or(&[][..], Vec::as_slice);
        let n = todo.first.len();
        // A file with a path in the first part is read as that path; its other
        // paths here get their rows from that read ("late" links).
        let mut first_inodes: HashMap<(u64, u64), usize> = HashMap::new();
        for (i, f) in todo.first.iter().enumerate() {
            if let Some(key) = plan::inode_key(f) {
                first_inodes.entry(key).or_insert(i);
            }
        }
        let (mut mine, mut linked) = (Vec::new(), Vec::new());
        for f in rest.iter().filter(|f| !done.contains(&f.rel)) {
            match plan::inode_key(f).and_then(|k| first_inodes.get(&k)) {
                Some(&p) => linked.push((p, f)),
                None => mine.push(f),
            }
        }
        let plan = plan::plan(&mine, physical).shifted(n);
        let mut late: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(p, f) in &linked {
            // Numbered as the entry it becomes: after every entry pushed so far.
            late.entry(p).or_default().push(n + mine.len());
            mine.push(f);
        }
        let entries = found_first.len() + rest.len();
        let (rest_entries, rest_bytes) = totals_of(rest);
        let mut events = vec![(
            "walk",
            json!({
                "entries": entries,
                "regular_files": found_first.iter().chain(rest).filter(|f| f.status == Status::Hash).count(),
                "bytes": first_totals.1 + rest_bytes,
                "seconds": walk_end.0,
                "interrupted": walk_end.1 && interrupt.load(Ordering::SeqCst),
                "cut_short": walk_end.1,
                "walked_first": {
                    "folders": priority_rels,
                    "entries": found_first.len(),
                    "seconds": first_seconds,
                },
            }),
        )];
        if cfg.resume {
            let walked: HashSet<&str> = found_first
                .iter()
                .chain(rest)
                .map(|f| f.rel.as_str())
                .collect();
            let vanished = done.iter().filter(|p| !walked.contains(p.as_str())).count();
            let to_do = todo.first.len() + mine.len();
            events.push((
                "resume-plan",
                json!({ "entries_done": entries - to_do, "entries_to_do": to_do,
                        "journal_rows_not_found_now": vanished }),
            ));
        }
        let links = |p: &HashMap<usize, Vec<usize>>| p.values().map(Vec::len).sum::<usize>();
        events.push((
            "read-plan",
            json!({
                "entries_to_read": todo.first.len() + mine.len(),
                "entries_in_user_folders": first_plan.in_profiles + plan.in_profiles,
                "physically_mapped": first_plan.physically_mapped + plan.physically_mapped,
                "readahead": if physical && first_plan.physically_mapped + plan.physically_mapped == 0 {
                    "off: no file could be placed by FIEMAP, so reads go one request at a time, in order"
                } else {
                    "on"
                },
                "hard_links_read_once": links(&todo.first_links) + links(&plan.links) + links(&late),
            }),
        ));
        placed.fetch_add(plan.physically_mapped, Ordering::Relaxed);
        let order = plan.order;
        let _ = todo.rest.set(Rest {
            entries: mine,
            links: plan.links,
            late,
        });
        queue.extend(order);
        let done_rest: Vec<u64> = rest
            .iter()
            .filter(|f| done.contains(&f.rel))
            .map(|f| if f.status == Status::Hash { f.size } else { 0 })
            .collect();
        ((rest_entries, rest_bytes), done_rest, events)
    };
    if !stream {
        let (more, done_rest, events) = publish_rest(walk_end);
        for (name, detail) in events {
            case.audit.event(name, detail)?;
        }
        progress.found_more(more.0, more.1);
        for bytes in done_rest {
            progress.file_done(bytes);
        }
    }

    let hash_start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<Msg>(4096);
    let ctx = Worker {
        matcher: &cfg.matcher,
        sha256: cfg.sha256,
        todo: &todo,
        queue: &queue,
        progress,
        bytes_read: AtomicU64::new(0),
        hits: AtomicU64::new(0),
        stop_after: cfg.stop_after,
        halt,
        atimes: &atimes,
        in_order: physical && placed.load(Ordering::Relaxed) == 0,
    };
    let mut first_hit = None;
    let written = std::thread::scope(|s| {
        let start = |name: &str| std::thread::Builder::new().name(format!("hashsweep-{name}"));
        // A thread that cannot be started (the limit on processes reached)
        // stops the scan with a message, not a panic; the journal keeps the work.
        let cannot_start = |e: std::io::Error| {
            halt.store(true, Ordering::SeqCst);
            Error::Usage(format!(
                "cannot start a thread ({e}): lower --threads, or raise the limit on processes (ulimit -u); the case folder can be finished with --resume"
            ))
        };
        let writer = start("writer")
            .spawn_scoped(s, || {
                let mut w = Writer {
                    case: &mut case,
                    hits: &mut hits,
                    hits_path: &hits_path,
                    lines: &mut lines,
                    progress,
                    set_names: &set_names,
                    todo: &todo,
                    kept: HashMap::new(),
                    started: started_at,
                    first_hit: &mut first_hit,
                };
                let r = w.run(rx);
                if r.is_err() {
                    halt.store(true, Ordering::SeqCst);
                }
                r
            })
            .map_err(cannot_start)?;
        let rest_walker = if stream {
            let tx = tx.clone();
            let (walk_rest, publish_rest, found_rest, queue) =
                (&walk_rest, &publish_rest, &found_rest, &queue);
            let walker = start("walk-rest").spawn_scoped(s, move || {
                // Readers wait for the rest of the order: should this thread
                // fail, they must not wait for ever.
                let _close = CloseOnDrop(queue);
                let (found, seconds, cut) = walk_rest(&WarningsOnly(progress));
                let failed = found.as_ref().err().map(|e| e.to_string());
                let _ = found_rest.set(found.unwrap_or_default());
                let (more, done_rest, events) = publish_rest((seconds, cut));
                if let Some(error) = failed {
                    let _ = tx.send(Msg::Event("walk-failed", json!({ "error": error })));
                }
                for (name, detail) in events {
                    let _ = tx.send(Msg::Event(name, detail));
                }
                let _ = tx.send(Msg::RestPlanned);
                progress.found_more(more.0, more.1);
                for bytes in done_rest {
                    progress.file_done(bytes);
                }
                (seconds, cut)
            });
            Some(walker.map_err(cannot_start)?)
        } else {
            None
        };
        match policy.medium {
            Medium::Ssd => {
                for i in 0..policy.readers {
                    let tx = tx.clone();
                    let ctx = &ctx;
                    start(&format!("read-{i}"))
                        .spawn_scoped(s, move || ctx.read_and_hash_all(&tx))
                        .map_err(cannot_start)?;
                }
            }
            Medium::Hdd => {
                let pool = BufferPool::new(HDD_BUFFERS, HDD_CHUNK);
                let mut feeds = Vec::new();
                for i in 0..policy.hashers {
                    let (ftx, frx) = crossbeam_channel::bounded::<Feed>(HDD_BUFFERS);
                    feeds.push(ftx);
                    let tx = tx.clone();
                    let (ctx, pool) = (&ctx, pool.clone());
                    start(&format!("hash-{i}"))
                        .spawn_scoped(s, move || ctx.hash_fed(frx, &tx, &pool))
                        .map_err(cannot_start)?;
                }
                let tx = tx.clone();
                let ctx = &ctx;
                start("read")
                    .spawn_scoped(s, move || ctx.read_sequentially(feeds, &tx, &pool))
                    .map_err(cannot_start)?;
            }
        }
        drop(tx);
        if let Some(w) = rest_walker {
            walk_end = w.join().expect("walker panicked");
        }
        let r = writer.join().expect("report writer panicked");
        if r.is_err() {
            halt.store(true, Ordering::SeqCst);
        }
        r
    });
    if let Err(e) = written {
        // Keep what the journal holds for --resume; the error says what failed.
        let _ = case.journal.flush();
        return Err(e);
    }
    let bytes_read = ctx.bytes_read.load(Ordering::Relaxed);
    let limit_reached = cfg
        .stop_after
        .is_some_and(|k| ctx.hits.load(Ordering::SeqCst) >= k);
    let hash_seconds = hash_start.elapsed().as_secs_f64();
    progress.finishing();
    case.journal
        .sync()
        .map_err(|e| Error::output(case.journal.path(), e))?;
    drop(hits);

    // No report is written from a set whose index does not match its checksum.
    let entries_walked = (found_first.len() + found_rest.get().map_or(0, Vec::len)) as u64;
    let complete_so_far = !walk_end.1 && !rows_missing(&case.rows, entries_walked);
    let mut checks = finish_checks();
    for (i, c) in checks.iter_mut().enumerate() {
        // Given up because a signal came, but every row is done: the scan is
        // complete, so its sets must be checked all the same.
        if c.result == ContentCheck::Stopped && complete_so_far {
            *c = check_set(cfg, i, &|| false);
        }
    }
    for c in &checks {
        let (result, error) = match &c.result {
            ContentCheck::NotStored => ("built in memory from its source file this run", None),
            ContentCheck::Verified => ("index checksum verified", None),
            ContentCheck::Stopped => (
                "not finished: the scan stopped first (checked again by --resume)",
                None,
            ),
            ContentCheck::Failed(e) => ("index checksum MISMATCH", Some(e.clone())),
        };
        case.audit.event(
            "hashset-check",
            json!({
                "name": c.name,
                "path": crate::pathfmt::path_text(&c.path),
                "result": result,
                "error": error,
                "bytes": c.bytes,
                "seconds": c.seconds,
            }),
        )?;
    }
    if let Some(bad) = checks
        .iter()
        .find(|c| matches!(c.result, ContentCheck::Failed(_)))
    {
        let message = format!(
            "set `{}`: the index checksum does not match its content (corrupt or altered); its matches cannot be trusted, so no report was written. Import the set again from its source and scan into a new case folder",
            bad.name
        );
        case.audit
            .event("fatal", json!({ "error": message.clone() }))?;
        case.audit.sync()?;
        // The hits it gave cannot be trusted either: none stay listed.
        write_lines(&hits_path, &lines.header(), std::iter::empty(), false)?;
        return Err(Error::HashSet {
            path: bad.path.clone(),
            line: 0,
            message,
        });
    }

    let Case {
        mut audit,
        journal,
        mut rows,
        tally,
        started,
    } = case;
    drop(journal);
    let entries_found = (found_first.len() + found_rest.get().map_or(0, Vec::len)) as u64;
    drop(todo);
    drop(found_first);
    drop(found_rest);
    let (walk_seconds, walk_cut) = walk_end;
    // Incomplete only when entries are missing (or were never walked): a signal
    // that arrives once every row is done leaves a complete scan. Stopped by
    // --stop-after when that left them, interrupted otherwise.
    let incomplete = walk_cut || rows_missing(&rows, entries_found);
    let interrupted = incomplete && (interrupt.load(Ordering::SeqCst) || !limit_reached);
    let stopped = incomplete && !interrupted;
    // A path appears once; should a journal ever repeat one, its first row stands.
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    rows.dedup_by(|b, a| a.path == b.path);

    failpoint::hit("before-report");
    let header = lines.header();
    write_lines(&dir.join(REPORT), &header, rows.iter(), true)?;
    write_lines(&hits_path, &header, rows.iter().filter(|r| r.hit), false)?;

    audit.event(
        "access-times",
        json!({
            "files_read_without_noatime": atimes.files_exposed.load(Ordering::Relaxed),
            "directories_listed_without_noatime": atimes.dirs_exposed.load(Ordering::Relaxed),
            "link_targets_not_read": atimes.link_targets_not_read.load(Ordering::Relaxed),
            "link_targets_read_updating_access_time": atimes.link_targets_read_exposed.load(Ordering::Relaxed),
            "access_times_may_have_changed": atimes.any_exposed(),
        }),
    )?;
    for (time, text) in progress.given() {
        audit.event("warning", json!({ "warning": text, "first_given": time }))?;
    }
    let warnings = progress.all();

    let v = &tally.verdicts;
    let status = if interrupted {
        ExitStatus::Interrupted
    } else if stopped || v.alert + v.conflict > 0 {
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
        } else if stopped {
            "stopped"
        } else {
            "complete"
        },
        complete: !interrupted && !stopped,
        stop_after: cfg.stop_after,
        evidence: crate::pathfmt::path_text(&cfg.evidence),
        case: cfg.case.clone(),
        exhibit: cfg.exhibit.clone(),
        examiner: cfg.examiner.clone(),
        started,
        finished: audit::now(),
        threads: cfg.threads,
        io: policy.medium.as_str(),
        sha256: cfg.sha256,
        totals: Totals {
            entries_found,
            rows: rows.len() as u64,
            files_hashed: tally.files_hashed,
            bytes_hashed: tally.bytes_hashed,
            bytes_read,
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
            first_hit_seconds: first_hit,
        },
        resumed: cfg.resume,
        exit_status: status.code(),
        warnings,
    };
    let mut summary_json = serde_json::to_vec_pretty(&summary).expect("summary serialises");
    summary_json.push(b'\n');
    audit::write_atomically(&dir.join(SUMMARY), &summary_json)?;
    audit.event(
        if interrupted {
            "interrupted"
        } else if stopped {
            "stopped"
        } else {
            "end"
        },
        json!({
            "status": summary.status,
            "stop_after": cfg.stop_after,
            "entries_found": entries_found,
            "rows": summary.totals.rows,
            "files_hashed": summary.totals.files_hashed,
            "bytes_hashed": summary.totals.bytes_hashed,
            "bytes_read": bytes_read,
            "verdicts": summary.verdicts,
            "exit_status": status.code(),
        }),
    )?;
    audit.sync()?;
    crate::case::manifest::write(dir, &[AUDIT, HITS, REPORT, SUMMARY], MANIFEST)?;
    if !interrupted && !stopped {
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
    let header = cfg.header(&started);
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

/// Reopens the case folder of an interrupted scan: reads its journal back. The
/// rows recovered are checked against the evidence by [`check_journal`] once
/// it is walked.
fn reopen_case(cfg: &ScanConfig, set_names: &[String]) -> Result<(Case, Vec<Vec<String>>)> {
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
    let journal =
        Journal::open(&jpath, recovered.intact_bytes).map_err(|e| Error::output(&jpath, e))?;
    let started = audit::header_started(&dir.join(AUDIT)).unwrap_or_else(audit::now);
    let case = Case {
        audit,
        journal,
        rows: Vec::new(),
        tally: Tally::new(set_names),
        started,
    };
    Ok((case, recovered.rows))
}

/// Journal rows rejected that get an audit event each; the rest are counted.
const REJECTIONS_LOGGED: usize = 100;

/// What [`check_journal`] kept.
struct JournalCheck {
    rows: Vec<Row>,
    tally: Tally,
    /// Rows not kept, with why, in journal order.
    rejected: Vec<(String, String)>,
    event: serde_json::Value,
}

/// What becomes of one journal row.
enum Judged {
    /// It stands.
    Keep,
    /// Kept without a check: its entry was not walked (the walk was cut short).
    Unchecked,
    /// Made again: not a regular file now (no read needed), `unreadable`
    /// (tried again), or a hit (every hit is read by the run that reports it).
    Again,
    /// Rejected, and its entry read again.
    Reject(String),
}

/// Checks journal rows against the evidence as walked now and against the sets.
/// Where a path has several rows, its last one is judged (the earlier ones
/// were superseded). A row stands only if its path is an entry found now, of
/// the same kind, size, modification and change times (the change time cannot
/// be set by hand: a row from another disk, or copied from another file, does
/// not match it), and its digests give the verdict, sets, category and note it
/// says. Hits and `unreadable` rows are read again, rows of entries that are
/// not regular files made again. What this cannot catch is a forged digest
/// that is consistent with all of that: only reading the file would.
fn check_journal(
    cfg: &ScanConfig,
    recovered: Vec<Vec<String>>,
    found: &[&Found],
    walk_cut: bool,
    lines: &mut LineWriter,
    set_names: &[String],
) -> JournalCheck {
    use crate::output::csv::safe_cell;
    let by_path: HashMap<&str, &Found> = found.iter().map(|f| (f.rel.as_str(), *f)).collect();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, c) in recovered.iter().enumerate() {
        last.insert(c[col::PATH].as_str(), i);
    }
    let superseded = recovered.len() - last.len();
    let mut scratch = Scratch::default();
    let mut tally = Tally::new(set_names);
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    let (mut again, mut unchecked) = (0u64, 0u64);
    let time = |t: Option<crate::record::FileTime>| t.map(|t| t.rfc3339()).unwrap_or_default();
    let mut judge = |c: &[String]| -> Judged {
        let Some(f) = by_path.get(c[col::PATH].as_str()) else {
            return if walk_cut {
                Judged::Unchecked
            } else {
                Judged::Reject("no such entry in the evidence now".into())
            };
        };
        if f.status != Status::Hash {
            return Judged::Again;
        }
        let Some(verdict) = Verdict::parse(&c[col::VERDICT]) else {
            return Judged::Reject("unknown verdict".into());
        };
        if verdict == Verdict::Unreadable || verdict.is_hit() {
            return Judged::Again;
        }
        if c[col::KIND] != f.kind.as_str() {
            return Judged::Reject(format!(
                "kind {} but the entry is a {}",
                c[col::KIND],
                f.kind.as_str()
            ));
        }
        if c[col::SIZE] != f.size.to_string()
            || c[col::MODIFIED] != time(f.times.modified)
            || c[col::CHANGED] != time(f.times.changed)
        {
            return Judged::Reject(
                "size, modification or change time differ from the entry's now".into(),
            );
        }
        let hex = |i: usize, len: usize| {
            crate::digest::from_hex(c[i].as_bytes()).filter(|b| b.len() == len)
        };
        let (Some(md5), Some(sha1)) = (hex(col::MD5, 16), hex(col::SHA1, 20)) else {
            return Judged::Reject("no valid MD5 and SHA-1".into());
        };
        let sha256 = hex(col::SHA256, 32);
        if sha256.is_some() != cfg.sha256 {
            return Judged::Reject("SHA-256 present or absent against the scan's setting".into());
        }
        let digests = crate::digest::Digests {
            md5: md5.try_into().expect("16 bytes"),
            sha1: sha1.try_into().expect("20 bytes"),
            sha256: sha256.map(|d| d.try_into().expect("32 bytes")),
        };
        let j = cfg.matcher.judge(&digests, f.size, &mut scratch);
        let agrees = verdict == j.verdict
            && c[col::HASHSETS] == safe_cell(&j.hashsets)
            && c[col::CATEGORY] == safe_cell(&j.category)
            && c[col::NOTE].starts_with(&*safe_cell(&j.note));
        if !agrees {
            return Judged::Reject(format!(
                "its digests give verdict {} (sets `{}`), not {} (sets `{}`)",
                j.verdict.as_str(),
                j.hashsets,
                verdict.as_str(),
                c[col::HASHSETS]
            ));
        }
        Judged::Keep
    };
    for (i, c) in recovered.iter().enumerate() {
        if last[c[col::PATH].as_str()] != i {
            continue;
        }
        match judge(c) {
            outcome @ (Judged::Keep | Judged::Unchecked) => {
                unchecked += u64::from(matches!(outcome, Judged::Unchecked));
                tally.add(c, set_names);
                rows.push(Row {
                    hit: Verdict::parse(&c[col::VERDICT]).is_some_and(Verdict::is_hit),
                    line: lines.line(c),
                    path: c[col::PATH].clone(),
                });
            }
            Judged::Again => again += 1,
            Judged::Reject(reason) => rejected.push((c[col::PATH].clone(), reason)),
        }
    }
    let event = json!({
        "journal_rows": recovered.len(),
        "superseded": superseded,
        "kept": rows.len() as u64 - unchecked,
        "kept_unchecked_walk_cut_short": unchecked,
        "made_again": again,
        "rejected": rejected.len(),
    });
    JournalCheck {
        rows,
        tally,
        rejected,
        event,
    }
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

/// The outcome of a file whose first `n` bytes were read into a head of `head`
/// bytes, when that read settled it: the error that stopped it, or the file's
/// end. `None` when the file goes on.
fn head_outcome(
    n: usize,
    head: usize,
    err: Option<std::io::Error>,
) -> Option<std::result::Result<u64, ReadEnd>> {
    match err {
        Some(error) => Some(Err(ReadEnd::Failed(ReadFailure {
            offset: n as u64,
            error,
        }))),
        None if n < head => Some(Ok(n as u64)),
        None => None,
    }
}

/// What the writer receives. Nearly every message is a row, so rows are not
/// boxed to save room for the rare others.
#[allow(clippy::large_enum_variant)]
enum Msg {
    /// The finished record of entry `usize`.
    Row(usize, Record),
    /// An audit event from another thread (the walk of the rest of the tree).
    Event(&'static str, serde_json::Value),
    /// The rest of the tree is walked and planned ([`Todo::rest`] is set).
    RestPlanned,
}

/// The entries to handle, numbered across the two parts of the walk: the user
/// folders walked first, then the rest, added once walked. With each part, the
/// other paths of its hard-linked files (see [`plan::Plan::links`]).
struct Todo<'f> {
    first: Vec<&'f Found>,
    first_links: HashMap<usize, Vec<usize>>,
    rest: OnceLock<Rest<'f>>,
}

/// The part of the tree walked after the user folders.
struct Rest<'f> {
    /// Its entries, numbered from the end of the first part's.
    entries: Vec<&'f Found>,
    /// The other paths of its hard-linked files, read with the first.
    links: HashMap<usize, Vec<usize>>,
    /// Paths here of files read as a path of the first part (by its number).
    late: HashMap<usize, Vec<usize>>,
}

impl<'f> Todo<'f> {
    /// Entry `i`; entries of the rest are handed out only once it is set.
    fn get(&self, i: usize) -> &'f Found {
        match self.first.get(i) {
            Some(f) => f,
            None => self.rest.get().expect("the rest is planned").entries[i - self.first.len()],
        }
    }

    /// The other paths of entry `i` in its own part, read with it.
    fn links(&self, i: usize) -> &[usize] {
        let links = if i < self.first.len() {
            Some(&self.first_links)
        } else {
            self.rest.get().map(|r| &r.links)
        };
        links.and_then(|l| l.get(&i)).map_or(&[][..], Vec::as_slice)
    }

    /// The paths in the rest of the tree of first-part entry `i`: `None` while
    /// the rest is not walked.
    fn late(&self, i: usize) -> Option<&[usize]> {
        let rest = self.rest.get()?;
        Some(rest.late.get(&i).map_or(&[][..], Vec::as_slice))
    }
}

/// Completes a queue's order (with nothing more) when dropped, unless already done.
struct CloseOnDrop<'q, 'a>(&'q Queue<'a>);

impl Drop for CloseOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.extend(Vec::new());
    }
}

/// Sizes of the parts of a walk: entries, and bytes of regular files.
fn totals_of(found: &[Found]) -> (u64, u64) {
    let bytes = found
        .iter()
        .filter(|f| f.status == Status::Hash)
        .map(|f| f.size)
        .sum();
    (found.len() as u64, bytes)
}

/// The single report writer: receives every record, journals it, streams hits,
/// logs unreadable and changing entries, and writes the rows of the other paths
/// of a hard-linked file from the one read of it.
struct Writer<'a, 't> {
    case: &'a mut Case,
    hits: &'a mut BufWriter<File>,
    hits_path: &'a Path,
    lines: &'a mut LineWriter,
    progress: &'a dyn Progress,
    set_names: &'a [String],
    todo: &'a Todo<'t>,
    /// Records of first-part files with more than one link, kept until the rest
    /// of the tree is walked and their other paths there known.
    kept: HashMap<usize, Record>,
    started: Instant,
    first_hit: &'a mut Option<f64>,
}

impl Writer<'_, '_> {
    fn run(&mut self, rx: crossbeam_channel::Receiver<Msg>) -> Result<()> {
        let kill_after = failpoint::rows();
        let mut n = 0;
        for msg in rx.iter() {
            let todo = self.todo;
            match msg {
                Msg::Event(name, detail) => self.case.audit.event(name, detail)?,
                Msg::RestPlanned => {
                    let mut kept: Vec<(usize, Record)> = self.kept.drain().collect();
                    kept.sort_by_key(|k| k.0);
                    for (index, record) in kept {
                        n += self.write_links(&record, todo.late(index).unwrap_or(&[]))?;
                    }
                }
                Msg::Row(index, record) => {
                    n += self.write_links(&record, todo.links(index))?;
                    if index < todo.first.len() && plan::inode_key(todo.get(index)).is_some() {
                        match todo.late(index) {
                            Some(late) => n += self.write_links(&record, late)?,
                            None => {
                                self.kept.insert(index, record.clone());
                            }
                        }
                    }
                    self.write(record)?;
                    n += 1;
                }
            }
            if kill_after.is_some_and(|k| n >= k) {
                failpoint::kill();
            }
        }
        Ok(())
    }

    /// Writes the rows of `others`, other paths of the file read as `record`.
    /// Returns how many.
    fn write_links(&mut self, record: &Record, others: &[usize]) -> Result<usize> {
        for &other in others {
            let f = self.todo.get(other);
            let mut copy = record.clone();
            copy.path = f.rel.clone();
            copy.times = f.times;
            let link = format!("hard link to {}: read once, as that path", record.path);
            copy.note = if copy.note.is_empty() {
                link
            } else {
                format!("{}; {link}", copy.note)
            };
            copy.changed = false;
            self.progress.file_done(copy.size);
            self.write(copy)?;
        }
        Ok(others.len())
    }

    fn write(&mut self, record: Record) -> Result<()> {
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
            if self.first_hit.is_none() {
                *self.first_hit = Some(self.started.elapsed().as_secs_f64());
            }
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
        Ok(())
    }
}

/// What every reading and hashing thread shares.
struct Worker<'a, 't> {
    matcher: &'a Matcher,
    sha256: bool,
    todo: &'a Todo<'t>,
    queue: &'a Queue<'a>,
    progress: &'a dyn Progress,
    /// Bytes read from evidence files, counted as they are read.
    bytes_read: AtomicU64,
    /// Alert and conflict rows produced (each path of a hard link counts).
    hits: AtomicU64,
    stop_after: Option<u64>,
    /// Set to stop the queue once `stop_after` hits are found.
    halt: &'a AtomicBool,
    /// Access times that reading may change.
    atimes: &'a AccessTimes,
    /// The sequential reader turns readahead off (see [`device::read_in_order`]):
    /// the filesystem placed no file by FIEMAP.
    in_order: bool,
}

/// Files at least this large are hashed through memory maps by the parallel
/// readers ([`crate::evidence::fs::mapped`]).
const MAP_ABOVE: u64 = device::LARGE_FILE;

/// Files the sequential reader keeps open ahead of the one it reads.
const OPEN_AHEAD: usize = 32;
/// Chunks the sequential reader hands to hashing threads.
const HDD_CHUNK: usize = 1 << 20;
/// Chunks in flight between the sequential reader and the hashers.
const HDD_BUFFERS: usize = 16;

/// Reused read buffers, bounding what the sequential reader can run ahead.
#[derive(Clone)]
struct BufferPool {
    give: crossbeam_channel::Sender<Vec<u8>>,
    take: crossbeam_channel::Receiver<Vec<u8>>,
}

impl BufferPool {
    fn new(count: usize, size: usize) -> BufferPool {
        let (give, take) = crossbeam_channel::bounded(count);
        for _ in 0..count {
            give.send(vec![0u8; size]).expect("pool has room");
        }
        BufferPool { give, take }
    }

    fn get(&self) -> Vec<u8> {
        self.take.recv().expect("the pool outlives its users")
    }

    fn put(&self, buf: Vec<u8>) {
        let _ = self.give.send(buf);
    }
}

/// What the sequential reader sends a hashing thread about one file.
enum Feed {
    /// A file opened and checked; its data follows.
    Begin {
        index: usize,
        record: Box<Record>,
        before: Box<std::fs::Metadata>,
        notes: Vec<String>,
    },
    /// The next bytes of the file (the first `len` bytes of the buffer).
    Data(Vec<u8>, usize),
    /// The file is read: its length, or why reading ended early, and its
    /// metadata after the read.
    End {
        read: Result<u64, ReadEnd>,
        after: Option<std::fs::Metadata>,
    },
}

/// The outcome of the first read of a file.
enum Step {
    /// The record is complete.
    Done(Box<Record>),
    /// Put back: a large file whose content is not a likely hit.
    Defer,
    /// The scan is stopping: the file gets no row (a resume reads it).
    Cut,
}

impl Worker<'_, '_> {
    /// Counts a finished record's hits, stopping the queue at `--stop-after`,
    /// before it goes to the writer: with one reader no further file is taken.
    fn count(&self, index: usize, r: &Record) {
        if self.stop_after.is_none() || !r.verdict.is_hit() {
            return;
        }
        let late = self.todo.late(index).map_or(0, <[usize]>::len);
        let paths = 1 + (self.todo.links(index).len() + late) as u64;
        let n = self.hits.fetch_add(paths, Ordering::SeqCst) + paths;
        if self.stop_after.is_some_and(|k| n >= k) {
            self.halt.store(true, Ordering::SeqCst);
        }
    }
}

/// A record for `entry` with what the walk knows; reading fills in the rest.
fn base_record(entry: &Found) -> Record {
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
        content: None,
        changed: false,
    };
    match &entry.status {
        Status::Skip(note) => r.note = note.clone(),
        Status::Unreadable(note) => {
            r.verdict = Verdict::Unreadable;
            r.note = note.clone();
        }
        Status::Hash => {}
    }
    r
}

impl Worker<'_, '_> {
    /// One parallel reader (solid-state policy): takes entries from the queue,
    /// reads and hashes each, sends the records to the writer.
    fn read_and_hash_all(&self, tx: &crossbeam_channel::Sender<Msg>) {
        let mut buf = vec![0u8; READ_BUFFER];
        let mut scratch = Scratch::default();
        while let Some(t) = self.queue.take() {
            let entry = self.todo.get(t.index);
            match self.read_and_hash(entry, t.deferred, &mut buf, &mut scratch) {
                Step::Defer => self.queue.defer(t),
                Step::Cut => self.queue.done(t),
                Step::Done(record) => {
                    self.queue.done(t);
                    let bytes = if entry.status == Status::Hash {
                        record.size
                    } else {
                        0
                    };
                    self.count(t.index, &record);
                    if tx.send(Msg::Row(t.index, *record)).is_err() {
                        break;
                    }
                    self.progress.file_done(bytes);
                }
            }
        }
    }

    fn read_and_hash(
        &self,
        entry: &Found,
        deferred: bool,
        buf: &mut [u8],
        scratch: &mut Scratch,
    ) -> Step {
        let mut r = base_record(entry);
        if entry.status != Status::Hash {
            return Step::Done(Box::new(r));
        }
        let Some((file, before, notes)) = self.open_checked(entry, &mut r) else {
            return Step::Done(Box::new(r));
        };
        let head = content::HEAD.min(buf.len());
        let Some((n, err)) =
            self.read_head(&file, &mut buf[..head], before.len(), deferred, &mut r)
        else {
            return Step::Defer;
        };
        // Only now: the probe of the cache reads ahead, so a file put back would
        // look cached when opened again.
        let mut hints = CacheHints::start(&file, before.len(), false);
        let mut hasher = FileHasher::new(self.sha256, before.len());
        hasher.update(&buf[..n]);
        let read = head_outcome(n, head, err).unwrap_or_else(|| {
            self.read_rest(&file, before.len(), buf, &mut hasher, n as u64, &mut hints)
        });
        if matches!(read, Err(ReadEnd::Halted(Halt::Stopped))) {
            return Step::Cut;
        }
        let total = *read.as_ref().unwrap_or(&(n as u64));
        hints.advance(&file, total, true);
        let after = file.metadata().ok();
        self.conclude(&mut r, hasher, read, &before, after, notes, scratch);
        Step::Done(Box::new(r))
    }

    /// Whether the reading of a file that has reached `total` bytes, of `size`
    /// at open, must halt: the scan is stopping, or the file does not end.
    fn halt_at(&self, total: u64, size: u64) -> Option<Halt> {
        if self.queue.stopped() {
            Some(Halt::Stopped)
        } else if total > size.saturating_add(digest::OVERRUN) {
            Some(Halt::Overran)
        } else {
            None
        }
    }

    /// Hashes `file` from `start` (where the head read left it) to its end. Large
    /// files are hashed through memory maps, which saves copying them out of the
    /// page cache; when a mapped page faults, or the file is shorter afterwards
    /// than it was mapped, that digest is dropped and the whole file read again
    /// with `read(2)`, whose outcome (a read error with its offset, or a change
    /// noticed by [`Worker::conclude`]) is the one reported.
    fn read_rest(
        &self,
        file: &File,
        size: u64,
        buf: &mut [u8],
        hasher: &mut FileHasher,
        start: u64,
        hints: &mut CacheHints,
    ) -> std::result::Result<u64, ReadEnd> {
        let last = std::cell::Cell::new(start);
        let account = |now: u64, hints: &mut CacheHints| {
            self.bytes_read
                .fetch_add(now.saturating_sub(last.get()), Ordering::Relaxed);
            last.set(now);
            hints.advance(file, now, false);
        };
        let mut from = start;
        if size >= MAP_ABOVE {
            let mapped = mapped::hash_mapped(file, start, size, hasher, |at| {
                account(at, hints);
                !self.queue.stopped()
            });
            let shrank = || file.metadata().map_or(true, |m| m.len() < size);
            match mapped {
                Mapped::Unavailable => {}
                Mapped::Stopped(_) => return Err(ReadEnd::Halted(Halt::Stopped)),
                Mapped::Done if !shrank() => from = size,
                Mapped::Done | Mapped::Fault(_) => {
                    *hasher = FileHasher::new(self.sha256, size);
                    last.set(0);
                    from = 0;
                }
            }
        }
        if from != start {
            if let Err(error) = (&mut &*file).seek(SeekFrom::Start(from)) {
                return Err(ReadEnd::Failed(ReadFailure {
                    offset: from,
                    error,
                }));
            }
        }
        // Whatever is left: the whole file when small, or when a map failed, or
        // what a file grew by after it was mapped.
        digest::hash_reader(&mut &*file, buf, hasher, from, |now| {
            account(now, hints);
            self.halt_at(now, size)
        })
    }

    /// The sequential reader (spinning-disk policy): reads files one at a time in
    /// plan order and feeds their bytes to the hashing threads, file by file.
    fn read_sequentially(
        &self,
        feeds: Vec<crossbeam_channel::Sender<Feed>>,
        tx: &crossbeam_channel::Sender<Msg>,
        pool: &BufferPool,
    ) {
        let mut turn = 0;
        let send = |feed: &crossbeam_channel::Sender<Feed>, f: Feed| feed.send(f).is_ok();
        // Files are opened a window ahead of the one being read: opening touches
        // metadata, and a batch of opens in one place saves the head a trip back
        // there between every two files.
        let mut window = VecDeque::new();
        loop {
            if self.queue.stopped() {
                for (t, _, _) in window.drain(..) {
                    self.queue.done(t);
                }
                break;
            }
            let open = |t: Take| {
                let entry = self.todo.get(t.index);
                let mut r = base_record(entry);
                let opened = if entry.status == Status::Hash {
                    self.open_checked(entry, &mut r)
                } else {
                    None
                };
                if let (true, Some((file, _, _))) = (self.in_order, &opened) {
                    device::read_in_order(file);
                }
                (t, r, opened)
            };
            // Refilled only once empty, so the opens come in batches.
            if window.is_empty() {
                while window.len() < OPEN_AHEAD {
                    let Some(t) = self.queue.take_ready() else {
                        break;
                    };
                    window.push_back(open(t));
                }
            }
            if window.is_empty() {
                // Nothing ready: wait for deferred files, or the end.
                match self.queue.take() {
                    Some(t) => window.push_back(open(t)),
                    None => break,
                }
            }
            let (t, mut r, opened) = window.pop_front().expect("window holds one");
            let entry = self.todo.get(t.index);
            let Some((file, before, notes)) = opened else {
                self.queue.done(t);
                let bytes = if entry.status == Status::Hash {
                    r.size
                } else {
                    0
                };
                if tx.send(Msg::Row(t.index, r)).is_err() {
                    break;
                }
                self.progress.file_done(bytes);
                continue;
            };
            let mut buf = pool.get();
            let head = content::HEAD.min(buf.len());
            let Some((n, err)) =
                self.read_head(&file, &mut buf[..head], before.len(), t.deferred, &mut r)
            else {
                pool.put(buf);
                self.queue.defer(t);
                continue;
            };
            let mut hints = CacheHints::start(&file, before.len(), self.in_order);
            let before_len = before.len();
            let feed = &feeds[turn % feeds.len()];
            turn += 1;
            let begin = Feed::Begin {
                index: t.index,
                record: Box::new(r),
                before: Box::new(before),
                notes,
            };
            if !send(feed, begin) || !send(feed, Feed::Data(buf, n)) {
                break;
            }
            let mut total = n as u64;
            let size = before_len;
            let read = match head_outcome(n, head, err) {
                Some(done) => done,
                None => loop {
                    let mut buf = pool.get();
                    let (k, err) = digest::fill(&mut &file, &mut buf);
                    total += k as u64;
                    self.bytes_read.fetch_add(k as u64, Ordering::Relaxed);
                    hints.advance(&file, total, false);
                    if k > 0 {
                        if !send(feed, Feed::Data(buf, k)) {
                            return;
                        }
                    } else {
                        pool.put(buf);
                    }
                    match err {
                        Some(error) => {
                            break Err(ReadEnd::Failed(ReadFailure {
                                offset: total,
                                error,
                            }))
                        }
                        None if k < HDD_CHUNK => break Ok(total),
                        None => {
                            if let Some(halt) = self.halt_at(total, size) {
                                break Err(ReadEnd::Halted(halt));
                            }
                        }
                    }
                },
            };
            hints.advance(&file, total, true);
            let after = file.metadata().ok();
            self.queue.done(t);
            if !send(feed, Feed::End { read, after }) {
                break;
            }
        }
    }

    /// One hashing thread of the spinning-disk policy.
    fn hash_fed(
        &self,
        rx: crossbeam_channel::Receiver<Feed>,
        tx: &crossbeam_channel::Sender<Msg>,
        pool: &BufferPool,
    ) {
        let mut scratch = Scratch::default();
        type Open = (
            usize,
            Box<Record>,
            Box<std::fs::Metadata>,
            Vec<String>,
            FileHasher,
        );
        let mut current: Option<Open> = None;
        for feed in rx {
            match feed {
                Feed::Begin {
                    index,
                    record,
                    before,
                    notes,
                } => {
                    let hasher = FileHasher::new(self.sha256, before.len());
                    current = Some((index, record, before, notes, hasher));
                }
                Feed::Data(buf, n) => {
                    if let Some(c) = &mut current {
                        c.4.update(&buf[..n]);
                    }
                    pool.put(buf);
                }
                Feed::End { read, after } => {
                    let Some((index, mut r, before, notes, hasher)) = current.take() else {
                        continue;
                    };
                    if matches!(read, Err(ReadEnd::Halted(Halt::Stopped))) {
                        continue;
                    }
                    self.conclude(&mut r, hasher, read, &before, after, notes, &mut scratch);
                    let bytes = r.size;
                    self.count(index, &r);
                    if tx.send(Msg::Row(index, *r)).is_err() {
                        break;
                    }
                    self.progress.file_done(bytes);
                }
            }
        }
    }

    /// Reads a file's first bytes into `head` (all of it unless the file ends or
    /// fails first) and records its content type in `r`. Returns the bytes read
    /// and the error that stopped the read, or `None` when the file is to be put
    /// back: in the first pass, a large file whose content is not a picture, a
    /// video or an archive.
    fn read_head(
        &self,
        file: &File,
        head: &mut [u8],
        size: u64,
        deferred: bool,
        r: &mut Record,
    ) -> Option<(usize, Option<std::io::Error>)> {
        let (n, err) = digest::fill(&mut &*file, head);
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        r.content = ContentType::detect(&head[..n]);
        let of_interest = r.content.is_some_and(|c| c.likely_hit());
        let put_back = !deferred
            && err.is_none()
            && n == head.len()
            && size > plan::DEFER_ABOVE
            && !of_interest;
        (!put_back).then_some((n, err))
    }

    /// Opens a file to hash and checks it is still the regular file the walk saw.
    /// On failure the record is completed and `None` returned.
    fn open_checked(
        &self,
        entry: &Found,
        r: &mut Record,
    ) -> Option<(File, std::fs::Metadata, Vec<String>)> {
        let file = match device::open_evidence_noting(&entry.path, false) {
            Ok((f, noatime)) => {
                if !noatime
                    && self
                        .atimes
                        .opened_without_noatime(entry.dev, &entry.path, false)
                {
                    self.progress
                        .warning(crate::evidence::fs::atime::NOT_PRESERVED);
                }
                f
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                r.kind = Kind::Symlink;
                r.note = "replaced by a symbolic link after the walk; not followed".into();
                r.changed = true;
                return None;
            }
            Err(e) => {
                r.verdict = Verdict::Unreadable;
                r.note = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("vanished between the walk and the read: {e}")
                } else {
                    format!("cannot open: {e}")
                };
                return None;
            }
        };
        let before = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                r.verdict = Verdict::Unreadable;
                r.note = format!("cannot stat the open file: {e}");
                return None;
            }
        };
        if !before.is_file() {
            r.kind = Kind::from_file_type(before.file_type());
            r.note = format!("became a {} after the walk; not read", r.kind.as_str());
            r.changed = true;
            return None;
        }
        let mut notes = Vec::new();
        if (before.dev(), before.ino()) != (entry.dev, entry.ino) {
            notes.push(
                "replaced after the walk (another inode); the file read is reported".to_string(),
            );
            r.times = Times::from_metadata(&before);
            r.changed = true;
        }
        Some((file, before, notes))
    }

    /// Completes the record of a file read to its end (or to a read error).
    #[allow(clippy::too_many_arguments)]
    fn conclude(
        &self,
        r: &mut Record,
        hasher: FileHasher,
        read: std::result::Result<u64, ReadEnd>,
        before: &std::fs::Metadata,
        after: Option<std::fs::Metadata>,
        mut notes: Vec<String>,
        scratch: &mut Scratch,
    ) {
        let (size, overran) = match read {
            Ok(n) => (n, false),
            Err(ReadEnd::Failed(fail)) => {
                r.verdict = Verdict::Unreadable;
                r.note = format!("read error at byte offset {}: {}", fail.offset, fail.error);
                return;
            }
            // Callers give no row to a file whose reading was stopped.
            Err(ReadEnd::Halted(Halt::Stopped)) => return,
            Err(ReadEnd::Halted(Halt::Overran)) => (before.len(), true),
        };
        if overran {
            notes.push(format!(
                "returned more bytes than its size at open ({} bytes) and was still going after {} bytes: a file that does not end, reading stopped; the digests are of the first {} bytes",
                before.len(),
                hasher.fed(),
                before.len()
            ));
            r.changed = true;
        } else if let Some(after) = after {
            // The size at open counts too: a file cut short while read can be
            // seen with its new size before its new modification time.
            let changed = after.len() != size
                || before.len() != size
                || (after.mtime(), after.mtime_nsec()) != (before.mtime(), before.mtime_nsec());
            if changed {
                notes.push(format!(
                    "changed while being read: {} bytes at open, {} bytes read, size now {}, modified {}; the digests are of the bytes read",
                    before.len(),
                    size,
                    after.len(),
                    Times::from_metadata(&after).modified.map(|t| t.rfc3339()).unwrap_or_default()
                ));
                r.changed = true;
            }
        }
        let digests = hasher.finish(overran);
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
