//! The parallel walk of the evidence tree, with forensic defaults, into a
//! [`Listing`].
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
//! with work stealing; each adds its entries to the listing in one batch.

use super::atime::{self, AccessTimes};
use crate::evidence::{FolderId, Item, Listed, Listing};
use crate::pathfmt;
use crate::progress::Progress;
use crate::record::{Kind, Note, Verdict};
use crate::time::Times;
use rustix::fs::{Dir, Mode, OFlags};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Starts `threads` walking threads.
pub fn walk_pool(threads: usize) -> io::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("hashsweep-walk-{i}"))
        .build()
        .map_err(io::Error::other)
}

/// The names in a directory (with the kind each directory entry gives), the
/// error that stopped the listing part-way, if any, and whether the directory
/// was opened with `O_NOATIME` (false when the OS refused it).
pub type DirNames = (Vec<(Vec<u8>, Kind)>, Option<io::Error>, bool);

/// Lists a directory through a descriptor opened with `O_NOATIME` where the OS
/// permits it (the owner or a privileged user), so its access time is not updated.
/// Returns the names read with the kind the directory entry gives (used only
/// when `lstat` fails) and, if listing stopped part-way, the error.
pub fn list_dir(dir: &Path) -> io::Result<DirNames> {
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

/// How to walk.
pub struct Walk<'a> {
    /// The evidence root.
    pub root: &'a Path,
    /// Enter directories on other filesystems.
    pub cross_filesystems: bool,
    /// The threads to walk with.
    pub pool: &'a rayon::ThreadPool,
    /// Where access times could change, and what was done about it.
    pub atimes: &'a AccessTimes,
    /// Reports counts and warnings.
    pub progress: &'a dyn Progress,
    /// Stops the walk early (with what it has) when any is set.
    pub stops: &'a [&'a AtomicBool],
}

impl Walk<'_> {
    /// Walks one part of the tree under the root into a listing (paths stay
    /// relative to the root).
    pub fn part(&self, part: &Part) -> io::Result<Listing> {
        let root_meta = std::fs::symlink_metadata(self.root)?;
        let mut listing = Listing::new();
        // Each start's folder chain from the root, so its paths are whole.
        let mut starts = Vec::new();
        for start in part.starts {
            let mut folder: FolderId = 0;
            let tail = start.strip_prefix(self.root).unwrap_or(Path::new(""));
            for c in tail.components() {
                folder = listing.add_folder(folder, c.as_os_str().as_bytes());
            }
            starts.push((folder, start.clone()));
        }
        let shared = Shared {
            walk: self,
            root_dev: root_meta.dev(),
            skip: part.skip,
            listing: Mutex::new(listing),
            entries: AtomicU64::new(part.counted.0),
            bytes: AtomicU64::new(part.counted.1),
        };
        self.pool.scope(|s| {
            for (folder, start) in starts {
                let shared = &shared;
                s.spawn(move |s| shared.visit_dir(s, folder, start));
            }
        });
        let mut listing = shared.listing.into_inner().expect("walker thread panicked");
        listing.sort_by_path();
        listing.shrink();
        Ok(listing)
    }
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
    walk: &'a Walk<'a>,
    root_dev: u64,
    skip: &'a [PathBuf],
    listing: Mutex<Listing>,
    entries: AtomicU64,
    bytes: AtomicU64,
}

/// One entry found in a directory, before it joins the listing.
enum Found {
    /// A directory to enter.
    Enter(Vec<u8>, PathBuf),
    /// An entry: name, kind, `lstat` facts (device, inode, links, size) and,
    /// for one that is not read, its row.
    Entry(Vec<u8>, Kind, [u64; 4], Option<Listed>),
}

