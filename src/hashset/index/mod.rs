//! The compiled hash-set index (`.hsx`): one file that opens in constant time
//! (memory-mapped) and answers lookups by touching a few cache lines.
//!
//! Layout, all integers little-endian unless noted:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `HSWPHSX\0` |
//! | 8 | 4 | format version (1) |
//! | 12 | 4 | reserved, 0 |
//! | 16 | 8 | length M of the metadata |
//! | 24 | 32 | SHA-256 of every byte from offset 64 to the end |
//! | 56 | 8 | reserved, 0 |
//! | 64 | M | metadata, JSON: the set's [`SetInfo`] and the [`Layout`] of the sections |
//! | ... | | sections, each starting at a multiple of 8 |
//!
//! Sections:
//! - **entries**: one fixed-width record per entry: the digests the set carries
//!   (MD5 16, SHA-1 20, SHA-256 32 bytes, in that order, zero when the entry lacks
//!   one), size (u64), flags (u8: 1 MD5, 2 SHA-1, 4 SHA-256, 8 size, 16
//!   category), category scheme (u8) and value (u8), and the sources that gave
//!   the entry (u16 bit mask). Flags 0 marks an empty slot.
//! - **secondary tables**, one per other digest type the set carries: the same
//!   entry records again, slotted by that digest, so a lookup by any digest
//!   reads one slot (this costs index size, about 1.25 records per entry and
//!   digest type, and saves a second dependent memory access per lookup).
//!
//! Every searchable array is *slotted*: with m home slots (about 1.25 per
//! record), a digest's home is `floor(first 8 bytes as a number x m / 2^64)`.
//! Records are in digest order, each at its home or, when that is taken, at the
//! first free slot after the record before it. So every slot from a record's home
//! to the record itself is occupied, and a lookup reads from the digest's home
//! forward until it meets an empty slot or a larger digest: one random memory
//! access and a short scan, whatever the size of the set. The entry table is
//! slotted by its *primary* digest (the first of MD5, SHA-1, SHA-256 the set
//! has); entries without it follow the slotted region and are found through the
//! secondary tables.
//!
//! Building sorts externally ([`super::sorter`]), so memory stays bounded
//! whatever the size of the set; the file is written under a temporary name and
//! renamed only when complete.

use super::category::Category;
pub mod sorter;

use super::{Algo, ContentCheck, HashSetLookup, SetEntry, SetInfo};
use crate::digest::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sorter::Sorter;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The first 8 bytes of an index.
pub const MAGIC: &[u8; 8] = b"HSWPHSX\0";
/// The format version written.
pub const VERSION: u32 = 1;
const FIXED: usize = 64;
/// Bytes of an entry record after its digests: size 8, flags 1, category 2, sources 2.
const RECORD_TAIL: usize = 13;
/// Records per home slot, as a fraction: 4/5 leaves one slot in five free.
const LOAD: (u64, u64) = (4, 5);
/// Sort record: presence byte + digest for each algorithm, size, category.
const KEY: usize = 1 + 16 + 1 + 20 + 1 + 32 + 1 + 8 + 2 + 2;
const ALGOS: [Algo; 3] = [Algo::Md5, Algo::Sha1, Algo::Sha256];

fn dlen(a: Algo) -> usize {
    match a {
        Algo::Md5 => 16,
        Algo::Sha1 => 20,
        Algo::Sha256 => 32,
    }
}

/// One searchable array.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Section {
    /// Byte offset in the file.
    pub offset: u64,
    /// Record positions in the slotted (searchable) region.
    pub slots: u64,
    /// Record positions in all, the slotted region and what follows it.
    pub positions: u64,
    /// Home slots: the digest's home is its first 8 bytes scaled to `homes`.
    pub homes: u64,
    /// Bytes per record.
    pub record: u64,
    /// Offset of the record's digest inside it.
    pub key_at: u64,
}

/// Where everything is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layout {
    /// Distinct entries.
    pub entries: u64,
    /// Digest columns of the entry records, in order.
    pub columns: Vec<String>,
    /// The primary digest (searched in the entry table itself).
    pub primary: String,
    /// The entry table, searchable over its first `count` records by the primary digest.
    pub table: Section,
    /// Secondary indexes by digest name.
    pub indexes: Vec<(String, Section)>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    info: SetInfo,
    layout: Layout,
}

fn algo_name(a: Algo) -> String {
    a.name().to_string()
}

fn algo_of(name: &str) -> Option<Algo> {
    ALGOS.into_iter().find(|a| a.name() == name)
}

fn encode_category(c: Option<Category>) -> [u8; 2] {
    match c {
        None => [0, 0],
        Some(Category::Us(n)) => [1, n],
        Some(Category::Uk(n)) => [2, n],
        Some(Category::Vics(n)) => [3, n],
        Some(Category::NsrlMalicious) => [4, b'M'],
    }
}

