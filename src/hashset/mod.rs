//! Hash sets: what a set entry says, the lookup interface the matcher uses, an
//! in-memory set, and loading raw set files with format detection.
//!
//! Formats read here: plain digest lists, md5sum/sha1sum/sha256sum output in all
//! its forms (see [`digest_list`]) and hashdeep files (see [`hashdeep`]). The
//! format is told from the content, never from the file name.

pub mod category;
pub mod digest_list;
pub mod hashdeep;

pub use category::Category;

use crate::digest::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algo {
    /// MD5, 16 bytes.
    Md5,
    /// SHA-1, 20 bytes.
    Sha1,
    /// SHA-256, 32 bytes.
    Sha256,
}

impl Algo {
    /// The lower-case name used in reports and notes.
    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
        }
    }

    /// The algorithm whose hex digest has `len` characters.
    pub fn from_hex_len(len: usize) -> Option<Algo> {
        match len {
            32 => Some(Algo::Md5),
            40 => Some(Algo::Sha1),
            64 => Some(Algo::Sha256),
            _ => None,
        }
    }
}

/// What a set says about one file: any subset of its digests, its size when
/// known, and its category when the source gives one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SetEntry {
    /// MD5, when the source carries it.
    pub md5: Option<[u8; 16]>,
    /// SHA-1, when the source carries it.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256, when the source carries it.
    pub sha256: Option<[u8; 32]>,
    /// File size in bytes, when the source carries it.
    pub size: Option<u64>,
    /// Category in the source's scheme.
    pub category: Option<Category>,
}

impl SetEntry {
    /// Sets the digest of `algo` from raw bytes of the right length.
    pub fn set_digest(&mut self, algo: Algo, bytes: &[u8]) {
        match algo {
            Algo::Md5 => self.md5 = bytes.try_into().ok(),
            Algo::Sha1 => self.sha1 = bytes.try_into().ok(),
            Algo::Sha256 => self.sha256 = bytes.try_into().ok(),
        }
    }

    /// Whether the entry carries no digest at all.
    pub fn is_empty(&self) -> bool {
        self.md5.is_none() && self.sha1.is_none() && self.sha256.is_none()
    }

    /// Removes digests of the empty file; returns how many were removed.
    fn drop_empty_file_digests(&mut self) -> u64 {
        let mut n = 0;
        if self.md5 == Some(EMPTY_MD5) {
            self.md5 = None;
            n += 1;
        }
        if self.sha1 == Some(EMPTY_SHA1) {
            self.sha1 = None;
            n += 1;
        }
        if self.sha256 == Some(EMPTY_SHA256) {
            self.sha256 = None;
            n += 1;
        }
        n
    }
}

/// The role of a set: what a match means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A match is an alert (known abuse material, or anything to be flagged).
    Alert,
    /// A match marks a file as known and ignorable (e.g. NSRL software files).
    KnownGood,
}

impl Role {
    /// The role's name as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Alert => "alert",
            Role::KnownGood => "known-good",
        }
    }
}

/// Counts kept about a set's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SetCounts {
    /// Distinct entries kept.
    pub entries: u64,
    /// Entries carrying an MD5.
    pub md5: u64,
    /// Entries carrying a SHA-1.
    pub sha1: u64,
    /// Entries carrying a SHA-256.
    pub sha256: u64,
    /// Records read from the sources.
    pub records: u64,
    /// Records merged because they repeated an entry already kept.
    pub duplicates: u64,
    /// Digests of the empty file dropped (they would match every empty file).
    pub empty_file_digests_dropped: u64,
}

/// Metadata of a loaded set, written into the audit log and summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetInfo {
    /// The set's name, as shown in the `hashsets` column.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The detected source format.
    pub format: String,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// SHA-256 of the source file, lower-case hex.
    pub sha256: String,
    /// Content counts.
    pub counts: SetCounts,
}

/// The interface between the matcher and a set, whatever its storage.
pub trait HashSetLookup: Send + Sync {
    /// The set's metadata.
    fn info(&self) -> &SetInfo;
    /// Appends to `out` every entry that carries `digest` as its `algo` digest.
    fn find(&self, algo: Algo, digest: &[u8], out: &mut Vec<SetEntry>);
}

