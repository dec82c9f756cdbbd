//! Integration tests: the built binary scans trees the tests create, and the
//! tests read `report.csv` back with a CSV reader.

mod util;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use util::*;

/// A tree with every awkward kind of entry the walker must account for.
fn hostile_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |rel: &[u8], data: Vec<u8>, shown: &str| {
        write(root, rel, &data);
        files.push((shown.to_string(), data));
    };
    add(b"a/b/c/d/deep.txt", b"nested".to_vec(), "/a/b/c/d/deep.txt");
    add(b"empty.bin", Vec::new(), "/empty.bin");
    let big: Vec<u8> = (0..(1u32 << 20) + 17)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    add(b"big.bin", big, "/big.bin");
    add(b".hidden", b"hidden file".to_vec(), "/.hidden");
    add(
        b".secret/inner.txt",
        b"in a hidden dir".to_vec(),
        "/.secret/inner.txt",
    );
    add(
        b".gitignore",
        b"ignored.txt\n*.log\nskipdir/\n".to_vec(),
        "/.gitignore",
    );
    add(b".ignore", b"*\n".to_vec(), "/.ignore");
    add(
        b"ignored.txt",
        b"named by .gitignore".to_vec(),
        "/ignored.txt",
    );
    add(b"x.log", b"matched by a glob".to_vec(), "/x.log");
    add(b"skipdir/f", b"in an ignored dir".to_vec(), "/skipdir/f");
    add(
        b"comma, \"quoted\".txt",
        b"c".to_vec(),
        "/comma, \"quoted\".txt",
    );
    add(b"new\nline\r.txt", b"n".to_vec(), "/new\nline\r.txt");
    add(b"=HYPERLINK(1).txt", b"f".to_vec(), "/=HYPERLINK(1).txt");
    add(b"bad\xff\xfe.bin", b"raw".to_vec(), "/bad\\xff\\xfe.bin");
    add(b"back\\slash", b"b".to_vec(), "/back\\\\slash");
    add("ünïcödé.jpg".as_bytes(), b"u".to_vec(), "/ünïcödé.jpg");
    let long_dir = vec!["d".repeat(200); 15].join("/");
    let long = format!("{long_dir}/long.txt");
    add(long.as_bytes(), b"long path".to_vec(), &format!("/{long}"));
    files
}

