//! hashsweep: triage of a mounted evidence tree against law-enforcement hash sets.
//!
//! The library walks the evidence, hashes every regular file once, judges each
//! digest against the loaded hash sets and writes the case folder. It never
//! prints: everything a person sees is drawn by the binary through the
//! [`progress::Progress`] trait and the returned [`pipeline::ScanOutcome`].

pub mod atime;
pub mod audit;
pub mod caselock;
pub mod config;
pub mod content;
pub mod digest;
pub mod error;
pub mod failpoint;
pub mod hashset;
pub mod identity;
pub mod iopolicy;
pub mod journal;
pub mod mapped;
pub mod matcher;
pub mod mounts;
pub mod pathfmt;
pub mod pipeline;
pub mod progress;
pub mod record;
pub mod report;
pub mod rfc1321;
pub mod schedule;
pub mod verify;
pub mod walk;

/// The tool's name as written into every report.
pub const TOOL_NAME: &str = "hashsweep";
/// The tool's version as written into every report.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
