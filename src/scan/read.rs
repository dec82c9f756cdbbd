//! Reading and judging files. On solid-state storage each of many parallel
//! readers takes an entry from the queue, reads and hashes it whole with a
//! reused buffer (large files through memory maps where the source allows) and
//! sends its row to the writer. The spinning-disk policy reads with one reader
//! and hashes elsewhere (`super::sequential`); both share what is here: the
//! head read that tells a file's content type, what to do with a file that
//! fails, grows, shrinks or never ends, and the verdict.

use super::plan::{Todo, DEFER_ABOVE};
use super::queue::{Queue, Take};
use super::Msg;
use crate::digest::content::{self, ContentType};
use crate::digest::pdq::PdqResult;
use crate::digest::picture::{self, DecodeBudget, NoHash};
use crate::digest::{self, FileHasher, Halt, Picture, ReadEnd, ReadFailure, Update};
use crate::evidence::{After, EvidenceFile, Listing, Mapped, Opened, Source};
use crate::matcher::{Matcher, Scratch};
use crate::progress::Progress;
use crate::record::{Content, Kind, Note, Record, Verdict};
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Read buffer per reader. Large enough to amortise system calls, small enough
/// that MD5 and SHA-1 both find it in the CPU cache.
pub const READ_BUFFER: usize = 256 * 1024;

/// Files at least this large are hashed through memory maps by the parallel
/// readers, where the source allows it.
pub const MAP_ABOVE: u64 = crate::evidence::fs::open::LARGE_FILE;

/// What every reading and hashing thread shares.
pub struct Worker<'a> {
    /// Where the bytes come from.
    pub source: &'a dyn Source,
    /// The sets.
    pub matcher: &'a Matcher,
    /// Whether SHA-256 is computed.
    pub sha256: bool,
    /// Pictures' PDQ hashes are computed, their decodes sharing the first
    /// budget and their kept bytes the second (`None` with `--no-pdq`).
    pub pictures: Option<(&'a DecodeBudget, &'a std::sync::Arc<DecodeBudget>)>,
    /// Archives' members are read within these limits, their bytes kept from
    /// the read taking memory from this budget (`None` with `--no-archives`).
    pub archives: Option<(&'a crate::archive::Limits, &'a std::sync::Arc<DecodeBudget>)>,
    /// Threads that read the members of one large zip together (the
    /// reader that read it and others started for it; 1: it alone).
    pub member_threads: usize,
    /// The entries.
    pub todo: &'a Todo,
    /// What to read next.
    pub queue: &'a Queue<'a>,
    /// Counts for the user.
    pub progress: &'a dyn Progress,
    /// Bytes read from evidence files, counted as they are read.
    pub bytes_read: AtomicU64,
    /// Alert and conflict rows produced (each path of a hard link counts).
    pub hits: AtomicU64,
    /// `--stop-after`.
    pub stop_after: Option<u64>,
    /// Set to stop the queue once `stop_after` hits are found.
    pub halt: &'a AtomicBool,
    /// The sequential reader asks for reads one at a time, in order.
    pub in_order: bool,
}

/// The outcome of the first read of a file.
pub enum Step {
    /// The record is complete.
    Done(Box<Record>),
    /// Put back: a large file whose content is not a likely hit.
    Defer,
    /// The scan is stopping: the file gets no row (a resume reads it).
    Cut,
}

/// The row of entry `i` as far as the listing tells it: complete for an entry
/// that is not read; the start of one that is.
pub fn listed_record(listing: &Listing, i: usize) -> Record {
    let item = listing.item(i);
    let mut r = Record::new(listing.path(i), item.kind);
    r.size = item.size;
    if let Some(l) = listing.listed(i) {
        r.verdict = l.verdict;
        r.times = l.times;
        r.notes.push(l.note.clone());
    }
    r
}

/// The outcome of a file whose first `n` bytes were read into a head of `head`
/// bytes, when that read settled it: the error that stopped it, or the file's
/// end. `None` when the file goes on.
pub fn head_outcome(
    n: usize,
    head: usize,
    err: Option<std::io::Error>,
) -> Option<Result<u64, ReadEnd>> {
    match err {
        Some(error) => Some(Err(ReadEnd::Failed(ReadFailure {
            offset: n as u64,
            error,
        }))),
        None if n < head => Some(Ok(n as u64)),
        None => None,
    }
}

