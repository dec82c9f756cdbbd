//! The events of `audit.jsonl`, one type for all of them: the log's schema.
//! Each is written as one JSON object with its name in `event` (the variant's
//! name in kebab case) and the time in `time`, after the header. docs/report.md
//! describes every one; a test fails when the two disagree.

use crate::evidence::fs::atime::AccessReport;
use crate::evidence::io::IoDecision;
use crate::output::summary::VerdictCounts;
use serde::Serialize;

/// One event of the audit log.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// The settings a run works with (one per run).
    Decision {
        /// Hashing threads.
        threads: usize,
        /// Walking and parallel reading threads.
        io_threads: usize,
        /// Read buffer per reader.
        read_buffer_bytes: usize,
        /// Whether SHA-256 is computed.
        sha256: bool,
        /// Why or why not.
        sha256_reason: &'static str,
        /// Whether other filesystems are entered.
        cross_filesystems: bool,
        /// Case files written besides the four always there.
        outputs: Vec<&'static str>,
    },
    /// A run of `scan --resume` started.
    Resume {
        /// Its arguments.
        args: Vec<String>,
        /// Rows recovered from the journal.
        journal_rows: u64,
        /// Bytes of a torn row dropped.
        journal_bytes_dropped: u64,
    },
    /// The read policy and why.
    IoPolicy {
        /// The decision.
        policy: IoDecision,
        /// The order files are read in.
        read_order: &'static str,
        /// The folders walked (and read) first.
        walked_first: Vec<String>,
        /// Whether they are read while the rest is walked.
        read_while_walking: bool,
        /// The `--stop-after` limit.
        stop_after: Option<u64>,
    },
    /// The whole evidence is walked.
    Walk {
        /// Entries found.
        entries: u64,
        /// Regular files among them.
        regular_files: u64,
        /// Their bytes.
        bytes: u64,
        /// Seconds since the start.
        seconds: f64,
        /// Cut short by an interruption.
        interrupted: bool,
        /// Cut short by an interruption or by `--stop-after`.
        cut_short: bool,
        /// The part walked first.
        walked_first: WalkedFirst,
    },
    /// The journal of the interrupted scan, checked against the evidence.
    JournalCheck {
        /// Rows in the journal.
        journal_rows: u64,
        /// Rows written again later for the same path.
        superseded: u64,
        /// Rows that stand.
        kept: u64,
        /// Rows kept unchecked: their entries were not walked.
        kept_unchecked_walk_cut_short: u64,
        /// Rows made again (hits, unreadable rows, entries that are not files).
        made_again: u64,
        /// Rows rejected.
        rejected: u64,
    },
    /// A journal row that does not stand (the first 100 of a resume).
    JournalRowRejected {
        /// Its path.
        path: String,
        /// Why.
        reason: String,
    },
    /// What a resume reads.
    ResumePlan {
        /// Entries already done.
        entries_done: u64,
        /// Entries to do.
        entries_to_do: u64,
    },
    /// The read plan.
    ReadPlan {
        /// Entries to read.
        entries_to_read: u64,
        /// Entries in user folders.
        entries_in_user_folders: u64,
        /// Files placed by their physical position.
        physically_mapped: u64,
        /// Paths of hard-linked files read as another path.
        hard_links_read_once: u64,
        /// Whether the kernel's readahead is used.
        readahead: &'static str,
    },
    /// A part of the evidence could not be walked: the scan is incomplete.
    WalkFailed {
        /// The error.
        error: String,
    },
    /// An entry that could not be read.
    Unreadable {
        /// Its path.
        path: String,
        /// Its kind.
        kind: &'static str,
        /// Why.
        note: String,
    },
    /// An archive or member whose reading stopped at a limit (depth,
    /// members, bytes, ratio or memory).
    ArchiveLimit {
        /// The row's path.
        path: String,
        /// Which limit.
        limit: &'static str,
        /// The row's notes.
        note: String,
    },
    /// A file that changed, was replaced or did not end while read.
    Changed {
        /// Its path.
        path: String,
        /// What happened.
        note: String,
    },
    /// A set's stored content checked.
    HashsetCheck {
        /// The set's name.
        name: String,
        /// Its file.
        path: String,
        /// What was found.
        result: &'static str,
        /// The mismatch, if any.
        error: Option<String>,
        /// Bytes read.
        bytes: u64,
        /// Seconds taken.
        seconds: f64,
    },
    /// Access times, and what was done about them.
    AccessTimes(AccessReport),
    /// A warning given.
    Warning {
        /// Its text.
        warning: String,
        /// When it was first given.
        first_given: String,
    },
    /// A fatal error: the scan stops, with no report.
    Fatal {
        /// The error.
        error: String,
    },
    /// The scan is complete.
    End(Totals),
    /// The scan was interrupted.
    Interrupted(Totals),
    /// The scan stopped at `--stop-after`.
    Stopped(Totals),
}

/// The first part of a walk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WalkedFirst {
    /// The folders.
    pub folders: Vec<String>,
    /// Entries found in them.
    pub entries: u64,
    /// Seconds since the start when they were walked.
    pub seconds: f64,
}

