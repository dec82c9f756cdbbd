//! The readers of each format, behind [`super::walk`].

use super::{
    stream_member_name, Broken, Entry, EntryKind, Flow, Format, Input, ReadSeek, Special, Visit,
};
use crate::time::FileTime;
use std::cell::Cell;
use std::io::{self, Cursor, Read};
use std::rc::Rc;

/// Bytes of a symbolic link's target read from a zip (which stores the
/// target as the member's content).
const LINK_TARGET_MAX: u64 = 4096;

fn broken(at: impl Into<String>, error: impl ToString) -> Broken {
    Broken {
        at: at.into(),
        error: error.to_string(),
        encrypted: false,
    }
}

/// A zip archive's members in directory order. A zip whose directory cannot
/// be read (truncated, say) is read again front to back by its local headers,
/// so the members before the damage still get their rows.
pub fn zip(input: Input, visit: &mut Visit) -> Result<(), Broken> {
    random_access(input, "zip", |r| zip_from(r, visit))
}

/// Runs `read` over `input` as a reader that seeks (zip and 7z keep their
/// directory at the end): bytes at hand, or a file through a buffer.
fn random_access(
    input: Input,
    what: &str,
    read: impl FnOnce(&mut dyn ReadSeek) -> Result<(), Broken>,
) -> Result<(), Broken> {
    match input {
        Input::Bytes(b) => read(&mut Cursor::new(b)),
        Input::Seekable(r, _) => read(&mut io::BufReader::with_capacity(64 << 10, r)),
        Input::Stream(..) => Err(broken(
            "the start",
            format!("a {what} is read from memory or a file, not a stream"),
        )),
    }
}

/// The number of entries a zip's end record declares (`None` for zip64 or
/// when there is no end record).
fn declared_entries<R: Read + io::Seek>(reader: &mut R) -> Option<u64> {
    let len = reader.seek(io::SeekFrom::End(0)).ok()?;
    let tail = len.min(65_557);
    reader.seek(io::SeekFrom::Start(len - tail)).ok()?;
    let mut buf = vec![0u8; tail as usize];
    reader.read_exact(&mut buf).ok()?;
    let at = buf.windows(4).rposition(|w| w == b"PK\x05\x06")?;
    let n = u16::from_le_bytes(buf.get(at + 10..at + 12)?.try_into().ok()?);
    (n != u16::MAX).then_some(n as u64)
}

fn zip_from<R: Read + io::Seek>(mut reader: R, visit: &mut Visit) -> Result<(), Broken> {
    let declared = declared_entries(&mut reader);
    let _ = reader.rewind();
    let mut archive = match zip::ZipArchive::new(&mut reader) {
        Ok(a) => a,
        Err(e) => {
            let directory = e.to_string();
            let _ = reader.rewind();
            return zip_local_headers(&mut reader, visit).and(Err(broken(
                "the central directory",
                format!("{directory}; the members were read from their local headers"),
            )));
        }
    };
    if declared.is_some_and(|d| d > archive.len() as u64) {
        // Entries that share a name are one in the library's directory (the
        // last wins): read every entry by its local header instead.
        drop(archive);
        let _ = reader.rewind();
        return zip_local_headers(&mut reader, visit);
    }
    // Where each member's data lies, gathered as they are read (a pass of
    // its own would read every local header, however many the limits let
    // be read).
    let mut ranges = Vec::new();
    for i in 0..archive.len() {
        let (flow, range) = zip_member(&mut archive, i, visit)?;
        ranges.extend(range);
        if flow == Flow::Stop {
            return Ok(());
        }
    }
    match overlaps(ranges) {
        Some(n) => Err(broken(
            "the central directory",
            format!("{n} members' compressed data overlap another's (a zip bomb's construction: the same bytes read again and again)"),
        )),
        None => Ok(()),
    }
}

