//! The per-file record: one row of `report.csv`, whether the file was hashed,
//! skipped or could not be read.

use crate::digest::Digests;

/// What kind of directory entry a row describes (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
    /// A named pipe (never opened).
    Fifo,
    /// A Unix socket (never opened).
    Socket,
    /// A character device node (never opened).
    CharDevice,
    /// A block device node (never opened).
    BlockDevice,
    /// A directory: only reported when it could not be read or was not entered.
    Directory,
    /// Anything else.
    Other,
}

impl Kind {
    /// The value of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char-device",
            Kind::BlockDevice => "block-device",
            Kind::Directory => "directory",
            Kind::Other => "other",
        }
    }

    /// Classifies a file type as returned by `lstat`.
    pub fn from_file_type(ft: std::fs::FileType) -> Kind {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Directory
        } else if ft.is_fifo() {
            Kind::Fifo
        } else if ft.is_socket() {
            Kind::Socket
        } else if ft.is_char_device() {
            Kind::CharDevice
        } else if ft.is_block_device() {
            Kind::BlockDevice
        } else {
            Kind::Other
        }
    }
}

/// The judgement on one row (the `verdict` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Matched a set of alert role.
    Alert,
    /// Matched only known-good sets.
    KnownGood,
    /// Hashed, matched nothing.
    Unmatched,
    /// A set entry matches one digest of the file but contradicts another.
    Conflict,
    /// Could not be read; `note` says why.
    Unreadable,
    /// Not a regular file, or not entered; `note` says why.
    Skipped,
}

impl Verdict {
    /// Every verdict, in the order summaries list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Alert,
        Verdict::Conflict,
        Verdict::KnownGood,
        Verdict::Unmatched,
        Verdict::Unreadable,
        Verdict::Skipped,
    ];

    /// The value of the `verdict` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alert => "alert",
            Verdict::KnownGood => "known-good",
            Verdict::Unmatched => "unmatched",
            Verdict::Conflict => "conflict",
            Verdict::Unreadable => "unreadable",
            Verdict::Skipped => "skipped",
        }
    }

    /// Parses a `verdict` column value.
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether rows with this verdict belong in `hits.csv`.
    pub fn is_hit(self) -> bool {
        matches!(self, Verdict::Alert | Verdict::Conflict)
    }
}

/// The current time, RFC 3339 UTC.
pub fn now() -> String {
    FileTime::from_system(std::time::SystemTime::now()).rfc3339()
}

/// A file time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Path relative to the evidence root, always starting with `/`, escaped as
    /// described in [`crate::pathfmt`].
    pub path: String,
    /// The kind of entry.
    pub kind: Kind,
    /// Size in bytes (the bytes hashed, for a hashed file).
    pub size: u64,
    /// File times.
    pub times: Times,
    /// Digests, when the file was read to the end.
    pub digests: Option<Digests>,
    /// The judgement.
    pub verdict: Verdict,
    /// Names of the matching sets, `;`-separated.
    pub hashsets: String,
    /// The most severe matching category, in the documented notation.
    pub category: String,
    /// Why the row is `unreadable`, `skipped` or `conflict`, or how a hit matched.
    pub note: String,
    /// The content type detected from the file's first bytes, if any.
    pub content: Option<crate::digest::content::ContentType>,
    /// The file changed (or was replaced) while it was read; the note says how.
    /// Not a column: it makes the report writer log an audit event.
    pub changed: bool,
}
