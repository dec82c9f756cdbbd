//! Hash sets that are CSV with a header row: NSRL RDS 2.x `NSRLFile.txt` (2.x,
//! 1.x/1.5 legacy, and the variant without CRC32), HashKeeper `.hsh`, and
//! INTERPOL ICSE exports (semicolon-separated). Columns are found by their header
//! names, never by position, so every column order of these formats is read.
//! Fields are handled as bytes: NSRL file names need not be UTF-8.

use crate::hashset::input::{column_digest, parse_size, Sink};
use crate::hashset::{Algo, ParseError, SetEntry};
use std::io::Read;

/// Which CSV family a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// NSRL RDS 2.x (or 1.x/1.5) NSRLFile.txt.
    Nsrl,
    /// HashKeeper `.hsh`.
    HashKeeper,
    /// INTERPOL ICSE export.
    Icse,
}

/// A CSV reader of a set with a header row (rows may vary in length; lines
/// are capped in length), and its header.
pub(crate) fn csv_reader<R: Read>(
    r: R,
    delimiter: u8,
) -> Result<
    (
        csv::Reader<crate::hashset::input::LineCap<R>>,
        csv::ByteRecord,
    ),
    ParseError,
> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(crate::hashset::input::LineCap::new(r));
    let header = reader
        .byte_headers()
        .map_err(|e| ParseError::new(1, format!("unreadable header: {e}")))?
        .clone();
    Ok((reader, header))
}

/// Reads every row of a CSV set after its header, handing each with its
/// 1-based line to `row`. A blank line is passed over. A malformed row, or one
/// `row` refuses, is bad: the import's error in strict mode, counted and
/// skipped in lenient mode. A read error ends the import.
pub(crate) fn csv_rows<R: Read>(
    reader: &mut csv::Reader<R>,
    sink: &mut Sink,
    mut row: impl FnMut(&csv::ByteRecord, u64, &mut Sink) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut rec = csv::ByteRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_byte_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = rec.position().map_or(line, |p| p.line());
                if rec.len() == 1 && rec[0].trim_ascii().is_empty() {
                    continue;
                }
                if let Err(e) = row(&rec, line, sink) {
                    sink.bad(e)?;
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(ParseError::new(line, format!("read error: {io}")));
                }
                sink.bad(ParseError::new(line, format!("malformed CSV: {e}")))?;
            }
        }
    }
}

/// A header or field without its surrounding blanks and double quotes.
pub(crate) fn unquote(field: &[u8]) -> &[u8] {
    let f = field.trim_ascii();
    f.strip_prefix(b"\"")
        .and_then(|f| f.strip_suffix(b"\""))
        .unwrap_or(f)
}

/// Recognises the header line of a CSV hash set.
pub fn sniff(first_line: &[u8]) -> Option<Family> {
    let fields: Vec<Vec<u8>> = first_line
        .split(|&b| b == b',' || b == b';')
        .map(|f| unquote(f).to_ascii_lowercase())
        .collect();
    let has = |name: &[u8]| fields.iter().any(|f| f == name);
    if fields.first().map(Vec::as_slice) == Some(b"sha-1") && has(b"filename") {
        Some(Family::Nsrl)
    } else if fields.first().map(Vec::as_slice) == Some(b"file_id") && has(b"hash") {
        Some(Family::HashKeeper)
    } else if first_line.contains(&b';') && has(b"md5") {
        Some(Family::Icse)
    } else {
        None
    }
}

#[derive(Default)]
struct Columns {
    md5: Option<usize>,
    sha1: Option<usize>,
    sha256: Option<usize>,
    size: Option<usize>,
    special: Option<usize>,
    count: usize,
}

fn columns(header: &csv::ByteRecord, family: Family) -> Result<Columns, ParseError> {
    let mut c = Columns {
        count: header.len(),
        ..Columns::default()
    };
    for (i, name) in header.iter().enumerate() {
        match name.trim_ascii().to_ascii_lowercase().as_slice() {
            b"md5" => c.md5 = Some(i),
            b"hash" if family == Family::HashKeeper => c.md5 = Some(i),
            b"sha-1" | b"sha1" => c.sha1 = Some(i),
            b"sha-256" | b"sha256" => c.sha256 = Some(i),
            b"filesize" | b"file_size" | b"size" => c.size = Some(i),
            b"specialcode" if family == Family::Nsrl => c.special = Some(i),
            _ => {}
        }
    }
    if c.md5.is_none() && c.sha1.is_none() && c.sha256.is_none() {
        return Err(ParseError::new(
            1,
            "the header names no MD5, SHA-1 or SHA-256 column",
        ));
    }
    Ok(c)
}

fn record(rec: &csv::ByteRecord, c: &Columns, line: u64) -> Result<SetEntry, ParseError> {
    if rec.len() != c.count {
        return Err(ParseError::new(
            line,
            format!("{} fields; the header names {}", rec.len(), c.count),
        ));
    }
    let mut e = SetEntry::default();
    for (col, algo) in [
        (c.md5, Algo::Md5),
        (c.sha1, Algo::Sha1),
        (c.sha256, Algo::Sha256),
    ] {
        let Some(i) = col else { continue };
        let field = rec[i].trim_ascii();
        if field.is_empty() {
            continue;
        }
        let digest = column_digest(field, algo).map_err(|m| ParseError::new(line, m))?;
        e.set_digest(algo, &digest);
    }
    if let Some(i) = c.size {
        let field = rec[i].trim_ascii();
        if !field.is_empty() {
            let size = parse_size(field, line)?;
            e.size = Some(size);
        }
    }
    if e.is_empty() {
        return Err(ParseError::new(line, "no digest in this row"));
    }
    if c.special
        .is_some_and(|i| rec[i].trim_ascii().eq_ignore_ascii_case(b"M"))
    {
        e.category = Some(crate::hashset::category::Category::NsrlMalicious);
    }
    Ok(e)
}

