//! How paths and other untrusted text are written: a reversible escape for the
//! report, and a sanitised form for the terminal.
//!
//! Report escape: valid UTF-8 passes through unchanged except the backslash,
//! which is doubled (`\\`); every byte that is not part of valid UTF-8 becomes
//! `\xHH` (two lower-case hex digits). [`unescape`] restores the exact bytes.
//!
//! Archive members: a member's path is its archive's path, then `\>`, then
//! its name inside the archive escaped the same way, with three additions
//! ([`member_path`]): control characters (NUL among them) are `\xHH`; a name component (between `/` or
//! `\`) that is `..` has its dots written `\x2e\x2e`, so that no member
//! path shows a `..` that could be taken for a real directory; and the second
//! and later members of one archive with the same name end in `\#2`, `\#3`...
//! Members of a member follow another `\>`. Since a real backslash is always
//! `\\`, `\>` and `\#` cannot be mistaken for name bytes, and
//! [`split_members`] restores every name exactly. Rows are ordered by
//! [`sort_key`], which puts an archive's members right after it.

/// Escapes raw path bytes for the report, reversibly.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// What separates an archive's path from a member's name in a member path.
pub const MEMBER_SEP: &str = "\\>";

/// The path of member `name` of the archive at (report path) `archive`;
/// `occurrence` counts members of the same name in that archive, from 1.
pub fn member_path(archive: &str, name: &[u8], occurrence: u32) -> String {
    let mut out = String::with_capacity(archive.len() + name.len() + 2);
    out.push_str(archive);
    out.push_str(MEMBER_SEP);
    let mut start = 0;
    let dots = |part: &[u8]| part == b"..";
    for (i, &b) in name
        .iter()
        .enumerate()
        .chain(std::iter::once((name.len(), &b'/')))
    {
        if b == b'/' || b == b'\\' {
            let part = &name[start..i];
            if dots(part) {
                out.push_str(&"\\x2e".repeat(part.len()));
            } else {
                // Control characters (NUL among them) as `\xHH`: `\#`
                // sorts as U+0001, which a name must then not hold.
                for c in escape(part).chars() {
                    if (c as u32) < 0x20 || c == '\u{7f}' {
                        out.push_str(&format!("\\x{:02x}", c as u32));
                    } else {
                        out.push(c);
                    }
                }
            }
            if i < name.len() {
                out.push_str(if b == b'/' { "/" } else { "\\\\" });
            }
            start = i + 1;
        }
    }
    if occurrence > 1 {
        out.push_str(&format!("\\#{occurrence}"));
    }
    out
}

/// Splits a report path into the raw bytes of the path on the evidence and
/// of each member name below it (with the `\#N` of a repeated name dropped).
/// `None` for text that [`escape`] and [`member_path`] cannot produce.
pub fn split_members(text: &str) -> Option<Vec<Vec<u8>>> {
    let mut parts = vec![Vec::new()];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            parts.last_mut()?.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                parts.last_mut()?.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4)?;
                parts.last_mut()?.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            Some(b'>') => {
                parts.push(Vec::new());
                i += 2;
            }
            Some(b'#') if parts.len() > 1 => {
                let digits = bytes[i + 2..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits == 0 || !matches!(bytes.get(i + 2 + digits), None | Some(b'\\')) {
                    return None;
                }
                i += 2 + digits;
            }
            _ => return None,
        }
    }
    Some(parts)
}

/// Whether a report path is that of an archive member.
pub fn is_member(path: &str) -> bool {
    split_members(path).is_some_and(|p| p.len() > 1)
}

