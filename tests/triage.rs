//! Fast triage: content types, the I/O decision, hard links read once, hits
//! first and `--stop-after`.

mod util;

use std::io::Write;
use std::path::Path;
use util::*;

/// A minimal JPEG: SOI, a JFIF APP0 segment, EOI.
fn jpeg(tag: u8) -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    v.extend_from_slice(&[0xff, 0xfe, 0x00, 0x03, tag, 0xff, 0xd9]);
    v
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&[0, 0, 0, 13]);
    v.extend_from_slice(b"IHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0");
    v.extend_from_slice(&[0x90, 0x77, 0x53, 0xde]);
    v
}

fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    v.extend_from_slice(&[0, 0, 0, 8]);
    v.extend_from_slice(b"free");
    v
}

fn zip() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    z.start_file("a.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"hello").unwrap();
    z.finish().unwrap();
    out.into_inner()
}

#[test]
fn content_types_and_mismatched_extensions() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("/photo.jpg", jpeg(1), "image/jpeg", "false"),
        ("/PHOTO2.JPEG", jpeg(2), "image/jpeg", "false"),
        ("/system32/helper.dll", jpeg(3), "image/jpeg", "true"),
        ("/noext", jpeg(4), "image/jpeg", "false"),
        ("/pic.png", png(), "image/png", "false"),
        (
            "/anim.gif",
            b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
            "image/gif",
            "false",
        ),
        ("/clip.mp4", mp4(), "video/mp4", "false"),
        ("/clip.txt", mp4(), "video/mp4", "true"),
        ("/bundle.zip", zip(), "application/zip", "false"),
        ("/report.docx.zip", zip(), "application/zip", "false"),
        ("/notes.txt", b"just words\n".to_vec(), "", ""),
        ("/empty.jpg", Vec::new(), "", ""),
    ];
    for (path, data, _, _) in &cases {
        write(&ev, &path[1..], data);
    }
    std::os::unix::fs::symlink("photo.jpg", ev.join("link.jpg")).unwrap();
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    for (path, _, mime, mismatch) in &cases {
        let r = s.row(path);
        assert_eq!(
            (r["type"].as_str(), r["type_mismatch"].as_str()),
            (*mime, *mismatch),
            "{path}"
        );
    }
    // A symbolic link is not read: no type.
    let r = s.row("/link.jpg");
    assert_eq!((r["type"].as_str(), r["type_mismatch"].as_str()), ("", ""));
}

/// The I/O decision, for auto and forced policies, is printed and in the audit log
/// and summary; both policies give the same report bytes.
#[test]
fn io_decision_is_recorded_and_policies_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    for i in 0..300u32 {
        let data: Vec<u8> = (0..(i * 997 % 70_000)).map(|j| (j * i) as u8).collect();
        write(&ev, format!("d{}/f{i}.bin", i % 7), &data);
    }
    write(&ev, "big/large.bin", &vec![7u8; 3 << 20]);
    let mut reports = Vec::new();
    for io in ["auto", "ssd", "hdd"] {
        let s = scan(&ev, &tmp.path().join(io), &["--io", io]);
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert!(
            s.stderr.contains("hashsweep: I/O policy "),
            "decision printed: {}",
            s.stderr
        );
        let event = s.audit_event("io-policy");
        let policy = &event["policy"];
        let summary = s.summary();
        assert_eq!(summary["io"], policy["medium"]);
        match io {
            "auto" => {
                assert!(
                    ["kernel", "probe"].contains(&policy["decided_by"].as_str().unwrap()),
                    "{policy}"
                );
                assert!(!policy["reason"].as_str().unwrap().is_empty());
            }
            forced => {
                assert_eq!(policy["decided_by"], "option");
                assert_eq!(policy["medium"], forced);
                let readers = if forced == "hdd" { 1 } else { 2 };
                assert!(policy["readers"] == readers || forced == "ssd");
            }
        }
        if io == "hdd" {
            assert_eq!(policy["order"], "physical");
            assert_eq!(policy["readers"], 1);
        }
        reports.push(std::fs::read(s.dir.join("report.csv")).unwrap());
    }
    assert_eq!(reports[0], reports[1], "auto and ssd reports differ");
    assert_eq!(reports[1], reports[2], "ssd and hdd reports differ");
}

