//! The hardening issue, item by item: two exhibits are never mixed, the case
//! folder is never shared or placed in the evidence, the evidence's access times
//! are left alone or the loss reported, corrupt or odd hash sets are refused with
//! their place named, signals and never-ending files are handled inside the read,
//! and messages and exit statuses say what happened. Each test names its item.

mod util;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use util::*;

/// `count` small files under `root`, every `alert_every`-th listed in the
/// returned md5sum text.
fn tree(root: &Path, count: usize, alert_every: usize) -> String {
    let mut set = String::new();
    for i in 0..count {
        let data = format!("file {i} of the tree {}", "y".repeat(i % 37));
        write(root, format!("d{}/f{i:04}.txt", i % 7), data.as_bytes());
        if i % alert_every == 3 {
            set.push_str(&format!("{}  f{i:04}.txt\n", md5_hex(data.as_bytes())));
        }
    }
    set
}

fn set_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn killed_at(ev: &Path, case: &Path, point: &str, extra: &[&str]) {
    let out = Command::new(bin())
        .arg("scan")
        .arg(ev)
        .arg("--output")
        .arg(case)
        .args(extra)
        .env("HASHSWEEP_FAILPOINT", point)
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{point}");
}

fn verify(dir: &Path) -> Output {
    run(&[OsStr::new("verify"), dir.as_os_str()])
}

use std::process::Output;

/// A tree holding one sparse file of `gib` GiB: reading it takes seconds.
fn slow_tree(root: &Path, gib: u64) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("small.txt"), b"small").unwrap();
    std::fs::File::create(root.join("big.bin"))
        .unwrap()
        .set_len(gib << 30)
        .unwrap();
}

fn spawn_scan(ev: &Path, case: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(bin())
        .arg("scan")
        .arg(ev)
        .arg("--output")
        .arg(case)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: sending a signal to a child process.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

/// Waits until the scan into `case` is reading files (its read plan is logged).
fn reading(case: &Path) -> bool {
    wait_until(30.0, || {
        std::fs::read_to_string(case.join("audit.jsonl"))
            .is_ok_and(|a| a.contains("\"event\":\"read-plan\""))
    })
}

// 1. A resume refuses another disk mounted at the same place.
#[test]
fn resume_refuses_another_filesystem_at_the_same_mount_point() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    let set = set_file(tmp.path(), "set.md5", &tree(&content, 300, 50));
    let set = set.to_str().unwrap();
    let mnt = tmp.path().join("mnt");
    let image_a = tmp.path().join("a.img");
    let Some(a) = mount_ext4(&content, &image_a, &mnt, "ro,nodev") else {
        return skip(
            "resume_refuses_another_filesystem_at_the_same_mount_point",
            "needs root and mkfs.ext4",
        );
    };
    let case = tmp.path().join("case");
    killed_at(&mnt, &case, "rows=40", &["--hashset", set]);
    drop(a);
    // Image B: the same files, another filesystem, mounted at the same place
    // (after image A, probably through the same loop device).
    let b = mount_ext4(&content, &tmp.path().join("b.img"), &mnt, "ro,nodev").unwrap();
    let r = scan(&mnt, &case, &["--hashset", set, "--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is not the one the interrupted scan read")
            && r.stderr.contains("filesystem UUID"),
        "{}",
        r.stderr
    );
    assert!(!case.join("report.csv").exists());
    drop(b);
    // Image A again: the same evidence, so the resume goes through.
    sh(&format!(
        "mount -o loop,ro,nodev '{}' '{}'",
        image_a.display(),
        mnt.display()
    ));
    let _a = Mounted(mnt.clone());
    let r = scan(&mnt, &case, &["--hashset", set, "--resume"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.summary()["totals"]["rows"], 300);
    assert_eq!(verify(&case).status.code(), Some(0));
}

// 2. Two scans into one case folder: the second is told the folder is in use.
#[test]
fn a_case_folder_is_held_by_one_scan_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    slow_tree(&ev, 32);
    let case = tmp.path().join("case");
    // Two scans started together into a new folder: exactly one gets it.
    let mut a = spawn_scan(&ev, &case, &["--quiet"]);
    let mut b = spawn_scan(&ev, &case, &["--quiet"]);
    let _guards = (KillOnDrop(a.id()), KillOnDrop(b.id()));
    let first_out = wait_until(20.0, || {
        a.try_wait().unwrap().is_some() || b.try_wait().unwrap().is_some()
    });
    assert!(first_out, "neither scan gave up the shared folder");
    let (mut loser, mut winner) = if a.try_wait().unwrap().is_some() {
        (a, b)
    } else {
        (b, a)
    };
    let lost = wait_or_kill(&mut loser, 5.0, "losing scan");
    let text = String::from_utf8_lossy(&lost.stderr);
    assert_eq!(lost.status.code(), Some(2), "{text}");
    assert!(text.contains("is in use by another hashsweep"), "{text}");
    assert!(!text.contains("--resume"), "{text}");
    // While the winner writes the folder, a third scan and verify are refused too.
    assert!(reading(&case));
    let third = scan(&ev, &case, &[]);
    assert_eq!(third.code, 2);
    assert!(third.stderr.contains("in use"), "{}", third.stderr);
    let v = verify(&case);
    assert_eq!(v.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&v.stderr).contains("in use"));
    signal(&winner, libc::SIGINT);
    let done = wait_or_kill(&mut winner, 20.0, "interrupted scan");
    assert_eq!(done.status.code(), Some(130));
    // Free again: a new scan is now told the folder holds a case.
    let after = scan(&ev, &case, &[]);
    assert_eq!(after.code, 2);
    assert!(
        after.stderr.contains("already holds a case"),
        "{}",
        after.stderr
    );
}

