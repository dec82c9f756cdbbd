//! Command-line flags (clap derive definitions only: help texts and value parsers).

use clap::{Args, Parser, Subcommand};
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
    pub hashsets: Vec<String>,

    /// A hash set of known-good role (e.g. NSRL), as `PATH` or `NAME=PATH`. Repeatable.
    #[arg(long = "known-good", value_name = "SET")]
    pub known_good: Vec<String>,

    /// Case identifier, recorded in the audit log and summary.
    #[arg(long)]
    pub case: Option<String>,

    /// Exhibit identifier, recorded in the audit log and summary.
    #[arg(long)]
    pub exhibit: Option<String>,

    /// Examiner name, recorded in the audit log and summary.
    #[arg(long)]
    pub examiner: Option<String>,

    /// Threads for walking and hashing [default: one per CPU core].
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,

    /// Also compute SHA-256 for every file (computed anyway when a set needs it).
    #[arg(long)]
    pub sha256: bool,

    /// Enter filesystems mounted below EVIDENCE (by default they are listed as skipped).
    #[arg(long)]
    pub cross_filesystems: bool,

    /// Finish the interrupted scan in CASE_DIR (same evidence, sets and options):
    /// entries already in its journal are not read again.
    #[arg(long)]
    pub resume: bool,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}
