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
//! Building sorts externally ([`sorter`]), so memory stays bounded
//! whatever the size of the set; the file is written under a temporary name and
//! renamed only when complete.

pub mod build;
mod layout;
pub mod sorter;

use super::{Algo, ContentCheck, HashSetLookup, PdqEntry, PdqMatch, SetEntry, SetInfo};
use crate::digest::pdq::Pdq;
use crate::digest::pdq_index::PdqIndexView;
pub use build::{in_memory, Builder, SORT_MEMORY};
use layout::*;
pub use layout::{Layout, PdqSection, Section, MAGIC, PDQ_RECORD, VERSION, VERSION_PDQ};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::path::Path;

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
        if version != VERSION && version != VERSION_PDQ {
            return Err(format!(
                "index format version {version}; this hashsweep reads versions {VERSION} and {VERSION_PDQ}"
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
        if let Some(p) = &layout.pdq {
            let within = |at: u64, len: Option<u64>| {
                len.and_then(|l| at.checked_add(l))
                    .is_some_and(|end| end <= bytes.len() as u64 && at.is_multiple_of(8))
            };
            let records = p.entries.checked_mul(PDQ_RECORD as u64);
            if !within(p.records, records)
                || !within(p.ids, Some(p.ids_len))
                || !within(p.search, Some(p.search_len))
            {
                return Err(
                    "truncated or corrupt index (the PDQ section lies outside the file)".into(),
                );
            }
            let search = &bytes[p.search as usize..(p.search + p.search_len) as usize];
            let view = crate::digest::pdq_index::PdqIndexView::new(search)
                .map_err(|e| format!("corrupt index (PDQ search structure: {e})"))?;
            if view.len() as u64 != p.entries {
                return Err("corrupt index (PDQ entry count)".into());
            }
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
                    if (at - FIXED as u64).is_multiple_of(64 << 20) && stop() {
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

    /// The PDQ section's records, identifiers and search structure.
    fn pdq_parts(&self) -> Option<(&[u8], &[u8], PdqIndexView<'_>)> {
        let p = self.layout.pdq.as_ref()?;
        let part = |at: u64, len: u64| &self.bytes[at as usize..(at + len) as usize];
        let view = PdqIndexView::new(part(p.search, p.search_len)).ok()?;
        Some((
            part(p.records, p.entries * PDQ_RECORD as u64),
            part(p.ids, p.ids_len),
            view,
        ))
    }

    /// Every PDQ entry, in hash order.
    pub fn pdq_entries(&self) -> impl Iterator<Item = PdqEntry> + '_ {
        let parts = self.pdq_parts();
        let (records, ids) = parts.as_ref().map_or((&[][..], &[][..]), |p| (p.0, p.1));
        records
            .chunks_exact(PDQ_RECORD)
            .map(move |r| decode_pdq(r, ids))
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

    fn find_pdq(&self, hash: &Pdq, max_distance: u32, out: &mut Vec<PdqMatch>) {
        let Some((records, ids, view)) = self.pdq_parts() else {
            return;
        };
        let mut found = Vec::new();
        view.search(hash, max_distance, &mut found);
        for (n, distance) in found {
            if let Some(r) = records.chunks_exact(PDQ_RECORD).nth(n as usize) {
                out.push(PdqMatch {
                    distance,
                    entry: decode_pdq(r, ids),
                });
            }
        }
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
    use crate::digest::EMPTY_MD5;
    use crate::hashset::{Category, Role};

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
