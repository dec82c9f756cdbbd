//! Reading one set file of any format: the format is told from the content
//! (binary magics first, then the first line of text), and the file is opened
//! once (see [`SetInput`]).

use super::formats::{csvsets, digest_list, encase, hashdeep, pdq, rdsv3, vics};
use super::input::{self, SetInput, Sink};
use super::{ParseError, SetEntry, SourceInfo};
use crate::error::{Error, Result};
use std::path::Path;

/// What reading one set file gave.
#[derive(Debug)]
pub struct ReadOutcome {
    /// The source, described.
    pub source: SourceInfo,
    /// The first problems of a lenient import.
    pub problems: Vec<ParseError>,
    /// The PDQ entries read.
    pub pdq: Vec<super::PdqEntry>,
}

/// Formats recognised but not read, so the error names them.
fn unsupported(first_line: &[u8]) -> Option<&'static str> {
    let l = first_line.trim_ascii_start();
    if l.starts_with(b"\"hashset_id\"") {
        Some("a HashKeeper descriptor (.hke), which holds no hashes; import the .hsh file")
    } else if l.starts_with(b"<?xml") || l.starts_with(b"<dfxml") {
        Some("XML (DFXML?), which this version does not read")
    } else if l.starts_with(b"V1Hash,") || l.starts_with(b"V3Hash,") || l.starts_with(b"V4Hash,") {
        Some("an iLook hash set, which this version does not read")
    } else if l.len() > 41 && l[..41].iter().all(u8::is_ascii_digit) && l.get(41) == Some(&b'|') {
        Some("a Sleuth Kit index (.idx); import the database it indexes")
    } else {
        None
    }
}

/// Parses a text set (UTF-8, its byte-order mark removed) from `r`.
fn parse_text(
    r: &mut dyn std::io::BufRead,
    sink: &mut Sink,
    force_pdq: bool,
) -> std::result::Result<String, ParseError> {
    let head = r
        .fill_buf()
        .map_err(|e| ParseError::new(0, format!("read error: {e}")))?;
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    if head[..head.len().min(4096)].contains(&0) {
        return Err(ParseError::new(
            1,
            "binary content (a NUL byte in the first 4 KiB): not a text hash set (an index whose header is damaged, or a file given by mistake?)",
        ));
    }
    let first_line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    if hashdeep::sniff(rest) {
        return hashdeep::parse(r, sink).map(String::from);
    }
    if vics::sniff(rest) {
        return vics::parse(r, sink);
    }
    if let Some(what) = unsupported(first_line) {
        return Err(ParseError::new(1, format!("this is {what}")));
    }
    if pdq::sniff_csv(first_line) {
        return pdq::parse_csv(r, sink).map(String::from);
    }
    if force_pdq || pdq::sniff_lines(first_line) {
        return pdq::parse_lines(r, sink).map(String::from);
    }
    if let Some(family) = csvsets::sniff(first_line) {
        return csvsets::parse(r, family, sink).map(String::from);
    }
    digest_list::parse(r, sink).map(String::from)
}

/// Reads one set file of any supported format, handing records to `push`.
pub fn read_file(
    path: &Path,
    lenient: bool,
    push: &mut dyn FnMut(SetEntry),
) -> Result<ReadOutcome> {
    let input = SetInput::open(path).map_err(|e| Error::io(path, e))?;
    read_input(input, path, lenient, false, None, push)
}

