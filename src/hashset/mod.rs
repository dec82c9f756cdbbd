//! Hash sets: what a set entry says, the lookup interface the matcher uses, an
//! in-memory set, and loading raw set files with format detection.
//!
//! Formats: NSRL RDS 2.x text, plain or zipped, and RDSv3 SQLite ([`csvsets`],
//! [`rdsv3`]); Project VIC / CAID VICS JSON ([`vics`]); INTERPOL ICSE CSV and
//! HashKeeper ([`csvsets`]); EnCase `.hash` ([`encase`]); hashdeep ([`hashdeep`]);
//! md5sum/sha1sum/sha256sum, BSD tags, md5deep and plain lists ([`digest_list`]).
//! The format is told from the content, never from the file name: binary magics
//! first (SQLite, EnCase, ZIP), then the first line of text.

pub mod category;
pub mod export;
pub mod formats;
pub mod index;
pub mod input;

pub use formats::{csvsets, digest_list, encase, hashdeep, rdsv3, vics};

pub use category::Category;

use crate::error::{Error, Result};
use input::{SetInput, Sink};
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
            imported: crate::case::audit::now(),
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

/// What reading one set file gave.
#[derive(Debug)]
pub struct ReadOutcome {
    /// The source, described.
    pub source: SourceInfo,
    /// The first problems of a lenient import.
    pub problems: Vec<ParseError>,
}

/// Formats recognised but not read, so the error names them.
fn unsupported(first_line: &[u8]) -> Option<&'static str> {
    let l = first_line.trim_ascii_start();
    if l.starts_with(b"\"hashset_id\"") {
        Some("a HashKeeper descriptor (.hke), which holds no hashes; import the .hsh file")
    } else if l.starts_with(b"<?xml") || l.starts_with(b"<dfxml") {
        Some("XML (DFXML?), which this version does not read")
    } else if l.starts_with(b"V1Hash,") || l.starts_with(b"V3Hash,") || l.starts_with(b"V4Hash,") {
        Some("an iLook hash set, which this version does not read")
    } else if l.len() > 41 && l[..41].iter().all(u8::is_ascii_digit) && l.get(41) == Some(&b'|') {
        Some("a Sleuth Kit index (.idx); import the database it indexes")
    } else {
        None
    }
}

/// Parses a text set (UTF-8, its byte-order mark removed) from `r`.
fn parse_text(
    r: &mut dyn std::io::BufRead,
    sink: &mut Sink,
) -> std::result::Result<String, ParseError> {
    let head = r
        .fill_buf()
        .map_err(|e| ParseError::new(0, format!("read error: {e}")))?;
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    if head[..head.len().min(4096)].contains(&0) {
        return Err(ParseError::new(
            1,
            "binary content (a NUL byte in the first 4 KiB): not a text hash set (an index whose header is damaged, or a file given by mistake?)",
        ));
    }
    let first_line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    if hashdeep::sniff(rest) {
        return hashdeep::parse(r, sink).map(String::from);
    }
    if vics::sniff(rest) {
        return vics::parse(r, sink);
    }
    if let Some(what) = unsupported(first_line) {
        return Err(ParseError::new(1, format!("this is {what}")));
    }
    if let Some(family) = csvsets::sniff(first_line) {
        return csvsets::parse(r, family, sink).map(String::from);
    }
    digest_list::parse(r, sink).map(String::from)
}

/// Reads one set file of any supported format, handing records to `push`.
pub fn read_file(
    path: &Path,
    lenient: bool,
    push: &mut dyn FnMut(SetEntry),
) -> Result<ReadOutcome> {
    let input = SetInput::open(path).map_err(|e| Error::io(path, e))?;
    read_input(input, path, lenient, None, push)
}

