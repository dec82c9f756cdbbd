//! Opening evidence files forensically, and page-cache hints while reading them.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens an evidence file read-only without following links, without blocking on
/// a FIFO that replaced it, and without updating its access time where allowed;
/// with `direct`, bypassing the page cache (`O_DIRECT`).
pub fn open_evidence(path: &Path, direct: bool) -> std::io::Result<File> {
    open_evidence_noting(path, direct).map(|(f, _)| f)
}

/// [`open_evidence`], saying whether `O_NOATIME` was granted (false where the
/// OS refused it: the file's access time may then change when it is read).
pub fn open_evidence_noting(path: &Path, direct: bool) -> std::io::Result<(File, bool)> {
    let mut flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if direct {
        flags |= libc::O_DIRECT;
    }
    let open = |f| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(f)
            .open(path)
    };
    match open(flags | libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(flags).map(|f| (f, false)),
        r => r.map(|f| (f, true)),
    }
}

/// Turns the kernel's readahead off for `file`, so that each read reaches the
/// filesystem as one request, in order. Where a filesystem cannot map extents
/// (FUSE, such as ntfs-3g, or a network filesystem), readahead sends a file's
/// reads as several concurrent requests, which a multi-threaded server may
/// serve out of order: on a spinning disk behind it, a seek each. Measured on
/// the simulated disk (docs/performance.md): 173 seeks with readahead, 20
/// without, for the same files in the same order.
pub fn read_in_order(file: &File) {
    // SAFETY: plain advice on an open descriptor.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
}

/// Page-cache hints while reading a file.
pub struct CacheHints {
    /// The file was not in the page cache when opened: drop what is read.
    drop_behind: bool,
    dropped_to: u64,
}

/// Files at least this large are read with sequential hints and, when they were
/// not cached before the scan, have their pages dropped behind the read.
pub const LARGE_FILE: u64 = 8 << 20;
const DROP_STEP: u64 = 32 << 20;

impl CacheHints {
    /// Declares sequential access for a large file (unless `in_order` has
    /// turned readahead off) and finds out whether its last page is already
    /// cached (a `RWF_NOWAIT` read fails when it is not). The last page, since
    /// the first may have been read for the file's content type just before (a
    /// file put back is opened again).
    pub fn start(file: &File, size: u64, in_order: bool) -> CacheHints {
        if size < LARGE_FILE {
            return CacheHints {
                drop_behind: false,
                dropped_to: 0,
            };
        }
        let fd = file.as_raw_fd();
        if !in_order {
            // SAFETY: plain advice on an open descriptor.
            unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
        }
        let mut probe = [0u8; 1];
        let iov = libc::iovec {
            iov_base: probe.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: one iovec pointing at a live one-byte buffer.
        let last = (size - 1) as libc::off_t;
        let n = unsafe { libc::preadv2(fd, &iov, 1, last, libc::RWF_NOWAIT) };
        let cold = n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN);
        CacheHints {
            drop_behind: cold,
            dropped_to: 0,
        }
    }

    /// Called as reading reaches `offset`: drops the pages behind it in steps.
    pub fn advance(&mut self, file: &File, offset: u64, done: bool) {
        if !self.drop_behind
            || offset <= self.dropped_to
            || (!done && offset < self.dropped_to + DROP_STEP)
        {
            return;
        }
        // SAFETY: plain advice on an open descriptor.
        unsafe {
            libc::posix_fadvise(
                file.as_raw_fd(),
                self.dropped_to as libc::off_t,
                (offset - self.dropped_to) as libc::off_t,
                libc::POSIX_FADV_DONTNEED,
            )
        };
        self.dropped_to = offset;
    }

    /// Whether pages are being dropped behind the read.
    pub fn dropping(&self) -> bool {
        self.drop_behind
    }
}