impl Worker<'_> {
    /// Counts a finished record's hits, stopping the queue at `--stop-after`,
    /// before it goes to the writer: with one reader no further file is taken.
    pub fn count(&self, id: u32, r: &Record) {
        let found = r.verdict.is_hit() as u64
            + r.members.iter().filter(|m| m.verdict.is_hit()).count() as u64;
        if self.stop_after.is_none() || found == 0 {
            return;
        }
        let late = self.todo.late(id).map_or(0, <[u32]>::len);
        let paths = found * (1 + (self.todo.links(id).len() + late) as u64);
        let n = self.hits.fetch_add(paths, Ordering::SeqCst) + paths;
        if self.stop_after.is_some_and(|k| n >= k) {
            self.halt.store(true, Ordering::SeqCst);
        }
    }

    /// One parallel reader: takes entries from the queue, reads and hashes
    /// each, sends the records to the writer.
    pub fn read_and_hash_all(&self, tx: &crossbeam_channel::Sender<Msg>) {
        let mut buf = vec![0u8; READ_BUFFER];
        let mut scratch = Scratch::default();
        while let Some(t) = self.queue.take() {
            match self.read_and_hash(t, &mut buf, &mut scratch) {
                Step::Defer => self.queue.defer(t),
                Step::Cut => self.queue.done(t),
                Step::Done(record) => {
                    self.queue.done(t);
                    let bytes = if record.digests.is_some() {
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

    /// Opens entry `t`: `Err` with its finished row when it is not read (not a
    /// file, or it cannot be opened now).
    pub fn open(&self, t: Take) -> Result<(Record, Box<dyn EvidenceFile>), Box<Record>> {
        let (listing, i) = self.todo.get(t.index);
        let mut r = listed_record(listing, i);
        if !listing.item(i).read {
            return Err(Box::new(r));
        }
        match self.source.open(listing, i, self.in_order, self.progress) {
            Opened::File(f) => {
                r.times = f.times();
                if f.replaced() {
                    r.notes.push(Note::Replaced);
                    r.changed = true;
                }
                Ok((r, f))
            }
            Opened::Failed {
                verdict,
                kind,
                note,
                changed,
            } => {
                r.verdict = verdict;
                r.kind = kind;
                r.notes.push(note);
                r.changed = changed;
                r.times = self.source.times(listing, i);
                Err(Box::new(r))
            }
        }
    }

    fn read_and_hash(&self, t: Take, buf: &mut [u8], scratch: &mut Scratch) -> Step {
        let (mut r, mut file) = match self.open(t) {
            Ok(opened) => opened,
            Err(done) => return Step::Done(done),
        };
        let size = file.size();
        let head = content::HEAD.min(buf.len());
        let Some((n, err)) = self.read_head(&mut *file, &mut buf[..head], size, t.deferred, &mut r)
        else {
            return Step::Defer;
        };
        // Only now: the probe of the cache reads ahead, so a file put back would
        // look cached when opened again.
        file.start_hints();
        let mut hasher = self.hasher(size);
        hasher.update(&buf[..n]);
        let read = head_outcome(n, head, err)
            .unwrap_or_else(|| self.read_rest(&mut *file, size, buf, &mut hasher, n as u64));
        if matches!(read, Err(ReadEnd::Halted(Halt::Stopped))) {
            return Step::Cut;
        }
        // A picture not yet decoded when the scan stops gets no row: the
        // decode could take seconds, and a resume reads it again.
        if hasher.keeps_picture() && self.queue.stopped() {
            return Step::Cut;
        }
        let total = *read.as_ref().unwrap_or(&(n as u64));
        file.reached(total, true);
        let after = file.after();
        drop(file);
        let archive = hasher.take_archive();
        self.conclude(&mut r, hasher, read, size, after, scratch);
        if !self.expand(t.index, &mut r, archive, scratch) {
            return Step::Cut;
        }
        Step::Done(Box::new(r))
    }

    /// The hasher of a file of `size` bytes at open.
    pub fn hasher(&self, size: u64) -> FileHasher {
        FileHasher::new(self.sha256, size)
            .with_pictures(self.pictures.map(|p| p.1.clone()))
            .with_archives(self.archives.map(|a| a.1.clone()))
    }

    /// Whether the reading of a file that has reached `total` bytes, of `size`
    /// at open, must halt: the scan is stopping, or the file does not end.
    pub fn halt_at(&self, total: u64, size: u64) -> Option<Halt> {
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
        file: &mut dyn EvidenceFile,
        size: u64,
        buf: &mut [u8],
        hasher: &mut FileHasher,
        start: u64,
    ) -> Result<u64, ReadEnd> {
        let mut last = start;
        let mut from = start;
        if size >= MAP_ABOVE {
            let mapped = file.hash_mapped(start, size, hasher, &mut |at| {
                self.bytes_read.fetch_add(at - last, Ordering::Relaxed);
                last = at;
                !self.queue.stopped()
            });
            let shrank = || file.after().is_none_or(|a| a.size < size);
            match mapped {
                Mapped::Unavailable => {}
                Mapped::Stopped(_) => return Err(ReadEnd::Halted(Halt::Stopped)),
                Mapped::Done if !shrank() => from = size,
                Mapped::Done | Mapped::Fault(_) => {
                    hasher.restart();
                    last = 0;
                    from = 0;
                }
            }
        }
        if from != start {
            if let Err(error) = file.seek_to(from) {
                return Err(ReadEnd::Failed(ReadFailure {
                    offset: from,
                    error,
                }));
            }
        }
        // Whatever is left: the whole file when small, or when a map failed, or
        // what a file grew by after it was mapped.
        digest::hash_reader(file, buf, hasher, from, |file, total| {
            self.bytes_read
                .fetch_add(total.saturating_sub(last), Ordering::Relaxed);
            last = total;
            file.reached(total, false);
            self.halt_at(total, size)
        })
    }

    /// Reads a file's first bytes into `head` (all of it unless the file ends or
    /// fails first) and records its content type in `r`. Returns the bytes read
    /// and the error that stopped the read, or `None` when the file is to be put
    /// back: in the first pass, a large file whose content is not a picture, a
    /// video or an archive.
    pub fn read_head(
        &self,
        file: &mut dyn EvidenceFile,
        head: &mut [u8],
        size: u64,
        deferred: bool,
        r: &mut Record,
    ) -> Option<(usize, Option<std::io::Error>)> {
        let (n, err) = digest::fill(file, head);
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        let detected = ContentType::detect(&head[..n]);
        r.content = detected.map(|c| Content {
            mime: Cow::Borrowed(c.mime()),
            mismatch: c.mismatches(&r.path),
        });
        let of_interest = detected.is_some_and(|c| c.likely_hit());
        let put_back =
            !deferred && err.is_none() && n == head.len() && size > DEFER_ABOVE && !of_interest;
        (!put_back).then_some((n, err))
    }

    /// Completes the record of a file read to its end (or to a read error).
    pub fn conclude(
        &self,
        r: &mut Record,
        hasher: FileHasher,
        read: Result<u64, ReadEnd>,
        size_at_open: u64,
        after: Option<After>,
        scratch: &mut Scratch,
    ) {
        let (size, overran) = match read {
            Ok(n) => (n, false),
            Err(ReadEnd::Failed(fail)) => {
                r.verdict = Verdict::Unreadable;
                r.kind = Kind::File;
                r.notes.push(Note::ReadError {
                    offset: fail.offset,
                    error: fail.error.to_string(),
                });
                return;
            }
            // Callers give no row to a file whose reading was stopped.
            Err(ReadEnd::Halted(Halt::Stopped)) => return,
            Err(ReadEnd::Halted(Halt::Overran)) => (size_at_open, true),
        };
        if overran {
            r.notes.push(Note::Overran {
                at_open: size_at_open,
                fed: hasher.fed(),
            });
            r.changed = true;
        } else if let Some(after) = after {
            // The size at open counts too: a file cut short while read can be
            // seen with its new size before its new modification time.
            let changed =
                after.size != size || size_at_open != size || after.modified != r.times.modified;
            if changed {
                r.notes.push(Note::Changed {
                    at_open: size_at_open,
                    read: size,
                    now: after.size,
                    modified: after.modified.map(|t| t.rfc3339()).unwrap_or_default(),
                });
                r.changed = true;
            }
        }
        r.size = size;
        self.judge_into(r, hasher, overran, scratch);
    }

    /// Judges the file read into `hasher` (of `r.size` bytes; `overran`: its
    /// digests are of its size at open), with its picture's PDQ hash and
    /// camera facts; the matcher's notes go before those in `r`.
    pub fn judge_into(
        &self,
        r: &mut Record,
        mut hasher: FileHasher,
        overran: bool,
        scratch: &mut Scratch,
    ) {
        let picture = hasher.take_picture();
        let digests = hasher.finish(overran);
        let mut j = self.matcher.judge(&digests, r.size, scratch);
        if let (Some(picture), Some((budget, _)), false) = (picture, self.pictures, overran) {
            match picture_hash(&picture, budget) {
                Ok(p) => {
                    self.matcher.judge_picture(&mut j, &p, scratch);
                    r.pdq = Some(Box::new(p));
                }
                Err(NoHash(reason)) => r.notes.push(Note::NoPdq { reason }),
            }
            // Camera facts are for the unknown-media queue only.
            let queued = |c: &Content| crate::output::media::queued(j.verdict, &c.mime);
            if let (Picture::Bytes(_, bytes, _), true) =
                (&picture, r.content.as_ref().is_some_and(queued))
            {
                r.camera = crate::digest::exif::camera_info(bytes)
                    .map(|c| Box::new(crate::record::Camera(c)));
            }
        }
        r.digests = Some(digests);
        r.verdict = j.verdict;
        r.sets = j.sets;
        r.category = j.category;
        // The matcher's notes first, then what happened while reading.
        let mut notes = j.notes;
        notes.append(&mut r.notes);
        r.notes = notes;
    }
}

/// The PDQ hash of a picture kept from its read, or why there is none.
fn picture_hash(p: &Picture, budget: &DecodeBudget) -> Result<PdqResult, NoHash> {
    match *p {
        Picture::Bytes(format, ref bytes, _) => picture::pdq_within(format, bytes, budget),
        Picture::NotDecoded(format) => Err(NoHash(format!("pdq: {} not decoded", format.name()))),
        Picture::TooLarge(format) => Err(NoHash(format!(
            "pdq: {} of more than {} MiB not decoded",
            format.name(),
            picture::MAX_BYTES >> 20
        ))),
    }
}
