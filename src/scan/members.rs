//! Archive members as rows. After an archive is read and judged as a file,
//! its members are read from the bytes kept from that read (or, for an
//! archive too large to keep, from the evidence again, front to back), each
//! streamed into the hashers and judged like any file, and nested archives
//! read in turn, within the limits ([`crate::archive::Limits`]). Nothing is
//! written to disk. The rows go with the archive's own row to the writer.
//!
//! Streamed formats (tar, and the single streams of gzip, bzip2, xz and
//! zstd) are read from their parent's stream as it is decompressed: the
//! bytes that hash a `.tar` member are the bytes its members are read from.
//! A nested zip or 7z needs its directory, at its end: its bytes are held in
//! memory while it is read (up to [`crate::archive::NESTED_MEMORY`]).
//!
//! Every byte expanded is metered: a member or an archive on the evidence
//! that expands past its ratio, the bytes or the members allowed stops the
//! reading of that archive there; the member being read gets no digests (they
//! would be of part of it) and a note, and every archive around it a note
//! saying where it stopped.

mod parallel;

use super::read::Worker;
use crate::archive::{self, Entry, EntryKind, Flow, Format, Input, Limit, Limits, Special};
use crate::digest::content::ContentType;
use crate::digest::{self, FileHasher, KeptArchive, ReadEnd, Update};
use crate::evidence::{EvidenceFile, Opened};
use crate::matcher::Scratch;
use crate::pathfmt;
use crate::record::{Content, Kind, Note, Record, Verdict};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Counts shared by every level of one archive on the evidence (and by the
/// threads reading a zip's members at once).
struct Meter<'s> {
    limits: Limits,
    /// Bytes expanded at every level (a nested archive's members count again).
    bytes: AtomicU64,
    /// Members made so far, at every level.
    members: AtomicU64,
    /// Bytes allowed by the ratio of the archive on the evidence.
    ratio_cap: u64,
    /// The limit that ended the reading, and the member it was reached at.
    stop: Mutex<Option<(Limit, u64, String)>>,
    /// Whether `stop` is set.
    limited: AtomicBool,
    /// Whether the scan is stopping.
    scan_stopping: &'s (dyn Fn() -> bool + Sync),
}

impl<'s> Meter<'s> {
    fn new(
        limits: Limits,
        archive_size: u64,
        scan_stopping: &'s (dyn Fn() -> bool + Sync),
    ) -> Meter<'s> {
        Meter {
            limits,
            bytes: AtomicU64::new(0),
            members: AtomicU64::new(0),
            ratio_cap: archive::FREE_BYTES
                .saturating_add(limits.ratio.saturating_mul(archive_size)),
            stop: Mutex::new(None),
            limited: AtomicBool::new(false),
            scan_stopping,
        }
    }

    /// The scan is stopping: the archive gets no row (a resume reads it).
    fn interrupted(&self) -> bool {
        (self.scan_stopping)()
    }

    fn stopped(&self) -> bool {
        self.limited.load(Ordering::Relaxed) || self.interrupted()
    }

    /// Records that `limit` (of `value`) was reached at member `at`, unless
    /// one was already.
    fn reach(&self, limit: Limit, value: u64, at: &str) {
        let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        if stop.is_none() {
            *stop = Some((limit, value, at.to_string()));
            self.limited.store(true, Ordering::Relaxed);
        }
    }

    /// The limit reached, if one was.
    fn reached(&self) -> Option<(Limit, u64, String)> {
        self.stop.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A member's reader that counts its bytes against the limits and stops with
/// an error once one is passed (the limit is then in `hit`).
struct Metered<'m, R> {
    inner: R,
    meter: &'m Meter<'m>,
    read: u64,
    /// Bytes this member may expand to (its own ratio).
    cap: u64,
    hit: Option<(Limit, u64)>,
    /// Its bytes count as expanded (not for a tar's members, which are
    /// bytes of the tar, already counted).
    counts: bool,
    /// The member's path, for the note saying where a limit was reached.
    path: &'m str,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.meter.stopped() && self.hit.is_none() {
            return Err(io::Error::other("the reading of this archive stopped"));
        }
        if let Some((l, _)) = self.hit {
            return Err(io::Error::other(format!("limit {} reached", l.as_str())));
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let counted = if self.counts { n as u64 } else { 0 };
        let total = self.meter.bytes.fetch_add(counted, Ordering::Relaxed) + counted;
        let l = &self.meter.limits;
        self.hit = if total > l.bytes {
            Some((Limit::Bytes, l.bytes))
        } else if self.read > self.cap || total > self.meter.ratio_cap {
            Some((Limit::Ratio, l.ratio))
        } else {
            None
        };
        if let Some((l, value)) = self.hit {
            // The innermost member where it is passed is where it is reported.
            self.meter.reach(l, value, self.path);
            return Err(io::Error::other(format!("limit {} reached", l.as_str())));
        }
        Ok(n)
    }
}