#[test]
fn hostile_tree_every_entry_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("evidence");
    let files = hostile_tree(&ev);
    // Special files: never opened, always reported.
    let fifo = ev.join("pipe");
    sh(&format!("mkfifo '{}'", fifo.display()));
    let _sock = std::os::unix::net::UnixListener::bind(ev.join("sock")).unwrap();
    std::os::unix::fs::symlink("does/not/exist", ev.join("dangling")).unwrap();
    std::fs::create_dir_all(ev.join("loop1")).unwrap();
    std::os::unix::fs::symlink(".", ev.join("loop1/self")).unwrap();
    std::os::unix::fs::symlink("..", ev.join("loop1/up")).unwrap();
    std::os::unix::fs::symlink("loop2", ev.join("loop2")).unwrap();

    let case = tmp.path().join("case");
    // This tree is on a writable mount: links' targets are read only when asked.
    let s = scan(&ev, &case, &["--read-link-targets"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    // Off a terminal, stderr carries only the I/O decision and warnings (a
    // pipeline's log): here, that the evidence is mounted read-write.
    let lines: Vec<&str> = s.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", s.stderr);
    assert!(
        lines[0].starts_with("hashsweep: warning: the evidence (")
            && lines[0].contains("is mounted read-write"),
        "{}",
        s.stderr
    );
    assert!(
        lines[1].starts_with("hashsweep: I/O policy "),
        "{}",
        s.stderr
    );
    assert_eq!(
        s.summary()["warnings"].as_array().map(Vec::len),
        Some(1),
        "the summary records the warning"
    );
    let rows = s.rows();

    for (path, data) in &files {
        let r = s.row(path);
        assert_eq!(r["kind"], "file", "{path}");
        assert_eq!(r["verdict"], "unmatched", "{path}");
        assert_eq!(r["size"], data.len().to_string(), "{path}");
        assert_eq!(r["md5"], md5_hex(data), "{path}");
        assert_eq!(r["sha1"], sha1_hex(data), "{path}");
        assert_eq!(r["sha256"], "", "{path}");
        assert!(
            r["modified"].ends_with('Z') && r["modified"].len() == 30,
            "{}",
            r["modified"]
        );
    }
    let special = [
        ("/pipe", "fifo", "named pipe"),
        ("/sock", "socket", "socket"),
        ("/dangling", "symlink", "symbolic link to does/not/exist"),
        ("/loop1/self", "symlink", "symbolic link to ."),
        ("/loop1/up", "symlink", "symbolic link to .."),
        ("/loop2", "symlink", "symbolic link to loop2"),
    ];
    for (path, kind, note) in special {
        let r = s.row(path);
        assert_eq!(
            (r["kind"].as_str(), r["verdict"].as_str()),
            (kind, "skipped"),
            "{path}"
        );
        assert!(r["note"].starts_with(note), "{path}: {}", r["note"]);
        assert_eq!(r["md5"], "", "{path}");
    }
    assert_eq!(
        rows.len(),
        files.len() + special.len(),
        "no extra or missing rows"
    );

    // Sorted by path, byte-wise; paths unescape to the real names.
    let paths: Vec<&String> = rows.iter().map(|r| &r["path"]).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let raw = hashsweep::pathfmt::unescape("/bad\\xff\\xfe.bin").unwrap();
    assert!(ev.join(std::ffi::OsStr::from_bytes(&raw[1..])).exists());

    // The formula-looking name is still a path starting with '/'.
    let text = std::fs::read_to_string(case.join("report.csv")).unwrap();
    for line in text.split("\r\n").skip(1) {
        for bad in ["=", "+", "-", "@"] {
            assert!(
                !line.starts_with(bad) && !line.contains(&format!(",{bad}")),
                "{line:?}"
            );
        }
    }
    assert!(s.hits().is_empty());
    let summary = s.summary();
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["totals"]["rows"], rows.len());
    assert_eq!(summary["totals"]["empty_files"], 1);
    assert_eq!(summary["verdicts"]["skipped"], special.len());
    assert_eq!(summary["exit_status"], 0);
    sh(&format!(
        "cd '{}' && sha256sum -c --quiet manifest.sha256",
        case.display()
    ));
}

