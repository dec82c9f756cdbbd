//! The journal of an interrupted scan, checked against the evidence as listed
//! now and against the sets, in one pass over the journal (after a first one
//! that finds each path's last row) and in bounded memory.
//!
//! Where a path has several rows, its last one is judged (the earlier ones
//! were superseded). A row stands only if its path is an entry listed now, of
//! the same kind, size, modification and change times (the change time cannot
//! be set by hand: a row from another disk, or copied from another file, does
//! not match it), and its digests give the verdict, sets, category and notes
//! it says. Hits and `unreadable` rows are read again, rows of entries that are
//! not regular files made again. What this cannot catch is a forged digest
//! that is consistent with all of that: only reading the file would. The
//! journal is rewritten with the rows that stand.

use super::plan::Todo;
use crate::case::event::Event;
use crate::case::journal::{self, Journal};
use crate::config::ScanConfig;
use crate::evidence::Source;
use crate::matcher::Scratch;
use crate::output::summary::Tally;
use crate::record::{Note, Record, Verdict};
use std::hash::{Hash, Hasher};
use std::io;
use std::path::Path;

/// Journal rows rejected that get an audit event each; the rest are counted.
pub const REJECTIONS_LOGGED: usize = 100;

/// What the check kept.
pub struct Checked {
    /// Per entry (numbered as in [`Todo`]): its row stands.
    pub done: Vec<bool>,
    /// The rows that stand, counted.
    pub tally: Tally,
    /// The journal, rewritten with them, open for appending.
    pub journal: Journal,
    /// The `journal-check` event.
    pub event: Event,
    /// The first rejected rows, with why.
    pub rejected: Vec<(String, String)>,
}

/// What becomes of one journal row.
enum Judged {
    /// It stands.
    Keep,
    /// Kept without a check: its entry was not listed (the listing was cut short).
    Unchecked,
    /// Made again: not a regular file now (no read needed), `unreadable`
    /// (tried again), or a hit (every hit is read by the run that reports it).
    Again,
    /// Rejected, and its entry read again.
    Reject(String),
}

/// A number for a path, the same within a run (equal numbers of different
/// paths are told apart by comparing the paths).
fn key(path: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// Where the journal at `path` is rewritten with the rows that stand, before
/// it replaces the journal.
pub fn compact_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("compact")
}

/// Checks the journal at `path` (see the module's description). `listed_all`:
/// the listing was not cut short, so a row whose entry is missing is rejected.
pub fn check_journal(
    cfg: &ScanConfig,
    source: &dyn Source,
    todo: &Todo,
    listed_all: bool,
    path: &Path,
) -> io::Result<Checked> {
    // Entries by path (a number of it; equal numbers are told apart below),
    // sorted: 16 bytes an entry, where a map of lists would take several
    // times that.
    let mut by_path: Vec<(u64, u32)> = (0..todo.len() as u32)
        .map(|id| {
            let (listing, i) = todo.get(id);
            (key(&listing.path(i)), id)
        })
        .collect();
    by_path.sort_unstable();
    // Each row's path number and place, sorted: a path's last row is the last
    // of its run.
    let mut rows_by_path: Vec<(u64, u64)> = Vec::new();
    let mut seq = 0u64;
    journal::read(path, |r| {
        rows_by_path.push((key(&r.path), seq));
        seq += 1;
        Ok(())
    })?;
    rows_by_path.sort_unstable();
    let last_row = |k: u64| {
        let end = rows_by_path.partition_point(|&(p, _)| p <= k);
        (end > 0 && rows_by_path[end - 1].0 == k).then(|| rows_by_path[end - 1].1)
    };
    let entries_of = |k: u64| {
        let start = by_path.partition_point(|&(p, _)| p < k);
        by_path[start..]
            .iter()
            .take_while(move |&&(p, _)| p == k)
            .map(|&(_, id)| id)
    };
    let rows = seq;
    let compact = compact_path(path);
    let mut kept_journal = Journal::open(&compact, 0, 0)?;
    let mut done = vec![false; todo.len()];
    let mut tally = Tally::new(cfg.matcher.sets().len());
    let mut scratch = Scratch::default();
    let (mut superseded, mut kept, mut unchecked, mut again) = (0u64, 0u64, 0u64, 0u64);
    let mut rejected: Vec<(String, String)> = Vec::new();
    let mut rejected_count = 0u64;
    let mut seq = 0u64;
    journal::read(path, |r| {
        let s = seq;
        seq += 1;
        let k = key(&r.path);
        if last_row(k) != Some(s) {
            superseded += 1;
            return Ok(());
        }
        // Members are made again with their archive, which is read again.
        if crate::pathfmt::is_member(&r.path) {
            again += 1;
            return Ok(());
        }
        let entry = entries_of(k).find(|&id| {
            let (l, i) = todo.get(id);
            l.path(i) == r.path
        });
        match judge(cfg, source, todo, entry, listed_all, &r, &mut scratch) {
            j @ (Judged::Keep | Judged::Unchecked) => {
                if matches!(j, Judged::Unchecked) {
                    unchecked += 1;
                } else {
                    kept += 1;
                }
                if let Some(id) = entry {
                    done[id as usize] = true;
                }
                tally.add(&r);
                kept_journal.append(&r)?;
            }
            Judged::Again => again += 1,
            Judged::Reject(reason) => {
                rejected_count += 1;
                if rejected.len() < REJECTIONS_LOGGED {
                    rejected.push((r.path.clone(), reason));
                }
            }
        }
        Ok(())
    })?;
    kept_journal.sync()?;
    drop(kept_journal);
    std::fs::rename(&compact, path)?;
    let len = std::fs::metadata(path)?.len();
    let journal = Journal::open(path, len, kept + unchecked)?;
    Ok(Checked {
        done,
        tally,
        journal,
        event: Event::JournalCheck {
            journal_rows: rows,
            superseded,
            kept,
            kept_unchecked_walk_cut_short: unchecked,
            made_again: again,
            rejected: rejected_count,
        },
        rejected,
    })
}

