//! Access times of the evidence: where reading could update them, and what the
//! scan did about it.
//!
//! Files and directories are opened with `O_NOATIME`, which the kernel grants
//! only to the owner of the file or a privileged process. Where it is refused
//! and the mount records access times (writable, not `noatime`), the read does
//! update the access time: each such file or directory is counted, and the user
//! warned. Reading a symbolic link's target (`readlink`) always updates the
//! link's access time on such a mount (no flag prevents it), so there targets
//! are not read unless asked (`--read-link-targets`).

use crate::evidence::fs::mounts;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// What the scan knows and counts about access times.
#[derive(Debug, Default)]
pub struct AccessTimes {
    read_link_targets: bool,
    /// The evidence root's device and whether its mount records access times:
    /// nearly every entry is there, and needs no lock to know.
    root: (u64, bool),
    /// Per other device: whether its mount records access times.
    records: Mutex<HashMap<u64, bool>>,
    /// Files read without `O_NOATIME` on a mount that records access times.
    pub files_exposed: AtomicU64,
    /// Directories listed without `O_NOATIME` on such a mount.
    pub dirs_exposed: AtomicU64,
    /// Symbolic links whose target was not read, to leave their access time.
    pub link_targets_not_read: AtomicU64,
    /// Symbolic links whose target was read on such a mount (`--read-link-targets`).
    pub link_targets_read_exposed: AtomicU64,
    warned: AtomicBool,
}

/// The note of a symbolic link whose target is not read.
pub const LINK_NOT_READ: &str = "symbolic link; target not read: the evidence is mounted read-write and records access times, and reading a link's target would update its access time (--read-link-targets reads it anyway); not followed";

impl AccessTimes {
    /// For the evidence at `root`. With `read_link_targets`, link targets are
    /// read even where that updates the link's access time.
    pub fn new(read_link_targets: bool, root: &Path) -> AccessTimes {
        use std::os::unix::fs::MetadataExt;
        let dev = std::fs::metadata(root).map_or(u64::MAX, |m| m.dev());
        AccessTimes {
            read_link_targets,
            root: (dev, records_at(root)),
            ..AccessTimes::default()
        }
    }

    /// Whether reading on the filesystem `dev`, which holds `path`, can update
    /// access times. Unknown mounts are taken to record them.
    pub fn records(&self, dev: u64, path: &Path) -> bool {
        if dev == self.root.0 {
            return self.root.1;
        }
        let mut known = self.records.lock().expect("access-time cache");
        *known.entry(dev).or_insert_with(|| records_at(path))
    }

    /// For a filesystem below the evidence root, entered with
    /// `--cross-filesystems` at `path`: the warning to give, the first time,
    /// when it is mounted read-write.
    pub fn entering(&self, dev: u64, path: &Path) -> Option<String> {
        let first = {
            let mut known = self.records.lock().expect("access-time cache");
            dev != self.root.0 && !known.contains_key(&dev) && {
                known.insert(dev, records_at(path));
                true
            }
        };
        if !first {
            return None;
        }
        mounts::find(path).filter(|m| !m.read_only()).map(|m| {
            format!(
                "a filesystem below the evidence ({} on {}) is mounted read-write; hashsweep writes nothing there, but mount evidence read-only",
                m.source,
                crate::pathfmt::path_text(&m.mount_point)
            )
        })
    }

    /// Whether to read the target of the symbolic link at `path` on `dev`.
    /// Counts the links left unread, and those read where that shows.
    pub fn read_link_target(&self, dev: u64, path: &Path) -> bool {
        let records = self.records(dev, path);
        if !records {
            return true;
        }
        if self.read_link_targets {
            self.link_targets_read_exposed
                .fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.link_targets_not_read.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// A file (`dir` false) or directory was opened without `O_NOATIME` on
    /// `dev`: counted when that mount records access times. Returns true the
    /// first time, when the user is to be warned.
    pub fn opened_without_noatime(&self, dev: u64, path: &Path, dir: bool) -> bool {
        if !self.records(dev, path) {
            return false;
        }
        let counter = if dir {
            &self.dirs_exposed
        } else {
            &self.files_exposed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        !self.warned.swap(true, Ordering::Relaxed)
    }

    /// Whether any access time may have been changed by the scan.
    pub fn any_exposed(&self) -> bool {
        self.files_exposed.load(Ordering::Relaxed)
            + self.dirs_exposed.load(Ordering::Relaxed)
            + self.link_targets_read_exposed.load(Ordering::Relaxed)
            > 0
    }
}

/// Whether the mount holding `path` records access times (unknown: yes).
fn records_at(path: &Path) -> bool {
    mounts::find(path).is_none_or(|m| m.records_access_times())
}

/// What a scan did about access times, for the audit log.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AccessReport {
    /// Files read without `O_NOATIME` on a mount that records access times.
    pub files_read_without_noatime: u64,
    /// Directories listed so.
    pub directories_listed_without_noatime: u64,
    /// Symbolic links whose target was not read.
    pub link_targets_not_read: u64,
    /// Link targets read anyway (`--read-link-targets`) on such a mount.
    pub link_targets_read_updating_access_time: u64,
    /// Whether any access time may have changed.
    pub access_times_may_have_changed: bool,
}

impl AccessTimes {
    /// The counts so far.
    pub fn report(&self) -> AccessReport {
        AccessReport {
            files_read_without_noatime: self.files_exposed.load(Ordering::Relaxed),
            directories_listed_without_noatime: self.dirs_exposed.load(Ordering::Relaxed),
            link_targets_not_read: self.link_targets_not_read.load(Ordering::Relaxed),
            link_targets_read_updating_access_time: self
                .link_targets_read_exposed
                .load(Ordering::Relaxed),
            access_times_may_have_changed: self.any_exposed(),
        }
    }
}

/// The warning given the first time access times cannot be preserved.
pub const NOT_PRESERVED: &str = "access times are not preserved: the kernel refused O_NOATIME (this user does not own the evidence files; run as root) on a mount that is writable and records access times; files read may show new access times (counted in audit.jsonl)";
