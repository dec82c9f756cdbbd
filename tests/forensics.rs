//! Forensic soundness: the evidence is not altered, an interrupted or killed scan
//! resumes to the same report bytes, `verify` catches tampering, and files that
//! change, vanish or carry hostile names are reported without harm.

mod util;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use util::*;

/// (path, atime, mtime, ctime) of each path. The test never lists a directory
/// itself: listing one would update its access time on this mount.
type Stamp = (PathBuf, (i64, i64), (i64, i64), (i64, i64));

fn times(paths: &std::collections::BTreeSet<PathBuf>) -> Vec<Stamp> {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(p).unwrap();
            (
                p.clone(),
                (m.atime(), m.atime_nsec()),
                (m.mtime(), m.mtime_nsec()),
                (m.ctime(), m.ctime_nsec()),
            )
        })
        .collect()
}

#[test]
fn scan_changes_no_time_on_a_strictatime_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let Some(_m) = tmpfs(&ev, "strictatime,size=16m") else {
        return skip(
            "scan_changes_no_time_on_a_strictatime_mount",
            "needs root to mount tmpfs",
        );
    };
    let mut paths = std::collections::BTreeSet::new();
    for i in 0..50 {
        let mut p = write(
            &ev,
            format!("d{}/e{}/f{i}.bin", i % 4, i % 3),
            &vec![i as u8; 1000 + i],
        );
        while p.starts_with(&ev) {
            paths.insert(p.clone());
            p.pop();
        }
    }
    let control = write(&ev, "control.txt", b"read by the test, not by the scan");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let before = times(&paths);
    assert_eq!(before.len(), 1 + 4 + 12 + 50, "entries compared");
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(s.rows().len(), 51);
    let after = times(&paths);
    assert_eq!(before, after, "the scan changed a time in the evidence");
    // The mount does update access times on an ordinary read or listing: the test can fail.
    let control_set = std::collections::BTreeSet::from([control.clone()]);
    let control_before = times(&control_set);
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::read(&control).unwrap();
    std::fs::read_dir(ev.join("d0")).unwrap().for_each(drop);
    assert_ne!(
        times(&control_set)[0].1,
        control_before[0].1,
        "reading a file updates its atime here"
    );
    let changed: Vec<PathBuf> = times(&paths)
        .into_iter()
        .zip(&after)
        .filter(|(now, then)| now != *then)
        .map(|(now, _)| now.0)
        .collect();
    assert_eq!(
        changed,
        [ev.join("d0")],
        "listing a directory updates its atime here"
    );
}

/// A tree for the resume tests, with an alert set hitting a few files.
fn resume_tree(root: &Path) -> (PathBuf, PathBuf) {
    let ev = root.join("ev");
    let mut set = String::new();
    for i in 0..3000u32 {
        let data = format!("file {i} {}", "x".repeat((i % 97) as usize));
        write(
            &ev,
            format!("dir{}/sub{}/f{i:04}.txt", i % 10, i % 7),
            data.as_bytes(),
        );
        if i % 500 == 7 {
            set.push_str(&format!("{}\n", md5_hex(data.as_bytes())));
        }
    }
    let set_path = root.join("alert.txt");
    std::fs::write(&set_path, set).unwrap();
    (ev, set_path)
}

fn read(dir: &Path, f: &str) -> Vec<u8> {
    std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()))
}

