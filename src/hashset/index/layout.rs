//! The index file's layout: constants, metadata, record geometry and how a
//! set entry is encoded as a sort key and as a record, and where a digest's
//! home slot is.

use crate::hashset::category::Category;
use crate::hashset::{Algo, SetEntry, SetInfo};
use serde::{Deserialize, Serialize};

/// The first 8 bytes of an index.
pub const MAGIC: &[u8; 8] = b"HSWPHSX\0";
/// The format version written for a set without PDQ entries (read by every
/// build).
pub const VERSION: u32 = 1;
/// The format version written for a set with PDQ entries, so that a build
/// that cannot read them refuses the index instead of ignoring them.
pub const VERSION_PDQ: u32 = 2;
pub(super) const FIXED: usize = 64;
/// Bytes of an entry record after its digests: size 8, flags 1, category 2, sources 2.
pub(super) const RECORD_TAIL: usize = 13;
/// Records per home slot, as a fraction: 4/5 leaves one slot in five free.
pub(super) const LOAD: (u64, u64) = (4, 5);
/// Sort record: presence byte + digest for each algorithm, size, category.
pub(super) const KEY: usize = 1 + 16 + 1 + 20 + 1 + 32 + 1 + 8 + 2 + 2;
pub(super) const ALGOS: [Algo; 3] = [Algo::Md5, Algo::Sha1, Algo::Sha256];

pub(super) fn dlen(a: Algo) -> usize {
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
    /// The PDQ entries, when the set has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<PdqSection>,
}

/// Where a set's PDQ entries are: their records (in hash order), the bytes of
/// their identifiers, and the search structure over their hashes
/// ([`crate::digest::pdq_index`]), each 8-aligned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PdqSection {
    /// Entries.
    pub entries: u64,
    /// Offset of the records, [`PDQ_RECORD`] bytes each.
    pub records: u64,
    /// Offset of the identifiers' bytes.
    pub ids: u64,
    /// Their length.
    pub ids_len: u64,
    /// Offset of the search structure.
    pub search: u64,
    /// Its length.
    pub search_len: u64,
}

/// Bytes of a PDQ record: the hash (16 words of 16 bits, little-endian, word 0
/// first) 32, quality 1 (255 when unknown), reserved 1, category 2, sources
/// 2, identifier length 2 and offset 8 (in the identifiers' bytes; length 0
/// when there is none).
pub const PDQ_RECORD: usize = 48;

/// Encodes a PDQ entry whose identifier starts at `id_at`.
pub(super) fn encode_pdq(e: &crate::hashset::PdqEntry, id_at: u64, rec: &mut [u8; PDQ_RECORD]) {
    for (i, w) in e.hash.0.iter().enumerate() {
        rec[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
    }
    rec[32] = e.quality.unwrap_or(255);
    rec[33] = 0;
    rec[34..36].copy_from_slice(&encode_category(e.category));
    rec[36..38].copy_from_slice(&e.sources.to_le_bytes());
    let len = e.id.as_ref().map_or(0, String::len) as u16;
    rec[38..40].copy_from_slice(&len.to_le_bytes());
    rec[40..48].copy_from_slice(&id_at.to_le_bytes());
}

/// Decodes a PDQ record, its identifier read from `ids`.
pub(super) fn decode_pdq(rec: &[u8], ids: &[u8]) -> crate::hashset::PdqEntry {
    let mut w = [0u16; 16];
    for (i, v) in w.iter_mut().enumerate() {
        *v = u16::from_le_bytes([rec[2 * i], rec[2 * i + 1]]);
    }
    let len = u16::from_le_bytes([rec[38], rec[39]]) as usize;
    let at = u64::from_le_bytes(rec[40..48].try_into().expect("8")) as usize;
    let id = (len > 0)
        .then(|| ids.get(at..at.saturating_add(len)))
        .flatten()
        .map(|b| String::from_utf8_lossy(b).into_owned());
    crate::hashset::PdqEntry {
        hash: crate::digest::pdq::Pdq(w),
        quality: (rec[32] <= 100).then_some(rec[32]),
        category: decode_category([rec[34], rec[35]]),
        id,
        sources: u16::from_le_bytes([rec[36], rec[37]]),
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct Meta {
    pub(super) info: SetInfo,
    pub(super) layout: Layout,
}

pub(super) fn algo_name(a: Algo) -> String {
    a.name().to_string()
}

pub(super) fn algo_of(name: &str) -> Option<Algo> {
    ALGOS.into_iter().find(|a| a.name() == name)
}

pub(super) fn encode_category(c: Option<Category>) -> [u8; 2] {
    match c {
        None => [0, 0],
        Some(Category::Us(n)) => [1, n],
        Some(Category::Uk(n)) => [2, n],
        Some(Category::Vics(n)) => [3, n],
        Some(Category::NsrlMalicious) => [4, b'M'],
    }
}

pub(super) fn decode_category(b: [u8; 2]) -> Option<Category> {
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
pub(super) fn key_of(e: &SetEntry) -> [u8; KEY] {
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

pub(super) fn entry_of_key(k: &[u8; KEY]) -> SetEntry {
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
pub(super) struct RecordLayout {
    pub(super) cols: Vec<(Algo, usize)>,
    pub(super) digest_bytes: usize,
}

impl RecordLayout {
    pub(super) fn new(columns: &[Algo]) -> RecordLayout {
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

    pub(super) fn record(&self) -> usize {
        self.digest_bytes + RECORD_TAIL
    }

    pub(super) fn col_at(&self, algo: Algo) -> Option<usize> {
        self.cols
            .iter()
            .find(|(a, _)| *a == algo)
            .map(|(_, at)| *at)
    }

    pub(super) fn flags_at(&self) -> usize {
        self.digest_bytes + 8
    }

    /// Writes `e` into `rec` (zeroed first).
    pub(super) fn encode(&self, e: &SetEntry, rec: &mut [u8]) {
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
    pub(super) fn decode(&self, r: &[u8]) -> SetEntry {
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

/// Home slots for `records` records: about 1.25 per record.
pub(super) fn homes_for(records: u64) -> u64 {
    (records * LOAD.1 / LOAD.0).max(1)
}

/// The home slot of a digest among `homes` slots.
pub(super) fn home(digest: &[u8], homes: u64) -> u64 {
    let lead = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    ((u128::from(lead) * u128::from(homes)) >> 64) as u64
}

/// `x` rounded up to a multiple of 8.
pub(super) fn align8(x: u64) -> u64 {
    (x + 7) & !7
}
