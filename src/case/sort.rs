//! The journal's rows in report order (by path), in bounded memory. One pass
//! over the journal takes each row's path and place; these keys (not the
//! rows) are sorted in runs of at most a few megabytes, each run spilled to a
//! temporary file in the case folder, and the runs merged; each row is then
//! read back from its place in the journal as it is handed on. A small
//! journal's keys are sorted in memory. Where a path has several rows (a row
//! made again after an interruption), the last one written stands.

use super::journal;
use crate::record::Record;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Bytes of keys sorted in memory at a time.
/// The names of the sort's runs in the case folder: this prefix and a number.
pub const RUN_PREFIX: &str = ".sort-run-";

pub const RUN_BYTES: usize = 16 << 20;

/// A row's sort key: its path, then its place in the journal (later wins).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    path: String,
    at: u64,
    len: u32,
}

impl Key {
    /// Memory a key holds, roughly.
    fn bytes(&self) -> usize {
        std::mem::size_of::<Key>() + self.path.len()
    }

    fn write(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.at.to_le_bytes())?;
        w.write_all(&self.len.to_le_bytes())?;
        w.write_all(&(self.path.len() as u32).to_le_bytes())?;
        w.write_all(self.path.as_bytes())
    }

    fn read(r: &mut impl Read) -> io::Result<Option<Key>> {
        let mut head = [0u8; 16];
        match r.read_exact(&mut head[..1]) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            r => r?,
        }
        r.read_exact(&mut head[1..])?;
        let at = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        let plen = u32::from_le_bytes(head[12..].try_into().expect("4 bytes"));
        let mut path = vec![0u8; plen as usize];
        r.read_exact(&mut path)?;
        let path = String::from_utf8(path).map_err(|_| damaged("a sort run"))?;
        Ok(Some(Key { path, at, len }))
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{what} is damaged"))
}

/// The sort key of a row's path: members right after their archive (see
/// [`crate::pathfmt::sort_key`]).
fn order_key(path: String) -> String {
    if path.contains(crate::pathfmt::MEMBER_SEP) {
        crate::pathfmt::sort_key(&path).into_owned()
    } else {
        path
    }
}

/// The path of a journal row. The journal writes `path` first, so it is read
/// without parsing the rest; a row written otherwise is parsed whole.
fn path_of(line: &[u8]) -> io::Result<String> {
    const LEAD: &[u8] = b"{\"path\":\"";
    if let Some(rest) = line.strip_prefix(LEAD) {
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b'\\' => i += 2,
                b'"' => {
                    let token = &line[LEAD.len() - 1..LEAD.len() + i + 1];
                    return serde_json::from_slice(token).map_err(|_| damaged(journal::JOURNAL));
                }
                _ => i += 1,
            }
        }
    }
    serde_json::from_slice::<Record>(line)
        .map(|r| r.path)
        .map_err(|_| damaged(journal::JOURNAL))
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

fn spill(dir: &Path, n: usize, keys: &mut Vec<Key>) -> io::Result<PathBuf> {
    keys.sort_unstable();
    let path = dir.join(format!("{RUN_PREFIX}{n}"));
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    for k in keys.drain(..) {
        k.write(&mut w)?;
    }
    w.flush()?;
    Ok(path)
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
    sorted_lines(path, dir, run_bytes, |line| {
        each(serde_json::from_slice(line).map_err(|_| damaged(journal::JOURNAL))?)
    })
}

/// The journal at `path`, read from where a row is asked for: sequentially
/// while rows are asked for in the order they were written (the usual case,
/// since rows are written roughly in path order), seeking otherwise.
struct Lines {
    r: BufReader<File>,
    pos: u64,
    buf: Vec<u8>,
}

impl Lines {
    fn line(&mut self, at: u64, len: u32) -> io::Result<&[u8]> {
        if at != self.pos {
            self.r.seek_relative(at as i64 - self.pos as i64)?;
        }
        self.buf.resize(len as usize, 0);
        self.r.read_exact(&mut self.buf)?;
        self.pos = at + u64::from(len);
        Ok(&self.buf)
    }
}

/// [`sorted_rows`], handing each row as its JSON line (with its line end).
pub fn sorted_lines(
    path: &Path,
    dir: &Path,
    run_bytes: usize,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    let file = match crate::output::open_case_file(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut runs = Runs(Vec::new());
    let mut keys: Vec<Key> = Vec::new();
    let mut bytes = 0usize;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let (mut at, mut line) = (0u64, Vec::new());
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 || !line.ends_with(b"\n") {
            // The writer ends every row; a torn last row was dropped by the resume.
            break;
        }
        let key = Key {
            path: order_key(path_of(&line)?),
            at,
            len: u32::try_from(line.len()).map_err(|_| damaged(journal::JOURNAL))?,
        };
        at += line.len() as u64;
        bytes += key.bytes();
        keys.push(key);
        if bytes >= run_bytes {
            let n = runs.0.len();
            runs.0.push(spill(dir, n, &mut keys)?);
            bytes = 0;
        }
    }
    r.rewind()?;
    let mut lines = Lines {
        r,
        pos: 0,
        buf: Vec::new(),
    };

    let mut handed = 0u64;
    // Holds the key of a path until the next key shows it was the last.
    let mut held: Option<Key> = None;
    let mut emit = |k: Option<Key>, held: &mut Option<Key>| -> io::Result<()> {
        let last = match (held.take(), &k) {
            (Some(h), Some(k)) if h.path == k.path => None,
            (h, _) => h,
        };
        if let Some(h) = last {
            handed += 1;
            each(lines.line(h.at, h.len)?)?;
        }
        *held = k;
        Ok(())
    };
    if runs.0.is_empty() {
        keys.sort_unstable();
        for k in keys {
            emit(Some(k), &mut held)?;
        }
    } else {
        if !keys.is_empty() {
            let n = runs.0.len();
            runs.0.push(spill(dir, n, &mut keys)?);
        }
        drop(keys);
        let mut readers: Vec<BufReader<File>> = runs
            .0
            .iter()
            .map(|p| File::open(p).map(|f| BufReader::with_capacity(1 << 16, f)))
            .collect::<io::Result<_>>()?;
        let mut heap = BinaryHeap::new();
        for (i, run) in readers.iter_mut().enumerate() {
            if let Some(k) = Key::read(run)? {
                heap.push(Reverse((k, i)));
            }
        }
        while let Some(Reverse((k, i))) = heap.pop() {
            if let Some(next) = Key::read(&mut readers[i])? {
                heap.push(Reverse((next, i)));
            }
            emit(Some(k), &mut held)?;
        }
    }
    emit(None, &mut held)?;
    Ok(handed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Kind, Verdict};

    #[test]
    fn the_path_is_read_without_parsing_the_row() {
        for path in ["/plain", "/q\"uo\\te\nx\u{1b}", "/\\xff", ""] {
            let r = Record::new(path.into(), Kind::File);
            let line = serde_json::to_vec(&r).unwrap();
            assert!(line.starts_with(b"{\"path\":"));
            assert_eq!(path_of(&line).unwrap(), path);
        }
        // Written in another order: parsed whole.
        let mut v = serde_json::to_value(Record::new("/other".into(), Kind::File)).unwrap();
        let path = v.as_object_mut().unwrap().remove("path").unwrap();
        v["path"] = path;
        assert_eq!(path_of(v.to_string().as_bytes()).unwrap(), "/other");
        assert!(path_of(b"{\"path\":\"/a").is_err());
    }

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
                .filter(|n| n.to_string_lossy().starts_with(RUN_PREFIX))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }
}