fn verify_ok(dir: &Path) {
    let out = run(&[std::ffi::OsStr::new("verify"), dir.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verified:"), "{text}");
}

#[test]
fn killed_scans_resume_to_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (ev, set) = resume_tree(tmp.path());
    let set = set.to_str().unwrap();
    let reference = scan(&ev, &tmp.path().join("reference"), &["--hashset", set]);
    assert_eq!(reference.code, 1, "{}", reference.stderr);
    assert!(
        !reference.dir.join("journal.jsonl").exists(),
        "journal removed when complete"
    );

    for point in ["rows=10", "rows=1500", "before-report", "writing-report"] {
        let case = tmp.path().join(format!("case-{point}"));
        let out = Command::new(bin())
            .args(["scan", "--hashset", set, "--output"])
            .arg(&case)
            .arg(&ev)
            .env("HASHSWEEP_FAILPOINT", point)
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGKILL),
            "{point}: {:?}",
            out.status
        );
        assert!(case.join("journal.jsonl").exists(), "{point}");
        assert!(!case.join("manifest.sha256").exists(), "{point}");

        // A plain scan refuses the folder; --resume finishes it.
        let again = scan(&ev, &case, &["--hashset", set]);
        assert_eq!(again.code, 2, "{point}");
        assert!(again.stderr.contains("--resume"), "{}", again.stderr);
        let resumed = scan(&ev, &case, &["--hashset", set, "--resume"]);
        assert_eq!(resumed.code, 1, "{point}: {}", resumed.stderr);
        assert_eq!(
            read(&case, "report.csv"),
            read(&reference.dir, "report.csv"),
            "{point}"
        );
        assert_eq!(
            read(&case, "hits.csv"),
            read(&reference.dir, "hits.csv"),
            "{point}"
        );
        let sum = resumed.summary();
        assert_eq!(
            (sum["complete"].clone(), sum["resumed"].clone()),
            (true.into(), true.into())
        );
        assert_eq!(sum["verdicts"], reference.summary()["verdicts"], "{point}");
        assert!(!case.join("journal.jsonl").exists());
        let audit = String::from_utf8(read(&case, "audit.jsonl")).unwrap();
        assert!(audit.contains("\"event\":\"resume\""), "{point}");
        verify_ok(&case);
        // Resuming a finished case does nothing but verify it, and gives its
        // exit status (1: it has alerts), so a retrying script can resume blindly.
        let report_before = read(&case, "report.csv");
        let done = scan(&ev, &case, &["--hashset", set, "--resume"]);
        assert_eq!(done.code, 1, "{}", done.stderr);
        assert!(done.stderr.contains("already complete"), "{}", done.stderr);
        assert_eq!(read(&case, "report.csv"), report_before);
    }
}

#[test]
fn resume_refuses_other_evidence_or_other_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let (ev, set) = resume_tree(tmp.path());
    let case = tmp.path().join("case");
    let status = Command::new(bin())
        .args(["scan", "--hashset", set.to_str().unwrap(), "--output"])
        .arg(&case)
        .arg(&ev)
        .env("HASHSWEEP_FAILPOINT", "rows=100")
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let other_set = tmp.path().join("other.txt");
    std::fs::write(&other_set, format!("{}\n", md5_hex(b"something"))).unwrap();
    let s = scan(
        &ev,
        &case,
        &["--hashset", other_set.to_str().unwrap(), "--resume"],
    );
    assert_eq!(s.code, 2);
    assert!(
        s.stderr.contains("resume refused: the hash sets"),
        "{}",
        s.stderr
    );
    let s = scan(
        &ev.join("dir1"),
        &case,
        &["--hashset", set.to_str().unwrap(), "--resume"],
    );
    assert_eq!(s.code, 2);
    assert!(
        s.stderr.contains("resume refused: the evidence"),
        "{}",
        s.stderr
    );
    let s = scan(
        &ev,
        &case,
        &["--hashset", set.to_str().unwrap(), "--resume", "--sha256"],
    );
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("--sha256"), "{}", s.stderr);
    let s = scan(&ev, &tmp.path().join("nothing"), &["--resume"]);
    assert_eq!(s.code, 2);
    assert!(
        s.stderr.contains("holds no interrupted scan"),
        "{}",
        s.stderr
    );
}

