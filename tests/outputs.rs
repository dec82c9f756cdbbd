//! `--jsonl`, `--dfxml` and `--stream` on a hostile tree (ESC, newline,
//! carriage return, markup, non-UTF-8 bytes, a character XML cannot hold),
//! read back by standard parsers; `verify` covers the new files.

mod util;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;
use util::*;

/// Names no output may lose or let break its syntax.
const HOSTILE: [&[u8]; 9] = [
    b"esc-\x1b[2J\x1b]0;pwned\x07.jpg",
    b"new\nline.txt",
    b"carriage\rreturn.txt",
    b"<fileobject>&amp;\"'.txt",
    b"bytes-\xff\xfe-not-utf8.bin",
    b"nonchar-\xef\xbf\xbe.txt",
    b"tab\tand\\backslash.txt",
    b"=formula.csv",
    b"\xe6\x97\xa5\xe6\x9c\xac.txt",
];

fn hostile_tree(ev: &Path) -> Vec<u8> {
    let bad = b"known picture".to_vec();
    for (i, name) in HOSTILE.iter().enumerate() {
        let mut rel = b"dir/".to_vec();
        rel.extend_from_slice(name);
        let data = if i == 0 {
            bad.clone()
        } else {
            format!("content {i}").into_bytes()
        };
        write(ev, &rel, &data);
    }
    write(ev, "Users/alice/empty", b"");
    std::os::unix::fs::symlink("dir", ev.join("link")).unwrap();
    std::fs::hard_link(ev.join("Users/alice/empty"), ev.join("hard")).unwrap();
    sh(&format!("mkfifo '{}'", ev.join("fifo").display()));
    bad
}

/// Every `fileobject` of a DFXML file as a standard XML parser reads it:
/// (filename, {digest type: value}).
fn parse_dfxml(path: &Path) -> Option<Vec<(String, BTreeMap<String, String>)>> {
    const SCRIPT: &str = r#"
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML}"
root = ET.parse(sys.argv[1]).getroot()
out = []
for fo in root.iter(ns + "fileobject"):
    digests = {h.get("type"): h.text for h in fo.iter(ns + "hashdigest")}
    out.append([fo.find(ns + "filename").text, digests])
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "the DFXML does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn jsonl_dfxml_and_stream_on_a_hostile_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let bad = hostile_tree(&ev);
    let set = tmp.path().join("set.md5");
    std::fs::write(&set, format!("{}\n", md5_hex(&bad))).unwrap();
    let case = tmp.path().join("case");
    let out = Command::new(bin())
        .arg("scan")
        .arg(&ev)
        .arg("--output")
        .arg(&case)
        .args([
            "--hashset",
            set.to_str().unwrap(),
            "--jsonl",
            "--dfxml",
            "--stream",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = Scan {
        code: 1,
        stderr: String::new(),
        dir: case.clone(),
    };
    let rows = s.rows();
    assert_eq!(rows.len(), HOSTILE.len() + 4);

    // --stream: stdout holds one JSON row per entry and nothing else.
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let mut streamed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(streamed.len(), rows.len());
    streamed.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));

    // report.jsonl: the rows of report.csv, in its order, typed.
    let jsonl = std::fs::read_to_string(case.join("report.jsonl")).unwrap();
    let json: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), rows.len());
    for (j, r) in json.iter().zip(&rows) {
        assert_eq!(j["path"], r["path"].as_str());
        assert_eq!(j["verdict"], r["verdict"].as_str());
        assert_eq!(j["size"], r["size"].parse::<u64>().unwrap());
        let md5 = (!r["md5"].is_empty()).then(|| r["md5"].clone());
        assert_eq!(j["md5"].as_str().map(String::from), md5);
        assert!(j["hashsets"].is_array());
    }
    assert_eq!(streamed, json, "the streamed rows are the report's");
    // Each line is one row: the newline in a name stays escaped inside JSON.
    assert_eq!(jsonl.matches('\n').count(), rows.len());

    // report.dfxml parses with a standard XML parser; every hashed file has
    // its fileobject with both digests; names come back byte for byte.
    let Some(objects) = parse_dfxml(&case.join("report.dfxml")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 to parse the DFXML"
        );
        return skip(
            "jsonl_dfxml_and_stream_on_a_hostile_tree (DFXML part)",
            "no python3",
        );
    };
    assert_eq!(objects.len(), rows.len());
    let by_name: BTreeMap<Vec<u8>, &BTreeMap<String, String>> = objects
        .iter()
        .map(|(name, d)| (hashsweep::pathfmt::unescape(name).expect("reversible"), d))
        .collect();
    for name in HOSTILE {
        let mut raw = b"/dir/".to_vec();
        raw.extend_from_slice(name);
        let d = by_name
            .get(&raw)
            .unwrap_or_else(|| panic!("no fileobject for {:?}", String::from_utf8_lossy(&raw)));
        let path = ev.join(std::ffi::OsStr::from_bytes(&raw[1..]));
        let data = std::fs::read(&path).unwrap();
        assert_eq!(d.get("md5"), Some(&md5_hex(&data)));
        assert_eq!(d.get("sha1"), Some(&sha1_hex(&data)));
    }
    let hashed = rows.iter().filter(|r| !r["md5"].is_empty()).count();
    assert_eq!(
        objects
            .iter()
            .filter(|(_, d)| d.contains_key("md5"))
            .count(),
        hashed
    );

    // verify covers the new files.
    let v = run(&[std::ffi::OsStr::new("verify"), case.as_os_str()]);
    let text = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ok      jsonl") && text.contains("ok      dfxml"),
        "{text}"
    );
    let manifest = std::fs::read_to_string(case.join("manifest.sha256")).unwrap();
    assert!(manifest.contains("  report.jsonl\n") && manifest.contains("  report.dfxml\n"));

    // A changed row in either, even with a manifest made again, is caught.
    for (file, edit, check) in [
        ("report.jsonl", "\"verdict\":\"alert\"", "jsonl"),
        ("report.dfxml", "<hashsweep:verdict>alert<", "dfxml"),
    ] {
        let d = tmp.path().join(format!("t-{check}"));
        sh(&format!("cp -a '{}' '{}'", case.display(), d.display()));
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        assert!(text.contains(edit), "{file}");
        std::fs::write(
            d.join(file),
            text.replacen(edit, &edit.replace("alert", "unmatched"), 1),
        )
        .unwrap();
        sh(&format!(
            "cd '{}' && sha256sum audit.jsonl hits.csv media.csv report.csv summary.json report.jsonl report.dfxml > manifest.sha256",
            d.display()
        ));
        let v = run(&[std::ffi::OsStr::new("verify"), d.as_os_str()]);
        let out = String::from_utf8_lossy(&v.stdout);
        assert_eq!(v.status.code(), Some(1), "{out}");
        assert!(out.contains(&format!("FAILED  {check}")), "{out}");
    }
    // A new file left out of the manifest is caught.
    let d = tmp.path().join("t-unlisted");
    sh(&format!("cp -a '{}' '{}'", case.display(), d.display()));
    sh(&format!(
        "cd '{}' && sha256sum audit.jsonl hits.csv media.csv report.csv summary.json report.dfxml > manifest.sha256",
        d.display()
    ));
    let v = run(&[std::ffi::OsStr::new("verify"), d.as_os_str()]);
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(out.contains("report.jsonl is not listed"), "{out}");
}

