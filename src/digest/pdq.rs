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

/// The lowest quality a picture's hash is matched at: below it, PDQ's
/// authors advise that the hash says too little about the picture.
pub const MIN_QUALITY: u8 = 50;

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

impl serde::Serialize for Pdq {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Pdq {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Pdq, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Pdq::from_hex(&text).ok_or_else(|| serde::de::Error::custom("not a PDQ hash"))
    }
}

/// A hash and its quality (0-100), with the hashes of the picture's seven
/// other orientations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PdqResult {
    /// The hash.
    pub hash: Pdq,
    /// How much detail the picture has, 0-100: below 50, PDQ's authors advise
    /// against matching.
    pub quality: u8,
    /// The hash of the picture turned by each [`Turn`], in the order of
    /// [`Turn::ALL`] (the first is `hash`).
    pub turned: [Pdq; 8],
    /// The picture's width in pixels (before any reduced-size decoding).
    #[serde(default)]
    pub width: u32,
    /// Its height.
    #[serde(default)]
    pub height: u32,
}

/// One of the eight ways to turn or mirror a picture (its dihedral group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// As it is.
    Same,
    /// Rotated 90 degrees clockwise.
    Rotate90,
    /// Rotated 180 degrees.
    Rotate180,
    /// Rotated 270 degrees clockwise (90 anticlockwise).
    Rotate270,
    /// Mirrored left to right.
    MirrorLeftRight,
    /// Mirrored top to bottom.
    MirrorTopBottom,
    /// Mirrored about the diagonal from top left to bottom right (transposed).
    Transpose,
    /// Mirrored about the other diagonal.
    AntiTranspose,
}

impl Turn {
    /// Every turn, in the order of [`PdqResult::turned`].
    pub const ALL: [Turn; 8] = [
        Turn::Same,
        Turn::Rotate90,
        Turn::Rotate180,
        Turn::Rotate270,
        Turn::MirrorLeftRight,
        Turn::MirrorTopBottom,
        Turn::Transpose,
        Turn::AntiTranspose,
    ];

    /// The turn that undoes this one.
    pub fn inverse(self) -> Turn {
        match self {
            Turn::Rotate90 => Turn::Rotate270,
            Turn::Rotate270 => Turn::Rotate90,
            other => other,
        }
    }

    /// How notes name it.
    pub fn describe(self) -> &'static str {
        match self {
            Turn::Same => "as it is",
            Turn::Rotate90 => "rotated 90 degrees clockwise",
            Turn::Rotate180 => "rotated 180 degrees",
            Turn::Rotate270 => "rotated 90 degrees anticlockwise",
            Turn::MirrorLeftRight => "mirrored left to right",
            Turn::MirrorTopBottom => "mirrored top to bottom",
            Turn::Transpose => "mirrored about its main diagonal",
            Turn::AntiTranspose => "mirrored about its other diagonal",
        }
    }

    /// The coefficients of the picture turned this way, from those of the
    /// picture: mirroring a row of 64 samples multiplies frequency k (1-16)
    /// by (-1)^k, and transposing the samples transposes the coefficients.
    fn apply(self, b: &[[f32; FREQ]; FREQ]) -> [[f32; FREQ]; FREQ] {
        // (transpose, flip columns, flip rows); a rotation by 90 degrees
        // clockwise is a transpose and then a left-right mirror.
        let (transpose, flip_x, flip_y) = match self {
            Turn::Same => (false, false, false),
            Turn::Rotate90 => (true, true, false),
            Turn::Rotate180 => (false, true, true),
            Turn::Rotate270 => (true, false, true),
            Turn::MirrorLeftRight => (false, true, false),
            Turn::MirrorTopBottom => (false, false, true),
            Turn::Transpose => (true, false, false),
            Turn::AntiTranspose => (true, true, true),
        };
        let mut out = [[0f32; FREQ]; FREQ];
        for (i, row) in out.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let c = if transpose { b[j][i] } else { b[i][j] };
                // Frequency i + 1 along y, j + 1 along x: odd ones change sign.
                let sx = if flip_x && j % 2 == 0 { -1.0 } else { 1.0 };
                let sy = if flip_y && i % 2 == 0 { -1.0 } else { 1.0 };
                *v = c * sx * sy;
            }
        }
        out
    }
}

