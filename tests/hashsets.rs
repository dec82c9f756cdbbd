//! The hash-set library: every format imports (with the pitfalls real files
//! have), real sample files import with known counts, malformed input fails with
//! its location and leaves nothing, and an index scans exactly like its sources.

mod util;

use hashsweep::hashset::category::Category;
use hashsweep::hashset::formats::encase;
use hashsweep::hashset::index::IndexSet;
use hashsweep::hashset::{Algo, HashSetLookup, SetEntry};
use std::ffi::OsStr;
use std::path::Path;
use util::*;

fn hashset(args: &[&str]) -> (i32, String, String) {
    let args: Vec<&OsStr> = std::iter::once(OsStr::new("hashset"))
        .chain(args.iter().map(OsStr::new))
        .collect();
    let out = run(&args);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn import(inputs: &[&Path], output: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = vec!["import".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.push("--output".into());
    args.push(output.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    hashset(&refs)
}

fn find(set: &IndexSet, hex: &str) -> Vec<SetEntry> {
    let bytes = hashsweep::digest::from_hex(hex.as_bytes()).unwrap();
    let mut out = Vec::new();
    set.find(Algo::from_hex_len(hex.len()).unwrap(), &bytes, &mut out);
    out
}

const MD5_A: &str = "9497acf3cf8a2e90ae82dae37b6373e4";
const SHA1_A: &str = "00d1034546f530d746131ce2a28a052db21652ec";
const MD5_B: &str = "2193697c470774ea58da24b3bac5fcde";
const SHA1_B: &str = "0000002d9d62aebe1e0e9db6c4c4c7c16a163d2c";
const SHA256_A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// Every format, with the pitfalls of real files, imported by the binary.
#[test]
fn every_format_imports_with_its_pitfalls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let up = |s: &str| s.to_uppercase();
    let mut fixtures: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    // NSRL 2.x: quoted Char fields, unquoted integers, CRLF, a raw-byte name, a
    // repeated hash, the empty file, no final newline.
    fixtures.push(("nsrl", "nsrl2.txt", format!(
        "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n\
\"{}\",\"{}\",\"CABEC7CD\",\"INFODESK.IC$\",503,1,\"WIN\",\"\"\r\n\
\"{}\",\"{}\",\"CABEC7CD\",\"infodesk.ico\",503,2,\"WIN\",\"\"\r\n\
\"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\",\"D41D8CD98F00B204E9800998ECF8427E\",\"00000000\",\"    ___\",0,7828,\"OS8\",\"\"\r\n\
\"{}\",\"{}\",\"FFFFFFFF\",\"RAWNAME\",4109,11063,\"358\",\"\"",
        up(SHA1_A), up(MD5_A), up(SHA1_A), up(MD5_A), up(SHA1_B), up(MD5_B)).replace("RAWNAME", "n\u{e9}").into_bytes()));
    // NSRL 1.5 column order.
    fixtures.push(("nsrl", "nsrl15.txt", format!(
        "\"SHA-1\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"MD4\",\"MD5\",\"CRC32\",\"SpecialCode\"\n\
\"{}\",\"INFODESK.IC$\",503,1,\"WIN\",\"00000000000000000000000000000000\",\"{}\",\"CABEC7CD\",\"\"\n", up(SHA1_A), up(MD5_A)).into_bytes()));
    // VICS 2.0 Media: numbers and booleans as strings.
    fixtures.push(("vics", "vics2.json", format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[
{{"MediaID":"1","Category":"1","MD5":"{}","SHA1":"{}","MediaSize":"503","IsDistributed":"true","VictimIdentified":false}},
{{"MediaID":2,"Category":0,"MD5":"{}","MediaSize":4109}}]}}"#, up(MD5_A), up(SHA1_A), MD5_B).into_bytes()));
    // VICS 2.0 UK Cases shape, SHA1 only in AlternativeHashes.
    fixtures.push(("vics", "caid.json", format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases","value":[{{"CaseID":7,"Media":[
{{"Category":2,"MD5":"{MD5_A}","AlternativeHashes":[{{"HashName":"SHA1","HashValue":"{SHA1_A}"}}]}}]}}]}}"#).into_bytes()));
    // VICS 1.3 in UTF-16LE with a byte-order mark.
    let v13 = format!(
        r#"{{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media","value":[{{"MD5":"{MD5_B}","Category":3}}]}}"#
    );
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(v13.encode_utf16().flat_map(u16::to_le_bytes));
    fixtures.push(("vics", "vics13-utf16.json", utf16));
    fixtures.push((
        "icse",
        "icse.csv",
        format!(
            "MD5;SHA1;PhotoDNA;Image ID\r\n{};{};AAAA;1\r\n",
            up(MD5_A),
            up(SHA1_A)
        )
        .into_bytes(),
    ));
    fixtures.push(("hashkeeper", "set.hsh", format!(
        "\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\",\"date_modified\",\"time_modified\",\"time_zone\",\"comments\",\"date_accessed\",\"time_accessed\"\n\
4151044,671,\"acsetups.pdb\",,\"{}\",503,,,,,,\n\n", up(MD5_A)).into_bytes()));
    let md5_a: [u8; 16] = hashsweep::digest::from_hex(MD5_A.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    fixtures.push((
        "encase",
        "set.hash",
        encase::build("Notable files", "Bad", &[md5_a]),
    ));
    fixtures.push(("hashdeep", "set.hashdeep", format!(
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /x\n503,{MD5_A},{SHA256_A},/a, b.txt\n").into_bytes()));
    fixtures.push((
        "md5sum",
        "set.md5",
        format!("{MD5_A} *bin.exe\n\\{MD5_B}  back\\\\slash\\nnewline\nMD5 (x) = {MD5_A}\n")
            .into_bytes(),
    ));
    fixtures.push((
        "plain",
        "set.txt",
        format!("# list\n{}\n\n{SHA1_B}\n", up(MD5_A)).into_bytes(),
    ));

    for (format, name, data) in &fixtures {
        let src = dir.join(name);
        std::fs::write(&src, data).unwrap();
        let out = dir.join(format!("{name}.hsx"));
        let (code, stdout, stderr) = import(&[&src], &out, &["--format", format]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(stdout.contains("imported set"), "{stdout}");
    }
    let open = |n: &str| IndexSet::open(&dir.join(format!("{n}.hsx"))).unwrap();

    let s = open("nsrl2.txt");
    assert_eq!(s.info().format, "nsrl-rds-2");
    let c = &s.info().counts;
    assert_eq!(
        (
            c.records,
            c.entries,
            c.duplicates,
            c.empty_file_digests_dropped
        ),
        (4, 2, 1, 2)
    );
    assert_eq!(find(&s, MD5_A)[0].size, Some(503));
    assert_eq!(find(&s, SHA1_B).len(), 1);
    assert_eq!(open("nsrl15.txt").info().format, "nsrl-rds-1.5");
    assert_eq!(find(&open("nsrl15.txt"), SHA1_A).len(), 1);

    let s = open("vics2.json");
    assert_eq!(s.info().format, "vics-2.0-us");
    let a = find(&s, SHA1_A);
    assert_eq!(
        (a[0].category, a[0].size),
        (Some(Category::Us(1)), Some(503))
    );
    assert_eq!(find(&s, MD5_B)[0].category, Some(Category::Us(0)));
    let s = open("caid.json");
    assert_eq!(find(&s, SHA1_A)[0].category, Some(Category::Uk(2)));
    assert_eq!(
        open("vics13-utf16.json").info().format,
        "vics-1.3 (UTF-16LE)"
    );
    assert_eq!(
        find(&open("vics13-utf16.json"), MD5_B)[0].category,
        Some(Category::Us(3))
    );
    assert!(find(&open("icse.csv"), SHA1_A)[0].md5.is_some());
    assert_eq!(find(&open("set.hsh"), MD5_A)[0].size, Some(503));
    assert!(open("set.hash")
        .info()
        .format
        .starts_with("encase (name \"Notable files\""));
    assert_eq!(find(&open("set.hash"), MD5_A).len(), 1);
    assert!(find(&open("set.hashdeep"), SHA256_A)[0].md5.is_some());
    let s = open("set.md5");
    assert_eq!(
        s.info().counts.entries,
        2,
        "the same MD5 twice is one entry"
    );
    assert_eq!(find(&s, MD5_B).len(), 1);
    assert_eq!(open("set.txt").info().counts.entries, 2);

    // Several inputs merge into one set; a wrong --format is refused.
    let merged = dir.join("merged.hsx");
    let (code, _, err) = import(
        &[&dir.join("nsrl2.txt"), &dir.join("vics2.json")],
        &merged,
        &["--name", "merged"],
    );
    assert_eq!(code, 0, "{err}");
    let m = IndexSet::open(&merged).unwrap();
    assert_eq!(m.info().name, "merged");
    assert_eq!(m.info().sources.len(), 2);
    assert_eq!(
        find(&m, MD5_A).len(),
        2,
        "NSRL and VICS entries for the same file are kept apart"
    );
    // The same entry from two sources is one entry that remembers both.
    let both = dir.join("both.hsx");
    assert_eq!(
        import(&[&dir.join("set.txt"), &dir.join("set.md5")], &both, &[]).0,
        0
    );
    let b = IndexSet::open(&both).unwrap();
    let a = find(&b, MD5_A);
    assert_eq!((a.len(), a[0].sources), (1, 0b11));
    assert_eq!(find(&b, MD5_B)[0].sources, 0b10);
    assert_eq!(b.info().counts.duplicates, 2);
    let (code, out, _) = hashset(&["lookup", both.to_str().unwrap(), MD5_A]);
    assert_eq!(code, 0);
    assert!(
        out.contains("set.txt and ") && out.contains("set.md5"),
        "{out}"
    );
    let (code, _, err) = import(
        &[&dir.join("set.txt")],
        &dir.join("x.hsx"),
        &["--format", "vics"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("detected format plain, not the vics"), "{err}");
}

/// The real files in ../shared/samples import with the counts counted by hand.
#[test]
fn shared_samples_import_with_known_counts() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/hashsets");
    if !samples.is_dir() {
        return skip(
            "shared_samples_import_with_known_counts",
            "sample not present (../shared/samples)",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    // file, lenient, format, records, entries, md5, sha1, sha256, empty digests dropped
    type Expected = (
        &'static str,
        bool,
        &'static str,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
    );
    let expected: &[Expected] = &[
        (
            "hashdeep-sample-hashes_hashdeep.txt",
            false,
            "hashdeep",
            3,
            3,
            3,
            0,
            3,
            0,
        ),
        (
            "hashdeep-sample-hashes_hashkeeper_Z00236.hsh",
            false,
            "hashkeeper",
            6994,
            6994,
            6994,
            0,
            0,
            0,
        ),
        (
            "hashdeep-sample-hashes_md5deep-size.txt",
            false,
            "md5deep-size",
            4,
            4,
            4,
            0,
            0,
            0,
        ),
        (
            "hashdeep-sample-hashes_md5deep.txt",
            false,
            "md5sum",
            4,
            4,
            4,
            0,
            0,
            0,
        ),
        (
            "hashdeep-sample-hashes_nsrl_NSRL-1.5.txt",
            false,
            "nsrl-rds-1.5",
            218,
            138,
            138,
            138,
            0,
            0,
        ),
        (
            "hashdeep-sample-hashes_nsrl_NSRL-2.0.txt",
            false,
            "nsrl-rds-2",
            218,
            138,
            138,
            138,
            0,
            0,
        ),
        (
            "hashdeep-sample-hashes_nsrl_RDS-000001-20.zip",
            false,
            "nsrl-rds-2 (zip)",
            218,
            138,
            138,
            138,
            0,
            0,
        ),
        (
            "hashdeep-tests_testfiles_bsd-hashes.txt",
            false,
            "bsd-tag",
            5,
            5,
            5,
            0,
            0,
            0,
        ),
        (
            "hashdeep-tests_testfiles_known.txt",
            true,
            "md5sum",
            2,
            1,
            1,
            0,
            0,
            0,
        ),
        (
            "hashdeep-tests_testfiles_nsrlfile.txt",
            false,
            "nsrl-rds-2",
            2,
            1,
            1,
            1,
            0,
            2,
        ),
        (
            "nsrl-caid-vics12-BMP.json",
            false,
            "vics-1.2",
            718,
            718,
            718,
            718,
            0,
            0,
        ),
        (
            "nsrl-caid-vics12-GIF.json",
            false,
            "vics-1.2",
            462,
            462,
            462,
            462,
            0,
            0,
        ),
        (
            "vics20-example.json",
            false,
            "vics-2.0-default",
            2,
            2,
            2,
            1,
            0,
            0,
        ),
    ];
    for &(file, lenient, format, records, entries, md5, sha1, sha256, empty) in expected {
        let out = tmp.path().join(format!("{file}.hsx"));
        let extra: &[&str] = if lenient { &["--lenient"] } else { &[] };
        let (code, stdout, stderr) = import(&[&samples.join(file)], &out, extra);
        assert_eq!(code, 0, "{file}: {stderr}");
        let s = IndexSet::open(&out).unwrap();
        let c = &s.info().counts;
        assert_eq!(s.info().format, format, "{file}");
        assert_eq!(
            (
                c.records,
                c.entries,
                c.md5,
                c.sha1,
                c.sha256,
                c.empty_file_digests_dropped
            ),
            (records, entries, md5, sha1, sha256, empty),
            "{file}"
        );
        if lenient {
            assert_eq!(c.bad_records, 1);
            assert!(
                stdout.contains("line 2: `hello` is not a hex digest"),
                "{stdout}"
            );
        }
    }
    // The junk line of known.txt stops a strict import; the descriptor .hke holds no hashes.
    let (code, _, err) = import(
        &[&samples.join("hashdeep-tests_testfiles_known.txt")],
        &tmp.path().join("k.hsx"),
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("line 2"), "{err}");
    let (code, _, err) = import(
        &[&samples.join("hashdeep-sample-hashes_hashkeeper_Z00236.hke")],
        &tmp.path().join("h.hsx"),
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("descriptor"), "{err}");
}

fn rdsv3(path: &Path, full: bool, crc: bool) {
    let db = rusqlite::Connection::open(path).unwrap();
    if full {
        db.execute_batch(
            "CREATE TABLE PACKAGE_OBJECT (package_object_id INTEGER, package_id INTEGER, object_id INTEGER);
             CREATE TABLE METADATA (metadata_id NUMERIC UNIQUE NOT NULL, object_id INTEGER, key_hash VARCHAR NOT NULL,
               path VARCHAR NOT NULL, file_name VARCHAR NOT NULL, extension VARCHAR DEFAULT '' NOT NULL,
               bytes INTEGER NOT NULL, crc32 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, sha256 VARCHAR NOT NULL);
             CREATE VIEW FILE AS SELECT UPPER(md.sha256) AS sha256, UPPER(md.sha1) AS sha1, UPPER(md.md5) AS md5,
               CASE md.extension WHEN '' THEN md.file_name ELSE md.file_name||'.'||md.extension END AS file_name,
               md.bytes AS file_size, po.package_id FROM METADATA AS md, PACKAGE_OBJECT AS po WHERE md.object_id = po.object_id;",
        )
        .unwrap();
        for (i, (md5, sha1, size)) in [(MD5_A, SHA1_A, 503), (MD5_B, SHA1_B, 4109)]
            .iter()
            .enumerate()
        {
            db.execute(
                "INSERT INTO METADATA VALUES (?1, ?1, 'k', 'p', 'f', 'ext', ?2, '00', ?3, ?4, ?5)",
                rusqlite::params![i as i64, size, md5, sha1, format!("{:064x}", i + 1)],
            )
            .unwrap();
            for pkg in [1, 2] {
                db.execute(
                    "INSERT INTO PACKAGE_OBJECT VALUES (?1, ?2, ?3)",
                    rusqlite::params![i as i64 * 10 + pkg, pkg, i as i64],
                )
                .unwrap();
            }
        }
    } else {
        let crc_col = if crc { "crc32 VARCHAR NOT NULL," } else { "" };
        db.execute_batch(&format!(
            "CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, {crc_col}
               file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT NULL);
             CREATE TABLE PKG (package_id INTEGER, name VARCHAR);
             CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5 FROM FILE;"
        ))
        .unwrap();
        for (i, (md5, sha1, size)) in [
            (MD5_A, SHA1_A, 503),
            (MD5_B, SHA1_B, 4109),
            (MD5_B, SHA1_B, 4109),
        ]
        .iter()
        .enumerate()
        {
            let sha256 = format!("{:064X}", i.min(1) + 1);
            let crc_value = if crc { "'00', " } else { "" };
            db.execute(
                &format!("INSERT INTO FILE VALUES (?1, ?2, ?3, {crc_value}'f', ?4, ?5)"),
                rusqlite::params![
                    sha256,
                    sha1.to_uppercase(),
                    md5.to_uppercase(),
                    size,
                    i as i64
                ],
            )
            .unwrap();
        }
    }
}

#[test]
fn rdsv3_minimal_and_full_editions_import() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, full, crc, format) in [
        ("full.db", true, true, "nsrl-rdsv3-full"),
        ("minimal.db", false, true, "nsrl-rdsv3-minimal"),
        ("minimal-nocrc.db", false, false, "nsrl-rdsv3-minimal"),
    ] {
        let db = tmp.path().join(name);
        rdsv3(&db, full, crc);
        let out = tmp.path().join(format!("{name}.hsx"));
        let (code, _, err) = import(&[&db], &out, &["--role", "known-good", "--format", "rdsv3"]);
        assert_eq!(code, 0, "{name}: {err}");
        let s = IndexSet::open(&out).unwrap();
        assert_eq!(s.info().format, format);
        assert_eq!(
            s.info().counts.entries,
            2,
            "{name}: rows repeat per package and collapse"
        );
        let a = find(&s, MD5_A);
        assert_eq!((a[0].size, a[0].sha256.is_some()), (Some(503), true));
        assert_eq!(find(&s, SHA1_B).len(), 1);
    }
    // Another SQLite database is refused by name.
    let other = tmp.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE hashes (md5 BLOB);")
        .unwrap();
    let (code, _, err) = import(&[&other], &tmp.path().join("o.hsx"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("not NSRL RDSv3"), "{err}");
}

/// Malformed input of each format: exit 2, the file and location named, no
/// output (and no temporary file) left; --lenient imports the rest.
#[test]
fn malformed_inputs_fail_with_their_location_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sets");
    std::fs::create_dir_all(&dir).unwrap();
    let nsrl_head = "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n";
    let ctx = "\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media\"";
    let cases: Vec<(&str, Vec<u8>, &str, Option<u64>)> = vec![
        ("bad-nsrl.txt", format!("{nsrl_head}\"{SHA1_A}\",\"{MD5_A}\",\"0\",\"a\",1,1,\"W\",\"\"\n\"{SHA1_A}\",\"{MD5_A}\",\"0\",\"b\",x,1,\"W\",\"\"\n").into_bytes(), "line 3", Some(1)),
        ("bad-vics.json", format!("{{{ctx},\"value\":[{{\"MD5\":\"{MD5_A}\"}},{{\"MD5\":\"{MD5_B}\",\"MediaSize\":-3}}]}}").into_bytes(), "value[1]", Some(1)),
        ("bad-json.json", format!("{{{ctx},\"value\":[{{\"MD5\":\"{MD5_A}\"}},").into_bytes(), "line 1", None),
        ("bad-icse.csv", format!("MD5;SHA1\n{MD5_A};{SHA1_A}\nnothex;{SHA1_B}\n").into_bytes(), "line 3", Some(1)),
        ("bad-hk.hsh", format!("\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\"\n1,2,\"a\",,\"{MD5_A}\",5\n1,2,\"b\",,\"{MD5_A}\",5,9\n").into_bytes(), "line 3", Some(1)),
        ("bad-hashdeep.txt", format!("%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n5,{MD5_A},a\nfive,{MD5_B},b\n").into_bytes(), "line 4", Some(1)),
        ("bad-md5sum.txt", format!("{MD5_A}  a\n{}  b\n", &MD5_B[..31]).into_bytes(), "line 2", Some(1)),
        ("bad-encase.hash", {
            let mut e = encase::build("x", "y", &[[1; 16], [2; 16]]);
            e.pop();
            e
        }, "truncated", None),
    ];
    // An RDSv3 row with a malformed digest is named by its row.
    let db = dir.join("bad-rdsv3.db");
    rdsv3(&db, false, true);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO FILE VALUES ('00', 'XYZ', 'ABC', '0', 'f', 1, 9)",
            [],
        )
        .unwrap();
    let rds = std::fs::read(&db).unwrap();
    std::fs::remove_file(&db).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str, Option<u64>)> = cases
        .into_iter()
        .chain([("bad-rdsv3.db", rds, "FILE row 4", Some(2))])
        .collect();
    for (name, data, location, lenient_entries) in cases {
        let src = dir.join(name);
        std::fs::write(&src, &data).unwrap();
        let out = tmp.path().join("out.hsx");
        let (code, _, err) = import(&[&src], &out, &[]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(&src.display().to_string()) && err.contains(location),
            "{name}: {err}"
        );
        assert!(!out.exists(), "{name}: no index after a failed import");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "sets")
            .collect();
        assert!(leftovers.is_empty(), "{name}: left {leftovers:?}");
        if let Some(n) = lenient_entries {
            let (code, stdout, err) = import(&[&src], &out, &["--lenient"]);
            assert_eq!(code, 0, "{name}: {err}");
            assert!(stdout.contains("bad records      1"), "{name}: {stdout}");
            assert_eq!(
                IndexSet::open(&out).unwrap().info().counts.entries,
                n,
                "{name}"
            );
            std::fs::remove_file(&out).unwrap();
        }
    }
}