/// A set held in memory: its entries, and per algorithm a sorted array of
/// (digest, entry number) searched by binary search.
pub struct MemorySet {
    info: SetInfo,
    entries: Vec<SetEntry>,
    by_md5: Vec<([u8; 16], u32)>,
    by_sha1: Vec<([u8; 20], u32)>,
    by_sha256: Vec<([u8; 32], u32)>,
}

impl MemorySet {
    /// Builds a set from parsed records: drops empty-file digests, merges
    /// duplicates and indexes every digest. `info.counts` is filled in here.
    pub fn build(mut info: SetInfo, records: Vec<SetEntry>) -> MemorySet {
        let mut counts = SetCounts {
            records: records.len() as u64,
            ..SetCounts::default()
        };
        let mut entries: Vec<SetEntry> = records
            .into_iter()
            .filter_map(|mut e| {
                counts.empty_file_digests_dropped += e.drop_empty_file_digests();
                (!e.is_empty()).then_some(e)
            })
            .collect();
        let kept = entries.len() as u64;
        entries.sort_unstable();
        entries.dedup();
        counts.duplicates = kept - entries.len() as u64;
        counts.entries = entries.len() as u64;

        let mut by_md5 = Vec::new();
        let mut by_sha1 = Vec::new();
        let mut by_sha256 = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let i = i as u32;
            if let Some(d) = e.md5 {
                by_md5.push((d, i));
            }
            if let Some(d) = e.sha1 {
                by_sha1.push((d, i));
            }
            if let Some(d) = e.sha256 {
                by_sha256.push((d, i));
            }
        }
        by_md5.sort_unstable();
        by_sha1.sort_unstable();
        by_sha256.sort_unstable();
        counts.md5 = by_md5.len() as u64;
        counts.sha1 = by_sha1.len() as u64;
        counts.sha256 = by_sha256.len() as u64;
        info.counts = counts;
        MemorySet {
            info,
            entries,
            by_md5,
            by_sha1,
            by_sha256,
        }
    }

    /// The distinct entries, sorted.
    pub fn entries(&self) -> &[SetEntry] {
        &self.entries
    }
}

fn find_in<const N: usize>(
    index: &[([u8; N], u32)],
    entries: &[SetEntry],
    digest: &[u8],
    out: &mut Vec<SetEntry>,
) {
    let Ok(key) = <[u8; N]>::try_from(digest) else {
        return;
    };
    let start = index.partition_point(|(d, _)| *d < key);
    for (d, i) in &index[start..] {
        if *d != key {
            break;
        }
        out.push(entries[*i as usize]);
    }
}

impl HashSetLookup for MemorySet {
    fn info(&self) -> &SetInfo {
        &self.info
    }

    fn find(&self, algo: Algo, digest: &[u8], out: &mut Vec<SetEntry>) {
        match algo {
            Algo::Md5 => find_in(&self.by_md5, &self.entries, digest, out),
            Algo::Sha1 => find_in(&self.by_sha1, &self.entries, digest, out),
            Algo::Sha256 => find_in(&self.by_sha256, &self.entries, digest, out),
        }
    }
}

/// A problem in a set file's content: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: u64, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// Parsed content of a set file.
#[derive(Debug)]
pub struct Parsed {
    /// The format detected.
    pub format: &'static str,
    /// Every record, in file order.
    pub records: Vec<SetEntry>,
}

/// Detects the format of `data` and parses it.
pub fn parse(data: &[u8]) -> std::result::Result<Parsed, ParseError> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    if data.starts_with(b"\xff\xfe") || data.starts_with(b"\xfe\xff") {
        return Err(ParseError::new(
            1,
            "UTF-16 text is not supported for this format; convert it to UTF-8",
        ));
    }
    if hashdeep::sniff(data) {
        return hashdeep::parse(data);
    }
    if let Some(name) = not_yet_readable(data) {
        return Err(ParseError::new(
            0,
            format!("this looks like {name}, which this version cannot read yet; convert it to an md5sum or hashdeep list"),
        ));
    }
    digest_list::parse(data)
}

