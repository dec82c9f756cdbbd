//! The order files are read in: likely hits first, hard links once.
//!
//! Files under user profile folders (`Users/<name>`, `home/<name>`, `Documents
//! and Settings/<name>`) and camera folders (`DCIM`) come first, and within each
//! group files whose names suggest pictures, videos or archives. Content decides
//! the rest while reading: a large file whose first bytes are not an image, a
//! video or an archive is put back until everything else has been read (see
//! [`Queue::defer`]). On a spinning disk each group is read in physical order.
//! The folders holding user profiles near the top of the evidence
//! ([`priority_dirs`]) are also walked first, so their files can be read while
//! the rest of the tree is walked ([`Queue::extend`]). None of this changes a
//! report row (only which path of a hard-linked file is the one read, which
//! the note of the others names): `report.csv` is sorted by path at the end.

use crate::evidence::fs::walk::{self, Found, Status};
use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A large file whose content is not a likely hit is read after everything else.
pub const DEFER_ABOVE: u64 = 1 << 20;

/// Names of folders holding one folder per user.
const PROFILE_ROOTS: &[&str] = &["users", "home", "documents and settings"];
/// Extensions of pictures, videos and archives (lower case).
const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jfif", "png", "gif", "bmp", "webp", "heic", "heif", "tif", "tiff", "mp4",
    "m4v", "mov", "avi", "wmv", "mkv", "webm", "3gp", "mpg", "mpeg", "flv", "zip", "rar", "7z",
];

