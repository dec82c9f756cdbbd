//! The parallel walk of the evidence tree, with forensic defaults.
//!
//! Defaults, set here and nowhere else: nothing inside the evidence filters the
//! walk (no .gitignore, .ignore or hidden-file rules: every entry is listed);
//! directories are opened with `O_NOATIME` (where permitted) so listing them does
//! not update their access time; symbolic links are listed, never followed; a
//! directory on another filesystem is listed as skipped and not entered unless
//! asked; FIFOs, sockets and device nodes are listed, never opened. A directory
//! that cannot be listed becomes an entry with its error. Readable directories
//! have no entry of their own.
//!
//! Each directory is a task on a rayon pool, so subtrees are listed in parallel
//! with work stealing.

use crate::evidence::fs::atime::AccessTimes;
use crate::pathfmt;
use crate::progress::Progress;
use crate::record::{Kind, Times};
use rustix::fs::{Dir, Mode, OFlags};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Walker threads (when no pool is given).
    pub threads: usize,
    /// Enter directories on other filesystems.
    pub cross_filesystems: bool,
    /// The threads to walk with; `None` to start `threads` of them for each walk.
    pub pool: Option<std::sync::Arc<rayon::ThreadPool>>,
}

/// Starts `threads` walking threads.
pub fn walk_pool(threads: usize) -> io::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("hashsweep-walk-{i}"))
        .build()
        .map_err(io::Error::other)
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
    /// Number of hard links from `lstat`.
    pub nlink: u64,
    /// Times from `lstat`/`statx`.
    pub times: Times,
    /// What to do with it.
    pub status: Status,
}

/// A directory listing: each name with the kind its directory entry gives, the
/// error that stopped the listing part-way, if any, and whether the directory
/// was opened with `O_NOATIME` (false when the OS refused it).
pub type Listing = (Vec<(Vec<u8>, Kind)>, Option<io::Error>, bool);

/// Lists a directory through a descriptor opened with `O_NOATIME` where the OS
/// permits it (the owner or a privileged user), so its access time is not updated.
/// Returns the names read with the kind the directory entry gives (used only
/// when `lstat` fails) and, if listing stopped part-way, the error.
pub fn list_dir(dir: &Path) -> io::Result<Listing> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let (fd, noatime) = match rustix::fs::open(dir, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => (rustix::fs::open(dir, flags, Mode::empty())?, false),
        r => (r?, true),
    };
    let mut entries = Dir::new(fd)?;
    let mut names = Vec::new();
    while let Some(entry) = entries.read() {
        match entry {
            Ok(e) => {
                let name = e.file_name().to_bytes();
                if name != b"." && name != b".." {
                    names.push((name.to_vec(), kind_of_entry(e.file_type())));
                }
            }
            Err(e) => return Ok((names, Some(e.into()), noatime)),
        }
    }
    Ok((names, None, noatime))
}

fn kind_of_entry(t: rustix::fs::FileType) -> Kind {
    use rustix::fs::FileType as T;
    match t {
        T::RegularFile => Kind::File,
        T::Directory => Kind::Directory,
        T::Symlink => Kind::Symlink,
        T::Fifo => Kind::Fifo,
        T::Socket => Kind::Socket,
        T::CharacterDevice => Kind::CharDevice,
        T::BlockDevice => Kind::BlockDevice,
        _ => Kind::Other,
    }
}

/// Walks `root`, which must be a directory. The result is sorted by report path.
/// Stops early (with what it has) when `stop` is set.
pub fn walk(
    root: &Path,
    opts: &WalkOptions,
    atimes: &AccessTimes,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> io::Result<Vec<Found>> {
    let whole = Part {
        starts: &[root.to_path_buf()],
        skip: &[],
        counted: (0, 0),
    };
    walk_part(root, &whole, opts, atimes, progress, &[stop])
}

/// A part of the evidence tree to walk.
#[derive(Debug, Clone, Copy)]
pub struct Part<'p> {
    /// Directories under the root to walk (the root itself for all of it).
    pub starts: &'p [PathBuf],
    /// Directories not to enter (walked as another part); they get no entry.
    pub skip: &'p [PathBuf],
    /// Entries and bytes found by parts walked before, for the progress count.
    pub counted: (u64, u64),
}

