//! `report.csv` and `hits.csv`: RFC 4180, UTF-8, CRLF line ends, a header row,
//! the columns of docs/report.md in their fixed order.
//!
//! No cell may start a spreadsheet formula: a cell that would begin with `=`,
//! `+`, `-`, `@`, tab or carriage return gets a leading `'`. Paths never need it
//! because they always begin with `/`.

use crate::digest::to_hex;
use crate::record::Record;
use crate::time::FileTime;

/// The report columns, in order. Later versions may append columns, never reorder.
pub const COLUMNS: [&str; 18] = [
    "path",
    "kind",
    "size",
    "modified",
    "accessed",
    "changed",
    "created",
    "md5",
    "sha1",
    "sha256",
    "verdict",
    "hashsets",
    "category",
    "note",
    "type",
    "type_mismatch",
    "pdq",
    "pdq_quality",
];

/// Column positions, for code that reads rows back.
pub mod col {
    /// `path`.
    pub const PATH: usize = 0;
    /// `kind`.
    pub const KIND: usize = 1;
    /// `size`.
    pub const SIZE: usize = 2;
    /// `modified`.
    pub const MODIFIED: usize = 3;
    /// `changed`.
    pub const CHANGED: usize = 5;
    /// `md5`.
    pub const MD5: usize = 7;
    /// `sha1`.
    pub const SHA1: usize = 8;
    /// `sha256`.
    pub const SHA256: usize = 9;
    /// `verdict`.
    pub const VERDICT: usize = 10;
    /// `hashsets`.
    pub const HASHSETS: usize = 11;
    /// `category`.
    pub const CATEGORY: usize = 12;
    /// `note`.
    pub const NOTE: usize = 13;
    /// `type`.
    pub const TYPE: usize = 14;
    /// `type_mismatch`.
    pub const TYPE_MISMATCH: usize = 15;
    /// `pdq`.
    pub const PDQ: usize = 16;
    /// `pdq_quality`.
    pub const PDQ_QUALITY: usize = 17;
}

pub use crate::pathfmt::safe_cell;

fn time(t: Option<FileTime>) -> String {
    t.map(FileTime::rfc3339).unwrap_or_default()
}

/// The rendered cells of one row, in column order.
pub type Cells = [String; 18];

/// Renders a row into its cells; `set_names` are the sets' names in
/// command-line order.
pub fn cells(r: &Record, set_names: &[String]) -> Cells {
    let (md5, sha1, sha256) = match &r.digests {
        Some(d) => (
            to_hex(&d.md5),
            to_hex(&d.sha1),
            d.sha256.map(|s| to_hex(&s)).unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let sets: Vec<&str> = r
        .sets
        .iter()
        .filter_map(|&i| set_names.get(i as usize).map(String::as_str))
        .collect();
    [
        safe_cell(&r.path).into_owned(),
        r.kind.as_str().to_string(),
        r.size.to_string(),
        time(r.times.modified),
        time(r.times.accessed),
        time(r.times.changed),
        time(r.times.created),
        md5,
        sha1,
        sha256,
        r.verdict.as_str().to_string(),
        safe_cell(&sets.join(";")).into_owned(),
        safe_cell(&r.category.map(|c| c.notation()).unwrap_or_default()).into_owned(),
        safe_cell(&r.note_text()).into_owned(),
        r.content
            .as_ref()
            .map(|c| c.mime.to_string())
            .unwrap_or_default(),
        match &r.content {
            Some(c) if c.mismatch => "true",
            Some(_) => "false",
            None => "",
        }
        .to_string(),
        r.pdq.as_ref().map(|p| p.hash.to_hex()).unwrap_or_default(),
        r.pdq
            .as_ref()
            .map(|p| p.quality.to_string())
            .unwrap_or_default(),
    ]
}

/// Serialises cells into CSV lines exactly as the report does.
pub struct LineWriter {
    builder: csv::WriterBuilder,
}

impl Default for LineWriter {
    fn default() -> Self {
        let mut builder = csv::WriterBuilder::new();
        // As `csv_writer`: the same lines, byte for byte.
        builder
            .terminator(csv::Terminator::CRLF)
            .buffer_capacity(1024);
        LineWriter { builder }
    }
}

impl LineWriter {
    /// The CSV bytes of one line holding `cells`.
    pub fn line<I, T>(&mut self, cells: I) -> Vec<u8>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut w = self.builder.from_writer(Vec::with_capacity(256));
        w.write_record(cells).expect("writing to memory");
        w.into_inner().expect("writing to memory")
    }

    /// The header line.
    pub fn header(&mut self) -> Vec<u8> {
        self.line(COLUMNS)
    }
}

/// The CSV writer the report's lines are made with (see [`LineWriter`]).
fn csv_writer<W: std::io::Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(1 << 16)
        .from_writer(w)
}

/// `report.csv` or `hits.csv` written in report order, to a temporary name
/// renamed into place when finished.
pub struct CsvOutput {
    out: csv::Writer<super::AtomicFile>,
    hits_only: bool,
}

impl CsvOutput {
    /// The report (every row) or, with `hits_only`, `hits.csv`, at `path`.
    pub fn create(path: &std::path::Path, hits_only: bool) -> std::io::Result<CsvOutput> {
        let mut out = csv_writer(super::AtomicFile::create(path)?);
        out.write_record(COLUMNS)?;
        Ok(CsvOutput { out, hits_only })
    }
}

impl super::RowOutput for CsvOutput {
    fn row(&mut self, cells: &Cells) -> std::io::Result<()> {
        let hit = crate::record::Verdict::parse(&cells[col::VERDICT]).is_some_and(|v| v.is_hit());
        if !self.hits_only || hit {
            self.out.write_record(cells)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.out
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Kind, Note, Verdict};

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+x", "-x", "@x", "\tx", "\rx"] {
            assert!(safe_cell(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(safe_cell("/=x"), "/=x");
        assert_eq!(safe_cell(""), "");
    }

    #[test]
    fn rows_are_quoted_and_crlf_terminated() {
        let mut r = Record::new("/a,\"b\"\nc".into(), Kind::File);
        r.size = 3;
        r.verdict = Verdict::Skipped;
        r.sets = vec![0];
        r.notes = vec![Note::Fifo];
        let mut lw = LineWriter::default();
        let mut out = lw.header();
        out.extend(lw.line(cells(&r, &["=evil".to_string()])));
        let out = String::from_utf8(out).unwrap();
        let mut lines = out.split("\r\n");
        assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "\"/a,\"\"b\"\"\nc\",file,3,,,,,,,,skipped,'=evil,,named pipe (FIFO); never opened,,,,"
        );
    }
}