/// The last event's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// `complete`, `interrupted`, `stopped` or `incomplete`.
    pub status: &'static str,
    /// The `--stop-after` limit.
    pub stop_after: Option<u64>,
    /// Entries found.
    pub entries_found: u64,
    /// Rows written.
    pub rows: u64,
    /// Files hashed.
    pub files_hashed: u64,
    /// Bytes hashed.
    pub bytes_hashed: u64,
    /// Bytes read from the evidence by this run.
    pub bytes_read: u64,
    /// Rows per verdict.
    pub verdicts: VerdictCounts,
    /// The exit status.
    pub exit_status: u8,
}

impl Event {
    /// The name written in `event`.
    pub fn name(&self) -> &'static str {
        Event::NAMES[self.position()]
    }

    /// The event's place in [`Event::NAMES`]. Every kind has one: a new kind
    /// needs its name there, and (tested) an example in [`Event::examples`].
    fn position(&self) -> usize {
        match self {
            Event::Decision { .. } => 1,
            Event::Resume { .. } => 2,
            Event::IoPolicy { .. } => 3,
            Event::Walk { .. } => 4,
            Event::JournalCheck { .. } => 5,
            Event::JournalRowRejected { .. } => 6,
            Event::ResumePlan { .. } => 7,
            Event::ReadPlan { .. } => 8,
            Event::WalkFailed { .. } => 9,
            Event::Unreadable { .. } => 10,
            Event::Changed { .. } => 11,
            Event::HashsetCheck { .. } => 12,
            Event::AccessTimes(_) => 13,
            Event::Warning { .. } => 14,
            Event::Fatal { .. } => 15,
            Event::End(_) => 16,
            Event::Interrupted(_) => 17,
            Event::Stopped(_) => 18,
            Event::ArchiveLimit { .. } => 19,
        }
    }

    /// One event of each kind (but the header), with empty figures, in the
    /// order of [`Event::NAMES`]: for tests of the schema.
    pub fn examples() -> Vec<Event> {
        let totals = Totals {
            status: "complete",
            stop_after: None,
            entries_found: 0,
            rows: 0,
            files_hashed: 0,
            bytes_hashed: 0,
            bytes_read: 0,
            verdicts: VerdictCounts::default(),
            exit_status: 0,
        };
        let decision = crate::evidence::io::IoDecision::new(
            crate::evidence::io::Medium::Ssd,
            "option",
            String::new(),
            String::new(),
            1,
            1,
        );
        let s = String::new;
        vec![
            Event::Decision {
                threads: 1,
                io_threads: 1,
                read_buffer_bytes: 1,
                sha256: false,
                sha256_reason: "",
                cross_filesystems: false,
                outputs: Vec::new(),
            },
            Event::Resume {
                args: Vec::new(),
                journal_rows: 0,
                journal_bytes_dropped: 0,
            },
            Event::IoPolicy {
                policy: decision,
                read_order: "",
                walked_first: Vec::new(),
                read_while_walking: false,
                stop_after: None,
            },
            Event::Walk {
                entries: 0,
                regular_files: 0,
                bytes: 0,
                seconds: 0.0,
                interrupted: false,
                cut_short: false,
                walked_first: WalkedFirst::default(),
            },
            Event::JournalCheck {
                journal_rows: 0,
                superseded: 0,
                kept: 0,
                kept_unchecked_walk_cut_short: 0,
                made_again: 0,
                rejected: 0,
            },
            Event::JournalRowRejected {
                path: s(),
                reason: s(),
            },
            Event::ResumePlan {
                entries_done: 0,
                entries_to_do: 0,
            },
            Event::ReadPlan {
                entries_to_read: 0,
                entries_in_user_folders: 0,
                physically_mapped: 0,
                hard_links_read_once: 0,
                readahead: "",
            },
            Event::WalkFailed { error: s() },
            Event::Unreadable {
                path: s(),
                kind: "",
                note: s(),
            },
            Event::Changed {
                path: s(),
                note: s(),
            },
            Event::HashsetCheck {
                name: s(),
                path: s(),
                result: "",
                error: None,
                bytes: 0,
                seconds: 0.0,
            },
            Event::AccessTimes(AccessReport::default()),
            Event::Warning {
                warning: s(),
                first_given: s(),
            },
            Event::Fatal { error: s() },
            Event::End(totals.clone()),
            Event::Interrupted(totals.clone()),
            Event::Stopped(totals),
            Event::ArchiveLimit {
                path: s(),
                limit: "",
                note: s(),
            },
        ]
    }

    /// The name of every event, with `header` (the first line) first.
    pub const NAMES: [&'static str; 20] = [
        "header",
        "decision",
        "resume",
        "io-policy",
        "walk",
        "journal-check",
        "journal-row-rejected",
        "resume-plan",
        "read-plan",
        "walk-failed",
        "unreadable",
        "changed",
        "hashset-check",
        "access-times",
        "warning",
        "fatal",
        "end",
        "interrupted",
        "stopped",
        "archive-limit",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_named_as_it_serialises_and_listed() {
        let events = Event::examples();
        assert_eq!(events.len() + 1, Event::NAMES.len());
        for (k, (e, name)) in events.iter().zip(&Event::NAMES[1..]).enumerate() {
            assert_eq!(e.position(), k + 1, "examples in the order of NAMES");
            let v = serde_json::to_value(e).unwrap();
            assert_eq!(v["event"], *name);
            assert_eq!(e.name(), *name);
        }
    }
}
