//! Pictures decoded for their PDQ hash, from bytes already read for the other
//! digests (never a second read of the file).
//!
//! Decoders are attack surface: a picture from the evidence may be built to
//! crash, hang or exhaust a decoder. Each decode is bounded (the pixel count a
//! header claims is checked before anything is allocated, and the decoders'
//! own allocation limits are set), and a panic inside a decoder is contained
//! to the one file: it becomes a note, never the end of the scan.
//!
//! JPEG is decoded at a reduced size where the picture is large (DCT scaling:
//! 1/2, 1/4 or 1/8, keeping at least [`MIN_SIDE`] pixels on the short side),
//! which is where the time goes; PDQ reduces every picture to 64 x 64 samples,
//! and the hashes stay within a few bits of full-size decoding. A baseline
//! JPEG read at 1/4 or 1/8 (a photo) is decoded straight from its blocks by
//! `jpeg.rs` to the RGB libjpeg gives at that size, and its luminance taken
//! from that; every other picture, and any JPEG that path does not read, goes
//! through `jpeg-decoder` or `image`.

use super::pdq::{self, PdqResult};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The most pixels a picture may decode to: 50 million (200 MB of RGBA).
/// Larger pictures get a note instead of a hash.
pub const MAX_PIXELS: u64 = 50_000_000;
pub use super::jpeg::MAX_JPEG_PIXELS;
/// Pictures of more pixels than this whose file is more than
/// [`BOMB_RATIO`] times smaller are decompression bombs, not decoded: no real
/// picture is so flat, and one that were would hash to noise.
const BOMB_PIXELS: u64 = 4_000_000;
/// Pixels per byte of file beyond which a large picture is a bomb.
const BOMB_RATIO: u64 = 1000;

/// The fewest pixels kept on the short side when a JPEG is decoded at a
/// reduced size.
pub const MIN_SIDE: u32 = 512;
/// The most bytes of a file kept for decoding: larger pictures get a note.
pub const MAX_BYTES: u64 = 256 << 20;

/// Picture formats decoded for PDQ, told from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG (JFIF, Exif), decoded at a reduced size where large.
    Jpeg,
    /// PNG.
    Png,
    /// GIF: the first frame.
    Gif,
    /// BMP.
    Bmp,
    /// WebP, lossy and lossless.
    Webp,
    /// TIFF.
    Tiff,
    /// Recognised, but no decoder is built in (HEIC, AVIF).
    Undecodable(&'static str),
}

impl Format {
    /// The format of a file starting with `head`, if it is a picture.
    pub fn detect(head: &[u8]) -> Option<Format> {
        let at =
            |i: usize, sig: &[u8]| head.len() >= i + sig.len() && &head[i..i + sig.len()] == sig;
        if at(0, &[0xff, 0xd8, 0xff]) {
            Some(Format::Jpeg)
        } else if at(0, b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
            Some(Format::Gif)
        } else if at(0, b"BM")
            && head.len() >= 18
            && matches!(head[14..18], [12 | 40 | 52 | 56 | 64 | 108 | 124, 0, 0, 0])
        {
            Some(Format::Bmp)
        } else if at(0, b"RIFF") && at(8, b"WEBP") {
            Some(Format::Webp)
        } else if at(0, b"II*\0") || at(0, b"MM\0*") {
            Some(Format::Tiff)
        } else if at(4, b"ftyp") {
            let brand = head.get(8..12)?;
            match brand {
                b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"hevc" => {
                    Some(Format::Undecodable("HEIC"))
                }
                b"avif" | b"avis" => Some(Format::Undecodable("AVIF")),
                _ => None,
            }
        } else {
            None
        }
    }

    /// The name used in notes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
            Format::Webp => "WebP",
            Format::Tiff => "TIFF",
            Format::Undecodable(n) => n,
        }
    }
}

