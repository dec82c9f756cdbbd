//! Writing a set out in other formats: VICS 2.0 JSON (re-imports to the same
//! entries), hashdeep, md5sum, a plain list of every digest, and the PDQ
//! entries as CSV (the other formats carry digests only).
//!
//! Sets keep no file names, so formats that need one get `entry-<n>` (the
//! entry's number in the set, from 1). hashdeep rows of entries without a size
//! leave the size field empty, as they leave out digests the entry lacks.

use super::category::Category;
use super::index::IndexSet;
use super::{HashSetLookup, SetEntry};
use crate::digest::to_hex;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// VICS 2.0 `#Media`.
    Vics,
    /// hashdeep.
    Hashdeep,
    /// md5sum (MD5 digests only).
    Md5sum,
    /// Every digest, one per line.
    Plain,
    /// The PDQ entries, as CSV: `pdq,quality,category,id`.
    Pdq,
}

impl ExportFormat {
    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<ExportFormat> {
        match name {
            "vics" => Some(ExportFormat::Vics),
            "hashdeep" => Some(ExportFormat::Hashdeep),
            "md5sum" => Some(ExportFormat::Md5sum),
            "plain" => Some(ExportFormat::Plain),
            "pdq" => Some(ExportFormat::Pdq),
            _ => None,
        }
    }
}

/// Writes `set` to `out`; returns the number of lines or records written.
pub fn export(set: &IndexSet, format: ExportFormat, out: &mut impl Write) -> io::Result<u64> {
    match format {
        ExportFormat::Plain => plain(set, out),
        ExportFormat::Md5sum => {
            let mut n = 0;
            for (i, e) in set.entries().enumerate() {
                if let Some(d) = e.md5 {
                    writeln!(out, "{}  entry-{}", to_hex(&d), i + 1)?;
                    n += 1;
                }
            }
            Ok(n)
        }
        ExportFormat::Hashdeep => hashdeep(set, out),
        ExportFormat::Vics => vics(set, out),
        ExportFormat::Pdq => pdq(set, out),
    }
}

/// The PDQ entries as a CSV that imports back to the same entries.
fn pdq(set: &IndexSet, out: &mut impl Write) -> io::Result<u64> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(&mut *out);
    w.write_record(["pdq", "quality", "category", "id"])?;
    let mut n = 0;
    for e in set.pdq_entries() {
        let id = e.id.unwrap_or_default();
        w.write_record([
            e.hash.to_hex(),
            e.quality.map(|q| q.to_string()).unwrap_or_default(),
            e.category.map(Category::notation).unwrap_or_default(),
            crate::pathfmt::safe_cell(&id).into_owned(),
        ])?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

fn plain(set: &IndexSet, out: &mut impl Write) -> io::Result<u64> {
    let mut n = 0;
    type Pick = fn(&SetEntry) -> Option<Vec<u8>>;
    let pick: [Pick; 3] = [
        |e| e.md5.map(|d| d.to_vec()),
        |e| e.sha1.map(|d| d.to_vec()),
        |e| e.sha256.map(|d| d.to_vec()),
    ];
    for get in pick {
        for e in set.entries() {
            if let Some(d) = get(&e) {
                writeln!(out, "{}", to_hex(&d))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

fn hashdeep(set: &IndexSet, out: &mut impl Write) -> io::Result<u64> {
    let c = &set.info().counts;
    let cols: Vec<&str> = [("md5", c.md5), ("sha1", c.sha1), ("sha256", c.sha256)]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, _)| *name)
        .collect();
    writeln!(out, "%%%% HASHDEEP-1.0")?;
    writeln!(out, "%%%% size,{},filename", cols.join(","))?;
    writeln!(
        out,
        "## exported by hashsweep {} from set {}",
        crate::TOOL_VERSION,
        set.info().name
    )?;
    let mut n = 0;
    for (i, e) in set.entries().enumerate() {
        let mut row = e.size.map(|s| s.to_string()).unwrap_or_default();
        for col in &cols {
            let d = match *col {
                "md5" => e.md5.map(|d| to_hex(&d)),
                "sha1" => e.sha1.map(|d| to_hex(&d)),
                _ => e.sha256.map(|d| to_hex(&d)),
            };
            row.push(',');
            row.push_str(&d.unwrap_or_default());
        }
        writeln!(out, "{row},entry-{}", i + 1)?;
        n += 1;
    }
    Ok(n)
}

fn vics(set: &IndexSet, out: &mut impl Write) -> io::Result<u64> {
    let mut profile: Option<&str> = None;
    for e in set.entries() {
        let p = match e.category {
            Some(Category::Us(_)) | Some(Category::NsrlMalicious) | None => continue,
            Some(Category::Uk(_)) => "UK",
            Some(Category::Vics(_)) => "CUSTOM",
        };
        if profile.is_some_and(|q| q != p) {
            return Err(io::Error::other(
                "the set mixes category schemes; VICS holds one profile per file",
            ));
        }
        profile = Some(p);
    }
    let has_us = set
        .entries()
        .any(|e| matches!(e.category, Some(Category::Us(_))));
    if has_us && profile.is_some() {
        return Err(io::Error::other(
            "the set mixes category schemes; VICS holds one profile per file",
        ));
    }
    let profile = profile.unwrap_or(if has_us { "US" } else { "Default" });
    write!(
        out,
        "{{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/{profile}/$metadata#Media\",\"value\":["
    )?;
    let mut n = 0u64;
    for (i, e) in set.entries().enumerate() {
        let mut m = Map::new();
        m.insert("MediaID".into(), json!(i + 1));
        let category = match e.category {
            Some(Category::Us(v) | Category::Uk(v) | Category::Vics(v)) => Some(v),
            Some(Category::NsrlMalicious) | None => None, // VICS has no such category
        };
        if let Some(v) = category {
            m.insert("Category".into(), json!(v));
        }
        if let Some(d) = e.md5 {
            m.insert("MD5".into(), json!(to_hex(&d).to_uppercase()));
        }
        if let Some(d) = e.sha1 {
            m.insert("SHA1".into(), json!(to_hex(&d).to_uppercase()));
        }
        if let Some(s) = e.size {
            m.insert("MediaSize".into(), json!(s));
        }
        if let Some(d) = e.sha256 {
            m.insert(
                "AlternativeHashes".into(),
                json!([{ "HashName": "SHA256", "HashValue": to_hex(&d).to_uppercase() }]),
            );
        }
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &Value::Object(m))?;
        n += 1;
    }
    out.write_all(b"]}\n")?;
    Ok(n)
}
