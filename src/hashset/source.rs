//! Plumbing shared by the importers: numbered lines from a stream, the sink that
//! receives records and bad-record reports, and a reader that hashes what it reads.

use super::{ParseError, SetEntry};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

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

/// The longest line a text set may hold. Real set lines are well under 1 KiB
/// (a long file name in an md5sum list is a few KiB at most); a longer one means
/// the input is not a text set (a binary file, `/dev/zero`), and reading it as
/// one line would only fill memory.
pub const MAX_LINE: usize = 1 << 20;

/// The error for a line longer than [`MAX_LINE`].
fn line_too_long(line: u64) -> ParseError {
    ParseError::new(
        line,
        format!(
            "line longer than {} MiB without a line end: not a text hash set",
            MAX_LINE >> 20
        ),
    )
}

/// Numbered lines of a stream. A line ends at LF, CRLF or a lone CR (old Mac
/// line ends); a missing final line end is accepted. Lines are bytes: names need
/// not be UTF-8. A line longer than [`MAX_LINE`] is an error.
pub struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    number: u64,
    /// The previous line ended with a CR: an LF at the start of the next read
    /// belongs to it.
    after_cr: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `r`.
    pub fn new(r: R) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            number: 0,
            after_cr: false,
        }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<(u64, &[u8])>, ParseError> {
        self.buf.clear();
        let mut any = false;
        loop {
            let number = self.number + 1;
            let chunk = self
                .r
                .fill_buf()
                .map_err(|e| ParseError::new(number, format!("read error: {e}")))?;
            if chunk.is_empty() {
                break;
            }
            if std::mem::take(&mut self.after_cr) && chunk[0] == b'\n' {
                self.r.consume(1);
                continue;
            }
            any = true;
            match chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    let cr = chunk[end] == b'\r';
                    if self.buf.len() + end > MAX_LINE {
                        return Err(line_too_long(number));
                    }
                    self.buf.extend_from_slice(&chunk[..end]);
                    self.r.consume(end + 1);
                    self.after_cr = cr;
                    break;
                }
                None => {
                    let n = chunk.len();
                    if self.buf.len() + n > MAX_LINE {
                        return Err(line_too_long(number));
                    }
                    self.buf.extend_from_slice(chunk);
                    self.r.consume(n);
                }
            }
        }
        if !any {
            return Ok(None);
        }
        self.number += 1;
        Ok(Some((self.number, &self.buf[..])))
    }
}

/// A reader that fails once more than [`MAX_LINE`] bytes pass without a line end
/// (LF or CR), for formats parsed by a CSV reader, which would otherwise grow
/// one record without bound.
pub struct LineCap<R> {
    inner: R,
    run: usize,
}

impl<R> LineCap<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineCap { inner, run: 0 }
    }
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // From the end: only the bytes after the last line end count.
        match buf[..n].iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(end) => self.run = n - 1 - end,
            None => self.run += n,
        }
        if self.run > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "line longer than {} MiB without a line end: not a text hash set",
                    MAX_LINE >> 20
                ),
            ));
        }
        Ok(n)
    }
}

/// Decodes UTF-16 text (after its byte-order mark) to UTF-8. Strictly, any
/// flaw is an error naming its line and byte offset (counted from the start of
/// the file, `bom` bytes before `data`): an odd number of bytes, an unpaired
/// surrogate, a NUL, or text that reads as shifted by one byte (two ASCII
/// characters in a row decoded as `U+xx00`: a stray or missing byte). Leniently,
/// flaws become U+FFFD and the records around them are judged as usual.
pub fn utf16_to_utf8(
    data: &[u8],
    big_endian: bool,
    bom: u64,
    lenient: bool,
) -> Result<Vec<u8>, ParseError> {
    let name = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| {
            let pair = [c[0], c[1]];
            if big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            }
        })
        .collect();
    if lenient {
        let mut text = String::from_utf16_lossy(&units);
        if data.len() % 2 == 1 {
            text.push(char::REPLACEMENT_CHARACTER);
        }
        return Ok(text.into_bytes());
    }
    let mut out = String::with_capacity(units.len());
    let mut line = 1u64;
    let fail = |at: usize, line: u64, what: &str| {
        ParseError::new(
            line,
            format!("{name} text, byte offset {}: {what}", bom + 2 * at as u64),
        )
    };
    let shifted = |u: u16| u & 0xff == 0 && (0x20..0x7f).contains(&(u >> 8));
    let mut previous_shifted = false;
    let mut at = 0;
    for c in char::decode_utf16(units.iter().copied()) {
        let c = c.map_err(|_| fail(at, line, "an unpaired surrogate (corrupt text)"))?;
        if c == '\0' {
            return Err(fail(
                at,
                line,
                "a NUL character (corrupt text, or not UTF-16)",
            ));
        }
        let unit = units[at];
        if shifted(unit) && previous_shifted {
            return Err(fail(
                at - 1,
                line,
                "the text reads as shifted by one byte (a stray or missing byte before here)",
            ));
        }
        previous_shifted = shifted(unit);
        if c == '\n' {
            line += 1;
        }
        out.push(c);
        at += c.len_utf16();
    }
    if data.len() % 2 == 1 {
        return Err(fail(
            units.len(),
            line,
            "an odd number of bytes (a stray or missing byte)",
        ));
    }
    Ok(out.into_bytes())
}