fn decode_category(b: [u8; 2]) -> Option<Category> {
    match b[0] {
        1 => Some(Category::Us(b[1])),
        2 => Some(Category::Uk(b[1])),
        3 => Some(Category::Vics(b[1])),
        4 => Some(Category::NsrlMalicious),
        _ => None,
    }
}

/// The sort key of an entry: entries with an MD5 first by MD5, then by SHA-1,
/// SHA-256, size and category, byte-wise.
fn key_of(e: &SetEntry) -> [u8; KEY] {
    let mut k = [0u8; KEY];
    let mut at = 0;
    let mut put = |present: bool, bytes: &[u8], k: &mut [u8; KEY]| {
        k[at] = u8::from(!present);
        k[at + 1..at + 1 + bytes.len()].copy_from_slice(bytes);
        at += 1 + bytes.len();
    };
    put(e.md5.is_some(), &e.md5.unwrap_or_default(), &mut k);
    put(e.sha1.is_some(), &e.sha1.unwrap_or_default(), &mut k);
    put(e.sha256.is_some(), &e.sha256.unwrap_or([0; 32]), &mut k);
    put(e.size.is_some(), &e.size.unwrap_or(0).to_be_bytes(), &mut k);
    k[KEY - 4..KEY - 2].copy_from_slice(&encode_category(e.category));
    k[KEY - 2..].copy_from_slice(&e.sources.to_be_bytes());
    k
}

fn entry_of_key(k: &[u8; KEY]) -> SetEntry {
    let mut e = SetEntry::default();
    let mut at = 0;
    if k[0] == 0 {
        e.md5 = Some(k[1..17].try_into().expect("16"));
    }
    at += 17;
    if k[at] == 0 {
        e.sha1 = Some(k[at + 1..at + 21].try_into().expect("20"));
    }
    at += 21;
    if k[at] == 0 {
        e.sha256 = Some(k[at + 1..at + 33].try_into().expect("32"));
    }
    at += 33;
    if k[at] == 0 {
        e.size = Some(u64::from_be_bytes(k[at + 1..at + 9].try_into().expect("8")));
    }
    e.category = decode_category([k[KEY - 4], k[KEY - 3]]);
    e.sources = u16::from_be_bytes([k[KEY - 2], k[KEY - 1]]);
    e
}

/// How entry records of one index are laid out: the digest columns the set
/// carries, then size, flags, category and sources.
#[derive(Debug, Clone)]
struct RecordLayout {
    cols: Vec<(Algo, usize)>,
    digest_bytes: usize,
}

impl RecordLayout {
    fn new(columns: &[Algo]) -> RecordLayout {
        let mut at = 0;
        let cols = columns
            .iter()
            .map(|a| {
                let c = (*a, at);
                at += dlen(*a);
                c
            })
            .collect();
        RecordLayout {
            cols,
            digest_bytes: at,
        }
    }

    fn record(&self) -> usize {
        self.digest_bytes + RECORD_TAIL
    }

    fn col_at(&self, algo: Algo) -> Option<usize> {
        self.cols
            .iter()
            .find(|(a, _)| *a == algo)
            .map(|(_, at)| *at)
    }

    fn flags_at(&self) -> usize {
        self.digest_bytes + 8
    }

    /// Writes `e` into `rec` (zeroed first).
    fn encode(&self, e: &SetEntry, rec: &mut [u8]) {
        rec.fill(0);
        let mut flags = 0u8;
        for (i, a) in ALGOS.into_iter().enumerate() {
            let d: Option<&[u8]> = match a {
                Algo::Md5 => e.md5.as_ref().map(|d| &d[..]),
                Algo::Sha1 => e.sha1.as_ref().map(|d| &d[..]),
                Algo::Sha256 => e.sha256.as_ref().map(|d| &d[..]),
            };
            if let (Some(d), Some(at)) = (d, self.col_at(a)) {
                rec[at..at + d.len()].copy_from_slice(d);
                flags |= 1 << i;
            }
        }
        let t = self.digest_bytes;
        rec[t..t + 8].copy_from_slice(&e.size.unwrap_or(0).to_le_bytes());
        if e.size.is_some() {
            flags |= 8;
        }
        if e.category.is_some() {
            flags |= 16;
        }
        rec[t + 8] = flags;
        rec[t + 9..t + 11].copy_from_slice(&encode_category(e.category));
        rec[t + 11..t + 13].copy_from_slice(&e.sources.to_le_bytes());
    }

    /// Reads an entry record.
    fn decode(&self, r: &[u8]) -> SetEntry {
        let t = self.digest_bytes;
        let flags = r[t + 8];
        let mut e = SetEntry::default();
        for (i, a) in ALGOS.into_iter().enumerate() {
            if flags & (1 << i) != 0 {
                if let Some(at) = self.col_at(a) {
                    e.set_digest(a, &r[at..at + dlen(a)]);
                }
            }
        }
        if flags & 8 != 0 {
            e.size = Some(u64::from_le_bytes(r[t..t + 8].try_into().expect("8")));
        }
        if flags & 16 != 0 {
            e.category = decode_category([r[t + 9], r[t + 10]]);
        }
        e.sources = u16::from_le_bytes([r[t + 11], r[t + 12]]);
        e
    }
}

