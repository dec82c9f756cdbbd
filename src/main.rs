//! The hashsweep binary: parse flags -> validate -> run -> exit status.

/// `println!` that never panics: with stdout a closed pipe (`| head`), the rest
/// of the output is dropped.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod cli;

use clap::Parser;
use hashsweep::config::{ScanArgs, ScanConfig, SetArg};
use hashsweep::error::ExitStatus;
use hashsweep::evidence::fs::device::{IoChoice, Medium};
use hashsweep::hashset::Role;
use hashsweep::pathfmt::for_terminal;
use hashsweep::progress::{NoProgress, Progress};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let status = match cli.command {
        cli::Command::Scan(flags) => scan(flags),
        cli::Command::Verify(flags) => verify(flags),
        cli::Command::Hashset(cmd) => cli::hashset::run(cmd),
    };
    ExitCode::from(status.code())
}

/// Writes a line to stderr. Never panics: with the terminal gone (SIGHUP) or
/// stderr a closed pipe, the line is lost and the scan goes on.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub(crate) fn fail(e: impl std::fmt::Display) -> ExitStatus {
    say(&format!(
        "hashsweep: error: {}",
        for_terminal(&e.to_string())
    ));
    ExitStatus::Error
}

fn scan(flags: cli::ScanFlags) -> ExitStatus {
    let sets: Result<Vec<SetArg>, _> = flags
        .hashsets
        .iter()
        .map(|s| SetArg::parse(s, None))
        .chain(
            flags
                .known_good
                .iter()
                .map(|s| SetArg::parse(s, Some(Role::KnownGood))),
        )
        .collect();
    let hashsets = match sets {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let args = ScanArgs {
        evidence: flags.evidence,
        output: flags.output,
        hashsets,
        case: flags.case,
        exhibit: flags.exhibit,
        examiner: flags.examiner,
        threads: flags.threads,
        io: match flags.io {
            cli::IoArg::Auto => IoChoice::Auto,
            cli::IoArg::Ssd => IoChoice::Force(Medium::Ssd),
            cli::IoArg::Hdd => IoChoice::Force(Medium::Hdd),
        },
        stop_after: flags.stop_after,
        sha256: flags.sha256,
        cross_filesystems: flags.cross_filesystems,
        argv: std::env::args_os().collect(),
        resume: flags.resume,
        read_link_targets: flags.read_link_targets,
    };
    let cfg = match ScanConfig::new(args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if cfg.already_complete {
        return already_complete(&cfg.output, flags.quiet);
    }

    // First signal: stop cleanly and write an incomplete case folder. Second:
    // exit now. SIGHUP (the terminal closed) is treated like SIGTERM, unless it
    // was ignored when the scan started (`nohup`): an overnight batch must
    // survive its terminal.
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        if sig == signal_hook::consts::SIGHUP && ignored(sig) {
            continue;
        }
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupt));
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupt));
    }

    let show = !flags.quiet && std::io::stderr().is_terminal();
    let term = show.then(cli::term::TermProgress::new);
    let progress: &dyn Progress = match &term {
        Some(t) => t,
        None if flags.quiet => &NoProgress,
        None => &cli::term::DecisionLog,
    };
    let result = hashsweep::scan::scan(&cfg, progress, &interrupt);
    if let Some(t) = &term {
        t.clear();
    }
    match result {
        Ok(outcome) => {
            if show {
                for line in cli::term::summary_lines(&outcome, &cfg.output) {
                    say(&line);
                }
            }
            outcome.status
        }
        Err(e @ hashsweep::error::Error::Output { .. })
            if cfg.output.join(hashsweep::output::AUDIT).exists() =>
        {
            fail(e);
            say("hashsweep: the journal keeps the work done: free space (or fix the folder) and run the same command with --resume");
            ExitStatus::Error
        }
        Err(e) => fail(e),
    }
}

/// Whether `sig` is ignored (as `nohup` leaves SIGHUP).
fn ignored(sig: i32) -> bool {
    // SAFETY: a zeroed sigaction is a valid value to be written into.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action, sigaction only reads the current one.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// `scan --resume` of a case folder that is already complete: verifies it and
/// exits with the status the scan recorded, so a retrying script can resume
/// blindly.
fn already_complete(dir: &std::path::Path, quiet: bool) -> ExitStatus {
    let shown = for_terminal(&hashsweep::pathfmt::path_text(dir));
    let v = hashsweep::case::verify::verify(dir);
    if !v.ok() {
        for c in v.checks.iter().filter(|c| !c.ok) {
            say(&format!(
                "FAILED  {:<9} {}",
                c.name,
                for_terminal(&c.detail)
            ));
        }
        return fail(format!(
            "--resume: the scan in {shown} is complete, but the case folder does not verify"
        ));
    }
    let status = v.exit_status.unwrap_or(ExitStatus::Error.code());
    if !quiet {
        say(&format!(
            "hashsweep: the scan in {shown} is already complete (verified); its exit status was {status}"
        ));
    }
    match status {
        0 => ExitStatus::NoAlert,
        1 => ExitStatus::Alert,
        3 => ExitStatus::Unreadable,
        _ => ExitStatus::Error,
    }
}

fn verify(flags: cli::VerifyFlags) -> ExitStatus {
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
        ExitStatus::Alert
    }
}
