//! `hashsweep scan`: flags to a validated configuration, signals, the terminal
//! while the scan runs, and the exit status.

use super::{term, ScanFlags};
use crate::{fail, say};
use hashsweep::config::{ScanArgs, ScanConfig, SetArg};
use hashsweep::error::ExitStatus;
use hashsweep::evidence::fs::FsSource;
use hashsweep::evidence::io::{IoChoice, Medium};
use hashsweep::hashset::Role;
use hashsweep::pathfmt::for_terminal;
use hashsweep::progress::{NoProgress, Progress};
use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Runs `scan`.
pub fn run(flags: ScanFlags) -> ExitStatus {
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
            super::IoArg::Auto => IoChoice::Auto,
            super::IoArg::Ssd => IoChoice::Force(Medium::Ssd),
            super::IoArg::Hdd => IoChoice::Force(Medium::Hdd),
        },
        stop_after: flags.stop_after,
        sha256: flags.sha256,
        pdq: !flags.no_pdq,
        pdq_distance: flags.pdq_distance,
        archives: (!flags.no_archives).then_some(hashsweep::archive::Limits {
            depth: flags.archive_depth,
            members: flags.archive_members,
            bytes: flags.archive_bytes,
            ratio: flags.archive_ratio,
        }),
        cross_filesystems: flags.cross_filesystems,
        argv: std::env::args_os().collect(),
        resume: flags.resume,
        read_link_targets: flags.read_link_targets,
        jsonl: flags.jsonl,
        dfxml: flags.dfxml,
        stream: flags.stream,
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
    let term = show.then(term::TermProgress::new);
    let progress: &dyn Progress = match &term {
        Some(t) => t,
        None if flags.quiet => &NoProgress,
        None => &term::DecisionLog,
    };
    // Large files are hashed through memory maps only with the fault handler.
    // SAFETY: this program accepts the process-wide SIGBUS handler, as its
    // contract describes; nothing else here handles SIGBUS.
    unsafe { hashsweep::evidence::fs::mapped::enable_fault_recovery() };
    let source = match FsSource::new(
        &cfg.evidence,
        cfg.cross_filesystems,
        cfg.read_link_targets,
        cfg.io_threads,
    ) {
        Ok(s) => s,
        Err(e) => {
            return fail(format!(
                "cannot start {} walking threads ({e}): lower --threads, or raise the limit on processes (ulimit -u)",
                cfg.io_threads
            ))
        }
    };
    let result = hashsweep::scan::scan(&cfg, &source, progress, &interrupt);
    if let Some(t) = &term {
        t.clear();
    }
    match result {
        Ok(outcome) => {
            if show {
                for line in term::summary_lines(&outcome, &cfg.output) {
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
