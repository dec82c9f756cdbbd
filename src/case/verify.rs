//! `hashsweep verify <CASE_DIR>`: checks that a case folder is what hashsweep
//! wrote. The manifest digests match the files; `report.csv` parses, is sorted
//! and its counts agree with `summary.json`; `hits.csv`, `report.jsonl` and
//! `report.dfxml` are exactly what its rows give; the audit log is well formed
//! and its last event agrees with the summary.
//!
//! Every file is read once, as a stream: verifying a case of millions of rows
//! takes no more memory than one row.

use crate::output::csv::{col, Cells, LineWriter, COLUMNS};
use crate::output::summary::{Tally, VerdictCounts};
use crate::output::{dfxml, jsonl};
use crate::output::{AUDIT, HITS, MANIFEST, MEDIA, REPORT, REPORT_DFXML, REPORT_JSONL, SUMMARY};
use crate::record::Verdict;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
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
    /// The scan's status from summary.json (`complete`, `interrupted`,
    /// `stopped`, `incomplete`), if readable.
    pub status: Option<String>,
    /// The exit status the scan recorded in summary.json, if readable.
    pub exit_status: Option<u8>,
}

/// Whether `dir` holds a case folder's files (its manifest or audit log) at all.
pub fn looks_like_case(dir: &Path) -> bool {
    dir.join(MANIFEST).exists() || dir.join(AUDIT).exists()
}

/// The files every case folder's manifest lists.
const ALWAYS: [&str; 5] = [AUDIT, HITS, MEDIA, REPORT, SUMMARY];
/// The files a scan writes when asked to (`--jsonl`, `--dfxml`).
const OPTIONAL: [&str; 2] = [REPORT_JSONL, REPORT_DFXML];

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

fn check_manifest(dir: &Path, outputs: &[&str]) -> Result<String, String> {
    let text = crate::output::read_case_file(&dir.join(MANIFEST), 1 << 20)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8".to_string()))
        .map_err(|e| format!("{MANIFEST}: {e}"))?;
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (digest, name) = line
            .split_once("  ")
            .ok_or_else(|| format!("{MANIFEST} line {}: not `<sha256>  <file>`", i + 1))?;
        if !ALWAYS.contains(&name) && !OPTIONAL.contains(&name) {
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
    for needed in ALWAYS.iter().chain(outputs) {
        if !listed.contains(needed) {
            return Err(format!("{needed} is not listed in {MANIFEST}"));
        }
    }
    Ok(format!("{} files match their SHA-256", listed.len()))
}

fn counts_json(v: &VerdictCounts) -> Value {
    serde_json::to_value(v).expect("counts serialise")
}

/// A case file compared, as it is read, with the bytes the report's rows give.
struct Expected {
    name: &'static str,
    reader: BufReader<std::fs::File>,
    buf: Vec<u8>,
    problem: Option<String>,
    parts: u64,
}

impl Expected {
    fn open(dir: &Path, name: &'static str) -> Result<Expected, String> {
        let file = crate::output::open_case_file(&dir.join(name))
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        Ok(Expected {
            name,
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            problem: None,
            parts: 0,
        })
    }

    /// The next bytes must be `want`; `what` names them for the message.
    fn next(&mut self, want: &[u8], what: impl FnOnce() -> String) {
        if self.problem.is_some() {
            return;
        }
        self.buf.clear();
        let read = (&mut self.reader)
            .take(want.len() as u64)
            .read_to_end(&mut self.buf);
        self.problem = match read {
            Err(e) => Some(format!("{}: {e}", self.name)),
            Ok(_) if self.buf.len() < want.len() => {
                Some(format!("{} ends before {}", self.name, what()))
            }
            Ok(_) if self.buf != want => Some(format!(
                "{} differs from what {REPORT} gives at {}",
                self.name,
                what()
            )),
            Ok(_) => None,
        };
        self.parts += 1;
    }

    /// The file must end here.
    fn end(mut self, rows: u64) -> Result<String, String> {
        if self.problem.is_none() {
            match self.reader.fill_buf() {
                Ok([]) => {}
                Ok(_) => self.problem = Some(format!("{} has more after its last row", self.name)),
                Err(e) => self.problem = Some(format!("{}: {e}", self.name)),
            }
        }
        match self.problem {
            Some(p) => Err(p),
            None => Ok(format!(
                "{} is exactly what the {rows} rows of {REPORT} give",
                self.name
            )),
        }
    }
}

/// The names of the optional files a summary says the scan wrote.
fn summary_outputs(summary: Option<&Value>) -> Vec<&'static str> {
    let listed = summary.and_then(|s| s["outputs"].as_array());
    OPTIONAL
        .into_iter()
        .filter(|name| listed.is_some_and(|l| l.iter().any(|v| v == *name)))
        .collect()
}