/// Luminance of 8-bit RGB pixels, row-major.
pub fn luma_from_rgb(rgb: &[u8], width: usize, height: usize) -> Vec<f32> {
    debug_assert_eq!(rgb.len(), width * height * 3);
    rgb.chunks_exact(3)
        .map(|p| luma_of(p[0], p[1], p[2]))
        .collect()
}

/// Luminance of one 8-bit RGB pixel, as the reference computes it.
#[inline(always)]
pub fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32
}

/// Luminance of 8-bit grey pixels.
pub fn luma_from_grey(grey: &[u8]) -> Vec<f32> {
    grey.iter().map(|&v| v as f32).collect()
}

/// The PDQ hash of a picture given as luminance, row-major, `width` x
/// `height` (each at least 1). `luma` is used as scratch space.
pub fn hash_luma(luma: &mut [f32], width: usize, height: usize) -> PdqResult {
    assert!(width > 0 && height > 0 && luma.len() == width * height);
    let k = width.min(height) / REDUCED_SIDE;
    if k >= 2 {
        // As the reference reduces a large picture before hashing: the mean of
        // each k x k block, keeping at least 512 pixels on the short side.
        let (mut small, w, h) = block_means(luma, width, height, k);
        let mut r = hash_full(&mut small, w, h);
        (r.width, r.height) = (width as u32, height as u32);
        return r;
    }
    hash_full(luma, width, height)
}

/// The short side a large picture is reduced towards before hashing.
const REDUCED_SIDE: usize = 512;

/// The means of the `k` x `k` blocks of a picture (the last partial row and
/// column of blocks left out).
fn block_means(luma: &[f32], width: usize, height: usize, k: usize) -> (Vec<f32>, usize, usize) {
    let (w, h) = (width / k, height / k);
    let mut out = vec![0f32; w * h];
    for (by, row) in out.chunks_exact_mut(w).enumerate() {
        for y in by * k..(by + 1) * k {
            let line = &luma[y * width..y * width + w * k];
            for (o, block) in row.iter_mut().zip(line.chunks_exact(k)) {
                *o += block.iter().sum::<f32>();
            }
        }
        let n = (k * k) as f32;
        row.iter_mut().for_each(|v| *v /= n);
    }
    (out, w, h)
}