/// The key that orders report rows: the path, with `\>` read as lower than
/// any character (so an archive's members come right after it, before a
/// sibling whose name extends the archive's) and `\#` next lowest (a repeated
/// name right after the first of that name).
pub fn sort_key(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains("\\>") {
        return std::borrow::Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('>') => out.push('\0'),
            Some('#') => out.push('\u{1}'),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A path as text, escaped as in the report (reversibly; see [`escape`]).
pub fn path_text(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    escape(path.as_os_str().as_bytes())
}

/// Serialises a path as its escaped text ([`path_text`]): a name that is not
/// UTF-8 must never make a report or the audit log fail to be written.
pub fn serialize_path<S: serde::Serializer>(
    path: &std::path::Path,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path_text(path))
}

/// Reverses [`escape`]. Returns `None` for text that [`escape`] cannot produce.
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Whether `c` changes the order in which the text around it is shown (the
/// bidirectional marks, embeddings, overrides and isolates): such characters
/// can disguise a name or its neighbours.
pub fn reorders_text(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Makes text safe to print on a terminal: control characters (C0, DEL, C1),
/// which could move the cursor or rewrite the screen, become `\u{..}` escapes.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || reorders_text(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Neutralises a CSV cell that a spreadsheet would read as a formula: one
/// that would begin with `=`, `+`, `-`, `@`, tab or carriage return gets a
/// leading `'`.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => std::borrow::Cow::Owned(format!("'{s}")),
        _ => std::borrow::Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_are_reversible_and_never_show_dot_dot() {
        let names: [&[u8]; 8] = [
            b"DCIM/a.jpg",
            b"../../etc/passwd",
            b"..\\..\\boot.ini",
            b"/abs/x",
            b"C:\\Windows\\x.dll",
            b"nul\0byte",
            b"\xff\xfe latin",
            b"a\\>b\\#2",
        ];
        // A name holding U+0001 (what `\#` sorts as) cannot meet `\#2`.
        let second = member_path("/e/t.tar", b"m", 2);
        let named = member_path("/e/t.tar", b"m\x012", 1);
        assert_ne!(sort_key(&second), sort_key(&named));
        assert_eq!(named, "/e/t.tar\\>m\\x012");
        for name in names {
            for occ in [1, 3] {
                let p = member_path("/e/x.zip", name, occ);
                let parts = split_members(&p).unwrap();
                assert_eq!(parts, vec![b"/e/x.zip".to_vec(), name.to_vec()], "{p}");
                assert!(!p.split(['/', '\\']).any(|c| c == ".."), "{p}");
                assert!(!p.contains('\0'));
            }
        }
        assert_eq!(
            member_path("/e/x.zip", b"../a", 1),
            "/e/x.zip\\>\\x2e\\x2e/a"
        );
        assert_eq!(member_path("/e/x.zip", b"a.txt", 2), "/e/x.zip\\>a.txt\\#2");
        let nested = member_path(&member_path("/e/x.zip", b"in.tar", 1), b"p.jpg", 1);
        assert_eq!(
            split_members(&nested).unwrap(),
            vec![b"/e/x.zip".to_vec(), b"in.tar".to_vec(), b"p.jpg".to_vec()]
        );
        assert!(!is_member("/e/x.zip"));
        assert!(is_member(&nested));
        assert_eq!(split_members("/a\\#2"), None);
        assert_eq!(split_members("/a\\>b\\#x"), None);
    }

    #[test]
    fn members_sort_right_after_their_archive() {
        let mut paths = vec![
            "/e/x.zip.bak".to_string(),
            member_path("/e/x.zip", b"b", 1),
            "/e/x.zip".to_string(),
            member_path("/e/x.zip", b"a", 2),
            member_path(&member_path("/e/x.zip", b"a", 1), b"z", 1),
            member_path("/e/x.zip", b"a", 1),
            "/e/x.zip/sub".to_string(),
        ];
        paths.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        assert_eq!(
            paths,
            [
                "/e/x.zip",
                "/e/x.zip\\>a",
                "/e/x.zip\\>a\\>z",
                "/e/x.zip\\>a\\#2",
                "/e/x.zip\\>b",
                "/e/x.zip.bak",
                "/e/x.zip/sub",
            ]
        );
    }

    #[test]
    fn utf8_passes_through_and_backslash_doubles() {
        assert_eq!(escape("/a/ünï, \"q\"".as_bytes()), "/a/ünï, \"q\"");
        assert_eq!(escape(b"/a\\x41"), "/a\\\\x41");
    }

    #[test]
    fn invalid_bytes_are_hex_escaped_and_round_trip() {
        let raw: &[u8] = b"/bad\xff\xfe-\xc3(\\x";
        let text = escape(raw);
        assert_eq!(text, "/bad\\xff\\xfe-\\xc3(\\\\x");
        assert_eq!(unescape(&text).unwrap(), raw);
    }

    #[test]
    fn every_byte_round_trips() {
        let raw: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        assert_eq!(unescape(&escape(&raw)).unwrap(), raw);
    }

    #[test]
    fn unescape_rejects_what_escape_never_writes() {
        assert_eq!(unescape("a\\n"), None);
        assert_eq!(unescape("a\\x4"), None);
        assert_eq!(unescape("a\\"), None);
    }

    #[test]
    fn terminal_form_has_no_control_characters() {
        let s = for_terminal("/x\u{1b}[2J\r\n\u{9b}31m\u{202e}gpj.exe");
        assert!(!s.chars().any(|c| c.is_control()));
        assert_eq!(s, "/x\\u{1b}[2J\\u{d}\\u{a}\\u{9b}31m\\u{202e}gpj.exe");
    }
}