/// A reader that hashes what passes through it.
struct Tee<'h, R> {
    inner: R,
    hasher: &'h mut FileHasher,
    fed: u64,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.fed += n as u64;
        Ok(n)
    }
}

/// An evidence file as a reader that seeks.
struct Seekable<'f> {
    file: &'f mut dyn EvidenceFile,
    at: u64,
    size: u64,
}

impl Read for Seekable<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl io::Seek for Seekable<'_> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let to = match pos {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.size.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.at.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.file.seek_to(to)?;
        self.at = to;
        Ok(to)
    }
}

/// The reading of one archive on the evidence and all nested in it.
struct Expansion<'w, 's> {
    worker: &'w Worker<'w>,
    scratch: &'s mut Scratch,
    /// Bytes of nested archives held in memory now.
    held: u64,
    /// Memory the decoders of further nested xz, zstd and 7z may take.
    decoders_left: u64,
    /// MD5s of the archives being read, outermost first (an archive that
    /// holds itself is not read again).
    chain: Vec<[u8; 16]>,
    rows: Vec<Record>,
    /// Read buffers, reused member after member.
    buf: Vec<u8>,
    head: Vec<u8>,
}

impl Worker<'_> {
    /// Reads the members of archive `r` (entry `id`), from the bytes `kept`
    /// from its read, into `r.members`, with notes on `r`. Returns false when
    /// the scan stopped meanwhile (the archive then gets no row: a resume
    /// reads it again).
    pub fn expand(
        &self,
        id: u32,
        r: &mut Record,
        kept: Option<KeptArchive>,
        scratch: &mut Scratch,
    ) -> bool {
        let (Some((limits, _)), Some(kept)) = (self.archives, kept) else {
            return true;
        };
        let Some(digests) = r.digests else {
            return true;
        };
        let (listing, i) = self.todo.get(id);
        let name = listing.name_of(i).to_vec();
        let stop = || self.queue.stopped();
        let path = r.path.clone();
        let new_meter = || Meter::new(*limits, r.size, &stop);
        let mut x = Expansion::new(self, scratch, digests.md5);
        let (notes, rows) = match kept {
            KeptArchive::Bytes(Format::Zip, bytes, _held) => {
                match self.zip_in_parallel(&new_meter(), &path, &bytes, digests.md5) {
                    Some(done) => done,
                    // Read again in order, for the rows and notes that gives.
                    None if !stop() => {
                        let meter = new_meter();
                        let notes = x.walk(
                            &meter,
                            &path,
                            Format::Zip,
                            Input::Bytes(&bytes),
                            &name,
                            1,
                            None,
                        );
                        (notes, std::mem::take(&mut x.rows))
                    }
                    None => return false,
                }
            }
            KeptArchive::Bytes(format, bytes, _held) => {
                let need = format.decoder_need(&bytes);
                let notes = x.walk(
                    &new_meter(),
                    &path,
                    format,
                    Input::Bytes(&bytes),
                    &name,
                    1,
                    need,
                );
                (notes, std::mem::take(&mut x.rows))
            }
            KeptArchive::NotKept(Format::Rar) => (
                vec![Note::NotExpanded {
                    reason: archive::RAR_NOT_READ.into(),
                }],
                Vec::new(),
            ),
            KeptArchive::NotKept(format) => {
                // Too large to keep: read again from the evidence.
                let notes = match self.source.open(listing, i, false, self.progress) {
                    Opened::File(f) if f.size() != r.size || f.times().modified != r.times.modified => {
                        vec![Note::NotExpanded {
                            reason: "it changed between its read and the reading of its members"
                                .into(),
                        }]
                    }
                    Opened::File(mut f) => {
                        let size = f.size();
                        let mut s = Seekable {
                            file: &mut *f,
                            at: 0,
                            size,
                        };
                        let input = Input::Seekable(&mut s, size);
                        x.walk(&new_meter(), &path, format, input, &name, 1, None)
                    }
                    Opened::Failed { note, .. } => vec![Note::NotExpanded {
                        reason: format!(
                            "too large to keep from its read, and it could not be opened again: {note}"
                        ),
                    }],
                };
                (notes, std::mem::take(&mut x.rows))
            }
        };
        if stop() {
            return false;
        }
        r.notes.extend(notes);
        r.members = rows;
        true
    }
}

