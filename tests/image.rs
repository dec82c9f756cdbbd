//! Scans of real filesystems: an ext4 image built with `mkfs.ext4 -d` and mounted
//! read-only through a loop device. Needs root and e2fsprogs; skipped otherwise.

mod util;

use std::path::Path;
use util::*;

fn planted(content: &Path) -> String {
    let mut set = String::from("# planted alert files\n");
    for (i, rel) in [
        "home/bob/Pictures/a.jpg",
        "home/bob/.cache/b.bin",
        "var/tmp/c",
    ]
    .iter()
    .enumerate()
    {
        let data = format!("planted file {i} with some content").into_bytes();
        write(content, rel, &data);
        set.push_str(&format!("{}  {rel}\n", md5_hex(&data)));
    }
    for i in 0..40 {
        write(
            content,
            format!("usr/share/doc/f{i}.txt"),
            format!("filler {i}").as_bytes(),
        );
    }
    set
}

#[test]
fn loop_mounted_ext4_image_finds_planted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    let set_text = planted(&content);
    let image = tmp.path().join("disk.img");
    let mnt = tmp.path().join("mnt");
    let Some(_mount) = mount_ext4(&content, &image, &mnt, "ro,nodev,nosuid,noexec") else {
        return skip(
            "loop_mounted_ext4_image_finds_planted_files",
            "needs root and mkfs.ext4",
        );
    };
    let set = tmp.path().join("planted.md5");
    std::fs::write(&set, set_text).unwrap();
    let image_digest_before = sh(&format!("sha256sum '{}'", image.display()));
    let s = scan(
        &mnt,
        &tmp.path().join("case"),
        &["--hashset", set.to_str().unwrap()],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let hits: Vec<String> = s.hits().iter().map(|r| r["path"].clone()).collect();
    assert_eq!(
        hits,
        [
            "/home/bob/.cache/b.bin",
            "/home/bob/Pictures/a.jpg",
            "/var/tmp/c"
        ]
    );
    assert_eq!(s.summary()["verdicts"]["unmatched"], 40);
    // ext4 records birth times, and statx exposes them.
    assert!(!s.row("/var/tmp/c")["created"].is_empty());
    // The I/O decision follows the loop device to its backing file, and on a
    // FIEMAP-capable filesystem under --io hdd every file gets a physical place.
    let policy = s.audit_event("io-policy");
    let device = policy["policy"]["device"].as_str().unwrap();
    assert!(
        device.starts_with("loop") && device.contains("disk.img"),
        "{policy}"
    );
    let h = scan(
        &mnt,
        &tmp.path().join("case-hdd"),
        &["--hashset", set.to_str().unwrap(), "--io", "hdd"],
    );
    assert_eq!(h.code, 1, "{}", h.stderr);
    let policy = h.audit_event("read-plan");
    let files = h.summary()["totals"]["files_hashed"].as_u64().unwrap();
    let empty = h.summary()["totals"]["empty_files"].as_u64().unwrap();
    assert_eq!(policy["physically_mapped"], files - empty, "{policy}");
    assert_eq!(
        std::fs::read(h.dir.join("report.csv")).unwrap(),
        std::fs::read(s.dir.join("report.csv")).unwrap()
    );
    drop(_mount);
    assert_eq!(
        sh(&format!("sha256sum '{}'", image.display())),
        image_digest_before
    );
}

#[test]
fn mount_point_inside_evidence_is_skipped_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let content = tmp.path().join("content");
    write(&content, "inner.txt", b"on the other filesystem");
    let ev = tmp.path().join("ev");
    write(&ev, "outer.txt", b"on the evidence filesystem");
    let mnt = ev.join("media/usb");
    let Some(_mount) = mount_ext4(
        &content,
        &tmp.path().join("usb.img"),
        &mnt,
        "ro,nodev,nosuid,noexec",
    ) else {
        return skip(
            "mount_point_inside_evidence_is_skipped_unless_asked",
            "needs root and mkfs.ext4",
        );
    };
    let s = scan(&ev, &tmp.path().join("c1"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let r = s.row("/media/usb");
    assert_eq!(
        (r["kind"].as_str(), r["verdict"].as_str()),
        ("directory", "skipped")
    );
    assert!(
        r["note"].contains("mount point of another filesystem"),
        "{}",
        r["note"]
    );
    assert!(s
        .rows()
        .iter()
        .all(|r| !r["path"].starts_with("/media/usb/")));

    let s = scan(&ev, &tmp.path().join("c2"), &["--cross-filesystems"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(
        s.row("/media/usb/inner.txt")["md5"],
        md5_hex(b"on the other filesystem")
    );
}
