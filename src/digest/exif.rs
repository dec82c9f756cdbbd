//! Camera facts from a picture's Exif block, for the examiner's queue of
//! unknown media: make, model, serial number, when the picture was taken,
//! where, and what software last wrote it.
//!
//! The Exif block is found here in the bytes already read for the digests
//! (JPEG APP1, a TIFF file itself, PNG `eXIf`, WebP `EXIF`; not HEIC) and its
//! fields are decoded by the `kamadak-exif` crate.
//!
//! Exif comes from the evidence and may be built to hurt. The crate reads
//! every directory it can reach and keeps an entry for every field in them,
//! and decodes a field's value when it is asked for, so a block of a few
//! kilobytes can ask for far more memory than it holds (thousands of entries,
//! overlapping directories, one short string of zero bytes split into
//! thousands of pieces). Before the crate sees a block, a walk here over every
//! directory the crate could reach counts the entries and the decoded size of
//! each value this module asks for, and refuses the block past
//! [`MAX_ENTRIES`] entries, [`MAX_IFDS`] directories or [`MAX_VALUE_BYTES`];
//! the crate then gets a copy of only the part of the block that the walk
//! needs (at most [`MAX_BLOCK`] bytes). Its call is wrapped in
//! `catch_unwind`, as the decoders' are in [`super::picture`]: a panic on a
//! hostile block loses that picture's Exif, never the scan.

use ::exif::{Context, Field, In, Tag, Value};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The most characters kept of one text field.
pub const MAX_TEXT: usize = 128;
/// The most bytes of an Exif block handed to the parser: a TIFF file whose
/// directories or fields lie further in than this is read as having no Exif.
pub const MAX_BLOCK: usize = 16 << 20;
/// The most directories (IFDs) in one Exif block. Cameras write five or six.
pub const MAX_IFDS: usize = 64;
/// The most fields in one Exif block, counted over every directory. Cameras
/// write a few hundred.
pub const MAX_ENTRIES: usize = 8192;
/// The most memory the values this module reads may take once decoded.
/// Those values are short texts and a few numbers: a block past this is
/// hostile.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The camera facts of one picture.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CameraInfo {
    /// Make (tag 0x010F).
    pub make: Option<String>,
    /// Model (tag 0x0110).
    pub model: Option<String>,
    /// The camera body's serial number: BodySerialNumber (0xA431), or else
    /// DNG's CameraSerialNumber (0xC62F). Serial numbers inside maker notes
    /// are not read: each maker lays those out in its own way.
    pub serial: Option<String>,
    /// DateTimeOriginal (0x9003) as written, e.g. `2021:06:01 12:34:56`,
    /// with OffsetTimeOriginal (0x9011) appended when present, e.g.
    /// `2021:06:01 12:34:56+02:00`.
    pub taken: Option<String>,
    /// Present when the block has a GPS directory, even one without a
    /// usable position.
    pub gps: Option<Gps>,
    /// Software (0x0131): the firmware or program that last wrote the file.
    pub software: Option<String>,
}

/// A position from the GPS directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gps {
    /// Signed decimal degrees, south negative, from GPSLatitude and
    /// GPSLatitudeRef; `None` when missing, undecodable or past 90.
    pub latitude: Option<f64>,
    /// Signed decimal degrees, west negative, from GPSLongitude and
    /// GPSLongitudeRef; `None` when missing, undecodable or past 180.
    pub longitude: Option<f64>,
}

/// Words that mark Software as a picture editor (compared in lower case, as
/// parts of the text): see [`CameraInfo::from_camera`].
pub const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "adobe",
    "gimp",
    "snapseed",
    "picasa",
    "paint", // MS Paint, Paint.NET, PaintShop Pro
    "instagram",
    "affinity",
    "pixelmator",
    "luminar",
    "capture one",
    "darktable",
    "rawtherapee",
    "acdsee",
    "photoscape",
    "fotor",
    "facetune",
    "vsco",
    "picsart",
    "pixlr",
    "photopea",
    "polarr",
    "meitu",
    "canva",
    "corel",
    "imagemagick",
    "graphicsmagick",
    "irfanview",
    "xnview",
    "faststone",
    "digikam",
    "shotwell",
    "gthumb",
    "photo gallery",
    "photo viewer",
    "photo editor",
];

impl CameraInfo {
    /// Straight from a camera, as far as Exif tells: make and model present,
    /// and no editing software.
    ///
    /// Cameras and phones write their own firmware version in Software
    /// ("14.2" on an iPhone, "G960FXXU…" on a Samsung, "Ver.1.00" on a
    /// Nikon), so Software alone does not mean editing: it counts as editing
    /// software only when it contains one of [`EDITORS`], ignoring case
    /// ("Adobe Photoshop 22.0 (Windows)", "GIMP 2.10", "Instagram").
    /// Software without make and model is never "from camera" either, since
    /// make and model are required. This is a hint for sorting the queue,
    /// not proof: an editor that leaves Software alone, or an Exif block
    /// copied onto another picture, is not detected.
    pub fn from_camera(&self) -> bool {
        self.make.is_some()
            && self.model.is_some()
            && !self.software.as_deref().is_some_and(names_editor)
    }
}

/// Whether a Software text names one of [`EDITORS`].
fn names_editor(software: &str) -> bool {
    let lower = software.to_lowercase();
    EDITORS.iter().any(|e| lower.contains(e))
}