/// Verifies the case folder `dir`.
pub fn verify(dir: &Path) -> Verification {
    let mut out = Verification::default();

    let summary: Option<Value> = match crate::output::read_case_file(&dir.join(SUMMARY), 16 << 20) {
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(v) => {
                out.status = v["status"].as_str().map(String::from);
                out.exit_status = v["exit_status"].as_u64().and_then(|c| u8::try_from(c).ok());
                Some(v)
            }
            Err(e) => {
                out.push("manifest", check_manifest(dir, &[]));
                out.push("summary", Err(format!("{SUMMARY} is not JSON: {e}")));
                None
            }
        },
        Err(e) => {
            out.push("manifest", check_manifest(dir, &[]));
            out.push("summary", Err(format!("{SUMMARY}: {e}")));
            None
        }
    };
    let outputs = summary_outputs(summary.as_ref());
    if let Some(s) = &summary {
        out.push("manifest", check_manifest(dir, &outputs));
        out.push(
            "summary",
            Ok(format!("{SUMMARY} parses; status {}", s["status"])),
        );
    }
    for name in OPTIONAL {
        if !outputs.contains(&name) && dir.join(name).symlink_metadata().is_ok() {
            out.push(
                "outputs",
                Err(format!(
                    "{name} is in the folder, but {SUMMARY} does not list it among the scan's outputs"
                )),
            );
        }
    }

    if let Err(e) = check_no_stranger(dir, summary.as_ref()) {
        out.push("outputs", Err(e));
    }

    let pass = read_report(dir, summary.as_ref(), &outputs);
    match pass {
        Err(e) => out.push("report", Err(e)),
        Ok(p) => {
            out.push(
                "report",
                Ok(format!("{REPORT} parses: {} rows, sorted by path", p.rows)),
            );
            if let Some(s) = &summary {
                out.push("counts", check_counts(s, &p.tally, p.rows));
            }
            for (name, result) in p.compared {
                out.push(name, result);
            }
        }
    }

    out.push("audit", check_audit(dir, summary.as_ref()));
    out
}

