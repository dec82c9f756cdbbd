//! The outputs of a scan: the rows in report order, each rendered once into
//! its cells and handed to every [`RowOutput`] (`report.csv` and `hits.csv`
//! in [`csv`], `report.jsonl` in [`jsonl`], `report.dfxml` in [`dfxml`]), the
//! rows as they are found (`hits.csv` and `--stream`), and `summary.json`
//! ([`summary`]). The audit log, journal and manifest belong to the case
//! folder's lifecycle (`crate::case`).

pub mod csv;
pub mod dfxml;
pub mod jsonl;
pub mod media;
pub mod summary;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// An output of rows in report order.
pub trait RowOutput {
    /// The next row.
    fn row(&mut self, cells: &csv::Cells) -> std::io::Result<()>;
    /// No more rows: complete the output.
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

/// What a case file's temporary name adds to its name.
pub const PARTIAL: &str = ".partial";

/// A case file written to a temporary name beside it (its name with
/// `.partial` appended), synced and renamed into
/// place by [`AtomicFile::commit`], so the file is either absent, old or
/// complete. Dropped without a commit, the temporary file is removed.
pub struct AtomicFile {
    w: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> std::io::Result<AtomicFile> {
        // `report.csv.partial`: each file its own temporary name.
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(PARTIAL);
        let tmp = path.with_file_name(name);
        Ok(AtomicFile {
            w: BufWriter::with_capacity(1 << 20, File::create(&tmp)?),
            tmp,
            path: path.to_path_buf(),
            committed: false,
        })
    }

    /// Syncs the file and renames it into place.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.w.flush()?;
        self.w.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a file through `fill` atomically (see [`AtomicFile`]).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut AtomicFile) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    fill(&mut f)?;
    f.commit()
}

/// [`write_with`] for bytes already in memory.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(data))
}

/// `report.csv`: one row per entry, sorted by path.
pub const REPORT: &str = "report.csv";
/// `hits.csv`: alert, conflict and similar rows, written as found, sorted at the end.
pub const HITS: &str = "hits.csv";
/// `summary.json`: totals, counts and timings.
pub const SUMMARY: &str = "summary.json";
/// `audit.jsonl`: provenance header and event log.
pub const AUDIT: &str = "audit.jsonl";
/// `manifest.sha256`: digests of the other files, written last.
pub const MANIFEST: &str = "manifest.sha256";

/// `media.csv`: the unknown-media queue.
pub const MEDIA: &str = "media.csv";

/// `report.jsonl` (`--jsonl`): the rows of `report.csv` as JSON lines.
pub const REPORT_JSONL: &str = "report.jsonl";
/// `report.dfxml` (`--dfxml`): the rows of `report.csv` as DFXML.
pub const REPORT_DFXML: &str = "report.dfxml";

/// Every file a case folder holds; a folder holding any of them is not reused.
pub const CASE_FILES: [&str; 8] = [
    REPORT,
    MEDIA,
    HITS,
    SUMMARY,
    AUDIT,
    MANIFEST,
    REPORT_JSONL,
    REPORT_DFXML,
];

/// Opens a file of a case folder for reading: without following a symbolic
/// link, without blocking on a FIFO, and only if it is a regular file. A case
/// folder is input like any other: one whose `summary.json` is a link to
/// `/dev/zero` must not make `verify` or `--resume` read for ever.
pub fn open_case_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Reads a whole case file (see [`open_case_file`]) of at most `cap` bytes.
pub fn read_case_file(path: &std::path::Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    open_case_file(path)?.take(cap + 1).read_to_end(&mut data)?;
    if data.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {cap} bytes: not what hashsweep writes"),
        ));
    }
    Ok(data)
}

/// The first line of a case file (the audit log's header), at most 16 MiB.
pub fn first_line(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::BufRead;
    let mut line = Vec::new();
    std::io::BufReader::new(std::io::Read::take(open_case_file(path)?, 16 << 20))
        .read_until(b'\n', &mut line)?;
    String::from_utf8(line).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the first line is not UTF-8",
        )
    })
}
