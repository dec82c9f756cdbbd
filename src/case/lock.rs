//! The case folder held by one scan at a time. The folder is created (or
//! opened, when it already exists) and locked with `flock` for as long as the
//! scan runs; a second scan, or a `verify`, of the same folder meanwhile is told
//! the folder is in use. The lock is the kernel's: it goes with the process,
//! however that ends, so a killed scan never leaves a stale lock behind.
//!
//! Where a folder cannot be locked itself (NFS emulates `flock` with byte-range
//! locks, which need a file open for writing), a lock file in it,
//! [`LOCK_FILE`], is locked instead and removed when the scan ends.

use crate::error::{Error, Result};
use rustix::fs::{FlockOperation, Mode, OFlags};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The lock file used where the folder itself cannot be locked.
pub const LOCK_FILE: &str = ".hashsweep.lock";

/// What holds the lock.
#[derive(Debug)]
enum Held {
    /// The folder's own descriptor, kept open while the lock is held.
    Folder { _fd: OwnedFd },
    /// A lock file in the folder, removed on drop.
    File { _fd: OwnedFd },
}

/// A locked case folder.
#[derive(Debug)]
pub struct CaseLock {
    path: PathBuf,
    held: Option<Held>,
    /// Folders created for this lock, outermost first.
    created: Vec<PathBuf>,
}

/// The usage error for a folder another process holds.
fn in_use(path: &Path) -> Error {
    Error::Usage(format!(
        "the case folder {} is in use by another hashsweep process; wait for it to finish, or choose another folder",
        crate::pathfmt::path_text(path)
    ))
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        Error::Usage(format!(
            "case folder {}: {e}",
            crate::pathfmt::path_text(path)
        ))
    })
}

/// Locks `fd` without waiting: `Ok(false)` when another process holds it,
/// `Err` when this kind of lock cannot be taken here.
fn try_lock(fd: &OwnedFd, op: FlockOperation) -> std::io::Result<bool> {
    match rustix::fs::flock(fd, op) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Creates `path` and any missing parents one at a time, returning those this
/// call created, outermost first (a folder another process created meanwhile
/// is not among them).
fn create_folders(path: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(path);
    while let Some(p) = at {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => break,
            Ok(_) if p == path => {
                return Err(Error::Usage(format!(
                    "output {} exists and is not a folder",
                    crate::pathfmt::path_text(path)
                )))
            }
            // A link to a folder: the kernel follows it when creating below.
            Ok(_) => break,
            Err(_) => missing.push(p.to_path_buf()),
        }
        at = p.parent();
    }
    let mut created = Vec::new();
    for p in missing.into_iter().rev() {
        match std::fs::create_dir(&p) {
            Ok(()) => created.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_created(&created);
                return Err(Error::output(&p, e));
            }
        }
    }
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        remove_created(&created);
        return Err(Error::Usage(format!(
            "output {} exists and is not a folder",
            crate::pathfmt::path_text(path)
        )));
    }
    Ok(created)
}

/// Removes folders that are still empty, innermost first.
fn remove_created(created: &[PathBuf]) {
    for p in created.iter().rev() {
        let _ = std::fs::remove_dir(p);
    }
}

impl CaseLock {
    /// Creates `path` (and its parents) unless it exists, and locks it for
    /// writing. Fails at once, naming the folder, if another process holds it.
    pub fn acquire(path: &Path) -> Result<CaseLock> {
        let created = create_folders(path)?;
        let give_up = |e: Error, holder_known: bool| {
            // A folder another process holds is never removed from under it.
            if !holder_known {
                remove_created(&created);
            }
            e
        };
        let dir = open_dir(path).map_err(|e| give_up(e, false))?;
        let held = match try_lock(&dir, FlockOperation::NonBlockingLockExclusive) {
            Ok(true) => Held::Folder { _fd: dir },
            Ok(false) => return Err(give_up(in_use(path), true)),
            Err(_) => {
                // No lock on a folder here (NFS): a lock file instead.
                let file = rustix::fs::openat(
                    &dir,
                    LOCK_FILE,
                    OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(|e| give_up(Error::output(path.join(LOCK_FILE), e), false))?;
                match try_lock(&file, FlockOperation::NonBlockingLockExclusive) {
                    Ok(true) => Held::File { _fd: file },
                    Ok(false) => return Err(give_up(in_use(path), true)),
                    Err(e) => return Err(give_up(Error::output(path.join(LOCK_FILE), e), false)),
                }
            }
        };
        Ok(CaseLock {
            path: path.to_path_buf(),
            held: Some(held),
            created,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the folder up after a check failed: removes the folders this lock
    /// created, if they are still empty.
    pub fn abandon(mut self) {
        self.release();
        remove_created(&self.created);
    }

    fn release(&mut self) {
        if let Some(Held::File { .. }) = self.held {
            let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
        }
        self.held = None;
    }
}

impl Drop for CaseLock {
    fn drop(&mut self) {
        self.release();
    }
}

/// A shared lock on a case folder for reading it (`verify`): fails, naming the
/// folder, while a scan writes it. The descriptor holds the lock.
pub fn lock_for_reading(path: &Path) -> Result<OwnedFd> {
    let dir = open_dir(path)?;
    match try_lock(&dir, FlockOperation::NonBlockingLockShared) {
        Ok(true) => return Ok(dir),
        Ok(false) => return Err(in_use(path)),
        Err(_) => {}
    }
    // No lock on a folder here: a scan holds the lock file, if there is one.
    match rustix::fs::openat(
        &dir,
        LOCK_FILE,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(file) => match try_lock(&file, FlockOperation::NonBlockingLockShared) {
            Ok(false) => Err(in_use(path)),
            _ => Ok(file),
        },
        Err(_) => Ok(dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/case");
        let first = CaseLock::acquire(&dir).unwrap();
        assert_eq!(first.created.len(), 3);
        assert!(dir.is_dir());
        let e = CaseLock::acquire(&dir).unwrap_err().to_string();
        assert!(e.contains("in use"), "{e}");
        assert!(dir.is_dir(), "the holder's folder is not removed");
        assert!(lock_for_reading(&dir).is_err());
        drop(first);
        let again = CaseLock::acquire(&dir).unwrap();
        assert!(again.created.is_empty());
        again.abandon();
        assert!(dir.is_dir(), "a folder it did not create is kept");
        let fresh = CaseLock::acquire(&tmp.path().join("x/y")).unwrap();
        fresh.abandon();
        assert!(
            !tmp.path().join("x").exists(),
            "every folder it created is removed"
        );
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(CaseLock::acquire(&file).is_err());
    }
}