/// Walks one part of the tree under `root` (report paths stay relative to
/// `root`). The result is sorted by report path. Stops early (with what it has)
/// when any of `stops` is set.
pub fn walk_part(
    root: &Path,
    part: &Part,
    opts: &WalkOptions,
    atimes: &AccessTimes,
    progress: &dyn Progress,
    stops: &[&AtomicBool],
) -> io::Result<Vec<Found>> {
    let root_meta = std::fs::symlink_metadata(root)?;
    let shared = Shared {
        root,
        root_dev: root_meta.dev(),
        cross_filesystems: opts.cross_filesystems,
        skip: part.skip,
        found: Mutex::new(Vec::new()),
        entries: AtomicU64::new(part.counted.0),
        bytes: AtomicU64::new(part.counted.1),
        progress,
        stops,
        atimes,
    };
    let own;
    let pool = match &opts.pool {
        Some(p) => p.as_ref(),
        None => {
            own = walk_pool(opts.threads)?;
            &own
        }
    };
    pool.scope(|s| {
        for start in part.starts {
            let shared = &shared;
            s.spawn(move |s| shared.visit_dir(s, start.clone()));
        }
    });
    let mut found = shared.found.into_inner().expect("walker thread panicked");
    found.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    Ok(found)
}

/// The report path of `path` under `root`: relative, starting with `/`, escaped.
pub fn report_path(root: &Path, path: &Path) -> String {
    let tail = path.strip_prefix(root).unwrap_or(path);
    let mut raw = Vec::with_capacity(tail.as_os_str().len() + 1);
    raw.push(b'/');
    raw.extend_from_slice(tail.as_os_str().as_bytes());
    pathfmt::escape(&raw)
}

struct Shared<'a> {
    root: &'a Path,
    root_dev: u64,
    cross_filesystems: bool,
    skip: &'a [PathBuf],
    found: Mutex<Vec<Found>>,
    entries: AtomicU64,
    bytes: AtomicU64,
    progress: &'a dyn Progress,
    stops: &'a [&'a AtomicBool],
    atimes: &'a AccessTimes,
}

impl<'a> Shared<'a> {
    fn rel(&self, path: &Path) -> String {
        report_path(self.root, path)
    }

    fn found(
        &self,
        path: PathBuf,
        kind: Kind,
        meta: Option<&std::fs::Metadata>,
        status: Status,
    ) -> Found {
        Found {
            rel: self.rel(&path),
            path,
            kind,
            size: meta.map_or(0, |m| m.len()),
            dev: meta.map_or(0, |m| m.dev()),
            ino: meta.map_or(0, |m| m.ino()),
            nlink: meta.map_or(0, |m| m.nlink()),
            times: meta.map(Times::from_metadata).unwrap_or_default(),
            status,
        }
    }

