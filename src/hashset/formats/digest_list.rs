//! Digest lists: plain lists (one hex digest per line), md5sum/sha1sum/sha256sum
//! output (text ` `, binary `*`, the `\`-escaped name form, and the reversed
//! `hash name` form), BSD/GNU tagged lines `MD5 (name) = hash`, and md5deep's
//! `-z` form with a leading size. `#` starts a comment line; blank lines, CRLF and
//! a missing final newline are accepted. An optional first line naming the
//! algorithm (`MD5`, `SHA-1`, `SHA-256`) fixes the digest type for every line.
//! Without one, the type comes from the length: 32 hex digits MD5, 40 SHA-1,
//! 64 SHA-256. Names are not kept, so they may hold any bytes.

use crate::hashset::input::{digest_token, Lines, Sink};
use crate::hashset::{Algo, ParseError, SetEntry};
use std::io::BufRead;

/// Parses a digest list, handing each record to `sink`. Returns the form of the
/// first digest line (`plain`, `md5sum`, `bsd-tag` or `md5deep-size`).
pub fn parse(r: impl BufRead, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let mut lines = Lines::new(r);
    let mut declared: Option<Algo> = None;
    let mut format: Option<&'static str> = None;
    while let Some((lineno, line)) = lines.next_line()? {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        if format.is_none() && declared.is_none() {
            if let Some(algo) = header_algo(trimmed) {
                declared = Some(algo);
                continue;
            }
        }
        let parsed = match parse_line(line) {
            Ok(p) => p,
            Err(m) => {
                sink.bad(ParseError::new(lineno, m))?;
                continue;
            }
        };
        if let Some(want) = declared.filter(|w| *w != parsed.algo) {
            let m = format!(
                "a {} digest, but the first line declares {}",
                parsed.algo.name(),
                want.name()
            );
            sink.bad(ParseError::new(lineno, m))?;
            continue;
        }
        format.get_or_insert(parsed.form);
        let mut entry = SetEntry {
            size: parsed.size,
            ..SetEntry::default()
        };
        entry.set_digest(parsed.algo, &parsed.digest);
        sink.entry(entry);
    }
    Ok(format.unwrap_or("plain"))
}

fn header_algo(line: &[u8]) -> Option<Algo> {
    match line.to_ascii_uppercase().as_slice() {
        b"MD5" => Some(Algo::Md5),
        b"SHA1" | b"SHA-1" => Some(Algo::Sha1),
        b"SHA256" | b"SHA-256" => Some(Algo::Sha256),
        _ => None,
    }
}

struct Line {
    algo: Algo,
    digest: Vec<u8>,
    size: Option<u64>,
    form: &'static str,
}

fn parse_line(line: &[u8]) -> Result<Line, String> {
    // GNU escapes names holding `\`, LF or CR and marks the line with a leading `\`.
    let body = line.strip_prefix(b"\\").unwrap_or(line);
    if let Some(tagged) = parse_tagged(body)? {
        return Ok(tagged);
    }
    let body = body.trim_ascii_start();
    let split = body
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let (first, rest) = body.split_at(split);
    let looks_like_size = !first.is_empty()
        && first.len() <= 20
        && first.iter().all(u8::is_ascii_digit)
        && Algo::from_hex_len(first.len()).is_none();
    if looks_like_size {
        // md5deep -z: size, two spaces, digest, two spaces, name.
        let rest = rest.trim_ascii_start();
        let end = rest
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let (algo, digest) = digest_token(&rest[..end])?;
        let size = std::str::from_utf8(first)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("file size out of range")?;
        return Ok(Line {
            algo,
            digest,
            size: Some(size),
            form: "md5deep-size",
        });
    }
    let (algo, digest) = digest_token(first).map_err(|e| {
        format!("{e}; expected a hex digest, `<digest>  <name>` or `MD5 (<name>) = <digest>`")
    })?;
    let form = if rest.trim_ascii().is_empty() {
        "plain"
    } else {
        "md5sum"
    };
    Ok(Line {
        algo,
        digest,
        size: None,
        form,
    })
}

