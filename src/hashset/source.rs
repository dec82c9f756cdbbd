//! Plumbing shared by the importers: numbered lines from a stream, the sink that
//! receives records and bad-record reports, and a reader that hashes what it reads.

use super::{ParseError, SetEntry};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, Read};

/// How many problems a lenient import lists; the rest are only counted.
pub const PROBLEMS_LISTED: usize = 10;

/// Receives the records of a set as they are parsed.
pub struct Sink<'a> {
    lenient: bool,
    push: &'a mut dyn FnMut(SetEntry),
    /// Records read, good and bad.
    pub records: u64,
    /// Bad records skipped (lenient mode only).
    pub bad: u64,
    /// The first [`PROBLEMS_LISTED`] problems.
    pub problems: Vec<ParseError>,
}

impl<'a> Sink<'a> {
    /// A sink handing each good record to `push`. In strict mode (`lenient`
    /// false) the first bad record ends the import.
    pub fn new(lenient: bool, push: &'a mut dyn FnMut(SetEntry)) -> Self {
        Sink {
            lenient,
            push,
            records: 0,
            bad: 0,
            problems: Vec::new(),
        }
    }

    /// One good record.
    pub fn entry(&mut self, e: SetEntry) {
        self.records += 1;
        (self.push)(e);
    }

    /// One bad record: the error itself in strict mode; counted and skipped in
    /// lenient mode.
    pub fn bad(&mut self, err: ParseError) -> Result<(), ParseError> {
        if !self.lenient {
            return Err(err);
        }
        self.records += 1;
        self.bad += 1;
        if self.problems.len() < PROBLEMS_LISTED {
            self.problems.push(err);
        }
        Ok(())
    }
}

/// A file size field: decimal digits.
pub fn parse_size(field: &[u8], line: u64) -> Result<u64, ParseError> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ParseError::new(
                line,
                format!("size `{}` is not a number", String::from_utf8_lossy(field)),
            )
        })
}

/// A hex digest in a column named for `algo`: the right length, hex only.
pub fn column_digest(field: &[u8], algo: super::Algo) -> Result<Vec<u8>, String> {
    let (found, digest) = super::digest_list::digest_token(field)?;
    if found != algo {
        return Err(format!(
            "the {} column holds {} hex digits",
            algo.name(),
            field.len()
        ));
    }
    Ok(digest)
}

/// Numbered lines of a stream: LF-terminated, one trailing CR removed, a missing
/// final newline accepted. Lines are bytes: names need not be UTF-8.
pub struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `r`.
    pub fn new(r: R) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            number: 0,
        }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, ParseError> {
        self.buf.clear();
        let n = self
            .r
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| ParseError::new(self.number + 1, format!("read error: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        let mut line = &self.buf[..];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some((self.number, line)))
    }
}

/// A reader that computes the SHA-256 of everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Reads the rest of the stream and returns the SHA-256 of all of it.
    pub fn finish(mut self) -> io::Result<[u8; 32]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(self.hasher.finalize().into())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