// 3. A case folder inside the evidence is refused by device and inode.
#[test]
fn a_case_folder_inside_the_evidence_is_refused_however_it_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "sub/a.txt", b"a");
    let through_dotdot = tmp.path().join("missing/../ev/case");
    let s = scan(&ev, &through_dotdot, &[]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(s.stderr.contains("inside the evidence"), "{}", s.stderr);
    assert!(!ev.join("case").exists(), "nothing written in the evidence");
    assert!(
        !tmp.path().join("missing").exists(),
        "nothing created at all"
    );

    if !is_root() {
        return skip(
            "a_case_folder_inside_the_evidence_is_refused_however_it_is_named (bind mounts)",
            "needs root",
        );
    }
    for (name, source) in [("bind-root", ev.clone()), ("bind-sub", ev.join("sub"))] {
        let at = tmp.path().join(name);
        std::fs::create_dir(&at).unwrap();
        sh(&format!(
            "mount --bind '{}' '{}'",
            source.display(),
            at.display()
        ));
        let _m = Mounted(at.clone());
        let s = scan(&ev, &at.join("case"), &[]);
        assert_eq!(s.code, 2, "{name}: {}", s.stderr);
        assert!(
            s.stderr.contains("inside the evidence"),
            "{name}: {}",
            s.stderr
        );
        assert!(!source.join("case").exists(), "{name}");
    }
}

/// (atime seconds, atime nanoseconds) of a link itself.
fn link_atime(p: &Path) -> (i64, i64) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.atime(), m.atime_nsec())
}

// 4. Symbolic links' access times are left alone on a mount that records them.
#[test]
fn link_targets_are_not_read_where_that_changes_the_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let Some(_m) = tmpfs(&ev, "strictatime,size=4m") else {
        return skip(
            "link_targets_are_not_read_where_that_changes_the_evidence",
            "needs root to mount tmpfs",
        );
    };
    write(&ev, "a.txt", b"a");
    let links: Vec<PathBuf> = (0..5)
        .map(|i| {
            let p = ev.join(format!("link{i}"));
            std::os::unix::fs::symlink(format!("target/{i}"), &p).unwrap();
            p
        })
        .collect();
    let control = ev.join("control");
    std::os::unix::fs::symlink("x", &control).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let before: Vec<_> = links.iter().map(|l| link_atime(l)).collect();
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let after: Vec<_> = links.iter().map(|l| link_atime(l)).collect();
    assert_eq!(before, after, "the scan changed a link's access time");
    let r = s.row("/link0");
    assert!(r["note"].contains("target not read"), "{}", r["note"]);
    let e = s.audit_event("access-times");
    assert_eq!(e["link_targets_not_read"], 6);
    // The mount does update a link's access time when its target is read.
    let c = link_atime(&control);
    std::thread::sleep(std::time::Duration::from_millis(30));
    std::fs::read_link(&control).unwrap();
    assert_ne!(link_atime(&control), c, "readlink updates atime here");
    // Asked for, targets are read, and the audit log says what that cost.
    let s = scan(&ev, &tmp.path().join("case2"), &["--read-link-targets"]);
    assert_eq!(
        s.row("/link3")["note"],
        "symbolic link to target/3; not followed"
    );
    assert_eq!(
        s.audit_event("access-times")["link_targets_read_updating_access_time"],
        6
    );
}

