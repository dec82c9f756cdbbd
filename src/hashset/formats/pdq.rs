//! PDQ hash sets: perceptual hashes of pictures.
//!
//! - **CSV with a `pdq` column**, as ThreatExchange-style exports have it, with
//!   optional `quality` (or `pdq_quality`), `category` and `id` (or `name`, or
//!   `path`) columns, and `md5`/`sha1`/`sha256`/`size` columns whose digests are
//!   imported too. hashsweep's own report.csv is such a file: its pictures (the
//!   rows with a PDQ hash) become entries, identified by their path, so one
//!   case's pictures can be the next case's set. In a report (a header with a
//!   `verdict` column) rows without a hash are not pictures and are passed over.
//! - **Lines**: `<64 hex>`, `<64 hex>,<quality>,<name>` (the reference
//!   hasher's output), `hash=<64 hex>,quality=<q>,...` and `pdq <64 hex>`. The
//!   last two say what they are and are recognised by themselves; bare hex is a
//!   SHA-256 list unless the import is told `--format pdq`.

use super::csvsets::{csv_reader, csv_rows, unquote};
use crate::digest::pdq::Pdq;
use crate::hashset::input::{column_digest, parse_size, Lines, Sink};
use crate::hashset::{Algo, Category, ParseError, PdqEntry, SetEntry};
use std::io::{BufRead, Read};

/// Whether a first line is a CSV header naming a `pdq` column.
pub fn sniff_csv(first_line: &[u8]) -> bool {
    first_line
        .split(|&b| b == b',')
        .any(|f| unquote(f).eq_ignore_ascii_case(b"pdq"))
}

/// Whether a first line is a PDQ line that says so (`hash=` or `pdq ` before
/// the hash).
pub fn sniff_lines(first_line: &[u8]) -> bool {
    let l = first_line.trim_ascii();
    let lower = l.to_ascii_lowercase();
    let rest = lower
        .strip_prefix(b"hash=")
        .or_else(|| lower.strip_prefix(b"pdq "));
    rest.is_some_and(|r| {
        r.trim_ascii_start().len() >= 64 && hash(&r.trim_ascii_start()[..64]).is_ok()
    })
}

/// A 64-hex PDQ hash.
fn hash(field: &[u8]) -> Result<Pdq, String> {
    std::str::from_utf8(field)
        .ok()
        .filter(|s| s.len() == 64)
        .and_then(Pdq::from_hex)
        .ok_or_else(|| {
            format!(
                "`{}` is not a PDQ hash (64 hex digits)",
                String::from_utf8_lossy(&field[..field.len().min(80)])
            )
        })
}

/// A quality field: 0-100.
fn quality(field: &[u8]) -> Result<Option<u8>, String> {
    let f = field.trim_ascii();
    if f.is_empty() {
        return Ok(None);
    }
    std::str::from_utf8(f)
        .ok()
        .and_then(|s| s.parse::<u8>().ok())
        .filter(|q| *q <= 100)
        .map(Some)
        .ok_or_else(|| {
            format!(
                "quality `{}` is not a number from 0 to 100",
                String::from_utf8_lossy(&f[..f.len().min(40)])
            )
        })
}

/// A category field: hashsweep's notation (`US:1`), or a bare number read as
/// a Project VIC US category.
fn category(field: &[u8]) -> Result<Option<Category>, String> {
    let f = String::from_utf8_lossy(field.trim_ascii()).into_owned();
    if f.is_empty() || f == crate::hashset::category::UNCATEGORISED {
        return Ok(None);
    }
    if let Some(c) = Category::parse_notation(&f) {
        return Ok(Some(c));
    }
    f.parse::<u8>().map(|n| Some(Category::Us(n))).map_err(|_| {
        let shown: String = f.chars().take(40).collect();
        format!("category `{shown}` is neither a number nor like US:1")
    })
}

fn text(field: &[u8]) -> Option<String> {
    let t = String::from_utf8_lossy(field.trim_ascii()).into_owned();
    (!t.is_empty()).then_some(t)
}

#[derive(Default)]
struct Columns {
    pdq: usize,
    quality: Option<usize>,
    category: Option<usize>,
    id: Option<usize>,
    digests: Vec<(Algo, usize)>,
    size: Option<usize>,
    report: bool,
}

