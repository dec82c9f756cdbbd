//! The whole scan over evidence held in memory (`MemorySource`): listing,
//! plan, both read policies, verdicts, every output, verify, an interrupted
//! scan resumed, and a walk that fails part-way. Nothing here touches the
//! evidence through the filesystem, which proves the pipeline knows nothing
//! of where bytes come from.

use hashsweep::config::{ScanArgs, ScanConfig, SetArg};
use hashsweep::error::ExitStatus;
use hashsweep::evidence::io::{IoChoice, Medium};
use hashsweep::evidence::memory::{MemEntry, MemorySource};
use hashsweep::progress::{NoProgress, Progress};
use md5::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

fn md5_hex(data: &[u8]) -> String {
    hashsweep::digest::to_hex(&md5::Md5::digest(data))
}

fn sha1_hex(data: &[u8]) -> String {
    hashsweep::digest::to_hex(&sha1::Sha1::digest(data))
}

/// A picture of abuse (in the set), documents, a large file, hard links, a
/// symbolic link, an unreadable file, an empty file and hostile names.
fn evidence() -> (MemorySource, Vec<u8>) {
    let src = MemorySource::new(&["/Users"]);
    let bad = b"known abuse picture".to_vec();
    src.file("/Users/alice/Pictures/a.jpg", &bad);
    src.file("/Users/alice/notes.txt", b"shopping list");
    src.file("/Users/bob/empty.txt", b"");
    src.file("/data/big.bin", &vec![7u8; 3 << 20]);
    src.file("/data/copy-of-a.png", &bad);
    let linked = Arc::new(b"one file, two names".to_vec());
    for name in ["/data/h1", "/data/h2"] {
        src.put(
            name.as_bytes(),
            MemEntry::File {
                data: linked.clone(),
                link: 42,
            },
        );
    }
    src.put(b"/data/link", MemEntry::Symlink("/Users/alice".into()));
    src.put(
        b"/data/locked.doc",
        MemEntry::Unreadable("Permission denied (os error 13)".into()),
    );
    src.file("/data/esc\x1b[2Jname", b"escape");
    src.file("/data/new\nline", b"newline");
    src.put(
        b"/data/bytes-\xff\xfe",
        MemEntry::File {
            data: Arc::new(b"not UTF-8".to_vec()),
            link: 0,
        },
    );
    (src, bad)
}

struct Case {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    set: PathBuf,
}

fn case_with_set(lines: &str) -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    // The configuration records an evidence folder; the bytes come from memory.
    std::fs::create_dir(root.join("evidence")).unwrap();
    let set = root.join("set.md5");
    std::fs::write(&set, lines).unwrap();
    Case {
        _tmp: tmp,
        root,
        set,
    }
}

fn config(case: &Case, out: &str, extra: impl FnOnce(&mut ScanArgs)) -> ScanConfig {
    let mut args = ScanArgs {
        evidence: case.root.join("evidence"),
        output: case.root.join(out),
        hashsets: vec![SetArg::parse(case.set.as_os_str(), None).unwrap()],
        threads: Some(2),
        jsonl: true,
        dfxml: true,
        ..ScanArgs::default()
    };
    extra(&mut args);
    ScanConfig::new(args).unwrap()
}

/// Scans `src` to the end, with no progress shown and no interruption.
fn scan_all(cfg: &ScanConfig, src: &MemorySource) -> hashsweep::scan::ScanOutcome {
    hashsweep::scan::scan(cfg, src, &NoProgress, &AtomicBool::new(false)).unwrap()
}

fn rows(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("report.csv")).unwrap();
    r.deserialize().map(Result::unwrap).collect()
}

