//! `report.dfxml` (`--dfxml`): the rows of `report.csv` as DFXML, as `hashdeep
//! -d` and fiwalk write it: a `fileobject` per row with `filename`,
//! `filesize`, `name_type`, the times and a `hashdigest` per digest
//! (`type="md5"`, `"sha1"`, `"sha256"`), and the verdict, sets, category and
//! note in hashsweep's own namespace.
//!
//! Every name is kept, reversibly, and the file is always well-formed XML 1.0:
//! `filename` holds the report path (see `crate::pathfmt`: `\\` for a
//! backslash, `\xHH` for a byte that is not UTF-8), in which characters XML
//! 1.0 cannot hold (control characters other than tab, line feed and carriage
//! return; U+FFFE, U+FFFF) are also written `\xHH`, one per byte of their
//! UTF-8, so the same unescaping gives the name's bytes back. Carriage returns
//! are written `&#13;` so that parsers keep them.

use super::csv::{col, Cells};

/// Text as XML 1.0 element content, reversibly: see the module's description.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ if allowed => out.push(c),
            _ => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
        }
    }
    out
}

/// The opening of the document, for evidence at `evidence` (a report-escaped path).
pub fn head(evidence: &str) -> String {
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<dfxml xmloutputversion=\"1.0\" xmlns=\"http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:hashsweep=\"urn:hashsweep:dfxml:1\">\n",
            "  <metadata>\n    <dc:type>Hash List</dc:type>\n  </metadata>\n",
            "  <creator>\n    <program>{}</program>\n    <version>{}</version>\n  </creator>\n",
            "  <source>\n    <image_filename>{}</image_filename>\n  </source>\n",
        ),
        crate::TOOL_NAME,
        crate::TOOL_VERSION,
        text(evidence)
    )
}

/// The end of the document.
pub const TAIL: &str = "</dfxml>\n";

/// The `fileobject` of a row given as its cells.
pub fn fileobject(c: &Cells) -> String {
    let mut out = String::from("  <fileobject>\n");
    let mut el = |name: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("    <{name}>{}</{name}>\n", text(value)));
        }
    };
    el("filename", &c[col::PATH]);
    el("filesize", &c[col::SIZE]);
    el(
        "name_type",
        match c[col::KIND].as_str() {
            "file" => "r",
            "directory" => "d",
            "symlink" => "l",
            "fifo" => "p",
            "socket" => "s",
            "char-device" => "c",
            "block-device" => "b",
            _ => "-",
        },
    );
    el("mtime", &c[col::MODIFIED]);
    el("atime", &c[col::MODIFIED + 1]);
    el("ctime", &c[col::CHANGED]);
    el("crtime", &c[col::CHANGED + 1]);
    for (ty, i) in [
        ("md5", col::MD5),
        ("sha1", col::SHA1),
        ("sha256", col::SHA256),
    ] {
        if !c[i].is_empty() {
            out.push_str(&format!(
                "    <hashdigest type=\"{ty}\">{}</hashdigest>\n",
                c[i]
            ));
        }
    }
    for (name, i) in [
        ("hashsweep:verdict", col::VERDICT),
        ("hashsweep:hashsets", col::HASHSETS),
        ("hashsweep:category", col::CATEGORY),
        ("hashsweep:note", col::NOTE),
        ("hashsweep:type", col::TYPE),
        ("hashsweep:pdq", col::PDQ),
        ("hashsweep:pdq_quality", col::PDQ_QUALITY),
    ] {
        if !c[i].is_empty() {
            out.push_str(&format!("    <{name}>{}</{name}>\n", text(&c[i])));
        }
    }
    out.push_str("  </fileobject>\n");
    out
}

/// `report.dfxml`, written in report order.
pub struct DfxmlOutput(super::AtomicFile);

impl DfxmlOutput {
    /// Starts `path`, for evidence at `evidence` (a report-escaped path).
    pub fn create(path: &std::path::Path, evidence: &str) -> std::io::Result<DfxmlOutput> {
        let mut f = super::AtomicFile::create(path)?;
        std::io::Write::write_all(&mut f, head(evidence).as_bytes())?;
        Ok(DfxmlOutput(f))
    }
}

impl super::RowOutput for DfxmlOutput {
    fn row(&mut self, cells: &Cells) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, fileobject(cells).as_bytes())
    }

    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, TAIL.as_bytes())?;
        self.0.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_xml_cannot_hold_are_escaped_reversibly() {
        assert_eq!(text("a\u{1b}[2J<b>&\r\n"), "a\\x1b[2J&lt;b&gt;&amp;&#13;\n");
        assert_eq!(text("bad\\xff"), "bad\\xff");
        assert_eq!(text("\u{fffe}"), "\\xef\\xbf\\xbe");
        // The same unescaping as report paths gives the bytes back.
        assert_eq!(
            crate::pathfmt::unescape(&text("x\u{1}y")).unwrap(),
            b"x\x01y"
        );
    }
}
