//! Archive limits: bombs, overlapping entries, deep nesting, tar metadata,
//! each finishing in seconds and bounded memory.

mod util;

use std::io::Write;
use util::archive::*;
use util::quine;
use util::*;

#[test]
fn bombs_stop_at_the_limits_in_seconds_and_bounded_memory() {
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // 42.zip-style: 16 copies of 16 copies of ... of 64 MiB of zeros, five
    // levels: 1 PiB in all.
    let mut level = zip_of(&[("0.bin".into(), zeros(64 << 20))]);
    for depth in 0..4 {
        let entries: Vec<(String, Vec<u8>)> = (0..16)
            .map(|i| (format!("{depth}-{i}.zip"), level.clone()))
            .collect();
        level = zip_of(&entries);
    }
    std::fs::write(ev.join("42.zip"), &level).unwrap();
    // Overlapping entries: one member's central directory record given 2000
    // times, every copy pointing at the same 64 MiB of zeros.
    std::fs::write(
        ev.join("overlap.zip"),
        overlapping(&zip_of(&[("z000".into(), zeros(64 << 20))]), 2000),
    )
    .unwrap();
    // Three entries sharing five bytes: read, and noted.
    std::fs::write(
        ev.join("small-overlap.zip"),
        overlapping(&zip_of(&[("s000".into(), b"small".to_vec())]), 3),
    )
    .unwrap();
    // Nesting deeper than the limit: a zip in a zip, 20 deep.
    let mut deep = zip_of(&[("core.txt".into(), b"bottom".to_vec())]);
    for i in 0..20 {
        deep = zip_of(&[(format!("level{i}.zip"), deep)]);
    }
    std::fs::write(ev.join("deep.zip"), &deep).unwrap();
    let case = t.join("case");
    scan_in_seconds_and_bounded_memory(&ev, &case, "bombs");
    let rows = read_rows(&case.join("report.csv"));
    let note = |p: &str| rows.iter().find(|r| r["path"] == p).unwrap()["note"].clone();
    assert!(
        note("/42.zip").contains("(--archive-ratio)"),
        "{}",
        note("/42.zip")
    );
    assert!(
        note("/overlap.zip").contains("(--archive-ratio)"),
        "{}",
        note("/overlap.zip")
    );
    let small = note("/small-overlap.zip");
    assert!(small.contains("overlap another's"), "{small}");
    assert_eq!(
        rows.iter()
            .filter(|r| r["path"].starts_with("/small-overlap.zip\\>"))
            .count(),
        3
    );
    // The member cut short has no digests.
    let cut = rows
        .iter()
        .find(|r| r["note"].starts_with("not read to its end"))
        .unwrap();
    assert!(cut["md5"].is_empty());
    // Nesting stops at 8: the eighth level is hashed, not read.
    let levels = rows
        .iter()
        .filter(|r| r["path"].starts_with("/deep.zip\\>"))
        .count();
    assert_eq!(levels, 8);
    let last = rows
        .iter()
        .rfind(|r| r["path"].starts_with("/deep.zip\\>"))
        .unwrap();
    assert!(last["note"].contains("(--archive-depth)"), "{last:?}");
    assert!(!last["md5"].is_empty());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["archives"]["limits_reached"]["ratio"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert_eq!(summary["archives"]["limits_reached"]["depth"], 1);
    let audit = std::fs::read_to_string(case.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("\"archive-limit\""),
        "no archive-limit event"
    );
    assert_verified(&case);
}

/// `zip` (of one member) with its central directory record repeated `n`
/// times, each copy naming the same local header.
fn overlapping(zip: &[u8], n: usize) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06");
    let cd_size = u32::from_le_bytes(zip[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let cd_at = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let record = &zip[cd_at..cd_at + cd_size];
    let mut out = zip[..cd_at].to_vec();
    for i in 0..n {
        // A name of its own per copy (four digits over the four of "z000"),
        // as in the published overlap bombs, so none hides another.
        let mut r = record.to_vec();
        r[46..50].copy_from_slice(format!("{i:04}").as_bytes());
        out.extend_from_slice(&r);
    }
    let mut end = zip[eocd..].to_vec();
    end[8..10].copy_from_slice(&(n as u16).to_le_bytes());
    end[10..12].copy_from_slice(&(n as u16).to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size * n) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn a_tar_long_name_claiming_gigabytes_is_refused_in_little_memory() {
    let (tmp, ev) = evidence();
    // A GNU long-name record declaring 1 GiB, then (sparse) zeros: the tar
    // reader would hold the whole "name" in memory.
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(1 << 30);
    h.set_mode(0o644);
    h.set_cksum();
    let path = ev.join("long.tar");
    let f = std::fs::File::create(&path).unwrap();
    (&f).write_all(h.as_bytes()).unwrap();
    f.set_len(512 + (1u64 << 30) + 1024).unwrap();
    drop(f);
    let case = tmp.path().join("case");
    let (code, secs, peak) = timed_scan(&ev, &case, &["--threads", "2"]);
    eprintln!("long name: {secs:.1} s, peak {peak:.0} MiB");
    assert_eq!(code, 0);
    assert!(peak < 512.0, "{peak} MiB");
    let rows = read_rows(&case.join("report.csv"));
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]["note"].contains("KiB of tar metadata"),
        "{:?}",
        rows[0]
    );
    assert!(!rows[0]["md5"].is_empty());
    assert_verified(&case);
}

#[test]
fn long_names_and_pax_records_in_every_entry_are_read_and_sparse_holes_are_metered() {
    if !tools("tar_metadata", &["python3", "tar"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // 1000 symbolic links with 2000-character names and targets (GNU long
    // names and links: 4 KiB of metadata each, 4 MB in all), and 2000 files
    // with 4 KB of pax records each: legitimate, read to the end.
    sh(&format!(
        "cd {e} && python3 -c \"
import tarfile, io
t = tarfile.open('gnu.tar', 'w', format=tarfile.GNU_FORMAT)
for i in range(1000):
    x = tarfile.TarInfo(('%04d' % i) + 'n' * 1996); x.type = tarfile.SYMTYPE; x.linkname = 't' * 2000
    t.addfile(x)
t.close()
t = tarfile.open('pax.tar', 'w', format=tarfile.PAX_FORMAT)
for i in range(2000):
    x = tarfile.TarInfo('f%04d' % i); x.size = 1; x.pax_headers = {{'comment': 'c' * 4000}}
    t.addfile(x, io.BytesIO(b'x'))
t.close()\" && truncate -s 4G {t}/big.img && printf data | dd of={t}/big.img bs=1 seek=1000000 conv=notrunc 2>/dev/null \
         && tar -S -cf sparse.tar -C {t} big.img",
        e = q(&ev),
        t = q(t)
    ));
    let case = t.join("case");
    let (code, secs, peak) = timed_scan(&ev, &case, &["--threads", "2"]);
    eprintln!("tar metadata: {secs:.1} s, peak {peak:.0} MiB");
    assert_eq!(code, 0);
    let rows = read_rows(&case.join("report.csv"));
    let count = |p: &str| rows.iter().filter(|r| r["path"].starts_with(p)).count();
    assert_eq!(count("/gnu.tar\\>"), 1000);
    assert_eq!(count("/pax.tar\\>"), 2000);
    for r in rows.iter().filter(|r| !r["path"].contains("\\>")) {
        assert!(!r["note"].contains("metadata"), "{r:?}");
    }
    // A 4 GiB sparse file the tar holds in a few bytes: its holes count as
    // expanded, so the ratio stops it within moments.
    let big = rows
        .iter()
        .find(|r| r["path"] == "/sparse.tar\\>big.img")
        .unwrap();
    assert!(big["note"].contains("(--archive-ratio)"), "{big:?}");
    assert!(big["md5"].is_empty());
    assert!(secs < 30.0, "{secs} s");
    assert!(peak < 512.0, "{peak} MiB");
    assert_verified(&case);
}

#[test]
fn nested_streams_share_decoder_memory_by_what_they_declare() {
    if !tools("decoder_memory", &["zip", "tar", "xz"]) {
        return;
    }
    let (tmp, ev) = evidence();
    let t = tmp.path();
    // Four tar.xz, each made with xz -9e (a 64 MiB dictionary declared), one
    // inside the other, in a zip: 4 x 72 MiB, within the 1 GiB they share.
    write(t, "w/l0/core.txt", b"at the bottom\n");
    sh(&format!(
        "cd {w} && tar cf - l0 | xz -9e > l1.tar.xz && mkdir l1 && mv l1.tar.xz l1/ \
         && tar cf - l1 | xz -9e > l2.tar.xz && mkdir l2 && mv l2.tar.xz l2/ \
         && tar cf - l2 | xz -9e > l3.tar.xz && mkdir l3 && mv l3.tar.xz l3/ \
         && tar cf - l3 | xz -9e > l4.tar.xz && zip -q -0 {e}/deep.zip l4.tar.xz",
        w = q(&t.join("w")),
        e = q(&ev)
    ));
    let s = scan(&ev, &t.join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let core = s
        .rows()
        .into_iter()
        .find(|r| r["path"].ends_with("l0/core.txt"))
        .expect("the bottom file has its row");
    assert_eq!(core["md5"], md5_hex(b"at the bottom\n"));
    assert_verified(&s.dir);
}

#[test]
fn archives_that_contain_themselves_are_read_once() {
    use std::io::Read;
    let zip = quine::zip("quine.zip");
    let gz = quine::gzip();
    // Quines indeed: the zip library and gzip give each back as its content.
    let mut member = Vec::new();
    zip::ZipArchive::new(std::io::Cursor::new(&zip))
        .unwrap()
        .by_index(0)
        .unwrap()
        .read_to_end(&mut member)
        .unwrap();
    assert_eq!(member, zip);
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut content)
        .unwrap();
    assert_eq!(content, gz);
    let (tmp, ev) = evidence();
    std::fs::write(ev.join("quine.zip"), &zip).unwrap();
    std::fs::write(ev.join("quine.gz"), &gz).unwrap();
    // A quine inside another zip: read once below it.
    std::fs::write(
        ev.join("wrapped.zip"),
        zip_of(&[("q.zip".into(), zip.clone())]),
    )
    .unwrap();
    let case = tmp.path().join("case");
    scan_in_seconds_and_bounded_memory(&ev, &case, "quines");
    let rows = read_rows(&case.join("report.csv"));
    let under = |p: &str| -> Vec<&Row> {
        rows.iter()
            .filter(|r| r["path"] == p || r["path"].starts_with(&format!("{p}\\>")))
            .collect()
    };
    let again = "it holds an archive it is inside (the same digests): not read again";
    let md5 = md5_hex(&zip);
    for (top, inner) in [
        ("/quine.zip", "/quine.zip\\>quine.zip"),
        ("/wrapped.zip\\>q.zip", "/wrapped.zip\\>q.zip\\>quine.zip"),
    ] {
        let rows = under(top);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0]["md5"], md5);
        assert_eq!(rows[1]["path"], inner);
        assert_eq!(rows[1]["md5"], md5);
        assert!(rows[1]["note"].contains(again), "{:?}", rows[1]);
    }
    assert_eq!(under("/wrapped.zip").len(), 3);
    // A compressed stream is read as it streams, its digests known only at
    // its end: a gzip quine is stopped by the depth limit, 8 deep.
    let gz_rows = under("/quine.gz");
    assert_eq!(gz_rows.len(), 9, "{gz_rows:?}");
    assert!(gz_rows.iter().all(|r| r["md5"] == md5_hex(&gz)));
    assert!(
        gz_rows[8]["note"].contains("(--archive-depth)"),
        "{:?}",
        gz_rows[8]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["archives"]["limits_reached"]["depth"], 1,
        "{summary}"
    );
    assert_verified(&case);
}