/// Reads a set file opened once (see [`SetInput`]); `path` names it in errors.
/// `tmp_dir` receives the copy of a stream that needs random access.
pub fn read_input(
    input: SetInput,
    path: &Path,
    lenient: bool,
    tmp_dir: Option<&Path>,
    push: &mut dyn FnMut(SetEntry),
) -> Result<ReadOutcome> {
    use std::io::{BufReader, Read};
    let as_error = |e: ParseError| Error::HashSet {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    };
    let io_error = |e: std::io::Error| Error::io(path, e);
    let magic = input.head().to_vec();
    let mut sink = Sink::new(lenient, push);
    let (format, sha256) = if magic.starts_with(rdsv3::MAGIC) {
        let (file, digest) = input.into_file(tmp_dir).map_err(io_error)?;
        // SQLite opens the file itself: through this descriptor, so it reads
        // exactly the file (or the copy of the stream) that was hashed.
        let f = rdsv3::parse(&input::fd_path(&file), &mut sink).map_err(as_error)?;
        drop(file);
        (f.to_string(), crate::digest::to_hex(&digest))
    } else if magic.starts_with(encase::MAGIC) {
        let mut data = Vec::new();
        let mut reader = input::HashingReader::new(input.into_reader());
        reader.read_to_end(&mut data).map_err(io_error)?;
        let digest = reader.finish().map_err(io_error)?;
        let f = encase::parse(&data, &mut sink).map_err(as_error)?;
        (f, crate::digest::to_hex(&digest))
    } else if magic.starts_with(b"PK\x03\x04") {
        let (file, digest) = input.into_file(tmp_dir).map_err(io_error)?;
        let f = read_zip(file, &mut sink).map_err(as_error)?;
        (f, crate::digest::to_hex(&digest))
    } else {
        let hashing = input::HashingReader::new(input.into_reader());
        let utf16 = if magic.starts_with(b"\xff\xfe") {
            Some(false)
        } else if magic.starts_with(b"\xfe\xff") {
            Some(true)
        } else {
            None
        };
        match utf16 {
            Some(big_endian) => {
                // Decoded as it is read: the limits on lines apply, memory stays bounded.
                let failure = std::rc::Rc::new(std::cell::RefCell::new(None));
                let decoder =
                    input::Utf16Reader::new(hashing, big_endian, lenient, failure.clone());
                let mut reader = BufReader::with_capacity(1 << 18, decoder);
                let name = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
                let parsed = parse_text(&mut reader, &mut sink).map(|f| format!("{f} ({name})"));
                // A decoding flaw is reported as itself, with its place.
                let format = parsed
                    .map_err(|e| failure.borrow_mut().take().unwrap_or(e))
                    .map_err(as_error)?;
                let digest = reader
                    .into_inner()
                    .into_inner()
                    .finish()
                    .map_err(io_error)?;
                (format, crate::digest::to_hex(&digest))
            }
            None => {
                let mut reader = BufReader::with_capacity(1 << 18, hashing);
                if magic.starts_with(b"\xef\xbb\xbf") {
                    // A UTF-8 byte-order mark: skipped (it is hashed all the same).
                    let mut bom = [0u8; 3];
                    reader.read_exact(&mut bom).map_err(io_error)?;
                }
                let format = parse_text(&mut reader, &mut sink).map_err(as_error)?;
                let digest = reader.into_inner().finish().map_err(io_error)?;
                (format, crate::digest::to_hex(&digest))
            }
        }
    };
    let source = SourceInfo {
        path: path.to_path_buf(),
        format,
        sha256,
        records: sink.records,
        bad_records: sink.bad,
    };
    Ok(ReadOutcome {
        source,
        problems: std::mem::take(&mut sink.problems),
    })
}

/// A ZIP holding an NSRL RDS 2.x set (NSRLFile.txt, possibly itself zipped as
/// NSRLFile.txt.zip), or a single set file of any text format.
fn read_zip(file: std::fs::File, sink: &mut Sink) -> std::result::Result<String, ParseError> {
    use std::io::Read;
    let zerr = |e: zip::result::ZipError| ParseError::new(0, format!("ZIP: {e}"));
    let mut zip = zip::ZipArchive::new(file).map_err(zerr)?;
    let names: Vec<String> = zip.file_names().map(String::from).collect();
    let find = |suffix: &str| {
        names
            .iter()
            .find(|n| n.to_ascii_lowercase().ends_with(suffix))
            .cloned()
    };
    if let Some(name) = find("nsrlfile.txt") {
        let member = zip.by_name(&name).map_err(zerr)?;
        let f = csvsets::parse(std::io::BufReader::new(member), csvsets::Family::Nsrl, sink)?;
        return Ok(format!("{f} (zip)"));
    }
    if let Some(name) = find("nsrlfile.txt.zip") {
        let mut inner = Vec::new();
        zip.by_name(&name)
            .map_err(zerr)?
            .read_to_end(&mut inner)
            .map_err(|e| ParseError::new(0, e.to_string()))?;
        let mut inner = zip::ZipArchive::new(std::io::Cursor::new(inner)).map_err(zerr)?;
        let name = inner
            .file_names()
            .find(|n| n.to_ascii_lowercase().ends_with("nsrlfile.txt"))
            .map(String::from)
            .ok_or_else(|| ParseError::new(0, "NSRLFile.txt.zip holds no NSRLFile.txt"))?;
        let member = inner.by_name(&name).map_err(zerr)?;
        let f = csvsets::parse(std::io::BufReader::new(member), csvsets::Family::Nsrl, sink)?;
        return Ok(format!("{f} (zip in zip)"));
    }
    let files: Vec<&String> = names.iter().filter(|n| !n.ends_with('/')).collect();
    if let [only] = files[..] {
        let member = zip.by_name(only).map_err(zerr)?;
        let f = parse_text(&mut std::io::BufReader::new(member), sink)?;
        return Ok(format!("{f} (zip)"));
    }
    Err(ParseError::new(
        0,
        format!(
            "a ZIP archive without NSRLFile.txt and with {} files; extract the set file",
            files.len()
        ),
    ))
}