// 4. Where O_NOATIME is refused (another user's files), the user is warned.
#[test]
fn reading_without_noatime_is_warned_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ev = tmp.path().join("ev");
    let Some(_m) = tmpfs(&ev, "strictatime,size=4m,mode=0755") else {
        return skip(
            "reading_without_noatime_is_warned_and_recorded",
            "needs root to mount tmpfs",
        );
    };
    if !have("setpriv") {
        return skip(
            "reading_without_noatime_is_warned_and_recorded",
            "needs setpriv",
        );
    }
    for i in 0..3 {
        write(&ev, format!("f{i}.txt"), b"owned by root, readable by all");
    }
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let case = out_dir.join("case");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .arg("scan")
        .arg(&ev)
        .arg("--output")
        .arg(&case)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: access times are not preserved"),
        "{stderr}"
    );
    let e = &audit_events(&case, "access-times")[0];
    assert_eq!(e["files_read_without_noatime"], 3, "{e}");
    assert_eq!(e["access_times_may_have_changed"], true);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("summary.json")).unwrap()).unwrap();
    assert!(summary["warnings"].as_array().unwrap().iter().any(|w| w
        .as_str()
        .unwrap()
        .contains("access times are not preserved")));
}

// 5. A corrupt index is a fatal error, not a silently missed alert.
#[test]
fn a_flipped_bit_in_an_index_stops_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let data = b"known material stand-in";
    write(&ev, "a.jpg", data);
    write(&ev, "b.txt", b"other");
    let set = set_file(tmp.path(), "set.md5", &format!("{}\n", md5_hex(data)));
    let hsx = tmp.path().join("set.hsx");
    let out = run(&[
        OsStr::new("hashset"),
        OsStr::new("import"),
        set.as_os_str(),
        OsStr::new("--output"),
        hsx.as_os_str(),
    ]);
    assert!(out.status.success());
    let intact = scan(
        &ev,
        &tmp.path().join("intact"),
        &["--hashset", hsx.to_str().unwrap()],
    );
    assert_eq!(intact.code, 1);

    let mut bytes = std::fs::read(&hsx).unwrap();
    let digest = hashsweep::digest::from_hex(md5_hex(data).as_bytes()).unwrap();
    let at = bytes
        .windows(16)
        .position(|w| w == digest)
        .expect("the digest is stored in the index");
    bytes[at + 5] ^= 0x10;
    std::fs::write(&hsx, &bytes).unwrap();
    let case = tmp.path().join("case");
    let s = scan(&ev, &case, &["--hashset", hsx.to_str().unwrap()]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(
        s.stderr.contains("set.hsx") && s.stderr.contains("checksum does not match"),
        "{}",
        s.stderr
    );
    assert!(
        !case.join("report.csv").exists(),
        "no report from a corrupt set"
    );
    assert_eq!(
        read_rows(&case.join("hits.csv")).len(),
        0,
        "no hit of a corrupt set stays listed"
    );
    let check = &audit_events(&case, "hashset-check")[0];
    assert_eq!(check["result"], "index checksum MISMATCH");
    assert_eq!(
        intact.audit_event("hashset-check")["result"],
        "index checksum verified"
    );
}

// 6. Lone CR line ends (old Mac files) give one record a line.
#[test]
fn lone_cr_lists_match_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let mut list = String::new();
    for i in 0..3 {
        let data = format!("picture {i}");
        write(&ev, format!("p{i}.jpg"), data.as_bytes());
        list.push_str(&format!("{}  p{i}.jpg\r", md5_hex(data.as_bytes())));
    }
    let set = set_file(tmp.path(), "mac.md5", &list);
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &["--hashset", set.to_str().unwrap()],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert_eq!(s.summary()["verdicts"]["alert"], 3);
    assert_eq!(s.summary()["hashsets"][0]["entries"], 3);
}

