//! Mutation fuzzing of the hash-set importers: every format's files (a small
//! corpus written here, plus the real samples in `../shared/samples` when
//! present) are mutated with a seeded generator (bit flips, inserted and deleted
//! bytes, cut files, repeated and shuffled lines, line ends and byte-order marks
//! and header lines in odd places, splices of two formats) and imported. Every
//! import must end in an index or an error: no panic, no hang, and nothing left
//! in the output folder but a complete index.
//!
//! The test runs a short seeded pass (`HASHSWEEP_FUZZ_CASES`, default 3,000;
//! `HASHSWEEP_FUZZ_SEED` to vary it). `scripts/fuzz-hashsets` runs long passes.

mod util;

use hashsweep::hashset::formats::encase;
use hashsweep::hashset::{self, HashSetLookup, Role};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A small, fast, seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Byte strings that matter to some parser, inserted whole.
const TOKENS: &[&[u8]] = &[
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\0",
    b",",
    b";",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"%%%% HASHDEEP-1.0\n",
    b"%%%% size,md5,sha256,filename\n",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xef\xbb\xbf",
    b"\xff",
    b"MD5 (",
    b") = ",
    b"\"SHA-1\",\"MD5\"",
    b"\"MD5\":",
    b"odata.",
    b"PK\x03\x04",
    b"SQLite format 3\0",
    b"HASH\r\n\xff\0",
    b"18446744073709551616",
    b"-1",
    b"d41d8cd98f00b204e9800998ecf8427e",
    b"900150983cd24fb0d6963f7d28e17f72",
];

fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(4) {
        // Where parsers look hardest: the start of the file and of lines.
        let at = match rng.below(5) {
            0 => 0,
            1 | 2 => {
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(
                        d.iter()
                            .enumerate()
                            .filter(|(_, &b)| b == b'\n')
                            .map(|(i, _)| i + 1),
                    )
                    .collect();
                starts[rng.below(starts.len())]
            }
            _ => rng.below(d.len() + 1),
        };
        match rng.below(12) {
            11 => {
                // Indent a line (copied and pasted, or re-wrapped by a mailer).
                let pad: &[u8] = [&b" "[..], b"  ", b"\t", b"\xc2\xa0"][rng.below(4)];
                d.splice(at..at, pad.iter().copied());
            }
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = rng.next() as u8;
            }
            2 => d.insert(at, rng.next() as u8),
            3 if !d.is_empty() => {
                let len = 1 + rng.below(16.min(d.len() - at.min(d.len() - 1)));
                let at = at.min(d.len() - 1);
                d.drain(at..(at + len).min(d.len()));
            }
            4 => d.truncate(at),
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                d.splice(at..at, t.iter().copied());
            }
            6 if !d.is_empty() => {
                // Repeat a stretch (a line, a record, a header).
                let from = rng.below(d.len());
                let len = 1 + rng.below(200.min(d.len() - from));
                let piece = d[from..from + len].to_vec();
                d.splice(at.min(d.len())..at.min(d.len()), piece);
            }
            7 => {
                // Swap two lines.
                let mut lines: Vec<Vec<u8>> =
                    d.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
                if lines.len() > 1 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                }
                d = lines.join(&b'\n');
            }
            8 => {
                // Line ends all changed: LF to CR, or to CRLF.
                let to: &[u8] = if rng.below(2) == 0 { b"\r" } else { b"\r\n" };
                d = d.split(|&b| b == b'\n').collect::<Vec<_>>().join(to);
            }
            9 => {
                // Splice the head of another format's file in.
                let len = rng.below(other.len().min(400) + 1);
                d.splice(at..at, other[..len].iter().copied());
            }
            _ => {
                // As UTF-16 (either order), with a stray byte sometimes.
                let be = rng.below(2) == 0;
                let text = String::from_utf8_lossy(&d).into_owned();
                let mut out = if be {
                    vec![0xfe, 0xff]
                } else {
                    vec![0xff, 0xfe]
                };
                for u in text.encode_utf16() {
                    out.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
                }
                if rng.below(2) == 0 {
                    let i = rng.below(out.len() + 1);
                    out.insert(i, rng.next() as u8);
                }
                d = out;
            }
        }
    }
    d
}

