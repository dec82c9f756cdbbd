//! Plumbing shared by the importers: numbered lines from a stream, the sink that
//! receives records and bad-record reports, and a reader that hashes what it reads.

use crate::hashset::{Algo, ParseError, SetEntry};
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
    /// PDQ entries read, in order.
    pub pdq: Vec<super::PdqEntry>,
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
            pdq: Vec::new(),
        }
    }

    /// One good PDQ record.
    pub fn pdq_entry(&mut self, e: super::PdqEntry) {
        self.records += 1;
        self.pdq.push(e);
    }

    /// A record that gave both a digest entry and a PDQ entry (counted once).
    pub fn entry_with_pdq(&mut self, e: SetEntry, p: super::PdqEntry) {
        self.entry(e);
        self.pdq.push(p);
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
pub fn column_digest(field: &[u8], algo: Algo) -> Result<Vec<u8>, String> {
    let (found, digest) = digest_token(field)?;
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
            "line longer than {} MiB: not a text hash set",
            MAX_LINE >> 20
        ),
    )
}

/// Checks and decodes a hex digest token.
pub fn digest_token(token: &[u8]) -> Result<(Algo, Vec<u8>), String> {
    let shown = String::from_utf8_lossy(&token[..token.len().min(80)]).into_owned();
    if !token.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!("`{shown}` is not a hex digest"));
    }
    let algo = Algo::from_hex_len(token.len()).ok_or_else(|| {
        format!(
            "digest has {} hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)",
            token.len()
        )
    })?;
    Ok((algo, crate::digest::from_hex(token).expect("checked hex")))
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
                    "line longer than {} MiB: not a text hash set",
                    MAX_LINE >> 20
                ),
            ));
        }
        Ok(n)
    }
}

/// Units decoded as `U+xx00` with `xx` printable ASCII, in a row, that mean
/// UTF-16 text is shifted by one byte (ASCII read at the wrong offset). Fewer
/// can be real text: U+3000 is the ideographic space, U+4E00 a common
/// character; eight in a row in a hash set cannot.
const SHIFTED_RUN: u32 = 8;

/// Decodes UTF-16 text (starting with its byte-order mark, which is skipped) to
/// UTF-8 as it is read, so every limit on lines applies and memory stays
/// bounded. Strictly, any flaw stops the reading with an error naming its line
/// and byte offset (counted from the start of the file), which is also left in
/// `failure` for the caller to report as such: an odd number of bytes, an
/// unpaired surrogate, a NUL, or text that reads as shifted by one byte (eight
/// units in a row decoded as `U+xx00`: a stray or missing byte). Leniently,
/// flaws become U+FFFD and the records around them are judged as usual.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    lenient: bool,
    failure: std::rc::Rc<std::cell::RefCell<Option<ParseError>>>,
    /// Bytes read but not decoded (half a unit, or the byte-order mark).
    raw: Vec<u8>,
    /// File offset of `raw[0]`.
    offset: u64,
    out: Vec<u8>,
    out_at: usize,
    line: u64,
    after_cr: bool,
    high: Option<(u16, u64)>,
    shifted: (u32, u64, u64),
    bom_left: usize,
    done: bool,
}