/// Reads a set file opened once (see [`SetInput`]); `path` names it in errors.
/// `tmp_dir` receives the copy of a stream that needs random access. With
/// `force_pdq`, a text list is read as PDQ hashes (`--format pdq`).
pub fn read_input(
    input: SetInput,
    path: &Path,
    lenient: bool,
    force_pdq: bool,
    tmp_dir: Option<&Path>,
    push: &mut dyn FnMut(SetEntry),
) -> Result<ReadOutcome> {
    use std::io::{BufReader, Read};
    let as_error = |e: ParseError| Error::HashSet {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    };
    let io_error = |e: std::io::Error| Error::io(path, e);
    let magic = input.head().to_vec();
    let mut sink = Sink::new(lenient, push);
    let (format, sha256) = if magic.starts_with(rdsv3::MAGIC) {
        let (file, digest) = input.into_file(tmp_dir).map_err(io_error)?;
        // SQLite opens the file itself: through this descriptor, so it reads
        // exactly the file (or the copy of the stream) that was hashed.
        let f = rdsv3::parse(&input::fd_path(&file), &mut sink).map_err(as_error)?;
        drop(file);
        (f.to_string(), crate::digest::to_hex(&digest))
    } else if magic.starts_with(encase::MAGIC) {
        let mut data = Vec::new();
        let mut reader = input::HashingReader::new(input.into_reader());
        reader.read_to_end(&mut data).map_err(io_error)?;
        let digest = reader.finish().map_err(io_error)?;
        let f = encase::parse(&data, &mut sink).map_err(as_error)?;
        (f, crate::digest::to_hex(&digest))
    } else if magic.starts_with(b"PK\x03\x04") {
        let (file, digest) = input.into_file(tmp_dir).map_err(io_error)?;
        let f = read_zip(file, &mut sink).map_err(as_error)?;
        (f, crate::digest::to_hex(&digest))
    } else {
        let hashing = input::HashingReader::new(input.into_reader());
        let utf16 = if magic.starts_with(b"\xff\xfe") {
            Some(false)
        } else if magic.starts_with(b"\xfe\xff") {
            Some(true)
        } else {
            None
        };
        match utf16 {
            Some(big_endian) => {
                // Decoded as it is read: the limits on lines apply, memory stays bounded.
                let failure = std::rc::Rc::new(std::cell::RefCell::new(None));
                let decoder =
                    input::Utf16Reader::new(hashing, big_endian, lenient, failure.clone());
                let mut reader = BufReader::with_capacity(1 << 18, decoder);
                let name = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
                let parsed =
                    parse_text(&mut reader, &mut sink, force_pdq).map(|f| format!("{f} ({name})"));
                // A decoding flaw is reported as itself, with its place.
                let format = parsed
                    .map_err(|e| failure.borrow_mut().take().unwrap_or(e))
                    .map_err(as_error)?;
                let digest = reader
                    .into_inner()
                    .into_inner()
                    .finish()
                    .map_err(io_error)?;
                (format, crate::digest::to_hex(&digest))
            }
            None => {
                let mut reader = BufReader::with_capacity(1 << 18, hashing);
                if magic.starts_with(b"\xef\xbb\xbf") {
                    // A UTF-8 byte-order mark: skipped (it is hashed all the same).
                    let mut bom = [0u8; 3];
                    reader.read_exact(&mut bom).map_err(io_error)?;
                }
                let format = parse_text(&mut reader, &mut sink, force_pdq).map_err(as_error)?;
                let digest = reader.into_inner().finish().map_err(io_error)?;
                (format, crate::digest::to_hex(&digest))
            }
        }
    };
    let source = SourceInfo {
        path: path.to_path_buf(),
        format,
        sha256,
        records: sink.records,
        bad_records: sink.bad,
    };
    Ok(ReadOutcome {
        source,
        problems: std::mem::take(&mut sink.problems),
        pdq: std::mem::take(&mut sink.pdq),
    })
}

/// A ZIP holding an NSRL RDS 2.x set (NSRLFile.txt, possibly itself zipped as
/// NSRLFile.txt.zip), or a single set file of any text format.
fn read_zip(file: std::fs::File, sink: &mut Sink) -> std::result::Result<String, ParseError> {
    use std::io::Read;
    let zerr = |e: zip::result::ZipError| ParseError::new(0, format!("ZIP: {e}"));
    let mut zip = zip::ZipArchive::new(file).map_err(zerr)?;
    let names: Vec<String> = zip.file_names().map(String::from).collect();
    let find = |suffix: &str| {
        names
            .iter()
            .find(|n| n.to_ascii_lowercase().ends_with(suffix))
            .cloned()
    };
    if let Some(name) = find("nsrlfile.txt") {
        let member = zip.by_name(&name).map_err(zerr)?;
        let f = csvsets::parse(std::io::BufReader::new(member), csvsets::Family::Nsrl, sink)?;
        return Ok(format!("{f} (zip)"));
    }
    if let Some(name) = find("nsrlfile.txt.zip") {
        let mut inner = Vec::new();
        zip.by_name(&name)
            .map_err(zerr)?
            .read_to_end(&mut inner)
            .map_err(|e| ParseError::new(0, e.to_string()))?;
        let mut inner = zip::ZipArchive::new(std::io::Cursor::new(inner)).map_err(zerr)?;
        let name = inner
            .file_names()
            .find(|n| n.to_ascii_lowercase().ends_with("nsrlfile.txt"))
            .map(String::from)
            .ok_or_else(|| ParseError::new(0, "NSRLFile.txt.zip holds no NSRLFile.txt"))?;
        let member = inner.by_name(&name).map_err(zerr)?;
        let f = csvsets::parse(std::io::BufReader::new(member), csvsets::Family::Nsrl, sink)?;
        return Ok(format!("{f} (zip in zip)"));
    }
    let files: Vec<&String> = names.iter().filter(|n| !n.ends_with('/')).collect();
    if let [only] = files[..] {
        let member = zip.by_name(only).map_err(zerr)?;
        let f = parse_text(&mut std::io::BufReader::new(member), sink, false)?;
        return Ok(format!("{f} (zip)"));
    }
    Err(ParseError::new(
        0,
        format!(
            "a ZIP archive without NSRLFile.txt and with {} files; extract the set file",
            files.len()
        ),
    ))
}