/// Set files read into an index: the new set's info, and the first problems of
/// a lenient import.
pub struct Imported {
    /// The set's metadata, counts complete.
    pub info: SetInfo,
    /// The first problems (lenient import only).
    pub problems: Vec<ParseError>,
}

/// Reads and merges set files into an index written to `out`. `name` defaults to
/// the first file's stem. `tmp_dir` receives the sort runs of large sets.
pub fn import(
    paths: &[PathBuf],
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    tmp_dir: Option<PathBuf>,
    out: &mut (impl std::io::Write + std::io::Seek),
) -> Result<Imported> {
    import_inputs(paths, None, name, role, lenient, expect, tmp_dir, out)
}

/// [`import`], with the first set file already open.
#[allow(clippy::too_many_arguments)]
fn import_inputs(
    paths: &[PathBuf],
    mut first_input: Option<SetInput>,
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    tmp_dir: Option<PathBuf>,
    out: &mut (impl std::io::Write + std::io::Seek),
) -> Result<Imported> {
    let first = paths.first().expect("at least one set file");
    let mut builder = index::Builder::new(index::SORT_MEMORY, tmp_dir.clone());
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut io_failure: Option<std::io::Error> = None;
    for (number, path) in paths.iter().enumerate() {
        let bit = 1u16 << number.min(15);
        let mut push = |mut e: SetEntry| {
            e.sources = bit;
            if io_failure.is_none() {
                if let Err(err) = builder.push(e) {
                    io_failure = Some(err);
                }
            }
        };
        let input = match first_input.take() {
            Some(input) => input,
            None => SetInput::open(path).map_err(|e| Error::io(path, e))?,
        };
        let outcome = read_input(input, path, lenient, tmp_dir.as_deref(), &mut push)?;
        if let Some(e) = io_failure.take() {
            return Err(Error::io(path, e));
        }
        if let Some(want) = expect.filter(|w| !w.matches(&outcome.source.format)) {
            return Err(Error::HashSet {
                path: path.clone(),
                line: 0,
                message: format!(
                    "detected format {}, not the {} given with --format",
                    outcome.source.format,
                    want.as_str()
                ),
            });
        }
        problems.extend(outcome.problems);
        sources.push(outcome.source);
    }
    let records: u64 = sources.iter().map(|s| s.records).sum();
    let bad: u64 = sources.iter().map(|s| s.bad_records).sum();
    if records == bad {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: "holds no digests".into(),
        });
    }
    if let (0, dropped @ 1..) = builder.kept() {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: format!(
                "holds only digests of the empty file ({dropped} dropped: they would match every empty file), so it can match nothing"
            ),
        });
    }
    let format: Vec<&str> = sources.iter().map(|s| s.format.as_str()).collect();
    let name = name.map_or_else(|| default_name(first), String::from);
    let mut info = SetInfo::new(&name, role, &format.join("+"), first);
    info.counts.records = records;
    info.counts.bad_records = bad;
    info.sources = sources;
    let info = builder.write(info, out).map_err(|e| Error::io(first, e))?;
    if info.counts.entries == 0 {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: "holds only digests of the empty file".into(),
        });
    }
    Ok(Imported { info, problems })
}

