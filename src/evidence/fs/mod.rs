//! A mounted evidence tree read through the OS: the [`Source`] most scans use.

pub mod atime;
pub mod device;
pub mod identity;
pub mod mapped;
pub mod mounts;
pub mod open;
pub mod physical;
pub mod walk;

use crate::digest::Update;
use crate::evidence::io::{IoChoice, IoDecision};
use crate::evidence::{After, EvidenceFile, ListContext, Listing, Mapped, Opened, Part, Source};
use crate::progress::Progress;
use crate::record::{Kind, Note, Verdict};
use crate::time::Times;
use atime::AccessTimes;
use open::CacheHints;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The path of a listed entry: the root joined with its raw path.
pub fn full_path(root: &Path, raw: &[u8]) -> PathBuf {
    let rel = raw.strip_prefix(b"/").unwrap_or(raw);
    if rel.is_empty() {
        return root.to_path_buf();
    }
    root.join(OsStr::from_bytes(rel))
}

/// A mounted tree.
pub struct FsSource {
    root: PathBuf,
    cross_filesystems: bool,
    pool: rayon::ThreadPool,
    atimes: AccessTimes,
    priority: Vec<PathBuf>,
}

impl FsSource {
    /// The tree at `root` (canonical), walked with `threads` threads, entering
    /// other filesystems with `cross_filesystems`, reading link targets even
    /// where that updates their access times with `read_link_targets`. Fails
    /// when the threads cannot be started.
    pub fn new(
        root: &Path,
        cross_filesystems: bool,
        read_link_targets: bool,
        threads: usize,
    ) -> io::Result<FsSource> {
        Ok(FsSource {
            root: root.to_path_buf(),
            cross_filesystems,
            pool: walk::walk_pool(threads)?,
            atimes: AccessTimes::new(read_link_targets, root),
            priority: walk::priority_dirs(root, cross_filesystems),
        })
    }
}

impl Source for FsSource {
    fn list(&self, part: Part, ctx: &ListContext) -> io::Result<Listing> {
        let walk = walk::Walk {
            root: &self.root,
            cross_filesystems: self.cross_filesystems,
            pool: &self.pool,
            atimes: &self.atimes,
            progress: ctx.progress,
            stops: ctx.stops,
        };
        let root = [self.root.clone()];
        let spec = match part {
            Part::First => walk::Part {
                starts: &self.priority,
                skip: &[],
                counted: (0, 0),
            },
            Part::Rest => walk::Part {
                starts: &root,
                skip: &self.priority,
                counted: ctx.counted,
            },
        };
        walk.part(&spec)
    }

    fn first_folders(&self) -> Vec<String> {
        self.priority
            .iter()
            .map(|p| walk::report_path(&self.root, p))
            .collect()
    }

    fn io_decision(
        &self,
        listed: &[&Listing],
        partial: bool,
        choice: IoChoice,
        threads: usize,
        io_threads: usize,
    ) -> Option<IoDecision> {
        device::decide(&self.root, listed, partial, choice, threads, io_threads)
    }

    fn place(&self, listing: &Listing, entries: &mut [u32]) -> usize {
        physical::sort_physical(&self.root, listing, entries)
    }

    fn open(&self, listing: &Listing, i: usize, in_order: bool, progress: &dyn Progress) -> Opened {
        let item = listing.item(i);
        let path = full_path(&self.root, &listing.raw_path(i));
        let failed = |verdict, kind, note, changed| Opened::Failed {
            verdict,
            kind,
            note,
            changed,
        };
        let file = match open::open_evidence_noting(&path, false) {
            Ok((f, noatime)) => {
                if !noatime
                    && self
                        .atimes
                        .opened_without_noatime(listing.dev(item), &path, false)
                {
                    progress.warning(atime::NOT_PRESERVED);
                }
                f
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return failed(Verdict::Skipped, Kind::Symlink, Note::BecameSymlink, true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let note = Note::Vanished {
                    error: e.to_string(),
                };
                return failed(Verdict::Unreadable, Kind::File, note, false);
            }
            Err(e) => {
                let note = Note::CannotOpen {
                    error: e.to_string(),
                };
                return failed(Verdict::Unreadable, Kind::File, note, false);
            }
        };
        let before = match file.metadata() {
            Ok(m) => m,
            Err(e) => {
                let note = Note::CannotStatOpen {
                    error: e.to_string(),
                };
                return failed(Verdict::Unreadable, Kind::File, note, false);
            }
        };
        if !before.is_file() {
            let kind = Kind::from_file_type(before.file_type());
            return failed(Verdict::Skipped, kind, Note::Became { kind }, true);
        }
        if in_order {
            open::read_in_order(&file);
        }
        let replaced = (before.dev(), before.ino()) != (listing.dev(item), item.ino);
        Opened::File(Box::new(FsFile {
            file,
            before,
            replaced,
            hints: None,
            in_order,
        }))
    }

    fn times(&self, listing: &Listing, i: usize) -> Times {
        std::fs::symlink_metadata(full_path(&self.root, &listing.raw_path(i)))
            .map(|m| Times::from_metadata(&m))
            .unwrap_or_default()
    }

    fn warnings(&self) -> Vec<String> {
        mounts::find(&self.root)
            .filter(|m| !m.read_only())
            .map(|m| {
                format!(
                    "the evidence ({} on {}) is mounted read-write; hashsweep writes nothing there, but mount evidence read-only",
                    m.source,
                    crate::pathfmt::path_text(&m.mount_point)
                )
            })
            .into_iter()
            .collect()
    }

    fn access_times(&self) -> Option<atime::AccessReport> {
        Some(self.atimes.report())
    }
}

/// An evidence file open for reading.
struct FsFile {
    file: File,
    before: std::fs::Metadata,
    replaced: bool,
    hints: Option<CacheHints>,
    in_order: bool,
}

impl Read for FsFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl EvidenceFile for FsFile {
    fn size(&self) -> u64 {
        self.before.len()
    }

    fn times(&self) -> Times {
        Times::from_metadata(&self.before)
    }

    fn replaced(&self) -> bool {
        self.replaced
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset)).map(drop)
    }

    fn after(&self) -> Option<After> {
        self.file.metadata().ok().map(|m| After {
            size: m.len(),
            modified: Times::from_metadata(&m).modified,
        })
    }

    fn start_hints(&mut self) {
        self.hints = Some(CacheHints::start(
            &self.file,
            self.before.len(),
            self.in_order,
        ));
    }

    fn reached(&mut self, offset: u64, done: bool) {
        if let Some(h) = &mut self.hints {
            h.advance(&self.file, offset, done);
        }
    }

    fn hash_mapped(
        &mut self,
        from: u64,
        to: u64,
        hasher: &mut dyn Update,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Mapped {
        let (file, hints) = (&self.file, &mut self.hints);
        // Pages behind each window are dropped as for reads.
        mapped::hash_mapped(file, from, to, hasher, &mut |at| {
            if let Some(h) = hints.as_mut() {
                h.advance(file, at, false);
            }
            progress(at)
        })
    }
}
