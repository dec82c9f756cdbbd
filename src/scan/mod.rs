//! The scan, as named stages: open the case folder; list the evidence (the
//! folders likely to hold hits first); decide how to read it; check the journal
//! of an interrupted scan; plan; read, judge and write each row as it is done;
//! then make the reports from the journal and seal the case folder.
//!
//! - [`plan`]: read order (likely hits first, hard links once);
//! - [`queue`]: what the readers take next;
//! - [`read`]: parallel readers, and the head read and verdict both policies
//!   share; [`sequential`]: one reader in physical order, hashing elsewhere;
//! - [`writer`]: the single writer of the journal, `hits.csv` and the stream;
//! - [`resume`]: the journal of an interrupted scan, checked;
//! - [`finish`]: sets' checksums, the reports, summary and manifest.
//!
//! On solid-state storage the first folders are read while the rest of the
//! evidence is listed, so a hit comes before the listing of the whole disk
//! ends. Memory stays bounded: entries are held in compact listings, rows go to
//! the journal and never stay in memory, and the reports are made from it by
//! an external sort.

pub mod finish;
pub mod members;
pub mod plan;
pub mod queue;
pub mod read;
pub mod resume;
pub mod sequential;
pub mod writer;

use crate::case::audit::{self, Audit};
use crate::case::event::{Event, WalkedFirst};
use crate::case::journal::{self, Journal, JOURNAL};
use crate::config::ScanConfig;
use crate::digest::picture::{self, DecodeBudget};
use crate::error::{Error, ExitStatus, Result};
use crate::evidence::io::{IoDecision, Medium};
use crate::evidence::{ListContext, Listing, Part, Source};
use crate::failpoint;
use crate::output::csv::Cells;
use crate::output::summary::{Summary, Tally, Timings};
use crate::output::{AUDIT, HITS};
use crate::progress::Progress;
use finish::{Ending, Measured, SetCheck};
use plan::{Plan, Rest, Todo};
use queue::Queue;
use read::Worker;
pub use read::READ_BUFFER;
use sequential::{BufferPool, Feed};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
pub use writer::Msg;

/// What a finished scan hands back to the caller.
#[derive(Debug)]
pub struct ScanOutcome {
    /// The summary, as written to summary.json.
    pub summary: Summary,
    /// The exit status.
    pub status: ExitStatus,
}

/// Runs the scan described by `cfg` over `source`, writing the case folder.
/// `interrupt` stops it early; the case folder is then written and marked
/// incomplete, and the journal kept for `--resume`. Index files of the hash
/// sets are checked against their checksums meanwhile, on a thread of their
/// own; a mismatch is a fatal error before any report is written.
pub fn scan(
    cfg: &ScanConfig,
    source: &dyn Source,
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
            .spawn_scoped(s, || finish::check_sets(cfg, &stopping))
            .ok();
        let stages = Stages {
            cfg,
            source,
            progress: &warnings,
            interrupt,
            halt: &halt,
            started: Instant::now(),
        };
        stages.run(move || match checker {
            Some(c) => c.join().expect("hash-set check panicked"),
            None => finish::check_sets(cfg, &|| false),
        })
    })
}

/// Passes progress on, keeping every warning for the audit log and summary.
struct WarningLog<'a> {
    inner: &'a dyn Progress,
    /// Warnings given by this run, each with the time it was first given.
    given: Mutex<Vec<(String, String)>>,
    /// Warnings of earlier runs of the same case (a resume).
    earlier: Mutex<Vec<String>>,
}

impl<'a> WarningLog<'a> {
    fn new(inner: &'a dyn Progress) -> WarningLog<'a> {
        WarningLog {
            inner,
            given: Mutex::new(Vec::new()),
            earlier: Mutex::new(Vec::new()),
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
    fn hit(&self, cells: &Cells) {
        self.inner.hit(cells)
    }
    fn finishing(&self) {
        self.inner.finishing()
    }
}

/// Passes on only warnings: for the listing of the rest, which runs while
/// files are read and must not redraw the listing's counts.
struct WarningsOnly<'a>(&'a WarningLog<'a>);

impl Progress for WarningsOnly<'_> {
    fn warning(&self, line: &str) {
        self.0.warning(line)
    }
}

/// Completes a queue's order (with nothing more) when dropped, unless already
/// done: readers waiting for the rest must not wait for ever.
struct CloseOnDrop<'q, 'a>(&'q Queue<'a>);

impl Drop for CloseOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.extend(Vec::new());
    }
}