/// Two names of one inode: both rows, same digests, and the data is read once
/// (the summary counts the bytes actually read).
#[test]
fn hard_links_are_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let a = write(&ev, "a/original.bin", &data);
    std::fs::create_dir_all(ev.join("b")).unwrap();
    std::fs::hard_link(&a, ev.join("b/linked.bin")).unwrap();
    write(&ev, "other.txt", b"other");
    // A picture in a user folder (walked and read first) with a second path
    // outside it (walked while the first part is read), and a third inside.
    let pic = jpeg(3);
    let p = write(&ev, "Users/bob/Pictures/p.jpg", &pic);
    std::fs::create_dir_all(ev.join("Windows/Temp")).unwrap();
    std::fs::hard_link(&p, ev.join("Windows/Temp/p.jpg")).unwrap();
    std::fs::hard_link(&p, ev.join("Users/bob/Desktop.jpg")).unwrap();
    // Enough of a rest that the user folder is usually read before it is walked
    // (the writer then keeps the picture's record until its other path is known).
    for i in 0..1000 {
        write(&ev, format!("Windows/System/f{i}.txt"), b"x");
    }
    let mut reports = Vec::new();
    for io in ["ssd", "hdd"] {
        let s = scan(&ev, &tmp.path().join(io), &["--io", io]);
        assert_eq!(s.code, 0, "{}", s.stderr);
        let (x, y) = (s.row("/a/original.bin"), s.row("/b/linked.bin"));
        assert_eq!(x["md5"], md5_hex(&data));
        assert_eq!((&x["md5"], &x["sha1"]), (&y["md5"], &y["sha1"]));
        assert_eq!(y["size"], data.len().to_string());
        assert!(
            y["note"].contains("hard link to /a/original.bin"),
            "{}",
            y["note"]
        );
        // The user-folder path, first in path order there, is the one read.
        let read = s.row("/Users/bob/Desktop.jpg");
        assert_eq!(read["md5"], md5_hex(&pic));
        // Its only note: the stand-in picture does not decode.
        assert!(
            read["note"].starts_with("pdq: JPEG not decoded"),
            "{}",
            read["note"]
        );
        for other in ["/Users/bob/Pictures/p.jpg", "/Windows/Temp/p.jpg"] {
            let r = s.row(other);
            assert_eq!((&r["md5"], &r["type"]), (&read["md5"], &read["type"]));
            assert!(
                r["note"].contains("hard link to /Users/bob/Desktop.jpg"),
                "{io} {other}: {}",
                r["note"]
            );
        }
        let totals = &s.summary()["totals"];
        assert_eq!(
            totals["bytes_read"],
            (data.len() + pic.len()) as u64 + 5 + 1000,
            "{io}: {totals}"
        );
        assert_eq!(totals["rows"], 1006);
        assert_eq!(s.audit_event("read-plan")["hard_links_read_once"], 3);
        reports.push(std::fs::read(s.dir.join("report.csv")).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
}

/// A tree where the alert files sit in a user folder that sorts last: with one
/// reader, `--stop-after 1` stops having read the user folder and nothing of the
/// rest. The partial case folder verifies; `--resume` then gives the full report.
#[test]
fn user_folders_first_and_stop_after() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    for i in 0..400 {
        write(
            &ev,
            format!("Program Files/app{}/lib{i}.dat", i % 10),
            &[i as u8; 100],
        );
    }
    write(&ev, "Windows/big.sys", &vec![1u8; 4 << 20]);
    let alert = jpeg(9);
    write(&ev, "zz/Users/alice/Pictures/holiday.jpg", &jpeg(5));
    write(&ev, "zz/Users/alice/Pictures/x.jpg", &alert);
    write(&ev, "zz/Users/alice/AppData/cache.bin", b"cache");
    let set = write(
        tmp.path(),
        "alert.md5",
        format!("{}\n", md5_hex(&alert)).as_bytes(),
    );
    let set = set.to_str().unwrap();

    let full = scan(&ev, &tmp.path().join("full"), &["--hashset", set]);
    assert_eq!(full.code, 1, "{}", full.stderr);
    assert_eq!(full.summary()["status"], "complete");

    let case = tmp.path().join("quick");
    let s = scan(
        &ev,
        &case,
        &[
            "--hashset",
            set,
            "--stop-after",
            "1",
            "--threads",
            "1",
            "--io",
            "ssd",
        ],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    // The user folder one level down was walked first, and read while the rest
    // of the tree was walked.
    let policy = s.audit_event("io-policy");
    assert_eq!(policy["walked_first"], serde_json::json!(["/zz/Users"]));
    assert_eq!(policy["read_while_walking"], true);
    let summary = s.summary();
    assert_eq!(summary["status"], "stopped");
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["stop_after"], 1);
    assert!(summary["timings"]["first_hit_seconds"].is_number());
    let rows = s.rows();
    assert!(
        rows.iter()
            .all(|r| r["path"].starts_with("/zz/Users/alice/")),
        "only the user folder was read before the hit: {:?}",
        rows.iter().map(|r| &r["path"]).collect::<Vec<_>>()
    );
    assert_eq!(s.hits().len(), 1);
    assert!(summary["totals"]["bytes_read"].as_u64().unwrap() < 4 << 20);
    let audit = std::fs::read_to_string(case.join("audit.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "stopped");
    assert_eq!(last["status"], "stopped");
    assert!(last["bytes_read"].is_number());

    let v = run(&["verify".as_ref(), case.as_os_str()]);
    let text = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{text}");
    assert!(text.contains("the scan is stopped"), "{text}");

    // Finishing the stopped scan gives the report of the full scan.
    let done = scan(&ev, &case, &["--hashset", set, "--resume"]);
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(done.summary()["status"], "complete");
    assert_eq!(
        std::fs::read(case.join("report.csv")).unwrap(),
        std::fs::read(full.dir.join("report.csv")).unwrap()
    );
    assert!(!Path::new(&case.join("journal.jsonl")).exists());
}

/// A large file whose content is of no interest is read after the rest, even
/// though its name sorts first; a picture renamed to look like a library is not.
#[test]
fn large_files_of_no_interest_are_read_last() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a/pagefile.sys", &vec![0u8; 3 << 20]);
    let mut disguised = jpeg(7);
    disguised.resize(3 << 20, 0x55);
    write(&ev, "b/kernel.dll", &disguised);
    write(&ev, "c/small.txt", b"small");
    let set = write(
        tmp.path(),
        "alert.md5",
        format!("{}\n", md5_hex(b"small")).as_bytes(),
    );
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &[
            "--hashset",
            set.to_str().unwrap(),
            "--stop-after",
            "1",
            "--threads",
            "1",
        ],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let paths: Vec<String> = s.rows().iter().map(|r| r["path"].clone()).collect();
    assert_eq!(paths, ["/b/kernel.dll", "/c/small.txt"]);
    let r = s.row("/b/kernel.dll");
    assert_eq!(
        (r["type"].as_str(), r["type_mismatch"].as_str()),
        ("image/jpeg", "true")
    );
}

/// Pages of the file at `path` in the page cache, and pages in all.
fn resident_pages(path: &Path) -> (usize, usize) {
    let file = std::fs::File::open(path).unwrap();
    let len = file.metadata().unwrap().len() as usize;
    let page = 4096;
    let pages = len.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: a read-only shared mapping of an open file, unmapped below; only
    // its residency is asked, no byte of it is touched.
    unsafe {
        use std::os::fd::AsRawFd;
        let addr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(addr, libc::MAP_FAILED);
        assert_eq!(libc::mincore(addr, len, vec.as_mut_ptr()), 0);
        libc::munmap(addr, len);
    }
    (vec.iter().filter(|&&b| b & 1 == 1).count(), pages)
}

/// A large file that was not in the page cache leaves little of itself there
/// after the scan, in both read policies, even when it was put back to be read
/// last (its first pages were then read twice, and the second open must not
/// take it for a cached file).
#[test]
fn large_files_read_cold_are_dropped_behind() {
    use std::os::fd::AsRawFd;
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let data: Vec<u8> = (0..48u32 << 20).map(|i| (i / 4096) as u8).collect();
    let path = write(&ev, "disk/volume.img", &data);
    write(&ev, "disk/z.txt", b"read before the image");
    for io in ["ssd", "hdd"] {
        let f = std::fs::File::open(&path).unwrap();
        f.sync_all().unwrap();
        // SAFETY: advice on an open descriptor.
        unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let (before, pages) = resident_pages(&path);
        if before * 10 > pages {
            skip(
                "large_files_read_cold_are_dropped_behind",
                "this filesystem keeps the file cached (tmpfs?)",
            );
            return;
        }
        let s = scan(&ev, &tmp.path().join(io), &["--io", io]);
        assert_eq!(s.code, 0, "{}", s.stderr);
        assert_eq!(s.row("/disk/volume.img")["md5"], md5_hex(&data));
        let (after, _) = resident_pages(&path);
        assert!(
            after * 4 < pages,
            "{io}: {after} of {pages} pages still cached after the scan"
        );
    }
}