fn columns(header: &csv::ByteRecord) -> Result<Columns, ParseError> {
    let names: Vec<Vec<u8>> = header
        .iter()
        .map(|h| unquote(h).to_ascii_lowercase())
        .collect();
    let find = |n: &[u8]| names.iter().position(|h| h == n);
    let pdq = find(b"pdq").ok_or_else(|| ParseError::new(1, "no `pdq` column"))?;
    let digests = [Algo::Md5, Algo::Sha1, Algo::Sha256]
        .into_iter()
        .filter_map(|a| find(a.name().as_bytes()).map(|i| (a, i)))
        .collect();
    Ok(Columns {
        pdq,
        quality: find(b"quality").or_else(|| find(b"pdq_quality")),
        category: find(b"category"),
        id: find(b"id")
            .or_else(|| find(b"name"))
            .or_else(|| find(b"path")),
        digests,
        size: find(b"size"),
        report: find(b"verdict").is_some(),
    })
}

/// One row: a PDQ entry, and a digest entry when the row carries digests.
fn row(
    rec: &csv::ByteRecord,
    c: &Columns,
    line: u64,
) -> Result<Option<(PdqEntry, SetEntry)>, ParseError> {
    let bad = |m: String| ParseError::new(line, m);
    let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or(b"");
    let pdq_cell = unquote(cell(Some(c.pdq)));
    if pdq_cell.is_empty() && c.report {
        return Ok(None);
    }
    let category = category(cell(c.category)).map_err(bad)?;
    let entry = PdqEntry {
        hash: hash(pdq_cell).map_err(bad)?,
        quality: quality(cell(c.quality)).map_err(bad)?,
        category,
        id: text(cell(c.id)),
        sources: 0,
    };
    let mut digests = SetEntry {
        category,
        ..SetEntry::default()
    };
    for (algo, i) in &c.digests {
        let field = unquote(cell(Some(*i)));
        if !field.is_empty() {
            let d = column_digest(field, *algo).map_err(bad)?;
            digests.set_digest(*algo, &d);
        }
    }
    if !digests.is_empty() {
        let size = unquote(cell(c.size));
        if !size.is_empty() {
            digests.size = Some(parse_size(size, line)?);
        }
    }
    Ok(Some((entry, digests)))
}

/// Parses a CSV with a `pdq` column.
pub fn parse_csv(r: impl Read, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let (mut reader, header) = csv_reader(r, b',')?;
    let cols = columns(&header)?;
    csv_rows(&mut reader, sink, |rec, line, sink| {
        match row(rec, &cols, line)? {
            Some((p, d)) if d.is_empty() => sink.pdq_entry(p),
            Some((p, d)) => sink.entry_with_pdq(d, p),
            None => {}
        }
        Ok(())
    })?;
    Ok(if cols.report {
        "pdq-csv (hashsweep report)"
    } else {
        "pdq-csv"
    })
}

/// One PDQ line, in any of the forms the module lists.
fn line_entry(line: &[u8]) -> Result<PdqEntry, String> {
    let l = line.trim_ascii();
    let lower = l.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix(b"pdq ") {
        let rest = rest.trim_ascii();
        return Ok(PdqEntry {
            hash: hash(rest)?,
            ..PdqEntry::default()
        });
    }
    if lower.starts_with(b"hash=") {
        // hash=<hex>,norm=<n>,delta=<n>,quality=<q>,filename=<f>
        let mut e = PdqEntry::default();
        let mut fields = l.splitn(5, |&b| b == b',');
        let first = fields.next().unwrap_or_default();
        e.hash = hash(&first[5..])?;
        for f in fields {
            let (key, value) = match f.iter().position(|&b| b == b'=') {
                Some(i) => (&f[..i], &f[i + 1..]),
                None => continue,
            };
            match key.to_ascii_lowercase().as_slice() {
                b"quality" => e.quality = quality(value)?,
                b"filename" => e.id = text(value),
                _ => {}
            }
        }
        return Ok(e);
    }
    // <hex>[,<quality>[,<name>]]: the name may hold commas.
    let mut fields = l.splitn(3, |&b| b == b',');
    let mut e = PdqEntry {
        hash: hash(fields.next().unwrap_or_default().trim_ascii())?,
        ..PdqEntry::default()
    };
    if let Some(q) = fields.next() {
        e.quality = quality(q)?;
    }
    e.id = fields.next().and_then(text);
    Ok(e)
}

