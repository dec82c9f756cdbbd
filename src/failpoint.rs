//! Crash points for tests of `--resume`. When the environment variable
//! `HASHSWEEP_FAILPOINT` names a point, the process kills itself with SIGKILL
//! there, exactly as a power cut or `kill -9` would stop it:
//!
//! - `rows=N`: after the report writer has handled N rows;
//! - `before-report`: after hashing, before `report.csv` is written;
//! - `writing-report`: part-way through writing `report.csv`;
//! - `interrupt-before-report`: SIGINT instead of SIGKILL, after hashing (every
//!   row done), before `report.csv` is written.
//!
//! Unset (always, outside tests), these checks cost one comparison. They
//! exist only in debug and test builds (`debug_assertions`): in a release
//! build every point is a no-op and the variable is never read.

#[cfg(not(debug_assertions))]
fn setting() -> Option<&'static str> {
    None
}

#[cfg(debug_assertions)]
fn setting() -> Option<&'static str> {
    static VALUE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
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

/// Kills the process if the failpoint `name` is set; sends it SIGINT (as a
/// Ctrl-C would) if `interrupt-<name>` is.
pub fn hit(name: &str) {
    match setting() {
        Some(s) if s == name => kill(),
        Some(s) if s.strip_prefix("interrupt-") == Some(name) => {
            // SAFETY: sending a signal to this process.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGINT);
            }
        }
        _ => {}
    }
}

/// N when `rows=N` is set.
pub fn rows() -> Option<usize> {
    setting()?.strip_prefix("rows=")?.parse().ok()
}
