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