/// Bytes of memory decodes may hold at once: 1 GiB.
pub const DECODE_MEMORY: u64 = 1 << 30;
/// Bytes of pictures' files kept for decoding at once, over every reader:
/// 512 MiB (a reader whose picture would pass it waits).
pub const BUFFER_MEMORY: u64 = 512 << 20;
/// Bytes a decode is taken to hold per pixel: the decoder's output (up to 4),
/// a conversion to RGB (3) and the luminance (4), rounded up with room for
/// the filter's rows and the picture reduced.
const BYTES_PER_PIXEL: u64 = 16;

/// Memory shared by the decodes running at once: each takes what its
/// picture's size says it will hold before decoding, and waits while others
/// hold too much. A decode larger than the whole budget runs alone.
pub struct DecodeBudget {
    total: u64,
    left: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

/// Memory taken from a [`DecodeBudget`] through `B` (a borrow of it, or a
/// shared handle its owner keeps), given back when dropped.
#[derive(Debug)]
pub struct Taken<B: std::ops::Deref<Target = DecodeBudget>> {
    budget: B,
    bytes: u64,
}

/// Memory held from a shared [`DecodeBudget`] by its owner.
pub type Held = Taken<std::sync::Arc<DecodeBudget>>;

impl std::fmt::Debug for DecodeBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecodeBudget({} bytes)", self.total)
    }
}