/// Collects entries and writes an index.
pub struct Builder {
    entries: Sorter<KEY>,
    memory: usize,
    tmp_dir: Option<PathBuf>,
    present: [bool; 3],
    /// Entries kept that carry each digest (before duplicates are merged).
    kept_with: [u64; 3],
    empty_dropped: u64,
    kept: u64,
}

impl Builder {
    /// A builder using about `memory` bytes for sorting; temporary files go to
    /// `tmp_dir` (the system default when `None`).
    pub fn new(memory: usize, tmp_dir: Option<PathBuf>) -> Builder {
        Builder {
            entries: Sorter::new(memory, tmp_dir.clone()),
            memory,
            tmp_dir,
            present: [false; 3],
            kept_with: [0; 3],
            empty_dropped: 0,
            kept: 0,
        }
    }

    /// Adds one entry as parsed: empty-file digests are dropped (and counted),
    /// and an entry left without any digest is not kept.
    pub fn push(&mut self, mut e: SetEntry) -> io::Result<()> {
        for (slot, empty) in [
            (e.md5.as_ref().map(|d| &d[..]), &EMPTY_MD5[..]),
            (e.sha1.as_ref().map(|d| &d[..]), &EMPTY_SHA1[..]),
            (e.sha256.as_ref().map(|d| &d[..]), &EMPTY_SHA256[..]),
        ] {
            if slot == Some(empty) {
                self.empty_dropped += 1;
            }
        }
        if e.md5 == Some(EMPTY_MD5) {
            e.md5 = None;
        }
        if e.sha1 == Some(EMPTY_SHA1) {
            e.sha1 = None;
        }
        if e.sha256 == Some(EMPTY_SHA256) {
            e.sha256 = None;
        }
        if e.is_empty() {
            return Ok(());
        }
        for (i, has) in [e.md5.is_some(), e.sha1.is_some(), e.sha256.is_some()]
            .into_iter()
            .enumerate()
        {
            self.present[i] |= has;
            self.kept_with[i] += u64::from(has);
        }
        self.kept += 1;
        self.entries.push(key_of(&e))
    }

    /// Entries kept so far, and empty-file digests dropped.
    pub fn kept(&self) -> (u64, u64) {
        (self.kept, self.empty_dropped)
    }

    /// Sorts, merges duplicates and writes the index to `out`. `info.counts` is
    /// completed here (records and bad records must already be set).
    pub fn write(self, mut info: SetInfo, out: &mut (impl Write + Seek)) -> io::Result<SetInfo> {
        let columns: Vec<Algo> = ALGOS
            .into_iter()
            .zip(self.present)
            .filter(|(_, p)| *p)
            .map(|(a, _)| a)
            .collect();
        let primary = *columns
            .first()
            .ok_or_else(|| io::Error::other("the set holds no digests"))?;
        let layout_rec = RecordLayout::new(&columns);
        let record = layout_rec.record();
        let key_at = layout_rec.col_at(primary).expect("the primary is a column");

        // Pass 1: distinct entries in key order -> entry table slotted by the
        // primary digest (temp file); each entry also goes, keyed by its other
        // digests, to the sorters of the secondary tables.
        let tmp = |dir: &Option<PathBuf>| match dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        };
        let mut table = BufWriter::with_capacity(1 << 20, tmp(&self.tmp_dir)?);
        let mut sec1: Option<Sorter<{ 20 + KEY }>> = (primary != Algo::Sha1 && self.present[1])
            .then(|| Sorter::new(self.memory / 2, self.tmp_dir.clone()));
        let mut sec2: Option<Sorter<{ 32 + KEY }>> = (primary != Algo::Sha256 && self.present[2])
            .then(|| Sorter::new(self.memory / 2, self.tmp_dir.clone()));
        let primary_at = ALGOS.iter().position(|a| *a == primary).expect("primary");
        let homes = homes_for(self.kept_with[primary_at]);
        let mut placer = Placer::new(homes, record);
        let mut n = 0u64;
        let mut counts = [0u64; 3];
        let mut rec = vec![0u8; record];
        // Entries that differ only in their sources arrive next to each other
        // (sources sort last): they merge into one, with every source bit kept.
        let mut pending: Option<SetEntry> = None;
        let mut emit = |e: SetEntry| -> io::Result<()> {
            layout_rec.encode(&e, &mut rec);
            for (i, has) in [e.md5.is_some(), e.sha1.is_some(), e.sha256.is_some()]
                .into_iter()
                .enumerate()
            {
                counts[i] += u64::from(has);
            }
            if rec[layout_rec.flags_at()] & (1 << primary_at) != 0 {
                placer.place(&mut table, &rec[key_at..key_at + dlen(primary)], &rec)?;
            } else {
                placer.append(&mut table, &rec)?;
            }
            let key = key_of(&e);
            if let (Some(s), Some(d)) = (sec1.as_mut(), e.sha1) {
                let mut r = [0u8; 20 + KEY];
                r[..20].copy_from_slice(&d);
                r[20..].copy_from_slice(&key);
                s.push(r)?;
            }
            if let (Some(s), Some(d)) = (sec2.as_mut(), e.sha256) {
                let mut r = [0u8; 32 + KEY];
                r[..32].copy_from_slice(&d);
                r[32..].copy_from_slice(&key);
                s.push(r)?;
            }
            n += 1;
            Ok(())
        };
        self.entries.finish(|k| {
            let e = entry_of_key(k);
            match pending.as_mut() {
                Some(p) if p.same_content(&e) => p.sources |= e.sources,
                _ => {
                    if let Some(p) = pending.replace(e) {
                        emit(p)?;
                    }
                }
            }
            Ok(())
        })?;
        if let Some(p) = pending.take() {
            emit(p)?;
        }
        let table_section = placer.section(record, key_at);
        let table = table.into_inner().map_err(|e| e.into_error())?;