/// Reads a journal's rows (JSON lines).
fn journal_rows(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_journal(path: &Path, rows: &[serde_json::Value]) {
    let mut text = String::new();
    for r in rows {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

// 7. An edited journal cannot put rows into the report.
#[test]
fn an_edited_journal_is_checked_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let set = set_file(tmp.path(), "set.md5", &tree(&ev, 600, 100));
    let set = set.to_str().unwrap();
    let reference = scan(&ev, &tmp.path().join("reference"), &["--hashset", set]);
    assert_eq!(reference.code, 1);
    let case = tmp.path().join("case");
    killed_at(&ev, &case, "rows=300", &["--hashset", set]);
    let jpath = case.join("journal.jsonl");
    let mut rows = journal_rows(&jpath);
    assert!(rows.len() >= 256, "{}", rows.len());
    let unmatched: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i]["verdict"] == "unmatched")
        .collect();
    let path = |r: &serde_json::Value| r["path"].as_str().unwrap().to_string();
    // A planted alert: an unmatched row made an alert.
    let i = unmatched[0];
    let edited = path(&rows[i]);
    rows[i]["verdict"] = "alert".into();
    rows[i]["sets"] = serde_json::json!([0]);
    // A row for a file that does not exist.
    let mut invented = rows[i].clone();
    invented["path"] = "/no/such/file.jpg".into();
    rows.push(invented);
    // A row copied onto another file (its digests and times), and a row whose
    // verdict no longer matches its digests.
    let (a, b, c) = (unmatched[1], unmatched[2], unmatched[3]);
    let mut copied = rows[a].clone();
    copied["path"] = rows[b]["path"].clone();
    rows[b] = copied;
    rows[c]["sets"] = serde_json::json!([0]);
    // A tampered row, then the genuine one for the same path: the last stands.
    let d = unmatched[4];
    let genuine = rows[d].clone();
    rows[d]["digests"]["md5"] = "0".repeat(32).into();
    rows.push(genuine);
    write_journal(&jpath, &rows);

    let r = scan(&ev, &case, &["--hashset", set, "--resume"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        std::fs::read(case.join("report.csv")).unwrap(),
        std::fs::read(reference.dir.join("report.csv")).unwrap(),
        "the report is the uninterrupted scan's"
    );
    assert_eq!(r.row(&edited)["verdict"], "unmatched");
    let sum = r.summary();
    assert_eq!(sum["totals"]["rows"], sum["totals"]["entries_found"]);
    let check = r.audit_event("journal-check");
    assert_eq!(
        (check["rejected"].clone(), check["superseded"].clone()),
        (3.into(), 1.into()),
        "{check}"
    );
    let rejected = audit_events(&case, "journal-row-rejected");
    for path in ["/no/such/file.jpg", &path(&rows[b]), &path(&rows[c])] {
        assert!(
            rejected.iter().any(|e| e["path"] == path),
            "{path}: {rejected:?}"
        );
    }
    // The journal kept only what stands.
    assert!(
        !case.join("journal.jsonl").exists(),
        "removed once complete"
    );
    assert_eq!(verify(&case).status.code(), Some(0));

    // verify: a complete case has exactly one row per entry found.
    let bad = tmp.path().join("bad");
    sh(&format!("cp -a '{}' '{}'", case.display(), bad.display()));
    let text = std::fs::read_to_string(bad.join("summary.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["totals"]["entries_found"] = (600 + 1).into();
    std::fs::write(
        bad.join("summary.json"),
        serde_json::to_vec_pretty(&v).unwrap(),
    )
    .unwrap();
    sh(&format!(
        "cd '{}' && sha256sum audit.jsonl hits.csv media.csv report.csv summary.json > manifest.sha256",
        bad.display()
    ));
    let out = verify(&bad);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("exactly one row per entry"), "{text}");
}

// 8. Case, exhibit and examiner do not drift on resume.
#[test]
fn provenance_is_kept_or_a_change_refused_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    tree(&ev, 600, 1000);
    let case = tmp.path().join("case");
    killed_at(
        &ev,
        &case,
        "rows=300",
        &[
            "--case",
            "C-17",
            "--exhibit",
            "HDD-2",
            "--examiner",
            "J. Doe",
        ],
    );
    let changed = scan(&ev, &case, &["--resume", "--examiner", "Someone Else"]);
    assert_eq!(changed.code, 2, "{}", changed.stderr);
    assert!(
        changed.stderr.contains("--examiner `Someone Else` differs"),
        "{}",
        changed.stderr
    );
    let r = scan(&ev, &case, &["--resume", "--case", "C-17"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sum = r.summary();
    assert_eq!(
        (
            sum["case"].clone(),
            sum["exhibit"].clone(),
            sum["examiner"].clone()
        ),
        ("C-17".into(), "HDD-2".into(), "J. Doe".into())
    );
    let header = r.audit_event("header");
    assert_eq!(header["examiner"], "J. Doe");
}

fn import(args: &[&OsStr]) -> Output {
    let mut all = vec![OsStr::new("hashset"), OsStr::new("import")];
    all.extend_from_slice(args);
    run(&all)
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for u in text.encode_utf16() {
        out.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

// 9. A UTF-16 set with a stray byte is an error with its position.
// 21. A UTF-16BE set is read, and named as such.
#[test]
fn utf16_sets_strictly_decoded_in_both_byte_orders() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "900150983cd24fb0d6963f7d28e17f72  a.jpg\r\n\
                900150983cd24fb0d6963f7d28e17f73  b.jpg\r\n\
                900150983cd24fb0d6963f7d28e17f74  c.jpg\r\n";
    let mut bytes = utf16(text, false);
    bytes.insert(100, b'Z');
    let stray = tmp.path().join("stray.md5");
    std::fs::write(&stray, &bytes).unwrap();
    let out_path = tmp.path().join("stray.hsx");
    let out = import(&[stray.as_os_str(), OsStr::new("-o"), out_path.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 2") && err.contains("byte offset"),
        "{err}"
    );
    assert!(!out_path.exists());

    let be = tmp.path().join("be.md5");
    std::fs::write(&be, utf16(text, true)).unwrap();
    let be_out = tmp.path().join("be.hsx");
    let out = import(&[be.as_os_str(), OsStr::new("-o"), be_out.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("md5sum (UTF-16BE), 3 records"), "{stdout}");
}

// 10. A hashdeep file with odd lines before its header never panics.
#[test]
fn hashdeep_headers_out_of_place_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "abc", b"abc");
    let indented = set_file(
        tmp.path(),
        "indented.txt",
        " %%%% HASHDEEP-1.0\n%%%% size,md5,filename\n3,900150983cd24fb0d6963f7d28e17f72,/abc\n",
    );
    let s = scan(
        &ev,
        &tmp.path().join("c1"),
        &["--hashset", indented.to_str().unwrap()],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let row_first = set_file(
        tmp.path(),
        "row-first.txt",
        "%%%% HASHDEEP-1.0\n3,900150983cd24fb0d6963f7d28e17f72,/abc\n",
    );
    let s = scan(
        &ev,
        &tmp.path().join("c2"),
        &["--hashset", row_first.to_str().unwrap()],
    );
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(s.stderr.contains("row-first.txt, line 2"), "{}", s.stderr);
}

// 11. Evidence and output paths that are not UTF-8.
#[test]
fn arguments_that_are_not_utf8_work_and_are_recorded_reversibly() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join(OsStr::from_bytes(b"ev\xff"));
    write(&ev, "a.txt", b"a");
    let case = tmp.path().join(OsStr::from_bytes(b"case\xfe"));
    let out = run(&[
        OsStr::new("scan"),
        ev.as_os_str(),
        OsStr::new("--output"),
        case.as_os_str(),
        OsStr::new("--case"),
        OsStr::new("K1"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = &audit_events(&case, "header")[0];
    assert!(
        header["evidence"].as_str().unwrap().ends_with("/ev\\xff"),
        "{header}"
    );
    assert!(header["args"][4].as_str().unwrap().ends_with("/case\\xfe"));
    assert_eq!(verify(&case).status.code(), Some(0));
}

// 12. A set given as a FIFO or a pipe is read, once.
#[test]
fn sets_from_fifos_and_pipes_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let set_text = tree(&ev, 40, 10);
    let fifo = tmp.path().join("set.fifo");
    sh(&format!("mkfifo '{}'", fifo.display()));
    let writer = {
        let (fifo, text) = (fifo.clone(), set_text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text))
    };
    let mut child = spawn_scan(
        &ev,
        &tmp.path().join("c1"),
        &["--hashset", fifo.to_str().unwrap()],
    );
    let out = wait_or_kill(&mut child, 30.0, "scan with a FIFO set");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    writer.join().unwrap().unwrap();
    let s = Scan {
        code: 1,
        stderr: String::new(),
        dir: tmp.path().join("c1"),
    };
    assert_eq!(s.summary()["verdicts"]["alert"], 4);

    if have("bash") {
        let set = set_file(tmp.path(), "set.md5", &set_text);
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "exec '{}' scan '{}' --output '{}' --hashset <(cat '{}')",
                bin().display(),
                ev.display(),
                tmp.path().join("c2").display(),
                set.display()
            ))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_or_kill(&mut child, 30.0, "scan with a process-substitution set");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// 13. An endless input is refused at its first line, leaving nothing behind.
#[test]
fn importing_dev_zero_stops_at_line_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("zero.hsx");
    let mut child = Command::new(bin())
        .args(["hashset", "import", "/dev/zero", "--output"])
        .arg(&out_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_or_kill(&mut child, 15.0, "import of /dev/zero");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero, line 1: binary content"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Endless text without a line end: stopped at 1 MiB, in bounded memory.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "yes 0123456789abcdef | tr -d '\\n' | '{}' hashset import /dev/stdin --output '{}'",
            bin().display(),
            out_path.display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_or_kill(&mut child, 15.0, "import of an endless line");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1: line longer than 1 MiB"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

// 14. A signal stops the read of a huge file at once; a signal after every row
// is done leaves a complete scan.
#[test]
fn a_signal_is_noticed_inside_the_read_of_a_huge_file() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    slow_tree(&ev, 64);
    let case = tmp.path().join("case");
    let mut child = spawn_scan(&ev, &case, &[]);
    let _guard = KillOnDrop(child.id());
    assert!(reading(&case));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = Instant::now();
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(&mut child, 10.0, "scan interrupted in a 64 GiB file");
    let took = t.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(130));
    assert!(took < 5.0, "the interrupt took {took:.1} s to be noticed");
    let s = Scan {
        code: 130,
        stderr: String::new(),
        dir: case,
    };
    assert_eq!(s.summary()["status"], "interrupted");
    assert!(s.rows().iter().all(|r| r["path"] != "/big.bin"));

    let ev2 = tmp.path().join("ev2");
    tree(&ev2, 20, 1000);
    let out = Command::new(bin())
        .arg("scan")
        .arg(&ev2)
        .arg("--output")
        .arg(tmp.path().join("c2"))
        .env("HASHSWEEP_FAILPOINT", "interrupt-before-report")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "every row was done: complete");
    let s = Scan {
        code: 0,
        stderr: String::new(),
        dir: tmp.path().join("c2"),
    };
    assert_eq!(s.summary()["status"], "complete");
    assert!(!s.dir.join("journal.jsonl").exists());
}

// 14. A file that returns far more than its size is hashed as its size said.
#[test]
fn a_file_that_never_ends_is_hashed_as_its_size_said() {
    let tmp = tempfile::tempdir().unwrap();
    // Debian's python3 (where python3-fusepy installs) before any other on PATH.
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|py| {
        ["fusepy", "fuse"].iter().any(|m| {
            Command::new(py)
                .args(["-c", &format!("import {m}")])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    });
    let (true, true, Some(python)) = (is_root(), Path::new("/dev/fuse").exists(), python) else {
        return skip(
            "a_file_that_never_ends_is_hashed_as_its_size_said",
            "needs root, /dev/fuse and python3 with fusepy (Debian: python3-fusepy)",
        );
    };
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/endless_fuse.py");
    let mut fs = Command::new(python)
        .arg(&script)
        .arg(&mnt)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(10.0, || mnt.join("endless").exists()),
        "FUSE mount"
    );
    let case = tmp.path().join("case");
    let mut child = spawn_scan(&mnt, &case, &["--io", "ssd"]);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_or_kill(&mut child, 60.0, "scan of a file that never ends")
    }));
    let _ = Command::new("umount").arg("-l").arg(&mnt).status();
    let _ = fs.kill();
    let _ = fs.wait();
    let out = out.unwrap_or_else(|p| std::panic::resume_unwind(p));
    let s = Scan {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: case,
    };
    assert_eq!(s.code, 0, "{}", s.stderr);
    let r = s.row("/endless");
    let first: Vec<u8> = (0..100u8).collect();
    assert_eq!(
        (r["size"].as_str(), r["md5"].clone()),
        ("100", md5_hex(&first))
    );
    assert!(r["note"].contains("does not end"), "{}", r["note"]);
}

