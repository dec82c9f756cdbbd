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
        } else if !c.is_control() && !crate::pathfmt::reorders_text(c) {
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
pub mod testing;

#[cfg(test)]
mod tests;