/// A set with alert, known-good and conflicting entries, in three formats.
#[test]
fn verdicts_hits_and_exit_status() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "Users/x/a.jpg", b"alert by md5");
    write(&ev, "Users/x/b.jpg", b"alert by sha1 and size");
    write(&ev, "Windows/k.dll", b"known good");
    write(&ev, "both.bin", b"known good and alert");
    write(&ev, "collide.bin", b"md5 in set, sha1 contradicts");
    write(&ev, "other.txt", b"nothing");
    write(&ev, "empty", b"");
    let sets = tmp.path().join("sets");
    std::fs::create_dir_all(&sets).unwrap();
    std::fs::write(
        sets.join("alerts.md5"),
        format!(
            "# alert list\n{}  a.jpg\n{} *both.bin\nd41d8cd98f00b204e9800998ecf8427e  empty\n",
            md5_hex(b"alert by md5"),
            md5_hex(b"known good and alert")
        ),
    )
    .unwrap();
    std::fs::write(
        sets.join("vic.hashdeep"),
        format!(
            "%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,filename\n{},{},{},b.jpg\n{},{},{},c.bin\n",
            22,
            md5_hex(b"something else"),
            sha1_hex(b"alert by sha1 and size"),
            28,
            md5_hex(b"md5 in set, sha1 contradicts"),
            sha1_hex(b"not the same file")
        ),
    )
    .unwrap();
    std::fs::write(
        sets.join("nsrl.txt"),
        format!(
            "SHA-1\n{}\n{}\n",
            sha1_hex(b"known good").to_uppercase(),
            sha1_hex(b"known good and alert")
        ),
    )
    .unwrap();
    let arg = |n: &str| sets.join(n).display().to_string();
    let (a, v, n) = (arg("alerts.md5"), arg("vic.hashdeep"), arg("nsrl.txt"));
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &[
            "--hashset",
            &a,
            "--hashset",
            &format!("VIC={v}"),
            "--known-good",
            &n,
        ],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let r = s.row("/Users/x/a.jpg");
    assert_eq!(
        (r["verdict"].as_str(), r["hashsets"].as_str()),
        ("alert", "alerts")
    );
    assert_eq!(
        (r["category"].as_str(), r["note"].as_str()),
        ("uncategorised", "matched on md5")
    );
    let r = s.row("/Users/x/b.jpg");
    // The set's MD5 for b.jpg differs from the file's: that contradicts the SHA-1 match.
    assert_eq!(r["verdict"], "conflict");
    assert!(
        r["note"].contains("set VIC: entry matching sha1 says md5"),
        "{}",
        r["note"]
    );
    assert_eq!(s.row("/Windows/k.dll")["verdict"], "known-good");
    assert_eq!(s.row("/Windows/k.dll")["hashsets"], "nsrl");
    let r = s.row("/both.bin");
    assert_eq!(
        (r["verdict"].as_str(), r["hashsets"].as_str()),
        ("alert", "alerts;nsrl")
    );
    let r = s.row("/collide.bin");
    assert_eq!(r["verdict"], "conflict");
    assert!(r["note"].contains("sha1"), "{}", r["note"]);
    assert_eq!(s.row("/other.txt")["verdict"], "unmatched");
    let r = s.row("/empty");
    assert_eq!(
        (r["verdict"].as_str(), r["hashsets"].as_str()),
        ("unmatched", "")
    );

    // hits.csv holds exactly the alert and conflict rows of report.csv, in order.
    let expected: Vec<Row> = s
        .rows()
        .into_iter()
        .filter(|r| r["verdict"] == "alert" || r["verdict"] == "conflict")
        .collect();
    assert_eq!(s.hits(), expected);
    assert_eq!(expected.len(), 4);
    let sum = s.summary();
    assert_eq!(sum["verdicts"]["alert"], 2);
    assert_eq!(sum["verdicts"]["conflict"], 2);
    assert_eq!(sum["verdicts"]["known-good"], 1);
    assert_eq!(sum["hashsets"][0]["hits"], 2);
    assert_eq!(sum["hashsets"][1]["name"], "VIC");
    assert_eq!(sum["hashsets"][1]["hits"], 2);
    assert_eq!(sum["hashsets"][2]["role"], "known-good");
    assert_eq!(sum["categories"]["uncategorised"], 2);
    assert_eq!(sum["totals"]["empty_files"], 1);

    // The audit header records every set with its digest and its dropped empty-file entry.
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(audit.lines().next().unwrap()).unwrap();
    assert_eq!(header["event"], "header");
    assert_eq!(
        header["hashsets"][0]["counts"]["empty_file_digests_dropped"],
        1
    );
    assert_eq!(header["hashsets"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(header["hashsets"][2]["format"], "plain");

    // Without the alert sets the same tree has no alert: exit 0.
    let s = scan(&ev, &tmp.path().join("case2"), &["--known-good", &n]);
    assert_eq!(s.code, 0, "{}", s.stderr);
}

#[test]
fn sha256_on_request_or_when_a_set_needs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "f", b"abc");
    let s = scan(&ev, &tmp.path().join("c1"), &["--sha256"]);
    assert_eq!(
        s.row("/f")["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let set = tmp.path().join("s256.txt");
    std::fs::write(
        &set,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
    )
    .unwrap();
    let s = scan(
        &ev,
        &tmp.path().join("c2"),
        &["--hashset", set.to_str().unwrap()],
    );
    assert_eq!(s.code, 1);
    let r = s.row("/f");
    assert_eq!(
        (r["verdict"].as_str(), r["note"].as_str()),
        ("alert", "matched on sha256")
    );
}

#[test]
fn malformed_set_is_a_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "f", b"x");
    let bad = tmp.path().join("bad.md5");
    std::fs::write(
        &bad,
        "900150983cd24fb0d6963f7d28e17f72  ok\n# fine\nhello world!\n",
    )
    .unwrap();
    let case = tmp.path().join("case");
    let s = scan(&ev, &case, &["--hashset", bad.to_str().unwrap()]);
    assert_eq!(s.code, 2);
    assert!(
        s.stderr.contains(&format!("{}, line 3", bad.display())),
        "{}",
        s.stderr
    );
    assert!(s.stderr.contains("not a hex digest"), "{}", s.stderr);
    assert!(!case.exists(), "no case folder after a usage error");

    let hd = tmp.path().join("bad.hashdeep");
    std::fs::write(&hd, "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n3,xyz,/a\n").unwrap();
    let s = scan(&ev, &case, &["--known-good", hd.to_str().unwrap()]);
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("line 3"), "{}", s.stderr);
    assert!(!case.exists());

    let s = scan(&ev, &case, &["--hashset", "/no/such/set.txt"]);
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("/no/such/set.txt"), "{}", s.stderr);
}

