//! The terminal side of progress: an indicatif bar on stderr, hit lines above it,
//! and the closing summary. Nothing here is drawn unless stderr is a terminal.

use hashsweep::output::csv::{col, Cells};
use hashsweep::pathfmt::for_terminal;
use hashsweep::progress::Progress;
use hashsweep::scan::ScanOutcome;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Progress drawn with indicatif.
pub struct TermProgress {
    bar: ProgressBar,
    files: AtomicU64,
    total_files: AtomicU64,
    hits: AtomicU64,
}

impl TermProgress {
    /// A spinner for the walk; it becomes a bar when hashing starts.
    pub fn new() -> TermProgress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(ProgressStyle::with_template("{spinner} walking: {msg}").expect("template"));
        bar.enable_steady_tick(Duration::from_millis(125));
        TermProgress {
            bar,
            files: AtomicU64::new(0),
            total_files: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    fn message(&self) {
        self.bar.set_message(format!(
            "{}/{} files  hits: {}",
            self.files.load(Ordering::Relaxed),
            self.total_files.load(Ordering::Relaxed),
            self.hits.load(Ordering::Relaxed)
        ));
    }

    /// Removes the bar.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for TermProgress {
    fn walking(&self, files: u64, bytes: u64) {
        self.bar
            .set_message(format!("{files} entries, {} found", HumanBytes(bytes)));
    }

    fn decision(&self, line: &str) {
        self.bar.println(for_terminal(line));
    }

    fn warning(&self, line: &str) {
        self.bar.println(format!("warning: {}", for_terminal(line)));
    }

    fn hashing(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_position(0);
        self.bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}  {msg}",
            )
            .expect("template"),
        );
        self.message();
    }

    fn found_more(&self, files: u64, bytes: u64) {
        self.total_files.fetch_add(files, Ordering::Relaxed);
        self.bar.inc_length(bytes);
        self.message();
    }

    fn file_done(&self, bytes: u64) {
        let done = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.inc(bytes);
        // The message is redrawn a few times a second at most; formatting it for
        // every small file would only cost time on the hot path.
        if done.is_multiple_of(64) || done == self.total_files.load(Ordering::Relaxed) {
            self.message();
        }
    }

    fn hit(&self, c: &Cells) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        let cat = if c[col::CATEGORY].is_empty() {
            String::new()
        } else {
            format!("  [{}]", c[col::CATEGORY])
        };
        self.bar.println(format!(
            "{}  {}  sets: {}{}",
            c[col::VERDICT].to_uppercase(),
            for_terminal(&c[col::PATH]),
            for_terminal(&c[col::HASHSETS]),
            for_terminal(&cat)
        ));
        self.message();
    }

    fn finishing(&self) {
        self.bar
            .set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
        self.bar.set_message("writing reports");
    }
}

/// The closing lines printed after a scan.
pub fn summary_lines(o: &ScanOutcome, case_dir: &std::path::Path) -> Vec<String> {
    let s = &o.summary;
    let v = &s.verdicts;
    let mut lines = vec![format!(
        "{} {} entries ({} hashed, {}) in {:.1} s",
        match s.status {
            "complete" => "Scanned",
            "incomplete" => "INCOMPLETE (part of the evidence could not be listed):",
            "stopped" => "STOPPED (--stop-after) after",
            _ => "INTERRUPTED after",
        },
        s.totals.rows,
        s.totals.files_hashed,
        HumanBytes(s.totals.bytes_hashed),
        s.timings.total_seconds
    )];
    lines.push(format!(
        "  alert {}  conflict {}  known-good {}  unmatched {}  unreadable {}  skipped {}",
        v.alert, v.conflict, v.known_good, v.unmatched, v.unreadable, v.skipped
    ));
    lines.push(if v.alert + v.conflict > 0 {
        format!("  {} HIT(S): see hits.csv", v.alert + v.conflict)
    } else if s.hashsets.iter().any(|h| h.role == "alert") {
        "  no known material found in the sets used (this does not clear the device)".to_string()
    } else {
        "  no alert set was given: this is a hash inventory only".to_string()
    });
    if v.unreadable > 0 {
        lines.push(format!(
            "  {} entries could not be read: see report.csv and audit.jsonl",
            v.unreadable
        ));
    }
    lines.push(format!(
        "  case folder: {}",
        for_terminal(&case_dir.display().to_string())
    ));
    lines
}

/// For stderr that is not a terminal: no bar, only the decisions, one line each.
pub struct DecisionLog;

impl Progress for DecisionLog {
    fn decision(&self, line: &str) {
        crate::say(&format!("hashsweep: {}", for_terminal(line)));
    }

    fn warning(&self, line: &str) {
        crate::say(&format!("hashsweep: warning: {}", for_terminal(line)));
    }
}