/// `ALGO (name) = digest`, parsed from the end because the name may hold `) = `.
fn parse_tagged(body: &[u8]) -> Result<Option<Line>, String> {
    let Some(open) = body.windows(2).position(|w| w == b" (") else {
        return Ok(None);
    };
    let tag = &body[..open];
    if tag.is_empty() || !tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return Ok(None);
    }
    let Some(close) = body.windows(4).rposition(|w| w == b") = ") else {
        return Ok(None);
    };
    let algo = match tag.to_ascii_uppercase().as_slice() {
        b"MD5" => Algo::Md5,
        b"SHA1" | b"SHA-1" => Algo::Sha1,
        b"SHA256" | b"SHA-256" | b"SHA2-256" => Algo::Sha256,
        other => {
            return Err(format!(
                "unsupported algorithm `{}`; MD5, SHA1 and SHA256 are read",
                String::from_utf8_lossy(other)
            ))
        }
    };
    let (found, digest) = digest_token(body[close + 4..].trim_ascii())?;
    if found != algo {
        return Err(format!(
            "the tag says {} but the digest has {} hex digits",
            algo.name(),
            digest.len() * 2
        ));
    }
    Ok(Some(Line {
        algo,
        digest,
        size: None,
        form: "bsd-tag",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::to_hex;

    #[derive(Debug)]
    struct Parsed {
        format: &'static str,
        records: Vec<SetEntry>,
    }

    fn parse(data: &[u8]) -> Result<Parsed, ParseError> {
        let mut records = Vec::new();
        let mut push = |e| records.push(e);
        let mut sink = Sink::new(false, &mut push);
        let format = super::parse(data, &mut sink)?;
        drop(sink);
        Ok(Parsed { format, records })
    }

    fn md5s(p: &Parsed) -> Vec<String> {
        p.records
            .iter()
            .filter_map(|e| e.md5.map(|d| to_hex(&d)))
            .collect()
    }

    #[test]
    fn plain_list_with_comments_crlf_and_no_final_newline() {
        let p = parse(
            b"# a comment\r\n9E107D9D372BB6826BD81D3542A419D6\r\n\r\n2fd4e1c67a2d28fced849ee1bb76e7391b93eb12\r\n\
d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
        )
        .unwrap();
        assert_eq!(p.format, "plain");
        assert_eq!(p.records.len(), 3);
        assert_eq!(md5s(&p), ["9e107d9d372bb6826bd81d3542a419d6"]);
        assert!(p.records[1].sha1.is_some());
        assert!(p.records[2].sha256.is_some());
    }

    #[test]
    fn lone_cr_line_ends_give_one_record_a_line() {
        for data in [
            &b"900150983cd24fb0d6963f7d28e17f72  a\r900150983cd24fb0d6963f7d28e17f73  b\r900150983cd24fb0d6963f7d28e17f74  c\r"[..],
            b"900150983cd24fb0d6963f7d28e17f72\r900150983cd24fb0d6963f7d28e17f73\r900150983cd24fb0d6963f7d28e17f74",
            b"MD5 (a) = 900150983cd24fb0d6963f7d28e17f72\rMD5 (b) = 900150983cd24fb0d6963f7d28e17f73\rMD5 (c) = 900150983cd24fb0d6963f7d28e17f74\r",
            b"1  900150983cd24fb0d6963f7d28e17f72  a\r2  900150983cd24fb0d6963f7d28e17f73  b\r3  900150983cd24fb0d6963f7d28e17f74  c\r",
        ] {
            let p = parse(data).unwrap();
            assert_eq!(p.records.len(), 3, "{}", String::from_utf8_lossy(data));
        }
        let e = parse(b"900150983cd24fb0d6963f7d28e17f72\rnot a digest\r").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn md5sum_text_binary_escaped_and_reversed_forms() {
        let data = b"866823fb29c0bf5d8dbc35e1cf14c2d9 *blkcalc.exe\n\
555b3e940c86b35d6e0c9976a05b3aa5  copying, \"quoted\".txt\n\
\\0cc175b9c0f1b6a831c399e269772661  back\\\\slash\\nnewline\n\
92eb5ffee6ae2fec3ad71c777531578f b\n\
4a8a08f09d37b73795649038408b5f33  name with \xff raw byte\n";
        let p = parse(data).unwrap();
        assert_eq!(p.format, "md5sum");
        assert_eq!(
            md5s(&p),
            [
                "866823fb29c0bf5d8dbc35e1cf14c2d9",
                "555b3e940c86b35d6e0c9976a05b3aa5",
                "0cc175b9c0f1b6a831c399e269772661",
                "92eb5ffee6ae2fec3ad71c777531578f",
                "4a8a08f09d37b73795649038408b5f33",
            ]
        );
    }

    #[test]
    fn bsd_tags_parse_from_the_end() {
        let data = b"MD5 (copying.txt) = 555b3e940c86b35d6e0c9976a05b3aa5\n\
SHA1 (odd) = name) = x) = a9993e364706816aba3e25717850c26c9cd0d89d\n\
\\SHA256 (a\\nb) = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n";
        let p = parse(data).unwrap();
        assert_eq!(p.format, "bsd-tag");
        assert_eq!(md5s(&p), ["555b3e940c86b35d6e0c9976a05b3aa5"]);
        assert_eq!(
            to_hex(&p.records[1].sha1.unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert!(p.records[2].sha256.is_some());
    }

    #[test]
    fn md5deep_size_form_keeps_the_size() {
        let p = parse(b"    669416  92e792c43c35e96fed3f9566083326fc  /x/a.out\n").unwrap();
        assert_eq!(p.format, "md5deep-size");
        assert_eq!(p.records[0].size, Some(669416));
        assert_eq!(md5s(&p), ["92e792c43c35e96fed3f9566083326fc"]);
    }

    #[test]
    fn declared_algorithm_header_is_enforced() {
        let p = parse(b"SHA-1\nA9993E364706816ABA3E25717850C26C9CD0D89D\n").unwrap();
        assert_eq!(p.records.len(), 1);
        let e = parse(b"MD5\nA9993E364706816ABA3E25717850C26C9CD0D89D\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("declares md5"), "{}", e.message);
    }

    #[test]
    fn lenient_mode_counts_and_lists_bad_lines() {
        let mut records = Vec::new();
        let mut push = |e| records.push(e);
        let mut sink = Sink::new(true, &mut push);
        super::parse(
            &b"900150983cd24fb0d6963f7d28e17f72  a\nhello world!\nzz\n"[..],
            &mut sink,
        )
        .unwrap();
        assert_eq!((sink.records, sink.bad), (3, 2));
        assert_eq!(
            sink.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [2, 3]
        );
        drop(sink);
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let e = parse(b"900150983cd24fb0d6963f7d28e17f72  abc\nhello world!\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not a hex digest"), "{}", e.message);
        let e = parse(b"# c\n\n900150983cd24fb0d6963f7d28e17f7\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("31 hex digits"), "{}", e.message);
        let e = parse(b"SHA512 (x) = 00\n").unwrap_err();
        assert!(e.message.contains("unsupported algorithm `SHA512`"));
        let e = parse(b"MD5 (x) = a9993e364706816aba3e25717850c26c9cd0d89d\n").unwrap_err();
        assert!(e.message.contains("tag says md5"), "{}", e.message);
    }
}
