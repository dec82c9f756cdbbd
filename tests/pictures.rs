//! Hostile pictures: the decoders behind PDQ get mutated pictures of every
//! format (seeded, so a failure repeats) and must give a hash or a note, never
//! a panic that escapes, and never an allocation past the limit.

mod util;

use hashsweep::digest::picture::{pdq_of, Format};
use hashsweep::testing::Rng;
use std::io::Cursor;

/// A small picture with some structure, encoded as `format`.
fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x ^ y) * 9) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode");
    out.into_inner()
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next_u64() as u8;
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            2 => {
                let cut = rng.below(b.len() + 1);
                b.truncate(cut);
            }
            3 if b.len() > 4 => {
                // A run of 0xff or 0x00: sizes and dimensions blown up or zeroed.
                let i = rng.below(b.len() - 4);
                let v = if rng.below(2) == 0 { 0xff } else { 0 };
                b[i..i + 4].fill(v);
            }
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                let j = rng.below(b.len());
                let (lo, hi) = (i.min(j), i.max(j));
                let chunk = b[lo..hi.min(lo + 64)].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    b
}

#[test]
fn mutated_pictures_give_a_hash_or_a_note() {
    let mut seeds: Vec<(Format, Vec<u8>)> = vec![
        (Format::Png, encoded(image::ImageFormat::Png)),
        (Format::Gif, encoded(image::ImageFormat::Gif)),
        (Format::Bmp, encoded(image::ImageFormat::Bmp)),
        (Format::Tiff, encoded(image::ImageFormat::Tiff)),
    ];
    let samples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples/pdq/misc-images");
    for name in ["small.jpg", "wee.jpg"] {
        match std::fs::read(samples.join(name)) {
            Ok(b) => seeds.push((Format::Jpeg, b)),
            Err(_) => util::skip(
                "mutated_pictures_give_a_hash_or_a_note",
                "no sample JPEG (../shared/samples)",
            ),
        }
    }
    for (format, seed) in &seeds {
        assert!(
            pdq_of(*format, seed).is_ok(),
            "{format:?}: the seed itself decodes"
        );
    }
    // Decoder panics are contained; keep their messages out of the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let seed = std::env::var("PICTURE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15u64);
    let mut rng = Rng(seed.wrapping_mul(2).wrapping_add(1));
    let (mut hashed, mut noted) = (0, 0);
    let rounds: usize = std::env::var("PICTURE_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    for round in 0..rounds {
        let (format, seed) = &seeds[round % seeds.len()];
        let m = mutate(&mut rng, seed);
        // The Exif reader sees the same bytes in a scan.
        if let Some(c) = hashsweep::digest::exif::camera_info(&m) {
            for text in [&c.make, &c.model, &c.serial, &c.taken, &c.software]
                .into_iter()
                .flatten()
            {
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
        }
        match pdq_of(*format, &m) {
            Ok(r) => {
                assert!(r.quality <= 100);
                hashed += 1;
            }
            Err(note) => {
                assert!(note.0.starts_with("pdq: "), "{note:?}");
                assert!(!note.0.chars().any(char::is_control), "{note:?}");
                noted += 1;
            }
        }
    }
    std::panic::set_hook(hook);
    eprintln!("{rounds} mutants: {hashed} hashed, {noted} notes");
    assert!(hashed > 0 && noted > 0);
}