/// A reader of JSON that fails once a string runs longer than [`MAX_LINE`]
/// bytes, so a hostile or broken file cannot make the parser buffer one string
/// without bound. Structure and white space pass freely (they are not buffered).
pub struct StringCap<R> {
    inner: R,
    in_string: bool,
    escaped: bool,
    run: usize,
}

impl<R> StringCap<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        StringCap {
            inner,
            in_string: false,
            escaped: false,
            run: 0,
        }
    }
}

impl<R: Read> Read for StringCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if !self.in_string {
                if b == b'"' {
                    self.in_string = true;
                    self.run = 0;
                }
            } else if self.escaped {
                self.escaped = false;
                self.run += 1;
            } else if b == b'\\' {
                self.escaped = true;
                self.run += 1;
            } else if b == b'"' {
                self.in_string = false;
            } else {
                self.run += 1;
            }
        }
        if self.run > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a JSON string longer than {} MiB", MAX_LINE >> 20),
            ));
        }
        Ok(n)
    }
}

/// A set file opened once. A regular file is read in place; a stream (a pipe,
/// `<(cat set)`, a FIFO, a device) can be read only once, front to back, so the
/// bytes read to tell its format are kept and handed back first, and a format
/// that needs random access (SQLite, ZIP, an index) gets a private copy in an
/// anonymous temporary file.
pub struct SetInput {
    file: File,
    regular: bool,
    head: Vec<u8>,
}

/// Bytes read to tell a set's format.
pub const HEAD: usize = 16;

impl SetInput {
    /// Opens `path` (once) and reads the first [`HEAD`] bytes.
    pub fn open(path: &Path) -> io::Result<SetInput> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a hash-set file",
            ));
        }
        let regular = meta.is_file();
        let mut head = vec![0u8; HEAD];
        let mut n = 0;
        while n < HEAD {
            let k = if regular {
                file.read_at(&mut head[n..], n as u64)
            } else {
                (&file).read(&mut head[n..])
            };
            match k {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        head.truncate(n);
        Ok(SetInput {
            file,
            regular,
            head,
        })
    }

    /// The first bytes (fewer when the input is shorter).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The whole content as a stream, from its first byte.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        if self.regular {
            Box::new(self.file)
        } else {
            Box::new(io::Cursor::new(self.head).chain(self.file))
        }
    }

    /// A file holding the whole content, for random access, and its SHA-256: the
    /// file itself when regular, else a copy of the stream in an anonymous
    /// temporary file (in `tmp_dir`, or the system's).
    pub fn into_file(self, tmp_dir: Option<&Path>) -> io::Result<(File, [u8; 32])> {
        if self.regular {
            let digest = sha256_at(&self.file)?;
            return Ok((self.file, digest));
        }
        self.spool(tmp_dir)
    }

    /// A file holding the whole content, for random access, without computing
    /// its digest when it is the file itself.
    pub fn into_mappable(self, tmp_dir: Option<&Path>) -> io::Result<File> {
        if self.regular {
            return Ok(self.file);
        }
        self.spool(tmp_dir).map(|(f, _)| f)
    }

    fn spool(self, tmp_dir: Option<&Path>) -> io::Result<(File, [u8; 32])> {
        let mut copy = match tmp_dir {
            Some(d) => tempfile::tempfile_in(d)?,
            None => tempfile::tempfile()?,
        };
        let mut reader = HashingReader::new(self.into_reader());
        io::copy(&mut reader, &mut copy)?;
        copy.flush()?;
        Ok((copy, reader.finish()?))
    }
}