impl<'a> Shared<'a> {
    /// Lists one directory, adds its entries, and queues its subdirectories.
    fn visit_dir<'s>(&'s self, scope: &rayon::Scope<'s>, folder: FolderId, dir: PathBuf) {
        let w = self.walk;
        if w.stops.iter().any(|s| s.load(Ordering::Relaxed)) {
            return;
        }
        let (names, failure, noatime) = match list_dir(&dir) {
            Ok(listed) => listed,
            Err(e) => (Vec::new(), Some(e), true),
        };
        if !noatime {
            let dev = std::fs::symlink_metadata(&dir).map_or(self.root_dev, |m| m.dev());
            if w.atimes.opened_without_noatime(dev, &dir, true) {
                w.progress.warning(atime::NOT_PRESERVED);
            }
        }
        let mut found = Vec::with_capacity(names.len());
        for (name, listed_kind) in names.iter() {
            let path = dir.join(OsStr::from_bytes(name));
            if let Some(f) = self.entry(name, path, *listed_kind) {
                found.push(f);
            }
        }
        let mut enter = Vec::new();
        {
            let mut listing = self.listing.lock().expect("walker thread panicked");
            if let Some(e) = failure {
                let meta = std::fs::symlink_metadata(&dir).ok();
                let note = if names.is_empty() {
                    Note::CannotList {
                        error: e.to_string(),
                    }
                } else {
                    Note::ListingStopped {
                        error: e.to_string(),
                    }
                };
                let listed = Listed {
                    verdict: Verdict::Unreadable,
                    times: meta.as_ref().map(Times::from_metadata).unwrap_or_default(),
                    note,
                };
                let dev = listing.device(meta.as_ref().map_or(0, |m| m.dev()));
                let ino = meta.as_ref().map_or(0, |m| m.ino());
                let item = Item::new(
                    Kind::Directory,
                    meta.map_or(0, |m| m.len()),
                    dev,
                    ino,
                    false,
                    3,
                );
                listing.add_as_folder(folder, item, Some(listed));
            }
            for f in found {
                match f {
                    Found::Enter(name, path) => {
                        let id = listing.add_folder(folder, &name);
                        enter.push((id, path));
                    }
                    Found::Entry(name, kind, [dev, ino, nlink, size], listed) => {
                        let dev = listing.device(dev);
                        let item = Item::new(kind, size, dev, ino, nlink > 1, 3);
                        listing.add(folder, &name, item, listed);
                    }
                }
            }
        }
        for (id, path) in enter {
            scope.spawn(move |s| self.visit_dir(s, id, path));
        }
        let n = self
            .entries
            .fetch_add(names.len() as u64, Ordering::Relaxed)
            + names.len() as u64;
        w.progress.walking(n, self.bytes.load(Ordering::Relaxed));
    }

    /// Classifies one entry.
    fn entry(&self, name: &[u8], path: PathBuf, listed_kind: Kind) -> Option<Found> {
        let w = self.walk;
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                let listed = Listed {
                    verdict: Verdict::Unreadable,
                    times: Times::default(),
                    note: Note::CannotStat {
                        error: e.to_string(),
                    },
                };
                return Some(Found::Entry(
                    name.to_vec(),
                    listed_kind,
                    [0; 4],
                    Some(listed),
                ));
            }
        };
        let kind = Kind::from_file_type(meta.file_type());
        let skip = |note: Note| {
            Some(Listed {
                verdict: Verdict::Skipped,
                times: Times::from_metadata(&meta),
                note,
            })
        };
        let listed = match kind {
            Kind::Directory => {
                if self.skip.contains(&path) {
                    return None;
                }
                if w.cross_filesystems || meta.dev() == self.root_dev {
                    if meta.dev() != self.root_dev {
                        if let Some(warning) = w.atimes.entering(meta.dev(), &path) {
                            w.progress.warning(&warning);
                        }
                    }
                    return Some(Found::Enter(name.to_vec(), path));
                }
                skip(Note::MountPoint {
                    major: libc::major(meta.dev()),
                    minor: libc::minor(meta.dev()),
                })
            }
            Kind::File => {
                self.bytes.fetch_add(meta.len(), Ordering::Relaxed);
                None
            }
            // readlink updates the link's access time where the mount records
            // them; no flag prevents it (see super::atime).
            Kind::Symlink if !w.atimes.read_link_target(meta.dev(), &path) => {
                skip(Note::LinkTargetNotRead)
            }
            Kind::Symlink => match std::fs::read_link(&path) {
                Ok(target) => skip(Note::Symlink {
                    target: pathfmt::escape(target.as_os_str().as_bytes()),
                }),
                Err(e) => skip(Note::SymlinkUnreadable {
                    error: e.to_string(),
                }),
            },
            Kind::Fifo => skip(Note::Fifo),
            Kind::Socket => skip(Note::Socket),
            Kind::CharDevice | Kind::BlockDevice => skip(Note::Device {
                major: libc::major(meta.rdev()),
                minor: libc::minor(meta.rdev()),
            }),
            Kind::Other => skip(Note::UnknownType),
        };
        let facts = [meta.dev(), meta.ino(), meta.nlink(), meta.len()];
        Some(Found::Entry(name.to_vec(), kind, facts, listed))
    }
}