/// Hands member `i` of `archive` to `visit`; where its data lies.
fn zip_member<R: Read + io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    i: usize,
    visit: &mut Visit,
) -> Result<(Flow, Option<(u64, u64)>), Broken> {
    let (mut entry, range) = match archive.by_index_raw(i) {
        Ok(f) => (zip_entry(&f), data_range(&f)),
        Err(e) => return Err(broken(format!("member {}", i + 1), e)),
    };
    let flow = if entry.kind == EntryKind::File && !entry.encrypted {
        match archive.by_index(i) {
            Ok(mut f) => visit(&entry, Some(&mut f)),
            Err(e) => {
                entry.unreadable = Some(e.to_string());
                visit(&entry, None)
            }
        }
    } else if matches!(entry.kind, EntryKind::Symlink(_)) && !entry.encrypted {
        if let Ok(f) = archive.by_index(i) {
            let mut target = Vec::new();
            let _ = f.take(LINK_TARGET_MAX).read_to_end(&mut target);
            entry.kind = EntryKind::Symlink(target);
        }
        visit(&entry, None)
    } else {
        visit(&entry, None)
    };
    Ok((flow, range))
}

/// A zip in memory whose directory reads cleanly: as many entries as its end
/// record declares, no two with the same name bytes, no compressed data read
/// twice.
/// Its members can be read in any order, by several threads, each walking a
/// range of them ([`ZipPlan::walk`]) with what [`super::walk`] would hand on.
pub struct ZipPlan<'a> {
    archive: zip::ZipArchive<Cursor<&'a [u8]>>,
}

