//! The case folder held by one scan at a time. The folder is created (or
//! opened, when it already exists) and locked with `flock` for as long as the
//! scan runs; a second scan, or a `verify`, of the same folder meanwhile is told
//! the folder is in use. The lock is the kernel's: it goes with the process,
//! however that ends, so a killed scan never leaves a stale lock behind.

use crate::error::{Error, Result};
use rustix::fs::{FlockOperation, Mode, OFlags};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// A locked case folder.
#[derive(Debug)]
pub struct CaseLock {
    path: PathBuf,
    _fd: OwnedFd,
    created: bool,
}

/// The usage error for a folder another process holds.
fn in_use(path: &Path) -> Error {
    Error::Usage(format!(
        "the case folder {} is in use by another hashsweep process; wait for it to finish, or choose another folder",
        path.display()
    ))
}

fn lock_dir(path: &Path, op: FlockOperation) -> Result<OwnedFd> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::Usage(format!("case folder {}: {}", path.display(), e)))?;
    match rustix::fs::flock(&fd, op) {
        Ok(()) => Ok(fd),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(in_use(path)),
        Err(e) => Err(Error::output(path, e)),
    }
}

impl CaseLock {
    /// Creates `path` (and its parents) unless it exists, and locks it for
    /// writing. Fails at once, naming the folder, if another process holds it.
    pub fn acquire(path: &Path) -> Result<CaseLock> {
        let created = match std::fs::create_dir(path) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
                    return Err(Error::Usage(format!(
                        "output {} exists and is not a folder",
                        path.display()
                    )));
                }
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, e))?;
                }
                match std::fs::create_dir(path) {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                    Err(e) => return Err(Error::output(path, e)),
                }
            }
            Err(e) => return Err(Error::output(path, e)),
        };
        let fd = lock_dir(path, FlockOperation::NonBlockingLockExclusive);
        match fd {
            Ok(fd) => Ok(CaseLock {
                path: path.to_path_buf(),
                _fd: fd,
                created,
            }),
            Err(e) => {
                if created {
                    let _ = std::fs::remove_dir(path);
                }
                Err(e)
            }
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the folder up after a check failed: removes it if this lock
    /// created it and it is still empty.
    pub fn abandon(self) {
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// A shared lock on a case folder for reading it (`verify`): fails, naming the
/// folder, while a scan writes it.
pub fn lock_for_reading(path: &Path) -> Result<OwnedFd> {
    lock_dir(path, FlockOperation::NonBlockingLockShared)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/case");
        let first = CaseLock::acquire(&dir).unwrap();
        assert!(dir.is_dir());
        let e = CaseLock::acquire(&dir).unwrap_err().to_string();
        assert!(e.contains("in use"), "{e}");
        assert!(lock_for_reading(&dir).is_err());
        drop(first);
        let again = CaseLock::acquire(&dir).unwrap();
        assert!(!again.created);
        again.abandon();
        assert!(dir.is_dir(), "a folder it did not create is kept");
        let file = tmp.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(CaseLock::acquire(&file).is_err());
    }
}