#[test]
fn refuses_case_folder_inside_evidence_or_already_used() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "f", b"x");
    let inside = ev.join("sub/case");
    let s = scan(&ev, &inside, &[]);
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("inside the evidence"), "{}", s.stderr);
    assert!(!ev.join("sub").exists(), "nothing written in the evidence");
    // Through a relative path with `..` and a symlink to the evidence as well.
    std::os::unix::fs::symlink(&ev, tmp.path().join("link")).unwrap();
    let s = scan(&ev, &tmp.path().join("link/new"), &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);

    let case = tmp.path().join("case");
    assert_eq!(scan(&ev, &case, &[]).code, 0);
    let before = std::fs::read(case.join("report.csv")).unwrap();
    let s = scan(&ev, &case, &[]);
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("already holds a case"), "{}", s.stderr);
    assert_eq!(std::fs::read(case.join("report.csv")).unwrap(), before);

    let s = scan(&ev.join("f"), &tmp.path().join("c3"), &[]);
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("not a directory"), "{}", s.stderr);
}

/// Unreadable files and directories become rows; the scan goes on and exits 3.
/// As root, permissions do not stop reads, so the scan runs as `nobody`.
#[test]
fn unreadable_entries_get_rows_and_exit_3() {
    if is_root() && !have("setpriv") {
        return skip(
            "unreadable_entries_get_rows_and_exit_3",
            "root without setpriv",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    sh(&format!("chmod 755 '{}'", tmp.path().display()));
    let ev = tmp.path().join("ev");
    write(&ev, "ok.txt", b"fine");
    write(&ev, "locked.txt", b"secret");
    write(&ev, "closed/inside.txt", b"hidden");
    sh(&format!(
        "chmod -R a+rX '{ev}' && chmod 000 '{ev}/locked.txt' '{ev}/closed' && mkdir -m 777 '{out}'",
        ev = ev.display(),
        out = tmp.path().join("out").display()
    ));
    let case = tmp.path().join("out/case");
    let mut cmd = if is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin());
        c
    } else {
        std::process::Command::new(bin())
    };
    let out = cmd
        .arg("scan")
        .arg(&ev)
        .arg("--output")
        .arg(&case)
        .output()
        .unwrap();
    let s = Scan {
        code: out.status.code().unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: case,
    };
    assert_eq!(s.code, 3, "{}", s.stderr);
    let r = s.row("/locked.txt");
    assert_eq!(
        (r["kind"].as_str(), r["verdict"].as_str()),
        ("file", "unreadable")
    );
    assert!(r["note"].contains("Permission denied"), "{}", r["note"]);
    let r = s.row("/closed");
    assert_eq!(
        (r["kind"].as_str(), r["verdict"].as_str()),
        ("directory", "unreadable")
    );
    assert!(
        r["note"].starts_with("cannot list directory"),
        "{}",
        r["note"]
    );
    assert_eq!(s.row("/ok.txt")["verdict"], "unmatched");
    // What /closed holds is unknown: the scan is not complete.
    assert_eq!(s.summary()["status"], "incomplete");
    assert_eq!(s.summary()["complete"], false);
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"event\":\"unreadable\""))
            .count(),
        2
    );
}

/// A directory deeper than PATH_MAX gets an unreadable row; the rest is scanned.
#[test]
fn path_beyond_path_max_is_reported_not_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "top.txt", b"top");
    // Build the chain relative to directory descriptors: full paths cannot reach it.
    let name = std::ffi::CString::new("n".repeat(250)).unwrap();
    let top = std::ffi::CString::new(ev.as_os_str().as_bytes()).unwrap();
    // SAFETY: plain system calls on valid NUL-terminated strings and descriptors we own.
    unsafe {
        let mut fd = libc::open(top.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
        assert!(fd >= 0);
        for _ in 0..20 {
            assert_eq!(libc::mkdirat(fd, name.as_ptr(), 0o755), 0);
            let next = libc::openat(fd, name.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            assert!(next >= 0);
            libc::close(fd);
            fd = next;
        }
        let file = std::ffi::CString::new("deep.txt").unwrap();
        let f = libc::openat(fd, file.as_ptr(), libc::O_WRONLY | libc::O_CREAT, 0o644);
        assert!(f >= 0);
        libc::close(f);
        libc::close(fd);
    }
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 3, "{}", s.stderr);
    let rows = s.rows();
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| r["verdict"] == "unreadable")
        .collect();
    assert_eq!(bad.len(), 1, "{rows:?}");
    assert_eq!(bad[0]["kind"], "directory");
    assert!(bad[0]["note"].contains("too long"), "{}", bad[0]["note"]);
    assert_eq!(s.summary()["status"], "incomplete");
    assert_eq!(s.row("/top.txt")["verdict"], "unmatched");
}

