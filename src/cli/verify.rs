//! `hashsweep verify`: one line per check, and the exit status.

use super::VerifyFlags;
use crate::fail;
use hashsweep::error::ExitStatus;
use hashsweep::pathfmt::for_terminal;

/// Runs `verify`.
pub fn run(flags: VerifyFlags) -> ExitStatus {
    let shown = for_terminal(&hashsweep::pathfmt::path_text(&flags.case_dir));
    // Through a link to the folder too (`latest -> case-2026-11-24`).
    let dir = match flags.case_dir.canonicalize() {
        Ok(d) => d,
        Err(e) => return fail(format!("{shown}: {e}")),
    };
    let dir = &dir;
    if !dir.is_dir() {
        return fail(format!("{shown} is not a case folder (not a folder)"));
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return fail(format!("cannot read {shown}: {e}"));
    }
    if !hashsweep::case::verify::looks_like_case(dir) {
        return fail(format!(
            "{shown} is not a case folder (it holds no {} or {})",
            hashsweep::output::MANIFEST,
            hashsweep::output::AUDIT
        ));
    }
    // A scan writing the folder holds it; its files are not final yet.
    let _lock = match hashsweep::case::lock::lock_for_reading(dir) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let v = hashsweep::case::verify::verify(dir);
    for c in &v.checks {
        outln!(
            "{:<7} {:<9} {}",
            if c.ok { "ok" } else { "FAILED" },
            c.name,
            for_terminal(&c.detail)
        );
    }
    match v.status.as_deref() {
        Some("complete") | None => {}
        Some(other) => outln!("note    the scan is {other}: the case folder is consistent but incomplete (finish it with scan --resume)"),
    }
    if v.ok() {
        outln!("verified: {shown}");
        ExitStatus::NoAlert
    } else {
        outln!("NOT verified: {shown}");
        ExitStatus::NotVerified
    }
}