        // Pass 2: slotted secondary indexes, to temp files.
        let mut parts: Vec<(Algo, File, Section)> = Vec::new();
        if let Some(s) = sec1 {
            let (f, sec) =
                slot_secondary(s, counts[1], Algo::Sha1, &layout_rec, tmp(&self.tmp_dir)?)?;
            parts.push((Algo::Sha1, f, sec));
        }
        if let Some(s) = sec2 {
            let (f, sec) =
                slot_secondary(s, counts[2], Algo::Sha256, &layout_rec, tmp(&self.tmp_dir)?)?;
            parts.push((Algo::Sha256, f, sec));
        }

        // Counts.
        info.counts.entries = n;
        info.counts.md5 = counts[0];
        info.counts.sha1 = counts[1];
        info.counts.sha256 = counts[2];
        info.counts.empty_file_digests_dropped = self.empty_dropped;
        info.counts.duplicates = self.kept - n;

        // Layout: header, metadata, then each section 8-aligned. The metadata
        // holds the offsets and its length moves them: iterate to a fixed point.
        let mut layout = Layout {
            entries: n,
            columns: columns.iter().map(|a| algo_name(*a)).collect(),
            primary: algo_name(primary),
            table: table_section,
            indexes: parts
                .iter()
                .map(|(a, _, sec)| (algo_name(*a), sec.clone()))
                .collect(),
        };
        let mut meta_len = 0usize;
        let mut meta = Vec::new();
        for _ in 0..8 {
            let mut at = align8((FIXED + meta_len) as u64);
            layout.table.offset = at;
            at = align8(at + layout.table.positions * layout.table.record);
            for (_, sec) in layout.indexes.iter_mut() {
                sec.offset = at;
                at = align8(at + sec.positions * sec.record);
            }
            meta = serde_json::to_vec(&Meta {
                info: info.clone(),
                layout: layout.clone(),
            })
            .map_err(io::Error::other)?;
            if meta.len() == meta_len {
                break;
            }
            meta_len = meta.len();
        }
        if meta.len() != meta_len {
            return Err(io::Error::other("index metadata length did not settle"));
        }

        // Write: fixed header (checksum last), metadata, sections.
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, &mut *out),
            hasher: Sha256::new(),
            pos: 0,
            hashing: false,
        };
        let mut fixed = [0u8; FIXED];
        fixed[..8].copy_from_slice(MAGIC);
        fixed[8..12].copy_from_slice(&VERSION.to_le_bytes());
        fixed[16..24].copy_from_slice(&(meta.len() as u64).to_le_bytes());
        w.write_all(&fixed)?;
        w.hashing = true;
        w.write_all(&meta)?;
        let sections: Vec<(&Section, File)> = std::iter::once((&layout.table, table))
            .chain(
                layout
                    .indexes
                    .iter()
                    .map(|(_, s)| s)
                    .zip(parts.into_iter().map(|p| p.1)),
            )
            .collect();
        for (sec, mut src) in sections {
            w.pad_to(sec.offset)?;
            src.seek(SeekFrom::Start(0))?;
            let copied = io::copy(&mut BufReader::with_capacity(1 << 20, src), &mut w)?;
            if copied != sec.positions * sec.record {
                return Err(io::Error::other("index section size mismatch"));
            }
        }
        w.pad_to(align8(w.pos))?;
        let digest: [u8; 32] = w.hasher.finalize().into();
        let inner = w.inner.into_inner().map_err(|e| e.into_error())?;
        inner.seek(SeekFrom::Start(24))?;
        inner.write_all(&digest)?;
        inner.seek(SeekFrom::End(0))?;
        info.sha256 = crate::digest::to_hex(&digest);
        Ok(info)
    }
}