/// The camera facts in a picture held in `bytes` (JPEG, TIFF, PNG or WebP).
/// `None` when there is no Exif block, when the block is refused (see the
/// module's notes) or unreadable, or when it holds none of these facts.
/// A damaged block gives what could be read of it. Never panics.
pub fn camera_info(bytes: &[u8]) -> Option<CameraInfo> {
    let block = tiff_block(bytes)?;
    let survey = survey(block)?;
    let data = block[..survey.extent].to_vec();
    // The crate has had fuzzing bugs: a panic loses this block only.
    let info = catch_unwind(AssertUnwindSafe(|| read(data, survey.gps))).ok()??;
    (info != CameraInfo::default()).then_some(info)
}

/// The fields of a TIFF-structured block, decoded by the crate.
fn read(data: Vec<u8>, gps_directory: bool) -> Option<CameraInfo> {
    let exif = match ::exif::Reader::new().continue_on_error(true).read_raw(data) {
        Ok(exif) => exif,
        // Broken fields are skipped; the rest is kept.
        Err(e) => e.distill_partial_result(|_| {}).ok()?,
    };
    // The primary picture's directory first, then the thumbnail's and any
    // further ones. Only looked up, never iterated: `Exif::fields` would
    // decode every value in the block.
    let field = |tag: Tag| (0..8).find_map(|n| exif.get_field(tag, In(n)));
    let text = |tag: Tag| field(tag).and_then(|f| text_of(&f.value));
    let taken = text(Tag::DateTimeOriginal).map(|t| match text(Tag::OffsetTimeOriginal) {
        Some(offset) => t + &offset,
        None => t,
    });
    let latitude = coordinate(field(Tag::GPSLatitude), field(Tag::GPSLatitudeRef), 90.0);
    let longitude = coordinate(field(Tag::GPSLongitude), field(Tag::GPSLongitudeRef), 180.0);
    let gps = (gps_directory || latitude.is_some() || longitude.is_some()).then_some(Gps {
        latitude,
        longitude,
    });
    Some(CameraInfo {
        make: text(Tag::Make),
        model: text(Tag::Model),
        serial: text(Tag::BodySerialNumber).or_else(|| text(CAMERA_SERIAL_NUMBER)),
        taken,
        gps,
        software: text(Tag::Software),
    })
}

/// DNG's CameraSerialNumber, in the primary directory.
const CAMERA_SERIAL_NUMBER: Tag = Tag(Context::Tiff, 0xc62f);

/// The text of a field: the first non-empty string of an ASCII value, or the
/// bytes before the first NUL of a BYTE or UNDEFINED one, made safe for a
/// report cell (see [`clean_text`]).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Ascii(pieces) => pieces.iter().find_map(|p| clean_text(p)),
        Value::Byte(b) | Value::Undefined(b, _) => clean_text(b.split(|&c| c == 0).next()?),
        _ => None,
    }
}

/// Characters that reorder the text around them when shown: dropped, so a
/// field cannot disguise itself or its neighbours in a report.
const BIDI_CONTROLS: &[char] = &[
    '\u{061c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Text for a report cell: bytes that are not UTF-8 replaced, line breaks
/// and tabs made spaces, other control and bidirectional-control characters
/// removed, trimmed, and cut to [`MAX_TEXT`] characters; `None` if nothing
/// is left.
fn clean_text(bytes: &[u8]) -> Option<String> {
    // Four bytes a character at most: more cannot survive the cut.
    let bytes = &bytes[..bytes.len().min(MAX_TEXT * 4)];
    let mut s = String::new();
    for c in String::from_utf8_lossy(bytes).chars() {
        if c.is_whitespace() {
            s.push(' ');
        } else if !c.is_control() && !BIDI_CONTROLS.contains(&c) {
            s.push(c);
        }
    }
    let s: String = s.trim().chars().take(MAX_TEXT).collect();
    let s = s.trim_end();
    (!s.is_empty()).then(|| s.to_string())
}

/// Signed decimal degrees from a degrees-minutes-seconds value (one to three
/// rationals) and its N/S or E/W reference; `None` unless finite and within
/// `limit`. Without a reference the value's own sign is kept.
fn coordinate(value: Option<&Field>, reference: Option<&Field>, limit: f64) -> Option<f64> {
    let parts: Vec<Option<f64>> = match &value?.value {
        Value::Rational(v) => v.iter().take(3).map(|r| ratio(r.num, r.denom)).collect(),
        Value::SRational(v) => v.iter().take(3).map(|r| ratio(r.num, r.denom)).collect(),
        _ => return None,
    };
    if parts.is_empty() {
        return None;
    }
    let mut degrees = 0.0;
    for (part, scale) in parts.into_iter().zip([1.0, 60.0, 3600.0]) {
        degrees += part? / scale;
    }
    let letter = reference.and_then(|f| match &f.value {
        Value::Ascii(pieces) => pieces.first()?.first().copied(),
        _ => None,
    });
    let degrees = match letter.map(|c| c.to_ascii_uppercase()) {
        Some(b'S' | b'W') => -degrees.abs(),
        Some(b'N' | b'E') => degrees.abs(),
        _ => degrees,
    };
    (degrees.is_finite() && degrees.abs() <= limit).then_some(degrees)
}

/// A rational as a float; `None` for a zero denominator.
fn ratio<T: Into<f64>>(num: T, denom: T) -> Option<f64> {
    let denom = denom.into();
    (denom != 0.0).then(|| num.into() / denom)
}

// ---- Finding the block ----------------------------------------------------

fn is_tiff(b: &[u8]) -> bool {
    b.starts_with(b"II*\0") || b.starts_with(b"MM\0*")
}

/// The TIFF-structured Exif block inside a picture, if any.
fn tiff_block(bytes: &[u8]) -> Option<&[u8]> {
    let block = if is_tiff(bytes) {
        bytes
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        jpeg_exif(bytes)?
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        chunk_exif(bytes, 8, b"eXIf", b"IEND", u32::from_be_bytes, false)?
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        chunk_exif(bytes, 12, b"EXIF", b"\0\0\0\0", u32::from_le_bytes, true)?
    } else {
        return None;
    };
    // Some writers keep JPEG's "Exif\0\0" before the TIFF header in PNG and
    // WebP too.
    let block = block.strip_prefix(b"Exif\0\0").unwrap_or(block);
    is_tiff(block).then_some(block)
}

/// The first APP1 Exif segment's TIFF block, searched for up to the start of
/// the scan data. A segment cut short by the end of the file gives what is
/// there.
fn jpeg_exif(b: &[u8]) -> Option<&[u8]> {
    let mut pos = 2;
    loop {
        if *b.get(pos)? != 0xff {
            return None;
        }
        // Any number of 0xff fill bytes may come before a marker.
        while *b.get(pos)? == 0xff {
            pos += 1;
        }
        let marker = b[pos];
        pos += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xd0..=0xd8 => continue,
            // End of picture, or start of scan: no more metadata segments.
            0xd9 | 0xda => return None,
            _ => {}
        }
        let len = u16::from_be_bytes([*b.get(pos)?, *b.get(pos + 1)?]) as usize;
        if len < 2 {
            return None;
        }
        let payload = &b[pos + 2..(pos + len).min(b.len())];
        if marker == 0xe1 {
            // "Exif\0\0"; a few writers put another byte in the second NUL's place.
            if let Some(tiff) = payload.strip_prefix(b"Exif\0").and_then(|p| p.get(1..)) {
                if is_tiff(tiff) {
                    return Some(tiff);
                }
            }
        }
        pos += len;
    }
}