fn judge(
    cfg: &ScanConfig,
    source: &dyn Source,
    todo: &Todo,
    entry: Option<u32>,
    listed_all: bool,
    r: &Record,
    scratch: &mut Scratch,
) -> Judged {
    let Some(id) = entry else {
        return if listed_all {
            Judged::Reject("no such entry in the evidence now".into())
        } else {
            Judged::Unchecked
        };
    };
    let (listing, i) = todo.get(id);
    let item = listing.item(i);
    if !item.read || r.verdict == Verdict::Unreadable || r.verdict.is_hit() {
        return Judged::Again;
    }
    // An archive is read again for its members (whose rows are not kept);
    // every archive read with archives on has one of these notes.
    let archive = r.notes.iter().any(|n| {
        matches!(
            n,
            Note::Archive { .. }
                | Note::ArchiveStopped { .. }
                | Note::NotExpanded { .. }
                | Note::ArchiveDamaged { .. }
        )
    });
    if archive {
        return Judged::Again;
    }
    if r.kind != item.kind {
        return Judged::Reject(format!(
            "kind {} but the entry is a {}",
            r.kind.as_str(),
            item.kind.as_str()
        ));
    }
    let now = source.times(listing, i);
    if r.size != item.size || r.times.modified != now.modified || r.times.changed != now.changed {
        return Judged::Reject(
            "size, modification or change time differ from the entry's now".into(),
        );
    }
    let Some(digests) = r.digests else {
        return Judged::Reject("no digests".into());
    };
    if digests.sha256.is_some() != cfg.sha256 {
        return Judged::Reject("SHA-256 present or absent against the scan's setting".into());
    }
    if r.pdq.is_some() && !cfg.pdq {
        return Judged::Reject("a PDQ hash present against the scan's setting".into());
    }
    let mut j = cfg.matcher.judge(&digests, r.size, scratch);
    if let Some(p) = &r.pdq {
        cfg.matcher.judge_picture(&mut j, p, scratch);
    }
    let notes: Vec<&Note> = r.notes.iter().filter(|n| n.is_judgement()).collect();
    let agrees = r.verdict == j.verdict
        && r.sets == j.sets
        && r.category == j.category
        && notes.iter().copied().eq(j.notes.iter());
    if !agrees {
        return Judged::Reject(format!(
            "its digests give verdict {}, not {}",
            j.verdict.as_str(),
            r.verdict.as_str()
        ));
    }
    Judged::Keep
}