/// Asks the CPU to start loading the cache line holding `bytes[0]`.
#[inline]
fn prefetch_read(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; the pointer is valid (from a live slice).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            bytes.as_ptr().cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Home slots for `records` records.
fn homes_for(records: u64) -> u64 {
    (records * LOAD.1 / LOAD.0).max(1)
}

/// The home slot of a digest among `homes` slots.
fn home(digest: &[u8], homes: u64) -> u64 {
    let lead = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    ((u128::from(lead) * u128::from(homes)) >> 64) as u64
}

/// Writes records in digest order into their slots, filling gaps with empty records.
struct Placer {
    homes: u64,
    next: u64,
    slots: Option<u64>,
    empty: Vec<u8>,
}

impl Placer {
    fn new(homes: u64, record: usize) -> Placer {
        Placer {
            homes,
            next: 0,
            slots: None,
            empty: vec![0u8; record],
        }
    }

    /// Places a record whose digest is `key`; returns its slot.
    fn place(&mut self, w: &mut impl Write, key: &[u8], rec: &[u8]) -> io::Result<u64> {
        debug_assert!(self.slots.is_none(), "slotted records come first");
        let slot = home(key, self.homes).max(self.next);
        while self.next < slot {
            w.write_all(&self.empty)?;
            self.next += 1;
        }
        w.write_all(rec)?;
        self.next += 1;
        Ok(slot)
    }

    /// Appends a record after the slotted region; returns its position.
    fn append(&mut self, w: &mut impl Write, rec: &[u8]) -> io::Result<u64> {
        self.slots.get_or_insert(self.next);
        w.write_all(rec)?;
        self.next += 1;
        Ok(self.next - 1)
    }

    fn section(&self, record: usize, key_at: usize) -> Section {
        Section {
            offset: 0,
            slots: self.slots.unwrap_or(self.next),
            positions: self.next,
            homes: self.homes,
            record: record as u64,
            key_at: key_at as u64,
        }
    }
}

/// Drains entries sorted by their `algo` digest into an entry table slotted by it.
fn slot_secondary<const N: usize>(
    s: Sorter<N>,
    count: u64,
    algo: Algo,
    layout: &RecordLayout,
    file: File,
) -> io::Result<(File, Section)> {
    let d = dlen(algo);
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut placer = Placer::new(homes_for(count), layout.record());
    let mut rec = vec![0u8; layout.record()];
    s.finish(|r| {
        let key: &[u8; KEY] = r[d..].try_into().expect("entry key");
        layout.encode(&entry_of_key(key), &mut rec);
        placer.place(&mut w, &r[..d], &rec).map(|_| ())
    })?;
    let f = w.into_inner().map_err(|e| e.into_error())?;
    let key_at = layout.col_at(algo).expect("the set carries this digest");
    Ok((f, placer.section(layout.record(), key_at)))
}

/// Builds an index in memory from entries (raw set files given to `scan`, tests).
pub fn in_memory(
    info: SetInfo,
    entries: impl IntoIterator<Item = SetEntry>,
) -> io::Result<IndexSet> {
    let mut b = Builder::new(SORT_MEMORY, None);
    for e in entries {
        b.push(e)?;
    }
    let mut out = io::Cursor::new(Vec::new());
    b.write(info, &mut out)?;
    IndexSet::from_vec(out.into_inner()).map_err(io::Error::other)
}

/// Memory the builder uses for sorting before it spills runs to disk.
pub const SORT_MEMORY: usize = 768 << 20;

fn align8(x: u64) -> u64 {
    (x + 7) & !7
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    pos: u64,
    hashing: bool,
}

impl<W: Write> HashingWriter<W> {
    fn pad_to(&mut self, at: u64) -> io::Result<()> {
        let pad = at
            .checked_sub(self.pos)
            .ok_or_else(|| io::Error::other("index layout overlap"))?;
        self.write_all(&vec![0u8; pad as usize])
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if self.hashing {
            self.hasher.update(&buf[..n]);
        }
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes of an index: a memory map of a file (with the file, which the
/// checksum is read from), or a buffer built in memory.
enum Bytes {
    Map(memmap2::Mmap, File),
    Mem(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Map(m, _) => m,
            Bytes::Mem(v) => v,
        }
    }
}

/// An open index.
pub struct IndexSet {
    bytes: Bytes,
    info: SetInfo,
    layout: Layout,
    rec: RecordLayout,
    primary: Algo,
    secondary: Vec<(Algo, Section)>,
}

/// Whether a file starts like an index.
pub fn is_index(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

impl IndexSet {
    /// Opens an index file: maps it and reads its metadata. Cost does not grow with
    /// the size of the set; the body checksum is checked by [`IndexSet::verify`].
    pub fn open(path: &Path) -> Result<IndexSet, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        IndexSet::from_file(&file)
    }

    /// Opens an index from an open file (see [`IndexSet::open`]).
    pub fn from_file(file: &File) -> Result<IndexSet, String> {
        // SAFETY: the map is read-only; the index file is not modified while open
        // (indexes are written under another name and renamed into place).
        let map = unsafe { memmap2::Mmap::map(file) }.map_err(|e| e.to_string())?;
        let file = file.try_clone().map_err(|e| e.to_string())?;
        IndexSet::from_bytes(Bytes::Map(map, file))
    }

    /// An index held in memory.
    pub fn from_vec(bytes: Vec<u8>) -> Result<IndexSet, String> {
        IndexSet::from_bytes(Bytes::Mem(bytes))
    }

    fn from_bytes(bytes: Bytes) -> Result<IndexSet, String> {
        if bytes.len() < FIXED || !bytes.starts_with(MAGIC) {
            return Err("not a hashsweep index".into());
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4"));
        if version != VERSION {
            return Err(format!(
                "index format version {version}; this hashsweep reads version {VERSION}"
            ));
        }
        let meta_len = u64::from_le_bytes(bytes[16..24].try_into().expect("8")) as usize;
        let meta_end = FIXED
            .checked_add(meta_len)
            .filter(|e| *e <= bytes.len())
            .ok_or("truncated index (metadata)")?;
        let meta: Meta = serde_json::from_slice(&bytes[FIXED..meta_end])
            .map_err(|e| format!("index metadata: {e}"))?;
        let layout = meta.layout;
        let columns: Vec<Algo> = layout
            .columns
            .iter()
            .map(|c| algo_of(c).ok_or_else(|| format!("unknown column {c}")))
            .collect::<Result<_, _>>()?;
        let rec = RecordLayout::new(&columns);
        let primary = algo_of(&layout.primary).ok_or("unknown primary digest")?;
        let secondary: Vec<(Algo, Section)> = layout
            .indexes
            .iter()
            .map(|(n, s)| {
                algo_of(n)
                    .map(|a| (a, s.clone()))
                    .ok_or_else(|| format!("unknown index {n}"))
            })
            .collect::<Result<_, _>>()?;
        let check = |algo: Algo, s: &Section| -> Result<(), String> {
            let end = s
                .offset
                .checked_add(s.positions.checked_mul(s.record).ok_or("corrupt index")?);
            if end.is_none_or(|e| e > bytes.len() as u64) || s.slots > s.positions || s.homes == 0 {
                return Err("truncated or corrupt index (a section lies outside the file)".into());
            }
            if s.record != rec.record() as u64 || Some(s.key_at as usize) != rec.col_at(algo) {
                return Err("corrupt index (record layout)".into());
            }
            Ok(())
        };
        check(primary, &layout.table)?;
        for (a, s) in &secondary {
            check(*a, s)?;
        }
        let mut info = meta.info;
        info.sha256 = crate::digest::to_hex(&bytes[24..56]);
        Ok(IndexSet {
            bytes,
            info,
            layout,
            rec,
            primary,
            secondary,
        })
    }

    /// Recomputes the body checksum and compares it with the header.
    pub fn verify(&self) -> Result<(), String> {
        match self.check(&|| false) {
            ContentCheck::Failed(m) => Err(m),
            _ => Ok(()),
        }
    }

    /// [`IndexSet::verify`], giving up when `stop` says so. A mapped index is
    /// read from its file, not through the map the lookups use: a bad sector
    /// is then a read error, not a fault in the scan, and the index does not
    /// stay resident in this process.
    pub fn check(&self, stop: &dyn Fn() -> bool) -> ContentCheck {
        let mut h = Sha256::new();
        match &self.bytes {
            Bytes::Mem(v) => h.update(&v[FIXED..]),
            Bytes::Map(_, file) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; 1 << 20];
                let mut at = FIXED as u64;
                let end = self.bytes.len() as u64;
                while at < end {
                    if (at - FIXED as u64) % (64 << 20) == 0 && stop() {
                        return ContentCheck::Stopped;
                    }
                    let want = buf.len().min((end - at) as usize);
                    match file.read_at(&mut buf[..want], at) {
                        Ok(0) => {
                            return ContentCheck::Failed(
                                "the index file is shorter than when it was opened".into(),
                            )
                        }
                        Ok(n) => {
                            h.update(&buf[..n]);
                            at += n as u64;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            return ContentCheck::Failed(format!(
                                "cannot read the index at byte {at}: {e}"
                            ))
                        }
                    }
                }
            }
        }
        if h.finalize()[..] != self.bytes[24..56] {
            return ContentCheck::Failed(
                "the index checksum does not match its content (corrupt or altered)".into(),
            );
        }
        ContentCheck::Verified
    }

    /// Gives the set a name and role other than the stored ones (from the command line).
    pub fn rename(&mut self, name: Option<&str>, role: Option<super::Role>) {
        if let Some(n) = name {
            self.info.name = n.to_string();
        }
        if let Some(r) = role {
            self.info.role = r;
        }
    }

    /// Sets the file the set was loaded from.
    pub fn set_path(&mut self, path: &Path) {
        self.info.path = path.to_path_buf();
    }

    /// Sets the digest the set is known by (a raw file's own SHA-256).
    pub fn set_identity(&mut self, sha256: &str) {
        self.info.sha256 = sha256.to_string();
    }

    /// The layout, for `hashset info`.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Size of the index in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The record at position `i` of `sec`.
    fn record_at(&self, sec: &Section, i: u64) -> &[u8] {
        let at = sec.offset as usize + i as usize * sec.record as usize;
        &self.bytes[at..at + sec.record as usize]
    }

    fn entry(&self, i: u64) -> SetEntry {
        self.rec.decode(self.record_at(&self.layout.table, i))
    }

    /// Every entry, in table order.
    pub fn entries(&self) -> impl Iterator<Item = SetEntry> + '_ {
        (0..self.layout.table.positions)
            .filter(|&i| self.flags(i) != 0)
            .map(|i| self.entry(i))
    }

    fn flags(&self, i: u64) -> u8 {
        self.record_at(&self.layout.table, i)[self.rec.flags_at()]
    }

    /// The slotted table searched for `algo`, if the set carries that digest.
    fn section(&self, algo: Algo) -> Option<&Section> {
        if algo == self.primary {
            return Some(&self.layout.table);
        }
        self.secondary
            .iter()
            .find(|(a, _)| *a == algo)
            .map(|(_, s)| s)
    }

    /// Calls `hit` with each record of the slotted region of `sec` whose digest
    /// equals `digest`: reads from the digest's home slot forward until an empty
    /// slot (`empty` says which) or a larger digest.
    fn search(
        &self,
        sec: &Section,
        digest: &[u8],
        empty: impl Fn(&[u8]) -> bool,
        mut hit: impl FnMut(u64, &[u8]),
    ) {
        let rec = sec.record as usize;
        let base = sec.offset as usize;
        let key_at = sec.key_at as usize;
        let mut i = home(digest, sec.homes);
        while i < sec.slots {
            let at = base + i as usize * rec;
            let r = &self.bytes[at..at + rec];
            if empty(r) {
                return;
            }
            match r[key_at..key_at + digest.len()].cmp(digest) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => hit(i, r),
                std::cmp::Ordering::Greater => return,
            }
            i += 1;
        }
    }
}