#[test]
fn same_report_bytes_twice_and_single_threaded() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    for i in 0..600u32 {
        let data: Vec<u8> = (0..(i * 37) % 9000).map(|j| (j ^ i) as u8).collect();
        write(&ev, format!("d{}/e{}/f{i}.bin", i % 7, i % 3), &data);
    }
    let set = tmp.path().join("s.txt");
    std::fs::write(
        &set,
        format!(
            "{}\n",
            md5_hex(&(0..37u32 * 5).map(|j| (j ^ 5) as u8).collect::<Vec<_>>())
        ),
    )
    .unwrap();
    let set = set.to_str().unwrap();
    let a = scan(&ev, &tmp.path().join("a"), &["--hashset", set]);
    let b = scan(&ev, &tmp.path().join("b"), &["--hashset", set]);
    let c = scan(
        &ev,
        &tmp.path().join("c"),
        &["--hashset", set, "--threads", "1"],
    );
    assert_eq!(a.code, 1);
    let read = |s: &Scan, f: &str| std::fs::read(s.dir.join(f)).unwrap();
    assert_eq!(read(&a, "report.csv"), read(&b, "report.csv"));
    assert_eq!(read(&a, "report.csv"), read(&c, "report.csv"));
    assert_eq!(read(&a, "hits.csv"), read(&c, "hits.csv"));
    assert_eq!(a.rows().len(), 600);
}

/// The demo scan of README.md: three stand-in alerts, three known-good files.
#[test]
fn demo_scan_finds_the_planted_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let set = |n: &str| root.join("hashsets").join(n).display().to_string();
    let s = scan(
        &root.join("demo/evidence"),
        &tmp.path().join("case"),
        &[
            "--hashset",
            &set("demo-alert-list.md5"),
            "--hashset",
            &set("demo-alert-sized.hashdeep"),
            "--known-good",
            &set("demo-known-good.hashdeep"),
        ],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let sum = s.summary();
    assert_eq!(sum["verdicts"]["alert"], 3);
    assert_eq!(sum["verdicts"]["known-good"], 3);
    assert_eq!(
        s.row("/Users/alice/Pictures/.thumbs/c0ffee.dat")["verdict"],
        "alert"
    );
    assert_eq!(
        s.row("/Users/alice/Documents/empty.txt")["verdict"],
        "unmatched"
    );
}

/// Ctrl-C stops the scan with exit 130 and a consistent case folder marked incomplete.
#[test]
fn interrupt_writes_an_incomplete_case_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    // Sparse files: gigabytes to hash, no disk space used.
    for i in 0..48 {
        let f = std::fs::File::create(ev.join(format!("sparse{i:02}.img"))).unwrap();
        f.set_len(64 << 20).unwrap();
    }
    let case = tmp.path().join("case");
    let mut child = std::process::Command::new(bin())
        .args(["scan", "--threads", "1", "--output"])
        .arg(&case)
        .arg(&ev)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The audit log exists only after the signal handlers are in place.
    let start = std::time::Instant::now();
    while !case.join("audit.jsonl").exists() {
        assert!(start.elapsed().as_secs() < 30, "scan did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let s = Scan {
        code: 130,
        stderr: String::new(),
        dir: case.clone(),
    };
    let sum = s.summary();
    assert_eq!(sum["status"], "interrupted");
    assert_eq!(sum["complete"], false);
    let rows = s.rows().len() as u64;
    assert_eq!(sum["totals"]["rows"], rows);
    assert!(rows < 48, "stopped early: {rows} rows");
    assert_eq!(sum["totals"]["entries_found"], 48);
    sh(&format!(
        "cd '{}' && sha256sum -c --quiet manifest.sha256",
        case.display()
    ));
}