impl<'a> ZipPlan<'a> {
    /// The plan of the zip `bytes`, if it reads cleanly and has at most
    /// `most` entries.
    pub fn new(bytes: &'a [u8], most: u64) -> Option<ZipPlan<'a>> {
        let declared = declared_entries(&mut Cursor::new(bytes))?;
        if declared > most {
            return None;
        }
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        if declared != archive.len() as u64 || zip_overlap(&mut archive).is_some() {
            return None;
        }
        // Names the library tells apart (decoded as UTF-8 or as CP437, by a
        // flag) may be the same bytes, which the rows count as repeats: the
        // ranges read apart could not number them.
        let mut raw = std::collections::HashSet::new();
        for i in 0..archive.len() {
            if !raw.insert(archive.by_index_raw(i).ok()?.name_raw().to_vec()) {
                return None;
            }
        }
        Some(ZipPlan { archive })
    }

    /// Entries in its directory.
    pub fn len(&self) -> usize {
        self.archive.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.archive.len() == 0
    }

    /// Hands entries `range` to `visit`, in order, until it says stop.
    pub fn walk(&self, range: std::ops::Range<usize>, visit: &mut Visit) -> Result<(), Broken> {
        let mut archive = self.archive.clone();
        for i in range {
            if zip_member(&mut archive, i, visit)?.0 == Flow::Stop {
                break;
            }
        }
        Ok(())
    }
}

/// How many members' data overlap another's, of all in `archive`.
fn zip_overlap<R: Read + io::Seek>(archive: &mut zip::ZipArchive<R>) -> Option<usize> {
    let ranges = (0..archive.len()).filter_map(|i| data_range(&archive.by_index_raw(i).ok()?));
    overlaps(ranges.collect())
}

/// Where a member's compressed data lies in its zip, when it has some.
fn data_range<R: Read>(f: &zip::read::ZipFile<'_, R>) -> Option<(u64, u64)> {
    let start = f.data_start()?;
    let c = f.compressed_size();
    (c > 0).then(|| (start, start.saturating_add(c)))
}

/// How many of `ranges` overlap one before them (in order of start).
fn overlaps(mut ranges: Vec<(u64, u64)>) -> Option<usize> {
    ranges.sort_unstable();
    let mut end = 0u64;
    let mut n = 0;
    for (i, &(s, e)) in ranges.iter().enumerate() {
        if i > 0 && s < end {
            n += 1;
        }
        end = end.max(e);
    }
    (n > 0).then_some(n)
}

fn zip_entry<R: Read>(f: &zip::read::ZipFile<'_, R>) -> Entry {
    // A directory entry that holds bytes is read as a file: data hidden there
    // is hashed like any.
    let kind = if f.is_dir() && f.size() == 0 {
        EntryKind::Directory
    } else if f.is_symlink() {
        EntryKind::Symlink(Vec::new())
    } else {
        EntryKind::File
    };
    let unix = f.extra_data_fields().find_map(|x| match x {
        zip::extra_fields::ExtraField::ExtendedTimestamp(t) => t.mod_time(),
        _ => None,
    });
    let modified = match unix {
        Some(secs) => Some(FileTime {
            secs: secs as i64,
            nanos: 0,
        }),
        None => f.last_modified().and_then(|d| {
            dos_time(
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
            )
        }),
    };
    Entry {
        name: f.name_raw().to_vec(),
        kind,
        modified,
        size: Some(f.size()),
        packed: Some(f.compressed_size()),
        // AES-encrypted members (AE-2) store no CRC: 0, not given.
        crc: Some(f.crc32()).filter(|&c| c != 0 || f.size() == 0),
        encrypted: f.encrypted(),
        unreadable: None,
    }
}

/// A zip's MS-DOS time, which carries no time zone: read as UTC.
fn dos_time(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Option<FileTime> {
    let dt = jiff::civil::DateTime::new(y as i16, mo as i8, d as i8, h as i8, mi as i8, s as i8, 0)
        .ok()?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(FileTime {
        secs: ts.as_second(),
        nanos: 0,
    })
}

/// A zip read front to back by its local headers.
fn zip_local_headers(reader: &mut dyn Read, visit: &mut Visit) -> Result<(), Broken> {
    let mut reader = reader;
    for n in 1.. {
        let mut f = match zip::read::read_zipfile_from_stream(&mut reader) {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => return Err(broken(format!("member {n} (local header)"), e)),
        };
        let entry = zip_entry(&f);
        let flow = if entry.kind == EntryKind::File && !entry.encrypted {
            visit(&entry, Some(&mut f))
        } else {
            visit(&entry, None)
        };
        if flow == Flow::Stop {
            return Ok(());
        }
        // The rest of a member not read to its end is skipped (not
        // decompressed) when `f` is dropped.
    }
    Ok(())
}

/// A 7z archive's members. Encrypted ones (no password is ever tried) are
/// listed without their bytes.
pub fn seven_z(input: Input, memory_kb: u32, visit: &mut Visit) -> Result<(), Broken> {
    random_access(input, "7z", |r| seven_z_from(r, memory_kb, visit))
}

fn is_encryption(e: &sevenz_rust2::Error) -> bool {
    use sevenz_rust2::Error as E;
    match e {
        E::PasswordRequired | E::MaybeBadPassword(_) => true,
        E::UnsupportedCompressionMethod(m) => m.to_ascii_lowercase().contains("aes"),
        other => other.to_string().to_ascii_lowercase().contains("aes"),
    }
}

fn seven_z_from<R: Read + io::Seek>(
    reader: R,
    memory_kb: u32,
    visit: &mut Visit,
) -> Result<(), Broken> {
    use sevenz_rust2::{ArchiveReader, EntryDecision, Password};
    let mut archive = match ArchiveReader::new_with_memory_limit(
        reader,
        Password::from_raw(b""),
        memory_kb as usize,
    ) {
        Ok(a) => a,
        Err(e) if is_encryption(&e) => {
            return Err(Broken {
                encrypted: true,
                ..broken("the header", "the member list is encrypted")
            })
        }
        Err(e) => return Err(broken("the header", e)),
    };
    archive.set_thread_count(1);
    let list = archive.archive();
    let entries: Vec<Entry> = list
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| Entry {
            encrypted: list.is_file_encrypted(i),
            ..seven_z_entry(f)
        })
        .collect();
    // Members are handed on block by block, then the empty ones: each is
    // told from the list by name and size, to know which were not reached.
    let mut unvisited: std::collections::HashMap<(Vec<u8>, Option<u64>), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate().rev() {
        unvisited
            .entry((e.name.clone(), e.size))
            .or_default()
            .push(i);
    }
    let mut seen = 0usize;
    let mut stopped = false;
    let result = archive.for_each_entries_with_decision(|e, r| {
        let entry = seven_z_entry(e);
        seen += 1;
        if let Some(left) = unvisited.get_mut(&(entry.name.clone(), entry.size)) {
            left.pop();
        }
        let flow = if entry.kind == EntryKind::File && e.has_stream {
            visit(&entry, Some(r))
        } else if entry.kind == EntryKind::File {
            // An empty file: its digests are those of no bytes.
            visit(&entry, Some(&mut io::empty()))
        } else {
            visit(&entry, None)
        };
        if flow == Flow::Stop {
            stopped = true;
            return Ok(EntryDecision::Stop);
        }
        Ok(EntryDecision::Continue)
    });
    match result {
        Ok(()) => Ok(()),
        Err(_) if stopped => Ok(()),
        Err(e) if is_encryption(&e) => {
            // The members not reached are listed in list order: those in
            // encrypted blocks as encrypted.
            let mut left: Vec<usize> = unvisited.into_values().flatten().collect();
            left.sort_unstable();
            for i in left {
                let mut entry = entries[i].clone();
                let flow = if entry.kind == EntryKind::File && entry.size == Some(0) {
                    // Empty: nothing of it is encrypted.
                    visit(&entry, Some(&mut io::empty()))
                } else {
                    if entry.kind == EntryKind::File && !entry.encrypted {
                        entry.unreadable = Some(
                            "not read: the 7z's reading stopped at an encrypted block before it"
                                .into(),
                        );
                    }
                    visit(&entry, None)
                };
                if flow == Flow::Stop {
                    break;
                }
            }
            Ok(())
        }
        Err(e) => Err(broken(format!("member {}", seen.max(1)), e)),
    }
}

fn seven_z_entry(e: &sevenz_rust2::ArchiveEntry) -> Entry {
    let modified = e.has_last_modified_date.then(|| {
        let ticks: u64 = e.last_modified_date.into();
        FileTime {
            secs: (ticks / 10_000_000) as i64 - 11_644_473_600,
            nanos: (ticks % 10_000_000) as u32 * 100,
        }
    });
    Entry {
        name: e.name.as_bytes().to_vec(),
        kind: if e.is_directory {
            EntryKind::Directory
        } else {
            EntryKind::File
        },
        modified,
        size: Some(e.size),
        packed: (e.compressed_size > 0).then_some(e.compressed_size),
        crc: e.has_crc.then_some(e.crc as u32),
        encrypted: false,
        unreadable: None,
    }
}

/// A tar archive's members, front to back.
pub fn tar(reader: &mut dyn Read, visit: &mut Visit) -> Result<(), Broken> {
    let allowed = Rc::new(Cell::new(TAR_METADATA));
    let read = Rc::new(Cell::new(0));
    let guard = TarGuard {
        inner: reader,
        read: read.clone(),
        allowed: allowed.clone(),
    };
    let mut archive = tar::Archive::new(guard);
    let entries = archive.entries().map_err(|e| broken("the start", e))?;
    for (n, e) in entries.enumerate() {
        let mut e = e.map_err(|err| broken(format!("member {}", n + 1), err))?;
        // What the tar holds of the entry (less than its size when sparse).
        let stored = e.header().entry_size().unwrap_or(0);
        // Its data (which the reader may skip) and the next header are the
        // archive's own bytes; what comes between that and the next entry's
        // data is metadata (long names, pax records), held by the reader
        // whole, so at most TAR_METADATA of it.
        let data = stored.div_ceil(512).saturating_mul(512);
        allowed.set(
            read.get()
                .saturating_add(data)
                .saturating_add(TAR_HEADER_ROOM)
                .saturating_add(TAR_METADATA),
        );
        let h = e.header();
        let t = h.entry_type();
        if t.is_pax_global_extensions() {
            // Settings for the entries after it (a `git archive` comment), not a member.
            continue;
        }
        let link = || {
            e.link_name_bytes()
                .map(|l| l.into_owned())
                .unwrap_or_default()
        };
        // A directory entry that holds bytes is read as a file (see zip_entry).
        let kind = if t.is_dir() && e.size() == 0 {
            EntryKind::Directory
        } else if t.is_symlink() {
            EntryKind::Symlink(link())
        } else if t.is_hard_link() {
            EntryKind::HardLink(link())
        } else if t.is_fifo() {
            EntryKind::Other(Special::Fifo)
        } else if t.is_character_special() {
            EntryKind::Other(Special::CharDevice)
        } else if t.is_block_special() {
            EntryKind::Other(Special::BlockDevice)
        } else if t.is_file() || t.is_contiguous() || t.as_byte() == b'S' {
            EntryKind::File
        } else {
            EntryKind::Other(Special::Other)
        };
        let entry = Entry {
            name: e.path_bytes().into_owned(),
            modified: h
                .mtime()
                .ok()
                .and_then(|s| i64::try_from(s).ok())
                .map(|secs| FileTime { secs, nanos: 0 }),
            size: Some(e.size()),
            packed: Some(stored),
            crc: None,
            encrypted: false,
            unreadable: None,
            kind,
        };
        let flow = if entry.kind == EntryKind::File {
            visit(&entry, Some(&mut e))
        } else {
            visit(&entry, None)
        };
        if flow == Flow::Stop {
            return Ok(());
        }
    }
    Ok(())
}

/// Bytes of a tar that are neither headers nor entry data (long names, pax
/// records) read in all: the tar reader holds each such record whole in
/// memory, so one that claims more is refused, not read.
pub const TAR_METADATA: u64 = 1 << 20;

/// Room for an entry's headers besides its data (its own, a GNU sparse
/// map's).
const TAR_HEADER_ROOM: u64 = 4096;

/// A tar's input that refuses to be read past the last entry's data, the
/// next header and [`TAR_METADATA`].
struct TarGuard<'r> {
    inner: &'r mut dyn Read,
    read: Rc<Cell<u64>>,
    allowed: Rc<Cell<u64>>,
}

