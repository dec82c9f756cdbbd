//! Altered copies of ThreatExchange's sample pictures (half size, thumbnail,
//! JPEG quality 40, PNG, grey, rotated 90, mirrored, brighter, a white box
//! pasted) and unrelated pictures (crops of other photos, synthetic ones),
//! made and hashed by the reference hasher (`scripts/pdq-altered`: Pillow and
//! the `pdqhash` package). A scan against the originals' reference hashes
//! must call every copy the reference itself puts within 31 bits (in some
//! orientation) `similar`, and never an unrelated picture.

mod util;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use util::{scan, skip};

#[test]
fn altered_copies_are_similar_and_unrelated_pictures_never() {
    let name = "altered_copies_are_similar_and_unrelated_pictures_never";
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let samples = root.join("../shared/samples/pdq");
    if !samples.join("expected.csv").is_file() {
        return skip(name, "../shared/samples/pdq absent");
    }
    let have_reference = Command::new("python3")
        .args(["-c", "import pdqhash, PIL, numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !have_reference {
        return skip(
            name,
            "python3 with pdqhash, Pillow and numpy not installed (pip install pillow numpy pdqhash)",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    let out = Command::new("python3")
        .arg(root.join("scripts/pdq-altered"))
        .arg(&ev)
        .arg("--samples")
        .arg(&samples)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The reference's rows, moved out of the evidence so it holds pictures only.
    let reference = tmp.path().join("reference.csv");
    std::fs::rename(ev.join("reference.csv"), &reference).unwrap();
    let rows: Vec<BTreeMap<String, String>> = csv::Reader::from_path(&reference)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect();
    let quality = |file: &str| -> u32 {
        rows.iter()
            .find(|r| r["file"] == file)
            .map_or(0, |r| r["quality"].parse().unwrap())
    };
    let mut set = String::from("id,pdq\n");
    for r in rows.iter().filter(|r| r["kind"] == "original") {
        if quality(&r["file"]) >= 50 {
            set += &format!("{},{}\n", r["file"], r["pdq"]);
        }
    }
    let set_path = tmp.path().join("originals.csv");
    std::fs::write(&set_path, set).unwrap();
    let s = scan(
        &ev,
        &tmp.path().join("case"),
        &["--hashset", set_path.to_str().unwrap()],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    let report: BTreeMap<String, BTreeMap<String, String>> = s
        .rows()
        .into_iter()
        .map(|r| (r["path"].trim_start_matches('/').to_string(), r))
        .collect();
    let (mut similar, mut unrelated) = (0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for r in &rows {
        let got = &report[&r["file"]];
        let kind = r["kind"].as_str();
        if kind == "unrelated" {
            assert_ne!(got["verdict"], "similar", "{}: {}", r["file"], got["note"]);
            unrelated += 1;
            continue;
        }
        let source = if kind == "original" {
            &r["file"]
        } else {
            &r["source"]
        };
        let expected = r["min_dihedral_distance"].parse::<u32>().unwrap() <= 31
            && quality(source) >= 50
            && r["quality"].parse::<u32>().unwrap() >= 50;
        if expected {
            assert_eq!(
                got["verdict"], "similar",
                "{} ({kind}, reference distance {}): pdq {} quality {}, note {:?}",
                r["file"], r["min_dihedral_distance"], got["pdq"], got["pdq_quality"], got["note"]
            );
            assert!(got["note"].starts_with("pdq distance "), "{}", got["note"]);
            similar += 1;
            kinds.insert(kind.to_string());
        }
    }
    // Every alteration was exercised, and the rotated and mirrored copies say so.
    for k in [
        "half",
        "thumbnail",
        "jpeg-q40",
        "png",
        "greyscale",
        "rotate90",
        "mirror",
        "brighter",
        "white-box",
    ] {
        assert!(
            kinds.contains(&format!("altered:{k}")),
            "no {k} copy within 31 bits"
        );
    }
    let rotated = &report["altered/bridge-mods/aaa-orig.rotate90.jpg"];
    assert!(
        rotated["note"].contains("rotated 90 degrees anticlockwise"),
        "{}",
        rotated["note"]
    );
    let mirrored = &report["altered/bridge-mods/aaa-orig.mirror.jpg"];
    assert!(
        mirrored["note"].contains("mirrored left to right"),
        "{}",
        mirrored["note"]
    );
    assert!(
        similar >= 100 && unrelated >= 15,
        "{similar} similar, {unrelated} unrelated"
    );
    eprintln!("{similar} altered copies similar, {unrelated} unrelated pictures not flagged");
}
