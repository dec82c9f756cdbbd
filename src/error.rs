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

/// The exit status of `scan`, as documented in docs/report.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Completed, every file read, no alert.
    NoAlert = 0,
    /// At least one alert or conflict.
    Alert = 1,
    /// Usage error, unusable input or a fatal error.
    Error = 2,
    /// Completed with no alert, but some files or directories could not be read.
    Unreadable = 3,
    /// Interrupted; the case folder is marked incomplete.
    Interrupted = 130,
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}