/// SHA-256 of a whole file through positioned reads (its offset is not moved).
pub fn sha256_at(file: &File) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 18];
    let mut at = 0u64;
    loop {
        match file.read_at(&mut buf, at) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(h.finalize().into())
}

/// A path through which another library (SQLite) can open `file` itself: its
/// descriptor under `/proc/self/fd`.
pub fn fd_path(file: &File) -> std::path::PathBuf {
    use std::os::fd::AsRawFd;
    std::path::PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], capacity: usize) -> Vec<(u64, Vec<u8>)> {
        let mut l = Lines::new(io::BufReader::with_capacity(capacity, data));
        let mut out = Vec::new();
        while let Some((n, line)) = l.next_line().unwrap() {
            out.push((n, line.to_vec()));
        }
        out
    }

    #[test]
    fn lf_crlf_and_lone_cr_end_lines_at_any_buffer_boundary() {
        let data = b"a\nb\r\nc\rd\r\r\ne";
        let want: Vec<(u64, Vec<u8>)> = [&b"a"[..], b"b", b"c", b"d", b"", b"e"]
            .iter()
            .enumerate()
            .map(|(i, l)| (i as u64 + 1, l.to_vec()))
            .collect();
        // Capacity 1 and 2 put a CR and its LF in separate reads.
        for capacity in [1, 2, 3, 64] {
            assert_eq!(lines(data, capacity), want, "capacity {capacity}");
        }
        assert!(lines(b"", 8).is_empty());
        assert_eq!(lines(b"x\r", 8), [(1, b"x".to_vec())]);
    }

    #[test]
    fn endless_line_is_an_error_not_a_memory_hog() {
        let zeros = io::repeat(0).take(3 * MAX_LINE as u64);
        let mut l = Lines::new(io::BufReader::new(zeros));
        let e = l.next_line().unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("longer than"), "{}", e.message);

        let mut capped = LineCap::new(io::repeat(b'x').take(3 * MAX_LINE as u64));
        let e = io::copy(&mut capped, &mut io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let mut endless = StringCap::new(
            b"{\"a\": \""
                .chain(io::repeat(b'x'))
                .take(3 * MAX_LINE as u64),
        );
        assert!(io::copy(&mut endless, &mut io::sink()).is_err());
        let mut json = StringCap::new(&br#"{"a\"b": "c\\", "d": ["e"]}"#[..]);
        assert!(io::copy(&mut json, &mut io::sink()).is_ok());
        let mut fine = LineCap::new(&b"a,b\r\nc,d\rlast"[..]);
        assert_eq!(io::copy(&mut fine, &mut io::sink()).unwrap(), 13);
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn utf16_both_orders_and_every_flaw_named_with_its_place() {
        let text = "MD5\r\n900150983cd24fb0d6963f7d28e17f72  caf\u{e9} \u{1F600}\r\n";
        for be in [false, true] {
            let bytes = utf16(text, be);
            assert_eq!(
                utf16_to_utf8(&bytes, be, 2, false).unwrap(),
                text.as_bytes()
            );
            // A stray byte shifts the rest of the text.
            let mut stray = bytes.clone();
            stray.insert(12, b'7');
            let e = utf16_to_utf8(&stray, be, 2, false).unwrap_err();
            assert!(e.message.contains("byte offset"), "{}", e.message);
            assert_eq!(e.line, 2, "{}", e.message);
            // Leniently, the same text decodes (with replacement characters).
            assert!(utf16_to_utf8(&stray, be, 2, true).is_ok());
        }
        let e = utf16_to_utf8(&utf16("ab\0c", false), false, 2, false).unwrap_err();
        assert!(
            e.message.contains("NUL") && e.message.contains("offset 6"),
            "{}",
            e.message
        );
        let e = utf16_to_utf8(&[0x00, 0xd8, b'a', 0], false, 2, false).unwrap_err();
        assert!(e.message.contains("surrogate"), "{}", e.message);
        let e = utf16_to_utf8(&utf16("abc", false)[..5], false, 2, false).unwrap_err();
        assert!(e.message.contains("odd number"), "{}", e.message);
    }
}
