//! How paths and other untrusted text are written: a reversible escape for the
//! report, and a sanitised form for the terminal.
//!
//! Report escape: valid UTF-8 passes through unchanged except the backslash,
//! which is doubled (`\\`); every byte that is not part of valid UTF-8 becomes
//! `\xHH` (two lower-case hex digits). [`unescape`] restores the exact bytes.

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
