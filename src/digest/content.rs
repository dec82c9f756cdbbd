//! Content types from a file's first bytes (its magic signature), for the `type`
//! and `type_mismatch` columns and for reading likely hits first.
//!
//! Detection is by content only, through the `infer` signature table; the name
//! matters only for `type_mismatch`, which says whether the extension is one that
//! the detected type is known under.

/// How many leading bytes the detectors look at. Most signatures sit in the first
/// few bytes; ZIP-based documents and ISO images need more.
pub const HEAD: usize = 64 * 1024;

/// The detected content type of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType {
    mime: &'static str,
    extension: &'static str,
    class: infer::MatcherType,
}

impl ContentType {
    /// The detected type of content starting with `head`, or `None` when no
    /// signature matches (plain text, unknown formats, empty files).
    pub fn detect(head: &[u8]) -> Option<ContentType> {
        infer::get(head).map(|t| ContentType {
            mime: t.mime_type(),
            extension: t.extension(),
            class: t.matcher_type(),
        })
    }

    /// The MIME type, e.g. `image/jpeg` (the `type` column).
    pub fn mime(&self) -> &'static str {
        self.mime
    }

    /// Images, videos and archives: what alert sets are made of, read first.
    pub fn likely_hit(&self) -> bool {
        use infer::MatcherType::*;
        matches!(self.class, Image | Video | Archive)
    }

    /// Whether the name's extension disagrees with the content: a JPEG named
    /// `.dll` does, a JPEG named `.JPG`, `.jpeg` or with no extension does not.
    pub fn mismatches(&self, name: &str) -> bool {
        let Some(ext) = extension(name) else {
            return false;
        };
        let ext = ext.to_ascii_lowercase();
        if ext == self.extension {
            return false;
        }
        !ALIASES
            .iter()
            .filter(|(mime, _)| *mime == self.mime)
            .any(|(_, exts)| exts.split(' ').any(|e| e == ext))
    }
}

/// The extension of the last path component, without the dot; none for a name
/// without one or a dot-file such as `.profile`.
pub fn extension(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rfind('.') {
        Some(0) | None => None,
        Some(i) if i + 1 < name.len() => Some(&name[i + 1..]),
        Some(_) => None,
    }
}

/// Extensions, lower case, by which a file of a given type is legitimately
/// named, besides the one `infer` reports. ZIP and the OLE/MP4 families hold
/// many formats whose own extension is not the container's.
const ALIASES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg jpeg jpe jfif jif thm"),
    ("image/png", "png apng"),
    ("image/gif", "gif"),
    ("image/tiff", "tif tiff dng nef arw"),
    ("image/heif", "heic heif hif"),
    ("image/avif", "avif"),
    ("image/x-icon", "ico cur"),
    ("image/bmp", "bmp dib"),
    ("video/mp4", "mp4 m4v m4a m4b m4p f4v 3gp 3g2 mov"),
    ("video/quicktime", "mov qt mp4 m4v"),
    ("video/3gpp", "3gp 3gpp mp4"),
    ("video/x-m4v", "m4v mp4"),
    ("video/x-msvideo", "avi"),
    ("video/x-ms-wmv", "wmv asf wma"),
    ("video/webm", "webm mkv"),
    ("video/x-matroska", "mkv mka mks webm"),
    ("video/mpeg", "mpg mpeg mpe m2v vob"),
    ("audio/mpeg", "mp3 mp2 mpga"),
    ("audio/x-wav", "wav wave"),
    ("audio/ogg", "ogg oga opus"),
    (
        "application/zip",
        "zip jar apk aab ipa xpi crx docx docm xlsx xlsm pptx pptm odt ods odp odg epub \
         kmz cbz nupkg whl vsix 3mf xps oxps appx msix war ear",
    ),
    ("application/gzip", "gz tgz gzip svgz"),
    ("application/x-bzip2", "bz2 tbz tbz2"),
    ("application/x-xz", "xz txz"),
    ("application/vnd.rar", "rar cbr"),
    ("application/x-rar-compressed", "rar cbr"),
    ("application/x-7z-compressed", "7z"),
    ("application/x-tar", "tar"),
    (
        "application/vnd.microsoft.portable-executable",
        "exe dll sys scr ocx cpl drv efi mui com ax tlb winmd node",
    ),
    ("application/x-executable", "so ko o bin elf axf prx out"),
    (
        "application/x-ole-storage",
        "doc xls ppt msg msi vsd pub db",
    ),
    ("application/msword", "doc dot"),
    ("application/vnd.ms-excel", "xls xlt"),
    ("application/vnd.ms-powerpoint", "ppt pps pot"),
    ("application/pdf", "pdf ai"),
    ("application/vnd.sqlite3", "sqlite sqlite3 db db3 sqlitedb"),
    ("text/html", "html htm xhtml"),
    ("text/xml", "xml svg plist xsd xsl rss"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(extension("/a/b.JPG"), Some("JPG"));
        assert_eq!(extension("/a.d/b"), None);
        assert_eq!(extension("/a/.profile"), None);
        assert_eq!(extension("/a/b."), None);
        assert_eq!(extension("/a/b.tar.gz"), Some("gz"));
    }

    #[test]
    fn jpeg_names() {
        let t = ContentType::detect(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F'])
            .expect("jpeg");
        assert_eq!(t.mime(), "image/jpeg");
        assert!(t.likely_hit());
        for ok in ["/x.jpg", "/x.JPEG", "/x.jfif", "/x"] {
            assert!(!t.mismatches(ok), "{ok}");
        }
        for bad in ["/x.dll", "/x.png", "/x.txt", "/dir.jpg/x.dat"] {
            assert!(t.mismatches(bad), "{bad}");
        }
        assert_eq!(ContentType::detect(b"plain words"), None);
    }
}
