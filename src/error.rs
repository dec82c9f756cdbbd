//! Typed errors that carry the path they concern, and the process exit status.

use std::io;
use std::path::PathBuf;

/// Everything that can stop hashsweep as a whole. Problems with a single evidence
/// file are never errors: they become report rows (see [`crate::record`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or argument that cannot be used; nothing was touched.
    #[error("{0}")]
    Usage(String),
    /// A hash-set file that cannot be read or parsed. `line` is 1-based; 0 when
    /// the problem concerns the file as a whole.
    #[error("{}", hashset_message(.path, *.line, .message))]
    HashSet {
        /// The hash-set file.
        path: PathBuf,
        /// The 1-based line, or 0 for the whole file.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// An I/O error on a named file outside the evidence (hash sets, case folder).
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A failure while writing the case folder.
    #[error("writing case folder {}: {message}", .path.display())]
    Output {
        /// The case-folder file concerned.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

fn hashset_message(path: &std::path::Path, line: u64, message: &str) -> String {
    if line == 0 {
        format!("hash set {}: {message}", path.display())
    } else {
        format!("hash set {}, line {line}: {message}", path.display())
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An error writing the case folder.
    pub fn output(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Output {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit status of each command, as documented in docs/report.md. Each
/// variant has one meaning; the numbers are per command (a pipeline knows
/// which command it ran), following the conventions of the tools examiners
/// already script: `grep` (1: not found) and `sha256sum -c` (1: a mismatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `scan`: completed, every file read, no alert. Every other command: success.
    NoAlert,
    /// `scan`: at least one alert, conflict or similar row, or stopped by `--stop-after`.
    Alert,
    /// Any command: usage error, unusable input or a fatal error.
    Error,
    /// `scan`: no alert, but some files or directories could not be read, or
    /// part of the tree could not be listed (`"status": "incomplete"`).
    Unreadable,
    /// `verify` (and `hashset info`): a check failed; the output says which.
    NotVerified,
    /// `hashset lookup`: at least one digest is in none of the sets.
    NotInSet,
    /// Interrupted by a signal; a scan's case folder is marked incomplete.
    Interrupted,
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::NoAlert => 0,
            ExitStatus::Alert | ExitStatus::NotVerified | ExitStatus::NotInSet => 1,
            ExitStatus::Error => 2,
            ExitStatus::Unreadable => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}
