//! The members of a large zip in memory read by several threads at once,
//! each taking the next range of them, with the rows one thread gives.

use super::{Expansion, Meter};
use crate::archive::{self, Format};
use crate::matcher::Scratch;
use crate::record::{Note, Record};
use crate::scan::read::Worker;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// What one range of a zip's members gave: members read, and their rows
/// (with those of archives in them).
type Part = (u64, Vec<Record>);

/// Zips with fewer entries are read by one thread.
const PARALLEL_MEMBERS: usize = 16;

impl Worker<'_> {
    /// Reads the members of the zip `bytes` (at `path`, with MD5 `md5`) on
    /// several threads at once, each a range of them: the notes for the
    /// zip's row and the member rows, in the order a reading in turn gives.
    /// `None` when the zip does not read cleanly ([`archive::ZipPlan`]), is
    /// small, or when a limit is reached or the reading fails or is stopped:
    /// which member a limit stops at depends on the order, so such a zip is
    /// read again in order.
    pub(super) fn zip_in_parallel(
        &self,
        meter: &Meter,
        path: &str,
        bytes: &[u8],
        md5: [u8; 16],
    ) -> Option<(Vec<Note>, Vec<Record>)> {
        if self.member_threads < 2 {
            return None;
        }
        let plan = archive::ZipPlan::new(bytes, meter.limits.members)?;
        let n = plan.len();
        if n < PARALLEL_MEMBERS {
            return None;
        }
        let per = n.div_ceil(self.member_threads * 8).max(1);
        let ranges: Vec<std::ops::Range<usize>> =
            (0..n).step_by(per).map(|a| a..(a + per).min(n)).collect();
        // Threads of their own, each taking the next range until none is
        // left: not a pool's jobs, which a thread waiting inside a picture
        // decode could take up while it holds memory the job then waits for.
        let next = AtomicUsize::new(0);
        let parts: Vec<Mutex<Option<Part>>> = ranges.iter().map(|_| Mutex::new(None)).collect();
        let failed = AtomicBool::new(false);
        let read_ranges = || loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = ranges.get(k).cloned() else {
                return;
            };
            if failed.load(Ordering::Relaxed) || meter.stopped() {
                return;
            }
            let mut scratch = Scratch::default();
            let mut x = Expansion::new(self, &mut scratch, md5);
            let mut count = 0;
            let size = Some(bytes.len() as u64);
            // Names are unique in a clean plan: each is its first.
            let mut names = HashMap::new();
            let walked = plan.walk(range, &mut |entry, reader| {
                x.visit(
                    meter,
                    path,
                    entry,
                    reader,
                    1,
                    (Format::Zip, size),
                    &mut names,
                    &mut count,
                )
            });
            match walked {
                Ok(()) => {
                    *parts[k].lock().unwrap_or_else(|e| e.into_inner()) = Some((count, x.rows))
                }
                Err(_) => failed.store(true, Ordering::Relaxed),
            }
        };
        let threads = self.member_threads.min(ranges.len());
        std::thread::scope(|s| {
            for i in 1..threads {
                // A thread that cannot start leaves its ranges to the others.
                let _ = std::thread::Builder::new()
                    .name(format!("hashsweep-members-{i}"))
                    .spawn_scoped(s, read_ranges);
            }
            // This thread reads ranges too (all of them, should none start).
            read_ranges();
        });
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let parts: Vec<Option<Part>> = parts
            .into_iter()
            .map(|p| p.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        if meter.stopped() {
            return None;
        }
        let mut count = 0;
        let mut rows = Vec::new();
        for part in parts {
            let (c, r) = part?;
            count += c;
            rows.extend(r);
        }
        let notes = vec![Note::Archive {
            format: Format::Zip.name().into(),
            members: count,
        }];
        Some((notes, rows))
    }
}