impl Read for TarGuard<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.read.get();
        if read >= self.allowed.get() {
            return Err(io::Error::other(format!(
                "more than {} KiB of tar metadata (long names, pax records) before an entry: not read",
                TAR_METADATA >> 10
            )));
        }
        let room = (self.allowed.get() - read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.read.set(read + n as u64);
        Ok(n)
    }
}

/// The one member of a compressed stream: its name from the stream (gzip)
/// or from the container's `name`.
pub fn single(
    format: Format,
    reader: &mut dyn Read,
    name: &[u8],
    memory_kb: u32,
    visit: &mut Visit,
) -> Result<(), Broken> {
    let mut entry = Entry {
        name: stream_member_name(format, name),
        ..Entry::default()
    };
    let mut decoder: Box<dyn Read + '_> = match format {
        Format::Gzip => {
            // The header is parsed by the first read: make it, then hand its
            // bytes (or its error) on ahead of the rest.
            let mut d = flate2::read::MultiGzDecoder::new(reader);
            let mut first = vec![0u8; 64 << 10];
            let (n, err) = loop {
                match d.read(&mut first) {
                    Ok(n) => break (n, None),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break (0, Some(e)),
                }
            };
            first.truncate(n);
            if let Some(h) = d.header() {
                if let Some(f) = h.filename().filter(|f| !f.is_empty()) {
                    entry.name = f.to_vec();
                }
                entry.modified = (h.mtime() != 0).then(|| FileTime {
                    secs: h.mtime() as i64,
                    nanos: 0,
                });
            }
            Box::new(Cursor::new(first).chain(ErrAfter { inner: d, err }))
        }
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        Format::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(reader, true, memory_kb)),
        Format::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(reader)
                .map_err(|e| broken("the stream's start", e))?;
            // Windows up to the memory given (zstd --long uses more than the
            // 8 MiB that decoders accept unless told).
            let log = (u64::from(memory_kb) << 10)
                .max(1 << 10)
                .ilog2()
                .clamp(10, 31);
            let _ = d.window_log_max(log);
            Box::new(d)
        }
        _ => return Err(broken("the start", "not a compressed stream")),
    };
    visit(&entry, Some(&mut decoder));
    Ok(())
}

/// A reader that first returns an error held over from before, then reads on.
struct ErrAfter<R> {
    inner: R,
    err: Option<io::Error>,
}

impl<R: Read> Read for ErrAfter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        self.inner.read(buf)
    }
}