fn row(dir: &Path, path: &str) -> BTreeMap<String, String> {
    rows(dir)
        .into_iter()
        .find(|r| r["path"] == path)
        .unwrap_or_else(|| panic!("no row for {path:?}"))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[test]
fn every_stage_and_output_over_a_memory_source() {
    let (src, bad) = evidence();
    let case = case_with_set(&format!("{}\n", md5_hex(&bad)));
    let cfg = config(&case, "case", |_| {});
    let out = scan_all(&cfg, &src);
    assert_eq!(out.status, ExitStatus::Alert);
    let dir = &cfg.output;

    // One row per entry, sorted by path, with the digests of the bytes.
    let all = rows(dir);
    assert_eq!(all.len(), 12);
    let paths: Vec<&str> = all.iter().map(|r| r["path"].as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let a = row(dir, "/Users/alice/Pictures/a.jpg");
    assert_eq!(a["verdict"], "alert");
    assert_eq!(a["md5"], md5_hex(&bad));
    assert_eq!(a["sha1"], sha1_hex(&bad));
    assert_eq!(row(dir, "/data/copy-of-a.png")["verdict"], "alert");
    let notes = row(dir, "/Users/alice/notes.txt");
    assert_eq!(
        (notes["verdict"].as_str(), notes["md5"].clone()),
        ("unmatched", md5_hex(b"shopping list"))
    );
    assert_eq!(
        row(dir, "/data/big.bin")["md5"],
        md5_hex(&vec![7u8; 3 << 20])
    );
    assert_eq!(row(dir, "/Users/bob/empty.txt")["md5"], md5_hex(b""));
    // Hard links: read once, both rows with its digests, the other named.
    let (h1, h2) = (row(dir, "/data/h1"), row(dir, "/data/h2"));
    assert_eq!(h1["md5"], md5_hex(b"one file, two names"));
    assert_eq!(h2["md5"], h1["md5"]);
    assert!(h2["note"].contains("/data/h1"), "{}", h2["note"]);
    let link = row(dir, "/data/link");
    assert_eq!(
        (link["kind"].as_str(), link["verdict"].as_str()),
        ("symlink", "skipped")
    );
    let locked = row(dir, "/data/locked.doc");
    assert_eq!(locked["verdict"], "unreadable");
    assert!(locked["note"].contains("Permission denied"));
    // Hostile names are kept, escaped where they are not UTF-8.
    assert_eq!(row(dir, "/data/esc\x1b[2Jname")["md5"], md5_hex(b"escape"));
    assert_eq!(row(dir, "/data/new\nline")["md5"], md5_hex(b"newline"));
    assert_eq!(
        row(dir, "/data/bytes-\\xff\\xfe")["md5"],
        md5_hex(b"not UTF-8")
    );

    // hits.csv: the alert rows; the summary's counts.
    let hits = String::from_utf8(read(dir, "hits.csv")).unwrap();
    assert_eq!(
        hits.matches("\r\n/").count() + hits.matches("\r\n\"/").count(),
        2
    );
    assert_eq!(out.summary.verdicts.alert, 2);
    assert_eq!(out.summary.verdicts.unreadable, 1);
    assert_eq!(out.summary.totals.rows, 12);
    assert_eq!(out.summary.status, "complete");

    // report.jsonl: the same rows, typed.
    let json: Vec<serde_json::Value> = String::from_utf8(read(dir, "report.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), 12);
    for (j, r) in json.iter().zip(&all) {
        assert_eq!(j["path"], r["path"].as_str());
        assert_eq!(j["size"], r["size"].parse::<u64>().unwrap());
    }
    let ja = json.iter().find(|j| j["verdict"] == "alert").unwrap();
    assert_eq!(ja["hashsets"], serde_json::json!(["set"]));
    assert_eq!(json[0]["sha256"], serde_json::Value::Null);

    // report.dfxml: a fileobject per row, the digests of each hashed file.
    let xml = String::from_utf8(read(dir, "report.dfxml")).unwrap();
    assert_eq!(xml.matches("<fileobject>").count(), 12);
    assert!(xml.contains(&format!(
        "<hashdigest type=\"md5\">{}</hashdigest>",
        md5_hex(&bad)
    )));
    assert!(xml.contains("<filename>/data/esc\\x1b[2Jname</filename>"));
    assert!(!xml.contains('\x1b'));

    // The folder verifies, the new outputs included.
    let v = hashsweep::case::verify::verify(dir);
    assert!(v.ok(), "{:?}", v.checks);
    let names: Vec<&str> = v.checks.iter().map(|c| c.name).collect();
    for n in [
        "manifest", "report", "counts", "hits", "jsonl", "dfxml", "audit",
    ] {
        assert!(names.contains(&n), "{names:?}");
    }

    // The one-reader policy for spinning disks gives the same reports.
    let hdd = config(&case, "case-hdd", |a| a.io = IoChoice::Force(Medium::Hdd));
    let out = scan_all(&hdd, &src);
    assert_eq!(out.summary.io, "hdd");
    for f in ["report.csv", "hits.csv", "report.jsonl", "report.dfxml"] {
        assert_eq!(read(dir, f), read(&hdd.output, f), "{f}");
    }
}

/// Raises the interrupt after `after` files are done, as a Ctrl-C would.
struct InterruptAfter<'a> {
    done: AtomicU64,
    after: u64,
    interrupt: &'a AtomicBool,
}

impl<'a> InterruptAfter<'a> {
    fn new(after: u64, interrupt: &'a AtomicBool) -> Self {
        InterruptAfter {
            done: AtomicU64::new(0),
            after,
            interrupt,
        }
    }
}

impl Progress for InterruptAfter<'_> {
    fn file_done(&self, _bytes: u64) {
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.interrupt.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn an_interrupted_scan_resumes_to_the_same_reports() {
    let src = MemorySource::new(&["/Users"]);
    let mut set = String::new();
    for i in 0..600 {
        let data = format!("file number {i}");
        let folder = if i % 3 == 0 { "/Users/u" } else { "/srv" };
        src.file(&format!("{folder}/f{i:04}"), data.as_bytes());
        if i % 50 == 0 {
            set.push_str(&format!("{}\n", md5_hex(data.as_bytes())));
        }
    }
    let case = case_with_set(&set);
    let reference = config(&case, "reference", |_| {});
    scan_all(&reference, &src);

    let cfg = config(&case, "case", |a| a.threads = Some(1));
    let interrupt = AtomicBool::new(false);
    let progress = InterruptAfter {
        done: AtomicU64::new(0),
        after: 100,
        interrupt: &interrupt,
    };
    let out = hashsweep::scan::scan(&cfg, &src, &progress, &interrupt).unwrap();
    assert_eq!(out.status, ExitStatus::Interrupted);
    assert_eq!(out.summary.status, "interrupted");
    let partial = out.summary.totals.rows;
    assert!((100..600).contains(&partial), "{partial}");
    drop(cfg);

    let resumed = config(&case, "case", |a| {
        a.threads = Some(1);
        a.resume = true;
    });
    let out = scan_all(&resumed, &src);
    assert_eq!(out.status, ExitStatus::Alert);
    assert_eq!(out.summary.status, "complete");
    assert!(
        out.summary.totals.bytes_read < 600 * 16,
        "only what was missing is read"
    );
    for f in ["report.csv", "hits.csv", "report.jsonl", "report.dfxml"] {
        assert_eq!(read(&reference.output, f), read(&resumed.output, f), "{f}");
    }
    assert!(hashsweep::case::verify::verify(&resumed.output).ok());
}

#[test]
fn a_walk_that_fails_while_user_folders_are_read_leaves_the_scan_incomplete() {
    let src = MemorySource::new(&["/Users"]);
    for i in 0..50 {
        src.file(
            &format!("/Users/u/f{i}"),
            format!("user file {i}").as_bytes(),
        );
        src.file(&format!("/srv/f{i}"), format!("server file {i}").as_bytes());
    }
    src.fail_rest(5, "Input/output error (os error 5)");
    let case = case_with_set(&format!("{}\n", md5_hex(b"not in the evidence")));
    let cfg = config(&case, "case", |_| {});
    let out = scan_all(&cfg, &src);
    // Never `complete` with exit 0: the rest of the tree was never listed.
    assert_eq!(out.status, ExitStatus::Unreadable);
    assert_eq!(out.status.code(), 3);
    assert_eq!(out.summary.status, "incomplete");
    assert!(!out.summary.complete);
    let all = rows(&cfg.output);
    assert_eq!(all.len(), 50, "the user folder's rows are written");
    assert!(all.iter().all(|r| r["path"].starts_with("/Users/u/")));
    let audit = String::from_utf8(read(&cfg.output, "audit.jsonl")).unwrap();
    let failed = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "walk-failed")
        .expect("a walk-failed event");
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains("Input/output error"));
    // The folder is consistent, and says what it is.
    let v = hashsweep::case::verify::verify(&cfg.output);
    assert!(v.ok(), "{:?}", v.checks);
    assert_eq!(v.status.as_deref(), Some("incomplete"));

    // With an alert among the rows read, the alert decides the status.
    let (src, bad) = evidence();
    src.fail_rest(1, "Input/output error (os error 5)");
    let case = case_with_set(&format!("{}\n", md5_hex(&bad)));
    let cfg = config(&case, "case", |_| {});
    let out = scan_all(&cfg, &src);
    assert_eq!(out.status, ExitStatus::Alert);
    assert_eq!(out.summary.status, "incomplete");
}

/// Evidence where a file in the user folders is hard-linked to a path outside
/// them: read as its user-folder path, the other path gets its row from that
/// read ("late" link).
fn linked_across_parts(fail_rest: bool) -> MemorySource {
    let src = MemorySource::new(&["/Users"]);
    for i in 0..20 {
        src.file(&format!("/Users/u/f{i}"), format!("user {i}").as_bytes());
        src.file(&format!("/srv/f{i}"), format!("srv {i}").as_bytes());
    }
    let linked = Arc::new(b"one file, two names".to_vec());
    for name in ["/Users/u/linked", "/srv/linked"] {
        src.put(
            name.as_bytes(),
            MemEntry::File {
                data: linked.clone(),
                link: 42,
            },
        );
    }
    if fail_rest {
        src.fail_rest(5, "Input/output error (os error 5)");
    }
    src
}

#[test]
fn a_resume_reads_the_late_link_of_a_user_folder_file_already_done() {
    let case = case_with_set(&format!("{}\n", md5_hex(b"not in the evidence")));
    // The first run reads the user folders (the linked file among them); the
    // walk of the rest fails, so /srv/linked never gets its row.
    let cfg = config(&case, "case", |_| {});
    let out = scan_all(&cfg, &linked_across_parts(true));
    assert_eq!(out.summary.status, "incomplete");
    assert!(rows(&cfg.output)
        .iter()
        .any(|r| r["path"] == "/Users/u/linked"));
    drop(cfg);
    // The resume keeps /Users/u/linked's row, so /srv/linked must be read as
    // itself, not wait for a read that never comes.
    let cfg = config(&case, "case", |a| a.resume = true);
    let out = scan_all(&cfg, &linked_across_parts(false));
    assert_eq!(out.summary.status, "complete", "{:?}", out.summary);
    assert_eq!(out.status, ExitStatus::NoAlert);
    assert_eq!(out.summary.totals.rows, 42);
    let srv = row(&cfg.output, "/srv/linked");
    assert_eq!(srv["md5"], md5_hex(b"one file, two names"));
    assert_eq!(row(&cfg.output, "/Users/u/linked")["md5"], srv["md5"]);
    let v = hashsweep::case::verify::verify(&cfg.output);
    assert!(v.ok(), "{:?}", v.checks);
}

#[test]
fn a_walk_that_fails_during_a_resume_keeps_the_journal() {
    let make = |fail: bool| {
        let src = MemorySource::new(&[]);
        for i in 0..40 {
            src.file(&format!("/srv/f{i:02}"), format!("srv {i}").as_bytes());
        }
        if fail {
            src.fail_rest(0, "Input/output error (os error 5)");
        }
        src
    };
    let case = case_with_set(&format!("{}\n", md5_hex(b"not in the evidence")));
    let cfg = config(&case, "case", |a| a.threads = Some(1));
    let interrupt = AtomicBool::new(false);
    let stop = InterruptAfter::new(30, &interrupt);
    let out = hashsweep::scan::scan(&cfg, &make(false), &stop, &interrupt).unwrap();
    let first_rows = out.summary.totals.rows;
    assert!((30..40).contains(&first_rows), "{first_rows}");
    drop(cfg);
    // A resume whose walk fails lists nothing: no journal row may be taken
    // for a file gone from the evidence.
    let cfg = config(&case, "case", |a| a.resume = true);
    let out = scan_all(&cfg, &make(true));
    assert_eq!(out.summary.status, "incomplete");
    assert_eq!(out.status.code(), 3);
    assert_eq!(
        out.summary.totals.rows, first_rows,
        "the journal's rows are kept"
    );
    drop(cfg);
    // And the next resume, with the evidence readable, completes the scan.
    let cfg = config(&case, "case", |a| a.resume = true);
    let out = scan_all(&cfg, &make(false));
    assert_eq!(out.summary.status, "complete");
    assert_eq!(out.summary.totals.rows, 40);
    assert!(hashsweep::case::verify::verify(&cfg.output).ok());
}

#[test]
fn a_resume_without_the_output_flags_keeps_every_output_current() {
    let case = case_with_set(&format!("{}\n", md5_hex(b"not in the evidence")));
    let cfg = config(&case, "case", |a| {
        a.threads = Some(1);
        a.jsonl = true;
        a.dfxml = true;
    });
    let interrupt = AtomicBool::new(false);
    let stop = InterruptAfter::new(10, &interrupt);
    hashsweep::scan::scan(&cfg, &linked_across_parts(false), &stop, &interrupt).unwrap();
    // Leftovers of a run killed while writing: gone after the resume.
    std::fs::write(cfg.output.join("report.jsonl.partial"), b"half").unwrap();
    std::fs::write(cfg.output.join(".sort-run-7"), b"stale").unwrap();
    drop(cfg);
    let cfg = config(&case, "case", |a| a.resume = true);
    assert!(cfg.jsonl && cfg.dfxml, "taken from the case folder");
    let out = scan_all(&cfg, &linked_across_parts(false));
    assert_eq!(out.summary.status, "complete");
    let jsonl = String::from_utf8(read(&cfg.output, "report.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 42);
    let v = hashsweep::case::verify::verify(&cfg.output);
    assert!(v.ok(), "{:?}", v.checks);
    for left in ["report.jsonl.partial", ".sort-run-7"] {
        assert!(
            !cfg.output.join(left).exists(),
            "{left} left in the case folder"
        );
    }
}
