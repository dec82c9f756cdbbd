use super::testing::{jpeg_with_exif, jpeg_with_tiff, tiff};
use super::*;
use crate::testing::Rng;

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
                0 => b[i] = rng.next_u64() as u8,
                1 => b[i] ^= 1 << rng.below(8),
                2 if b.len() > i + 4 => b[i..i + 4].fill(if rng.below(2) == 0 { 0xff } else { 0 }),
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
