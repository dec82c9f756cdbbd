//! The single writer: every finished row comes here over a bounded channel,
//! from whichever thread made it. It is appended to the journal (what the
//! reports are made from at the end), counted, and, when it is a hit, written
//! to `hits.csv` at once (flushed) and shown; with `--stream` every row also
//! goes to stdout as a JSON line, through a thread of its own ([`StreamOut`]).
//! Unreadable and changing files are logged in the audit log. The other paths
//! of a hard-linked file get their rows here, from the one read of it. No row
//! is kept in memory.

use super::plan::Todo;
use crate::case::audit::Audit;
use crate::case::event::Event;
use crate::case::journal::Journal;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::output::csv::{cells, LineWriter};
use crate::output::jsonl;
use crate::output::summary::Tally;
use crate::progress::Progress;
use crate::record::{Note, Record, Verdict};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the writer receives. Nearly every message is a row, so rows are not
/// boxed to save room for the rare others.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    /// The finished record of entry `u32`.
    Row(u32, Record),
    /// An audit event from another thread (the listing of the rest).
    Event(Event),
    /// The rest of the evidence is listed and planned.
    RestPlanned,
}

/// `hits.csv` while the scan runs: each hit appended and flushed as found.
pub struct LiveHits {
    w: BufWriter<File>,
    path: std::path::PathBuf,
    lines: LineWriter,
}

impl LiveHits {
    /// Starts `hits.csv` at `path` with its header.
    pub fn create(path: &Path) -> Result<LiveHits> {
        let run = || -> std::io::Result<LiveHits> {
            let mut lines = LineWriter::default();
            let mut w = BufWriter::new(File::create(path)?);
            w.write_all(&lines.header())?;
            w.flush()?;
            Ok(LiveHits {
                w,
                path: path.to_path_buf(),
                lines,
            })
        };
        run().map_err(|e| Error::output(path, e))
    }

    fn write(&mut self, c: &crate::output::csv::Cells) -> Result<()> {
        let line = self.lines.line(c);
        let run = |w: &mut BufWriter<File>| -> std::io::Result<()> {
            w.write_all(&line)?;
            w.flush()
        };
        run(&mut self.w).map_err(|e| Error::output(&self.path, e))
    }
}

/// The single report writer and what it writes to.
pub struct Writer<'a> {
    /// The audit log.
    pub audit: &'a mut Audit,
    /// The journal.
    pub journal: &'a mut Journal,
    /// Counts per verdict, set and category.
    pub tally: &'a mut Tally,
    /// `hits.csv`, as found.
    pub hits: &'a mut LiveHits,
    /// `--stream`: rows as JSON lines on stdout.
    pub stream: Option<StreamOut>,
    /// Set by a signal: the stream is then given up, not waited for.
    pub interrupt: &'a AtomicBool,
    /// The sets' names, for rendering.
    pub set_names: &'a [String],
    /// The entries (for the other paths of hard-linked files).
    pub todo: &'a Todo,
    /// For the user.
    pub progress: &'a dyn Progress,
    /// Records of first-part files with more than one link, kept until the rest
    /// is listed and their other paths there known.
    pub kept: HashMap<u32, Record>,
    /// The scan's start.
    pub started: Instant,
    /// Seconds from the start to the first hit of this run.
    pub first_hit: &'a mut Option<f64>,
}