/// The priority group of a report path: 0 is read first.
pub fn group(rel: &str) -> u8 {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    let in_profile = dirs.iter().enumerate().any(|(i, d)| {
        (PROFILE_ROOTS.iter().any(|r| d.eq_ignore_ascii_case(r)) && i + 1 < dirs.len())
            || d.eq_ignore_ascii_case("dcim")
    });
    let media = crate::digest::content::extension(rel)
        .is_some_and(|e| MEDIA_EXTENSIONS.iter().any(|m| e.eq_ignore_ascii_case(m)));
    match (in_profile, media) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
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
        let Ok((names, _, _)) = walk::list_dir(dir) else {
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
        p.file_name().and_then(OsStr::to_str).is_some_and(|n| {
            n.eq_ignore_ascii_case("dcim")
                || PROFILE_ROOTS.iter().any(|r| n.eq_ignore_ascii_case(r))
        })
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

/// What to read, in what order.
#[derive(Debug, Default)]
pub struct Plan {
    /// Indices of the entries to process, in reading order. Hard links other
    /// than the first path of each inode are not here.
    pub order: Vec<usize>,
    /// For an entry read, the other paths of the same inode, which get rows with
    /// the digests of that one read.
    pub links: HashMap<usize, Vec<usize>>,
    /// Entries in the first two groups (user folders).
    pub in_profiles: usize,
    /// Entries placed by FIEMAP (physical order only).
    pub physically_mapped: usize,
}

impl Plan {
    /// The same plan for entries numbered from `by` rather than 0.
    pub fn shifted(self, by: usize) -> Plan {
        Plan {
            order: self.order.into_iter().map(|i| i + by).collect(),
            links: self
                .links
                .into_iter()
                .map(|(k, v)| (k + by, v.into_iter().map(|i| i + by).collect()))
                .collect(),
            ..self
        }
    }
}

/// The key grouping the paths of one hard-linked file, read once: device and
/// inode of a regular file with more than one link; `None` otherwise.
pub fn inode_key(f: &Found) -> Option<(u64, u64)> {
    (f.status == Status::Hash && f.nlink > 1).then_some((f.dev, f.ino))
}

/// Plans the reading of `todo`. With `physical`, each group is sorted by the
/// physical offset of its files (by inode number where that is unknown).
pub fn plan(todo: &[&Found], physical: bool) -> Plan {
    let mut plan = Plan::default();
    let mut first_of_inode: HashMap<(u64, u64), usize> = HashMap::new();
    let mut groups: [Vec<usize>; 4] = Default::default();
    for (i, f) in todo.iter().enumerate() {
        if let Some(key) = inode_key(f) {
            match first_of_inode.get(&key) {
                Some(&first) => {
                    plan.links.entry(first).or_default().push(i);
                    continue;
                }
                None => {
                    first_of_inode.insert(key, i);
                }
            }
        }
        groups[usize::from(group(&f.rel))].push(i);
    }
    plan.in_profiles = groups[0].len() + groups[1].len();
    for g in &mut groups {
        if physical {
            plan.physically_mapped += crate::evidence::fs::device::sort_physical(g, todo);
        }
        plan.order.append(g);
    }
    plan
}

/// Hands out entries to readers: the plan's order first, then the files put
/// back by [`Queue::defer`]. The order can come in two parts: the first at once,
/// the rest ([`Queue::extend`]) once walked; until then readers that run out
/// wait for it.
pub struct Queue<'a> {
    first: Vec<usize>,
    rest: OnceLock<Vec<usize>>,
    next: AtomicUsize,
    deferred: Mutex<VecDeque<usize>>,
    /// Entries of the first pass being worked on: while any is, a reader that
    /// finds nothing to do waits, since one may yet be put back.
    active: AtomicUsize,
    /// Stop the queue when any is set (interrupt, fatal error, --stop-after reached).
    stops: [&'a AtomicBool; 2],
}

/// One entry to read.
#[derive(Debug, Clone, Copy)]
pub struct Take {
    /// Index into the to-do list.
    pub index: usize,
    /// Whether this is the deferred second pass (no further deferral).
    pub deferred: bool,
}

impl<'a> Queue<'a> {
    /// A queue over `first`, to be completed by [`Queue::extend`], stopped early
    /// when either flag is set.
    pub fn new(first: Vec<usize>, stops: [&'a AtomicBool; 2]) -> Queue<'a> {
        Queue {
            first,
            rest: OnceLock::new(),
            next: AtomicUsize::new(0),
            deferred: Mutex::new(VecDeque::new()),
            active: AtomicUsize::new(0),
            stops,
        }
    }

    /// Appends the rest of the order (once; a second call is ignored). Until
    /// this is called the queue is never finished.
    pub fn extend(&self, rest: Vec<usize>) {
        let _ = self.rest.set(rest);
    }

    /// Whether the scan is stopping.
    pub fn stopped(&self) -> bool {
        self.stops.iter().any(|s| s.load(Ordering::Relaxed))
    }

    /// The next entry, or `None` when all are done or the scan stops. A first-pass
    /// entry must be followed by [`Queue::done`] or [`Queue::defer`].
    pub fn take(&self) -> Option<Take> {
        self.next_entry(true)
    }

    /// Like [`Queue::take`], but `None` at once when nothing is ready, rather than
    /// waiting for entries other readers may put back or the walk may add.
    pub fn take_ready(&self) -> Option<Take> {
        self.next_entry(false)
    }

    /// Claims the next entry of the order, if one is there yet.
    fn claim(&self) -> Option<usize> {
        let rest = self.rest.get().map_or(&[][..], Vec::as_slice);
        let mut i = self.next.load(Ordering::SeqCst);
        loop {
            if i >= self.first.len() + rest.len() {
                return None;
            }
            match self
                .next
                .compare_exchange(i, i + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    return Some(match self.first.get(i) {
                        Some(&index) => index,
                        None => rest[i - self.first.len()],
                    })
                }
                Err(now) => i = now,
            }
        }
    }

    fn next_entry(&self, wait: bool) -> Option<Take> {
        loop {
            if self.stopped() {
                return None;
            }
            // Seen before claiming: if the whole order was there, an empty claim
            // means it is used up.
            let complete = self.rest.get().is_some();
            self.active.fetch_add(1, Ordering::SeqCst);
            if let Some(index) = self.claim() {
                return Some(Take {
                    index,
                    deferred: false,
                });
            }
            self.active.fetch_sub(1, Ordering::SeqCst);
            if complete {
                if let Some(index) = self.deferred.lock().expect("queue").pop_front() {
                    return Some(Take {
                        index,
                        deferred: true,
                    });
                }
            }
            if !wait || (complete && self.active.load(Ordering::SeqCst) == 0) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A taken entry is finished.
    pub fn done(&self, t: Take) {
        if !t.deferred {
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Puts a first-pass entry back, to be read after every other.
    pub fn defer(&self, t: Take) {
        debug_assert!(!t.deferred);
        self.deferred.lock().expect("queue").push_back(t.index);
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_folder_and_name() {
        assert_eq!(group("/Users/alice/Pictures/a.JPG"), 0);
        assert_eq!(group("/home/bob/notes.txt"), 1);
        assert_eq!(group("/mnt/DCIM/100APPLE/x.dat"), 1);
        assert_eq!(group("/Windows/Web/a.jpg"), 2);
        assert_eq!(group("/Windows/System32/a.dll"), 3);
        // The folder itself, not a user's folder in it.
        assert_eq!(group("/Users/desktop.ini"), 3);
        assert_eq!(group("/usersettings/a/b.txt"), 3);
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

    #[test]
    fn queue_waits_for_the_rest_of_the_walk() {
        let stop = AtomicBool::new(false);
        let q = Queue::new(vec![1], [&stop, &stop]);
        let first = q.take().unwrap();
        q.done(first);
        assert!(q.take_ready().is_none(), "nothing ready yet");
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut seen = Vec::new();
                while let Some(t) = q.take() {
                    seen.push(t.index);
                    q.done(t);
                }
                seen
            });
            std::thread::sleep(Duration::from_millis(30));
            // The reader is still waiting: the rest is not there yet.
            assert!(!reader.is_finished());
            q.extend(vec![2, 3]);
            assert_eq!(reader.join().unwrap(), [2, 3]);
        });
    }

    #[test]
    fn queue_serves_deferred_entries_last() {
        let stop = AtomicBool::new(false);
        let q = Queue::new(vec![5, 6], [&stop, &stop]);
        q.extend(vec![7]);
        let a = q.take().unwrap();
        q.defer(a);
        let mut seen = Vec::new();
        while let Some(t) = q.take() {
            seen.push((t.index, t.deferred));
            q.done(t);
        }
        assert_eq!(seen, [(6, false), (7, false), (5, true)]);
    }
}
