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
    /// `similar` rows.
    pub similar: u64,
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
            Similar => &mut self.similar,
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
            + self.similar
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
    /// Entries the walk found (with the archive members, every row of a
    /// complete scan).
    pub entries_found: u64,
    /// Rows written to report.csv.
    pub rows: u64,
    /// Regular files hashed to the end.
    pub files_hashed: u64,
    /// Bytes hashed (the size of each hashed row; a hard-linked file counts once
    /// per path).
    pub bytes_hashed: u64,
    /// Bytes read from evidence files by this run.
    pub bytes_read: u64,
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
    /// From start to the first alert, conflict or similar row of this run, if any.
    pub first_hit_seconds: Option<f64>,
}

/// The content of summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Tool name.
    pub tool: &'static str,
    /// Tool version.
    pub version: &'static str,
    /// `complete`, `interrupted`, `stopped` (by `--stop-after`) or
    /// `incomplete` (part of the evidence could not be walked).
    pub status: &'static str,
    /// True when `status` is `complete`: every entry found has its row and the
    /// whole tree was listed.
    pub complete: bool,
    /// The `--stop-after` limit of this run, if one was given.
    pub stop_after: Option<u64>,
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
    /// The read policy: `ssd` (parallel readers) or `hdd` (one reader in physical
    /// order); the audit log says why.
    pub io: &'static str,
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
    /// Whether this case folder was finished by `scan --resume`.
    pub resumed: bool,
    /// The exit status of the scan.
    pub exit_status: u8,
    /// Every warning given during the scan (also in audit.jsonl).
    pub warnings: Vec<String>,
    /// The unknown-media queue (`media.csv`): rows, near-duplicate groups,
    /// pictures straight from a camera.
    pub media: super::media::MediaCounts,
    /// Archives whose members were read, member rows, limits reached.
    pub archives: ArchiveCounts,
    /// Case files written besides the four always there (`report.jsonl`,
    /// `report.dfxml`).
    pub outputs: Vec<&'static str>,
}

/// Counts built from report rows, the same way for rows hashed in this run, rows
/// recovered from a journal and rows read back by `verify`.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Rows per verdict.
    pub verdicts: VerdictCounts,
    /// Rows per set, by the set names given to [`Tally::new`].
    pub per_set: Vec<u64>,
    /// Alert and conflict rows per category.
    pub categories: BTreeMap<String, u64>,
    /// Rows with digests.
    pub files_hashed: u64,
    /// Bytes of rows with digests.
    pub bytes_hashed: u64,
    /// Hashed files of zero bytes.
    pub empty_files: u64,
    /// Rows whose verdict cell could not be read (only in a damaged report).
    pub bad_rows: u64,
    /// Directories that could not be listed, or not to the end: their
    /// content is unknown, so the scan cannot be complete.
    pub unlisted_dirs: u64,
    /// Archives read and their members.
    pub archives: ArchiveCounts,
}

/// Archives whose members were read, member rows, and rows whose notes say
/// a limit was reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveCounts {
    /// Rows of archives whose members were read (at any depth).
    pub archives: u64,
    /// Rows of archive members (at any depth).
    pub members: u64,
    /// Rows whose notes say a limit was reached, by limit: an archive whose
    /// reading stopped there, a member cut short, a nested archive not read.
    pub limits_reached: BTreeMap<&'static str, u64>,
}

impl ArchiveCounts {
    /// Counts a row from its path and its notes' text.
    fn add(&mut self, path: &str, notes: &str) {
        if crate::pathfmt::is_member(path) {
            self.members += 1;
        }
        if notes.starts_with("archive (") || notes.contains("; archive (") {
            self.archives += 1;
        }
        for l in crate::archive::Limit::ALL {
            if notes.contains(l.marker()) {
                *self.limits_reached.entry(l.as_str()).or_default() += 1;
            }
        }
    }
}

impl Tally {
    /// An empty tally for `sets` sets.
    pub fn new(sets: usize) -> Tally {
        Tally {
            per_set: vec![0; sets],
            ..Tally::default()
        }
    }