/// Opens a set for a scan: an index file (`.hsx`, any name) is mapped; any other
/// file is read strictly and indexed in memory. A raw set's SHA-256 is that of
/// its file; an index's is its checksum. `role` is `None` to keep an index's own
/// role (a raw file is then an alert set).
pub fn open(path: &Path, name: Option<&str>, role: Option<Role>) -> Result<index::IndexSet> {
    // Opened once: a pipe or FIFO (`--hashset <(cat set)`) can be read only once.
    let input = SetInput::open(path).map_err(|e| Error::io(path, e))?;
    let corrupt = |m: String| Error::HashSet {
        path: path.to_path_buf(),
        line: 0,
        message: m,
    };
    let mut set = if index::is_index(input.head()) {
        let file = input.into_mappable(None).map_err(|e| Error::io(path, e))?;
        let mut set = index::IndexSet::from_file(&file).map_err(corrupt)?;
        // Loaded from the index given; its sources are listed in its info.
        set.set_path(path);
        set
    } else {
        let mut out = std::io::Cursor::new(Vec::new());
        let imported = import_inputs(
            &[path.to_path_buf()],
            Some(input),
            name,
            role.unwrap_or(Role::Alert),
            false,
            None,
            None,
            &mut out,
        )?;
        let mut set = index::IndexSet::from_vec(out.into_inner()).map_err(corrupt)?;
        // A raw set is known by the digest of its file, as given.
        set.set_identity(&imported.info.sources[0].sha256);
        set
    };
    set.rename(name, role);
    Ok(set)
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
}

impl FormatName {
    /// Every name, as given on the command line.
    pub const ALL: [(&'static str, FormatName); 9] = [
        ("nsrl", FormatName::Nsrl),
        ("rdsv3", FormatName::Rdsv3),
        ("vics", FormatName::Vics),
        ("icse", FormatName::Icse),
        ("hashkeeper", FormatName::Hashkeeper),
        ("encase", FormatName::Encase),
        ("hashdeep", FormatName::Hashdeep),
        ("md5sum", FormatName::Md5sum),
        ("plain", FormatName::Plain),
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
        };
        prefixes.iter().any(|p| detected.starts_with(p))
    }
}

/// Imports set files into an index file written atomically. The index is built
/// in an anonymous file (`O_TMPFILE`) beside `output`, which the OS removes by
/// itself if the import fails, is interrupted or killed: only a complete index
/// is ever linked into place (under a temporary name, then renamed over
/// `output`). Where the filesystem has no anonymous files, a named temporary
/// file is used and removed on failure.
pub fn import_file(
    paths: &[PathBuf],
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    output: &Path,
    named_temp: &std::sync::Mutex<Option<PathBuf>>,
) -> Result<Imported> {
    use std::os::unix::fs::MetadataExt;
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The index replaces `output`: never one of its own sources.
    if let Ok(out) = std::fs::metadata(output) {
        for p in paths {
            if std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == (out.dev(), out.ino())) {
                return Err(Error::Usage(format!(
                    "the output {} is the input {}: importing would replace the set with its index; choose another output",
                    crate::pathfmt::path_text(output),
                    crate::pathfmt::path_text(p)
                )));
            }
        }
    }
    let build = |w: &mut std::fs::File| -> Result<Imported> {
        let imported = import(
            paths,
            name,
            role,
            lenient,
            expect,
            Some(dir.to_path_buf()),
            w,
        )?;
        w.sync_all().map_err(|e| Error::io(output, e))?;
        Ok(imported)
    };
    let anonymous = rustix::fs::open(
        dir,
        rustix::fs::OFlags::TMPFILE | rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::from_raw_mode(0o600),
    );
    if let Ok(fd) = anonymous {
        let mut w = std::fs::File::from(fd);
        let imported = build(&mut w)?;
        let link = tempfile::Builder::new()
            .prefix(".hashsweep-import-")
            .make_in(dir, |p| {
                rustix::fs::linkat(
                    rustix::fs::CWD,
                    input::fd_path(&w),
                    rustix::fs::CWD,
                    p,
                    rustix::fs::AtFlags::SYMLINK_FOLLOW,
                )
                .map_err(std::io::Error::from)
            })
            .map_err(|e| Error::io(dir, e))?;
        link.into_temp_path()
            .persist(output)
            .map_err(|e| Error::io(output, e.error))?;
        return Ok(imported);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".hashsweep-import-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let (mut w, tmp_path) = tmp.into_parts();
    // Named so that whoever handles signals can remove it.
    *named_temp.lock().expect("temp path") = Some(tmp_path.to_path_buf());
    let imported = build(&mut w);
    let persisted = imported.and_then(|i| {
        tmp_path
            .persist(output)
            .map(|()| i)
            .map_err(|e| Error::io(output, e.error))
    });
    *named_temp.lock().expect("temp path") = None;
    persisted
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