#[test]
fn without_the_flags_no_new_file_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a.txt", b"a");
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    for f in ["report.jsonl", "report.dfxml"] {
        assert!(!s.dir.join(f).exists(), "{f}");
    }
    assert_eq!(s.summary()["outputs"], serde_json::json!([]));
    // A stray report.jsonl is not taken for an output of the scan.
    std::fs::write(s.dir.join("report.jsonl"), "{}\n").unwrap();
    let v = run(&[std::ffi::OsStr::new("verify"), s.dir.as_os_str()]);
    let out = String::from_utf8_lossy(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{out}");
    assert!(out.contains("does not list it"), "{out}");
}

/// `--stream` to a reader that stops reading: the scan waits for it (every
/// row is delivered), but a SIGTERM still stops the scan at once, with an
/// interrupted case folder that verifies; and a write error other than a
/// closed pipe is warned about, not dropped.
#[test]
fn a_stalled_stream_reader_does_not_hold_back_a_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    for i in 0..6000 {
        write(
            &ev,
            format!("d{}/file-with-a-longish-name-{i:05}.txt", i % 20),
            format!("row {i}").as_bytes(),
        );
    }
    let case = tmp.path().join("case");
    let mut child = Command::new(bin())
        .args(["scan", "--quiet", "--stream", "--threads", "2"])
        .arg(&ev)
        .arg("--output")
        .arg(&case)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The pipe holds 64 KiB; 6,000 rows are far more. Nobody reads it.
    assert!(wait_until(30.0, || std::fs::metadata(
        case.join("journal.jsonl")
    )
    .is_ok_and(|m| m.len() > 0)));
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = wait_or_kill(
        &mut child,
        20.0,
        "scan --stream, reader stalled, after SIGTERM",
    );
    // Interrupted, or complete when every file had been read already (the
    // rows then wait only for the writer): either way, at once.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("summary.json")).unwrap()).unwrap();
    match out.status.code() {
        Some(130) => assert_eq!(summary["status"], "interrupted"),
        Some(0) => assert_eq!(summary["status"], "complete"),
        other => panic!("exit {other:?}: {}", String::from_utf8_lossy(&out.stderr)),
    }
    assert_verified(&case);

    // Standard output that cannot be written (a full disk): a warning.
    let case = tmp.path().join("case-full");
    let out = Command::new(bin())
        .args(["scan", "--quiet", "--stream"])
        .arg(&ev)
        .arg("--output")
        .arg(&case)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = std::fs::read_to_string(case.join("summary.json")).unwrap();
    assert!(
        summary.contains("--stream: writing to standard output failed"),
        "{summary}"
    );
}
