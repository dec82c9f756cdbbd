//! What the core tells whoever is watching a scan. The library only counts; the
//! binary decides how (and whether) to draw it.

use crate::output::csv::Cells;

/// Receives progress from a running scan. Called from many threads at once, so
/// implementations must be cheap and thread-safe. Every method has a no-op default.
pub trait Progress: Sync {
    /// The walk has found `files` entries holding `bytes` bytes of regular files so far.
    fn walking(&self, _files: u64, _bytes: u64) {}
    /// A decision the user should see before hashing starts (the I/O policy).
    fn decision(&self, _line: &str) {}
    /// Something the user should know that does not stop the scan (the evidence
    /// is mounted read-write, access times could not be preserved, ...). Also
    /// recorded in the audit log and summary.
    fn warning(&self, _line: &str) {}
    /// The walk is over; hashing of `files` entries and `bytes` bytes begins.
    fn hashing(&self, _files: u64, _bytes: u64) {}
    /// The walk of the rest of the tree, which went on while the priority folders
    /// were read, found `files` more entries holding `bytes` more bytes.
    fn found_more(&self, _files: u64, _bytes: u64) {}
    /// One entry has been handled; `bytes` of it were read.
    fn file_done(&self, _bytes: u64) {}
    /// An alert, conflict or similar row was found, given as its report cells. Called from
    /// the single report writer, in the order hits are written to `hits.csv`.
    fn hit(&self, _cells: &Cells) {}
    /// The scan has stopped hashing (finished or interrupted); reports are being written.
    fn finishing(&self) {}
}

/// Draws nothing.
pub struct NoProgress;

impl Progress for NoProgress {}