impl<'w, 's> Expansion<'w, 's> {
    fn new(worker: &'w Worker<'w>, scratch: &'s mut Scratch, md5: [u8; 16]) -> Self {
        Expansion {
            worker,
            scratch,
            held: 0,
            decoders_left: archive::DECODERS_MEMORY,
            chain: vec![md5],
            rows: Vec::new(),
            buf: Vec::new(),
            head: Vec::new(),
        }
    }

    /// Reads archive `path` (of `format`, named `name`) at nesting `depth`
    /// (1 for an archive on the evidence), its decoder taking `need` bytes
    /// where its first bytes say ([`Format::decoder_need`]); returns the
    /// notes for its row.
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        meter: &Meter,
        path: &str,
        format: Format,
        input: Input,
        name: &[u8],
        depth: u32,
        need: Option<u64>,
    ) -> Vec<Note> {
        // The compressed size of a stream's one member: the stream's size.
        let container = match &input {
            Input::Bytes(b) => Some(b.len() as u64),
            Input::Seekable(_, size) => Some(*size),
            Input::Stream(_, size) => *size,
        };
        let mut names: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut count = 0u64;
        // A decoder's memory is taken from what the archives around it left,
        // while it reads.
        let taken = if format.decoder_memory() {
            // What its first bytes say it needs, else the most a decoder
            // may take.
            need.unwrap_or(archive::DECODER_MEMORY)
                .min(archive::DECODER_MEMORY)
                .min(self.decoders_left)
                .max(archive::DECODER_MEMORY_FLOOR)
        } else {
            0
        };
        let decoders_before = self.decoders_left;
        self.decoders_left = self.decoders_left.saturating_sub(taken);
        let result = archive::walk(format, input, name, taken, &mut |entry, reader| {
            self.visit(
                meter,
                path,
                entry,
                reader,
                depth,
                (format, container),
                &mut names,
                &mut count,
            )
        });
        self.decoders_left = decoders_before;
        let mut notes = vec![Note::Archive {
            format: format.name().into(),
            members: count,
        }];
        if let Some((limit, value, at)) = meter.reached() {
            notes.push(Note::ArchiveStopped { limit, value, at });
        } else if let Err(b) = result {
            if b.encrypted {
                notes.push(Note::Encrypted { crc: None });
            } else if !meter.interrupted() {
                notes.push(Note::ArchiveDamaged {
                    at: b.at,
                    error: b.error,
                });
            }
        }
        notes
    }

    /// One member handed on by a walk of archive `path`: its row (and those
    /// of any archive in it), unless a limit stops the walk first. `names`
    /// counts the names met so far, `count` the members.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        meter: &Meter,
        path: &str,
        entry: &Entry,
        reader: Option<&mut dyn Read>,
        depth: u32,
        parent: (Format, Option<u64>),
        names: &mut HashMap<Vec<u8>, u32>,
        count: &mut u64,
    ) -> Flow {
        if meter.stopped() {
            return Flow::Stop;
        }
        if entry.kind == EntryKind::Directory {
            return Flow::Go;
        }
        let occurrence = names.entry(entry.name.clone()).or_insert(0);
        *occurrence += 1;
        let mpath = pathfmt::member_path(path, &entry.name, *occurrence);
        if meter.members.fetch_add(1, Ordering::Relaxed) >= meter.limits.members {
            meter.reach(Limit::Members, meter.limits.members, &mpath);
            return Flow::Stop;
        }
        *count += 1;
        let row = self.member(meter, mpath, entry, reader, depth, parent);
        self.rows.push(row);
        if meter.stopped() {
            Flow::Stop
        } else {
            Flow::Go
        }
    }

    /// The row of one member (reading it, and any archive in it).
    fn member(
        &mut self,
        meter: &Meter,
        path: String,
        entry: &Entry,
        reader: Option<&mut dyn Read>,
        depth: u32,
        (parent, container): (Format, Option<u64>),
    ) -> Record {
        let mut r = Record::new(path, Kind::File);
        r.times.modified = entry.modified;
        r.size = entry.size.unwrap_or(0);
        match &entry.kind {
            EntryKind::Symlink(target) => {
                r.kind = Kind::Symlink;
                r.notes.push(Note::Symlink {
                    target: pathfmt::escape(target),
                });
                return r;
            }
            EntryKind::HardLink(to) => {
                r.notes.push(Note::ArchiveLink {
                    to: pathfmt::escape(to),
                });
                return r;
            }
            EntryKind::Other(special) => {
                let (kind, note) = match special {
                    Special::Fifo => (Kind::Fifo, Note::ArchiveSpecial),
                    Special::CharDevice => (Kind::CharDevice, Note::ArchiveSpecial),
                    Special::BlockDevice => (Kind::BlockDevice, Note::ArchiveSpecial),
                    Special::Other => (Kind::Other, Note::ArchiveSpecial),
                };
                r.kind = kind;
                r.notes.push(note);
                return r;
            }
            EntryKind::File | EntryKind::Directory => {}
        }
        if entry.encrypted {
            r.verdict = Verdict::Unreadable;
            r.notes.push(Note::Encrypted { crc: entry.crc });
            return r;
        }
        if let Some(error) = &entry.unreadable {
            r.verdict = Verdict::Unreadable;
            r.notes.push(Note::CannotOpen {
                error: error.clone(),
            });
            return r;
        }
        let Some(reader) = reader else {
            return r;
        };
        let limits = meter.limits;
        // 0 is an unknown size in a 7z's solid block, a true one in a tar
        // (a sparse file's holes are not stored).
        let packed = entry
            .packed
            .filter(|&p| p > 0 || parent == Format::Tar)
            .or(container.filter(|_| parent.is_single_stream()));
        let cap = match packed {
            Some(p) => archive::FREE_BYTES.saturating_add(limits.ratio.saturating_mul(p)),
            None => u64::MAX,
        };
        let mpath = r.path.clone();
        let mut metered = Metered {
            inner: reader,
            meter,
            read: 0,
            cap,
            hit: None,
            // A tar's members are bytes of the tar, counted already; but for
            // a sparse member's holes, which the tar does not hold.
            counts: parent != Format::Tar || entry.packed != entry.size,
            path: &mpath,
        };
        let w = self.worker;
        let mut hasher =
            FileHasher::new(w.sha256, r.size).with_pictures(w.pictures.map(|p| p.1.clone()));
        // Buffers are reused from member to member (a nested walk, which
        // needs its own, makes new ones).
        let mut head = std::mem::take(&mut self.head);
        let mut buf = std::mem::take(&mut self.buf);
        head.resize(digest::content::HEAD.min(64 << 10), 0);
        buf.resize(256 << 10, 0);
        let (n, err) = digest::fill(&mut metered, &mut head);
        head.truncate(n);
        let detected = ContentType::detect(&head);
        r.content = detected.map(|c| Content {
            mime: Cow::Borrowed(c.mime()),
            mismatch: c.mismatches(&r.path),
        });
        // Told even when the first bytes end in an error: a damaged stream's
        // members before the damage still get their rows.
        let nested = Format::detect(&head);
        // A tar is one archive with the compressed stream that holds it.
        let deeper = |f: Format| {
            if parent.is_single_stream() && f == Format::Tar {
                depth
            } else {
                depth + 1
            }
        };
        let mut notes = Vec::new();
        let mut keep: Option<Vec<u8>> = None;
        let result: Result<u64, ReadEnd> = match nested {
            Some(f) if deeper(f) > limits.depth => {
                notes.push(Note::NotExpanded {
                    reason: Limit::Depth.describe(limits.depth as u64),
                });
                read_through(&mut hasher, &head, err, &mut metered, None, &mut buf)
            }
            Some(f) if f.streams() => {
                // Read as it streams: the member's digests are of the bytes
                // its own members are read from.
                let name = member_name(&r.path);
                let need = f.decoder_need(&head);
                let rest: Box<dyn Read> = match err {
                    Some(e) => Box::new(Failing(e.kind(), e.to_string())),
                    None => Box::new(&mut metered),
                };
                let mut tee = Tee {
                    inner: io::Cursor::new(&head[..]).chain(rest),
                    hasher: &mut hasher,
                    fed: 0,
                };
                let inner = self.walk(
                    meter,
                    &r.path.clone(),
                    f,
                    Input::Stream(&mut tee, entry.size),
                    &name,
                    deeper(f),
                    need,
                );
                notes.extend(inner);
                // What the archive leaves unread (a tar's padding) is hashed too.
                let Tee {
                    mut inner,
                    hasher,
                    fed,
                } = tee;
                digest::hash_reader(&mut inner, &mut buf, hasher, fed, |_, _| None)
            }
            Some(Format::Rar) => {
                notes.push(Note::NotExpanded {
                    reason: archive::RAR_NOT_READ.into(),
                });
                read_through(&mut hasher, &head, err, &mut metered, None, &mut buf)
            }
            Some(_) => {
                let room = archive::NESTED_MEMORY.saturating_sub(self.held);
                let fits = entry.size.is_none_or(|s| s <= room);
                let mut bytes = fits.then(Vec::new);
                let end = read_through(
                    &mut hasher,
                    &head,
                    err,
                    &mut metered,
                    bytes.as_mut().map(|b| (b, room)),
                    &mut buf,
                );
                match bytes {
                    Some(b) if b.len() as u64 <= room => keep = Some(b),
                    _ => notes.push(Note::NotExpanded {
                        reason: Limit::Memory.describe(archive::NESTED_MEMORY),
                    }),
                }
                end
            }
            None => read_through(&mut hasher, &head, err, &mut metered, None, &mut buf),
        };
        self.head = head;
        self.buf = buf;
        let read = metered.read;
        let cut = match &result {
            Err(_) => metered.hit.or_else(|| meter.reached().map(|s| (s.0, s.1))),
            Ok(_) => None,
        };
        if let Some((limit, value)) = cut {
            // Digests of part of a member would be of no file: none.
            meter.reach(limit, value, &r.path);
            r.notes.push(Note::MemberCut { limit, value, read });
            r.notes.extend(notes);
            return r;
        }
        if meter.interrupted() {
            return r;
        }
        let mut after_data = None;
        match result {
            // An error once every byte the archive declares was read (a
            // checksum that does not match, bytes after a stream's end): the
            // digests are of the member as read, and say so.
            Err(ReadEnd::Failed(f)) if f.offset > 0 && entry.size.is_none_or(|s| f.offset >= s) => {
                r.size = f.offset;
                after_data = Some(Note::ReadError {
                    offset: f.offset,
                    error: format!(
                        "{} (the digests are of the {} bytes read before it)",
                        f.error, f.offset
                    ),
                });
            }
            Err(ReadEnd::Failed(f)) => {
                r.verdict = Verdict::Unreadable;
                r.notes.extend(notes);
                r.notes.push(Note::ReadError {
                    offset: f.offset,
                    error: f.error.to_string(),
                });
                return r;
            }
            Err(ReadEnd::Halted(_)) => return r,
            Ok(n) => r.size = n,
        }
        r.notes = notes;
        r.notes.extend(after_data);
        w.judge_into(&mut r, hasher, false, self.scratch);
        if let (Some(bytes), Some(f), Some(d)) = (keep, nested, r.digests) {
            if self.chain.contains(&d.md5) {
                r.notes.push(Note::NotExpanded {
                    reason: "it holds an archive it is inside (the same digests): not read again"
                        .into(),
                });
            } else {
                self.held += bytes.len() as u64;
                self.chain.push(d.md5);
                let name = member_name(&r.path);
                let path = r.path.clone();
                let need = f.decoder_need(&bytes);
                let inner = self.walk(
                    meter,
                    &path,
                    f,
                    Input::Bytes(&bytes),
                    &name,
                    depth + 1,
                    need,
                );
                self.chain.pop();
                self.held -= bytes.len() as u64;
                r.notes.extend(inner);
            }
        }
        r
    }
}