/// The case folder being written.
struct Case {
    audit: Audit,
    journal: Journal,
    tally: Tally,
    /// Start of the scan (of the first run, when resuming).
    started: String,
}

/// What every stage shares.
struct Stages<'a> {
    cfg: &'a ScanConfig,
    source: &'a dyn Source,
    progress: &'a WarningLog<'a>,
    interrupt: &'a AtomicBool,
    halt: &'a AtomicBool,
    started: Instant,
}

/// Removes what a run stopped hard (SIGKILL, a power cut) can leave in the case
/// folder it was writing: case files under their temporary names, runs of the
/// report sort, a journal being compacted. Each is made again by the resumed
/// run; none holds anything the journal does not.
fn clear_leftovers(dir: &std::path::Path) -> std::io::Result<()> {
    let compact = resume::compact_path(std::path::Path::new(JOURNAL));
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.starts_with(crate::case::sort::RUN_PREFIX)
            || *name == *compact.to_string_lossy()
            || crate::output::CASE_FILES
                .iter()
                .any(|f| name.strip_suffix(crate::output::PARTIAL) == Some(f));
        if ours && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// How the rest of the evidence was listed: its listing or the error, the
/// seconds since the start, and whether it was cut short.
type RestListed = (std::io::Result<Listing>, f64, bool);

impl Stages<'_> {
    /// Opens the case folder: a new one, or the interrupted one to resume.
    fn open_case(&self) -> Result<(Case, Option<journal::Recovered>)> {
        let dir = &self.cfg.output;
        let sets = self.cfg.matcher.sets().len();
        if !self.cfg.resume {
            let started = audit::now();
            let audit = Audit::create(&dir.join(AUDIT), &self.cfg.header(&started))?;
            let jpath = dir.join(JOURNAL);
            let journal = Journal::open(&jpath, 0, 0).map_err(|e| Error::output(&jpath, e))?;
            let case = Case {
                audit,
                journal,
                tally: Tally::new(sets),
                started,
            };
            return Ok((case, None));
        }
        clear_leftovers(dir).map_err(|e| Error::output(dir, e))?;
        // Warnings of the earlier runs stay in the summary.
        self.progress
            .carry(audit::earlier_warnings(&dir.join(AUDIT)));
        let jpath = dir.join(JOURNAL);
        let recovered = journal::read(&jpath, |_| Ok(())).map_err(|e| Error::io(&jpath, e))?;
        let mut audit = Audit::append(&dir.join(AUDIT))?;
        audit.event(Event::Resume {
            args: self.cfg.argv.clone(),
            journal_rows: recovered.rows,
            journal_bytes_dropped: recovered.dropped_bytes,
        })?;
        let journal = Journal::open(&jpath, recovered.intact_bytes, recovered.rows)
            .map_err(|e| Error::output(&jpath, e))?;
        let started = audit::header_started(&dir.join(AUDIT)).unwrap_or_else(audit::now);
        let case = Case {
            audit,
            journal,
            tally: Tally::new(sets),
            started,
        };
        Ok((case, Some(recovered)))
    }

    /// Lists the rest of the evidence.
    fn list_rest(&self, counted: (u64, u64), progress: &dyn Progress) -> RestListed {
        let ctx = ListContext {
            progress,
            stops: &[self.interrupt, self.halt],
            counted,
        };
        let listed = self.source.list(Part::Rest, &ctx);
        let seconds = self.started.elapsed().as_secs_f64();
        let cut = self.interrupt.load(Ordering::SeqCst) || self.halt.load(Ordering::SeqCst);
        (listed, seconds, cut)
    }

    fn run(&self, finish_checks: impl FnOnce() -> Vec<SetCheck>) -> Result<ScanOutcome> {
        let cfg = self.cfg;
        let source = self.source;
        let progress = self.progress;
        let dir = &cfg.output;
        let set_names: Vec<String> = cfg
            .matcher
            .sets()
            .iter()
            .map(|s| s.info().name.clone())
            .collect();
        let (mut case, _recovered) = self.open_case()?;
        for w in source.warnings() {
            progress.warning(&w);
        }
        case.audit.event(Event::Decision {
            threads: cfg.threads,
            io_threads: cfg.io_threads,
            read_buffer_bytes: READ_BUFFER,
            sha256: cfg.sha256,
            sha256_reason: cfg.sha256_reason,
            cross_filesystems: cfg.cross_filesystems,
            outputs: cfg.outputs(),
        })?;

        // The folders likely to hold hits are listed first; on solid-state
        // storage they are read while the rest is listed.
        let first_folders = source.first_folders();
        let ctx = ListContext {
            progress,
            stops: &[self.interrupt],
            counted: (0, 0),
        };
        let mut first = if first_folders.is_empty() {
            Listing::new()
        } else {
            source.list(Part::First, &ctx).map_err(|e| {
                Error::Usage(format!(
                    "evidence {}: {e}",
                    crate::pathfmt::path_text(&cfg.evidence)
                ))
            })?
        };
        let first_seconds = self.started.elapsed().as_secs_f64();
        let early = (!first_folders.is_empty())
            .then(|| source.io_decision(&[&first], true, cfg.io, cfg.threads, cfg.io_threads))
            .flatten();
        // A resume checks the journal against the whole listing before reading.
        let stream = !cfg.resume && early.as_ref().is_some_and(|p| p.medium == Medium::Ssd);
        let first_totals = first.totals();
        let mut rest_now: Option<Listing> = None;
        let mut walk_end = (first_seconds, false);
        let walk_failed: Mutex<Option<String>> = Mutex::new(None);
        if !stream {
            let (listed, seconds, cut) = self.list_rest(first_totals, progress);
            rest_now = Some(listed.unwrap_or_else(|e| {
                *walk_failed.lock().expect("walk") = Some(e.to_string());
                Listing::new()
            }));
            walk_end = (seconds, cut);
        }
        let policy: IoDecision = match early {
            Some(p) => p,
            None => {
                let all: Vec<&Listing> = std::iter::once(&first).chain(rest_now.as_ref()).collect();
                source
                    .io_decision(&all, false, cfg.io, cfg.threads, cfg.io_threads)
                    .expect("a decision on the whole evidence")
            }
        };
        progress.decision(&policy.describe());
        let physical = policy.medium == Medium::Hdd;

        // A resume: the journal checked against the whole listing.
        let mut done = Vec::new();
        if cfg.resume {
            // A listing cut short (stopped, or a walk that failed) cannot tell
            // a journal row of a file that is gone from one not listed yet.
            let listed_all = !walk_end.1
                && !self.interrupt.load(Ordering::SeqCst)
                && walk_failed.lock().expect("walk").is_none();
            let probe = Todo {
                first: std::mem::take(&mut first),
                first_links: HashMap::new(),
                rest: OnceLock::new(),
            };
            let _ = probe.rest.set(Rest {
                listing: rest_now.take().unwrap_or_default(),
                links: HashMap::new(),
                late: HashMap::new(),
            });
            let jpath = dir.join(JOURNAL);
            let checked = resume::check_journal(cfg, source, &probe, listed_all, &jpath)
                .map_err(|e| Error::output(&jpath, e))?;
            case.audit.event(checked.event)?;
            for (path, reason) in checked.rejected {
                case.audit
                    .event(Event::JournalRowRejected { path, reason })?;
            }
            case.journal = checked.journal;
            case.tally = checked.tally;
            done = checked.done;
            let Todo { first: f, rest, .. } = probe;
            first = f;
            rest_now = rest.into_inner().map(|r| r.listing);
        }
        let is_done = |id: u32| done.get(id as usize).copied().unwrap_or(false);
        let mut hits = writer::LiveHits::create(&dir.join(HITS))?;

        let (first_plan, _) = plan::plan(&mut first, 0, &is_done, &|_| None, physical, source);
        let placed = AtomicUsize::new(first_plan.physically_mapped);
        // A file with a path in the first part is read as that path; its other
        // paths in the rest get their rows from that read ("late" links).
        let mut first_files: HashMap<(u64, u64), u32> = HashMap::new();
        // Only paths still to be read: a path whose row was kept by a resume
        // is not read again, so no late row could come from it.
        for i in 0..first.len() {
            if is_done(i as u32) {
                continue;
            }
            if let Some((_, ino)) = first.item(i).link_key() {
                first_files
                    .entry((first.dev(first.item(i)), ino))
                    .or_insert(i as u32);
            }
        }
        let Plan {
            order: first_order,
            links: first_links,
            in_profiles: first_in_profiles,
            physically_mapped: first_mapped,
        } = first_plan;
        let done_first: Vec<u64> = (0..first.len())
            .filter(|&i| is_done(i as u32))
            .map(|i| {
                if first.item(i).read {
                    first.item(i).size
                } else {
                    0
                }
            })
            .collect();
        let todo = Todo {
            first,
            first_links,
            rest: OnceLock::new(),
        };
        case.audit.event(Event::IoPolicy {
            policy: policy.clone(),
            read_order: "user folders and picture/video/archive names first; large files whose content is not a picture, video or archive last",
            walked_first: first_folders.clone(),
            read_while_walking: stream,
            stop_after: cfg.stop_after,
        })?;
        let queue = Queue::new(first_order, [self.interrupt, self.halt]);
        progress.hashing(first_totals.0, first_totals.1);
        for bytes in done_first {
            progress.file_done(bytes);
        }
        // Once the rest is listed: plan it, hand it to the readers, and say so.
        let publish_rest = |mut rest: Listing, walk_end: (f64, bool)| -> Vec<Event> {
            let n = todo.first.len() as u32;
            let (mut plan, late_pairs) = plan::plan(
                &mut rest,
                n,
                &is_done,
                &|key| first_files.get(&key).copied(),
                physical,
                source,
            );
            placed.fetch_add(plan.physically_mapped, Ordering::Relaxed);
            let mut late: HashMap<u32, Vec<u32>> = HashMap::new();
            for (read_as, id) in late_pairs {
                late.entry(read_as).or_default().push(id);
            }
            let (rest_entries, rest_bytes) = rest.totals();
            let entries = u64::from(n) + rest_entries;
            let regular = todo
                .first
                .items()
                .iter()
                .chain(rest.items())
                .filter(|i| i.read)
                .count() as u64;
            let mut events = vec![Event::Walk {
                entries,
                regular_files: regular,
                bytes: first_totals.1 + rest_bytes,
                seconds: walk_end.0,
                interrupted: walk_end.1 && self.interrupt.load(Ordering::SeqCst),
                cut_short: walk_end.1,
                walked_first: WalkedFirst {
                    folders: first_folders.clone(),
                    entries: n.into(),
                    seconds: first_seconds,
                },
            }];
            let done_count = done.iter().filter(|d| **d).count() as u64;
            if cfg.resume {
                events.push(Event::ResumePlan {
                    entries_done: done_count,
                    entries_to_do: entries - done_count,
                });
            }
            let links = |p: &HashMap<u32, Vec<u32>>| p.values().map(Vec::len).sum::<usize>();
            let mapped = first_mapped + plan.physically_mapped;
            events.push(Event::ReadPlan {
                entries_to_read: entries - done_count,
                entries_in_user_folders: (first_in_profiles + plan.in_profiles) as u64,
                physically_mapped: mapped as u64,
                hard_links_read_once: (links(&todo.first_links) + links(&plan.links) + links(&late))
                    as u64,
                readahead: if physical && mapped == 0 {
                    "off: no file could be placed by FIEMAP, so reads go one request at a time, in order"
                } else {
                    "on"
                },
            });
            let order = std::mem::take(&mut plan.order);
            let done_rest: Vec<u64> = (0..rest.len())
                .filter(|&i| is_done(n + i as u32))
                .map(|i| {
                    if rest.item(i).read {
                        rest.item(i).size
                    } else {
                        0
                    }
                })
                .collect();
            let _ = todo.rest.set(Rest {
                listing: rest,
                links: plan.links,
                late,
            });
            queue.extend(order);
            progress.found_more(rest_entries, rest_bytes);
            for bytes in done_rest {
                progress.file_done(bytes);
            }
            events
        };
        if let Some(rest) = rest_now.take() {
            if let Some(error) = walk_failed.lock().expect("walk").clone() {
                case.audit.event(Event::WalkFailed { error })?;
            }
            for e in publish_rest(rest, walk_end) {
                case.audit.event(e)?;
            }
        }

        let hash_start = Instant::now();
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(4096);
        let budget = DecodeBudget::new(picture::DECODE_MEMORY);
        let buffers = std::sync::Arc::new(DecodeBudget::new(picture::BUFFER_MEMORY));
        let archive_buffers = std::sync::Arc::new(DecodeBudget::new(crate::digest::ARCHIVE_MEMORY));
        let worker = Worker {
            source,
            matcher: &cfg.matcher,
            sha256: cfg.sha256,
            pictures: cfg.pdq.then_some((&budget, &buffers)),
            archives: cfg.archives.as_ref().map(|l| (l, &archive_buffers)),
            member_threads: cfg.threads,
            todo: &todo,
            queue: &queue,
            progress,
            bytes_read: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            stop_after: cfg.stop_after,
            halt: self.halt,
            in_order: physical && placed.load(Ordering::Relaxed) == 0,
        };
        let mut first_hit = None;
        let written = std::thread::scope(|s| {
            let start = |name: &str| std::thread::Builder::new().name(format!("hashsweep-{name}"));
            // A thread that cannot be started (the limit on processes reached)
            // stops the scan with a message, not a panic; the journal keeps the work.
            let cannot_start = |e: std::io::Error| {
                self.halt.store(true, Ordering::SeqCst);
                Error::Usage(format!(
                    "cannot start a thread ({e}): lower --threads, or raise the limit on processes (ulimit -u); the case folder can be finished with --resume"
                ))
            };
            let (audit, journal, tally) = (&mut case.audit, &mut case.journal, &mut case.tally);
            let stream_out = match cfg.stream {
                true => Some(writer::StreamOut::start().map_err(cannot_start)?),
                false => None,
            };
            let writer = start("writer")
                .spawn_scoped(s, || {
                    let mut w = writer::Writer {
                        audit,
                        journal,
                        tally,
                        hits: &mut hits,
                        stream: stream_out,
                        interrupt: self.interrupt,
                        set_names: &set_names,
                        todo: &todo,
                        progress,
                        kept: HashMap::new(),
                        started: self.started,
                        first_hit: &mut first_hit,
                    };
                    let r = w.run(rx);
                    if r.is_err() {
                        self.halt.store(true, Ordering::SeqCst);
                    }
                    r
                })
                .map_err(cannot_start)?;
            let rest_lister = if stream {
                let tx = tx.clone();
                let (publish_rest, queue, walk_failed) = (&publish_rest, &queue, &walk_failed);
                let lister = start("walk-rest").spawn_scoped(s, move || {
                    let _close = CloseOnDrop(queue);
                    let (listed, seconds, cut) =
                        self.list_rest(first_totals, &WarningsOnly(progress));
                    let rest = listed.unwrap_or_else(|e| {
                        *walk_failed.lock().expect("walk") = Some(e.to_string());
                        let _ = tx.send(Msg::Event(Event::WalkFailed {
                            error: e.to_string(),
                        }));
                        Listing::new()
                    });
                    for e in publish_rest(rest, (seconds, cut)) {
                        let _ = tx.send(Msg::Event(e));
                    }
                    let _ = tx.send(Msg::RestPlanned);
                    (seconds, cut)
                });
                Some(lister.map_err(cannot_start)?)
            } else {
                None
            };
            match policy.medium {
                Medium::Ssd => {
                    for i in 0..policy.readers {
                        let tx = tx.clone();
                        let worker = &worker;
                        start(&format!("read-{i}"))
                            .spawn_scoped(s, move || worker.read_and_hash_all(&tx))
                            .map_err(cannot_start)?;
                    }
                }
                Medium::Hdd => {
                    let pool = BufferPool::new(sequential::BUFFERS, sequential::CHUNK);
                    let mut feeds = Vec::new();
                    for i in 0..policy.hashers {
                        let (ftx, frx) = crossbeam_channel::bounded::<Feed>(sequential::BUFFERS);
                        feeds.push(ftx);
                        let tx = tx.clone();
                        let (worker, pool) = (&worker, pool.clone());
                        start(&format!("hash-{i}"))
                            .spawn_scoped(s, move || worker.hash_fed(frx, &tx, &pool))
                            .map_err(cannot_start)?;
                    }
                    let tx = tx.clone();
                    let worker = &worker;
                    start("read")
                        .spawn_scoped(s, move || worker.read_sequentially(feeds, &tx, &pool))
                        .map_err(cannot_start)?;
                }
            }
            drop(tx);
            if let Some(l) = rest_lister {
                walk_end = l.join().expect("lister panicked");
            }
            let r = writer.join().expect("report writer panicked");
            if r.is_err() {
                self.halt.store(true, Ordering::SeqCst);
            }
            r
        });
        if let Err(e) = written {
            // Keep what the journal holds for --resume; the error says what failed.
            let _ = case.journal.flush();
            return Err(e);
        }
        let bytes_read = worker.bytes_read.load(Ordering::Relaxed);
        let limit_reached = cfg
            .stop_after
            .is_some_and(|k| worker.hits.load(Ordering::SeqCst) >= k);
        let hash_seconds = hash_start.elapsed().as_secs_f64();
        progress.finishing();
        case.journal
            .sync()
            .map_err(|e| Error::output(case.journal.path(), e))?;
        drop(hits);

        let entries_found = todo.len() as u64;
        let rows_missing = case
            .journal
            .rows()
            .saturating_sub(case.tally.archives.members)
            < entries_found;
        let (walk_seconds, walk_cut) = walk_end;
        // Incomplete only when entries are missing (or were never listed): a
        // signal that arrives once every row is done leaves a complete scan.
        let missing = walk_cut || rows_missing;
        let ending = if missing && (self.interrupt.load(Ordering::SeqCst) || !limit_reached) {
            Ending::Interrupted
        } else if missing {
            Ending::Stopped
        } else if walk_failed.lock().expect("walk").is_some() || case.tally.unlisted_dirs > 0 {
            Ending::Incomplete
        } else {
            Ending::Complete
        };
        // No report is written from a set whose index does not match its checksum.
        finish::settle_checks(
            cfg,
            finish_checks(),
            ending == Ending::Complete,
            &mut case.audit,
            dir,
        )?;
        failpoint::hit("before-report");
        let Case {
            mut audit,
            journal,
            tally,
            started,
        } = case;
        drop(journal);
        drop(todo);
        let (rows, media) = finish::write_reports(cfg, &set_names)?;
        if let Some(report) = source.access_times() {
            audit.event(Event::AccessTimes(report))?;
        }
        for (first_given, warning) in progress.given() {
            audit.event(Event::Warning {
                warning,
                first_given,
            })?;
        }
        let measured = Measured {
            ending,
            entries_found,
            rows,
            bytes_read,
            started,
            io: policy.medium.as_str(),
            timings: Timings {
                walk_seconds,
                hash_seconds,
                total_seconds: self.started.elapsed().as_secs_f64(),
                first_hit_seconds: first_hit,
            },
            warnings: progress.all(),
            media,
        };
        let status = ending.exit(&tally);
        let summary = finish::seal(cfg, &tally, measured, audit)?;
        Ok(ScanOutcome { summary, status })
    }
}
