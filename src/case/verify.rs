//! `hashsweep verify <CASE_DIR>`: checks that a case folder is what hashsweep
//! wrote. The manifest digests match the files; `report.csv` parses, is sorted
//! and its row and verdict counts agree with `summary.json`; `hits.csv` equals the
//! alert and conflict rows of `report.csv`; the audit log is well formed and its
//! last event agrees with the summary.

use crate::output::csv::{col, COLUMNS};
use crate::output::summary::{Tally, VerdictCounts};
use crate::output::{AUDIT, HITS, MANIFEST, REPORT, SUMMARY};
use crate::record::Verdict;
use serde_json::Value;
use std::path::Path;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Each check, in order.
    pub checks: Vec<Check>,
    /// The scan's status from summary.json (`complete`, `interrupted`), if readable.
    pub status: Option<String>,
    /// The exit status the scan recorded in summary.json, if readable.
    pub exit_status: Option<u8>,
}

/// Whether `dir` holds a case folder's files (its manifest or audit log) at all.
pub fn looks_like_case(dir: &Path) -> bool {
    dir.join(MANIFEST).exists() || dir.join(AUDIT).exists()
}

/// The files a manifest may name: the case folder's own, nothing else.
const LISTED: [&str; 4] = [AUDIT, HITS, REPORT, SUMMARY];

/// SHA-256 of a case file, opened without following a symbolic link and only
/// when it is a regular file: a manifest must not make `verify` read a device,
/// a FIFO or a file elsewhere.
fn sha256_case_file(path: &Path) -> Result<String, String> {
    let file = crate::output::open_case_file(path).map_err(|e| e.to_string())?;
    crate::hashset::input::sha256_at(&file)
        .map(|d| crate::digest::to_hex(&d))
        .map_err(|e| e.to_string())
}

impl Verification {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    fn push(&mut self, name: &'static str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(Check { name, ok, detail });
    }
}

type Rows = Vec<Vec<String>>;

fn read_csv(path: &Path) -> Result<Rows, String> {
    let file = crate::output::open_case_file(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let header = r
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if header.iter().collect::<Vec<_>>() != COLUMNS {
        return Err(format!(
            "{}: the header row is not the report header",
            path.display()
        ));
    }
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: row {}: {e}", path.display(), i + 1))?;
        if rec.len() != COLUMNS.len() {
            return Err(format!(
                "{}: row {} has {} cells, not {}",
                path.display(),
                i + 1,
                rec.len(),
                COLUMNS.len()
            ));
        }
        rows.push(rec.iter().map(String::from).collect());
    }
    Ok(rows)
}

fn check_manifest(dir: &Path) -> Result<String, String> {
    let text = crate::output::read_case_file(&dir.join(MANIFEST), 1 << 20)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8".to_string()))
        .map_err(|e| format!("{MANIFEST}: {e}"))?;
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (digest, name) = line
            .split_once("  ")
            .ok_or_else(|| format!("{MANIFEST} line {}: not `<sha256>  <file>`", i + 1))?;
        if !LISTED.contains(&name) {
            return Err(format!(
                "{MANIFEST} line {} names {:?}, which is not a file of a case folder",
                i + 1,
                name
            ));
        }
        if listed.contains(&name) {
            return Err(format!("{MANIFEST} names {name} twice"));
        }
        let actual = sha256_case_file(&dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if actual != digest {
            return Err(format!(
                "{name}: SHA-256 is {actual}, the manifest says {digest}"
            ));
        }
        listed.push(name);
    }
    for needed in LISTED {
        if !listed.contains(&needed) {
            return Err(format!("{needed} is not listed in {MANIFEST}"));
        }
    }
    Ok(format!("{} files match their SHA-256", listed.len()))
}

fn counts_json(v: &VerdictCounts) -> Value {
    serde_json::to_value(v).expect("counts serialise")
}