/// The folders walked (and read) before the rest of the evidence: user profile
/// roots (`Users`, `home`, `Documents and Settings`) and camera folders (`DCIM`)
/// at the top of the evidence or one level down (a folder per partition), on
/// the evidence's filesystem unless `cross_filesystems`. Sorted; empty when there
/// are none. A top level of more than [`WIDE_TOP`] folders is not looked into.
pub fn priority_dirs(root: &Path, cross_filesystems: bool) -> Vec<PathBuf> {
    let Ok(root_meta) = std::fs::symlink_metadata(root) else {
        return Vec::new();
    };
    // Real directories only (never a symbolic link), on the right filesystem.
    let dirs_in = |dir: &Path| -> Vec<PathBuf> {
        let Ok((names, _, _)) = list_dir(dir) else {
            return Vec::new();
        };
        names
            .into_iter()
            .map(|(name, _)| dir.join(OsStr::from_bytes(&name)))
            .filter(|p| {
                std::fs::symlink_metadata(p)
                    .is_ok_and(|m| m.is_dir() && (cross_filesystems || m.dev() == root_meta.dev()))
            })
            .collect()
    };
    let is_priority = |p: &Path| {
        p.file_name()
            .and_then(OsStr::to_str)
            .is_some_and(crate::evidence::is_priority_folder)
    };
    let top = dirs_in(root);
    let mut found: Vec<PathBuf> = top.iter().filter(|p| is_priority(p)).cloned().collect();
    if top.len() <= WIDE_TOP {
        for d in top.iter().filter(|p| !is_priority(p)) {
            found.extend(dirs_in(d).into_iter().filter(|p| is_priority(p)));
        }
    }
    found.sort();
    found
}

/// Top-level folders beyond which [`priority_dirs`] does not look one level down.
pub const WIDE_TOP: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    fn rels(root: &Path, threads: usize) -> Vec<(String, Kind, bool)> {
        let pool = walk_pool(threads).unwrap();
        let atimes = AccessTimes::new(true, root);
        let stop = AtomicBool::new(false);
        let walk = Walk {
            root,
            cross_filesystems: false,
            pool: &pool,
            atimes: &atimes,
            progress: &NoProgress,
            stops: &[&stop],
        };
        let starts = [root.to_path_buf()];
        let l = walk
            .part(&Part {
                starts: &starts,
                skip: &[],
                counted: (0, 0),
            })
            .unwrap();
        let mut out: Vec<(String, Kind, bool)> = (0..l.len())
            .map(|i| (l.path(i), l.item(i).kind, l.item(i).read))
            .collect();
        out.sort();
        out
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
            .any(|(r, k, read)| r == "/link" && *k == Kind::Symlink && !read));
    }

    #[test]
    fn empty_root_and_rel_escape() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(rels(tmp.path(), 2).is_empty());
        std::fs::write(tmp.path().join(OsStr::from_bytes(b"x\xff")), b"").unwrap();
        assert_eq!(rels(tmp.path(), 2)[0].0, "/x\\xff");
    }

    #[test]
    fn priority_dirs_near_the_top() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in [
            "Users/alice",
            "part2/home/bob",
            "part2/Windows",
            "DCIM/100APPLE",
            "a/b/Users/deep",
            "data/media/0/DCIM",
            "usersettings",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("home"), b"a file named home").unwrap();
        std::os::unix::fs::symlink(root.join("Users"), root.join("part2/users")).unwrap();
        let got: Vec<PathBuf> = priority_dirs(root, false)
            .into_iter()
            .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        // One level down at most; never a file or a symbolic link.
        assert_eq!(
            got,
            ["DCIM", "Users", "part2/home"].map(PathBuf::from).to_vec()
        );
    }
}