    /// Lists one directory, records its entries, and queues its subdirectories.
    fn visit_dir<'s>(&'s self, scope: &rayon::Scope<'s>, dir: PathBuf) {
        if self.stops.iter().any(|s| s.load(Ordering::Relaxed)) {
            return;
        }
        let mut local = Vec::new();
        let (names, failure, noatime) = match list_dir(&dir) {
            Ok(listed) => listed,
            Err(e) => (Vec::new(), Some(e), true),
        };
        if !noatime {
            let dev = std::fs::symlink_metadata(&dir).map_or(self.root_dev, |m| m.dev());
            if self.atimes.opened_without_noatime(dev, &dir, true) {
                self.progress
                    .warning(crate::evidence::fs::atime::NOT_PRESERVED);
            }
        }
        if let Some(e) = failure {
            let meta = std::fs::symlink_metadata(&dir).ok();
            let what = if names.is_empty() {
                "cannot list directory"
            } else {
                "directory listing stopped part-way"
            };
            let status = Status::Unreadable(format!("{what}: {e}"));
            local.push(self.found(dir.clone(), Kind::Directory, meta.as_ref(), status));
        }
        for (name, listed_kind) in &names {
            let path = dir.join(OsStr::from_bytes(name));
            if let Some(f) = self.entry(scope, path, *listed_kind) {
                local.push(f);
            }
        }
        let n = self
            .entries
            .fetch_add(names.len() as u64, Ordering::Relaxed)
            + names.len() as u64;
        self.progress.walking(n, self.bytes.load(Ordering::Relaxed));
        self.found
            .lock()
            .expect("walker thread panicked")
            .append(&mut local);
    }

    /// Classifies one entry; a directory to enter is queued and yields no entry.
    fn entry<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        path: PathBuf,
        listed_kind: Kind,
    ) -> Option<Found> {
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let status = Status::Unreadable(format!("cannot stat: {e}"));
                return Some(self.found(path, listed_kind, None, status));
            }
        };
        let kind = Kind::from_file_type(meta.file_type());
        let status = match kind {
            Kind::Directory => {
                if self.skip.contains(&path) {
                    return None;
                }
                if self.cross_filesystems || meta.dev() == self.root_dev {
                    if meta.dev() != self.root_dev {
                        if let Some(w) = self.atimes.entering(meta.dev(), &path) {
                            self.progress.warning(&w);
                        }
                    }
                    scope.spawn(move |s| self.visit_dir(s, path));
                    return None;
                }
                Status::Skip(format!(
                    "mount point of another filesystem (device {}:{}); not entered (use --cross-filesystems)",
                    libc::major(meta.dev()),
                    libc::minor(meta.dev())
                ))
            }
            Kind::File => {
                self.bytes.fetch_add(meta.len(), Ordering::Relaxed);
                Status::Hash
            }
            // readlink updates the link's access time where the mount records
            // them; no flag prevents it (see crate::evidence::fs::atime).
            Kind::Symlink if !self.atimes.read_link_target(meta.dev(), &path) => {
                Status::Skip(crate::evidence::fs::atime::LINK_NOT_READ.into())
            }
            Kind::Symlink => match std::fs::read_link(&path) {
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
        Some(self.found(path, kind, Some(&meta), status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn rels(root: &Path, threads: usize) -> Vec<(String, Kind, Status)> {
        let opts = WalkOptions {
            threads,
            cross_filesystems: false,
            pool: None,
        };
        walk(
            root,
            &opts,
            &AccessTimes::new(true, root),
            &NoProgress,
            &AtomicBool::new(false),
        )
        .unwrap()
        .into_iter()
        .map(|f| (f.rel, f.kind, f.status))
        .collect()
    }

    /// The parallel walk finds exactly what a serial one does.
    #[test]
    fn parallel_walk_equals_serial_walk() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..300 {
            let d = tmp
                .path()
                .join(format!("a{}/b{}/c{}", i % 5, i % 11, i % 3));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("f{i}")), b"x").unwrap();
        }
        std::os::unix::fs::symlink("a0", tmp.path().join("link")).unwrap();
        let serial = rels(tmp.path(), 1);
        assert_eq!(serial.len(), 301);
        for _ in 0..5 {
            assert_eq!(rels(tmp.path(), 4), serial);
        }
        assert!(serial
            .iter()
            .any(|(r, k, _)| r == "/link" && *k == Kind::Symlink));
    }

    #[test]
    fn empty_root_and_rel_escape() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(rels(tmp.path(), 2).is_empty());
        std::fs::write(tmp.path().join(OsStr::from_bytes(b"x\xff")), b"").unwrap();
        assert_eq!(rels(tmp.path(), 2)[0].0, "/x\\xff");
    }
}