// 15. Absurd thread counts are refused before anything is created.
#[test]
fn absurd_thread_counts_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a", b"a");
    let case = tmp.path().join("case");
    let t = Instant::now();
    let s = scan(&ev, &case, &["--threads", "100000"]);
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(
        s.stderr.contains("--threads 100000 is more than"),
        "{}",
        s.stderr
    );
    assert!(t.elapsed().as_secs_f64() < 10.0);
    assert!(!case.exists());
}

// 16. verify reads only the case folder's own files.
#[test]
fn verify_reads_nothing_but_case_files() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a", b"a");
    let case = tmp.path().join("case");
    assert_eq!(scan(&ev, &case, &[]).code, 0);
    let manifest = case.join("manifest.sha256");
    let good = std::fs::read_to_string(&manifest).unwrap();
    for bad in ["/dev/zero", "../secret", "report.csv.extra"] {
        std::fs::write(&manifest, format!("{}{}  {bad}\n", good, "0".repeat(64))).unwrap();
        let mut child = Command::new(bin())
            .arg("verify")
            .arg(&case)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_or_kill(&mut child, 10.0, "verify");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("not a file of a case folder"),
            "{bad}: {text}"
        );
    }
    std::fs::write(&manifest, &good).unwrap();
    // Through a link to the folder, verify works.
    let link = tmp.path().join("latest");
    std::os::unix::fs::symlink(&case, &link).unwrap();
    assert_eq!(verify(&link).status.code(), Some(0));
    // Case files replaced by a link to /dev/zero, or by a FIFO: refused, at once.
    for file in [
        "summary.json",
        "report.csv",
        "audit.jsonl",
        "manifest.sha256",
    ] {
        let bad = tmp.path().join(format!("bad-{file}"));
        sh(&format!("cp -a '{}' '{}'", case.display(), bad.display()));
        std::fs::remove_file(bad.join(file)).unwrap();
        if file == "report.csv" {
            sh(&format!("mkfifo '{}'", bad.join(file).display()));
        } else {
            std::os::unix::fs::symlink("/dev/zero", bad.join(file)).unwrap();
        }
        let mut child = Command::new(bin())
            .arg("verify")
            .arg(&bad)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_or_kill(&mut child, 10.0, "verify of a hostile case folder");
        assert_eq!(out.status.code(), Some(1), "{file}");
    }
}

