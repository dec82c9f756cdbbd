//! Hash sets: what a set entry says, the lookup interface the matcher uses, an
//! in-memory set, and loading raw set files with format detection.
//!
//! Formats: NSRL RDS 2.x text, plain or zipped, and RDSv3 SQLite ([`csvsets`](formats::csvsets),
//! [`rdsv3`](formats::rdsv3)); Project VIC / CAID VICS JSON ([`vics`](formats::vics)); INTERPOL ICSE CSV and
//! HashKeeper ([`csvsets`](formats::csvsets)); EnCase `.hash` ([`encase`](formats::encase)); hashdeep ([`hashdeep`](formats::hashdeep));
//! md5sum/sha1sum/sha256sum, BSD tags, md5deep and plain lists ([`digest_list`](formats::digest_list)).
//! The format is told from the content, never from the file name: binary magics
//! first (SQLite, EnCase, ZIP), then the first line of text.

pub mod category;
pub mod export;
pub mod formats;
pub mod import;
pub mod index;
pub mod input;
pub mod read;

pub use category::Category;
pub use import::{import, import_file, open, Imported};
pub use read::{read_file, read_input, ReadOutcome};

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
    /// Which source files of the set gave this entry: bit i for the i-th input
    /// of the import (bit 15 for the 16th and any later one); 0 when unknown.
    pub sources: u16,
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

    /// Whether two entries say the same thing, whichever sources gave them.
    pub fn same_content(&self, other: &SetEntry) -> bool {
        SetEntry {
            sources: 0,
            ..*self
        } == SetEntry {
            sources: 0,
            ..*other
        }
    }
}

/// What a set says about one picture: its PDQ hash, with the quality, category
/// and identifier the source gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PdqEntry {
    /// The hash.
    pub hash: crate::digest::pdq::Pdq,
    /// Its quality (0-100), when the source gives one.
    pub quality: Option<u8>,
    /// Category in the source's scheme.
    pub category: Option<Category>,
    /// The source's name for the entry (an id, a file name, a report path).
    pub id: Option<String>,
    /// Which source files gave the entry, as [`SetEntry::sources`].
    pub sources: u16,
}

/// The most bytes of an entry identifier kept (longer ones are cut at a
/// character boundary).
pub const MAX_PDQ_ID: usize = 1024;

/// Makes an entry identifier safe to show: a leading `'` that neutralised a
/// spreadsheet formula (as hashsweep's own CSV files write one) is removed,
/// control characters become spaces, characters that reorder text (bidi
/// overrides) are dropped, and it is cut to [`MAX_PDQ_ID`] bytes at a
/// character boundary.
pub fn cut_id(id: &mut String) {
    if id.starts_with('\'') && id[1..].starts_with(['=', '+', '-', '@', '\t', '\r']) {
        id.remove(0);
    }
    if id
        .chars()
        .any(|c| c.is_control() || crate::pathfmt::reorders_text(c))
    {
        *id = id
            .chars()
            .filter(|c| !crate::pathfmt::reorders_text(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
    }
    if id.len() > MAX_PDQ_ID {
        let mut end = MAX_PDQ_ID;
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        id.truncate(end);
    }
}

impl PdqEntry {
    /// Whether two entries say the same thing, whichever sources gave them.
    pub fn same_content(&self, other: &PdqEntry) -> bool {
        (self.hash, self.quality, self.category, &self.id)
            == (other.hash, other.quality, other.category, &other.id)
    }
}

/// A PDQ entry within the distance asked of a picture's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdqMatch {
    /// Bits that differ.
    pub distance: u32,
    /// The entry.
    pub entry: PdqEntry,
}

/// The role of a set: what a match means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetCounts {
    /// Distinct entries kept.
    pub entries: u64,
    /// Entries carrying an MD5.
    pub md5: u64,
    /// Entries carrying a SHA-1.
    pub sha1: u64,
    /// Entries carrying a SHA-256.
    pub sha256: u64,
    /// Distinct PDQ entries (perceptual hashes of pictures).
    #[serde(default)]
    pub pdq: u64,
    /// Records read from the sources.
    pub records: u64,
    /// Records merged because they repeated an entry already kept.
    pub duplicates: u64,
    /// Digests of the empty file dropped (they would match every empty file).
    pub empty_file_digests_dropped: u64,
    /// Bad records skipped by a lenient import.
    pub bad_records: u64,
}

/// One source file of a set.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SourceInfo {
    /// The file.
    #[serde(serialize_with = "crate::pathfmt::serialize_path")]
    pub path: PathBuf,
    /// The format detected.
    pub format: String,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// Records read (good and bad).
    pub records: u64,
    /// Bad records skipped (lenient import).
    pub bad_records: u64,
}

/// Metadata of a loaded set, written into the audit log and summary.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SetInfo {
    /// The set's name, as shown in the `hashsets` column.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The detected source format.
    pub format: String,
    /// Where it was loaded from.
    #[serde(serialize_with = "crate::pathfmt::serialize_path")]
    pub path: PathBuf,
    /// SHA-256 of the file given for this set (the raw file, or the index), lower-case hex.
    pub sha256: String,
    /// Content counts.
    pub counts: SetCounts,
    /// The source files the set was built from.
    pub sources: Vec<SourceInfo>,
    /// When the set was imported (RFC 3339 UTC).
    #[serde(default)]
    pub imported: String,
    /// The hashsweep version that imported it.
    #[serde(default)]
    pub imported_by: String,
}

