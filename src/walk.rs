//! The parallel walk of the evidence tree, with forensic defaults.
//!
//! Defaults, set here and nowhere else: nothing inside the evidence filters the
//! walk (no .gitignore, .ignore or hidden-file rules); symbolic links are listed,
//! never followed; a directory on another filesystem is listed as skipped and not
//! entered unless asked; FIFOs, sockets and device nodes are listed, never opened.
//! A directory that cannot be read becomes an entry with its error. The walk
//! yields every entry it meets except readable directories, which have no row.

use crate::pathfmt;
use crate::progress::Progress;
use crate::record::{Kind, Times};
use ignore::{ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Walker threads.
    pub threads: usize,
    /// Enter directories on other filesystems.
    pub cross_filesystems: bool,
}

/// What to do with an entry found by the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A regular file, to be read and hashed.
    Hash,
    /// Not read; the note says why.
    Skip(String),
    /// Could not be read or listed; the note holds the error.
    Unreadable(String),
}

/// One entry of the evidence tree.
#[derive(Debug, Clone)]
pub struct Found {
    /// The path to open.
    pub path: PathBuf,
    /// The report path: relative to the root, starting with `/`, escaped.
    pub rel: String,
    /// The entry's kind, from `lstat`.
    pub kind: Kind,
    /// Size from `lstat`.
    pub size: u64,
    /// Device number from `lstat`.
    pub dev: u64,
    /// Inode number from `lstat`.
    pub ino: u64,
    /// Modification time from `lstat`, to detect changes while reading.
    pub times: Times,
    /// What to do with it.
    pub status: Status,
}

/// Walks `root`, which must be a directory. The result is sorted by report path.
/// Stops early (with what it has) when `stop` is set.
pub fn walk(
    root: &Path,
    opts: &WalkOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> std::io::Result<Vec<Found>> {
    let root_meta = std::fs::symlink_metadata(root)?;
    let shared = Shared {
        root: root.to_path_buf(),
        root_dev: root_meta.dev(),
        cross_filesystems: opts.cross_filesystems,
        found: Mutex::new(Vec::new()),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        progress,
        stop,
    };
    let mut builder = WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .hidden(false)
        .parents(false)
        .ignore(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .follow_links(false)
        .same_file_system(false)
        .threads(opts.threads.max(1));
    builder.build_parallel().visit(&mut VisitorBuilder(&shared));
    let mut found = shared.found.into_inner().expect("walker thread panicked");
    found.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

struct Shared<'a> {
    root: PathBuf,
    root_dev: u64,
    cross_filesystems: bool,
    found: Mutex<Vec<Found>>,
    files: AtomicU64,
    bytes: AtomicU64,
    progress: &'a dyn Progress,
    stop: &'a AtomicBool,
}

struct VisitorBuilder<'s, 'a>(&'s Shared<'a>);

impl<'s, 'a: 's> ParallelVisitorBuilder<'s> for VisitorBuilder<'s, 'a> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            shared: self.0,
            local: Vec::new(),
        })
    }
}

struct Visitor<'s, 'a> {
    shared: &'s Shared<'a>,
    local: Vec<Found>,
}

impl Drop for Visitor<'_, '_> {
    fn drop(&mut self) {
        if let Ok(mut all) = self.shared.found.lock() {
            all.append(&mut self.local);
        }
    }
}

impl ParallelVisitor for Visitor<'_, '_> {
    fn visit(&mut self, result: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        if self.shared.stop.load(Ordering::Relaxed) {
            return WalkState::Quit;
        }
        let state = match result {
            Ok(entry) => self.entry(entry),
            Err(err) => {
                self.failure(err);
                WalkState::Continue
            }
        };
        let s = self.shared;
        let files = s.files.fetch_add(1, Ordering::Relaxed) + 1;
        if files % 512 == 0 {
            s.progress.walking(files, s.bytes.load(Ordering::Relaxed));
        }
        state
    }
}