/// The payload of the first chunk of kind `want` in a PNG or RIFF (WebP)
/// file, whose chunks start at `pos`: a length of four bytes read by `len`
/// before (RIFF: after) the kind, the payload, then four bytes of CRC (PNG)
/// or a pad byte to an even length (RIFF). CRCs are not checked: a damaged
/// chunk's metadata is still worth having. A chunk cut short by the end of
/// the file gives what is there.
fn chunk_exif<'a>(
    b: &'a [u8],
    mut pos: usize,
    want: &[u8; 4],
    end: &[u8; 4],
    len: fn([u8; 4]) -> u32,
    riff: bool,
) -> Option<&'a [u8]> {
    while let Some(head) = b.get(pos..pos + 8) {
        let (kind, size) = if riff {
            (&head[..4], &head[4..])
        } else {
            (&head[4..], &head[..4])
        };
        let size = len(size.try_into().expect("4 bytes")) as usize;
        let start = pos + 8;
        if kind == want {
            return Some(&b[start..start.saturating_add(size).min(b.len())]);
        }
        if kind == end {
            return None;
        }
        let trailer = if riff { size & 1 } else { 4 };
        pos = start.checked_add(size)?.checked_add(trailer)?;
    }
    None
}

// ---- Bounding the parse ---------------------------------------------------

/// What the walk over a block's directories found.
#[derive(Debug, PartialEq)]
struct Survey {
    /// The bytes of the block the parse needs: every directory reached, and
    /// the values of the fields read.
    extent: usize,
    /// Whether a directory of the main chain points to a GPS directory.
    gps: bool,
}

/// Tags whose values the parse decodes: those [`read`] asks for (by number,
/// whatever the directory) and the directory pointers.
const DECODED: &[u16] = &[
    0x010f,
    0x0110,
    0x0131,
    0x9003,
    0x9011,
    0xa431,
    0xc62f, // texts
    0x0001,
    0x0002,
    0x0003,
    0x0004, // GPS latitude, longitude and references
    EXIF_POINTER,
    GPS_POINTER,
    INTEROP_POINTER,
];
const EXIF_POINTER: u16 = 0x8769;
const GPS_POINTER: u16 = 0x8825;
const INTEROP_POINTER: u16 = 0xa005;
/// How many directories the crate follows in the main chain.
const CHAIN: usize = 8;