// 17. SIGHUP (the terminal closed) stops the scan like SIGTERM; output to a
// stderr that is gone does not crash it.
#[test]
fn sighup_is_an_interruption_even_with_stderr_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    slow_tree(&ev, 64);
    for stderr_gone in [false, true] {
        let case = tmp.path().join(format!("case-{stderr_gone}"));
        let mut child = spawn_scan(&ev, &case, &[]);
        let _guard = KillOnDrop(child.id());
        if stderr_gone {
            drop(child.stderr.take());
        }
        assert!(reading(&case), "stderr gone: {stderr_gone}");
        signal(&child, libc::SIGHUP);
        let out = wait_or_kill(&mut child, 20.0, "scan after SIGHUP");
        assert_eq!(out.status.code(), Some(130), "{:?}", out.status);
        let s = Scan {
            code: 130,
            stderr: String::new(),
            dir: case,
        };
        assert_eq!(s.summary()["status"], "interrupted");
    }
    // Under nohup (SIGHUP ignored at the start), the terminal closing does not
    // stop an overnight batch.
    let case = tmp.path().join("case-nohup");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' HUP; exec '{}' scan '{}' --output '{}'",
            bin().display(),
            ev.display(),
            case.display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id());
    assert!(reading(&case));
    signal(&child, libc::SIGHUP);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP stopped a nohup scan"
    );
    signal(&child, libc::SIGINT);
    let out = wait_or_kill(&mut child, 20.0, "nohup scan after SIGINT");
    assert_eq!(out.status.code(), Some(130));
}