impl HashSetLookup for IndexSet {
    fn info(&self) -> &SetInfo {
        &self.info
    }

    fn stored_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn verify_content(&self, stop: &dyn Fn() -> bool) -> ContentCheck {
        match self.bytes {
            Bytes::Map(..) => self.check(stop),
            Bytes::Mem(_) => ContentCheck::NotStored,
        }
    }

    fn prefetch(&self, algo: Algo, digest: &[u8]) {
        if digest.len() != dlen(algo) {
            return;
        }
        if let Some(sec) = self.section(algo) {
            let i = home(digest, sec.homes);
            if i < sec.slots {
                prefetch_read(self.record_at(sec, i));
            }
        }
    }

    /// Every query's home slot is requested before any is read.
    fn find_batch(&self, queries: &[(Algo, &[u8])], out: &mut Vec<(usize, SetEntry)>) {
        for (algo, digest) in queries {
            self.prefetch(*algo, digest);
        }
        let flags_at = self.rec.flags_at();
        for (q, (algo, digest)) in queries.iter().enumerate() {
            if digest.len() != dlen(*algo) {
                continue;
            }
            if let Some(sec) = self.section(*algo) {
                self.search(
                    sec,
                    digest,
                    |r| r[flags_at] == 0,
                    |_, r| out.push((q, self.rec.decode(r))),
                );
            }
        }
    }

