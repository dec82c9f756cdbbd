//! Archive members: every format, nesting, hostile names, encrypted and
//! damaged archives, resume and determinism. Archives are made with the
//! system's own tools (zip, tar, gzip, bzip2, xz, zstd, 7z); a format whose
//! tool is missing is skipped with a notice. The limits are in
//! tests/archive_limits.rs.

mod util;

use std::path::Path;
use std::process::Command;
use util::archive::*;
use util::*;

#[test]
fn an_alert_three_archives_deep_is_reported_under_its_full_path() {
    if !tools("three_deep", &["zip", "tar", "gzip"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let bad = b"material the set lists, three archives down\n";
    write(t, "w/inner/bad.jpg.txt", bad);
    write(t, "w/inner/other.txt", b"not listed\n");
    sh(&format!(
        "cd {w} && zip -qr ../inner.zip inner && cd .. && tar czf mid.tar.gz inner.zip && mkdir ev && zip -q ev/outer.zip mid.tar.gz",
        w = q(&t.join("w"))
    ));
    let set = write(t, "set.md5", format!("{}\n", md5_hex(bad)).as_bytes());
    let ev = t.join("ev");
    let s = scan(
        &ev,
        &t.join("case"),
        &["--hashset", set.to_str().unwrap(), "--threads", "1"],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let path = "/outer.zip\\>mid.tar.gz\\>mid.tar\\>inner.zip\\>inner/bad.jpg.txt";
    let hits = s.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["path"], path);
    assert_eq!(hits[0]["verdict"], "alert");
    assert_eq!(hits[0]["md5"], md5_hex(bad));
    let rows = s.rows();
    let paths: Vec<&str> = rows.iter().map(|r| r["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "/outer.zip",
            "/outer.zip\\>mid.tar.gz",
            "/outer.zip\\>mid.tar.gz\\>mid.tar",
            "/outer.zip\\>mid.tar.gz\\>mid.tar\\>inner.zip",
            path,
            "/outer.zip\\>mid.tar.gz\\>mid.tar\\>inner.zip\\>inner/other.txt",
        ]
    );
    // The path splits back into the evidence path and each name.
    let parts = hashsweep::pathfmt::split_members(path).unwrap();
    assert_eq!(parts.len(), 5);
    assert_eq!(parts[4], b"inner/bad.jpg.txt");
    let summary = s.summary();
    assert_eq!(summary["archives"]["archives"], 4);
    assert_eq!(summary["archives"]["members"], 5);
    assert_eq!(summary["totals"]["entries_found"], 1);
    assert_verified(&s.dir);
    // The same bytes whatever the threads and the read policy.
    for extra in [["--threads", "4"], ["--io", "hdd"]] {
        let case = t.join(format!("case{}", extra[1]));
        let mut args = vec!["--hashset", set.to_str().unwrap()];
        args.extend(extra);
        let again = scan(&ev, &case, &args);
        assert_eq!(again.code, 1);
        for f in ["report.csv", "hits.csv"] {
            assert_eq!(
                std::fs::read(s.dir.join(f)).unwrap(),
                std::fs::read(case.join(f)).unwrap(),
                "{f} with {extra:?}"
            );
        }
    }
    // --no-archives: today's behaviour, one row and no alert.
    let off = scan(
        &ev,
        &t.join("off"),
        &["--hashset", set.to_str().unwrap(), "--no-archives"],
    );
    assert_eq!(off.code, 0);
    assert_eq!(off.rows().len(), 1);
    assert_eq!(off.summary()["archives"]["members"], 0);
}

#[test]
fn every_format_is_read_by_content() {
    let mut needed = vec!["zip", "tar", "gzip", "bzip2", "xz", "zstd"];
    let seven = have("7z");
    if !seven {
        skip("every_format 7z", "no 7z (apt-get install p7zip-full)");
    }
    if !tools("every_format", &needed) {
        return;
    }
    needed.clear();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let a = b"alpha member\n".to_vec();
    let long = "l".repeat(150);
    write(t, "src/a.txt", &a);
    write(t, format!("src/{long}.txt"), b"long name, pax or GNU\n");
    write(t, "src/deep/z.bin", &zeros(3000));
    let src = q(&t.join("src"));
    let ev = t.join("ev");
    std::fs::create_dir_all(&ev).unwrap();
    let e = q(&ev);
    sh(&format!(
        "cd {src} && zip -qr {e}/stored.zip . -0 && zip -qr {e}/deflate.zip . && zip -qr -Z bzip2 {e}/bz.zip . \
         && tar --format=ustar -cf {e}/u.tar a.txt deep && tar --format=pax -cf {e}/p.tar . && tar --format=gnu -cf {e}/g.tar . \
         && tar czf {e}/t.tgz . && tar cjf {e}/t.tar.bz2 . && tar cJf {e}/t.tar.xz . && tar --zstd -cf {e}/t.tar.zst . \
         && gzip -c a.txt > {e}/lone.gz && cp {e}/deflate.zip {e}/renamed.dat"
    ));
    if seven {
        sh(&format!("cd {src} && 7z a -bd -bso0 {e}/s.7z . >/dev/null"));
    }
    // A RAR 5 signature and some bytes.
    std::fs::write(
        ev.join("old.rar"),
        b"Rar!\x1a\x07\x01\x00 the rest of a RAR",
    )
    .unwrap();
    let s = scan(&ev, &t.join("case"), &["--threads", "2"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let rows = s.rows();
    let md5_of = |path: &str| {
        rows.iter().find(|r| r["path"] == path).unwrap_or_else(|| {
            panic!(
                "no row {path}; rows: {:#?}",
                rows.iter().map(|r| &r["path"]).collect::<Vec<_>>()
            )
        })["md5"]
            .clone()
    };
    let want = md5_hex(&a);
    for archive in ["stored.zip", "deflate.zip", "bz.zip", "renamed.dat"] {
        assert_eq!(md5_of(&format!("/{archive}\\>a.txt")), want, "{archive}");
        assert_eq!(
            md5_of(&format!("/{archive}\\>deep/z.bin")),
            md5_hex(&zeros(3000))
        );
    }
    assert_eq!(md5_of("/u.tar\\>a.txt"), want);
    for tar in ["p.tar", "g.tar"] {
        assert_eq!(md5_of(&format!("/{tar}\\>./a.txt")), want, "{tar}");
        assert!(
            !md5_of(&format!("/{tar}\\>./{long}.txt")).is_empty(),
            "{tar}"
        );
    }
    for (c, inner) in [
        ("t.tgz", "t.tar"),
        ("t.tar.bz2", "t.tar"),
        ("t.tar.xz", "t.tar"),
        ("t.tar.zst", "t.tar"),
    ] {
        assert_eq!(md5_of(&format!("/{c}\\>{inner}\\>./a.txt")), want, "{c}");
    }
    // gzip names its member in its header.
    assert_eq!(md5_of("/lone.gz\\>a.txt"), want);
    if seven {
        assert_eq!(md5_of("/s.7z\\>a.txt"), want);
        assert_eq!(md5_of("/s.7z\\>deep/z.bin"), md5_hex(&zeros(3000)));
    }
    // RAR is told by its signature and noted, not read.
    let rar = rows.iter().find(|r| r["path"] == "/old.rar").unwrap();
    assert!(
        rar["note"].contains("RAR archives are recognised, not read"),
        "{rar:?}"
    );
    assert!(!rar["md5"].is_empty());
    let renamed = rows.iter().find(|r| r["path"] == "/renamed.dat").unwrap();
    assert!(renamed["note"].contains("archive (zip)"), "{renamed:?}");
    assert_eq!(renamed["type_mismatch"], "true");
    // Member times come from the archive headers.
    let m = rows.iter().find(|r| r["path"] == "/u.tar\\>a.txt").unwrap();
    assert!(!m["modified"].is_empty() && m["accessed"].is_empty());
    assert_verified(&s.dir);
}

#[test]
fn hostile_member_names_are_data_and_nothing_is_extracted() {
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // A tar with names no tool should follow, made byte by byte.
    let names: Vec<&[u8]> = vec![
        b"../../../../tmp/escaped.txt",
        b"/etc/passwd-copy",
        b"C:\\Windows\\evil.dll",
        b"..\\..\\boot.ini",
        b"dup.txt",
        b"dup.txt",
        b"caf\xe9-latin1.txt",
        b"a\\>b.txt",
    ];
    let mut tar = tar::Builder::new(Vec::new());
    for (i, n) in names.iter().enumerate() {
        let data = format!("member {i}\n");
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        // Written raw: the builder would refuse `..`.
        let field = &mut h.as_old_mut().name;
        field[..n.len()].copy_from_slice(n);
        h.set_cksum();
        tar.append(&h, data.as_bytes()).unwrap();
    }
    std::fs::write(ev.join("names.tar"), tar.into_inner().unwrap()).unwrap();
    let s = scan(&ev, &t.join("case"), &["--threads", "1"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let rows = s.rows();
    let members: Vec<&util::Row> = rows.iter().filter(|r| r["path"].contains("\\>")).collect();
    assert_eq!(members.len(), names.len());
    for r in &members {
        let p = &r["path"];
        assert!(!p.split(['/', '\\']).any(|c| c == ".."), "{p}");
        let parts = hashsweep::pathfmt::split_members(p).unwrap();
        assert!(names.contains(&parts[1].as_slice()), "{p}");
        assert_eq!(r["modified"], "2020-09-13T12:26:40.000000000Z");
    }
    // Each name is there, the repeated one twice (the second marked).
    let got: Vec<Vec<u8>> = members
        .iter()
        .map(|r| hashsweep::pathfmt::split_members(&r["path"]).unwrap()[1].clone())
        .collect();
    for n in &names {
        assert!(got.contains(&n.to_vec()), "{}", String::from_utf8_lossy(n));
    }
    assert!(members
        .iter()
        .any(|r| r["path"] == "/names.tar\\>dup.txt\\#2"));
    assert!(members
        .iter()
        .any(|r| r["path"]
            == "/names.tar\\>\\x2e\\x2e/\\x2e\\x2e/\\x2e\\x2e/\\x2e\\x2e/tmp/escaped.txt"));
    assert!(members
        .iter()
        .any(|r| r["path"] == "/names.tar\\>caf\\xe9-latin1.txt"));
    assert!(!Path::new("/tmp/escaped.txt").exists());
    // Nothing was written beside the case folder.
    let left: Vec<_> = std::fs::read_dir(t)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert_verified(&s.dir);
}

#[test]
fn encrypted_and_truncated_archives_keep_what_can_be_read() {
    if !tools("encrypted_truncated", &["zip"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    let secret = b"a secret member\n";
    write(t, "w/secret.txt", secret);
    write(t, "w/one.txt", &[b'1'; 5000]);
    write(t, "w/two.txt", &[b'2'; 5000]);
    write(t, "w/three.txt", &[b'3'; 5000]);
    let w = q(&t.join("w"));
    sh(&format!(
        "cd {w} && zip -q -P hunter2 {e}/locked.zip secret.txt && zip -q -0 {t}/full.zip one.txt two.txt three.txt",
        e = q(&ev),
        t = q(t)
    ));
    let full = std::fs::read(t.join("full.zip")).unwrap();
    // Cut in the middle of the third member.
    std::fs::write(ev.join("cut.zip"), &full[..full.len() - 2500]).unwrap();
    let s = scan(&ev, &t.join("case"), &["--threads", "1"]);
    // An encrypted member is unreadable: exit 3 when nothing is an alert.
    assert_eq!(s.code, 3, "{}", s.stderr);
    let rows = s.rows();
    let locked = rows
        .iter()
        .find(|r| r["path"] == "/locked.zip\\>secret.txt")
        .unwrap();
    assert_eq!(locked["verdict"], "unreadable");
    assert!(
        locked["note"].starts_with("encrypted: not read (crc32 "),
        "{locked:?}"
    );
    assert_eq!(locked["size"], secret.len().to_string());
    assert!(locked["md5"].is_empty());
    // The truncated zip: hashed as a file, its first members read.
    let cut = rows.iter().find(|r| r["path"] == "/cut.zip").unwrap();
    assert_eq!(cut["md5"], md5_hex(&full[..full.len() - 2500]));
    assert!(
        cut["note"].contains("archive damaged or truncated"),
        "{cut:?}"
    );
    assert_eq!(s.row("/cut.zip\\>one.txt")["md5"], md5_hex(&[b'1'; 5000]));
    assert_eq!(s.row("/cut.zip\\>two.txt")["md5"], md5_hex(&[b'2'; 5000]));
    assert_verified(&s.dir);
}

#[test]
fn a_picture_inside_an_office_document_is_matched_and_hashed() {
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // A real JPEG, made here.
    let mut jpeg = Vec::new();
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Png,
        )
        .unwrap();
    let docx = zip_of(&[
        (
            "[Content_Types].xml".into(),
            b"<?xml version=\"1.0\"?><Types/>".to_vec(),
        ),
        ("word/document.xml".into(), b"<w:document/>".to_vec()),
        ("word/media/image1.png".into(), jpeg.clone()),
    ]);
    std::fs::write(ev.join("report.docx"), &docx).unwrap();
    let set = write(t, "set.md5", format!("{}\n", md5_hex(&jpeg)).as_bytes());
    let s = scan(&ev, &t.join("case"), &["--hashset", set.to_str().unwrap()]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    let pic = s.row("/report.docx\\>word/media/image1.png");
    assert_eq!(pic["verdict"], "alert");
    assert_eq!(pic["type"], "image/png");
    assert_eq!(pic["pdq"].len(), 64, "{pic:?}");
    assert_eq!(s.hits().len(), 1);
}

#[test]
fn a_killed_scan_resumes_to_the_same_report() {
    if !tools("resume", &["zip"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ev = t.join("ev");
    for i in 0..30 {
        for j in 0..20 {
            write(
                t,
                format!("w{i}/f{j}.txt"),
                format!("archive {i} file {j}\n").as_bytes(),
            );
        }
        sh(&format!(
            "cd {} && mkdir -p {} && zip -q -r {}/a{i:02}.zip .",
            q(&t.join(format!("w{i}"))),
            q(&ev),
            q(&ev)
        ));
        write(&ev, format!("plain{i}.txt"), b"plain\n");
    }
    let set = write(
        t,
        "set.md5",
        format!("{}\n", md5_hex(b"archive 7 file 3\n")).as_bytes(),
    );
    let full = scan(&ev, &t.join("full"), &["--hashset", set.to_str().unwrap()]);
    assert_eq!(full.code, 1);
    assert_eq!(full.rows().len(), 30 + 30 * 21);
    let case = t.join("case");
    let status = Command::new(bin())
        .args([
            "scan",
            "--quiet",
            "--hashset",
            set.to_str().unwrap(),
            "--output",
        ])
        .arg(&case)
        .arg(&ev)
        .env("HASHSWEEP_FAILPOINT", "rows=40")
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let resumed = scan(
        &ev,
        &case,
        &["--hashset", set.to_str().unwrap(), "--resume"],
    );
    assert_eq!(resumed.code, 1, "{}", resumed.stderr);
    for f in ["report.csv", "hits.csv"] {
        assert_eq!(
            std::fs::read(full.dir.join(f)).unwrap(),
            std::fs::read(case.join(f)).unwrap(),
            "{f}"
        );
    }
    assert_verified(&case);
}

#[test]
fn repeated_names_checksums_and_trailing_bytes_keep_every_member() {
    if !tools("repeated", &["gzip", "python3"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // A zip whose two members share a name (the library keeps one of them
    // in its directory), and a tar whose third name is what `\#2` sorts as.
    sh(&format!(
        "cd {e} && python3 -W ignore -c \"
import zipfile, tarfile, io
z = zipfile.ZipFile('c.zip', 'w'); z.writestr('m', b'one'); z.writestr('m', b'two'); z.close()
t = tarfile.open('d.tar', 'w', format=tarfile.GNU_FORMAT)
for n, d in [('m', b'one'), ('m', b'two'), ('m\\x012', b'three')]:
    i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
t.close()\"",
        e = q(&ev)
    ));
    // A gzip stream with zeros after its end (as tape or dd leave them).
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(t, "s.bin", &data);
    sh(&format!(
        "gzip -c {} > {}/z.gz && head -c 512 /dev/zero >> {}/z.gz",
        q(&t.join("s.bin")),
        q(&ev),
        q(&ev)
    ));
    let set = write(
        t,
        "set.md5",
        format!("{}\n{}\n", md5_hex(b"two"), md5_hex(&data)).as_bytes(),
    );
    let s = scan(&ev, &t.join("case"), &["--hashset", set.to_str().unwrap()]);
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert_eq!(s.row("/c.zip\\>m")["md5"], md5_hex(b"one"));
    assert_eq!(s.row("/c.zip\\>m\\#2")["verdict"], "alert");
    assert_eq!(s.row("/d.tar\\>m\\#2")["verdict"], "alert");
    assert_eq!(s.row("/d.tar\\>m\\x012")["md5"], md5_hex(b"three"));
    // Named from the gzip header.
    let z = s.row("/z.gz\\>s.bin");
    assert_eq!(z["verdict"], "alert", "{z:?}");
    assert!(
        z["note"].contains("the digests are of the 5000 bytes read"),
        "{z:?}"
    );
    assert_eq!(s.hits().len(), 3);
    assert_verified(&s.dir);
}

#[test]
fn a_large_zip_read_by_several_threads_gives_the_rows_of_one() {
    if !tools("parallel", &["zip", "tar", "gzip"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    let mut known = Vec::new();
    for i in 0..60u32 {
        let data: Vec<u8> = (0..(i * 997) % 50_000)
            .map(|b| (b * (i + 3) % 251) as u8)
            .collect();
        if i % 7 == 3 {
            known.push(md5_hex(&data));
        }
        write(t, format!("w/d{}/f{i}.bin", i % 5), &data);
    }
    write(t, "inner/x.txt", b"nested\n");
    sh(&format!(
        "cd {t} && tar czf w/inner.tar.gz inner && cd w && zip -q -r {e}/big.zip . && tar cf {e}/big.tar .",
        t = q(t),
        e = q(&ev)
    ));
    let set = write(t, "set.md5", (known.join("\n") + "\n").as_bytes());
    let scans = same_on_threads(&ev, t, &set, &["1", "4"]);
    let (one, four) = (&scans[0], &scans[1]);
    assert_eq!(one.code, 1);
    // The zip's rows are the tar's (read in order, by one thread), member for member.
    let rows = four.rows();
    let members = |prefix: &str| -> Vec<(String, String, String, String)> {
        rows.iter()
            .filter_map(|r| {
                let name = r["path"].strip_prefix(prefix)?;
                let name = name.strip_prefix("./").unwrap_or(name);
                Some((
                    name.to_string(),
                    r["md5"].clone(),
                    r["verdict"].clone(),
                    r["note"].clone(),
                ))
            })
            .collect()
    };
    let (zip, tar) = (members("/big.zip\\>"), members("/big.tar\\>"));
    assert_eq!(zip.len(), 63, "{zip:#?}");
    assert_eq!(zip, tar);
    assert_eq!(four.hits().len(), 2 * known.len());
    assert!(four.row("/big.zip")["note"].starts_with("archive (zip): 61 members read"));
    // It is a zip that several threads read (with --threads 4).
    let bytes = std::fs::read(ev.join("big.zip")).unwrap();
    assert!(hashsweep::archive::ZipPlan::new(&bytes, 100_000).is_some_and(|p| p.len() >= 16));
    assert_verified(&four.dir);
}

#[test]
fn encrypted_7z_hidden_directory_data_damaged_streams_and_depth_one() {
    if !tools("seven_and_streams", &["7z", "tar", "gzip", "python3"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    write(t, "s/a.txt", b"a\n");
    write(t, "s/sub/b.txt", b"b\n");
    write(t, "s/empty", b"");
    for i in 1..=3 {
        let data: Vec<u8> = (0..3000u32).map(|b| (b * 31 * i % 256) as u8).collect();
        write(t, format!("d/f{i}"), &data);
    }
    sh(&format!(
        "cd {s} && 7z a -bd -bso0 -phunter2 {e}/p.7z . >/dev/null && 7z a -bd -bso0 -phunter2 -mhe=on {e}/h.7z . >/dev/null \
         && cd {t} && tar czf full.tgz -C d ./f1 ./f2 ./f3 && head -c $(( $(stat -c %s full.tgz) * 2 / 3 )) full.tgz > {e}/cut.tgz \
         && tar czf {e}/ok.tar.gz -C d . && cd {e} && python3 -c \"
import zipfile
z = zipfile.ZipFile('dir.zip', 'w'); z.writestr('hidden/', b'bytes in a directory entry'); z.close()\"",
        s = q(&t.join("s")),
        e = q(&ev),
        t = q(t)
    ));
    let s = scan(&ev, &t.join("case"), &["--archive-depth", "1"]);
    assert_eq!(s.code, 3, "{}", s.stderr);
    // 7z: encrypted members listed with their CRC; the empty one read; an
    // encrypted member list said as such, not as damage.
    assert!(s.row("/p.7z\\>a.txt")["note"].starts_with("encrypted: not read (crc32 "));
    assert_eq!(s.row("/p.7z\\>empty")["md5"], md5_hex(b""));
    let h = s.row("/h.7z")["note"].clone();
    assert!(
        h.contains("encrypted: not read") && !h.contains("damaged"),
        "{h}"
    );
    // A directory entry holding bytes is read as a file.
    assert_eq!(
        s.row("/dir.zip\\>hidden/")["md5"],
        md5_hex(b"bytes in a directory entry")
    );
    // A tar in a gzip stream is one archive for the depth: listed at depth 1.
    assert_eq!(
        s.rows()
            .iter()
            .filter(|r| r["path"].starts_with("/ok.tar.gz\\>ok.tar\\>./f"))
            .count(),
        3
    );
    // A damaged stream: the members before the damage have their rows.
    let cut = s.row("/cut.tgz\\>cut.tar");
    assert!(
        cut["note"].contains("archive damaged or truncated"),
        "{cut:?}"
    );
    assert_eq!(
        s.row("/cut.tgz\\>cut.tar\\>./f1")["md5"],
        md5_hex(
            &(0..3000u32)
                .map(|b| (b * 31 % 256) as u8)
                .collect::<Vec<u8>>()
        )
    );
    assert_verified(&s.dir);
}

#[test]
fn same_name_bytes_decoded_two_ways_keep_both_rows_on_any_threads() {
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // 64 members; the fourth named "é.txt" (UTF-8 flag set) and the fifth
    // the same bytes without the flag, which the zip library decodes as
    // CP437 (another name to it, a repeat to the rows).
    let mut entries: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| (format!("f{i:02}.txt"), vec![b'x'; i]))
        .collect();
    entries[3] = ("\u{e9}.txt".into(), b"first\n".to_vec());
    entries[4] = ("ab.txt".into(), b"second\n".to_vec());
    let mut zip = zip_of(&entries);
    let at: Vec<usize> = zip
        .windows(6)
        .enumerate()
        .filter(|(_, w)| *w == b"ab.txt")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 2);
    for i in at {
        zip[i..i + 6].copy_from_slice("\u{e9}.txt".as_bytes());
    }
    std::fs::write(ev.join("names.zip"), &zip).unwrap();
    let set = write(
        t,
        "set.md5",
        format!("{}\n", md5_hex(b"first\n")).as_bytes(),
    );
    let scans = same_on_threads(&ev, t, &set, &["1", "4"]);
    let (one, four) = (&scans[0], &scans[1]);
    assert_eq!(one.code, 1);
    assert_eq!(four.row("/names.zip\\>\u{e9}.txt")["verdict"], "alert");
    assert_eq!(
        four.row("/names.zip\\>\u{e9}.txt\\#2")["md5"],
        md5_hex(b"second\n")
    );
    assert_verified(&four.dir);
}