impl DecodeBudget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> DecodeBudget {
        DecodeBudget {
            total,
            left: std::sync::Mutex::new(total),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Takes `bytes` (at most the whole budget), waiting until that much is free.
    pub fn take(&self, bytes: u64) -> Taken<&DecodeBudget> {
        let bytes = self.wait_for(bytes);
        Taken {
            budget: self,
            bytes,
        }
    }

    /// [`DecodeBudget::take`], the memory held by the caller for as long as
    /// it keeps the result.
    pub fn hold(self: &std::sync::Arc<Self>, bytes: u64) -> Held {
        let bytes = self.wait_for(bytes);
        Taken {
            budget: self.clone(),
            bytes,
        }
    }

    /// Waits until `bytes` (at most the whole budget) are free and takes
    /// them; returns how many were taken.
    fn wait_for(&self, bytes: u64) -> u64 {
        let bytes = bytes.min(self.total);
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        while *left < bytes {
            left = self.freed.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        *left -= bytes;
        bytes
    }
}

impl<B: std::ops::Deref<Target = DecodeBudget>> Drop for Taken<B> {
    fn drop(&mut self) {
        let mut left = self.budget.left.lock().unwrap_or_else(|e| e.into_inner());
        *left += self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Why a picture has no PDQ hash: the text of its note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoHash(pub String);

/// The PDQ hash of a picture of `format` held in `bytes`.
pub fn pdq_of(format: Format, bytes: &[u8]) -> Result<PdqResult, NoHash> {
    pdq_within(format, bytes, &DecodeBudget::new(u64::MAX))
}

/// [`pdq_of`], the decode's memory taken from `budget`.
pub fn pdq_within(
    format: Format,
    bytes: &[u8],
    budget: &DecodeBudget,
) -> Result<PdqResult, NoHash> {
    if let Format::Undecodable(name) = format {
        return Err(NoHash(format!("pdq: {name} not decoded")));
    }
    // A decoder that panics on hostile input must not take the scan with it.
    match catch_unwind(AssertUnwindSafe(|| decode_and_hash(format, bytes, budget))) {
        Ok(r) => r,
        Err(_) => Err(NoHash(format!("pdq: {} decoder failed", format.name()))),
    }
}

fn decode_and_hash(
    format: Format,
    bytes: &[u8],
    budget: &DecodeBudget,
) -> Result<PdqResult, NoHash> {
    let ((mut luma, w, h, _taken), (width, height)) = match format {
        Format::Jpeg => decode_jpeg(bytes, budget)?,
        _ => decode_other(format, bytes, budget)?,
    };
    let mut result = pdq::hash_luma(&mut luma, w, h);
    (result.width, result.height) = (width, height);
    Ok(result)
}

/// Luminance, its width and height, and the memory taken for it; then the
/// picture's own width and height (larger when decoded at a reduced size).
type Decoded<'a> = (
    (Vec<f32>, usize, usize, Taken<&'a DecodeBudget>),
    (u32, u32),
);

fn too_large(format: Format, w: u64, h: u64) -> NoHash {
    NoHash(format!(
        "pdq: {} of {w} x {h} pixels is over the limit",
        format.name()
    ))
}

fn bad(format: Format, e: impl std::fmt::Display) -> NoHash {
    let text: String = e
        .to_string()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    NoHash(format!("pdq: {} not decoded: {text}", format.name()))
}

/// The scale denominator (1, 2, 4 or 8) that keeps the short side of a
/// `w` x `h` picture at least [`MIN_SIDE`].
fn jpeg_denominator(w: u32, h: u32) -> u32 {
    let short = w.min(h);
    [8, 4, 2]
        .into_iter()
        .find(|d| short.div_ceil(*d) >= MIN_SIDE)
        .unwrap_or(1)
}

fn decode_jpeg<'a>(bytes: &[u8], budget: &'a DecodeBudget) -> Result<Decoded<'a>, NoHash> {
    let f = Format::Jpeg;
    let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    d.read_info().map_err(|e| bad(f, e))?;
    let info = d.info().ok_or_else(|| bad(f, "no frame header"))?;
    let (w, h) = (info.width as u32, info.height as u32);
    let (width, height) = (w, h);
    if w == 0 || h == 0 {
        return Err(bad(f, "zero width or height"));
    }
    let den = jpeg_denominator(w, h);
    let (sw, sh) = (w.div_ceil(den), h.div_ceil(den));
    let full = w as u64 * h as u64;
    // A progressive (or lossless) JPEG keeps every coefficient at full size
    // while it decodes, 2 bytes each per component, whatever the scale.
    let components: u64 = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::L16 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        _ => 4,
    };
    let sequential = info.coding_process == jpeg_decoder::CodingProcess::DctSequential;
    let coefficients = if sequential { 0 } else { full * 2 * components };
    if sw as u64 * sh as u64 > MAX_PIXELS
        || full > MAX_JPEG_PIXELS
        || (!sequential && full > MAX_PIXELS)
    {
        return Err(too_large(f, w as u64, h as u64));
    }
    if den > 1 {
        d.scale(sw as u16, sh as u16).map_err(|e| bad(f, e))?;
    }
    // Photos: reduced as they are decoded, by libjpeg's arithmetic (the scan's
    // bytes copied once, unstuffed: counted too, in the one take, so that two
    // decodes never each hold part and wait for the rest).
    let fast = den >= 4 && sequential;
    let copy = if fast { bytes.len() as u64 } else { 0 };
    let taken = budget.take(sw as u64 * sh as u64 * BYTES_PER_PIXEL + coefficients + copy);
    if fast {
        // What the fast path does not read, or fails on, goes to the
        // general decoder.
        if let Ok(Some(r)) = super::jpeg::reduced(bytes, den) {
            let (w, h) = (r.width, r.height);
            return Ok(((r.luma(), w, h, taken), (width, height)));
        }
    }
    d.set_max_decoding_buffer_size((MAX_PIXELS * 4) as usize);
    let px = d.decode().map_err(|e| bad(f, e))?;
    let info = d.info().ok_or_else(|| bad(f, "no frame header"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    use jpeg_decoder::PixelFormat as P;
    let luma = match info.pixel_format {
        P::RGB24 if px.len() == w * h * 3 => pdq::luma_from_rgb(&px, w, h),
        P::L8 if px.len() == w * h => pdq::luma_from_grey(&px),
        P::L16 if px.len() == w * h * 2 => px
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]) as f32 / 257.0)
            .collect(),
        P::CMYK32 if px.len() == w * h * 4 => {
            let rgb: Vec<u8> = px
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = p[3] as u32;
                    [p[0], p[1], p[2]].map(|c| (c as u32 * k / 255) as u8)
                })
                .collect();
            pdq::luma_from_rgb(&rgb, w, h)
        }
        other => return Err(bad(f, format!("unexpected pixel data ({other:?})"))),
    };
    Ok(((luma, w, h, taken), (width, height)))
}