impl Visitor<'_, '_> {
    fn rel(&self, path: &Path) -> String {
        let tail = path.strip_prefix(&self.shared.root).unwrap_or(path);
        let mut raw = Vec::with_capacity(tail.as_os_str().len() + 1);
        raw.push(b'/');
        raw.extend_from_slice(tail.as_os_str().as_bytes());
        pathfmt::escape(&raw)
    }

    /// Records an entry; `meta` is its `lstat`, when that succeeded.
    fn push(&mut self, path: &Path, kind: Kind, meta: Option<&std::fs::Metadata>, status: Status) {
        let rel = self.rel(path);
        self.local.push(Found {
            path: path.to_path_buf(),
            rel,
            kind,
            size: meta.map_or(0, |m| m.len()),
            dev: meta.map_or(0, |m| m.dev()),
            ino: meta.map_or(0, |m| m.ino()),
            times: meta.map(Times::from_metadata).unwrap_or_default(),
            status,
        });
    }

    fn entry(&mut self, entry: ignore::DirEntry) -> WalkState {
        if entry.depth() == 0 {
            return WalkState::Continue;
        }
        let path = entry.path();
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                let kind = entry.file_type().map_or(Kind::Other, Kind::from_file_type);
                self.push(
                    path,
                    kind,
                    None,
                    Status::Unreadable(format!("cannot stat: {e}")),
                );
                return WalkState::Skip;
            }
        };
        let kind = Kind::from_file_type(meta.file_type());
        let mut state = WalkState::Continue;
        let status = match kind {
            Kind::Directory => {
                if self.shared.cross_filesystems || meta.dev() == self.shared.root_dev {
                    return WalkState::Continue;
                }
                state = WalkState::Skip;
                Status::Skip(format!(
                    "mount point of another filesystem (device {}:{}); not entered (use --cross-filesystems)",
                    libc::major(meta.dev()),
                    libc::minor(meta.dev())
                ))
            }
            Kind::File => {
                self.shared.bytes.fetch_add(meta.len(), Ordering::Relaxed);
                Status::Hash
            }
            Kind::Symlink => match std::fs::read_link(path) {
                Ok(target) => Status::Skip(format!(
                    "symbolic link to {}; not followed",
                    pathfmt::escape(target.as_os_str().as_bytes())
                )),
                Err(e) => Status::Skip(format!(
                    "symbolic link, target unreadable ({e}); not followed"
                )),
            },
            Kind::Fifo => Status::Skip("named pipe (FIFO); never opened".into()),
            Kind::Socket => Status::Skip("socket; never opened".into()),
            Kind::CharDevice | Kind::BlockDevice => Status::Skip(format!(
                "device node {}:{}; never opened",
                libc::major(meta.rdev()),
                libc::minor(meta.rdev())
            )),
            Kind::Other => Status::Skip("unknown file type; never opened".into()),
        };
        self.push(path, kind, Some(&meta), status);
        state
    }

    fn failure(&mut self, err: ignore::Error) {
        let path = error_path(&err).map(Path::to_path_buf);
        let message = match err.io_error() {
            Some(io) => io.to_string(),
            None => err.to_string(),
        };
        let Some(path) = path else {
            // Every walker error names its path; keep the message if one ever does not.
            let root = self.shared.root.clone();
            self.push(
                &root,
                Kind::Other,
                None,
                Status::Unreadable(format!("walk error: {message}")),
            );
            return;
        };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) => {
                let kind = Kind::from_file_type(meta.file_type());
                let what = if kind == Kind::Directory {
                    "cannot list directory"
                } else {
                    "cannot read"
                };
                let status = Status::Unreadable(format!("{what}: {message}"));
                self.push(&path, kind, Some(&meta), status);
            }
            Err(_) => {
                let status = Status::Unreadable(format!("cannot read: {message}"));
                self.push(&path, Kind::Other, None, status);
            }
        }
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}