/// Verifies the case folder `dir`.
pub fn verify(dir: &Path) -> Verification {
    let mut out = Verification::default();
    out.push("manifest", check_manifest(dir));

    let summary: Option<Value> = match crate::output::read_case_file(&dir.join(SUMMARY), 16 << 20) {
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) => {
                out.status = v["status"].as_str().map(String::from);
                out.exit_status = v["exit_status"].as_u64().and_then(|c| u8::try_from(c).ok());
                out.push(
                    "summary",
                    Ok(format!("{SUMMARY} parses; status {}", v["status"])),
                );
                Some(v)
            }
            Err(e) => {
                out.push("summary", Err(format!("{SUMMARY} is not JSON: {e}")));
                None
            }
        },
        Err(e) => {
            out.push("summary", Err(format!("{SUMMARY}: {e}")));
            None
        }
    };

    let report = read_csv(&dir.join(REPORT));
    out.push(
        "report",
        report.as_ref().map_err(Clone::clone).and_then(|rows| {
            if let Some(w) = rows.windows(2).find(|w| w[0][col::PATH] >= w[1][col::PATH]) {
                return Err(format!(
                    "{REPORT} is not sorted by path at {:?}",
                    w[1][col::PATH]
                ));
            }
            if let Some(r) = rows
                .iter()
                .find(|r| Verdict::parse(&r[col::VERDICT]).is_none())
            {
                return Err(format!(
                    "{REPORT}: row {:?} has verdict {:?}",
                    r[col::PATH],
                    r[col::VERDICT]
                ));
            }
            Ok(format!(
                "{REPORT} parses: {} rows, sorted by path",
                rows.len()
            ))
        }),
    );

    if let (Ok(rows), Some(s)) = (&report, &summary) {
        let mut tally = Tally::new(&[]);
        for r in rows {
            tally.add(r, &[]);
        }
        let result = if s["totals"]["rows"] != rows.len() {
            Err(format!(
                "{REPORT} has {} rows; {SUMMARY} says {}",
                rows.len(),
                s["totals"]["rows"]
            ))
        } else if s["complete"] == true && s["totals"]["entries_found"] != rows.len() {
            Err(format!(
                "the scan is complete, but {REPORT} has {} rows for {} entries found: a complete case has exactly one row per entry",
                rows.len(),
                s["totals"]["entries_found"]
            ))
        } else if s["verdicts"] != counts_json(&tally.verdicts) {
            Err(format!(
                "verdict counts of {REPORT} {} differ from {SUMMARY} {}",
                counts_json(&tally.verdicts),
                s["verdicts"]
            ))
        } else {
            Ok(format!(
                "{REPORT} row and verdict counts agree with {SUMMARY}"
            ))
        };
        out.push("counts", result);
    }

    if let Ok(rows) = &report {
        let result = read_csv(&dir.join(HITS)).and_then(|hits| {
            let expected: Vec<&Vec<String>> = rows
                .iter()
                .filter(|r| Verdict::parse(&r[col::VERDICT]).is_some_and(Verdict::is_hit))
                .collect();
            if hits.len() != expected.len() {
                return Err(format!(
                    "{HITS} has {} rows; {REPORT} has {} alert and conflict rows",
                    hits.len(),
                    expected.len()
                ));
            }
            match hits.iter().zip(&expected).find(|(h, e)| h != *e) {
                Some((h, _)) => Err(format!(
                    "{HITS} row {:?} differs from {REPORT}",
                    h[col::PATH]
                )),
                None => Ok(format!(
                    "{HITS} equals the {} hit rows of {REPORT}",
                    hits.len()
                )),
            }
        });
        out.push("hits", result);
    }

    out.push("audit", check_audit(dir, summary.as_ref()));
    out
}

fn check_audit(dir: &Path, summary: Option<&Value>) -> Result<String, String> {
    let text = crate::output::open_case_file(&dir.join(AUDIT))
        .and_then(|f| std::io::read_to_string(std::io::BufReader::new(f)))
        .map_err(|e| format!("{AUDIT}: {e}"))?;
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{AUDIT} line {}: not JSON: {e}", i + 1))?;
        events.push(v);
    }
    if events.first().map(|e| &e["event"]) != Some(&Value::from("header")) {
        return Err(format!("{AUDIT} does not start with its header"));
    }
    let last = events.last().expect("header present");
    if let Some(s) = summary {
        if last["verdicts"] != s["verdicts"]
            || last["status"] != s["status"]
            || last["entries_found"] != s["totals"]["entries_found"]
            || last["rows"] != s["totals"]["rows"]
        {
            return Err(format!(
                "the last event of {AUDIT} ({}) does not agree with {SUMMARY}",
                last["event"]
            ));
        }
    }
    let sets = events[0]["hashsets"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "{AUDIT}: {} events; header by {} {} (commit {}), {sets} hash sets with SHA-256",
        events.len(),
        events[0]["tool"].as_str().unwrap_or("?"),
        events[0]["version"].as_str().unwrap_or("?"),
        events[0]["build_commit"].as_str().unwrap_or("?"),
    ))
}