/// Parses a CSV hash set of `family`. Returns the format name.
pub fn parse(r: impl Read, family: Family, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let (mut reader, header) = csv_reader(r, if family == Family::Icse { b';' } else { b',' })?;
    let cols = columns(&header, family)?;
    let legacy = header
        .iter()
        .any(|h| unquote(h).eq_ignore_ascii_case(b"md4"));
    // A blank line (at the end of HashKeeper files) is passed over.
    csv_rows(&mut reader, sink, |rec, line, sink| {
        sink.entry(record(rec, &cols, line)?);
        Ok(())
    })?;
    Ok(match family {
        Family::Nsrl if legacy => "nsrl-rds-1.5",
        Family::Nsrl => "nsrl-rds-2",
        Family::HashKeeper => "hashkeeper",
        Family::Icse => "icse",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::to_hex;

    fn parse_all(
        data: &[u8],
        lenient: bool,
    ) -> (Result<&'static str, ParseError>, Vec<SetEntry>, u64) {
        let mut v = Vec::new();
        let mut push = |e| v.push(e);
        let mut sink = Sink::new(lenient, &mut push);
        let family = sniff(data.split(|&b| b == b'\n').next().unwrap()).expect("sniffed");
        let r = parse(data, family, &mut sink);
        let bad = sink.bad;
        drop(sink);
        (r, v, bad)
    }

    #[test]
    fn nsrl_2_quoted_and_unquoted_fields_crlf_raw_names() {
        let data = b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\r\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"INFODESK.IC$\",503,1,\"WIN\",\"\"\r\n\
\"0000002D9D62AEBE1E0E9DB6C4C4C7C16A163D2C\",\"1D6EBB5A789ABD108FF578263E1F40F3\",\"FFFFFFFF\",\"\xe9t\xe9, \"\"quoted\"\".p\",4109,11063,\"358\",\"\"";
        let (r, v, _) = parse_all(data, false);
        assert_eq!(r.unwrap(), "nsrl-rds-2");
        assert_eq!(v.len(), 2);
        assert_eq!(
            to_hex(&v[0].sha1.unwrap()),
            "00d1034546f530d746131ce2a28a052db21652ec"
        );
        assert_eq!(
            to_hex(&v[1].md5.unwrap()),
            "1d6ebb5a789abd108ff578263e1f40f3"
        );
        assert_eq!((v[0].size, v[1].size), (Some(503), Some(4109)));
        assert_eq!((v[0].category, v[1].category), (None, None));
        let m = b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"nc.exe\",503,1,\"WIN\",\"M\"\n";
        let (_, v, _) = parse_all(m, false);
        assert_eq!(
            v[0].category,
            Some(crate::hashset::category::Category::NsrlMalicious)
        );
    }

    #[test]
    fn nsrl_legacy_and_no_crc_variant_by_header_names() {
        let legacy = b"\"SHA-1\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"MD4\",\"MD5\",\"CRC32\",\"SpecialCode\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"INFODESK.IC$\",503,1,\"WIN\",\"00000000000000000000000000000000\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"\"\n";
        let (r, v, _) = parse_all(legacy, false);
        assert_eq!(r.unwrap(), "nsrl-rds-1.5");
        assert_eq!(
            to_hex(&v[0].md5.unwrap()),
            "2193697c470774ea58da24b3bac5fcde"
        );
        let no_crc = b"\"SHA-1\",\"MD5\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"x\",503,1,\"WIN\",\"\"\n";
        let (r, v, _) = parse_all(no_crc, false);
        assert_eq!(r.unwrap(), "nsrl-rds-2");
        assert_eq!(v[0].size, Some(503));
    }

    #[test]
    fn hashkeeper_and_icse() {
        let hk = b"\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\",\"date_modified\",\"time_modified\",\"time_zone\",\"comments\",\"date_accessed\",\"time_accessed\"\n\
4151044,671,\"acsetups.pdb\",,\"9497ACF3CF8A2E90AE82DAE37B6373E4\",91136,,,,,,\n\n";
        let (r, v, _) = parse_all(hk, false);
        assert_eq!(r.unwrap(), "hashkeeper");
        assert_eq!(
            (to_hex(&v[0].md5.unwrap()), v[0].size),
            ("9497acf3cf8a2e90ae82dae37b6373e4".into(), Some(91136))
        );
        let icse = b"MD5;SHA1;PhotoDNA;Image ID\r\n9497ACF3CF8A2E90AE82DAE37B6373E4;A9993E364706816ABA3E25717850C26C9CD0D89D;AAAA;17\r\n;A9993E364706816ABA3E25717850C26C9CD0D89E;;18\r\n";
        let (r, v, _) = parse_all(icse, false);
        assert_eq!(r.unwrap(), "icse");
        assert_eq!(v.len(), 2);
        assert!(v[0].md5.is_some() && v[0].sha1.is_some() && v[1].md5.is_none());
    }

    #[test]
    fn bad_rows_name_their_line_or_are_skipped_when_lenient() {
        let data = b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"a\",503,1,\"WIN\",\"\"\n\
\"00D1034546F530D746131CE2A28A052DB21652E\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"b\",503,1,\"WIN\",\"\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\"CABEC7CD\",\"c\",five,1,\"WIN\",\"\"\n\
\"00D1034546F530D746131CE2A28A052DB21652EC\",\"x\"\n";
        let (r, _, _) = parse_all(data, false);
        let e = r.unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("39 hex digits"), "{}", e.message);
        let (r, v, bad) = parse_all(data, true);
        assert!(r.is_ok());
        assert_eq!((v.len(), bad), (1, 3));
    }
}
