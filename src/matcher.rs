//! Digests -> verdict. Every loaded set is asked for entries sharing any digest
//! of the file; each entry found either agrees with the file on every digest both
//! carry (a match) or contradicts it on one (a conflict: a collision or a corrupt
//! set). Sizes count too when both sides have one.
//!
//! Rules: a file of zero bytes never matches (its digests are in many sets). Any
//! contradiction makes the verdict `conflict`. Otherwise a match in an alert set
//! gives `alert`, a match only in known-good sets `known-good`, and no match
//! `unmatched`. `hashsets` lists every set that matched or conflicted, in the
//! order the sets were given.

use crate::digest::pdq::{self, PdqResult, Turn};
use crate::digest::{to_hex, Digests};
use crate::hashset::category::UNCATEGORISED_SEVERITY;
use crate::hashset::{Algo, HashSetLookup, Role, SetEntry};
use crate::hashset::{PdqEntry, PdqMatch};
use crate::record::{HitCategory, Note, TurnName, Verdict};

/// Buffers a worker reuses from one file to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    entries: Vec<SetEntry>,
    found: Vec<(usize, SetEntry)>,
    pdq: Vec<PdqMatch>,
}

/// The loaded sets, in command-line order.
pub struct Matcher {
    sets: Vec<Box<dyn HashSetLookup>>,
    pdq_distance: u32,
}

/// The PDQ distance at or below which a picture is `similar` to an entry, by
/// default: PDQ's own threshold.
pub const PDQ_DISTANCE: u32 = 31;

/// The outcome of judging one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The sets that matched or conflicted, by position, in order.
    pub sets: Vec<u16>,
    /// For a hit, the most severe category among matching alert entries.
    pub category: Option<HitCategory>,
    /// For alerts, which digests matched; for conflicts, what contradicts; for
    /// known-good sets' malicious entries, which sets.
    pub notes: Vec<Note>,
}

impl Judgement {
    fn unmatched() -> Judgement {
        Judgement {
            verdict: Verdict::Unmatched,
            sets: Vec::new(),
            category: None,
            notes: Vec::new(),
        }
    }
}

fn file_digest(d: &Digests, algo: Algo) -> Option<&[u8]> {
    match algo {
        Algo::Md5 => Some(&d.md5),
        Algo::Sha1 => Some(&d.sha1),
        Algo::Sha256 => d.sha256.as_ref().map(|s| &s[..]),
    }
}

fn entry_digest(e: &SetEntry, algo: Algo) -> Option<&[u8]> {
    match algo {
        Algo::Md5 => e.md5.as_ref().map(|s| &s[..]),
        Algo::Sha1 => e.sha1.as_ref().map(|s| &s[..]),
        Algo::Sha256 => e.sha256.as_ref().map(|s| &s[..]),
    }
}

const ALGOS: [Algo; 3] = [Algo::Md5, Algo::Sha1, Algo::Sha256];

impl Matcher {
    /// A matcher over `sets`, in the order given.
    pub fn new(sets: Vec<Box<dyn HashSetLookup>>) -> Matcher {
        Matcher {
            sets,
            pdq_distance: PDQ_DISTANCE,
        }
    }

    /// Sets the PDQ distance at or below which a picture is `similar`.
    pub fn with_pdq_distance(mut self, distance: u32) -> Matcher {
        self.pdq_distance = distance;
        self
    }

    /// The PDQ distance at or below which a picture is `similar`.
    pub fn pdq_distance(&self) -> u32 {
        self.pdq_distance
    }