const MD5_A: &str = "9497acf3cf8a2e90ae82dae37b6373e4";
const SHA1_A: &str = "00d1034546f530d746131ce2a28a052db21652ec";
const SHA256_A: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/// A small file of every format, written here.
fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut c: Vec<(String, Vec<u8>)> = vec![
        ("plain.txt".into(), format!("# list\n{MD5_A}\n{SHA1_A}\n{SHA256_A}\n").into()),
        (
            "md5sum.md5".into(),
            format!("{MD5_A} *bin.exe\n\\{MD5_A}  back\\\\slash\\nnewline\n").into(),
        ),
        ("bsd.txt".into(), format!("MD5 (a b) = {MD5_A}\nSHA1 (x) = {SHA1_A}\n").into()),
        ("md5deep.txt".into(), format!("   503  {MD5_A}  /x/a.out\n").into()),
        (
            "hashdeep.txt".into(),
            format!("%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## Invoked from: /x\n503,{MD5_A},{SHA256_A},/a, b.txt\n").into(),
        ),
        (
            "nsrl.txt".into(),
            format!("\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n\"{}\",\"{}\",\"CABEC7CD\",\"a\",503,1,\"WIN\",\"\"\r\n", SHA1_A.to_uppercase(), MD5_A.to_uppercase()).into(),
        ),
        (
            "hashkeeper.hsh".into(),
            format!("\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\"\n4151044,671,\"a.pdb\",,\"{MD5_A}\",503\n").into(),
        ),
        ("icse.csv".into(), format!("MD5;SHA1;PhotoDNA;Image ID\r\n{MD5_A};{SHA1_A};AAAA;1\r\n").into()),
        (
            "vics.json".into(),
            format!(r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media","value":[{{"MediaID":"1","Category":"1","MD5":"{MD5_A}","SHA1":"{SHA1_A}","MediaSize":"503","AlternativeHashes":[{{"HashName":"SHA1","HashValue":"{SHA1_A}"}}]}}]}}"#).into(),
        ),
    ];
    let md5: [u8; 16] = hashsweep::digest::from_hex(MD5_A.as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    c.push((
        "encase.hash".into(),
        encase::build("Set", "Bad", &[md5, [7; 16]]),
    ));
    let db = dir.join("rdsv3.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE FILE (sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR, file_name VARCHAR, file_size INTEGER, package_id INTEGER);
         CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5 FROM FILE;
         INSERT INTO FILE VALUES ('{SHA256_A}', '{SHA1_A}', '{MD5_A}', 'f', 503, 1);"
    ))
    .unwrap();
    drop(conn);
    c.push(("rdsv3.db".into(), std::fs::read(&db).unwrap()));
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/hashsets");
    match std::fs::read_dir(&samples) {
        Ok(entries) => {
            for e in entries.flatten() {
                let data = std::fs::read(e.path()).unwrap();
                // The large ones are cut: the parsers see their heads.
                c.push((
                    e.file_name().to_string_lossy().into_owned(),
                    data[..data.len().min(64 << 10)].to_vec(),
                ));
            }
        }
        Err(_) => util::skip(
            "fuzz corpus: the real sample sets",
            "sample not present (../shared/samples); fuzzing the built-in corpus only",
        ),
    }
    c
}

/// What one import of a mutant did, checked; `Err` describes a defect.
fn one_case(dir: &Path, input: &Path, lenient: bool) -> Result<(), String> {
    let out = dir.join("out.hsx");
    let result = std::panic::catch_unwind(|| {
        hashset::import_file(
            &[input.to_path_buf()],
            None,
            Role::Alert,
            lenient,
            None,
            &out,
            &std::sync::Mutex::new(None),
        )
    })
    .map_err(|p| {
        let what = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("panicked: {what}")
    })?;
    let mut left: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != input)
        .collect();
    left.sort();
    match result {
        Ok(imported) => {
            if left != [out.clone()] {
                return Err(format!("after an import, the folder holds {left:?}"));
            }
            let set = hashset::index::IndexSet::open(&out).map_err(|e| format!("reopen: {e}"))?;
            set.verify().map_err(|e| format!("verify: {e}"))?;
            if set.info().counts.entries != imported.info.counts.entries {
                return Err("the index reopened with other counts".into());
            }
            std::fs::remove_file(&out).unwrap();
        }
        Err(e) => {
            if !left.is_empty() {
                return Err(format!("a failed import left {left:?} ({e})"));
            }
            if e.to_string().is_empty() {
                return Err("an error without a message".into());
            }
        }
    }
    Ok(())
}

/// Runs `cases` mutants from `seed`; returns the defects found.
pub fn fuzz(cases: u64, seed: u64, per_case: Duration) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = corpus(tmp.path());
    let work = tmp.path().join("work");
    let mut defects = Vec::new();
    for case in 0..cases {
        let mut rng = Rng(seed.wrapping_add(case).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (name, base) = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())].1;
        let mutant = mutate(&mut rng, base, other);
        let lenient = rng.below(3) == 0;
        std::fs::create_dir_all(&work).unwrap();
        let input = work.join(format!("case-{case}-{name}"));
        std::fs::write(&input, &mutant).unwrap();
        let (tx, rx) = mpsc::channel();
        let (w, i) = (work.clone(), input.clone());
        std::thread::spawn(move || {
            let _ = tx.send(one_case(&w, &i, lenient));
        });
        let what = format!("seed {seed} case {case} ({name}, lenient {lenient})");
        match rx.recv_timeout(per_case) {
            Ok(Ok(())) => {}
            Ok(Err(defect)) => {
                let keep = std::env::temp_dir().join(format!("hashsweep-fuzz-{seed}-{case}"));
                let _ = std::fs::write(&keep, &mutant);
                defects.push(format!(
                    "{what}: {defect} (input kept at {})",
                    keep.display()
                ));
            }
            Err(_) => {
                let keep = std::env::temp_dir().join(format!("hashsweep-fuzz-{seed}-{case}"));
                let _ = std::fs::write(&keep, &mutant);
                defects.push(format!(
                    "{what}: still running after {per_case:?}: a hang (input kept at {})",
                    keep.display()
                ));
                // The stuck thread still holds the folder: start another.
                return defects;
            }
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    defects
}

#[test]
fn mutated_hash_sets_never_panic_hang_or_leave_files() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let cases = env("HASHSWEEP_FUZZ_CASES", 3000);
    let seed = env("HASHSWEEP_FUZZ_SEED", 20261124);
    let started = std::time::Instant::now();
    // A panic inside an import is caught and reported as a defect; keep the
    // default hook from printing each.
    std::panic::set_hook(Box::new(|_| {}));
    let defects = fuzz(cases, seed, Duration::from_secs(30));
    let _ = std::panic::take_hook();
    eprintln!(
        "fuzz: {cases} mutants from seed {seed} in {:.1} s, {} defects",
        started.elapsed().as_secs_f64(),
        defects.len()
    );
    assert!(defects.is_empty(), "{}", defects.join("\n"));
}
