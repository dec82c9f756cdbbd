//! The scan journal, `journal.csv` in the case folder: every row as `report.csv`
//! will hold it, appended by the report writer as rows are produced, in the order
//! they are produced, without a header. After an interruption or a crash, `scan
//! --resume` reads it back, drops a torn last row, and hashes only what is missing.
//! Because a row is kept as the exact bytes `report.csv` will hold, the resumed
//! report is byte-identical to an uninterrupted one. The journal is removed once
//! the case folder is complete.

use crate::output::csv::{LineWriter, COLUMNS};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The journal's file name in the case folder.
pub const JOURNAL: &str = "journal.csv";

/// Rows written between two flushes of the journal to the OS. A crash loses at
/// most these rows, which a resume hashes again.
pub const FLUSH_EVERY: usize = 256;

/// One report row: its path cell (the sort key), whether it is a hit, and the
/// exact CSV bytes of the line, CRLF included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The `path` cell.
    pub path: String,
    /// Whether the row belongs in `hits.csv`.
    pub hit: bool,
    /// The CSV line.
    pub line: Vec<u8>,
}

/// The open journal.
pub struct Journal {
    path: PathBuf,
    w: BufWriter<File>,
    pending: usize,
}

impl Journal {
    /// Opens the journal for appending after its first `keep` bytes (the intact
    /// part left by an earlier run; 0 for a new scan).
    pub fn open(path: &Path, keep: u64) -> io::Result<Journal> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        f.set_len(keep)?;
        let mut f = OpenOptions::new().append(true).open(path)?;
        f.flush()?;
        Ok(Journal {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 16, f),
            pending: 0,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line; hands the buffer to the OS every [`FLUSH_EVERY`] lines.
    pub fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.w.write_all(line)?;
        self.pending += 1;
        if self.pending >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands buffered lines to the OS.
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

/// What an earlier run left in the journal.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The intact rows, as cells, in journal order.
    pub rows: Vec<Vec<String>>,
    /// Bytes of the journal that hold intact rows.
    pub intact_bytes: u64,
    /// Bytes after them (a row torn by a crash), dropped.
    pub dropped_bytes: u64,
}

/// Reads a journal. A missing journal is an empty one. Reading stops at the first
/// row that is torn (no line end after it) or malformed; what follows is dropped.
pub fn recover(path: &Path) -> io::Result<Recovered> {
    let opened = crate::output::open_case_file(path).and_then(|f| {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::BufReader::new(f), &mut data).map(|_| data)
    });
    let data = match opened {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Recovered::default()),
        Err(e) => return Err(e),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&data[..]);
    let mut out = Recovered::default();
    let mut lines = LineWriter::default();
    let mut record = csv::StringRecord::new();
    while let Ok(true) = reader.read_record(&mut record) {
        // A row is intact when writing its cells again gives exactly the bytes
        // found: a row torn inside a quoted cell (even right after a newline in
        // it) or before its CRLF does not.
        // The reader counts the LF of the previous CRLF as the start of this row.
        let mut start = record.position().map_or(0, |p| p.byte()) as usize;
        if data.get(start) == Some(&b'\n') {
            start += 1;
        }
        if record.len() != COLUMNS.len() {
            break;
        }
        let line = lines.line(record.iter());
        let end = start + line.len();
        if data.get(start..end) != Some(&line[..]) {
            break;
        }
        out.intact_bytes = end as u64;
        out.rows.push(record.iter().map(String::from).collect());
    }
    out.dropped_bytes = data.len() as u64 - out.intact_bytes;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(path: &str) -> Vec<String> {
        let mut c = vec![String::new(); COLUMNS.len()];
        c[0] = path.to_string();
        c[13] = "note, with \"quotes\"\nand a newline".to_string();
        c
    }

    #[test]
    fn round_trip_and_torn_tail_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(JOURNAL);
        let mut lw = LineWriter::default();
        let mut j = Journal::open(&p, 0).unwrap();
        for name in ["/a", "/b\r\nc", "/d"] {
            j.append(&lw.line(cells(name))).unwrap();
        }
        j.sync().unwrap();
        drop(j);
        let full = std::fs::read(&p).unwrap();
        let r = recover(&p).unwrap();
        assert_eq!(r.rows.len(), 3);
        assert_eq!(r.rows[1], cells("/b\r\nc"));
        assert_eq!((r.intact_bytes, r.dropped_bytes), (full.len() as u64, 0));

        // Every possible tear of the last row keeps exactly the first two rows,
        // except a tear that leaves the whole row.
        let second_end = lw.line(cells("/a")).len() + lw.line(cells("/b\r\nc")).len();
        for cut in second_end..full.len() {
            std::fs::write(&p, &full[..cut]).unwrap();
            let r = recover(&p).unwrap();
            assert_eq!(r.rows.len(), 2, "cut at {cut}");
            assert_eq!(r.intact_bytes, second_end as u64);
        }

        // Appending after the intact part continues a valid journal.
        let mut j = Journal::open(&p, second_end as u64).unwrap();
        j.append(&lw.line(cells("/e"))).unwrap();
        j.sync().unwrap();
        let r = recover(&p).unwrap();
        assert_eq!(
            r.rows.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
            ["/a", "/b\r\nc", "/e"]
        );
    }

    #[test]
    fn missing_journal_is_empty() {
        let r = recover(Path::new("/nonexistent/journal.csv")).unwrap();
        assert!(r.rows.is_empty());
    }
}
