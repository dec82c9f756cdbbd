//! Digests agree with independent tools: every MD5 and SHA-1 in report.csv for a
//! generated tree of a few thousand files is compared with coreutils md5sum and
//! sha1sum.

mod util;

use std::collections::BTreeMap;
use util::*;

fn tool_digests(root: &std::path::Path, tool: &str) -> BTreeMap<String, String> {
    // Names are plain ASCII here, so the tool's output needs no unescaping.
    let out = sh(&format!(
        "cd '{}' && find . -type f -print0 | xargs -0 {tool}",
        root.display()
    ));
    out.lines()
        .map(|l| {
            let (digest, name) = l.split_once("  ").expect("md5sum line");
            (name.trim_start_matches('.').to_string(), digest.to_string())
        })
        .collect()
}

#[test]
fn digests_match_md5sum_and_sha1sum() {
    if !have("md5sum") || !have("sha1sum") {
        return skip(
            "digests_match_md5sum_and_sha1sum",
            "md5sum/sha1sum not installed",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let mut state = 0x9e3779b97f4a7c15u64;
    for i in 0..3000u32 {
        // Sizes cluster around block and buffer boundaries, with a few large files.
        let size = match i % 10 {
            0 => 0,
            1 => 55 + (i as usize % 3),
            2 => 63 + (i as usize % 3),
            3 => 4095 + (i as usize % 3),
            4 => 262_143 + (i as usize % 3),
            9 if i % 300 == 9 => 3_000_000 + i as usize,
            _ => (i as usize * 7919) % 20_000,
        };
        let data: Vec<u8> = (0..size)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        write(&ev, format!("t{}/u{}/file-{i}.dat", i % 13, i % 5), &data);
    }
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let rows = s.rows();
    assert_eq!(rows.len(), 3000);
    let md5 = tool_digests(&ev, "md5sum");
    let sha1 = tool_digests(&ev, "sha1sum");
    let mut differences = 0;
    for r in &rows {
        if md5.get(&r["path"]) != Some(&r["md5"]) || sha1.get(&r["path"]) != Some(&r["sha1"]) {
            differences += 1;
            eprintln!("differs: {}", r["path"]);
        }
    }
    eprintln!(
        "compared {} files with md5sum and sha1sum: {differences} differences",
        rows.len()
    );
    assert_eq!(differences, 0);
    assert_eq!(md5.len(), 3000);
}