/// Recognises formats of the hash-set library that raw loading does not read yet,
/// so the error names the format instead of complaining about line 1.
fn not_yet_readable(data: &[u8]) -> Option<&'static str> {
    let first = data.trim_ascii_start();
    let line = &first[..first
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(first.len())];
    let has = |needle: &[u8]| line.windows(needle.len()).any(|w| w == needle);
    if data.starts_with(b"SQLite format 3\0") {
        Some("an SQLite database (NSRL RDSv3?)")
    } else if data.starts_with(b"HASH\r\n\xff\0") {
        Some("an EnCase hash set")
    } else if first.starts_with(b"{") || first.starts_with(b"[") {
        Some("JSON (Project VIC / CAID VICS?)")
    } else if data.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive")
    } else if line.starts_with(b"\"SHA-1\"") {
        Some("an NSRL RDS NSRLFile.txt")
    } else if line.starts_with(b"\"file_id\"") || line.starts_with(b"\"hashset_id\"") {
        Some("a HashKeeper file")
    } else if has(b"MD5;") || has(b"SHA1;") {
        Some("an INTERPOL ICSE CSV export")
    } else {
        None
    }
}

/// Reads, parses and indexes a raw set file. `name` defaults to the file stem.
pub fn load(path: &Path, name: Option<&str>, role: Role) -> Result<MemorySet> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let parsed = parse(&data).map_err(|e| Error::HashSet {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    if parsed.records.is_empty() {
        return Err(Error::HashSet {
            path: path.to_path_buf(),
            line: 0,
            message: "holds no digests".into(),
        });
    }
    let name = match name {
        Some(n) => n.to_string(),
        None => default_name(path),
    };
    let info = SetInfo {
        name,
        role,
        format: parsed.format.to_string(),
        path: path.to_path_buf(),
        sha256: crate::digest::to_hex(&Sha256::digest(&data)),
        counts: SetCounts::default(),
    };
    Ok(MemorySet::build(info, parsed.records))
}

/// The default name of a set: its file name without the last extension.
pub fn default_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> SetInfo {
        SetInfo {
            name: "t".into(),
            role: Role::Alert,
            format: "test".into(),
            path: PathBuf::from("t"),
            sha256: String::new(),
            counts: SetCounts::default(),
        }
    }

    #[test]
    fn build_drops_empty_digests_and_merges_duplicates() {
        let a = SetEntry {
            md5: Some([1; 16]),
            ..Default::default()
        };
        let empty = SetEntry {
            md5: Some(EMPTY_MD5),
            sha1: Some(EMPTY_SHA1),
            size: Some(0),
            ..Default::default()
        };
        let half_empty = SetEntry {
            md5: Some([2; 16]),
            sha256: Some(EMPTY_SHA256),
            ..Default::default()
        };
        let set = MemorySet::build(info(), vec![a, empty, a, half_empty]);
        let c = &set.info().counts;
        assert_eq!(c.records, 4);
        assert_eq!(c.entries, 2);
        assert_eq!(c.duplicates, 1);
        assert_eq!(c.empty_file_digests_dropped, 3);
        assert_eq!((c.md5, c.sha1, c.sha256), (2, 0, 0));
        let mut out = Vec::new();
        set.find(Algo::Md5, &EMPTY_MD5, &mut out);
        assert!(out.is_empty());
        set.find(Algo::Md5, &[1; 16], &mut out);
        assert_eq!(out, vec![a]);
    }

    #[test]
    fn find_returns_every_entry_sharing_a_digest() {
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
        let set = MemorySet::build(info(), vec![b, a]);
        let mut out = Vec::new();
        set.find(Algo::Md5, &[7; 16], &mut out);
        assert_eq!(out, vec![a, b]);
        out.clear();
        set.find(Algo::Sha1, &[2; 20], &mut out);
        assert_eq!(out, vec![b]);
        out.clear();
        set.find(Algo::Sha1, &[3; 20], &mut out);
        assert!(out.is_empty());
    }
}
