//! Perceptual matching and the unknown-media queue, end to end: PDQ sets
//! imported, looked up and exported; `similar` rows; `media.csv` with made-up
//! Exif facts, near-duplicate groups and camera pictures first; `--no-pdq`.
//! The pictures are ThreatExchange's samples (`../shared/samples/pdq`).

mod util;

use hashsweep::digest::exif::testing::jpeg_with_exif;
use hashsweep::digest::exif::{CameraInfo, Gps};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use util::{run, scan, skip, write};

fn samples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/pdq");
    dir.join("expected.csv").is_file().then_some(dir)
}

fn hsw(args: &[&str]) -> (i32, String) {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let out = run(&args);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn media_rows(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("media.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        hashsweep::output::media::MEDIA_COLUMNS
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            h.iter()
                .map(String::from)
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

const ORIGINAL_PUBLISHED: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

#[test]
fn pdq_sets_import_lookup_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    // Bare 64-hex lines are SHA-256 unless --format pdq says otherwise.
    std::fs::write(t("list.txt"), format!("{ORIGINAL_PUBLISHED}\n")).unwrap();
    let (code, out) = hsw(&[
        "hashset",
        "import",
        &t("list.txt"),
        "--output",
        &t("sha.hsx"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sha256 1"), "{out}");
    let (code, out) = hsw(&[
        "hashset",
        "import",
        "--format",
        "pdq",
        &t("list.txt"),
        "--output",
        &t("p.hsx"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pdq entries      1"), "{out}");
    // Lookup by distance: 3 bits away is found at the default 31, not at 2.
    let mut near = hashsweep::digest::pdq::Pdq::from_hex(ORIGINAL_PUBLISHED).unwrap();
    near.0[0] ^= 0b111;
    let near = near.to_hex();
    let (code, out) = hsw(&["hashset", "lookup", "--pdq", &t("p.hsx"), &near]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pdq distance 3"), "{out}");
    let (code, out) = hsw(&[
        "hashset",
        "lookup",
        "--pdq",
        "--distance",
        "2",
        &t("p.hsx"),
        &near,
    ]);
    assert_eq!(code, 1, "{out}");
    // A CSV with a pdq column keeps ids, qualities and categories through export.
    std::fs::write(
        t("te.csv"),
        format!("id,pdq,quality,category\nphoto-7,{ORIGINAL_PUBLISHED},95,US:1\n\"'=cmd\u{202e}\r\nx\",{ORIGINAL_PUBLISHED},,\n"),
    )
    .unwrap();
    let (code, out) = hsw(&["hashset", "import", &t("te.csv"), "--output", &t("te.hsx")]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = hsw(&[
        "hashset",
        "export",
        &t("te.hsx"),
        "--format",
        "pdq",
        "-o",
        &t("back.csv"),
    ]);
    assert_eq!(code, 0, "{out}");
    let back = std::fs::read_to_string(t("back.csv")).unwrap();
    // The id's control characters become spaces, its reordering character is
    // dropped; its formula guard is written again and read back the same.
    assert_eq!(
        back,
        format!("pdq,quality,category,id\r\n{ORIGINAL_PUBLISHED},,,'=cmd  x\r\n{ORIGINAL_PUBLISHED},95,US:1,photo-7\r\n")
    );
    let (code, out) = hsw(&[
        "hashset",
        "import",
        &t("back.csv"),
        "--output",
        &t("back.hsx"),
    ]);
    assert_eq!(code, 0, "{out}");
    let (_, again) = hsw(&[
        "hashset",
        "lookup",
        "--pdq",
        &t("back.hsx"),
        ORIGINAL_PUBLISHED,
    ]);
    assert!(again.contains("id =cmd  x,"), "{again}");
    // A malformed hash names its line and writes no index.
    std::fs::write(
        t("bad.csv"),
        format!("pdq\n{ORIGINAL_PUBLISHED}\n{}\n", &ORIGINAL_PUBLISHED[1..]),
    )
    .unwrap();
    let (code, out) = hsw(&[
        "hashset",
        "import",
        &t("bad.csv"),
        "--output",
        &t("bad.hsx"),
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("line 3"), "{out}");
    assert!(!tmp.path().join("bad.hsx").exists());
}

/// Pictures straight from two cameras, an edited near-duplicate, unrelated
/// pictures, a known picture and a text file.
#[test]
fn media_queue_with_exif_groups_and_camera_first() {
    let Some(samples) = samples() else {
        return skip(
            "media_queue_with_exif_groups_and_camera_first",
            "../shared/samples/pdq absent",
        );
    };
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let orig = std::fs::read(samples.join("bridge-mods/aaa-orig.jpg")).unwrap();
    let blur = std::fs::read(samples.join("bridge-mods/blur-a-lot.jpg")).unwrap();
    let wee = std::fs::read(samples.join("misc-images/wee.jpg")).unwrap();
    let png = std::fs::read(samples.join("misc-images/c.png")).unwrap();
    let cam = |serial: &str, gps: Option<Gps>| CameraInfo {
        make: Some("Canon".into()),
        model: Some("EOS 5D".into()),
        serial: Some(serial.into()),
        taken: Some("2021:06:01 12:34:56".into()),
        gps,
        software: None,
    };
    let south = Gps {
        latitude: Some(-33.856784),
        longitude: Some(151.215297),
    };
    write(
        &ev,
        "z/bridge-from-camera-B.jpg",
        &jpeg_with_exif(&orig, &cam("B222", Some(south))),
    );
    write(
        &ev,
        "y/wee-from-camera-A.jpg",
        &jpeg_with_exif(&wee, &cam("A111", None)),
    );
    let edited = CameraInfo {
        software: Some("Adobe Photoshop 2024".into()),
        ..cam("B222", None)
    };
    write(&ev, "a/bridge-edited.jpg", &jpeg_with_exif(&blur, &edited));
    write(&ev, "a/chart.png", &png);
    write(&ev, "a/known.jpg", &wee[..wee.len()]);
    write(&ev, "a/notes.txt", b"not a picture");
    let known = tmp.path().join("known.md5");
    std::fs::write(&known, format!("{}  known.jpg\n", util::md5_hex(&wee))).unwrap();
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &["--known-good", known.to_str().unwrap()],
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    let rows = media_rows(&s.dir);
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str()).collect();
    // Camera pictures first by serial (A111 before B222); the edited copy in
    // the B222 picture's group, right after it; then the rest. The known
    // picture and the text file are not in the queue.
    assert_eq!(
        paths,
        [
            "/y/wee-from-camera-A.jpg",
            "/z/bridge-from-camera-B.jpg",
            "/a/bridge-edited.jpg",
            "/a/chart.png",
        ]
    );
    let (a, b, edited, chart) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    assert_eq!(a["from_camera"], "true");
    assert_eq!(
        (a["camera_make"].as_str(), a["camera_model"].as_str()),
        ("Canon", "EOS 5D")
    );
    assert_eq!(a["camera_serial"], "A111");
    assert_eq!(a["taken"], "2021:06:01 12:34:56");
    assert_eq!((a["gps"].as_str(), a["latitude"].as_str()), ("", ""));
    assert_eq!(
        (
            b["gps"].as_str(),
            b["latitude"].as_str(),
            b["longitude"].as_str()
        ),
        ("true", "'-33.856784", "151.215297")
    );
    assert_eq!(
        (b["width"].as_str(), b["height"].as_str()),
        ("1600", "1004")
    );
    assert_eq!(edited["from_camera"], "false");
    assert_eq!(edited["software"], "Adobe Photoshop 2024");
    assert_eq!(b["group"], edited["group"]);
    assert_eq!(
        (b["group_size"].as_str(), a["group_size"].as_str()),
        ("2", "1")
    );
    assert_ne!(a["group"], b["group"]);
    assert_ne!(chart["group"], b["group"]);
    assert_eq!(a["group"], "1");
    assert_eq!(s.row("/a/known.jpg")["verdict"], "known-good");
    let m = &s.summary()["media"];
    assert_eq!(
        (
            m["rows"].as_u64(),
            m["groups"].as_u64(),
            m["groups_of_several"].as_u64(),
            m["from_camera"].as_u64()
        ),
        (Some(4), Some(3), Some(1), Some(2))
    );
    // verify checks media.csv against report.csv.
    let (code, out) = hsw(&["verify", s.dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("media.csv holds exactly the 4 unknown pictures"),
        "{out}"
    );
    // Edits verify finds without the manifest: a path, a group's number, a
    // row moved out of its group; and a count in the summary.
    let text = std::fs::read_to_string(s.dir.join("media.csv")).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    let moved = lines.remove(2);
    lines.push(moved);
    for tampered in [
        text.replace("/a/chart.png", "/a/chart.PNG"),
        text.replacen(",1,1\r\n", ",2,1\r\n", 1),
        lines.concat(),
    ] {
        std::fs::write(s.dir.join("media.csv"), &tampered).unwrap();
        let (code, out) = hsw(&["verify", s.dir.to_str().unwrap()]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAILED  media"), "{tampered}\n{out}");
    }
    std::fs::write(s.dir.join("media.csv"), &text).unwrap();
    let summary = std::fs::read_to_string(s.dir.join("summary.json")).unwrap();
    let edited = summary.replace("\"groups_of_several\": 1", "\"groups_of_several\": 0");
    assert_ne!(summary, edited);
    std::fs::write(s.dir.join("summary.json"), edited).unwrap();
    let (code, out) = hsw(&["verify", s.dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("counts media groups_of_several"), "{out}");
}

#[test]
fn similar_rows_and_no_pdq() {
    let Some(samples) = samples() else {
        return skip("similar_rows_and_no_pdq", "../shared/samples/pdq absent");
    };
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    for name in ["aaa-orig.jpg", "shrink-a-lot.jpg", "square-256x256.jpg"] {
        let bytes = std::fs::read(samples.join("bridge-mods").join(name)).unwrap();
        write(&ev, name, &bytes);
    }
    write(
        &ev,
        "c.png",
        &std::fs::read(samples.join("misc-images/c.png")).unwrap(),
    );
    let set = tmp.path().join("set.csv");
    std::fs::write(
        &set,
        format!("id,pdq,category\nbridge,{ORIGINAL_PUBLISHED},US:1\n"),
    )
    .unwrap();
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &["--hashset", set.to_str().unwrap()],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    for name in ["/aaa-orig.jpg", "/shrink-a-lot.jpg", "/square-256x256.jpg"] {
        let r = s.row(name);
        assert_eq!(r["verdict"], "similar", "{name}");
        assert_eq!(
            (r["hashsets"].as_str(), r["category"].as_str()),
            ("set", "US:1")
        );
        assert!(r["note"].starts_with("pdq distance "), "{}", r["note"]);
        assert!(r["note"].contains(" to set entry bridge"), "{}", r["note"]);
        assert_eq!(r["pdq"].len(), 64);
        assert_eq!(r["pdq_quality"], "100");
    }
    assert_eq!(s.row("/c.png")["verdict"], "unmatched");
    assert_eq!(s.hits().len(), 3);
    assert_eq!(s.summary()["verdicts"]["similar"], 3);
    // The same bytes with one thread on the spinning-disk policy.
    let one = scan(
        &ev,
        &tmp.path().join("case1"),
        &[
            "--hashset",
            set.to_str().unwrap(),
            "--threads",
            "1",
            "--io",
            "hdd",
        ],
    );
    assert_eq!(one.code, 1, "{}", one.stderr);
    for file in ["report.csv", "hits.csv", "media.csv"] {
        let a = std::fs::read(s.dir.join(file)).unwrap();
        let b = std::fs::read(one.dir.join(file)).unwrap();
        assert!(
            a == b,
            "{file} differs between thread counts and read policies"
        );
    }
    // --no-pdq: no hash, nothing similar, the pictures still queued.
    let s = scan(
        &ev,
        &tmp.path().join("case2"),
        &["--hashset", set.to_str().unwrap(), "--no-pdq"],
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert!(s
        .rows()
        .iter()
        .all(|r| r["pdq"].is_empty() && r["verdict"] == "unmatched"));
    let media = media_rows(&s.dir);
    assert_eq!(media.len(), 4);
    assert!(media.iter().all(|r| r["group"].is_empty()));
}
