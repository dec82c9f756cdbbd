//! `summary.json`: whether the scan completed, totals, counts per verdict, per
//! set and per category, and timings.

use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of rows per verdict.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VerdictCounts {
    /// `alert` rows.
    pub alert: u64,
    /// `conflict` rows.
    pub conflict: u64,
    /// `known-good` rows.
    #[serde(rename = "known-good")]
    pub known_good: u64,
    /// `unmatched` rows.
    pub unmatched: u64,
    /// `unreadable` rows.
    pub unreadable: u64,
    /// `skipped` rows.
    pub skipped: u64,
}

impl VerdictCounts {
    /// Adds one row of `v`.
    pub fn add(&mut self, v: crate::record::Verdict) {
        use crate::record::Verdict::*;
        *match v {
            Alert => &mut self.alert,
            Conflict => &mut self.conflict,
            KnownGood => &mut self.known_good,
            Unmatched => &mut self.unmatched,
            Unreadable => &mut self.unreadable,
            Skipped => &mut self.skipped,
        } += 1;
    }

    /// The total number of rows.
    pub fn total(&self) -> u64 {
        self.alert
            + self.conflict
            + self.known_good
            + self.unmatched
            + self.unreadable
            + self.skipped
    }
}

/// Per-set figures.
#[derive(Debug, Clone, Serialize)]
pub struct SetSummary {
    /// Set name.
    pub name: String,
    /// Set role.
    pub role: &'static str,
    /// Distinct entries.
    pub entries: u64,
    /// Rows this set matched or conflicted with.
    pub hits: u64,
}

/// Totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Entries the walk found (every row of a complete scan).
    pub entries_found: u64,
    /// Rows written to report.csv.
    pub rows: u64,
    /// Regular files hashed to the end.
    pub files_hashed: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Regular files of zero bytes (never matched against any set).
    pub empty_files: u64,
}

/// Timings in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Walking the tree (the pre-count).
    pub walk_seconds: f64,
    /// Reading and hashing.
    pub hash_seconds: f64,
    /// From start to the last report written.
    pub total_seconds: f64,
}

/// The content of summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Tool name.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// `complete` or `interrupted`.
    pub status: &'static str,
    /// True when every entry found has its row.
    pub complete: bool,
    /// The evidence root.
    pub evidence: String,
    /// Case identifier.
    pub case: Option<String>,
    /// Exhibit identifier.
    pub exhibit: Option<String>,
    /// Examiner.
    pub examiner: Option<String>,
    /// Start time, RFC 3339 UTC.
    pub started: String,
    /// End time, RFC 3339 UTC.
    pub finished: String,
    /// Hashing threads used.
    pub threads: usize,
    /// Whether SHA-256 was computed.
    pub sha256: bool,
    /// Totals.
    pub totals: Totals,
    /// Rows per verdict.
    pub verdicts: VerdictCounts,
    /// Per-set figures, in command-line order.
    pub hashsets: Vec<SetSummary>,
    /// Alert and conflict rows per category (`uncategorised` when the entry has none).
    pub categories: BTreeMap<String, u64>,
    /// Timings.
    pub timings: Timings,
    /// The exit status of the scan.
    pub exit_status: u8,
}