/// [`hash_luma`] without the reduction.
fn hash_full(luma: &mut [f32], width: usize, height: usize) -> PdqResult {
    let row_window = window(width);
    let col_window = window(height);
    // A window of one is the identity (a side of at most 128 pixels).
    for _ in 0..2 {
        if row_window > 1 {
            box_mean_rows(luma, width, height, row_window);
        }
        if col_window > 1 {
            box_mean_columns(luma, width, height, col_window);
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
    let turned = Turn::ALL.map(|t| bits_above_median(&t.apply(&coefficients)));
    PdqResult {
        hash: turned[0],
        quality,
        turned,
        width: width as u32,
        height: height as u32,
    }
}

/// The box filter's full window for a dimension reduced to 64 samples: the
/// dimension over 128, rounded up.
fn window(dimension: usize) -> usize {
    dimension.div_ceil(2 * GRID).max(1)
}

/// Replaces `n` values of `data` (every `stride`th from 0) with their box mean
/// over `full` neighbours (the definition `box_mean_rows` and
/// `box_mean_columns` compute, kept for the tests): output k averages inputs k - (full - half) through
/// k + half - 1, where half = (full + 2) / 2, cut off at both ends (the mean
/// is then over fewer values).
#[cfg(test)]
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

/// Rows filtered at a time by [`box_mean_rows`].
const LANES: usize = 8;

/// Means made at a time by [`box_mean_rows`] inside a row.
const RUN: usize = 64;

/// The box mean (see `box_mean` in the tests) along every row, [`LANES`]
/// rows at a time: their values are interleaved into a small buffer, so the
/// running sums of the rows are kept side by side and advance together (the
/// same sums in the same order as row by row, so the same results). Where
/// the window is whole, the means are made [`RUN`] at a time without the
/// edges' checks, then written out row by row.
fn box_mean_rows(data: &mut [f32], width: usize, height: usize, full: usize) {
    let half = (full + 2) / 2;
    let before = full - half;
    let after = half - 1;
    let mut lanes = vec![[0f32; LANES]; width];
    for r0 in (0..height).step_by(LANES) {
        let rows = (height - r0).min(LANES);
        for (x, lane) in lanes.iter_mut().enumerate() {
            for (r, v) in lane.iter_mut().enumerate().take(rows) {
                *v = data[(r0 + r) * width + x];
            }
        }
        let mut sum = [0f32; LANES];
        let (mut lo, mut hi) = (0usize, 0usize);
        let mut x = 0;
        while x < width {
            // Inside the row, the window moves by one each way: one value
            // in, then one out, over the full window.
            if x > before && x + after < width {
                let n = full as f32;
                let end = width - after;
                let mut out = [[0f32; LANES]; RUN];
                while x < end {
                    let count = (end - x).min(RUN);
                    for (o, i) in out.iter_mut().zip(x..x + count) {
                        for r in 0..LANES {
                            sum[r] += lanes[i + after][r];
                            sum[r] -= lanes[i - before - 1][r];
                            o[r] = sum[r] / n;
                        }
                    }
                    for r in 0..rows {
                        let row = &mut data[(r0 + r) * width + x..(r0 + r) * width + x + count];
                        for (v, o) in row.iter_mut().zip(&out) {
                            *v = o[r];
                        }
                    }
                    x += count;
                }
                (lo, hi) = (end - before - 1, width);
                continue;
            }
            let want_hi = (x + after + 1).min(width);
            while hi < want_hi {
                for (s, v) in sum.iter_mut().zip(&lanes[hi]) {
                    *s += v;
                }
                hi += 1;
            }
            let want_lo = x.saturating_sub(before);
            while lo < want_lo {
                for (s, v) in sum.iter_mut().zip(&lanes[lo]) {
                    *s -= v;
                }
                lo += 1;
            }
            let n = (hi - lo) as f32;
            for (r, s) in sum.iter().enumerate().take(rows) {
                data[(r0 + r) * width + x] = s / n;
            }
            x += 1;
        }
    }
}

/// The box mean (see `box_mean` in the tests) down every column at once, row by row (the same sums in the
/// same order, so the same results), which reads memory in order.
fn box_mean_columns(data: &mut [f32], width: usize, height: usize, full: usize) {
    let half = (full + 2) / 2;
    let before = full - half;
    let after = half - 1;
    let source = data.to_vec();
    let row = |r: usize| &source[r * width..(r + 1) * width];
    let mut sum = vec![0f32; width];
    let (mut lo, mut hi) = (0usize, 0usize);
    for k in 0..height {
        let want_hi = (k + after + 1).min(height);
        while hi < want_hi {
            for (s, v) in sum.iter_mut().zip(row(hi)) {
                *s += v;
            }
            hi += 1;
        }
        let want_lo = k.saturating_sub(before);
        while lo < want_lo {
            for (s, v) in sum.iter_mut().zip(row(lo)) {
                *s -= v;
            }
            lo += 1;
        }
        let n = (hi - lo) as f32;
        for (out, s) in data[k * width..(k + 1) * width].iter_mut().zip(&sum) {
            *out = s / n;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 96 x 64 picture with structure at several scales.
    fn picture() -> (Vec<f32>, usize, usize) {
        let (w, h) = (96, 64);
        let mut seed = 7u32;
        let px = (0..w * h)
            .map(|k| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let (x, y) = ((k % w) as f32, (k / w) as f32);
                let blob = if (x - 30.0).hypot(y - 20.0) < 14.0 {
                    90.0
                } else {
                    0.0
                };
                x * 1.5 + (y * 0.3).sin() * 40.0 + blob + (seed % 16) as f32
            })
            .collect();
        (px, w, h)
    }

    /// The picture turned, in pixel space.
    fn turn(px: &[f32], w: usize, h: usize, t: Turn) -> (Vec<f32>, usize, usize) {
        let swap = matches!(
            t,
            Turn::Rotate90 | Turn::Rotate270 | Turn::Transpose | Turn::AntiTranspose
        );
        let (nw, nh) = if swap { (h, w) } else { (w, h) };
        let mut out = vec![0f32; w * h];
        for y in 0..nh {
            for x in 0..nw {
                // Where new pixel (x, y) comes from.
                let (sx, sy) = match t {
                    Turn::Same => (x, y),
                    Turn::Rotate90 => (y, h - 1 - x),
                    Turn::Rotate180 => (w - 1 - x, h - 1 - y),
                    Turn::Rotate270 => (w - 1 - y, x),
                    Turn::MirrorLeftRight => (w - 1 - x, y),
                    Turn::MirrorTopBottom => (x, h - 1 - y),
                    Turn::Transpose => (y, x),
                    Turn::AntiTranspose => (w - 1 - y, h - 1 - x),
                };
                out[y * nw + x] = px[sy * w + sx];
            }
        }
        (out, nw, nh)
    }

    #[test]
    fn large_pictures_are_reduced_with_little_change() {
        let (px, w, h) = picture();
        // 16 times larger: 1536 x 1024, reduced by 2.
        let k = 16;
        let big: Vec<f32> = (0..h * k)
            .flat_map(|y| {
                let px = &px;
                (0..w * k).map(move |x| px[(y / k) * w + x / k])
            })
            .collect();
        let direct = hash_full(&mut big.clone(), w * k, h * k);
        let reduced = hash_luma(&mut big.clone(), w * k, h * k);
        assert_eq!((reduced.width, reduced.height), (1536, 1024));
        let d = direct.hash.distance(&reduced.hash);
        assert!(d <= 8, "{d} bits apart");
        assert!(direct.quality.abs_diff(reduced.quality) <= 5);
    }

    #[test]
    fn rows_and_columns_at_once_give_the_box_mean_of_each() {
        let (px, w, h) = picture();
        for full in [2, 3, 4, 7, 33, 95, 96, 200] {
            let mut one = px.clone();
            let mut scratch = vec![0f32; h];
            for c in 0..w {
                box_mean(&mut one[c..], w, h, full, &mut scratch);
            }
            let mut all = px.clone();
            box_mean_columns(&mut all, w, h, full);
            assert_eq!(one, all, "window {full}");
            let mut one = px.clone();
            let mut scratch = vec![0f32; w];
            for r in 0..h {
                box_mean(&mut one[r * w..(r + 1) * w], 1, w, full, &mut scratch);
            }
            // 64 rows: eight full groups; 61 rows: a short last group.
            let mut all = px.clone();
            box_mean_rows(&mut all, w, h, full);
            assert_eq!(one, all, "rows, window {full}");
            let mut part = px[..61 * w].to_vec();
            box_mean_rows(&mut part, w, 61, full);
            assert_eq!(one[..61 * w], part[..], "61 rows, window {full}");
        }
    }

    #[test]
    fn turned_hashes_are_those_of_the_turned_pictures() {
        let (px, w, h) = picture();
        let original = hash_luma(&mut px.clone(), w, h);
        assert_eq!(original.turned[0], original.hash);
        for (k, t) in Turn::ALL.into_iter().enumerate() {
            let (mut tp, tw, th) = turn(&px, w, h, t);
            let direct = hash_luma(&mut tp, tw, th).hash;
            let d = direct.distance(&original.turned[k]);
            assert!(d <= 8, "{t:?}: {d} bits from the hash computed by turning");
            if t != Turn::Same {
                assert!(direct.distance(&original.hash) > 40, "{t:?} looks unturned");
            }
        }
    }
}