/// Walks every directory that the crate's parse could reach, and more: a
/// pointer tag is followed from any directory, and a next-directory link
/// from any directory, so that the counts bound the crate's. `None` past a
/// limit, or without a TIFF header.
fn survey(block: &[u8]) -> Option<Survey> {
    let big = match block.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let len = block.len() as u64;
    let u16_at = |at: u64| -> Option<u16> {
        let b = block.get(usize::try_from(at).ok()?..)?.get(..2)?;
        let b = [b[0], b[1]];
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: u64| -> Option<u32> {
        let b = block.get(usize::try_from(at).ok()?..)?.get(..4)?;
        let b = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let mut extent = 8u64;
    let mut seen: Vec<u64> = Vec::new();
    let (mut entries, mut value_bytes, mut chain, mut gps) = (0usize, 0u64, 0usize, false);
    // The main chain (IFD0, IFD1, ...) is walked before any directory it
    // points to, so that each of its directories is known as such.
    let mut queue = VecDeque::from([(u64::from(u32_at(4)?), true)]);
    while let Some((at, in_chain)) = queue.pop_front() {
        let Some(count) = u16_at(at) else { continue };
        if seen.contains(&at) {
            continue;
        }
        if seen.len() == MAX_IFDS {
            return None;
        }
        seen.push(at);
        if in_chain {
            chain += 1;
        }
        let mut pos = at + 2;
        let mut whole = true;
        for _ in 0..count {
            if pos + 12 > len {
                whole = false;
                break;
            }
            entries += 1;
            if entries > MAX_ENTRIES {
                return None;
            }
            let (tag, kind, n) = (u16_at(pos)?, u16_at(pos + 2)?, u64::from(u32_at(pos + 4)?));
            let size = unit_size(kind) * n;
            let value_at = if size <= 4 {
                pos + 8
            } else {
                u64::from(u32_at(pos + 8)?)
            };
            if value_at + size <= len && DECODED.contains(&tag) {
                value_bytes += decoded_size(kind, n);
                if value_bytes > MAX_VALUE_BYTES as u64 {
                    return None;
                }
                extent = extent.max(value_at + size);
                if matches!(tag, EXIF_POINTER | GPS_POINTER | INTEROP_POINTER) && n > 0 {
                    // The crate follows BYTE, SHORT and LONG pointers.
                    let target = match kind {
                        1 => Some(u32::from(block[value_at as usize])),
                        3 => u16_at(value_at).map(u32::from),
                        4 => u32_at(value_at),
                        _ => None,
                    };
                    if let Some(target) = target.map(u64::from) {
                        if tag == GPS_POINTER && in_chain && chain <= CHAIN {
                            gps |= u16_at(target).is_some();
                        }
                        queue.push_back((target, false));
                    }
                }
            }
            pos += 12;
        }
        extent = extent.max(pos);
        if whole {
            if let Some(next) = u32_at(pos) {
                extent = extent.max(pos + 4);
                if next != 0 {
                    if in_chain && chain < CHAIN {
                        queue.push_front((next.into(), true));
                    } else {
                        queue.push_back((next.into(), false));
                    }
                }
            }
        }
    }
    let extent = usize::try_from(extent.min(len)).ok()?;
    (extent <= MAX_BLOCK).then_some(Survey { extent, gps })
}

/// Bytes per value of a TIFF field type (0 for an unknown type, which the
/// crate leaves undecoded).
fn unit_size(kind: u16) -> u64 {
    match kind {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 => 4,
        5 | 10 | 12 => 8,
        _ => 0,
    }
}

/// The memory a value takes once decoded by the crate: its bytes, and for
/// ASCII one vector for every NUL-separated piece.
fn decoded_size(kind: u16, n: u64) -> u64 {
    let bytes = unit_size(kind) * n;
    if kind == 2 {
        bytes + (n + 1) * std::mem::size_of::<Vec<u8>>() as u64
    } else {
        bytes
    }
}

/// Builders of pictures with made-up Exif, for tests here and in `tests/`.
#[doc(hidden)]
pub mod testing {
    use super::CameraInfo;

    /// One field: tag, type, count, value bytes in the block's byte order.
    struct Entry(u16, u16, u32, Vec<u8>);

    struct Order(bool);

    impl Order {
        fn u16(&self, v: u16) -> [u8; 2] {
            if self.0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn u32(&self, v: u32) -> [u8; 4] {
            if self.0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }
        fn ascii(&self, tag: u16, s: &str) -> Entry {
            let mut v = s.as_bytes().to_vec();
            v.push(0);
            Entry(tag, 2, v.len() as u32, v)
        }
        fn long(&self, tag: u16, x: u32) -> Entry {
            Entry(tag, 4, 1, self.u32(x).to_vec())
        }
        /// Degrees, minutes and seconds (to 1/10000) of `x`'s magnitude.
        fn dms(&self, tag: u16, x: f64) -> Entry {
            let a = x.abs();
            let d = a.floor();
            let m = ((a - d) * 60.0).floor();
            let s = ((a - d - m / 60.0) * 3600.0 * 10_000.0).round();
            let mut v = Vec::new();
            for (num, den) in [(d as u32, 1), (m as u32, 1), (s as u32, 10_000)] {
                v.extend(self.u32(num));
                v.extend(self.u32(den));
            }
            Entry(tag, 5, 3, v)
        }
        /// Bytes one directory takes, its values included.
        fn size(entries: &[Entry]) -> usize {
            6 + 12 * entries.len()
                + entries
                    .iter()
                    .filter(|e| e.3.len() > 4)
                    .map(|e| e.3.len().next_multiple_of(2))
                    .sum::<usize>()
        }
        /// Appends a directory starting at `out.len()` (its values after it).
        fn write(&self, out: &mut Vec<u8>, entries: &[Entry]) {
            let start = out.len();
            let mut value_at = start + 6 + 12 * entries.len();
            let mut values = Vec::new();
            out.extend(self.u16(entries.len() as u16));
            for Entry(tag, kind, count, v) in entries {
                out.extend(self.u16(*tag));
                out.extend(self.u16(*kind));
                out.extend(self.u32(*count));
                if v.len() <= 4 {
                    let mut inline = v.clone();
                    inline.resize(4, 0);
                    out.extend(inline);
                } else {
                    out.extend(self.u32(value_at as u32));
                    values.extend(v);
                    if v.len() % 2 == 1 {
                        values.push(0);
                    }
                    value_at += v.len().next_multiple_of(2);
                }
            }
            out.extend([0; 4]);
            out.extend(values);
        }
    }

    /// A TIFF-structured Exif block holding `info`: IFD0 (Make, Model,
    /// Software and pointers), an Exif directory (DateTimeOriginal,
    /// OffsetTimeOriginal from whatever of `taken` follows its first 19
    /// characters, BodySerialNumber) and a GPS directory (GPSVersionID and
    /// the position), big-endian ("MM") or little-endian ("II").
    pub fn tiff(info: &CameraInfo, big_endian: bool) -> Vec<u8> {
        let o = Order(big_endian);
        let mut exif = Vec::new();
        if let Some(t) = &info.taken {
            let (time, offset) = match t.get(..19) {
                Some(time) if t.len() > 19 => (time, Some(&t[19..])),
                _ => (t.as_str(), None),
            };
            exif.push(o.ascii(0x9003, time));
            if let Some(offset) = offset {
                exif.push(o.ascii(0x9011, offset));
            }
        }
        if let Some(s) = &info.serial {
            exif.push(o.ascii(0xa431, s));
        }
        let mut gps = Vec::new();
        if let Some(g) = &info.gps {
            gps.push(Entry(0, 1, 4, vec![2, 3, 0, 0]));
            if let Some(lat) = g.latitude {
                gps.push(o.ascii(1, if lat < 0.0 { "S" } else { "N" }));
                gps.push(o.dms(2, lat));
            }
            if let Some(lon) = g.longitude {
                gps.push(o.ascii(3, if lon < 0.0 { "W" } else { "E" }));
                gps.push(o.dms(4, lon));
            }
        }
        let mut ifd0 = Vec::new();
        for (tag, text) in [
            (0x010f, &info.make),
            (0x0110, &info.model),
            (0x0131, &info.software),
        ] {
            if let Some(text) = text {
                ifd0.push(o.ascii(tag, text));
            }
        }
        // Pointers last but in tag order; their values are known once IFD0's
        // size is, and that does not depend on them.
        let pointers = [(0x8769, !exif.is_empty()), (0x8825, info.gps.is_some())];
        for (tag, _) in pointers.iter().filter(|p| p.1) {
            ifd0.push(o.long(*tag, 0));
        }
        let exif_at = 8 + Order::size(&ifd0);
        let gps_at = exif_at
            + if exif.is_empty() {
                0
            } else {
                Order::size(&exif)
            };
        for e in &mut ifd0 {
            match e.0 {
                0x8769 => e.3 = o.u32(exif_at as u32).to_vec(),
                0x8825 => e.3 = o.u32(gps_at as u32).to_vec(),
                _ => {}
            }
        }
        let mut out = if big_endian {
            b"MM\0\x2a".to_vec()
        } else {
            b"II\x2a\0".to_vec()
        };
        out.extend(o.u32(8));
        o.write(&mut out, &ifd0);
        if !exif.is_empty() {
            o.write(&mut out, &exif);
        }
        if info.gps.is_some() {
            o.write(&mut out, &gps);
        }
        out
    }

    /// `jpeg` with an APP1 Exif segment holding `tiff` right after its SOI.
    /// Panics if `jpeg` does not start with SOI or `tiff` is too long for a
    /// segment.
    pub fn jpeg_with_tiff(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
        assert!(jpeg.starts_with(&[0xff, 0xd8]), "not a JPEG");
        let len = u16::try_from(2 + 6 + tiff.len()).expect("Exif block too long for APP1");
        let mut out = Vec::with_capacity(jpeg.len() + 4 + tiff.len() + 6);
        out.extend_from_slice(&jpeg[..2]);
        out.extend_from_slice(&[0xff, 0xe1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(b"Exif\0\0");
        out.extend_from_slice(tiff);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    /// `jpeg` (a real one, say) with a little-endian Exif block holding
    /// `info` inserted right after its SOI: it still decodes as a picture,
    /// and [`super::camera_info`] reads `info` back.
    pub fn jpeg_with_exif(jpeg: &[u8], info: &CameraInfo) -> Vec<u8> {
        jpeg_with_tiff(jpeg, &tiff(info, false))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{jpeg_with_exif, jpeg_with_tiff, tiff};
    use super::*;

    /// A real 16 x 8 grey baseline JPEG.
    const TINY_JPEG: &[u8] = b"\
\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\
\x00\x43\x00\x10\x0b\x0c\x0e\x0c\x0a\x10\x0e\x0d\x0e\x12\x11\x10\x13\x18\x28\x1a\x18\x16\
\x16\x18\x31\x23\x25\x1d\x28\x3a\x33\x3d\x3c\x39\x33\x38\x37\x40\x48\x5c\x4e\x40\x44\x57\
\x45\x37\x38\x50\x6d\x51\x57\x5f\x62\x67\x68\x67\x3e\x4d\x71\x79\x70\x64\x78\x5c\x65\x67\
\x63\xff\xc0\x00\x0b\x08\x00\x08\x00\x10\x01\x01\x11\x00\xff\xc4\x00\x15\x00\x01\x01\x00\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x06\x07\xff\xc4\x00\x16\x10\x00\x03\
\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x42\xff\xda\x00\x08\x01\
\x01\x00\x00\x3f\x00\x36\x92\x4a\x02\x49\x3f\xff\xd9";

    /// SOI and EOI: enough for this module, which never decodes pixels.
    const BARE_JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xd9];

    fn full() -> CameraInfo {
        CameraInfo {
            make: Some("Canon".into()),
            model: Some("Canon EOS 5D Mark IV".into()),
            serial: Some("032021001234".into()),
            taken: Some("2021:06:01 12:34:56+02:00".into()),
            gps: Some(Gps {
                latitude: Some(-33.856_784),
                longitude: Some(-151.215_297),
            }),
            software: Some("Firmware Version 1.2.2".into()),
        }
    }

    /// `got` equals `want`, the coordinates to within 1e-6 degrees.
    fn assert_same(got: &CameraInfo, want: &CameraInfo) {
        let strip = |i: &CameraInfo| CameraInfo {
            gps: i.gps.map(|_| Gps::default()),
            ..i.clone()
        };
        assert_eq!(strip(got), strip(want));
        if let (Some(g), Some(w)) = (got.gps, want.gps) {
            for (a, b) in [(g.latitude, w.latitude), (g.longitude, w.longitude)] {
                match (a, b) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{a} vs {b}"),
                    (a, b) => assert_eq!(a, b),
                }
            }
        }
    }

    fn png_with(chunk: &[u8]) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (&b"IHDR"[..], &[0u8; 13][..]),
            (b"eXIf", chunk),
            (b"IEND", b""),
        ] {
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(kind);
            png.extend(data);
            png.extend([0; 4]); // CRC, not checked
        }
        png
    }

    fn webp_with(chunk: &[u8]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (kind, data) in [
            (&b"VP8X"[..], &[8u8, 0, 0, 0, 0, 0, 0, 0, 0, 0][..]),
            (b"EXIF", chunk),
        ] {
            body.extend(kind);
            body.extend((data.len() as u32).to_le_bytes());
            body.extend(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut webp = b"RIFF".to_vec();
        webp.extend((body.len() as u32).to_le_bytes());
        webp.extend(body);
        webp
    }

    #[test]
    fn every_field_in_both_byte_orders() {
        for big in [false, true] {
            let jpeg = jpeg_with_tiff(BARE_JPEG, &tiff(&full(), big));
            let got = camera_info(&jpeg).expect("Exif read");
            assert_same(&got, &full());
            let g = got.gps.unwrap();
            assert!(g.latitude.unwrap() < 0.0 && g.longitude.unwrap() < 0.0);
        }
    }

    #[test]
    fn hemispheres_give_the_sign() {
        for (lat, lon) in [
            (51.5, -0.125),
            (-22.9, -43.2),
            (35.68, 139.69),
            (-1.0, 36.8),
        ] {
            let info = CameraInfo {
                gps: Some(Gps {
                    latitude: Some(lat),
                    longitude: Some(lon),
                }),
                ..CameraInfo::default()
            };
            for big in [false, true] {
                let got = camera_info(&jpeg_with_tiff(BARE_JPEG, &tiff(&info, big))).unwrap();
                let g = got.gps.unwrap();
                assert!((g.latitude.unwrap() - lat).abs() < 1e-6, "{lat} {g:?}");
                assert!((g.longitude.unwrap() - lon).abs() < 1e-6, "{lon} {g:?}");
            }
        }
    }

    #[test]
    fn a_gps_directory_without_a_position_still_shows() {
        let info = CameraInfo {
            make: Some("Apple".into()),
            gps: Some(Gps::default()),
            ..CameraInfo::default()
        };
        assert_eq!(camera_info(&jpeg_with_exif(BARE_JPEG, &info)), Some(info));
    }

    #[test]
    fn partial_fields() {
        let info = CameraInfo {
            taken: Some("2019:12:31 23:59:59".into()),
            ..CameraInfo::default()
        };
        assert_eq!(camera_info(&jpeg_with_exif(BARE_JPEG, &info)), Some(info));
    }

    #[test]
    fn every_container() {
        let block = tiff(&full(), true);
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend(&block);
        for (name, picture) in [
            ("TIFF", block.clone()),
            ("PNG", png_with(&block)),
            ("PNG with an Exif header", png_with(&prefixed)),
            ("WebP", webp_with(&block)),
            ("WebP with an Exif header", webp_with(&prefixed)),
            ("JPEG", jpeg_with_tiff(TINY_JPEG, &block)),
        ] {
            let got = camera_info(&picture).unwrap_or_else(|| panic!("{name}"));
            assert_same(&got, &full());
        }
    }

    #[test]
    fn exif_after_other_segments_and_fill_bytes() {
        // JFIF APP0, an XMP APP1, then fill bytes before the Exif APP1.
        let mut jpeg = TINY_JPEG[..20].to_vec();
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x/>";
        jpeg.extend([0xff, 0xe1]);
        jpeg.extend(((xmp.len() + 2) as u16).to_be_bytes());
        jpeg.extend(xmp);
        jpeg.extend([0xff, 0xff]);
        let with = jpeg_with_tiff(&[0xff, 0xd8], &tiff(&full(), false));
        jpeg.extend(&with[2..]);
        jpeg.extend(&TINY_JPEG[20..]);
        assert_same(&camera_info(&jpeg).unwrap(), &full());
    }

    #[test]
    fn jpeg_with_exif_still_decodes() {
        let jpeg = jpeg_with_exif(TINY_JPEG, &full());
        let mut d = jpeg_decoder::Decoder::new(&jpeg[..]);
        let pixels = d.decode().expect("decodes");
        assert_eq!(pixels.len(), 16 * 8);
        assert_eq!(
            pixels,
            jpeg_decoder::Decoder::new(TINY_JPEG).decode().unwrap()
        );
        let got = camera_info(&jpeg).unwrap();
        assert_same(&got, &full());
    }

    #[test]
    fn no_exif_gives_none() {
        assert_eq!(camera_info(TINY_JPEG), None);
        assert_eq!(camera_info(BARE_JPEG), None);
        assert_eq!(camera_info(b""), None);
        assert_eq!(camera_info(b"plain text, not a picture"), None);
        let mut png = png_with(b"");
        png.truncate(8 + 25);
        png.extend(b"\0\0\0\0IEND\0\0\0\0");
        assert_eq!(camera_info(&png), None);
        // An APP1 that is XMP, not Exif; an Exif block with none of the facts.
        let xmp = b"\xff\xd8\xff\xe1\x00\x08abcdef\xff\xd9";
        assert_eq!(camera_info(xmp), None);
        let empty = tiff(&CameraInfo::default(), false);
        assert_eq!(camera_info(&jpeg_with_tiff(BARE_JPEG, &empty)), None);
        // Exif after the scan data is not looked for.
        let mut late = TINY_JPEG.to_vec();
        late.truncate(late.len() - 2);
        late.extend(&jpeg_with_exif(BARE_JPEG, &full())[2..]);
        assert_eq!(camera_info(&late), None);
    }

    #[test]
    fn text_is_made_safe() {
        assert_eq!(
            clean_text(b"  Can\x00on\r\n EOS\x1b[31m \t").as_deref(),
            Some("Canon   EOS[31m")
        );
        assert_eq!(
            clean_text(b"\xffNik\xc3on").as_deref(),
            Some("\u{fffd}Nik\u{fffd}on")
        );
        assert_eq!(
            clean_text("evil\u{202e}gpj.exe".as_bytes()).as_deref(),
            Some("evilgpj.exe")
        );
        assert_eq!(clean_text(b"\0\0 \0"), None);
        let long = clean_text(&[b'x'; 5000]).unwrap();
        assert_eq!(long.chars().count(), MAX_TEXT);
        let wide = clean_text("é".repeat(1000).as_bytes()).unwrap();
        assert_eq!(wide.chars().count(), MAX_TEXT);
        // Fields round-trip through the block with the same cleaning.
        let info = CameraInfo {
            make: Some("NIK\u{7}ON\nCORP   ".into()),
            model: Some("x".repeat(300)),
            ..CameraInfo::default()
        };
        let got = camera_info(&jpeg_with_exif(BARE_JPEG, &info)).unwrap();
        assert_eq!(got.make.as_deref(), Some("NIKON CORP"));
        assert_eq!(got.model.unwrap().len(), MAX_TEXT);
    }

    #[test]
    fn the_software_rule() {
        let camera = |software: Option<&str>| CameraInfo {
            software: software.map(String::from),
            ..full()
        };
        for firmware in [None, Some("14.2"), Some("G960FXXU2CRLI"), Some("Ver.1.00")] {
            assert!(camera(firmware).from_camera(), "{firmware:?}");
        }
        for editor in [
            "Adobe Photoshop 22.0 (Windows)",
            "GIMP 2.10.30",
            "Adobe Photoshop Lightroom Classic 10.0",
            "Snapseed 2.0",
            "Picasa",
            "paint.net 4.3",
            "Instagram",
        ] {
            assert!(!camera(Some(editor)).from_camera(), "{editor}");
        }
        let no_model = CameraInfo {
            model: None,
            ..camera(None)
        };
        assert!(!no_model.from_camera());
        let software_only = CameraInfo {
            software: Some("14.2".into()),
            ..CameraInfo::default()
        };
        assert!(!software_only.from_camera());
    }

    #[test]
    fn truncated_blocks_give_none_or_true_facts() {
        for big in [false, true] {
            let jpeg = jpeg_with_tiff(BARE_JPEG, &tiff(&full(), big));
            let (mut none, mut some) = (0, 0);
            for cut in 0..jpeg.len() {
                match camera_info(&jpeg[..cut]) {
                    None => none += 1,
                    Some(got) => {
                        some += 1;
                        // Every fact read from a cut block is a true one.
                        let want = full();
                        for (g, w) in [
                            (&got.make, &want.make),
                            (&got.model, &want.model),
                            (&got.serial, &want.serial),
                            (&got.software, &want.software),
                        ] {
                            assert!(g.is_none() || g == w, "cut at {cut}: {got:?}");
                        }
                        // The time may have lost its offset, never more.
                        if let Some(t) = &got.taken {
                            assert!(want.taken.unwrap().starts_with(t.as_str()), "{t}");
                        }
                    }
                }
            }
            assert!(none > 0 && some > 0, "{none} {some}");
        }
    }

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Seeded mutations of Exif pictures in every container: never a panic
    /// out of this module (the crate's own are caught), text always safe,
    /// coordinates always in range.
    #[test]
    fn mutated_blocks_never_panic() {
        let mut seeds = Vec::new();
        for big in [false, true] {
            let block = tiff(&full(), big);
            seeds.push(jpeg_with_tiff(BARE_JPEG, &block));
            seeds.push(png_with(&block));
            seeds.push(webp_with(&block));
            seeds.push(block);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut read = 0;
        for round in 0..4000 {
            let mut b = seeds[round % seeds.len()].clone();
            for _ in 0..1 + rng.below(6) {
                let i = rng.below(b.len());
                match rng.below(5) {
                    0 => b[i] = rng.next() as u8,
                    1 => b[i] ^= 1 << rng.below(8),
                    2 if b.len() > i + 4 => {
                        b[i..i + 4].fill(if rng.below(2) == 0 { 0xff } else { 0 })
                    }
                    3 => b.truncate(i.max(1)),
                    _ => {
                        let j = rng.below(b.len());
                        let chunk = b[i.min(j)..i.max(j).min(i.min(j) + 32)].to_vec();
                        b.splice(i..i, chunk);
                    }
                }
            }
            let Some(info) = camera_info(&b) else {
                continue;
            };
            read += 1;
            for t in [&info.make, &info.model, &info.serial, &info.software]
                .into_iter()
                .flatten()
            {
                assert!(t.chars().count() <= MAX_TEXT, "{t:?}");
                assert!(!t.chars().any(char::is_control), "{t:?}");
                assert!(!t.is_empty() && t.trim() == t, "{t:?}");
            }
            if let Some(g) = info.gps {
                assert!(g.latitude.is_none_or(|x| x.abs() <= 90.0), "{g:?}");
                assert!(g.longitude.is_none_or(|x| x.abs() <= 180.0), "{g:?}");
            }
        }
        // Most mutants miss the fields, so most still give facts.
        assert!(read > 2000, "{read}");
    }

    /// A directory of `count` fields of `tag`, type ASCII, all pointing at
    /// one run of `run` zero bytes (little-endian).
    fn hostile(count: usize, tag: u16, run: usize) -> Vec<u8> {
        let mut b = b"II\x2a\0\x08\0\0\0".to_vec();
        let values = 8 + 2 + 12 * count + 4;
        b.extend((count as u16).to_le_bytes());
        for _ in 0..count {
            b.extend(tag.to_le_bytes());
            b.extend(2u16.to_le_bytes());
            b.extend((run as u32).to_le_bytes());
            b.extend((values as u32).to_le_bytes());
        }
        b.extend([0; 4]);
        b.resize(values + run, 0);
        b
    }

    #[test]
    fn hostile_blocks_are_refused_before_the_parse() {
        // One Make of 200000 NULs would decode into 200000 vectors (4.8 MB
        // on 64 bits) from 200 kB.
        let b = hostile(1, 0x010f, 200_000);
        assert_eq!(survey(&b), None);
        assert_eq!(camera_info(&b), None);
        // Values read are counted in full, whichever duplicate is decoded.
        let b = hostile(5000, 0x010f, 1_000);
        assert_eq!(survey(&b), None);
        // A short one is read.
        let mut b = hostile(1, 0x010f, 8);
        let n = b.len();
        b[n - 8..].copy_from_slice(b"Olympus\0");
        assert_eq!(camera_info(&b).unwrap().make.as_deref(), Some("Olympus"));
        // Fields that are never read cost only their entries...
        let b = hostile(5000, 0x010e, 50_000);
        assert!(survey(&b).is_some());
        // ... and those are bounded too.
        let b = hostile(MAX_ENTRIES + 1, 0x010e, 8);
        assert_eq!(survey(&b), None);
        // A pointer with a huge count.
        let mut b = hostile(1, EXIF_POINTER, 8);
        b[12..14].copy_from_slice(&4u16.to_le_bytes());
        b[14..18].copy_from_slice(&(1u32 << 20).to_le_bytes());
        b.resize(8 + 18 + (4 << 20), 0);
        assert_eq!(survey(&b), None);
    }

    #[test]
    fn loops_and_fans_of_directories_end() {
        // IFD0 whose next link and Exif pointer both lead back to itself.
        let mut b = b"II\x2a\0\x08\0\0\0\x02\0".to_vec();
        b.extend(b"\x0f\x01\x02\0\x02\0\0\0A\0\0\0");
        b.extend(b"\x69\x87\x04\0\x01\0\0\0\x08\0\0\0");
        b.extend(8u32.to_le_bytes());
        let info = camera_info(&b).unwrap();
        assert_eq!(info.make.as_deref(), Some("A"));
        // An IFD0 of Exif pointers to every even offset: past MAX_IFDS.
        let n = 2000;
        let mut b = b"II\x2a\0\x08\0\0\0".to_vec();
        b.extend((n as u16).to_le_bytes());
        for i in 0..n {
            b.extend(b"\x69\x87\x04\0\x01\0\0\0");
            b.extend((10 + 2 * i as u32).to_le_bytes());
        }
        b.extend([0; 4]);
        assert_eq!(survey(&b), None);
        assert_eq!(camera_info(&b), None);
    }

    #[test]
    fn the_copy_is_only_what_the_parse_needs() {
        // A TIFF of 20 MiB with its directory at the start: read, copying
        // only the directory and its values.
        let block = tiff(&full(), false);
        let mut big = block.clone();
        big.resize(20 << 20, 0x55);
        let s = survey(&big).unwrap();
        assert_eq!(s.extent, block.len());
        assert!(s.gps);
        assert_same(&camera_info(&big).unwrap(), &full());
        // With the directory past MAX_BLOCK: refused.
        let mut far = b"II\x2a\0".to_vec();
        far.extend(((MAX_BLOCK + 8) as u32).to_le_bytes());
        far.resize(MAX_BLOCK + 8, 0);
        far.extend(b"\x01\0\x0f\x01\x02\0\x02\0\0\0A\0\0\0\0\0\0\0");
        assert_eq!(camera_info(&far), None);
    }
}