#[test]
fn ctrl_c_then_resume_gives_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    for i in 0..24 {
        let f = std::fs::File::create(ev.join(format!("sparse{i:02}.img"))).unwrap();
        f.set_len(64 << 20).unwrap();
        write(
            &ev,
            format!("small{i:02}.txt"),
            format!("small {i}").as_bytes(),
        );
    }
    let reference = scan(&ev, &tmp.path().join("reference"), &[]);
    assert_eq!(reference.code, 0);
    let case = tmp.path().join("case");
    let mut child = Command::new(bin())
        .args(["scan", "--threads", "1", "--output"])
        .arg(&case)
        .arg(&ev)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !case.join("audit.jsonl").exists() {
        assert!(start.elapsed().as_secs() < 30);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let partial = Scan {
        code: 130,
        stderr: String::new(),
        dir: case.clone(),
    };
    assert_eq!(partial.summary()["status"], "interrupted");
    // The interrupted folder is consistent, and says it is incomplete.
    let out = run(&[std::ffi::OsStr::new("verify"), case.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("incomplete"));
    let resumed = scan(&ev, &case, &["--resume"]);
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        read(&case, "report.csv"),
        read(&reference.dir, "report.csv")
    );
    verify_ok(&case);
}

/// Copies a case folder so each tampering starts from a good one.
fn copy_case(from: &Path, to: &Path) {
    sh(&format!("cp -a '{}' '{}'", from.display(), to.display()));
}

fn verify_fails(dir: &Path, expect: &str) {
    let out = run(&[std::ffi::OsStr::new("verify"), dir.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("NOT verified"), "{text}");
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert!(
        failed.iter().any(|l| l.contains(expect)),
        "wanted {expect:?} in {failed:?}"
    );
}

fn remanifest(dir: &Path) {
    sh(&format!(
        "cd '{}' && sha256sum audit.jsonl hits.csv media.csv report.csv summary.json > manifest.sha256",
        dir.display()
    ));
}

#[test]
fn verify_catches_every_kind_of_tampering() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let mut set = String::new();
    for i in 0..40 {
        let data = format!("content {i}");
        write(&ev, format!("f{i:02}"), data.as_bytes());
        if i % 10 == 0 {
            set.push_str(&format!("{}\n", md5_hex(data.as_bytes())));
        }
    }
    let set_path = tmp.path().join("s.txt");
    std::fs::write(&set_path, set).unwrap();
    let good = scan(
        &ev,
        &tmp.path().join("good"),
        &["--hashset", set_path.to_str().unwrap()],
    )
    .dir;
    verify_ok(&good);

    type Edit = fn(&Path);
    let edits: [(&str, Edit, &str, &str); 8] = [
        (
            "byte",
            |d| {
                let mut b = std::fs::read(d.join("report.csv")).unwrap();
                let i = b.len() / 2;
                b[i] ^= 0x01;
                std::fs::write(d.join("report.csv"), b).unwrap();
            },
            "report.csv: SHA-256",
            "",
        ),
        (
            "row",
            |d| {
                let t = std::fs::read_to_string(d.join("report.csv")).unwrap();
                let mut lines: Vec<&str> = t.split_inclusive("\r\n").collect();
                lines.remove(5);
                std::fs::write(d.join("report.csv"), lines.concat()).unwrap();
            },
            "report.csv: SHA-256",
            "has 39 rows",
        ),
        (
            "hits",
            |d| {
                let t = std::fs::read_to_string(d.join("hits.csv")).unwrap();
                let mut lines: Vec<&str> = t.split_inclusive("\r\n").collect();
                lines.pop();
                std::fs::write(d.join("hits.csv"), lines.concat()).unwrap();
            },
            "hits.csv: SHA-256",
            "hits.csv ends before the row of",
        ),
        (
            "summary",
            |d| {
                let t = std::fs::read_to_string(d.join("summary.json")).unwrap();
                std::fs::write(
                    d.join("summary.json"),
                    t.replace("\"alert\": 4", "\"alert\": 0"),
                )
                .unwrap();
            },
            "summary.json: SHA-256",
            "verdict counts",
        ),
        (
            "bytes",
            |d| {
                let t = std::fs::read_to_string(d.join("summary.json")).unwrap();
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                let n = v["totals"]["bytes_hashed"].as_u64().unwrap();
                let edited = t.replace(
                    &format!("\"bytes_hashed\": {n}"),
                    &format!("\"bytes_hashed\": {}", n + 1),
                );
                assert_ne!(edited, t);
                std::fs::write(d.join("summary.json"), edited).unwrap();
            },
            "summary.json: SHA-256",
            "bytes_hashed",
        ),
        (
            "exit-status",
            |d| {
                let t = std::fs::read_to_string(d.join("summary.json")).unwrap();
                let edited = t.replace("\"exit_status\": 1", "\"exit_status\": 0");
                assert_ne!(edited, t);
                std::fs::write(d.join("summary.json"), edited).unwrap();
            },
            "summary.json: SHA-256",
            "gives exit status 0",
        ),
        (
            "stranger",
            |d| std::fs::write(d.join("notes.txt"), b"added later").unwrap(),
            "did not write there: notes.txt",
            "",
        ),
        (
            "manifest",
            |d| std::fs::remove_file(d.join("manifest.sha256")).unwrap(),
            "manifest.sha256",
            "",
        ),
    ];
    for (name, edit, with_manifest, with_new_manifest) in edits {
        let d = tmp.path().join(format!("t-{name}"));
        copy_case(&good, &d);
        edit(&d);
        verify_fails(&d, with_manifest);
        // A forger who also rewrites the manifest is caught by the content checks.
        if !with_new_manifest.is_empty() {
            remanifest(&d);
            verify_fails(&d, with_new_manifest);
        }
    }
}

