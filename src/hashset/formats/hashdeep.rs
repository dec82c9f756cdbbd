//! hashdeep files: `%%%% HASHDEEP-1.0`, a `%%%% size,...,filename` column line,
//! `#` comment lines, then unquoted rows. Extra commas belong to the file name,
//! so a row is split at most (columns - 1) times from the left. A file made by
//! concatenating several hashdeep outputs repeats the two header lines; each
//! column line applies to the rows after it. Tiger and Whirlpool columns are read
//! but not kept. An empty size or digest field means the row does not give it.

use crate::hashset::input::{column_digest, parse_size, Lines, Sink};
use crate::hashset::{Algo, ParseError, SetEntry};
use std::io::BufRead;

const MAGIC: &[u8] = b"%%%% HASHDEEP-1.0";

/// Whether `data` starts like a hashdeep file.
pub fn sniff(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

#[derive(Clone, Copy, PartialEq)]
enum Column {
    Size,
    Digest(Algo),
    Ignored(usize),
    FileName,
}

fn parse_columns(spec: &[u8], line: u64) -> Result<Vec<Column>, ParseError> {
    let spec =
        std::str::from_utf8(spec).map_err(|_| ParseError::new(line, "column line is not ASCII"))?;
    let mut cols = Vec::new();
    for name in spec.split(',') {
        cols.push(match name.trim().to_ascii_lowercase().as_str() {
            "size" => Column::Size,
            "md5" => Column::Digest(Algo::Md5),
            "sha1" | "sha-1" => Column::Digest(Algo::Sha1),
            "sha256" | "sha-256" => Column::Digest(Algo::Sha256),
            "tiger" => Column::Ignored(48),
            "whirlpool" => Column::Ignored(128),
            "filename" => Column::FileName,
            other => {
                return Err(ParseError::new(
                    line,
                    format!("unknown hashdeep column `{other}`"),
                ))
            }
        });
    }
    if cols.first() != Some(&Column::Size) || cols.last() != Some(&Column::FileName) {
        return Err(ParseError::new(
            line,
            "hashdeep columns must start with `size` and end with `filename`",
        ));
    }
    if !cols.iter().any(|c| matches!(c, Column::Digest(_))) {
        return Err(ParseError::new(
            line,
            "no MD5, SHA-1 or SHA-256 column; hashsweep cannot use this file",
        ));
    }
    Ok(cols)
}

/// Parses a hashdeep file, handing each row to `sink`.
pub fn parse(r: impl BufRead, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let mut lines = Lines::new(r);
    let mut columns: Option<Vec<Column>> = None;
    let mut expect_columns = false;
    while let Some((lineno, line)) = lines.next_line()? {
        // Header lines may be indented (the sniffer skips leading white space too).
        let header = line.trim_ascii_start();
        if header.starts_with(MAGIC) {
            expect_columns = true;
            continue;
        }
        if let Some(spec) = header.strip_prefix(b"%%%% ") {
            if !expect_columns {
                return Err(ParseError::new(
                    lineno,
                    "column line without a HASHDEEP-1.0 line",
                ));
            }
            columns = Some(parse_columns(spec, lineno)?);
            expect_columns = false;
            continue;
        }
        if expect_columns {
            return Err(ParseError::new(
                lineno,
                "expected the `%%%% size,...,filename` column line",
            ));
        }
        if line.trim_ascii().is_empty() || line.starts_with(b"#") {
            continue;
        }
        let Some(cols) = columns.as_ref() else {
            return Err(ParseError::new(
                lineno,
                "a row before the `%%%% HASHDEEP-1.0` and column lines",
            ));
        };
        match row(cols, line, lineno) {
            Ok(entry) => sink.entry(entry),
            Err(e) => sink.bad(e)?,
        }
    }
    if columns.is_none() {
        return Err(ParseError::new(1, "hashdeep file without a column line"));
    }
    Ok("hashdeep")
}

fn row(cols: &[Column], line: &[u8], lineno: u64) -> Result<SetEntry, ParseError> {
    let fields: Vec<&[u8]> = line.splitn(cols.len(), |&b| b == b',').collect();
    if fields.len() != cols.len() {
        return Err(ParseError::new(
            lineno,
            format!(
                "{} fields; the column line names {}",
                fields.len(),
                cols.len()
            ),
        ));
    }
    let mut entry = SetEntry::default();
    for (col, field) in cols.iter().zip(&fields) {
        match *col {
            Column::Size if field.is_empty() => {}
            Column::Size => {
                let size = parse_size(field, lineno)?;
                entry.size = Some(size);
            }
            Column::Digest(_) if field.is_empty() => {}
            Column::Digest(algo) => {
                let digest = column_digest(field, algo).map_err(|m| ParseError::new(lineno, m))?;
                entry.set_digest(algo, &digest);
            }
            Column::Ignored(len) => {
                if field.len() != len || !field.iter().all(u8::is_ascii_hexdigit) {
                    return Err(ParseError::new(lineno, "malformed tiger/whirlpool field"));
                }
            }
            Column::FileName => {}
        }
    }
    if entry.is_empty() {
        return Err(ParseError::new(lineno, "no digest in this row"));
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::to_hex;

    #[derive(Debug)]
    struct Parsed {
        records: Vec<SetEntry>,
    }

    fn parse(data: &[u8]) -> Result<Parsed, ParseError> {
        let mut records = Vec::new();
        let mut push = |e| records.push(e);
        let mut sink = Sink::new(false, &mut push);
        super::parse(data, &mut sink)?;
        Ok(Parsed { records })
    }

    #[test]
    fn rows_with_commas_in_names_and_repeated_headers() {
        let data = b"%%%% HASHDEEP-1.0\r\n%%%% size,md5,sha256,filename\r\n## Invoked from: /x\r\n\
3,900150983cd24fb0d6963f7d28e17f72,ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad,/a,b,c.txt\r\n\
%%%% HASHDEEP-1.0\n%%%% size,sha1,filename\n\
3,a9993e364706816aba3e25717850c26c9cd0d89d,/abc\n";
        let p = parse(data).unwrap();
        assert_eq!(p.records.len(), 2);
        let a = p.records[0];
        assert_eq!(a.size, Some(3));
        assert_eq!(to_hex(&a.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        assert!(a.sha256.is_some() && a.sha1.is_none());
        assert!(p.records[1].sha1.is_some() && p.records[1].md5.is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let head = "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n";
        let e = parse(format!("{head}12,zz,/x\n").as_bytes()).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse(format!("{head}\n# c\nabc,900150983cd24fb0d6963f7d28e17f72,/x\n").as_bytes())
            .unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (5, "size `abc` is not a number")
        );
        let e =
            parse(format!("{head}3,900150983cd24fb0d6963f7d28e17f72\n").as_bytes()).unwrap_err();
        assert!(e.message.contains("2 fields"), "{}", e.message);
        let e = parse(b"%%%% HASHDEEP-1.0\n%%%% md5,filename\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse(b"%%%% HASHDEEP-1.0\n3,x,y\n").unwrap_err();
        assert_eq!(e.line, 2);
        // Found by mutating sample sets: a row before the magic line panicked.
        let e = parse(b"3,900150983cd24fb0d6963f7d28e17f72,/x\n%%%% HASHDEEP-1.0\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("before"), "{}", e.message);
    }

    #[test]
    fn indented_header_and_lone_cr_line_ends() {
        let data = b" %%%% HASHDEEP-1.0\r%%%% size,md5,filename\r\
3,900150983cd24fb0d6963f7d28e17f72,/a\r4,900150983cd24fb0d6963f7d28e17f73,/b\r";
        let p = parse(data).unwrap();
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.records[1].size, Some(4));
    }
}