    /// Counts one row.
    pub fn add(&mut self, r: &crate::record::Record) {
        self.archives.add(&r.path, &r.note_text());
        self.count(
            r.verdict,
            r.kind == crate::record::Kind::Directory,
            r.digests.is_some().then_some(r.size),
            r.sets.iter().map(|&i| i as usize),
            // Rendered for hits only: the others are not counted by category.
            r.category
                .filter(|_| r.verdict.is_hit())
                .map(|c| c.notation()),
        );
    }

    /// Counts one row given as its cells, in report column order (as `verify`
    /// reads them back), with sets named `set_names`.
    pub fn add_cells<S: AsRef<str>>(&mut self, cells: &[S], set_names: &[String]) {
        use crate::output::csv::col;
        let cell = |i: usize| cells.get(i).map_or("", |c| c.as_ref());
        let Some(verdict) = crate::record::Verdict::parse(cell(col::VERDICT)) else {
            self.bad_rows += 1;
            return;
        };
        let sets = cell(col::HASHSETS);
        let category = cell(col::CATEGORY);
        self.archives.add(cell(col::PATH), cell(col::NOTE));
        self.count(
            verdict,
            cell(col::KIND) == "directory",
            (!cell(col::MD5).is_empty()).then(|| cell(col::SIZE).parse().unwrap_or(0)),
            sets.split(';')
                .filter(|n| !sets.is_empty() && !n.is_empty())
                .filter_map(|name| set_names.iter().position(|n| n == name)),
            (verdict.is_hit() && !category.is_empty()).then(|| category.to_string()),
        );
    }

    /// Counts one row, however it was read: its verdict, whether it is a
    /// directory, its size when hashed, its sets by position, and its category.
    fn count(
        &mut self,
        verdict: crate::record::Verdict,
        directory: bool,
        hashed: Option<u64>,
        sets: impl Iterator<Item = usize>,
        category: Option<String>,
    ) {
        self.verdicts.add(verdict);
        if directory && verdict == crate::record::Verdict::Unreadable {
            self.unlisted_dirs += 1;
        }
        if let Some(size) = hashed {
            self.files_hashed += 1;
            self.bytes_hashed += size;
            if size == 0 {
                self.empty_files += 1;
            }
        }
        for i in sets {
            if let Some(n) = self.per_set.get_mut(i) {
                *n += 1;
            }
        }
        if let Some(c) = category.filter(|_| verdict.is_hit()) {
            *self.categories.entry(c).or_default() += 1;
        }
    }
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every entry has its row.
    Complete,
    /// Stopped by a signal with entries left.
    Interrupted,
    /// Stopped at `--stop-after` with entries left.
    Stopped,
    /// Part of the evidence could not be listed.
    Incomplete,
}

impl Ending {
    /// The summary's `status`.
    pub fn status(self) -> &'static str {
        match self {
            Ending::Complete => "complete",
            Ending::Interrupted => "interrupted",
            Ending::Stopped => "stopped",
            Ending::Incomplete => "incomplete",
        }
    }

    /// The `status` of a summary.
    pub fn parse(status: &str) -> Option<Ending> {
        [
            Ending::Complete,
            Ending::Interrupted,
            Ending::Stopped,
            Ending::Incomplete,
        ]
        .into_iter()
        .find(|e| e.status() == status)
    }

    /// The exit status, given the rows' verdicts.
    pub fn exit(self, tally: &Tally) -> crate::error::ExitStatus {
        use crate::error::ExitStatus;
        let v = &tally.verdicts;
        match self {
            Ending::Interrupted => ExitStatus::Interrupted,
            Ending::Stopped => ExitStatus::Alert,
            _ if v.alert + v.conflict + v.similar > 0 => ExitStatus::Alert,
            Ending::Incomplete => ExitStatus::Unreadable,
            _ if v.unreadable > 0 => ExitStatus::Unreadable,
            _ => ExitStatus::NoAlert,
        }
    }
}
