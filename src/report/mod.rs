//! The files of the case folder: `report.csv` and `hits.csv` ([`csv`]),
//! `summary.json` ([`summary`]) and `manifest.sha256` ([`manifest`]).
//! `audit.jsonl` is written by [`crate::audit`].

pub mod csv;
pub mod manifest;
pub mod summary;

/// `report.csv`: one row per entry, sorted by path.
pub const REPORT: &str = "report.csv";
/// `hits.csv`: alert and conflict rows, written as found, sorted at the end.
pub const HITS: &str = "hits.csv";
/// `summary.json`: totals, counts and timings.
pub const SUMMARY: &str = "summary.json";
/// `audit.jsonl`: provenance header and event log.
pub const AUDIT: &str = "audit.jsonl";
/// `manifest.sha256`: digests of the other files, written last.
pub const MANIFEST: &str = "manifest.sha256";

/// Every file a case folder holds; a folder holding any of them is not reused.
pub const CASE_FILES: [&str; 5] = [REPORT, HITS, SUMMARY, AUDIT, MANIFEST];
