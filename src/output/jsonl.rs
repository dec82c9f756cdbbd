//! `report.jsonl` (`--jsonl`) and `--stream`: each row as one JSON object on a
//! line, in the columns of `report.csv` and in its order, typed: `size` a
//! number, `hashsets` an array, `type_mismatch` a boolean, and absent values
//! `null` rather than empty strings.

use super::csv::{col, Cells, COLUMNS};
use serde::Serialize;

/// One row as JSON.
#[derive(Serialize)]
struct JsonRow<'a> {
    path: &'a str,
    kind: &'a str,
    size: u64,
    modified: Option<&'a str>,
    accessed: Option<&'a str>,
    changed: Option<&'a str>,
    created: Option<&'a str>,
    md5: Option<&'a str>,
    sha1: Option<&'a str>,
    sha256: Option<&'a str>,
    verdict: &'a str,
    hashsets: Vec<&'a str>,
    category: Option<&'a str>,
    note: Option<&'a str>,
    #[serde(rename = "type")]
    content_type: Option<&'a str>,
    type_mismatch: Option<bool>,
    pdq: Option<&'a str>,
    pdq_quality: Option<u8>,
}

/// The JSON line (with its line end) of a row given as its cells.
pub fn line(c: &Cells) -> Vec<u8> {
    let opt = |i: usize| Some(c[i].as_str()).filter(|s| !s.is_empty());
    let row = JsonRow {
        path: &c[col::PATH],
        kind: &c[col::KIND],
        size: c[col::SIZE].parse().unwrap_or(0),
        modified: opt(col::MODIFIED),
        accessed: opt(col::MODIFIED + 1),
        changed: opt(col::CHANGED),
        created: opt(col::CHANGED + 1),
        md5: opt(col::MD5),
        sha1: opt(col::SHA1),
        sha256: opt(col::SHA256),
        verdict: &c[col::VERDICT],
        hashsets: c[col::HASHSETS]
            .split(';')
            .filter(|s| !s.is_empty())
            .collect(),
        category: opt(col::CATEGORY),
        note: opt(col::NOTE),
        content_type: opt(col::TYPE),
        type_mismatch: opt(col::TYPE_MISMATCH).map(|v| v == "true"),
        pdq: opt(col::PDQ),
        pdq_quality: opt(col::PDQ_QUALITY).and_then(|q| q.parse().ok()),
    };
    debug_assert_eq!(COLUMNS.len(), 18);
    let mut out = serde_json::to_vec(&row).expect("a row serialises");
    out.push(b'\n');
    out
}

/// `report.jsonl`, written in report order.
pub struct JsonlOutput(super::AtomicFile);

impl JsonlOutput {
    /// Starts `path`.
    pub fn create(path: &std::path::Path) -> std::io::Result<JsonlOutput> {
        super::AtomicFile::create(path).map(JsonlOutput)
    }
}

impl super::RowOutput for JsonlOutput {
    fn row(&mut self, cells: &Cells) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, &line(cells))
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.0.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_and_nulls() {
        let mut c: Cells = Default::default();
        c[col::PATH] = "/a\u{1b}b".into();
        c[col::KIND] = "file".into();
        c[col::SIZE] = "12".into();
        c[col::VERDICT] = "alert".into();
        c[col::HASHSETS] = "vic;nsrl".into();
        c[col::TYPE_MISMATCH] = "false".into();
        let v: serde_json::Value = serde_json::from_slice(&line(&c)).unwrap();
        assert_eq!(v["size"], 12);
        assert_eq!(v["hashsets"], serde_json::json!(["vic", "nsrl"]));
        assert_eq!(v["md5"], serde_json::Value::Null);
        assert_eq!(v["type_mismatch"], false);
        assert_eq!(v["path"], "/a\u{1b}b");
    }
}
