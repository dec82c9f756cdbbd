//! The hashsweep binary: parse flags -> validate -> run -> exit status.

mod cli;
mod hashset_cmd;
mod term;

use clap::Parser;
use hashsweep::config::{ScanArgs, ScanConfig, SetArg};
use hashsweep::error::ExitStatus;
use hashsweep::hashset::Role;
use hashsweep::iopolicy::{IoChoice, Medium};
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
        cli::Command::Hashset(cmd) => hashset_cmd::run(cmd),
    };
    ExitCode::from(status.code())
}

pub(crate) fn fail(e: impl std::fmt::Display) -> ExitStatus {
    eprintln!("hashsweep: error: {}", for_terminal(&e.to_string()));
    ExitStatus::Error
}

fn scan(flags: cli::ScanFlags) -> ExitStatus {
    let hashsets = flags
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
        argv: std::env::args().collect(),
        resume: flags.resume,
    };
    let cfg = match ScanConfig::new(args) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };

    // First Ctrl-C: stop cleanly and write an incomplete case folder. Second: exit now.
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupt));
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupt));
    }

    let show = !flags.quiet && std::io::stderr().is_terminal();
    if show {
        if let Some(m) = hashsweep::mounts::find(&cfg.evidence).filter(|m| !m.read_only()) {
            eprintln!(
                "warning: the evidence ({} on {}) is mounted read-write; hashsweep writes nothing there, but mount evidence read-only",
                for_terminal(&m.source),
                for_terminal(&m.mount_point.display().to_string())
            );
        }
    }
    let term = show.then(term::TermProgress::new);
    let progress: &dyn Progress = match &term {
        Some(t) => t,
        None if flags.quiet => &NoProgress,
        None => &term::DecisionLog,
    };
    let result = hashsweep::pipeline::scan(&cfg, progress, &interrupt);
    if let Some(t) = &term {
        t.clear();
    }
    match result {
        Ok(outcome) => {
            if show {
                for line in term::summary_lines(&outcome, &cfg.output) {
                    eprintln!("{line}");
                }
            }
            outcome.status
        }
        Err(e @ hashsweep::error::Error::Output { .. })
            if cfg.output.join(hashsweep::report::AUDIT).exists() =>
        {
            fail(e);
            eprintln!("hashsweep: the journal keeps the work done: free space (or fix the folder) and run the same command with --resume");
            ExitStatus::Error
        }
        Err(e) => fail(e),
    }
}

fn verify(flags: cli::VerifyFlags) -> ExitStatus {
    if !flags.case_dir.is_dir() {
        return fail(format!("{} is not a case folder", flags.case_dir.display()));
    }
    let v = hashsweep::verify::verify(&flags.case_dir);
    for c in &v.checks {
        println!(
            "{:<7} {:<9} {}",
            if c.ok { "ok" } else { "FAILED" },
            c.name,
            for_terminal(&c.detail)
        );
    }
    match v.status.as_deref() {
        Some("complete") | None => {}
        Some(other) => println!("note    the scan is {other}: the case folder is consistent but incomplete (finish it with scan --resume)"),
    }
    if v.ok() {
        println!(
            "verified: {}",
            for_terminal(&flags.case_dir.display().to_string())
        );
        ExitStatus::NoAlert
    } else {
        println!(
            "NOT verified: {}",
            for_terminal(&flags.case_dir.display().to_string())
        );
        ExitStatus::Alert
    }
}