/// The raw name of the last member in a member path (for naming a
/// compressed stream's member).
fn member_name(path: &str) -> Vec<u8> {
    let parts = pathfmt::split_members(path).unwrap_or_default();
    let last = parts.last().cloned().unwrap_or_default();
    match last.iter().rposition(|&b| b == b'/') {
        Some(i) => last[i + 1..].to_vec(),
        None => last,
    }
}

/// A reader that fails, every time, as a read before it did.
struct Failing(io::ErrorKind, String);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(self.0, self.1.clone()))
    }
}

/// Bytes hashed, and kept up to `room` bytes (and one more, to tell that
/// there were more).
struct Keeping<'k> {
    hasher: &'k mut FileHasher,
    keep: Option<(&'k mut Vec<u8>, u64)>,
}

impl Update for Keeping<'_> {
    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        if let Some((kept, room)) = &mut self.keep {
            let take = data
                .len()
                .min((*room as usize + 1).saturating_sub(kept.len()));
            kept.extend_from_slice(&data[..take]);
        }
    }
}

/// Hashes the rest of a member after its `head` (read with `err`), keeping
/// its bytes in `keep` up to a number of bytes (past which the vector is
/// one byte longer than that, and no more is kept). Returns the bytes read.
fn read_through(
    hasher: &mut FileHasher,
    head: &[u8],
    err: Option<io::Error>,
    reader: &mut dyn Read,
    keep: Option<(&mut Vec<u8>, u64)>,
    buf: &mut [u8],
) -> Result<u64, ReadEnd> {
    let mut sink = Keeping { hasher, keep };
    sink.update(head);
    if let Some(error) = err {
        return Err(ReadEnd::Failed(digest::ReadFailure {
            offset: head.len() as u64,
            error,
        }));
    }
    digest::hash_reader(reader, buf, &mut sink, head.len() as u64, |_, _| None)
}