impl<R: Read> Utf16Reader<R> {
    /// Decodes `inner`, a UTF-16 file (big-endian or not) from its first byte.
    pub fn new(
        inner: R,
        big_endian: bool,
        lenient: bool,
        failure: std::rc::Rc<std::cell::RefCell<Option<ParseError>>>,
    ) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            lenient,
            failure,
            raw: Vec::new(),
            offset: 0,
            out: Vec::new(),
            out_at: 0,
            line: 1,
            after_cr: false,
            high: None,
            shifted: (0, 0, 0),
            bom_left: 2,
            done: false,
        }
    }

    /// The reader decoded.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn name(&self) -> &'static str {
        if self.big_endian {
            "UTF-16BE"
        } else {
            "UTF-16LE"
        }
    }

    /// A flaw at file offset `at` on `line`: an error strictly, U+FFFD leniently.
    fn flaw(&mut self, at: u64, line: u64, what: &str) -> io::Result<()> {
        if self.lenient {
            self.emit(char::REPLACEMENT_CHARACTER);
            return Ok(());
        }
        let message = format!("{} text, byte offset {at}: {what}", self.name());
        *self.failure.borrow_mut() = Some(ParseError::new(line, message.clone()));
        Err(io::Error::new(io::ErrorKind::InvalidData, message))
    }

    fn emit(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    /// One code unit, at file offset `at`.
    fn unit(&mut self, u: u16, at: u64) -> io::Result<()> {
        let line = self.line;
        let c = match (self.high.take(), u) {
            (Some((h, _)), 0xdc00..=0xdfff) => {
                let code = 0x10000 + ((u32::from(h) - 0xd800) << 10) + (u32::from(u) - 0xdc00);
                char::from_u32(code).expect("a surrogate pair is a char")
            }
            (Some((_, high_at)), _) => {
                self.flaw(high_at, line, "an unpaired surrogate (corrupt text)")?;
                return self.unit(u, at);
            }
            (None, 0xd800..=0xdbff) => {
                self.high = Some((u, at));
                return Ok(());
            }
            (None, 0xdc00..=0xdfff) => {
                return self.flaw(at, line, "an unpaired surrogate (corrupt text)");
            }
            (None, _) => char::from_u32(u32::from(u)).expect("not a surrogate"),
        };
        if c == '\0' {
            return self.flaw(at, line, "a NUL character (corrupt text, or not UTF-16)");
        }
        let shifted = u & 0xff == 0 && (0x20..0x7f).contains(&(u >> 8));
        if shifted {
            if self.shifted.0 == 0 {
                self.shifted = (0, at, line);
            }
            self.shifted.0 += 1;
            if self.shifted.0 == SHIFTED_RUN {
                let (_, from, from_line) = self.shifted;
                return self.flaw(
                    from,
                    from_line,
                    "the text reads as shifted by one byte (a stray or missing byte before here)",
                );
            }
        } else {
            self.shifted.0 = 0;
        }
        match c {
            '\n' if self.after_cr => {}
            '\n' | '\r' => self.line += 1,
            _ => {}
        }
        self.after_cr = c == '\r';
        self.emit(c);
        Ok(())
    }

    /// Reads and decodes the next piece; sets `done` at the end.
    fn fill(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 1 << 16];
        let n = loop {
            match self.inner.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r?,
            }
        };
        self.raw.extend_from_slice(&buf[..n]);
        let skip = self.bom_left.min(self.raw.len());
        if skip > 0 {
            self.raw.drain(..skip);
            self.bom_left -= skip;
            self.offset += skip as u64;
        }
        let whole = self.raw.len() / 2 * 2;
        let raw = std::mem::take(&mut self.raw);
        for (i, pair) in raw[..whole].chunks_exact(2).enumerate() {
            let pair = [pair[0], pair[1]];
            let u = if self.big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            };
            self.unit(u, self.offset + 2 * i as u64)?;
        }
        self.offset += whole as u64;
        self.raw = raw[whole..].to_vec();
        if n == 0 {
            self.done = true;
            let line = self.line;
            if let Some((_, at)) = self.high.take() {
                self.flaw(at, line, "an unpaired surrogate at the end (corrupt text)")?;
            }
            if !self.raw.is_empty() {
                let at = self.offset;
                self.flaw(at, line, "an odd number of bytes (a stray or missing byte)")?;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_at == self.out.len() && !self.done {
            self.out.clear();
            self.out_at = 0;
            self.fill()?;
        }
        let n = (self.out.len() - self.out_at).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
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
        let mut out = if big_endian {
            vec![0xfe, 0xff]
        } else {
            vec![0xff, 0xfe]
        };
        for u in text.encode_utf16() {
            out.extend(if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            });
        }
        out
    }

    fn decode(data: &[u8], big_endian: bool, lenient: bool) -> Result<Vec<u8>, ParseError> {
        let failure = std::rc::Rc::new(std::cell::RefCell::new(None));
        // Small reads of the source put units and pairs across pieces.
        let source = io::BufReader::with_capacity(3, data);
        let mut r = Utf16Reader::new(source, big_endian, lenient, failure.clone());
        let mut out = Vec::new();
        match r.read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) => Err(failure
                .borrow_mut()
                .take()
                .unwrap_or(ParseError::new(0, e.to_string()))),
        }
    }

    #[test]
    fn utf16_both_orders_and_every_flaw_named_with_its_place() {
        // CJK names hold units like U+3000 and U+4E00, which must not look shifted.
        let text = "MD5\r\n900150983cd24fb0d6963f7d28e17f72  caf\u{e9} \u{1F600} \u{3000}\u{3000}\u{4e00}\u{5200}.jpg\r\nd41d8cd98f00b204e9800998ecf8427e  x\ry\n";
        for be in [false, true] {
            let bytes = utf16(text, be);
            assert_eq!(decode(&bytes, be, false).unwrap(), text.as_bytes());
            // A stray byte shifts the rest of the text.
            let mut stray = bytes.clone();
            stray.insert(12, b'7');
            let e = decode(&stray, be, false).unwrap_err();
            assert!(
                e.message.contains("shifted") && e.message.contains("byte offset"),
                "{}",
                e.message
            );
            assert_eq!(e.line, 2, "{}", e.message);
            // Leniently, the same text decodes (with replacement characters).
            assert!(decode(&stray, be, true).is_ok());
        }
        let e = decode(&utf16("a\rb\rc\0d", false), false, false).unwrap_err();
        assert!(
            e.message.contains("NUL") && e.message.contains("offset 12"),
            "{}",
            e.message
        );
        assert_eq!(e.line, 3, "a lone CR ends a line");
        let e = decode(&[0xff, 0xfe, 0x00, 0xd8, b'a', 0], false, false).unwrap_err();
        assert!(e.message.contains("surrogate"), "{}", e.message);
        let e = decode(&utf16("abc", false)[..7], false, false).unwrap_err();
        assert!(e.message.contains("odd number"), "{}", e.message);
        let endless = io::repeat(b'a').take(3 * MAX_LINE as u64);
        let r = Utf16Reader::new(
            (&[0xffu8, 0xfe][..]).chain(endless),
            false,
            false,
            std::rc::Rc::new(std::cell::RefCell::new(None)),
        );
        // U+6161 without end: the line cap stops it, memory stays bounded.
        let mut lines = Lines::new(io::BufReader::new(r));
        assert!(lines
            .next_line()
            .unwrap_err()
            .message
            .contains("longer than"));
    }
}
