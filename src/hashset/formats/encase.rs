//! EnCase v3-v6 `.hash` files: a 0x480-byte header (magic `HASH\r\n\xff\0`,
//! version 2, the hash count at 0x10, the set name and category in UTF-16LE),
//! then per entry a raw 16-byte MD5 and two zero bytes. The file size must be
//! exactly 0x480 + 18 x count; a truncated or padded file is refused.

use crate::hashset::input::Sink;
use crate::hashset::{ParseError, SetEntry};

/// The first 8 bytes of an EnCase hash set.
pub const MAGIC: &[u8; 8] = b"HASH\r\n\xff\0";
const HEADER: usize = 0x480;
const RECORD: usize = 18;

fn utf16_field(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Parses a whole EnCase file held in memory. Returns the format name with the
/// set's own name and category.
pub fn parse(data: &[u8], sink: &mut Sink) -> Result<String, ParseError> {
    if data.len() < HEADER || !data.starts_with(MAGIC) {
        return Err(ParseError::new(
            0,
            "not an EnCase hash set (header too short or magic missing)",
        ));
    }
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().expect("4 bytes"));
    if u32_at(8) != 2 {
        return Err(ParseError::new(
            0,
            format!("EnCase hash-set version {} (only 2 is known)", u32_at(8)),
        ));
    }
    let count = u32_at(0x10) as usize;
    let expected = HEADER + RECORD * count;
    if data.len() != expected {
        return Err(ParseError::new(
            0,
            format!(
                "file is {} bytes; a header announcing {count} hashes needs exactly {expected} (truncated or corrupt)",
                data.len()
            ),
        ));
    }
    for (i, rec) in data[HEADER..].chunks_exact(RECORD).enumerate() {
        if rec[16..] != [0, 0] {
            let at = HEADER + i * RECORD;
            sink.bad(ParseError::new(
                0,
                format!("record {i} at byte offset {at}: padding bytes are not zero"),
            ))?;
            continue;
        }
        sink.entry(SetEntry {
            md5: Some(rec[..16].try_into().expect("16 bytes")),
            ..SetEntry::default()
        });
    }
    let name = utf16_field(&data[0x408..0x458]);
    let category = utf16_field(&data[0x458..0x480]);
    Ok(format!("encase (name {name:?}, category {category:?})"))
}

/// Builds an EnCase file (used by tests and exports).
pub fn build(name: &str, category: &str, md5s: &[[u8; 16]]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&2u32.to_le_bytes());
    out[12..16].copy_from_slice(&1u32.to_le_bytes());
    out[0x10..0x14].copy_from_slice(&(md5s.len() as u32).to_le_bytes());
    for (field, text, max) in [(0x408, name, 39), (0x458, category, 19)] {
        for (i, u) in text.encode_utf16().take(max).enumerate() {
            out[field + 2 * i..field + 2 * i + 2].copy_from_slice(&u.to_le_bytes());
        }
    }
    for m in md5s {
        out.extend_from_slice(m);
        out.extend_from_slice(&[0, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &[u8]) -> Result<(String, Vec<SetEntry>), ParseError> {
        let mut v = Vec::new();
        let mut push = |e| v.push(e);
        let mut sink = Sink::new(false, &mut push);
        let f = parse(data, &mut sink)?;
        drop(sink);
        Ok((f, v))
    }

    #[test]
    fn round_trip_and_size_check() {
        let data = build("Known bad", "Notable", &[[1; 16], [2; 16]]);
        assert_eq!(data.len(), 0x480 + 36);
        let (f, v) = run(&data).unwrap();
        assert_eq!(f, "encase (name \"Known bad\", category \"Notable\")");
        assert_eq!(
            v.iter().map(|e| e.md5.unwrap()).collect::<Vec<_>>(),
            [[1; 16], [2; 16]]
        );
        let e = run(&data[..data.len() - 1]).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
        let mut bad = data.clone();
        bad[8] = 3;
        assert!(run(&bad).unwrap_err().message.contains("version 3"));
    }
}
