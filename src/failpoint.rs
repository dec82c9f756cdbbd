//! Crash points for tests of `--resume`. When the environment variable
//! `HASHSWEEP_FAILPOINT` names a point, the process kills itself with SIGKILL
//! there, exactly as a power cut or `kill -9` would stop it:
//!
//! - `rows=N`: after the report writer has handled N rows;
//! - `before-report`: after hashing, before `report.csv` is written;
//! - `writing-report`: part-way through writing `report.csv`.
//!
//! Unset (always, outside tests), these checks cost one comparison.

use std::sync::OnceLock;

fn setting() -> Option<&'static str> {
    static VALUE: OnceLock<Option<String>> = OnceLock::new();
    VALUE
        .get_or_init(|| std::env::var("HASHSWEEP_FAILPOINT").ok())
        .as_deref()
}

/// Kills the process with SIGKILL.
pub fn kill() {
    // SAFETY: sending a signal to this process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

/// Kills the process if the failpoint `name` is set.
pub fn hit(name: &str) {
    if setting() == Some(name) {
        kill();
    }
}

/// N when `rows=N` is set.
pub fn rows() -> Option<usize> {
    setting()?.strip_prefix("rows=")?.parse().ok()
}