/// What one pass over `report.csv` found.
struct ReportPass {
    rows: u64,
    tally: Tally,
    /// Each file compared with the rows: check name and result.
    compared: Vec<(&'static str, Result<String, String>)>,
}

fn set_names(summary: Option<&Value>) -> Vec<String> {
    summary
        .and_then(|s| s["hashsets"].as_array())
        .map(|sets| {
            sets.iter()
                .map(|s| s["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `report.csv` once: checks its form, counts its rows and compares
/// `hits.csv` and the optional outputs with what its rows give.
fn read_report(
    dir: &Path,
    summary: Option<&Value>,
    outputs: &[&'static str],
) -> Result<ReportPass, String> {
    let file = crate::output::open_case_file(&dir.join(REPORT))
        .map_err(|e| format!("cannot read {REPORT}: {e}"))?;
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
    let header = r.headers().map_err(|e| format!("{REPORT}: {e}"))?;
    if header.iter().ne(COLUMNS) {
        return Err(format!("{REPORT}: the header row is not the report header"));
    }

    let mut lines = LineWriter::default();
    let mut compared: Vec<(&'static str, Result<String, String>)> = Vec::new();
    let mut hits = match Expected::open(dir, HITS) {
        Ok(mut e) => {
            e.next(&lines.header(), || "its header".into());
            Some(e)
        }
        Err(e) => {
            compared.push(("hits", Err(e)));
            None
        }
    };
    let mut json = None;
    if outputs.contains(&REPORT_JSONL) {
        match Expected::open(dir, REPORT_JSONL) {
            Ok(e) => json = Some(e),
            Err(e) => compared.push(("jsonl", Err(e))),
        }
    }
    let mut xml = None;
    if outputs.contains(&REPORT_DFXML) {
        match (
            Expected::open(dir, REPORT_DFXML),
            summary.and_then(|s| s["evidence"].as_str()),
        ) {
            (Ok(mut e), Some(evidence)) => {
                e.next(dfxml::head(evidence).as_bytes(), || "its head".into());
                xml = Some(e);
            }
            (Err(e), _) => compared.push(("dfxml", Err(e))),
            (Ok(_), None) => compared.push((
                "dfxml",
                Err(format!(
                    "{SUMMARY} names no evidence to check {REPORT_DFXML} against"
                )),
            )),
        }
    }

    let names = set_names(summary);
    let mut tally = Tally::new(names.len());
    let mut previous: Option<String> = None;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    let mut hit_rows = 0u64;
    let mut media: Vec<[String; 7]> = Vec::new();
    loop {
        match r.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(format!("{REPORT}: row {}: {e}", rows + 1)),
        }
        rows += 1;
        if record.len() != COLUMNS.len() {
            return Err(format!(
                "{REPORT}: row {rows} has {} cells, not {}",
                record.len(),
                COLUMNS.len()
            ));
        }
        let cells: Cells = std::array::from_fn(|i| record[i].to_string());
        let path = &cells[col::PATH];
        if previous
            .as_ref()
            .is_some_and(|p| crate::pathfmt::sort_key(p) >= crate::pathfmt::sort_key(path))
        {
            return Err(format!("{REPORT} is not sorted by path at {path:?}"));
        }
        let Some(verdict) = Verdict::parse(&cells[col::VERDICT]) else {
            return Err(format!(
                "{REPORT}: row {path:?} has verdict {:?}",
                cells[col::VERDICT]
            ));
        };
        tally.add_cells(&cells, &names);
        let what = || format!("the row of {path:?}");
        if verdict.is_hit() {
            hit_rows += 1;
            if let Some(h) = &mut hits {
                h.next(&lines.line(&cells), what);
            }
        }
        if let Some(j) = &mut json {
            j.next(&jsonl::line(&cells), what);
        }
        if let Some(x) = &mut xml {
            x.next(dfxml::fileobject(&cells).as_bytes(), what);
        }
        if crate::output::media::queued(verdict, &cells[col::TYPE]) {
            media.push(media_key(&cells));
        }
        previous = Some(cells[col::PATH].clone());
    }
    if let Some(h) = hits {
        let result = h.end(rows).map(|_| {
            format!("{HITS} equals the {hit_rows} alert, conflict and similar rows of {REPORT}")
        });
        compared.insert(0, ("hits", result));
    }
    if let Some(j) = json {
        compared.push(("jsonl", j.end(rows)));
    }
    if let Some(mut x) = xml {
        x.next(dfxml::TAIL.as_bytes(), || "its end".into());
        compared.push(("dfxml", x.end(rows)));
    }
    compared.push(("media", check_media(dir, media, summary)));
    Ok(ReportPass {
        rows,
        tally,
        compared,
    })
}

/// What a `media.csv` row repeats of its report row: path, verdict, type,
/// type_mismatch, size, pdq, pdq_quality.
fn media_key(c: &Cells) -> [String; 7] {
    [
        col::PATH,
        col::VERDICT,
        col::TYPE,
        col::TYPE_MISMATCH,
        col::SIZE,
        col::PDQ,
        col::PDQ_QUALITY,
    ]
    .map(|i| c[i].clone())
}

/// `media.csv` holds exactly the media rows of report.csv that no set knows,
/// agreeing with them on every column the report has, and as many as the
/// summary counts. (The Exif facts and groups come from the pictures, which
/// only the manifest vouches for.)
fn check_media(
    dir: &Path,
    mut expected: Vec<[String; 7]>,
    summary: Option<&Value>,
) -> Result<String, String> {
    use crate::output::media::MEDIA_COLUMNS;
    let file = crate::output::open_case_file(&dir.join(MEDIA))
        .map_err(|e| format!("cannot read {MEDIA}: {e}"))?;
    let mut r = csv::Reader::from_reader(BufReader::new(file));
    let header = r.headers().map_err(|e| format!("{MEDIA}: {e}"))?;
    if header.iter().ne(MEDIA_COLUMNS) {
        return Err(format!("{MEDIA}: the header row is not the media header"));
    }
    let at: Vec<usize> = [
        "path",
        "verdict",
        "type",
        "type_mismatch",
        "size",
        "pdq",
        "pdq_quality",
    ]
    .iter()
    .map(|n| MEDIA_COLUMNS.iter().position(|c| c == n).expect("a column"))
    .collect();
    let col = |name: &str| {
        MEDIA_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("a column")
    };
    let (group_at, size_at, camera_at) = (col("group"), col("group_size"), col("from_camera"));
    let mut found = Vec::new();
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut from_camera = 0u64;
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("{MEDIA}: {e}"))?;
        if rec.len() != MEDIA_COLUMNS.len() {
            return Err(format!("{MEDIA}: a row has {} cells", rec.len()));
        }
        found.push(std::array::from_fn::<String, 7, _>(|i| {
            rec[at[i]].to_string()
        }));
        groups.push((rec[group_at].to_string(), rec[size_at].to_string()));
        from_camera += u64::from(&rec[camera_at] == "true");
    }
    let counts = media_groups(&groups)?;
    let n = found.len();
    expected.sort();
    found.sort();
    if found != expected {
        let differ = found
            .iter()
            .zip(&expected)
            .find(|(a, b)| a != b)
            .map_or_else(
                || "the number of rows".to_string(),
                |(a, _)| format!("{:?}", a[0]),
            );
        return Err(format!(
            "{MEDIA} does not hold exactly the {} unknown pictures and videos of {REPORT} ({n} rows; first difference at {differ})",
            expected.len()
        ));
    }
    if let Some(media) = summary.map(|s| &s["media"]) {
        let (grouped, number, several, largest) = counts;
        for (key, value) in [
            ("rows", n as u64),
            ("grouped", grouped),
            ("groups", number),
            ("groups_of_several", several),
            ("largest_group", largest),
            ("from_camera", from_camera),
        ] {
            if media[key].as_u64() != Some(value) {
                return Err(format!(
                    "{SUMMARY} counts media {key} {}, {MEDIA} gives {value}",
                    media[key]
                ));
            }
        }
    }
    Ok(format!(
        "{MEDIA} holds exactly the {n} unknown pictures and videos of {REPORT}"
    ))
}

/// Checks the groups of `media.csv` (each row's `group` and `group_size`):
/// numbered from 1 in order of first appearance, each group's rows together,
/// as many as its size says. Returns the rows grouped, the groups, those of
/// more than one row, and the largest.
fn media_groups(rows: &[(String, String)]) -> Result<(u64, u64, u64, u64), String> {
    let (mut grouped, mut several, mut largest) = (0u64, 0u64, 0u64);
    let mut last = 0u64;
    let mut i = 0;
    while i < rows.len() {
        let (group, size) = &rows[i];
        if group.is_empty() {
            if !size.is_empty() {
                return Err(format!("{MEDIA}: a row without a group has a group size"));
            }
            i += 1;
            continue;
        }
        let number: u64 = group
            .parse()
            .map_err(|_| format!("{MEDIA}: group {group:?} is not a number"))?;
        if number != last + 1 {
            return Err(format!(
                "{MEDIA}: group {number} where group {} was due (groups are numbered in order, their rows together)",
                last + 1
            ));
        }
        last = number;
        let run = rows[i..].iter().take_while(|(g, _)| g == group).count();
        if size.parse::<usize>().ok() != Some(run)
            || rows[i..i + run].iter().any(|(_, s)| s != size)
        {
            return Err(format!(
                "{MEDIA}: group {number} has {run} rows together, its size says {size}"
            ));
        }
        grouped += run as u64;
        several += u64::from(run > 1);
        largest = largest.max(run as u64);
        i += run;
    }
    Ok((grouped, last, several, largest))
}

/// Only what hashsweep writes is in the folder: its case files, the lock, and
/// the journal while the scan is unfinished. Anything else (a file added, a
/// leftover of a hard stop) fails the check, naming it.
fn check_no_stranger(dir: &Path, summary: Option<&Value>) -> Result<(), String> {
    let unfinished = summary.is_some_and(|s| s["complete"] != true);
    let entries = std::fs::read_dir(dir).map_err(|e| format!("listing the case folder: {e}"))?;
    let mut strangers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("listing the case folder: {e}"))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = crate::output::CASE_FILES.contains(&name.as_ref())
            || name == crate::case::lock::LOCK_FILE
            || (unfinished && name == crate::case::journal::JOURNAL);
        if !ours {
            strangers.push(crate::pathfmt::for_terminal(&name));
        }
    }
    if strangers.is_empty() {
        return Ok(());
    }
    strangers.sort();
    Err(format!(
        "the case folder holds what hashsweep did not write there: {}",
        strangers.join(", ")
    ))
}

fn check_counts(s: &Value, tally: &Tally, rows: u64) -> Result<String, String> {
    if s["totals"]["rows"] != rows {
        return Err(format!(
            "{REPORT} has {rows} rows; {SUMMARY} says {}",
            s["totals"]["rows"]
        ));
    }
    let members = tally.archives.members;
    if s["complete"] == true && s["totals"]["entries_found"] != rows.saturating_sub(members) {
        return Err(format!(
            "the scan is complete, but {REPORT} has {rows} rows ({members} of them archive members) for {} entries found: a complete case has exactly one row per entry and member",
            s["totals"]["entries_found"]
        ));
    }
    let archives = serde_json::to_value(&tally.archives).expect("counts serialise");
    if s["archives"] != archives {
        return Err(format!(
            "archive counts of {REPORT} {archives} differ from {SUMMARY} {}",
            s["archives"]
        ));
    }
    // The status and exit status follow from the rows: a summary that says
    // otherwise was not written by hashsweep.
    let status = s["status"].as_str().unwrap_or("");
    let Some(ending) = crate::output::summary::Ending::parse(status) else {
        return Err(format!("{SUMMARY} has an unknown status {}", s["status"]));
    };
    if s["complete"] != (ending == crate::output::summary::Ending::Complete) {
        return Err(format!(
            "{SUMMARY} says complete {} with status {status}",
            s["complete"]
        ));
    }
    if ending == crate::output::summary::Ending::Complete && tally.unlisted_dirs > 0 {
        return Err(format!(
            "{SUMMARY} says complete, but {REPORT} has {} directories that could not be listed",
            tally.unlisted_dirs
        ));
    }
    let exit = ending.exit(tally).code();
    if s["exit_status"] != exit {
        return Err(format!(
            "{SUMMARY} gives exit status {}; status {status} and the verdicts of {REPORT} give {exit}",
            s["exit_status"]
        ));
    }
    for (key, counted) in [
        ("files_hashed", tally.files_hashed),
        ("bytes_hashed", tally.bytes_hashed),
        ("empty_files", tally.empty_files),
    ] {
        if s["totals"][key] != counted {
            return Err(format!(
                "{REPORT} gives {key} {counted}; {SUMMARY} says {}",
                s["totals"][key]
            ));
        }
    }
    if s["verdicts"] != counts_json(&tally.verdicts) {
        return Err(format!(
            "verdict counts of {REPORT} {} differ from {SUMMARY} {}",
            counts_json(&tally.verdicts),
            s["verdicts"]
        ));
    }
    let per_set: Vec<Value> = s["hashsets"]
        .as_array()
        .map(|a| a.iter().map(|s| s["hits"].clone()).collect())
        .unwrap_or_default();
    let counted: Vec<Value> = tally.per_set.iter().map(|&n| Value::from(n)).collect();
    if per_set != counted {
        return Err(format!(
            "rows per hash set in {REPORT} {counted:?} differ from {SUMMARY} {per_set:?}"
        ));
    }
    let categories = serde_json::to_value(&tally.categories).expect("counts serialise");
    if s["categories"] != categories {
        return Err(format!(
            "hits per category in {REPORT} {categories} differ from {SUMMARY} {}",
            s["categories"]
        ));
    }
    Ok(format!(
        "{REPORT} row, file, byte, verdict, set and category counts, status and exit status agree with {SUMMARY}"
    ))
}

fn check_audit(dir: &Path, summary: Option<&Value>) -> Result<String, String> {
    let file =
        crate::output::open_case_file(&dir.join(AUDIT)).map_err(|e| format!("{AUDIT}: {e}"))?;
    let mut header: Option<Value> = None;
    let mut last: Option<Value> = None;
    let mut events = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("{AUDIT} line {}: {e}", i + 1))?;
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("{AUDIT} line {}: not JSON: {e}", i + 1))?;
        let known = v["event"]
            .as_str()
            .is_some_and(|e| crate::case::event::Event::NAMES.contains(&e));
        if !known {
            return Err(format!(
                "{AUDIT} line {}: {} is not an audit event",
                i + 1,
                v["event"]
            ));
        }
        if i == 0 {
            header = Some(v.clone());
        }
        last = Some(v);
        events += 1;
    }
    let header = header
        .filter(|h| h["event"] == "header")
        .ok_or_else(|| format!("{AUDIT} does not start with its header"))?;
    let last = last.expect("header present");
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
    let sets = header["hashsets"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "{AUDIT}: {events} events; header by {} {} (commit {}), {sets} hash sets with SHA-256",
        header["tool"].as_str().unwrap_or("?"),
        header["version"].as_str().unwrap_or("?"),
        header["build_commit"].as_str().unwrap_or("?"),
    ))
}