/// A scan that uses .hsx indexes writes the same report as one using the raw files.
#[test]
fn scan_with_indexes_equals_scan_with_raw_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let files: Vec<(&str, &[u8])> = vec![
        ("Users/a/1.jpg", b"category one"),
        ("Users/a/2.jpg", b"non-pertinent"),
        ("Users/a/3.jpg", b"uncategorised"),
        ("Windows/k.dll", b"known software"),
        ("Windows/c.dll", b"md5 matches, sha1 does not"),
        ("other.txt", b"nothing"),
    ];
    for (p, d) in &files {
        write(&ev, p, d);
    }
    let sets = tmp.path().join("sets");
    std::fs::create_dir_all(&sets).unwrap();
    let vics = sets.join("vic.json");
    std::fs::write(&vics, format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[
{{"Category":1,"MD5":"{}","SHA1":"{}"}},{{"Category":0,"MD5":"{}"}},{{"MD5":"{}"}}]}}"#,
        md5_hex(b"category one"), sha1_hex(b"category one"), md5_hex(b"non-pertinent"), md5_hex(b"uncategorised"))).unwrap();
    let nsrl = sets.join("nsrl.txt");
    std::fs::write(&nsrl, format!(
        "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n\
\"{}\",\"{}\",\"0\",\"k.dll\",14,1,\"W\",\"\"\n\"{SHA1_A}\",\"{}\",\"0\",\"c.dll\",26,1,\"W\",\"\"\n",
        sha1_hex(b"known software"), md5_hex(b"known software"), md5_hex(b"md5 matches, sha1 does not"))).unwrap();
    let (vhsx, nhsx) = (sets.join("vic.hsx"), sets.join("nsrl.hsx"));
    assert_eq!(import(&[&vics], &vhsx, &[]).0, 0);
    assert_eq!(import(&[&nsrl], &nhsx, &["--role", "known-good"]).0, 0);

    let raw = scan(
        &ev,
        &tmp.path().join("raw"),
        &[
            "--hashset",
            vics.to_str().unwrap(),
            "--known-good",
            nsrl.to_str().unwrap(),
        ],
    );
    let idx = scan(
        &ev,
        &tmp.path().join("idx"),
        &[
            "--hashset",
            vhsx.to_str().unwrap(),
            "--hashset",
            nhsx.to_str().unwrap(),
        ],
    );
    assert_eq!(raw.code, 1, "{}", raw.stderr);
    assert_eq!(idx.code, 1, "{}", idx.stderr);
    let report = |s: &Scan| std::fs::read(s.dir.join("report.csv")).unwrap();
    assert_eq!(report(&raw), report(&idx));
    let r = raw.row("/Users/a/1.jpg");
    assert_eq!(
        (
            r["verdict"].as_str(),
            r["category"].as_str(),
            r["note"].as_str()
        ),
        ("alert", "US:1", "matched on md5+sha1")
    );
    assert_eq!(
        raw.row("/Users/a/2.jpg")["verdict"],
        "known-good",
        "US:0 is non-pertinent"
    );
    assert_eq!(raw.row("/Users/a/3.jpg")["category"], "uncategorised");
    assert_eq!(raw.row("/Windows/k.dll")["verdict"], "known-good");
    let r = raw.row("/Windows/c.dll");
    assert_eq!(r["verdict"], "conflict");
    assert!(
        r["note"].contains(&format!("sha1 {SHA1_A}")),
        "{}",
        r["note"]
    );
    // The audit header records the index checksum as the set's digest.
    let audit = std::fs::read_to_string(idx.dir.join("audit.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(audit.lines().next().unwrap()).unwrap();
    let info = IndexSet::open(&vhsx).unwrap();
    assert_eq!(header["hashsets"][0]["sha256"], info.info().sha256.as_str());
    assert_eq!(header["hashsets"][0]["sources"][0]["format"], "vics-2.0-us");
}

#[test]
fn lookup_exit_status_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("s.hashdeep");
    std::fs::write(&src, format!("%%%% HASHDEEP-1.0\n%%%% size,md5,sha1,sha256,filename\n503,{MD5_A},{SHA1_A},,a\n,{MD5_B},,{SHA256_A},b\n")).unwrap();
    let hsx = tmp.path().join("s.hsx");
    assert_eq!(import(&[&src], &hsx, &[]).0, 0);
    let h = hsx.to_str().unwrap();
    let (code, out, _) = hashset(&["lookup", h, MD5_A, &SHA256_A.to_uppercase()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("sha1 {SHA1_A}, size 503")), "{out}");
    let (code, out, _) = hashset(&["lookup", h, MD5_A, SHA1_B]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("{SHA1_B}  not in set")), "{out}");
    assert_eq!(hashset(&["lookup", h, "xyz"]).0, 2);
    let (code, out, _) = hashset(&["info", h]);
    assert_eq!(code, 0);
    assert!(out.contains("checksum       ok"), "{out}");

    // plain lists every digest; VICS re-imports to the same entries; hashdeep too.
    let plain = tmp.path().join("p.txt");
    assert_eq!(
        hashset(&[
            "export",
            h,
            "--format",
            "plain",
            "-o",
            plain.to_str().unwrap()
        ])
        .0,
        0
    );
    let mut lines: Vec<String> = std::fs::read_to_string(&plain)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    let mut want = vec![
        MD5_A.to_string(),
        MD5_B.to_string(),
        SHA1_A.to_string(),
        SHA256_A.to_string(),
    ];
    want.sort();
    assert_eq!(lines, want);
    let original: Vec<SetEntry> = IndexSet::open(&hsx).unwrap().entries().collect();
    for format in ["vics", "hashdeep"] {
        let file = tmp.path().join(format!("e.{format}"));
        assert_eq!(
            hashset(&[
                "export",
                h,
                "--format",
                format,
                "-o",
                file.to_str().unwrap()
            ])
            .0,
            0
        );
        let again = tmp.path().join(format!("again-{format}.hsx"));
        let (code, _, err) = import(&[&file], &again, &[]);
        assert_eq!(code, 0, "{format}: {err}");
        let back: Vec<SetEntry> = IndexSet::open(&again).unwrap().entries().collect();
        assert_eq!(back, original, "{format} round trip");
    }
    // A corrupted index is caught by info.
    let mut bytes = std::fs::read(&hsx).unwrap();
    let i = bytes.len() - 20;
    bytes[i] ^= 0xff;
    let bad = tmp.path().join("bad.hsx");
    std::fs::write(&bad, bytes).unwrap();
    let (code, out, _) = hashset(&["info", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("checksum       FAILED"), "{out}");
}