    fn find(&self, algo: Algo, digest: &[u8], out: &mut Vec<SetEntry>) {
        if digest.len() != dlen(algo) {
            return;
        }
        if let Some(sec) = self.section(algo) {
            let flags_at = self.rec.flags_at();
            self.search(
                sec,
                digest,
                |r| r[flags_at] == 0,
                |_, r| out.push(self.rec.decode(r)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashset::Role;

    fn info() -> SetInfo {
        SetInfo::new("t", Role::Alert, "test", Path::new("t"))
    }

    fn build(entries: &[SetEntry], memory: usize) -> IndexSet {
        let mut b = Builder::new(memory, None);
        for e in entries {
            b.push(*e).unwrap();
        }
        let mut out = io::Cursor::new(Vec::new());
        let info = b.write(info(), &mut out).unwrap();
        let set = IndexSet::from_vec(out.into_inner()).unwrap();
        set.verify().unwrap();
        assert_eq!(set.info().sha256, info.sha256);
        set
    }

    fn pseudo(n: u64, seed: u64) -> Vec<u8> {
        let mut s = seed.wrapping_mul(0x9e3779b97f4a7c15) ^ n;
        (0..32)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    #[test]
    fn every_entry_is_found_by_every_digest_and_absent_ones_are_not() {
        let mut entries = Vec::new();
        for i in 0..5000u64 {
            let d = pseudo(i, 1);
            let mut e = SetEntry::default();
            match i % 4 {
                0 => e.md5 = Some(d[..16].try_into().unwrap()),
                1 => e.sha1 = Some(d[..20].try_into().unwrap()),
                2 => {
                    e.md5 = Some(d[..16].try_into().unwrap());
                    e.sha1 = Some(pseudo(i, 2)[..20].try_into().unwrap());
                    e.size = Some(i);
                    e.category = Some(Category::Us((i % 5) as u8));
                }
                _ => {
                    e.sha256 = Some(d[..32].try_into().unwrap());
                    e.md5 = Some(pseudo(i, 3)[..16].try_into().unwrap());
                }
            }
            entries.push(e);
        }
        // Duplicates and an empty-file digest.
        entries.push(entries[10]);
        entries.push(SetEntry {
            md5: Some(EMPTY_MD5),
            ..Default::default()
        });
        for memory in [1 << 30, 0] {
            let set = build(&entries, memory);
            let c = &set.info().counts;
            assert_eq!(
                (c.entries, c.duplicates, c.empty_file_digests_dropped),
                (5000, 1, 1)
            );
            for e in &entries[..5000] {
                for (algo, d) in [
                    (Algo::Md5, e.md5.map(|d| d.to_vec())),
                    (Algo::Sha1, e.sha1.map(|d| d.to_vec())),
                    (Algo::Sha256, e.sha256.map(|d| d.to_vec())),
                ] {
                    if let Some(d) = d {
                        let mut out = Vec::new();
                        set.find(algo, &d, &mut out);
                        assert_eq!(out, vec![*e], "{algo:?}");
                    }
                }
            }
            // The batched lookup returns exactly what single lookups return.
            let queries: Vec<(Algo, Vec<u8>)> = entries[..300]
                .iter()
                .flat_map(|e| {
                    [
                        e.md5.map(|d| (Algo::Md5, d.to_vec())),
                        e.sha1.map(|d| (Algo::Sha1, d.to_vec())),
                        e.sha256.map(|d| (Algo::Sha256, d.to_vec())),
                        Some((Algo::Sha1, pseudo(7, 7)[..20].to_vec())),
                    ]
                })
                .flatten()
                .collect();
            let refs: Vec<(Algo, &[u8])> = queries.iter().map(|(a, d)| (*a, &d[..])).collect();
            let mut batch = Vec::new();
            set.find_batch(&refs, &mut batch);
            let mut single = Vec::new();
            for (q, (a, d)) in refs.iter().enumerate() {
                let mut one = Vec::new();
                set.find(*a, d, &mut one);
                single.extend(one.into_iter().map(|e| (q, e)));
            }
            batch.sort();
            single.sort();
            assert_eq!(batch, single);
            assert!(batch.len() > 300);

            let mut out = Vec::new();
            for i in 0..2000 {
                let d = pseudo(i, 99);
                set.find(Algo::Md5, &d[..16], &mut out);
                set.find(Algo::Sha1, &d[..20], &mut out);
                set.find(Algo::Sha256, &d, &mut out);
            }
            assert!(out.is_empty());
            set.find(Algo::Md5, &EMPTY_MD5, &mut out);
            assert!(out.is_empty());
        }
    }

    #[test]
    fn entries_sharing_a_digest_are_all_returned() {
        let a = SetEntry {
            md5: Some([7; 16]),
            sha1: Some([1; 20]),
            ..Default::default()
        };
        let b = SetEntry {
            md5: Some([7; 16]),
            sha1: Some([2; 20]),
            ..Default::default()
        };
        let set = build(&[b, a], 1 << 20);
        let mut out = Vec::new();
        set.find(Algo::Md5, &[7; 16], &mut out);
        assert_eq!(out, vec![a, b]);
    }

    #[test]
    fn corruption_is_detected() {
        let mut b = Builder::new(1 << 20, None);
        b.push(SetEntry {
            md5: Some([7; 16]),
            ..Default::default()
        })
        .unwrap();
        let mut out = io::Cursor::new(Vec::new());
        b.write(info(), &mut out).unwrap();
        let mut bytes = out.into_inner();
        let last = bytes.len() - 9;
        bytes[last] ^= 1;
        let set = IndexSet::from_vec(bytes.clone()).unwrap();
        assert!(set.verify().is_err());
        bytes.truncate(bytes.len() - 30);
        assert!(IndexSet::from_vec(bytes).is_err());
    }
}