// 18. --resume of a finished case is idempotent.
#[test]
fn resuming_a_complete_case_verifies_it_and_gives_its_status() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    tree(&ev, 30, 1000);
    let case = tmp.path().join("case");
    assert_eq!(scan(&ev, &case, &[]).code, 0);
    let r = scan(&ev, &case, &["--resume"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("already complete (verified)"),
        "{}",
        r.stderr
    );
    // Another evidence is still refused.
    let other = tmp.path().join("other");
    tree(&other, 3, 1000);
    let r = scan(&other, &case, &["--resume"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

// 19. An import stopped by SIGTERM leaves no temporary file.
#[test]
fn an_import_killed_part_way_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("slow.fifo");
    sh(&format!("mkfifo '{}'", fifo.display()));
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let mut child = Command::new(bin())
        .args(["hashset", "import"])
        .arg(&fifo)
        .arg("--output")
        .arg(out_dir.join("set.hsx"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child.id());
    // Opened without blocking, so a child that died first cannot hang the test.
    use std::os::unix::fs::OpenOptionsExt;
    let mut opened = None;
    assert!(wait_until(10.0, || {
        opened = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .ok();
        opened.is_some()
    }));
    let mut w = opened.unwrap();
    {
        use std::os::fd::AsRawFd;
        // Blocking again for the writes (the import reads as they come).
        // SAFETY: plain fcntl calls on an open descriptor.
        unsafe {
            let flags = libc::fcntl(w.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(w.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    use std::io::Write;
    for i in 0..2000u32 {
        writeln!(w, "{:032x}", u128::from(i) + 1).unwrap();
    }
    w.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, libc::SIGTERM);
    let out = wait_or_kill(&mut child, 10.0, "import after SIGTERM");
    drop(w);
    assert_eq!(out.status.code(), Some(130));
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// Found by attacking the hardening: an import over its own source.
#[test]
fn an_import_never_replaces_its_own_source() {
    let tmp = tempfile::tempdir().unwrap();
    let set = set_file(tmp.path(), "s.md5", "900150983cd24fb0d6963f7d28e17f72\n");
    let out = import(&[set.as_os_str(), OsStr::new("--output"), set.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the input"));
    assert_eq!(
        std::fs::read_to_string(&set).unwrap(),
        "900150983cd24fb0d6963f7d28e17f72\n"
    );
}

// 20. verify of a folder that is not a case folder.
#[test]
fn verify_of_a_folder_that_is_not_a_case() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"x").unwrap();
    let out = verify(tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a case folder"));
}

// 21. Set names and set files that cannot be used say why.
#[test]
fn unusable_set_names_and_sets_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a", b"a");
    let empty = set_file(
        tmp.path(),
        "empty.md5",
        "d41d8cd98f00b204e9800998ecf8427e  empty\n",
    );
    let good = set_file(tmp.path(), "good.md5", "900150983cd24fb0d6963f7d28e17f72\n");
    let good = good.to_str().unwrap();
    let escape_name = format!("bad\u{1b}[2Jname={good}");
    for (arg, expect) in [
        (
            empty.to_str().unwrap().to_string(),
            "only digests of the empty file",
        ),
        ("name=".to_string(), "no file after `=`"),
        ("some/dir=set.md5".to_string(), "cannot hold `/`"),
        (escape_name, "control character"),
        (format!("-x={good}"), "formula"),
    ] {
        let s = scan(
            &ev,
            &tmp.path().join("case"),
            &[&format!("--hashset={arg}")],
        );
        assert_eq!(s.code, 2, "{arg}: {}", s.stderr);
        assert!(s.stderr.contains(expect), "{arg}: {}", s.stderr);
        assert!(!s.stderr.contains('\u{1b}'), "raw escape on the terminal");
        assert!(!tmp.path().join("case").exists());
    }
}

// 22. Warnings reach stderr off a terminal, and the audit log and summary.
#[test]
fn warnings_reach_a_log_and_the_case_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a", b"a");
    // The test tree is on a writable mount.
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0);
    assert!(
        s.stderr.contains("hashsweep: warning: the evidence (")
            && s.stderr.contains("is mounted read-write"),
        "{}",
        s.stderr
    );
    let w = s.audit_event("warning");
    assert!(w["warning"].as_str().unwrap().contains("read-write"));
    assert!(s.summary()["warnings"][0]
        .as_str()
        .unwrap()
        .contains("read-write"));
    // --quiet prints nothing, and still records it.
    let q = scan(&ev, &tmp.path().join("quiet"), &["--quiet"]);
    assert_eq!(q.stderr, "");
    assert_eq!(q.summary()["warnings"].as_array().unwrap().len(), 1);
}

// Found by attacking the hardening: files in a user folder with hard links
// elsewhere got their links' rows numbered wrongly, pinning one file's digests
// on another path, then crashing.
#[test]
fn hard_links_between_user_folders_and_the_rest_keep_their_own_digests() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let names = ["a", "b", "c", "d"];
    for n in names {
        let p = write(
            &ev,
            format!("home/alice/{n}.jpg"),
            format!("picture {n}").as_bytes(),
        );
        std::fs::create_dir_all(ev.join("backup")).unwrap();
        std::fs::hard_link(&p, ev.join(format!("backup/{n}.jpg"))).unwrap();
    }
    let set = set_file(
        tmp.path(),
        "set.md5",
        &format!("{}\n", md5_hex(b"picture b")),
    );
    for io in ["ssd", "hdd"] {
        let s = scan(
            &ev,
            &tmp.path().join(format!("case-{io}")),
            &["--hashset", set.to_str().unwrap(), "--io", io],
        );
        assert_eq!(s.code, 1, "{io}: {}", s.stderr);
        let rows = s.rows();
        assert_eq!(rows.len(), 8, "{io}");
        for r in &rows {
            let name = r["path"]
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".jpg");
            let data = format!("picture {name}");
            assert_eq!(r["md5"], md5_hex(data.as_bytes()), "{io}: {}", r["path"]);
            let alert = name == "b";
            assert_eq!(r["verdict"] == "alert", alert, "{io}: {}", r["path"]);
        }
    }
}

// Found by attacking the hardening: the evidence image mounted a second time,
// read-write, through another loop device.
#[test]
fn a_case_folder_on_a_second_mount_of_the_evidence_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    write(&content, "a.txt", b"a");
    let image = tmp.path().join("ev.img");
    let mnt = tmp.path().join("ev");
    let Some(_ro) = mount_ext4(&content, &image, &mnt, "ro,nodev,noload") else {
        return skip(
            "a_case_folder_on_a_second_mount_of_the_evidence_is_refused",
            "needs root and mkfs.ext4",
        );
    };
    let again = tmp.path().join("again");
    std::fs::create_dir(&again).unwrap();
    let loop_dev = sh(&format!("losetup -f --show '{}'", image.display()));
    let loop_dev = loop_dev.trim().to_string();
    sh(&format!(
        "mount -o ro,noload '{loop_dev}' '{}'",
        again.display()
    ));
    let _again = Mounted(again.clone());
    let s = scan(&mnt, &again.join("case"), &[]);
    sh(&format!(
        "umount '{}' && losetup -d '{loop_dev}'",
        again.display()
    ));
    assert_eq!(s.code, 2, "{}", s.stderr);
    assert!(
        s.stderr.contains("on the evidence's own filesystem"),
        "{}",
        s.stderr
    );
}

// A case folder started by a build whose journal is `journal.csv` is refused,
// by a resume and by a new scan, rather than half-read.
#[test]
fn a_folder_of_an_earlier_journal_format_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a.txt", b"a");
    let case = tmp.path().join("case");
    killed_at(&ev, &case, "before-report", &[]);
    std::fs::rename(case.join("journal.jsonl"), case.join("journal.csv")).unwrap();
    let r = scan(&ev, &case, &["--resume"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("earlier build of hashsweep"),
        "{}",
        r.stderr
    );
    assert!(!case.join("report.csv").exists());
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join("journal.csv"), "").unwrap();
    let s = scan(&ev, &fresh, &[]);
    assert_eq!(s.code, 2);
    assert!(
        s.stderr.contains("already holds a case (journal.csv)"),
        "{}",
        s.stderr
    );
}