impl Writer<'_> {
    /// Receives rows until every sender is gone.
    pub fn run(&mut self, rx: crossbeam_channel::Receiver<Msg>) -> Result<()> {
        let kill_after = failpoint::rows();
        let mut n = 0;
        for msg in rx.iter() {
            let todo = self.todo;
            match msg {
                Msg::Event(e) => self.audit.event(e)?,
                Msg::RestPlanned => {
                    let mut kept: Vec<(u32, Record)> = self.kept.drain().collect();
                    kept.sort_by_key(|k| k.0);
                    for (id, record) in kept {
                        n += self.write_links(&record, todo.late(id).unwrap_or(&[]))?;
                    }
                }
                Msg::Row(id, record) => {
                    n += self.write_links(&record, todo.links(id))?;
                    let (listing, i) = todo.get(id);
                    let first_part = (id as usize) < todo.first.len();
                    if first_part && listing.item(i).link_key().is_some() {
                        match todo.late(id) {
                            Some(late) => n += self.write_links(&record, late)?,
                            None => {
                                self.kept.insert(id, record.clone());
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
        if let Some(stream) = self.stream.take() {
            let interrupt = self.interrupt;
            if let Some(e) = stream.finish(&|| interrupt.load(Ordering::Relaxed)) {
                self.progress.warning(&format!(
                    "--stream: writing to standard output failed ({e}); the rows after that were not streamed (the case folder has every row)"
                ));
            }
        }
        Ok(())
    }

    /// Writes the rows of `others`, other paths of the file read as `record`.
    /// Returns how many.
    fn write_links(&mut self, record: &Record, others: &[u32]) -> Result<usize> {
        for &other in others {
            let (listing, i) = self.todo.get(other);
            let mut copy = record.clone();
            copy.path = listing.path(i);
            copy.notes.push(Note::HardLink {
                to: record.path.clone(),
            });
            copy.changed = false;
            // The members again, under this path.
            for m in &mut copy.members {
                m.path = format!("{}{}", copy.path, &m.path[record.path.len()..]);
            }
            self.progress.file_done(copy.size);
            self.write(copy)?;
        }
        Ok(others.len())
    }

    /// Writes a row, after the rows of its archive members (so that a journal
    /// holding an archive's row holds its members' too).
    fn write(&mut self, mut record: Record) -> Result<()> {
        for m in std::mem::take(&mut record.members) {
            self.write_one(m)?;
        }
        self.write_one(record)
    }

    fn write_one(&mut self, record: Record) -> Result<()> {
        let jpath = self.journal.path().to_path_buf();
        self.journal
            .append(&record)
            .map_err(|e| Error::output(&jpath, e))?;
        self.tally.add(&record);
        let hit = record.verdict.is_hit();
        if hit || self.stream.is_some() {
            let c = cells(&record, self.set_names);
            if hit {
                self.hits.write(&c)?;
                if self.first_hit.is_none() {
                    *self.first_hit = Some(self.started.elapsed().as_secs_f64());
                }
                self.progress.hit(&c);
            }
            if let Some(stream) = &mut self.stream {
                let interrupt = self.interrupt;
                stream.send(jsonl::line(&c), &|| interrupt.load(Ordering::Relaxed));
            }
        }
        if record.verdict == Verdict::Unreadable {
            self.audit.event(Event::Unreadable {
                path: record.path.clone(),
                kind: record.kind.as_str(),
                note: record.note_text(),
            })?;
        }
        for n in &record.notes {
            let limit = match n {
                Note::ArchiveStopped { limit, .. } | Note::MemberCut { limit, .. } => Some(*limit),
                Note::NotExpanded { reason }
                    if reason.contains(crate::archive::Limit::Depth.marker()) =>
                {
                    Some(crate::archive::Limit::Depth)
                }
                Note::NotExpanded { reason }
                    if reason.contains(crate::archive::Limit::Memory.marker()) =>
                {
                    Some(crate::archive::Limit::Memory)
                }
                _ => None,
            };
            if let Some(limit) = limit {
                self.audit.event(Event::ArchiveLimit {
                    path: record.path.clone(),
                    limit: limit.as_str(),
                    note: record.note_text(),
                })?;
            }
        }
        if record.changed {
            self.audit.event(Event::Changed {
                path: record.path.clone(),
                note: record.note_text(),
            })?;
        }
        Ok(())
    }
}

/// `--stream`: rows as JSON lines on stdout, written by a thread of their own.
/// A reader that falls behind holds the scan back (every row is delivered),
/// but never past a stop: once `stopping` says so, rows are no longer waited
/// for, so Ctrl-C and SIGTERM act at once even with a reader that has stopped
/// reading. A reader that went away (a closed pipe) costs nothing; another
/// write error is returned by [`StreamOut::finish`], to be warned about.
pub struct StreamOut {
    tx: Option<crossbeam_channel::Sender<Vec<u8>>>,
    thread: Option<JoinHandle<Option<std::io::Error>>>,
}

/// Rows queued for the stream's thread.
const STREAM_QUEUE: usize = 4096;

impl StreamOut {
    /// Starts the stream's thread.
    pub fn start() -> std::io::Result<StreamOut> {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(STREAM_QUEUE);
        let thread = std::thread::Builder::new()
            .name("hashsweep-stream".into())
            .spawn(move || {
                let mut failed: Option<std::io::Error> = None;
                let mut out = std::io::stdout();
                for line in rx.iter() {
                    if failed.is_none() {
                        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
                            failed = Some(e);
                        }
                    }
                }
                failed
            })?;
        Ok(StreamOut {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues one line; waits while the queue is full, unless `stopping`:
    /// then the stream is given up (no later row waits either).
    pub fn send(&mut self, mut line: Vec<u8>, stopping: &dyn Fn() -> bool) {
        let Some(tx) = &self.tx else { return };
        loop {
            match tx.send_timeout(line, Duration::from_millis(50)) {
                Ok(()) => return,
                Err(crossbeam_channel::SendTimeoutError::Timeout(l)) if !stopping() => line = l,
                Err(_) => {
                    self.tx = None;
                    return;
                }
            }
        }
    }

    /// Ends the stream: waits until every queued row is written, unless
    /// `stopping`; the write error, if there was one other than a closed pipe.
    pub fn finish(mut self, stopping: &dyn Fn() -> bool) -> Option<std::io::Error> {
        drop(self.tx.take());
        let thread = self.thread.take()?;
        while !thread.is_finished() {
            if stopping() {
                // Left blocked on a reader that reads no more; the process
                // ends without it.
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        thread
            .join()
            .ok()
            .flatten()
            .filter(|e| e.kind() != std::io::ErrorKind::BrokenPipe)
    }
}