/// Parses PDQ lines. `#` starts a comment line; an optional first line `PDQ`
/// names the type.
pub fn parse_lines(r: impl BufRead, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let mut lines = Lines::new(r);
    let mut first = true;
    while let Some((lineno, line)) = lines.next_line()? {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        if std::mem::take(&mut first) && trimmed.eq_ignore_ascii_case(b"pdq") {
            continue;
        }
        match line_entry(line) {
            Ok(e) => sink.pdq_entry(e),
            Err(m) => sink.bad(ParseError::new(lineno, m))?,
        }
    }
    Ok("pdq-list")
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn parse(
        text: &str,
        lenient: bool,
        f: fn(&[u8], &mut Sink) -> Result<&'static str, ParseError>,
    ) -> Result<(Vec<SetEntry>, Vec<PdqEntry>, u64), ParseError> {
        let mut v = Vec::new();
        let mut push = |e| v.push(e);
        let mut sink = Sink::new(lenient, &mut push);
        f(text.as_bytes(), &mut sink)?;
        let (pdq, bad) = (std::mem::take(&mut sink.pdq), sink.bad);
        drop(sink);
        Ok((v, pdq, bad))
    }

    fn csv(t: &[u8], s: &mut Sink) -> Result<&'static str, ParseError> {
        parse_csv(t, s)
    }

    fn lines(t: &[u8], s: &mut Sink) -> Result<&'static str, ParseError> {
        parse_lines(t, s)
    }

    #[test]
    fn csv_with_optional_columns() {
        let text = format!(
            "id,PDQ,quality,category\nx1,{H},90,1\nx2,{},,US:2\n",
            H.to_uppercase()
        );
        let (d, p, _) = parse(&text, false, csv).unwrap();
        assert!(d.is_empty());
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].hash.to_hex(), H);
        assert_eq!(p[0].quality, Some(90));
        assert_eq!(p[0].category, Some(Category::Us(1)));
        assert_eq!(p[0].id.as_deref(), Some("x1"));
        assert_eq!(p[1].quality, None);
        assert_eq!(p[1].category, Some(Category::Us(2)));
    }

    #[test]
    fn a_report_gives_its_pictures_with_their_digests() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let text = format!(
            "path,kind,size,md5,verdict,category,pdq,pdq_quality\r\n/a.jpg,file,10,{md5},unmatched,,{H},77\r\n/b.txt,file,3,{md5},unmatched,,,\r\n"
        );
        let (d, p, bad) = parse(&text, false, csv).unwrap();
        assert_eq!((d.len(), p.len(), bad), (1, 1, 0));
        assert_eq!(p[0].id.as_deref(), Some("/a.jpg"));
        assert_eq!(p[0].quality, Some(77));
        assert_eq!(d[0].size, Some(10));
        assert_eq!(crate::digest::to_hex(&d[0].md5.unwrap()), md5);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let text = format!("pdq,quality\n{H},50\n{H},101\n");
        let e = parse(&text, false, csv).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("101"), "{}", e.message);
        let e = parse("pdq\nabc\n", false, csv).unwrap_err();
        assert_eq!(e.line, 2);
        // A row without a hash is bad outside a report.
        assert!(parse("pdq,id\n,x\n", false, csv).is_err());
        let (_, p, bad) = parse(&format!("pdq\n{H}\nzz\n"), true, csv).unwrap();
        assert_eq!((p.len(), bad), (1, 1));
    }

    #[test]
    fn every_line_form() {
        let text = format!(
            "PDQ\n# comment\n{H}\n{H},88,some, name.jpg\nhash={H},norm=128,delta=0,quality=70,filename=f.png\npdq {H}\n"
        );
        let (_, p, _) = parse(&text, false, lines).unwrap();
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|e| e.hash.to_hex() == H));
        assert_eq!(p[1].quality, Some(88));
        assert_eq!(p[1].id.as_deref(), Some("some, name.jpg"));
        assert_eq!(p[2].quality, Some(70));
        assert_eq!(p[2].id.as_deref(), Some("f.png"));
        let e = parse(&format!("{H}\n{}\n", &H[..63]), false, lines).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn sniffing() {
        assert!(sniff_csv(b"\"id\",\"pdq\""));
        assert!(!sniff_csv(b"md5,sha1"));
        assert!(sniff_lines(format!("hash={H},quality=90").as_bytes()));
        assert!(sniff_lines(format!("pdq {H}").as_bytes()));
        assert!(!sniff_lines(H.as_bytes()));
        assert!(!sniff_lines(b"pdq xyz"));
    }
}
