//! The hashsweep binary: parse flags -> validate -> run -> exit status. The
//! library never prints; everything a person sees is drawn here (`cli`).

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
use hashsweep::error::ExitStatus;
use hashsweep::pathfmt::for_terminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = cli::Cli::parse();
    let status = match cli.command {
        cli::Command::Scan(flags) => cli::scan::run(flags),
        cli::Command::Verify(flags) => cli::verify::run(flags),
        cli::Command::Hashset(cmd) => cli::hashset::run(cmd),
    };
    ExitCode::from(status.code())
}

/// A scan's large buffers (a file's bytes, a picture's planes) are alike in
/// size file after file. glibc gives such blocks back to the kernel when
/// they are freed (its mmap and trim thresholds), and every page is then
/// faulted in and zeroed again for the next file: a tenth of the CPU on a
/// folder of photos. Kept, they are reused. The cost is memory held after
/// use, in each thread's arena: on scripts/bench-pdq's photos the peak went
/// from 86 to 100 MB.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Writes a line to stderr. Never panics: with the terminal gone (SIGHUP) or
/// stderr a closed pipe, the line is lost and the scan goes on.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Prints an error; the exit status of an error.
pub(crate) fn fail(e: impl std::fmt::Display) -> ExitStatus {
    say(&format!(
        "hashsweep: error: {}",
        for_terminal(&e.to_string())
    ));
    ExitStatus::Error
}