impl SetInfo {
    /// A set's information before anything is read into it.
    pub fn new(name: &str, role: Role, format: &str, path: &Path) -> SetInfo {
        SetInfo {
            name: name.to_string(),
            role,
            format: format.to_string(),
            path: path.to_path_buf(),
            sha256: String::new(),
            counts: SetCounts::default(),
            sources: Vec::new(),
            imported: crate::time::now(),
            imported_by: format!("{} {}", crate::TOOL_NAME, crate::TOOL_VERSION),
        }
    }
}

/// What checking a set's stored content found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentCheck {
    /// Nothing is stored to check: the set was built in memory from its source
    /// file this run (whose SHA-256 is recorded).
    NotStored,
    /// The content matches its checksum.
    Verified,
    /// The check gave up because the scan was stopping.
    Stopped,
    /// The content does not match, or cannot be read; why.
    Failed(String),
}

/// The interface between the matcher and a set, whatever its storage.
pub trait HashSetLookup: Send + Sync {
    /// The set's metadata.
    fn info(&self) -> &SetInfo;
    /// Appends to `out` every entry that carries `digest` as its `algo` digest.
    fn find(&self, algo: Algo, digest: &[u8], out: &mut Vec<SetEntry>);

    /// Recomputes the checksum of the set's stored content, when it has one (an
    /// index file), giving up when `stop` says so.
    fn verify_content(&self, _stop: &dyn Fn() -> bool) -> ContentCheck {
        ContentCheck::NotStored
    }

    /// Bytes of stored content [`HashSetLookup::verify_content`] reads.
    fn stored_len(&self) -> u64 {
        0
    }

    /// Hints that `find(algo, digest)` is coming, so the memory it reads can be
    /// fetched while other lookups proceed. Doing nothing is always correct.
    fn prefetch(&self, _algo: Algo, _digest: &[u8]) {}

    /// Appends every PDQ entry within `max_distance` bits of `hash`.
    fn find_pdq(
        &self,
        _hash: &crate::digest::pdq::Pdq,
        _max_distance: u32,
        _out: &mut Vec<PdqMatch>,
    ) {
    }

    /// Looks up several digests, appending `(query number, entry)` for every
    /// entry found. Implementations may overlap the memory accesses of the queries.
    fn find_batch(&self, queries: &[(Algo, &[u8])], out: &mut Vec<(usize, SetEntry)>) {
        let mut found = Vec::new();
        for (i, (algo, digest)) in queries.iter().enumerate() {
            found.clear();
            self.find(*algo, digest, &mut found);
            out.extend(found.iter().map(|e| (i, *e)));
        }
    }
}

/// A problem in a set file's content: the 1-based line (0 when the location is
/// given in the message instead, e.g. a JSON path or byte offset) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number, or 0.
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

/// A format named with `hashset import --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatName {
    /// NSRL RDS 2.x / 1.5 text, plain or zipped.
    Nsrl,
    /// NSRL RDSv3 SQLite.
    Rdsv3,
    /// Project VIC / CAID VICS JSON.
    Vics,
    /// INTERPOL ICSE CSV.
    Icse,
    /// HashKeeper `.hsh`.
    Hashkeeper,
    /// EnCase `.hash`.
    Encase,
    /// hashdeep.
    Hashdeep,
    /// md5sum/sha1sum/sha256sum, BSD tags, md5deep.
    Md5sum,
    /// One digest per line.
    Plain,
    /// PDQ hashes: a CSV with a `pdq` column, or one hash per line.
    Pdq,
}

impl FormatName {
    /// Every name, as given on the command line.
    pub const ALL: [(&'static str, FormatName); 10] = [
        ("nsrl", FormatName::Nsrl),
        ("rdsv3", FormatName::Rdsv3),
        ("vics", FormatName::Vics),
        ("icse", FormatName::Icse),
        ("hashkeeper", FormatName::Hashkeeper),
        ("encase", FormatName::Encase),
        ("hashdeep", FormatName::Hashdeep),
        ("md5sum", FormatName::Md5sum),
        ("plain", FormatName::Plain),
        ("pdq", FormatName::Pdq),
    ];

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<FormatName> {
        FormatName::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The command-line name.
    pub fn as_str(self) -> &'static str {
        FormatName::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// Whether a detected format (as in [`SourceInfo::format`]) is this one.
    pub fn matches(self, detected: &str) -> bool {
        let prefixes: &[&str] = match self {
            FormatName::Nsrl => &["nsrl-rds-"],
            FormatName::Rdsv3 => &["nsrl-rdsv3"],
            FormatName::Vics => &["vics-"],
            FormatName::Icse => &["icse"],
            FormatName::Hashkeeper => &["hashkeeper"],
            FormatName::Encase => &["encase"],
            FormatName::Hashdeep => &["hashdeep"],
            FormatName::Md5sum => &["md5sum", "bsd-tag", "md5deep-size"],
            FormatName::Plain => &["plain"],
            FormatName::Pdq => &["pdq-"],
        };
        prefixes.iter().any(|p| detected.starts_with(p))
    }
}

/// The default name of a set: its file name without the last extension, bytes
/// that are not UTF-8 escaped as in report paths.
pub fn default_name(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    match path.file_stem() {
        Some(s) => crate::pathfmt::escape(s.as_bytes()),
        None => crate::pathfmt::path_text(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256};

    fn info() -> SetInfo {
        SetInfo::new("t", Role::Alert, "test", Path::new("t"))
    }

    fn build(info: SetInfo, entries: Vec<SetEntry>) -> index::IndexSet {
        index::in_memory(info, entries).unwrap()
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
        let mut i = info();
        i.counts.records = 4;
        let set = build(i, vec![a, empty, a, half_empty]);
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
}
