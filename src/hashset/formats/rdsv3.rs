//! NIST NSRL RDSv3: an SQLite database, full edition (`FILE` is a view over
//! `METADATA` and `PACKAGE_OBJECT`) or minimal edition (`FILE` is a table, with a
//! `DISTINCT_HASH` view). Both are read with `SELECT sha256, sha1, md5, file_size
//! FROM FILE`, through SQLite opened read-only and immutable. The `crc32` column,
//! present in some releases only, is not used.

use crate::hashset::input::{column_digest, Sink};
use crate::hashset::{Algo, ParseError, SetEntry};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The first 16 bytes of every SQLite database.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => {
                uri.push(*b as char)
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Reads an RDSv3 database. Returns the format name (`nsrl-rdsv3-full` or `-minimal`).
pub fn parse(path: &Path, sink: &mut Sink) -> Result<&'static str, ParseError> {
    let sql_err = |e: rusqlite::Error| ParseError::new(0, format!("SQLite: {e}"));
    let db = open(path).map_err(sql_err)?;
    let objects: Vec<(String, String)> = db
        .prepare("SELECT type, name FROM sqlite_master")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect()
        })
        .map_err(sql_err)?;
    let has = |kind: &str, name: &str| {
        objects
            .iter()
            .any(|(t, n)| t == kind && n.eq_ignore_ascii_case(name))
    };
    let format = if has("view", "FILE") && has("table", "METADATA") {
        "nsrl-rdsv3-full"
    } else if has("table", "FILE") && has("view", "DISTINCT_HASH") {
        "nsrl-rdsv3-minimal"
    } else {
        let names: Vec<&str> = objects.iter().map(|(_, n)| n.as_str()).take(8).collect();
        return Err(ParseError::new(
            0,
            format!("an SQLite database, but not NSRL RDSv3 (no FILE with METADATA or DISTINCT_HASH; it has {names:?})"),
        ));
    };
    let mut stmt = db
        .prepare("SELECT sha256, sha1, md5, file_size FROM FILE")
        .map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut n = 0u64;
    while let Some(row) = rows.next().map_err(sql_err)? {
        n += 1;
        let mut e = SetEntry::default();
        let mut problem = None;
        for (i, algo) in [(0, Algo::Sha256), (1, Algo::Sha1), (2, Algo::Md5)] {
            let text: Option<String> = row.get(i).unwrap_or(None);
            let Some(text) = text.filter(|t| !t.is_empty()) else {
                continue;
            };
            match column_digest(text.as_bytes(), algo) {
                Ok(bytes) => e.set_digest(algo, &bytes),
                Err(m) => problem = Some(m),
            }
        }
        e.size = row
            .get::<_, Option<i64>>(3)
            .ok()
            .flatten()
            .and_then(|s| u64::try_from(s).ok());
        match problem {
            Some(m) => sink.bad(ParseError::new(0, format!("FILE row {n}: {m}")))?,
            None if e.is_empty() => {
                sink.bad(ParseError::new(0, format!("FILE row {n}: no digest")))?
            }
            None => sink.entry(e),
        }
    }
    Ok(format)
}
