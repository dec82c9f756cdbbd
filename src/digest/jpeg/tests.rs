//! Tests of the JPEG fast path: libjpeg-turbo's own output on fixtures, what
//! is left to the general decoder, and hostile input.

use super::idct::range_limit;
use super::*;
use crate::digest::pdq::luma_of;

/// Where the first marker `m` is in `jpeg`.
fn marker(jpeg: &[u8], m: u8) -> usize {
    jpeg.windows(2).position(|w| w == [0xFF, m]).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jpeg/");
    std::fs::read(format!("{dir}{name}")).unwrap()
}

#[test]
fn pixels_are_libjpegs_to_the_byte() {
    // The .rgb4, .rgb8 (colour) and .y4, .y8 (grey) files are what
    // libjpeg-turbo gives through Pillow's draft mode (scripts/jpeg-fixtures):
    // 4:2:0 with restart markers and without, 4:4:4, 4:2:2 (widened by
    // libjpeg's filter, or by repeating samples at 1/8 and where the chroma
    // is 2 wide or less; 422-tall's chroma is 2 blocks high in an MCU,
    // 422-wide's 2 wide under a luminance 4 wide), grey, and colours outside
    // the RGB cube, in block means (gamut) or only within blocks (stripes).
    for (name, w, h) in [
        ("420-restart", 203, 157),
        ("420", 97, 61),
        ("444", 160, 120),
        ("422", 130, 97),
        ("422-narrow", 13, 21),
        ("422-3", 23, 9),
        ("422-tall", 75, 50),
        ("422-wide", 75, 50),
        ("grey", 150, 111),
        ("gamut", 64, 48),
        ("stripes", 64, 64),
        ("stripes-420", 64, 64),
    ] {
        let jpeg = fixture(&format!("{name}.jpg"));
        for den in [4, 8] {
            let r = reduced(&jpeg, den).unwrap().unwrap();
            assert_eq!(
                (r.width, r.height),
                (
                    (w as usize).div_ceil(den as usize),
                    (h as usize).div_ceil(den as usize)
                )
            );
            let ext = if r.planes.len() == 1 { "y" } else { "rgb" };
            let pixels = r.pixels();
            let expected = fixture(&format!("{name}.{ext}{den}"));
            assert_eq!(pixels.len(), expected.len(), "{name} 1/{den}");
            let differ = pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{name} 1/{den}: {differ} samples differ");
        }
    }
}

#[test]
fn clamped_colour_is_hashed_as_shown_not_as_its_luminance() {
    // The stripes' Y is a disc; what is shown, once the out-of-cube
    // chroma is clamped, is not: PDQ's luminance is of the RGB shown.
    for name in ["stripes", "stripes-420", "gamut"] {
        let r = reduced(&fixture(&format!("{name}.jpg")), 4)
            .unwrap()
            .unwrap();
        let luma = r.luma();
        let y: Vec<f32> = r.rows().flat_map(|[y, ..]| y).map(|&y| y as f32).collect();
        let far = luma.iter().zip(&y).filter(|(a, b)| (*a - *b).abs() > 8.0);
        assert!(far.count() * 4 > luma.len(), "{name}");
        let rgb = r.pixels();
        let expected: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| luma_of(p[0], p[1], p[2]))
            .collect();
        assert_eq!(luma, expected, "{name}");
    }
}

