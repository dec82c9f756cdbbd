//! PDQ, the perceptual hash published by Meta with ThreatExchange: 256 bits
//! from a picture's luminance, compared by Hamming distance (two pictures
//! within 31 bits are taken as the same scene).
//!
//! The steps, as the published algorithm gives them: luminance
//! (0.299 R + 0.587 G + 0.114 B); two passes of a box filter along rows and
//! then columns, each window about 1/128 of the dimension (a Jarosz tent
//! filter); 64 x 64 samples at the centres of a regular grid; the 16 x 16
//! lowest frequencies of a DCT-II, without the constant term; one bit per
//! coefficient, set when it is above their median. Quality is the sum of the
//! gradients of the 64 x 64 samples, scaled to 0-100: a flat or nearly flat
//! picture hashes to noise and must not be matched.

/// A PDQ hash: 256 bits, as 16 words of 16 bits, word 0 the lowest (the hex
/// form writes word 15 first, as the reference does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pdq(pub [u16; 16]);

/// Samples per side after decimation.
const GRID: usize = 64;
/// Coefficients per side kept from the DCT.
const FREQ: usize = 16;

impl Pdq {
    /// The 64 lower-case hex digits, word 15 first.
    pub fn to_hex(&self) -> String {
        let bytes: Vec<u8> = self.0.iter().rev().flat_map(|w| w.to_be_bytes()).collect();
        super::to_hex(&bytes)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Pdq> {
        let bytes: [u8; 32] = super::hex_array(s.as_bytes())?;
        let mut w = [0u16; 16];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            w[15 - i] = u16::from_be_bytes([pair[0], pair[1]]);
        }
        Some(Pdq(w))
    }

    /// Hamming distance: the number of bits that differ.
    pub fn distance(&self, other: &Pdq) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }
}

/// A hash and its quality (0-100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqResult {
    /// The hash.
    pub hash: Pdq,
    /// How much detail the picture has, 0-100: below 50, PDQ's authors advise
    /// against matching.
    pub quality: u8,
}

/// Luminance of 8-bit RGB pixels, row-major.
pub fn luma_from_rgb(rgb: &[u8], width: usize, height: usize) -> Vec<f32> {
    debug_assert_eq!(rgb.len(), width * height * 3);
    rgb.chunks_exact(3)
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect()
}

/// Luminance of 8-bit grey pixels.
pub fn luma_from_grey(grey: &[u8]) -> Vec<f32> {
    grey.iter().map(|&v| v as f32).collect()
}

/// The PDQ hash of a picture given as luminance, row-major, `width` x
/// `height` (each at least 1). `luma` is used as scratch space.
pub fn hash_luma(luma: &mut [f32], width: usize, height: usize) -> PdqResult {
    assert!(width > 0 && height > 0 && luma.len() == width * height);
    let row_window = window(width);
    let col_window = window(height);
    let mut scratch = vec![0f32; width.max(height)];
    for _ in 0..2 {
        for r in 0..height {
            box_mean(
                &mut luma[r * width..(r + 1) * width],
                1,
                width,
                row_window,
                &mut scratch,
            );
        }
        for c in 0..width {
            box_mean(&mut luma[c..], width, height, col_window, &mut scratch);
        }
    }
    let mut grid = [[0f32; GRID]; GRID];
    for (i, row) in grid.iter_mut().enumerate() {
        let r = ((i as f64 + 0.5) * height as f64 / GRID as f64) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let c = ((j as f64 + 0.5) * width as f64 / GRID as f64) as usize;
            *v = luma[r.min(height - 1) * width + c.min(width - 1)];
        }
    }
    let quality = quality(&grid);
    let coefficients = dct16(&grid);
    PdqResult {
        hash: bits_above_median(&coefficients),
        quality,
    }
}

/// The box filter's full window for a dimension reduced to 64 samples: the
/// dimension over 128, rounded up.
fn window(dimension: usize) -> usize {
    dimension.div_ceil(2 * GRID).max(1)
}

/// Replaces `n` values of `data` (every `stride`th from 0) with their box mean
/// over `full` neighbours: output k averages inputs k - (full - half) through
/// k + half - 1, where half = (full + 2) / 2, cut off at both ends (the mean
/// is then over fewer values).
fn box_mean(data: &mut [f32], stride: usize, n: usize, full: usize, scratch: &mut [f32]) {
    let half = (full + 2) / 2;
    let before = full - half; // values to the left
    let after = half - 1; // values to the right
    let scratch = &mut scratch[..n];
    for (k, s) in scratch.iter_mut().enumerate() {
        *s = data[k * stride];
    }
    // A running sum over the window, in the order the window moves.
    let mut sum = 0f32;
    let mut lo = 0usize; // first index in the window
    let mut hi = 0usize; // one past the last index in the window
    for k in 0..n {
        let want_hi = (k + after + 1).min(n);
        while hi < want_hi {
            sum += scratch[hi];
            hi += 1;
        }
        let want_lo = k.saturating_sub(before);
        while lo < want_lo {
            sum -= scratch[lo];
            lo += 1;
        }
        data[k * stride] = sum / (hi - lo) as f32;
    }
}

/// The PDQ quality: absolute differences between neighbours of the 64 x 64
/// grid, each scaled to 0-100 and truncated, summed, over 90, at most 100.
fn quality(grid: &[[f32; GRID]; GRID]) -> u8 {
    let mut sum: i64 = 0;
    for pair in grid.windows(2) {
        for (u, v) in pair[0].iter().zip(pair[1].iter()) {
            sum += (((u - v) * 100.0 / 255.0) as i64).abs();
        }
    }
    for row in grid {
        for j in 0..GRID - 1 {
            sum += (((row[j] - row[j + 1]) * 100.0 / 255.0) as i64).abs();
        }
    }
    (sum / 90).min(100) as u8
}

/// The DCT-II basis for frequencies 1-16 over 64 samples.
fn dct_matrix() -> &'static [[f32; GRID]; FREQ] {
    static M: std::sync::OnceLock<[[f32; GRID]; FREQ]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let scale = (2.0f64 / GRID as f64).sqrt();
        let mut m = [[0f32; GRID]; FREQ];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let angle =
                    std::f64::consts::PI / 2.0 / GRID as f64 * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (scale * angle.cos()) as f32;
            }
        }
        m
    })
}

/// D A Dᵀ: the 16 x 16 low frequencies of the grid.
fn dct16(grid: &[[f32; GRID]; GRID]) -> [[f32; FREQ]; FREQ] {
    let d = dct_matrix();
    let mut t = [[0f32; GRID]; FREQ]; // D A
    for i in 0..FREQ {
        for (k, row) in grid.iter().enumerate() {
            let dik = d[i][k];
            for j in 0..GRID {
                t[i][j] += dik * row[j];
            }
        }
    }
    let mut b = [[0f32; FREQ]; FREQ];
    for i in 0..FREQ {
        for j in 0..FREQ {
            b[i][j] = t[i].iter().zip(d[j].iter()).map(|(x, y)| x * y).sum();
        }
    }
    b
}

/// Bit 16 i + j set when coefficient (i, j) is above the median of all 256.
fn bits_above_median(b: &[[f32; FREQ]; FREQ]) -> Pdq {
    let mut all: Vec<f32> = b.iter().flatten().copied().collect();
    // The lower median, as the reference's Torben median gives it.
    let mid = (all.len() - 1) / 2;
    let (_, median, _) = all.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let median = *median;
    let mut w = [0u16; 16];
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                w[i] |= 1 << j;
            }
        }
    }
    Pdq(w)
}
