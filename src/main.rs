//! The hashsweep binary: parse flags -> validate -> run -> exit status.

mod cli;
mod term;

use clap::Parser;
use hashsweep::config::{ScanArgs, ScanConfig, SetArg};
use hashsweep::error::ExitStatus;
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
    };
    ExitCode::from(status.code())
}

fn fail(e: impl std::fmt::Display) -> ExitStatus {
    eprintln!("hashsweep: error: {}", for_terminal(&e.to_string()));
    ExitStatus::Error
}

fn scan(flags: cli::ScanFlags) -> ExitStatus {
    let hashsets = flags
        .hashsets
        .iter()
        .map(|s| SetArg::parse(s, Role::Alert))
        .chain(
            flags
                .known_good
                .iter()
                .map(|s| SetArg::parse(s, Role::KnownGood)),
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
        sha256: flags.sha256,
        cross_filesystems: flags.cross_filesystems,
        argv: std::env::args().collect(),
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
    let term = show.then(term::TermProgress::new);
    let progress: &dyn Progress = match &term {
        Some(t) => t,
        None => &NoProgress,
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
        Err(e) => fail(e),
    }
}