#[test]
fn file_growing_while_read_is_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let path = ev.join("growing.log");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(400 << 20)
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_all(&[b'a'; 4096]).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let s = scan(&ev, &tmp.path().join("case"), &["--threads", "1"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(s.code, 0, "{}", s.stderr);
    let r = s.row("/growing.log");
    assert_eq!(r["verdict"], "unmatched");
    assert!(
        r["note"].contains("changed while being read"),
        "{}",
        r["note"]
    );
    assert!(
        !r["md5"].is_empty(),
        "digest of the bytes read is still reported"
    );
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"changed\""));
}

#[test]
fn file_cut_short_while_mapped_is_marked_and_the_scan_goes_on() {
    // Large files are hashed through memory maps; a mapped file that shrinks
    // raises SIGBUS, which must not kill the scan. The file is cut short the
    // moment the scanner's memory map of it appears in /proc/PID/maps.
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let data: Vec<u8> = (0..256u32 << 20).map(|i| (i % 251) as u8).collect();
    let path = write(&ev, "a/shrinking.bin", &data);
    write(&ev, "z/after.txt", b"read after the shrinking file");
    let case = tmp.path().join("case");
    let child = Command::new(bin())
        .args([
            "scan",
            "--threads",
            "1",
            "--io",
            "ssd",
            "--quiet",
            "--output",
        ])
        .arg(&case)
        .arg(&ev)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let start = std::time::Instant::now();
    let needle = path.to_string_lossy().into_owned();
    loop {
        let now = std::fs::read_to_string(&maps).unwrap_or_default();
        if now.contains(&needle) {
            break;
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "the scanner never mapped the file"
        );
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let cut = 1 << 20;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut as u64)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "signal {:?}: {}",
        out.status.signal(),
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Scan {
        code: 0,
        stderr: String::new(),
        dir: case,
    };
    let r = s.row("/a/shrinking.bin");
    assert_eq!(r["verdict"], "unmatched");
    assert!(
        r["note"].contains("changed while being read"),
        "{}",
        r["note"]
    );
    // The digest is of what the file holds now, read again, not of zero pages.
    assert_eq!(r["md5"], md5_hex(&data[..cut]));
    assert_eq!(r["size"], cut.to_string());
    assert_eq!(s.row("/z/after.txt")["verdict"], "unmatched");
}

