//! The scan journal, `journal.jsonl` in the case folder: every row as it is
//! produced, typed (one JSON object a line), appended by the report writer.
//! It is what the reports are made from at the end (sorted by path, see
//! [`super::sort`]), so rows never have to be held in memory; after an
//! interruption or a crash, `scan --resume` reads it back, drops a torn last
//! row, checks the rest, and reads only what is missing. The journal is removed
//! once the case folder is complete.

use crate::record::Record;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The journal's file name in the case folder.
pub const JOURNAL: &str = "journal.jsonl";

/// The journal of builds before the typed journal (rendered CSV rows). A
/// folder holding one was started by such a build: it is not a new folder,
/// and this build cannot finish it.
pub const OLD_JOURNAL: &str = "journal.csv";

/// Rows written between two flushes of the journal to the OS. A crash loses at
/// most these rows, which a resume hashes again.
pub const FLUSH_EVERY: usize = 256;

/// The open journal.
pub struct Journal {
    path: PathBuf,
    w: BufWriter<File>,
    pending: usize,
    rows: u64,
}

impl Journal {
    /// Opens the journal for appending after its first `keep` bytes (the intact
    /// part left by an earlier run; 0 for a new scan), which hold `rows` rows.
    pub fn open(path: &Path, keep: u64, rows: u64) -> io::Result<Journal> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        f.set_len(keep)?;
        let f = OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 16, f),
            pending: 0,
            rows,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows it holds.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends one row; hands the buffer to the OS every [`FLUSH_EVERY`] rows.
    pub fn append(&mut self, r: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, r)?;
        self.w.write_all(b"\n")?;
        self.rows += 1;
        self.pending += 1;
        if self.pending >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands buffered rows to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        self.pending = 0;
        self.w.flush()
    }

    /// Flushes and syncs to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.w.get_ref().sync_all()
    }
}

/// What reading a journal found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Intact rows.
    pub rows: u64,
    /// Bytes of the journal that hold intact rows.
    pub intact_bytes: u64,
    /// Bytes after them (a row torn by a crash, or damage), dropped.
    pub dropped_bytes: u64,
}

/// Hands each intact row of the journal at `path` to `each`, in order. A
/// missing journal is an empty one. Reading stops at the first row that is
/// torn (no line end after it) or not a row; what follows is dropped. The file
/// is opened as a case file (not through a link, only a regular file).
pub fn read(path: &Path, mut each: impl FnMut(Record) -> io::Result<()>) -> io::Result<Recovered> {
    let file = match crate::output::open_case_file(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(e),
    };
    let total = file.metadata()?.len();
    let mut r = io::BufReader::with_capacity(1 << 16, file);
    let mut out = Recovered::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 || !line.ends_with(b"\n") {
            break;
        }
        let Ok(row) = serde_json::from_slice::<Record>(&line) else {
            break;
        };
        out.rows += 1;
        out.intact_bytes += line.len() as u64;
        each(row)?;
    }
    out.dropped_bytes = total - out.intact_bytes;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Kind, Note};

    fn row(path: &str) -> Record {
        let mut r = Record::new(path.into(), Kind::File);
        r.notes = vec![Note::CannotOpen {
            error: "a note, with \"quotes\"\nand a newline".into(),
        }];
        r
    }

    fn paths(p: &Path) -> (Vec<String>, Recovered) {
        let mut v = Vec::new();
        let rec = read(p, |r| {
            v.push(r.path);
            Ok(())
        })
        .unwrap();
        (v, rec)
    }

    #[test]
    fn round_trip_and_torn_tail_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(JOURNAL);
        let mut j = Journal::open(&p, 0, 0).unwrap();
        for name in ["/a", "/b\r\nc", "/d"] {
            j.append(&row(name)).unwrap();
        }
        j.sync().unwrap();
        drop(j);
        let full = std::fs::read(&p).unwrap();
        let (v, r) = paths(&p);
        assert_eq!(v, ["/a", "/b\r\nc", "/d"]);
        assert_eq!((r.intact_bytes, r.dropped_bytes), (full.len() as u64, 0));

        // Every possible tear of the last row keeps exactly the first two rows.
        let second_end = full
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .nth(1)
            .unwrap()
            .0
            + 1;
        for cut in second_end..full.len() {
            std::fs::write(&p, &full[..cut]).unwrap();
            let (v, r) = paths(&p);
            assert_eq!(v.len(), 2, "cut at {cut}");
            assert_eq!(r.intact_bytes, second_end as u64);
        }

        // Appending after the intact part continues a valid journal.
        let mut j = Journal::open(&p, second_end as u64, 2).unwrap();
        j.append(&row("/e")).unwrap();
        j.sync().unwrap();
        assert_eq!(paths(&p).0, ["/a", "/b\r\nc", "/e"]);
    }

    #[test]
    fn missing_journal_is_empty() {
        let (v, r) = paths(Path::new("/nonexistent/journal.jsonl"));
        assert!(v.is_empty());
        assert_eq!(r, Recovered::default());
    }
}
