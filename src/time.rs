//! Times: a file time with the filesystem's full precision, the four times of
//! an entry, and the current time, all written in RFC 3339 UTC.

use serde::{Deserialize, Serialize};

/// The current time, RFC 3339 UTC.
pub fn now() -> String {
    FileTime::from_system(std::time::SystemTime::now()).rfc3339()
}

/// A file time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileTime {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nanos: u32,
}

impl FileTime {
    /// Converts from a `SystemTime`, including times before the epoch.
    pub fn from_system(t: std::time::SystemTime) -> FileTime {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => FileTime {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let (mut secs, mut nanos) = (-(d.as_secs() as i64), d.subsec_nanos());
                if nanos > 0 {
                    secs -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                FileTime { secs, nanos }
            }
        }
    }

    /// RFC 3339 in UTC with nine fractional digits, e.g. `2024-05-01T12:00:00.000000000Z`.
    /// Times outside the years -9999..=9999 are written as seconds since the epoch.
    pub fn rfc3339(self) -> String {
        match jiff::Timestamp::new(self.secs, self.nanos as i32) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S.%NZ").to_string(),
            Err(_) => format!("@{}.{:09}", self.secs, self.nanos),
        }
    }
}

/// The four file times; `None` where the filesystem does not record one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Times {
    /// Last content modification (mtime).
    pub modified: Option<FileTime>,
    /// Last access (atime).
    pub accessed: Option<FileTime>,
    /// Last inode change (ctime).
    pub changed: Option<FileTime>,
    /// Creation (birth) time, where the filesystem and OS provide it.
    pub created: Option<FileTime>,
}

impl Times {
    /// Reads the times from `lstat`/`statx` metadata.
    pub fn from_metadata(meta: &std::fs::Metadata) -> Times {
        use std::os::unix::fs::MetadataExt;
        let changed = (0..1_000_000_000)
            .contains(&meta.ctime_nsec())
            .then(|| FileTime {
                secs: meta.ctime(),
                nanos: meta.ctime_nsec() as u32,
            });
        Times {
            modified: meta.modified().ok().map(FileTime::from_system),
            accessed: meta.accessed().ok().map(FileTime::from_system),
            changed,
            created: meta.created().ok().map(FileTime::from_system),
        }
    }
}