#[test]
fn file_deleted_between_walk_and_read_is_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    // Hashed first (path order, one thread): gives the test time to delete the victim.
    // It starts like a JPEG, so it is not put back as a large file of no interest.
    let mut large = std::fs::File::create(ev.join("a-large.img")).unwrap();
    large.write_all(&[0xff, 0xd8, 0xff, 0xe0]).unwrap();
    large.set_len(1 << 30).unwrap();
    write(&ev, "b-victim.txt", b"about to vanish");
    let case = tmp.path().join("case");
    let child = Command::new(bin())
        .args(["scan", "--threads", "1", "--output"])
        .arg(&case)
        .arg(&ev)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let audit = std::fs::read_to_string(case.join("audit.jsonl")).unwrap_or_default();
        if audit.contains("\"event\":\"walk\"") {
            break;
        }
        assert!(start.elapsed().as_secs() < 30, "walk never ended");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::fs::remove_file(ev.join("b-victim.txt")).unwrap();
    let out = child.wait_with_output().unwrap();
    let s = Scan {
        code: out.status.code().unwrap(),
        stderr: String::new(),
        dir: case,
    };
    assert_eq!(s.code, 3);
    let r = s.row("/b-victim.txt");
    assert_eq!(r["verdict"], "unreadable");
    assert!(
        r["note"].contains("vanished between the walk and the read"),
        "{}",
        r["note"]
    );
}

#[test]
fn full_output_disk_stops_with_exit_2_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let out_mnt = tmp.path().join("out");
    let Some(_m) = tmpfs(&out_mnt, "size=96k") else {
        return skip(
            "full_output_disk_stops_with_exit_2_and_resumes",
            "needs root to mount tmpfs",
        );
    };
    let ev = tmp.path().join("ev");
    for i in 0..2000 {
        write(
            &ev,
            format!(
                "a-fairly-long-directory-name-{}/file-with-a-long-name-{i:05}.dat",
                i % 20
            ),
            format!("{i}").as_bytes(),
        );
    }
    let reference = scan(&ev, &tmp.path().join("reference"), &[]);
    assert_eq!(reference.code, 0);
    let case = out_mnt.join("case");
    let s = scan(&ev, &case, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(s.stderr.contains("No space left on device"), "{}", s.stderr);
    assert!(s.stderr.contains("--resume"), "{}", s.stderr);
    sh(&format!(
        "mount -o remount,size=16m '{}'",
        out_mnt.display()
    ));
    let s = scan(&ev, &case, &["--resume"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(
        read(&case, "report.csv"),
        read(&reference.dir, "report.csv")
    );
    verify_ok(&case);
}

#[test]
fn hostile_names_never_reach_the_terminal_raw() {
    let tmp = tempfile::tempdir().unwrap();
    // An error message that quotes a hostile file name (not a terminal).
    let bad = tmp.path().join("set\x1b[2J\x1b]0;pwned\x07.txt");
    std::fs::write(&bad, "not a digest\n").unwrap();
    let ev = tmp.path().join("ev");
    let name = "\x1b[2J\x1b[31mALL CLEAR\x1b[0m.jpg";
    write(&ev, name, b"evil");
    let s = scan(
        &ev,
        &tmp.path().join("c1"),
        &["--hashset", bad.to_str().unwrap()],
    );
    assert_eq!(s.code, 2);
    assert!(
        !s.stderr.contains('\x1b') && !s.stderr.contains('\x07'),
        "{:?}",
        s.stderr
    );
    assert!(s.stderr.contains("\\u{1b}[2J"), "{:?}", s.stderr);

    // On a terminal (through `script`), the hit line shows the name escaped.
    if !have("script") {
        return skip(
            "hostile_names_never_reach_the_terminal_raw (terminal part)",
            "no script(1)",
        );
    }
    let set = tmp.path().join("hit.txt");
    std::fs::write(&set, format!("{}\n", md5_hex(b"evil"))).unwrap();
    let cmd = format!(
        "'{}' scan '{}' --output '{}' --hashset '{}'",
        bin().display(),
        ev.display(),
        tmp.path().join("c2").display(),
        set.display()
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ALERT"), "{text:?}");
    assert!(text.contains("\\u{1b}[31mALL CLEAR"), "{text:?}");
    assert!(
        !text.contains("\x1b[31mALL CLEAR"),
        "raw escape sequence reached the terminal"
    );
}
