//! hashsweep: triage of a mounted evidence tree against law-enforcement hash sets.
//!
//! The library walks the evidence, hashes every regular file once, judges each
//! digest against the loaded hash sets and writes the case folder. It never
//! prints: everything a person sees is drawn by the binary through the
//! [`progress::Progress`] trait and the returned [`scan::ScanOutcome`].
//!
//! Data flows one way: [`evidence`] (where bytes come from) -> [`scan`] (plan,
//! read, digest, judge) -> [`output`] (reports) and [`case`] (the case folder's
//! lifecycle), with [`config`] validating everything before the evidence is
//! touched.

pub mod archive;
pub mod case;
pub mod config;
pub mod digest;
pub mod error;
pub mod evidence;
pub mod failpoint;
pub mod hashset;
pub mod matcher;
pub mod output;
pub mod pathfmt;
pub mod progress;
pub mod record;
pub mod scan;
#[doc(hidden)]
pub mod testing;
pub mod time;

/// The tool's name as written into every report.
pub const TOOL_NAME: &str = "hashsweep";
/// The tool's version as written into every report.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
