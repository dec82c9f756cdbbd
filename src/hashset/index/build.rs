//! Building an index: entries sorted externally, written as slotted tables,
//! the whole checksummed.

use super::layout::*;
use super::sorter::Sorter;
use super::IndexSet;
use crate::digest::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};
use crate::hashset::{Algo, PdqEntry, SetEntry, SetInfo};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

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
    pdq: Vec<PdqEntry>,
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
            pdq: Vec::new(),
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

    /// Adds one PDQ entry. They are held in memory until the index is written
    /// (about 100 bytes each).
    pub fn push_pdq(&mut self, e: PdqEntry) {
        self.pdq.push(e);
    }

    /// Entries kept so far (digest and PDQ), and empty-file digests dropped.
    pub fn kept(&self) -> (u64, u64) {
        (self.kept + self.pdq.len() as u64, self.empty_dropped)
    }

    /// Sorts, merges duplicates and writes the index to `out`. `info.counts` is
    /// completed here (records and bad records must already be set).
    pub fn write(
        mut self,
        mut info: SetInfo,
        out: &mut (impl Write + Seek),
    ) -> io::Result<SetInfo> {
        let mut columns: Vec<Algo> = ALGOS
            .into_iter()
            .zip(self.present)
            .filter(|(_, p)| *p)
            .map(|(a, _)| a)
            .collect();
        if columns.is_empty() && !self.pdq.is_empty() {
            // Only pictures: an empty MD5 table keeps the layout uniform.
            columns.push(Algo::Md5);
        }
        let primary = *columns
            .first()
            .ok_or_else(|| io::Error::other("the set holds no digests"))?;
        let pdq = pdq_parts(std::mem::take(&mut self.pdq));
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
        info.counts.duplicates = self.kept - n + pdq.duplicates;
        info.counts.pdq = pdq.entries;

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
            pdq: (pdq.entries > 0).then_some(PdqSection {
                entries: pdq.entries,
                records: 0,
                ids: 0,
                ids_len: pdq.ids.len() as u64,
                search: 0,
                search_len: pdq.search.len() as u64,
            }),
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
            if let Some(p) = layout.pdq.as_mut() {
                p.records = at;
                at = align8(at + p.entries * PDQ_RECORD as u64);
                p.ids = at;
                at = align8(at + p.ids_len);
                p.search = at;
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
        let version = if layout.pdq.is_some() {
            VERSION_PDQ
        } else {
            VERSION
        };
        fixed[8..12].copy_from_slice(&version.to_le_bytes());
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
        if let Some(p) = &layout.pdq {
            for (at, bytes) in [
                (p.records, &pdq.records),
                (p.ids, &pdq.ids),
                (p.search, &pdq.search),
            ] {
                w.pad_to(at)?;
                w.write_all(bytes)?;
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

/// Writes records in digest order into their slots, filling gaps with empty records.
pub(super) struct Placer {
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
pub(super) fn slot_secondary<const N: usize>(
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

pub(super) struct HashingWriter<W: Write> {
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

/// A set's PDQ entries, ready to write.
struct PdqParts {
    entries: u64,
    duplicates: u64,
    records: Vec<u8>,
    ids: Vec<u8>,
    search: Vec<u8>,
}

/// Sorts PDQ entries by hash, merges those that say the same thing (keeping
/// every source bit), and encodes them with their search structure.
fn pdq_parts(mut all: Vec<PdqEntry>) -> PdqParts {
    let read = all.len() as u64;
    all.sort_unstable_by(|a, b| {
        (a.hash, a.quality, a.category, &a.id).cmp(&(b.hash, b.quality, b.category, &b.id))
    });
    let mut kept: Vec<PdqEntry> = Vec::with_capacity(all.len());
    for e in all {
        match kept.last_mut() {
            Some(last) if last.same_content(&e) => last.sources |= e.sources,
            _ => kept.push(e),
        }
    }
    let mut records = Vec::with_capacity(kept.len() * PDQ_RECORD);
    let mut ids = Vec::new();
    let mut rec = [0u8; PDQ_RECORD];
    for e in &kept {
        encode_pdq(e, ids.len() as u64, &mut rec);
        records.extend_from_slice(&rec);
        if let Some(id) = &e.id {
            ids.extend_from_slice(id.as_bytes());
        }
    }
    let hashes: Vec<_> = kept.iter().map(|e| e.hash).collect();
    PdqParts {
        entries: kept.len() as u64,
        duplicates: read - kept.len() as u64,
        records,
        ids,
        search: crate::digest::pdq_index::build(&hashes),
    }
}
