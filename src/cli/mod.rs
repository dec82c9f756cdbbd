//! Command-line flags (clap derive definitions only: help texts and value parsers).

pub mod hashset;
pub mod scan;
pub mod term;
pub mod verify;

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// Triage a mounted evidence tree against law-enforcement hash sets.
#[derive(Debug, Parser)]
#[command(name = "hashsweep", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash every file under EVIDENCE, match against hash sets, write a case folder.
    Scan(ScanFlags),
    /// Check that a case folder is intact and self-consistent.
    Verify(VerifyFlags),
    /// Import, inspect, query and export hash sets.
    #[command(subcommand)]
    Hashset(HashsetCommand),
}

/// `hashset` subcommands.
#[derive(Debug, Subcommand)]
pub enum HashsetCommand {
    /// Compile one or more set files (merged) into an index that opens instantly.
    Import(ImportFlags),
    /// Show an index's metadata and counts, and check its checksum.
    Info(InfoFlags),
    /// Say what a set holds for each digest given. Exit 0 when every digest is in
    /// the set, 1 otherwise.
    Lookup(LookupFlags),
    /// Write a set in another format.
    Export(ExportFlags),
}

/// The role a set is imported with.
/// `--io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IoArg {
    /// Detect the device.
    Auto,
    /// Solid-state: parallel readers.
    Ssd,
    /// Spinning disk: one reader in physical order.
    Hdd,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// A match is an alert.
    Alert,
    /// A match marks a known, ignorable file (e.g. NSRL).
    KnownGood,
}

/// Flags of `hashset import`.
#[derive(Debug, Args)]
pub struct ImportFlags {
    /// The set files: NSRL RDS 2.x (text or zip) or RDSv3 (SQLite), VICS JSON,
    /// CAID, ICSE CSV, HashKeeper, EnCase, hashdeep, md5sum/sha1sum/sha256sum,
    /// plain lists. Several files are merged into one set.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,

    /// The index to write (conventionally `.hsx`).
    #[arg(short, long, value_name = "SET.hsx")]
    pub output: PathBuf,

    /// The set's name [default: the first input's file stem].
    #[arg(long)]
    pub name: Option<String>,

    /// Expected format; the import fails if the content is something else.
    /// `pdq` also reads a list of bare 64-hex lines as PDQ hashes (otherwise
    /// they are SHA-256).
    #[arg(long, default_value = "auto", value_parser = ["auto", "nsrl", "rdsv3", "vics", "icse", "hashkeeper", "encase", "hashdeep", "md5sum", "plain", "pdq"])]
    pub format: String,

    /// What a match means.
    #[arg(long, value_enum, default_value = "alert")]
    pub role: RoleArg,

    /// Skip malformed records (counted, the first few listed) instead of failing.
    #[arg(long)]
    pub lenient: bool,
}

/// Flags of `hashset info`.
#[derive(Debug, Args)]
pub struct InfoFlags {
    /// An index written by `hashset import`.
    pub set: PathBuf,
}

/// Flags of `hashset lookup`.
#[derive(Debug, Args)]
pub struct LookupFlags {
    /// An index, or any importable set file.
    pub set: PathBuf,
    /// Hex digests: 32 digits MD5, 40 SHA-1, 64 SHA-256 (or PDQ, with --pdq).
    #[arg(required = true)]
    pub digests: Vec<String>,
    /// The hashes are PDQ hashes: list the set's PDQ entries within --distance.
    #[arg(long)]
    pub pdq: bool,
    /// With --pdq, the most bits an entry may differ by.
    #[arg(long, requires = "pdq", default_value_t = hashsweep::matcher::PDQ_DISTANCE,
          value_parser = clap::value_parser!(u32).range(0..=255))]
    pub distance: u32,
}

/// Flags of `hashset export`.
#[derive(Debug, Args)]
pub struct ExportFlags {
    /// An index, or any importable set file.
    pub set: PathBuf,
    /// Output format.
    #[arg(long, value_parser = ["vics", "hashdeep", "md5sum", "plain", "pdq"])]
    pub format: String,
    /// The file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Flags of `verify`.
#[derive(Debug, Args)]
pub struct VerifyFlags {
    /// The case folder written by `scan`.
    pub case_dir: PathBuf,
}

/// Flags of `scan`.
#[derive(Debug, Args)]
pub struct ScanFlags {
    /// The mounted evidence tree (a directory; mount it read-only).
    pub evidence: PathBuf,

    /// The case folder to create. It must be outside the evidence and hold no case yet.
    #[arg(short, long, value_name = "CASE_DIR")]
    pub output: PathBuf,

    /// A hash set of alert role, as `PATH` or `NAME=PATH` (name defaults to the
    /// file stem). Repeatable. Formats: plain digest lists, md5sum/sha1sum/sha256sum
    /// output, BSD tags, hashdeep. With no set, the report is a hash inventory.
    #[arg(long = "hashset", value_name = "SET")]
    pub hashsets: Vec<OsString>,

