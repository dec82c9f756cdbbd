//! The journal's rows in report order (by path), in bounded memory: rows are
//! sorted in runs of at most a few tens of megabytes, each run spilled to a
//! temporary file in the case folder, and the runs merged. A small journal is
//! sorted in memory. Where a path has several rows (a row made again after an
//! interruption), the last one written stands.

use super::journal;
use crate::record::Record;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Bytes of rows sorted in memory at a time.
pub const RUN_BYTES: usize = 32 << 20;

/// A row waiting in a run: its path (the sort key), its place in the journal
/// (later wins), and its JSON line.
struct Pending {
    path: String,
    seq: u64,
    line: Vec<u8>,
}

/// Temporary run files, removed however the sort ends.
struct Runs(Vec<PathBuf>);

impl Drop for Runs {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn spill(dir: &Path, n: usize, rows: &mut Vec<Pending>) -> io::Result<PathBuf> {
    rows.sort_by(|a, b| a.path.cmp(&b.path).then(a.seq.cmp(&b.seq)));
    let path = dir.join(format!(".sort-run-{n}"));
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    for r in rows.drain(..) {
        // The sequence number leads each line: equal paths keep their order.
        w.write_all(format!("{} ", r.seq).as_bytes())?;
        w.write_all(&r.line)?;
    }
    w.flush()?;
    Ok(path)
}

/// One run being merged: its reader and its current row.
struct Run {
    r: BufReader<File>,
}

impl Run {
    fn next(&mut self) -> io::Result<Option<(Record, u64)>> {
        let mut line = Vec::new();
        if self.r.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        let space = line.iter().position(|&b| b == b' ').unwrap_or(0);
        let seq: u64 = std::str::from_utf8(&line[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("a damaged sort run"))?;
        let row: Record = serde_json::from_slice(&line[space + 1..]).map_err(io::Error::other)?;
        Ok(Some((row, seq)))
    }
}

/// Hands every row of the journal at `path` to `each`, in report order, one
/// row per path (the last written). Temporary runs go to `dir`. Returns the
/// rows handed.
pub fn sorted_rows(
    path: &Path,
    dir: &Path,
    run_bytes: usize,
    mut each: impl FnMut(Record) -> io::Result<()>,
) -> io::Result<u64> {
    let mut runs = Runs(Vec::new());
    let mut rows: Vec<Pending> = Vec::new();
    let (mut bytes, mut seq) = (0usize, 0u64);
    journal::read(path, |r| {
        let line = serde_json::to_vec(&r).map_err(io::Error::other)?;
        bytes += line.len() + r.path.len() + 64;
        rows.push(Pending {
            path: r.path,
            seq,
            line: [line, b"\n".to_vec()].concat(),
        });
        seq += 1;
        if bytes >= run_bytes {
            let n = runs.0.len();
            runs.0.push(spill(dir, n, &mut rows)?);
            bytes = 0;
        }
        Ok(())
    })?;
    let mut handed = 0u64;
    // Holds the row of a path until the next path shows it was the last.
    let mut held: Option<Record> = None;
    let mut emit = |r: Record, held: &mut Option<Record>| -> io::Result<()> {
        if let Some(h) = held.take() {
            if h.path != r.path {
                handed += 1;
                each(h)?;
            }
        }
        *held = Some(r);
        Ok(())
    };
    if runs.0.is_empty() {
        rows.sort_by(|a, b| a.path.cmp(&b.path).then(a.seq.cmp(&b.seq)));
        for p in rows {
            let r: Record = serde_json::from_slice(&p.line).map_err(io::Error::other)?;
            emit(r, &mut held)?;
        }
    } else {
        if !rows.is_empty() {
            let n = runs.0.len();
            runs.0.push(spill(dir, n, &mut rows)?);
        }
        drop(rows);
        let mut readers: Vec<Run> = runs
            .0
            .iter()
            .map(|p| {
                File::open(p).map(|f| Run {
                    r: BufReader::with_capacity(1 << 16, f),
                })
            })
            .collect::<io::Result<_>>()?;
        let mut heads: Vec<Option<Record>> = Vec::with_capacity(readers.len());
        let mut heap = BinaryHeap::new();
        for (i, run) in readers.iter_mut().enumerate() {
            match run.next()? {
                Some((r, s)) => {
                    heap.push(Reverse((r.path.clone(), s, i)));
                    heads.push(Some(r));
                }
                None => heads.push(None),
            }
        }
        while let Some(Reverse((_, _, i))) = heap.pop() {
            let r = heads[i].take().expect("a run's head");
            if let Some((next, s)) = readers[i].next()? {
                heap.push(Reverse((next.path.clone(), s, i)));
                heads[i] = Some(next);
            }
            emit(r, &mut held)?;
        }
    }
    if let Some(h) = held {
        handed += 1;
        each(h)?;
    }
    Ok(handed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Kind, Verdict};

    #[test]
    fn runs_merge_in_path_order_and_the_last_row_of_a_path_stands() {
        let tmp = tempfile::tempdir().unwrap();
        let jpath = tmp.path().join(journal::JOURNAL);
        let mut j = journal::Journal::open(&jpath, 0, 0).unwrap();
        let mut expected = Vec::new();
        for i in 0..2000u32 {
            let path = format!("/d{}/f{:05}", i % 7, (i * 7919) % 2000);
            let mut r = Record::new(path.clone(), Kind::File);
            r.size = u64::from(i);
            j.append(&r).unwrap();
            expected.push(path);
        }
        // A second row for one path, written later: it stands.
        let mut again = Record::new(expected[5].clone(), Kind::File);
        again.verdict = Verdict::Unreadable;
        j.append(&again).unwrap();
        j.sync().unwrap();
        expected.sort();
        expected.dedup();
        for run_bytes in [1 << 30, 4096] {
            let mut got = Vec::new();
            let n = sorted_rows(&jpath, tmp.path(), run_bytes, |r| {
                if r.path == again.path {
                    assert_eq!(r.verdict, Verdict::Unreadable);
                }
                got.push(r.path);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, expected, "runs of {run_bytes} bytes");
            assert_eq!(n as usize, expected.len());
            let left: Vec<_> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().starts_with(".sort-run"))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }
}
