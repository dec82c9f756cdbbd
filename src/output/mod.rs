//! The files of the case folder: `report.csv` and `hits.csv` ([`csv`]),
//! `summary.json` ([`summary`]) and `manifest.sha256` ([`manifest`]).
//! `audit.jsonl` is written by [`crate::case::audit`].

pub mod csv;
pub mod summary;

/// `report.csv`: one row per entry, sorted by path.
pub const REPORT: &str = "report.csv";
/// `hits.csv`: alert and conflict rows, written as found, sorted at the end.
pub const HITS: &str = "hits.csv";
/// `summary.json`: totals, counts and timings.
pub const SUMMARY: &str = "summary.json";
/// `audit.jsonl`: provenance header and event log.
pub const AUDIT: &str = "audit.jsonl";
/// `manifest.sha256`: digests of the other files, written last.
pub const MANIFEST: &str = "manifest.sha256";

/// Every file a case folder holds; a folder holding any of them is not reused.
pub const CASE_FILES: [&str; 5] = [REPORT, HITS, SUMMARY, AUDIT, MANIFEST];

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