#[test]
fn other_samplings_progressive_rgb_and_the_like_are_left_to_the_general_decoder() {
    // 440 and 411: chroma libjpeg upsamples otherwise than across by 2;
    // scans: each component in a scan of its own.
    for name in ["440", "411", "progressive", "rgb", "scans"] {
        assert!(
            reduced(&fixture(&format!("{name}.jpg")), 4)
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
    assert!(reduced(b"\xFF\xD8\xFF\xD9", 4).is_err());
    assert!(reduced(b"not a jpeg", 8).is_err());
}

#[test]
fn samplings_libjpeg_reduces_or_widens_across_are_read() {
    // The luminance's sampling and the chroma's (Cb, Cr) set in 444.jpg's
    // frame header: libjpeg reduces chroma at the luminance's sampling, or
    // at half of it both ways, to the luminance's size, and chroma at half
    // of it across to the luminance's block size, then widens it; others
    // it upsamples otherwise, and they are left to the general decoder.
    let jpeg = fixture("444.jpg");
    let sof = marker(&jpeg, 0xC0);
    let with = |y: u8, cb: u8, cr: u8| {
        let mut m = jpeg.clone();
        for (c, hv) in [y, cb, cr].into_iter().enumerate() {
            m[sof + 11 + 3 * c] = hv;
        }
        reduced(&m, 4).map(|r| r.is_some())
    };
    for (y, c) in [(0x12, 0x11), (0x41, 0x11), (0x22, 0x21), (0x42, 0x11)] {
        assert_eq!(with(y, c, c), Ok(false), "{y:#x} {c:#x}");
    }
    // Read: the data, made for 4:4:4, is then found bad.
    for (y, c) in [(0x21, 0x11), (0x22, 0x11), (0x22, 0x12), (0x41, 0x21)] {
        assert_eq!(
            with(y, c, c),
            Err("bad entropy-coded data"),
            "{y:#x} {c:#x}"
        );
    }
    assert_eq!(with(0x11, 0x11, 0x11), Ok(true));
    assert_eq!(with(0x22, 0x11, 0x22), Ok(false), "Cb and Cr differ");
    // 4 x 2 over 2 x 1: twice both ways, but 12 blocks in an MCU.
    assert_eq!(with(0x42, 0x21, 0x21), Err("more than 10 blocks in an MCU"));
}

#[test]
fn restart_markers_past_those_needed_take_no_memory() {
    let mut scan = b"\x12\x34".to_vec();
    for i in 0..100_000 {
        scan.extend([0xFF, 0xD0 + (i % 8) as u8, 0x56]);
    }
    scan.extend([0xFF, 0xD9]);
    // Without a restart interval the first marker ends the data.
    let e = Entropy::new(&scan, 0, 0).unwrap();
    assert!(e.restarts.is_empty());
    assert_eq!(e.data.len(), 2 + PAD);
    // With three intervals to come, the fourth marker ends it.
    let e = Entropy::new(&scan, 0, 3).unwrap();
    assert_eq!(e.restarts, [(2, 0), (3, 1), (4, 2)]);
    assert_eq!(e.data.len(), 5 + PAD);
}

#[test]
fn a_huffman_table_with_too_many_codes_is_refused() {
    let mut counts = [0u8; 16];
    counts[0] = 3; // three codes of one bit
    assert!(Huffman::new(&counts, &[1, 2, 3]).is_err());
    // Two codes of one bit: 1 is all ones, which libjpeg refuses.
    counts[0] = 2;
    assert!(Huffman::new(&counts, &[1, 2]).is_err());
    counts[0] = 1;
    counts[1] = 1;
    assert!(Huffman::new(&counts, &[1, 2]).is_ok());
}

/// A grey baseline JPEG, `w` x `h`, quantisation step 1 for DC and 4 for
/// AC; `block(i)` gives block i's DC difference and its one AC
/// coefficient (at zigzag 1, 8 bits, 0: none). DC sizes 0-11 have 4-bit
/// codes; AC: end of block 00, run 0 size 8 01.
pub(crate) fn grey_jpeg(w: u16, h: u16, block: impl Fn(usize) -> (i32, i32)) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |m: u8, body: &[u8]| {
        out.extend([0xFF, m]);
        out.extend(((body.len() + 2) as u16).to_be_bytes());
        out.extend(body);
    };
    let mut dqt = vec![0];
    dqt.extend([1].iter().chain([4; 63].iter()));
    segment(0xDB, &dqt);
    let [w1, w0] = w.to_be_bytes();
    let [h1, h0] = h.to_be_bytes();
    segment(0xC0, &[8, h1, h0, w1, w0, 1, 1, 0x11, 0]);
    let mut dht = vec![0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    dht.extend(0..12u8);
    dht.extend([
        0x10, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x08,
    ]);
    segment(0xC4, &dht);
    segment(0xDA, &[1, 1, 0x00, 0, 63, 0]);
    let (mut acc, mut n, mut data) = (0u64, 0u32, Vec::new());
    let mut put = |v: u32, bits: u32| {
        acc = acc << bits | (v as u64 & ((1 << bits) - 1));
        n += bits;
        while n >= 8 {
            let b = (acc >> (n - 8)) as u8;
            data.push(b);
            if b == 0xFF {
                data.push(0);
            }
            n -= 8;
        }
    };
    let size = |v: i32| 32 - v.unsigned_abs().leading_zeros();
    let bits = |v: i32, s: u32| if v < 0 { (v - 1) as u32 } else { v as u32 } & ((1 << s) - 1);
    let blocks = (w as usize).div_ceil(8) * (h as usize).div_ceil(8);
    for i in 0..blocks {
        let (dc, ac) = block(i);
        let s = size(dc);
        put(s, 4);
        put(bits(dc, s), s);
        if ac != 0 {
            put(0b01, 2);
            put(bits(ac, 8), 8);
        }
        put(0b00, 2);
    }
    put(0x7F, 7); // padding ones
    out.extend(data);
    out.extend([0xFF, 0xD9]);
    out
}

#[test]
fn dc_sums_wrap_at_16_bits_and_samples_wrap_as_libjpegs() {
    // Every block adds 2047 to DC (step 1): past 32767 the coefficient
    // wraps, as libjpeg's 16-bit one does, and the 1/8 sample is libjpeg's
    // range limit of (DC + 4) >> 3: 128 + x up to 127, 255 up to 511, 0
    // from 512 to 895, then x - 896, modulo 1024.
    let jpeg = grey_jpeg(256, 8, |_| (2047, 0));
    let r = reduced(&jpeg, 8).unwrap().unwrap();
    assert_eq!((r.width, r.height), (32, 1));
    let luma = r.pixels();
    let expect = |i: i32| {
        let dc = (2047 * (i + 1)) as i16 as i64;
        range_limit((dc + 4) >> 3)
    };
    assert_eq!(range_limit(255), 255);
    assert_eq!(range_limit(512), 0);
    assert_eq!(range_limit(-1), 127);
    assert_eq!(range_limit(1022), 126);
    for (i, &v) in luma.iter().enumerate() {
        assert_eq!(v, expect(i as i32), "block {i}");
    }
    assert_eq!(&luma[..2], &[255, 0]);
    assert_eq!(luma[15], 126); // 32752 + 4 >> 3 = 4094: 1022 modulo 1024
    assert_eq!(luma[16], 255); // 34799 wraps to -30737: -3842, 254 modulo 1024
    assert!(reduced(&jpeg, 4).unwrap().is_some());
}

#[test]
fn cut_or_disordered_data_is_left_to_the_general_decoder() {
    let jpeg = fixture("420-restart.jpg");
    // Cut inside the scan, or only its end-of-image marker missing.
    for cut in [3000, 20, 2] {
        let r = reduced(&jpeg[..jpeg.len() - cut], 4);
        assert!(r.is_err(), "cut {cut}: {:?}", r.map(|o| o.map(|x| x.width)));
    }
    // The second restart marker numbered as the third.
    let mut disordered = jpeg.clone();
    let rst: Vec<usize> = (0..jpeg.len() - 1)
        .filter(|&i| jpeg[i] == 0xFF && (0xD0..=0xD7).contains(&jpeg[i + 1]))
        .collect();
    disordered[rst[1] + 1] = 0xD2;
    assert_eq!(
        reduced(&disordered, 4).unwrap_err(),
        "restart markers out of order"
    );
}

#[test]
fn colour_spaces_other_than_ycbcr_are_left_to_the_general_decoder() {
    let jpeg = fixture("444.jpg");
    let sof = marker(&jpeg, 0xC0);
    let sos = marker(&jpeg, 0xDA);
    for ids in [[114, 103, 98], [1, 34, 35], [b'R', b'G', b'B']] {
        let mut m = jpeg.clone();
        for (c, id) in ids.into_iter().enumerate() {
            m[sof + 10 + 3 * c] = id;
            m[sos + 5 + 2 * c] = id;
        }
        assert!(reduced(&m, 4).unwrap().is_none(), "{ids:?}");
    }
    assert!(reduced(&jpeg, 4).unwrap().is_some());
    // Ids 1, 2, 3 with Adobe's transform 0 and no JFIF: RGB to libjpeg.
    let app0 = marker(&jpeg, 0xE0);
    let len = u16::from_be_bytes([jpeg[app0 + 2], jpeg[app0 + 3]]) as usize;
    let mut adobe = jpeg.clone();
    adobe[app0 + 1] = 0xEE;
    let body = &mut adobe[app0 + 4..app0 + 2 + len];
    body.fill(0);
    body[..5].copy_from_slice(b"Adobe");
    assert!(reduced(&adobe, 4).unwrap().is_none());
    body_transform(&mut adobe, app0, 1);
    assert!(reduced(&adobe, 4).unwrap().is_some());
    // libjpeg ignores a JFIF header shorter than 14 bytes and an Adobe one
    // shorter than 12: with them the picture above is still RGB.
    body_transform(&mut adobe, app0, 0);
    let after = app0 + 2 + len;
    let mut short = adobe[..after].to_vec();
    short.extend(b"\xFF\xE0\x00\x07JFIF\x00\xFF\xEE\x00\x08Adobe\x00");
    short.extend(&adobe[after..]);
    assert!(reduced(&short, 4).unwrap().is_none());
    // Scan components out of the frame's order: an error to libjpeg.
    let mut swapped = jpeg.clone();
    swapped.swap(sos + 7, sos + 9);
    swapped.swap(sos + 8, sos + 10);
    assert_eq!(reduced(&swapped, 4).unwrap_err(), "bad scan");
}

/// Sets the transform of the Adobe segment at `at`.
fn body_transform(jpeg: &mut [u8], at: usize, transform: u8) {
    jpeg[at + 4 + 11] = transform;
}

#[test]
fn hostile_bytes_give_errors_not_panics() {
    // Seeded mutations of every fixture: flipped bits, bytes set to 0xFF
    // or 0, cuts, and repeated spans; each read at both scales must end
    // in a result of the size it gives, or an error, without a panic.
    // JPEG_MUTANTS and JPEG_SEED (scripts/fuzz-pictures) run it longer.
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let per_fixture = env("JPEG_MUTANTS").unwrap_or(400);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ env("JPEG_SEED").unwrap_or(0);
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut decoded = 0;
    let names = [
        "420-restart",
        "420",
        "444",
        "422",
        "422-narrow",
        "422-3",
        "422-tall",
        "422-wide",
        "440",
        "411",
        "grey",
        "progressive",
        "rgb",
        "gamut",
        "stripes",
        "stripes-420",
        "scans",
    ];
    for name in names {
        let jpeg = fixture(&format!("{name}.jpg"));
        for _ in 0..per_fixture {
            let mut m = jpeg.clone();
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % m.len();
                match next() % 5 {
                    0 => m[at] ^= 1 << (next() % 8),
                    1 => m[at] = 0xFF,
                    2 => m[at] = next() as u8,
                    3 => m.truncate(at.max(4)),
                    _ => {
                        let end = (at + (next() % 64) as usize).min(m.len());
                        let span = m[at..end].to_vec();
                        m.splice(at..at, span);
                    }
                }
            }
            for den in [4, 8] {
                if let Ok(Some(r)) = reduced(&m, den) {
                    let pixels = r.pixels().len() / r.planes.len();
                    assert_eq!((pixels, r.luma().len()), (r.width * r.height, pixels));
                    decoded += 1;
                }
            }
        }
    }
    // Most mutations leave a decodable picture (a flipped bit in the
    // pixels): the path past the headers is exercised too.
    assert!(decoded as u64 > per_fixture, "{decoded}");
    // Read by scripts/fuzz-pictures.
    eprintln!("fast path mutants: {}", per_fixture * names.len() as u64);
}