fn decode_other<'a>(
    format: Format,
    bytes: &[u8],
    budget: &'a DecodeBudget,
) -> Result<Decoded<'a>, NoHash> {
    let image_format = match format {
        Format::Png => image::ImageFormat::Png,
        Format::Gif => image::ImageFormat::Gif,
        Format::Bmp => image::ImageFormat::Bmp,
        Format::Webp => image::ImageFormat::WebP,
        Format::Tiff => image::ImageFormat::Tiff,
        Format::Jpeg | Format::Undecodable(_) => unreachable!("handled before"),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(|e| bad(format, e))?;
    if w == 0 || h == 0 {
        return Err(bad(format, "zero width or height"));
    }
    let pixels = w as u64 * h as u64;
    if pixels > MAX_PIXELS {
        return Err(too_large(format, w as u64, h as u64));
    }
    if pixels > BOMB_PIXELS && pixels / BOMB_RATIO > bytes.len() as u64 {
        return Err(NoHash(format!(
            "pdq: {} of {w} x {h} pixels in {} bytes not decoded: a decompression bomb",
            format.name(),
            bytes.len()
        )));
    }
    let taken = budget.take(w as u64 * h as u64 * BYTES_PER_PIXEL);
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| bad(format, e))?;
    let rgb = img.into_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    Ok((
        (pdq::luma_from_rgb(rgb.as_raw(), w, h), w, h, taken),
        (w as u32, h as u32),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_content() {
        assert_eq!(Format::detect(b"\xff\xd8\xff\xe0rest"), Some(Format::Jpeg));
        assert_eq!(Format::detect(b"\x89PNG\r\n\x1a\nxxxx"), Some(Format::Png));
        assert_eq!(Format::detect(b"GIF89a...."), Some(Format::Gif));
        assert_eq!(Format::detect(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(
            Format::detect(b"\0\0\0\x18ftypheic\0\0"),
            Some(Format::Undecodable("HEIC"))
        );
        assert_eq!(Format::detect(b"\0\0\0\x18ftypisom\0\0"), None);
        assert_eq!(Format::detect(b"BM"), None);
        assert_eq!(Format::detect(b"plain text"), None);
    }

    #[test]
    fn a_photo_is_read_by_the_fast_path() {
        // 2048 x 2048 (read at 1/4), blocks with a DC pattern and an AC
        // coefficient: the general decoder's 2 x 2 inverse DCT differs from
        // libjpeg's on them, so only the fast path gives this luminance.
        // A checkerboard of 128-pixel squares, DC given as differences.
        let level = |i: usize| ((i % 256 / 16 + i / 256 / 16) % 2) as i32 * 400 - 200;
        let jpeg = crate::digest::jpeg::tests::grey_jpeg(2048, 2048, |i| {
            let before = if i == 0 { 0 } else { level(i - 1) };
            (level(i) - before, (i % 7) as i32 * 30 - 90)
        });
        let fast = crate::digest::jpeg::reduced(&jpeg, 4).unwrap().unwrap();
        let budget = DecodeBudget::new(u64::MAX);
        let ((luma, w, h, _), size) = decode_jpeg(&jpeg, &budget).unwrap();
        assert_eq!((w, h, size), (fast.width, fast.height, (2048, 2048)));
        let differ = luma
            .iter()
            .zip(fast.luma())
            .filter(|(a, b)| **a != *b)
            .count();
        assert_eq!(differ, 0, "{differ} of {} values differ", luma.len());
        assert!(pdq_of(Format::Jpeg, &jpeg).unwrap().quality > 0);
    }

    #[test]
    fn jpeg_keeps_short_side() {
        assert_eq!(jpeg_denominator(4032, 3024), 4); // 756 px short side
        assert_eq!(jpeg_denominator(1600, 1004), 1); // 502 at 1/2 is too few
        assert_eq!(jpeg_denominator(8000, 6000), 8); // 750
        assert_eq!(jpeg_denominator(100, 100), 1);
    }

    #[test]
    fn hostile_headers_give_notes() {
        // A PNG header claiming 60000 x 60000 pixels: refused before allocating.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&60000u32.to_be_bytes());
        png.extend_from_slice(&60000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32(&png[12..]);
        png.extend_from_slice(&crc.to_be_bytes());
        for (kind, data) in [
            (&b"IDAT"[..], &b"\x78\x9c\x03\x00\x00\x00\x00\x01"[..]),
            (b"IEND", b""),
        ] {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = png.len();
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            let crc = crc32(&png[start..]);
            png.extend_from_slice(&crc.to_be_bytes());
        }
        let e = pdq_of(Format::Png, &png).unwrap_err();
        assert!(e.0.contains("over the limit"), "{e:?}");
        // 7000 x 7000 (within the limit) in a few bytes: a bomb.
        png[16..20].copy_from_slice(&7000u32.to_be_bytes());
        png[20..24].copy_from_slice(&7000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = pdq_of(Format::Png, &png).unwrap_err();
        assert!(e.0.contains("decompression bomb"), "{e:?}");
        // Progressive JPEGs keep every coefficient at full size: 8000 x 8000
        // is refused (a sequential one is decoded at 1/8), as is any JPEG of
        // more than 400 million pixels.
        for (marker, w, h, refused) in [
            (0xc2u8, 8000u16, 8000u16, true),
            (0xc0, 8000, 8000, false),
            (0xc0, 30000, 30000, true),
        ] {
            let over = match pdq_of(Format::Jpeg, &jpeg_header(marker, w, h)) {
                Ok(_) => false,
                Err(e) => e.0.contains("over the limit"),
            };
            assert_eq!(over, refused, "{marker:x} {w}");
        }
        // Truncated and garbage data.
        for f in [
            Format::Jpeg,
            Format::Png,
            Format::Gif,
            Format::Bmp,
            Format::Webp,
            Format::Tiff,
        ] {
            let e = pdq_of(f, b"\xff\xd8\xff\xe0\0\x10JFIF").unwrap_err();
            assert!(e.0.starts_with("pdq: "), "{e:?}");
        }
    }

    /// A JPEG's headers (one grey component, one Huffman code) and a scan
    /// with no data: it fails to decode, unless refused first.
    fn jpeg_header(sof: u8, w: u16, h: u16) -> Vec<u8> {
        fn seg(m: u8, d: &[u8]) -> Vec<u8> {
            let mut v = vec![0xff, m];
            v.extend_from_slice(&((d.len() + 2) as u16).to_be_bytes());
            v.extend_from_slice(d);
            v
        }
        let mut out = vec![0xff, 0xd8];
        let mut dqt = vec![0u8];
        dqt.extend([1u8; 64]);
        out.extend(seg(0xdb, &dqt));
        let mut sof_data = vec![8];
        sof_data.extend_from_slice(&h.to_be_bytes());
        sof_data.extend_from_slice(&w.to_be_bytes());
        sof_data.extend_from_slice(&[1, 1, 0x11, 0]);
        out.extend(seg(sof, &sof_data));
        for class in [0x00u8, 0x10] {
            let mut dht = vec![class, 1];
            dht.extend([0u8; 15]);
            dht.push(0);
            out.extend(seg(0xc4, &dht));
        }
        out.extend(seg(0xda, &[1, 1, 0, 0, 63, 0]));
        out.extend_from_slice(&[0, 0, 0xff, 0xd9]);
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb88320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
}