    fn alert_pdq_sets(&self) -> impl Iterator<Item = (usize, &dyn HashSetLookup)> {
        self.sets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.info().role == Role::Alert && s.info().counts.pdq > 0)
            .map(|(i, s)| (i, &**s))
    }

    /// Turns `j`, an `unmatched` judgement of a picture with PDQ hash `pdq`,
    /// into `similar` when an alert set's PDQ entry lies within the distance
    /// of the picture turned any of the eight ways. Every such set is listed;
    /// the category is the most severe of the entries found, the note names
    /// the nearest (the first set and turn on a tie). A picture of quality
    /// below [`pdq::MIN_QUALITY`] is never matched, nor is an entry of
    /// Project VIC US category 0. PDQ entries of known-good sets are not used:
    /// a picture resembling known material is not thereby known.
    pub fn judge_picture(&self, j: &mut Judgement, pdq: &PdqResult, scratch: &mut Scratch) {
        if j.verdict != Verdict::Unmatched || pdq.quality < pdq::MIN_QUALITY {
            return;
        }
        let mut nearest: Option<(u32, usize, Turn, PdqEntry)> = None;
        let mut sets = Vec::new();
        let mut severity = u16::MAX;
        let mut category = None;
        for (i, set) in self.alert_pdq_sets() {
            let mut set_matched = false;
            for (hash, turn) in pdq.turned.iter().zip(Turn::ALL) {
                scratch.pdq.clear();
                set.find_pdq(hash, self.pdq_distance, &mut scratch.pdq);
                for m in scratch.pdq.drain(..) {
                    if m.entry.category.is_some_and(|c| c.is_non_pertinent()) {
                        continue;
                    }
                    set_matched = true;
                    let s = m
                        .entry
                        .category
                        .map_or(UNCATEGORISED_SEVERITY, |c| c.severity());
                    if s < severity {
                        severity = s;
                        category = Some(
                            m.entry
                                .category
                                .map_or(HitCategory::Uncategorised, HitCategory::Of),
                        );
                    }
                    if nearest.as_ref().is_none_or(|n| m.distance < n.0) {
                        nearest = Some((m.distance, i, turn, m.entry));
                    }
                }
            }
            if set_matched {
                sets.push(i as u16);
            }
        }
        let Some((distance, set, turn, entry)) = nearest else {
            return;
        };
        j.verdict = Verdict::Similar;
        j.sets = sets;
        j.category = category;
        j.notes.push(Note::Similar {
            distance,
            set: self.sets[set].info().name.clone(),
            entry: entry.id.unwrap_or_else(|| entry.hash.to_hex()),
            // The file turned by `turn` looks like the entry: the file is the
            // entry turned back.
            turn: TurnName(turn.inverse()),
        });
    }

    /// The sets.
    pub fn sets(&self) -> &[Box<dyn HashSetLookup>] {
        &self.sets
    }

    /// Whether some entry can only be matched by SHA-256 (it carries neither MD5
    /// nor SHA-1), so SHA-256 must be computed for the sets to be usable.
    pub fn needs_sha256(&self) -> bool {
        self.sets.iter().any(|s| {
            let c = &s.info().counts;
            c.sha256 > 0 && c.entries > c.md5.max(c.sha1)
        })
    }

    /// Judges a file of `size` bytes with digests `d`. `scratch` is reused between calls.
    pub fn judge(&self, d: &Digests, size: u64, scratch: &mut Scratch) -> Judgement {
        if size == 0 || self.sets.is_empty() {
            return Judgement::unmatched();
        }
        let mut j = Judgement::unmatched();
        let (mut alert, mut known, mut conflict) = (false, false, false);
        let mut severity = u16::MAX;
        let mut matched_on: u8 = 0;
        let mut conflicts: Vec<String> = Vec::new();
        let mut malicious_known: Vec<String> = Vec::new();
        let mut query_buf: [(Algo, &[u8]); 3] = [(Algo::Md5, &[]); 3];
        let mut nq = 0;
        for a in ALGOS {
            if let Some(fd) = file_digest(d, a) {
                query_buf[nq] = (a, fd);
                nq += 1;
            }
        }
        let queries = &query_buf[..nq];
        // Every set's first memory access is requested before any is waited for.
        for set in &self.sets {
            for (algo, digest) in queries {
                set.prefetch(*algo, digest);
            }
        }
        let found = &mut scratch.found;
        for (i, set) in self.sets.iter().enumerate() {
            found.clear();
            set.find_batch(queries, found);
            let scratch = &mut scratch.entries;
            scratch.clear();
            scratch.extend(found.iter().map(|(_, e)| *e));
            if scratch.is_empty() {
                continue;
            }
            scratch.sort_unstable();
            scratch.dedup();
            let info = set.info();
            let mut set_matched = false;
            for e in scratch.iter() {
                let mut agree = Vec::new();
                let mut disagree = Vec::new();
                for algo in ALGOS {
                    if let (Some(fd), Some(ed)) = (file_digest(d, algo), entry_digest(e, algo)) {
                        if fd == ed {
                            agree.push(algo);
                        } else {
                            disagree.push(format!(
                                "{} {} (file has {})",
                                algo.name(),
                                to_hex(ed),
                                to_hex(fd)
                            ));
                        }
                    }
                }
                if let Some(es) = e.size.filter(|&es| es != size) {
                    disagree.push(format!("size {es} (file has {size})"));
                }
                if !disagree.is_empty() {
                    conflict = true;
                    set_matched = true;
                    let on: Vec<&str> = agree.iter().map(|a| a.name()).collect();
                    conflicts.push(format!(
                        "set {}: entry matching {} says {}",
                        info.name,
                        on.join("+"),
                        disagree.join(", ")
                    ));
                    continue;
                }
                set_matched = true;
                // A Non-Pertinent entry (Project VIC US 0) never raises an alert;
                // an NSRL entry marked malicious never makes a file known-good.
                let non_pertinent = e.category.is_some_and(|c| c.is_non_pertinent());
                let malicious = e.category.is_some_and(|c| c.is_malicious());
                if malicious && info.role == Role::KnownGood {
                    malicious_known.push(info.name.clone());
                    continue;
                }
                let role = if non_pertinent {
                    Role::KnownGood
                } else {
                    info.role
                };
                match role {
                    Role::Alert => {
                        alert = true;
                        let s = e.category.map_or(UNCATEGORISED_SEVERITY, |c| c.severity());
                        if s < severity {
                            severity = s;
                            j.category = Some(
                                e.category
                                    .map_or(HitCategory::Uncategorised, HitCategory::Of),
                            );
                        }
                        for a in agree {
                            matched_on |= match a {
                                Algo::Md5 => 1,
                                Algo::Sha1 => 2,
                                Algo::Sha256 => 4,
                            };
                        }
                    }
                    Role::KnownGood => known = true,
                }
            }
            if set_matched {
                j.sets.push(i as u16);
            }
        }
        j.verdict = if conflict {
            Verdict::Conflict
        } else if alert {
            Verdict::Alert
        } else if known {
            Verdict::KnownGood
        } else {
            Verdict::Unmatched
        };
        match j.verdict {
            Verdict::Conflict => j.notes.push(Note::Conflict { details: conflicts }),
            Verdict::Alert => j.notes.push(Note::Matched { on: matched_on }),
            _ => {}
        }
        if !malicious_known.is_empty() {
            malicious_known.dedup();
            j.notes.push(Note::MaliciousKnown {
                sets: malicious_known,
            });
        }
        if !j.verdict.is_hit() {
            j.category = None;
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::MultiHasher;
    use crate::hashset::{index, Category, SetInfo};
    use std::path::Path;

    fn set(name: &str, role: Role, entries: Vec<SetEntry>) -> Box<dyn HashSetLookup> {
        let info = SetInfo::new(name, role, "test", Path::new(name));
        Box::new(index::in_memory(info, entries).unwrap())
    }

    fn digests(data: &[u8]) -> Digests {
        let mut h = MultiHasher::new(false);
        h.update(data);
        h.finish()
    }

    fn judge(m: &Matcher, data: &[u8]) -> Judgement {
        m.judge(&digests(data), data.len() as u64, &mut Scratch::default())
    }

    /// The `hashsets` and `category` cells and the notes, as the report writes them.
    fn cells(m: &Matcher, j: &Judgement) -> (String, String, String) {
        let names: Vec<&str> = j
            .sets
            .iter()
            .map(|&i| m.sets()[i as usize].info().name.as_str())
            .collect();
        let notes: Vec<String> = j.notes.iter().map(ToString::to_string).collect();
        (
            names.join(";"),
            j.category.map(|c| c.notation()).unwrap_or_default(),
            notes.join("; "),
        )
    }

    #[test]
    fn alert_beats_known_good_and_lists_both_sets() {
        let d = digests(b"abc");
        let m = Matcher::new(vec![
            set(
                "nsrl",
                Role::KnownGood,
                vec![SetEntry {
                    md5: Some(d.md5),
                    ..Default::default()
                }],
            ),
            set(
                "vic",
                Role::Alert,
                vec![SetEntry {
                    sha1: Some(d.sha1),
                    category: Some(Category::Us(2)),
                    ..Default::default()
                }],
            ),
            set(
                "other",
                Role::Alert,
                vec![SetEntry {
                    md5: Some(d.md5),
                    sha1: Some(d.sha1),
                    category: Some(Category::Us(1)),
                    ..Default::default()
                }],
            ),
        ]);
        let j = judge(&m, b"abc");
        assert_eq!(j.verdict, Verdict::Alert);
        assert_eq!(
            cells(&m, &j),
            (
                "nsrl;vic;other".into(),
                "US:1".into(),
                "matched on md5+sha1".into()
            )
        );
        assert_eq!(judge(&m, b"abd").verdict, Verdict::Unmatched);
    }

    #[test]
    fn known_good_only_and_uncategorised_alert() {
        let d = digests(b"abc");
        let kg = Matcher::new(vec![set(
            "nsrl",
            Role::KnownGood,
            vec![SetEntry {
                md5: Some(d.md5),
                ..Default::default()
            }],
        )]);
        let j = judge(&kg, b"abc");
        assert_eq!(j.verdict, Verdict::KnownGood);
        assert_eq!(
            cells(&kg, &j),
            ("nsrl".into(), String::new(), String::new())
        );
        let al = Matcher::new(vec![set(
            "list",
            Role::Alert,
            vec![SetEntry {
                md5: Some(d.md5),
                ..Default::default()
            }],
        )]);
        let j = judge(&al, b"abc");
        let (_, category, note) = cells(&al, &j);
        assert_eq!(
            (category.as_str(), note.as_str()),
            ("uncategorised", "matched on md5")
        );
    }

    #[test]
    fn nsrl_malicious_entry_never_makes_a_file_known_good() {
        let d = digests(b"abc");
        let entry = SetEntry {
            md5: Some(d.md5),
            category: Some(Category::NsrlMalicious),
            ..Default::default()
        };
        let m = Matcher::new(vec![set("nsrl", Role::KnownGood, vec![entry])]);
        let j = judge(&m, b"abc");
        let (sets, _, note) = cells(&m, &j);
        assert_eq!((j.verdict, sets.as_str()), (Verdict::Unmatched, "nsrl"));
        assert!(note.contains("marks as malicious"), "{note}");
    }

    #[test]
    fn contradicting_digest_or_size_is_a_conflict() {
        let d = digests(b"abc");
        let m = Matcher::new(vec![set(
            "vic",
            Role::Alert,
            vec![SetEntry {
                md5: Some(d.md5),
                sha1: Some([9; 20]),
                ..Default::default()
            }],
        )]);
        let j = judge(&m, b"abc");
        assert_eq!(j.verdict, Verdict::Conflict);
        let note = cells(&m, &j).2;
        assert!(
            note.contains("set vic: entry matching md5 says sha1 0909"),
            "{note}"
        );
        let m = Matcher::new(vec![set(
            "hd",
            Role::KnownGood,
            vec![SetEntry {
                md5: Some(d.md5),
                size: Some(4),
                ..Default::default()
            }],
        )]);
        let j = judge(&m, b"abc");
        assert_eq!(j.verdict, Verdict::Conflict);
        let note = cells(&m, &j).2;
        assert!(note.contains("size 4 (file has 3)"), "{note}");
    }

    #[test]
    fn empty_file_never_matches() {
        let d = digests(b"");
        // A lookup that returns the empty-file entry for anything: the matcher itself must refuse it.
        struct Everything(SetInfo);
        impl HashSetLookup for Everything {
            fn info(&self) -> &SetInfo {
                &self.0
            }
            fn find(&self, _: Algo, _: &[u8], out: &mut Vec<SetEntry>) {
                out.push(SetEntry {
                    md5: Some(crate::digest::EMPTY_MD5),
                    ..Default::default()
                });
            }
        }
        let info = SetInfo::new("all", Role::Alert, "test", Path::new("all"));
        let m = Matcher::new(vec![Box::new(Everything(info))]);
        assert_eq!(
            m.judge(&d, 0, &mut Scratch::default()).verdict,
            Verdict::Unmatched
        );
        assert_eq!(
            m.judge(&d, 1, &mut Scratch::default()).verdict,
            Verdict::Alert
        );
    }
}