    /// A hash set of known-good role (e.g. NSRL), as `PATH` or `NAME=PATH`. Repeatable.
    #[arg(long = "known-good", value_name = "SET")]
    pub known_good: Vec<OsString>,

    /// Case identifier, recorded in the audit log and summary.
    #[arg(long)]
    pub case: Option<String>,

    /// Exhibit identifier, recorded in the audit log and summary.
    #[arg(long)]
    pub exhibit: Option<String>,

    /// Examiner name, recorded in the audit log and summary.
    #[arg(long)]
    pub examiner: Option<String>,

    /// Threads for walking, reading and hashing (1 to 1024). By default hashing
    /// uses one per CPU core, and walking and parallel reading four per core, so
    /// that flash storage has requests queued.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Read policy: `auto` detects the device behind the evidence (probing it when
    /// the kernel cannot be trusted); `ssd` reads with parallel readers; `hdd` reads
    /// with one reader in physical order while other threads hash.
    #[arg(long, value_enum, default_value = "auto", value_name = "POLICY")]
    pub io: IoArg,

    /// Stop after N alert, conflict or similar rows: exit 1 with a partial case folder
    /// (marked `stopped`; finish it later with --resume). For an on-scene
    /// "is there known material here?" check; a full scan is still the report.
    #[arg(long, value_name = "N")]
    pub stop_after: Option<u64>,

    /// Also compute SHA-256 for every file (computed anyway when a set needs it).
    #[arg(long)]
    pub sha256: bool,

    /// Do not compute pictures' PDQ hashes (the `pdq` columns stay empty and
    /// nothing is `similar`). By default every JPEG, PNG, GIF, BMP, WebP and
    /// TIFF is decoded, from the bytes read for its digests, and hashed.
    #[arg(long)]
    pub no_pdq: bool,

    /// A picture is `similar` to a set's PDQ entry at this Hamming distance
    /// or less, in any of its eight orientations (PDQ's own threshold is 31).
    #[arg(long, value_name = "BITS", default_value_t = hashsweep::matcher::PDQ_DISTANCE,
          value_parser = clap::value_parser!(u32).range(0..=63))]
    pub pdq_distance: u32,

    /// Do not read the members of archives (zip, 7z, tar, gzip, bzip2, xz,
    /// zstd): an archive is hashed as one file, as any other.
    #[arg(long)]
    pub no_archives: bool,

    /// Read archives inside archives down to this depth (a tar in a compressed
    /// stream, `.tar.gz`, counts as one; 1: only the archives
    /// on the evidence).
    #[arg(long, value_name = "N", default_value_t = hashsweep::archive::Limits::default().depth,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub archive_depth: u32,

    /// Read at most N members of one archive, counting those of nested ones.
    #[arg(long, value_name = "N", default_value_t = hashsweep::archive::Limits::default().members,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub archive_members: u64,

    /// Expand at most this many bytes from one archive, counting nested ones
    /// (a number of bytes, or with K, M, G or T: binary units).
    #[arg(long, value_name = "SIZE", default_value = "16G", value_parser = parse_size)]
    pub archive_bytes: u64,

    /// Stop expanding a member, or an archive as a whole, past the first MiB
    /// once it has expanded to more than N times its compressed size.
    #[arg(long, value_name = "N", default_value_t = hashsweep::archive::Limits::default().ratio,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub archive_ratio: u64,

    /// Enter filesystems mounted below EVIDENCE (by default they are listed as skipped).
    #[arg(long)]
    pub cross_filesystems: bool,

    /// Read the targets of symbolic links even where that changes the evidence:
    /// on a mount that is writable and records access times, reading a link's
    /// target updates the link's access time, so by default targets are not
    /// read there (the note says so).
    #[arg(long)]
    pub read_link_targets: bool,

    /// Finish the interrupted scan in CASE_DIR (same evidence, checked by its
    /// filesystem's identity; same sets and options): journal rows that agree
    /// with the evidence and the sets are not read again. --case, --exhibit and
    /// --examiner are kept from the interrupted scan, and report.jsonl and
    /// report.dfxml are written when any run of the case asked for them. On a complete case,
    /// verifies it and exits with its recorded status.
    #[arg(long)]
    pub resume: bool,

    /// Also write `report.jsonl`: the rows of report.csv as JSON lines, typed
    /// (sizes as numbers, `hashsets` as an array, absent values as null).
    #[arg(long)]
    pub jsonl: bool,

    /// Also write `report.dfxml`: the rows as DFXML (a `fileobject` per entry,
    /// as `hashdeep -d` and fiwalk write it).
    #[arg(long)]
    pub dfxml: bool,

    /// Write each row to stdout as one JSON line the moment it is written, for
    /// pipelines (progress and messages stay on stderr; the case folder is
    /// written as usual).
    #[arg(long)]
    pub stream: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A size in bytes: digits, optionally followed by K, M, G or T (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        Some('T') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (digits, then K, M, G or T)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n && *v > 0)
        .ok_or_else(|| format!("`{s}` is not a size greater than 0 that fits in 64 bits"))
}
