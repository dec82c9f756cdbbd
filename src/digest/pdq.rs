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
    let grid = filtered_grid(luma, width, height);
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

/// The picture box filtered (rows then columns, twice), sampled on the 64 x
/// 64 grid. A window of one, a side of at most 128 pixels, is the identity
/// and is skipped. The second time only the grid's samples are wanted: its
/// rows pass makes the means at the grid's columns alone, and its columns
/// pass runs over those 64 columns; each mean is the same sums in the same
/// order as over the whole picture.
fn filtered_grid(luma: &mut [f32], width: usize, height: usize) -> [[f32; GRID]; GRID] {
    let row_window = window_size(width);
    let col_window = window_size(height);
    if row_window > 1 {
        box_mean_rows(luma, width, height, row_window);
    }
    if col_window > 1 {
        box_mean_columns(luma, width, height, col_window);
    }
    let sample =
        |i: usize, n: usize| (((i as f64 + 0.5) * n as f64 / GRID as f64) as usize).min(n - 1);
    let columns: [usize; GRID] = std::array::from_fn(|j| sample(j, width));
    let mut picked = box_mean_rows_at(luma, width, height, row_window, &columns);
    if col_window > 1 {
        box_mean_columns(&mut picked, GRID, height, col_window);
    }
    std::array::from_fn(|i| {
        let r = sample(i, height);
        picked[r * GRID..(r + 1) * GRID].try_into().unwrap()
    })
}

/// The box filter's full window for a dimension reduced to 64 samples: the
/// dimension over 128, rounded up.
fn window_size(dimension: usize) -> usize {
    dimension.div_ceil(2 * GRID).max(1)
}

/// Replaces `n` values of `data` (every `stride`th from 0) with their box mean
/// over `full` neighbours (the definition `box_mean_rows`,
/// `box_mean_rows_at` and `box_mean_columns` compute, kept for the tests):
/// output k averages inputs k - (full - half) through k + half - 1, where
/// half = (full + 2) / 2, cut off at both ends (the mean is then over fewer
/// values).
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

/// Rows filtered at a time by [`box_mean_rows_at`]: its running sums are
/// one chain of adds each, and two vectors of 8 keep the adder busier (0.53
/// to 0.48 ms on 1008 x 756 against 8; 16 in [`box_mean_rows`] was slower).
const PICK_LANES: usize = 16;

/// Means made at a time by [`box_mean_rows`] inside a row.
const RUN: usize = 64;

/// The box mean (see `box_mean` in the tests) along every row, [`LANES`]
/// rows at a time: their values are interleaved into a small buffer, so the
/// running sums of the rows are kept side by side and advance together (the
/// same sums in the same order as row by row, so the same results). Where
/// the window is whole, the means are made [`RUN`] at a time without the
/// edges' checks, then written out row by row.
fn box_mean_rows(data: &mut [f32], width: usize, height: usize, full: usize) {
    let mut lanes = vec![[0f32; LANES]; width];
    for r0 in (0..height).step_by(LANES) {
        let rows = (height - r0).min(LANES);
        interleave(&mut lanes, &data[r0 * width..], width, rows);
        let mut window = Window::new(full, width);
        let (before, after) = (window.before, window.after);
        let mut sum = [0f32; LANES];
        let mut x = 0;
        while x < width {
            if !window.inside(x) {
                let n = window.move_to(x, &mut sum, &lanes);
                for (r, s) in sum.iter().enumerate().take(rows) {
                    data[(r0 + r) * width + x] = s / n;
                }
                x += 1;
                continue;
            }
            // Inside the row, the window moves by one each way: one value
            // in, then one out, over the full window.
            let n = full as f32;
            let end = width - after;
            let mut out = [[0f32; LANES]; RUN];
            while x < end {
                let count = (end - x).min(RUN);
                for (o, i) in out.iter_mut().zip(x..x + count) {
                    slide(&mut sum, &lanes[i + after], &lanes[i - before - 1]);
                    for r in 0..LANES {
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
            window.skipped_inside_to(end - 1);
        }
    }
}

/// `rows` rows of `data` (`width` values each) side by side: value x of row
/// r goes to `lanes[x][r]`.
fn interleave<const L: usize>(lanes: &mut [[f32; L]], data: &[f32], width: usize, rows: usize) {
    for (x, lane) in lanes.iter_mut().enumerate() {
        for (r, v) in lane.iter_mut().enumerate().take(rows) {
            *v = data[r * width + x];
        }
    }
}

/// The box mean along every row (see `box_mean` in the tests) at the
/// ascending `columns` alone: [`GRID`] means a row, row after row. The
/// running sums of [`PICK_LANES`] rows move side by side one column at a
/// time, as in [`box_mean_rows`], so that each mean is the one
/// `box_mean_rows` makes. A window of one, which `box_mean_rows` is not run
/// for (the identity), picks the values.
fn box_mean_rows_at(
    data: &[f32],
    width: usize,
    height: usize,
    full: usize,
    columns: &[usize; GRID],
) -> Vec<f32> {
    debug_assert!(columns.is_sorted());
    let mut picked = vec![0f32; height * GRID];
    if full <= 1 {
        for (out, row) in picked.chunks_exact_mut(GRID).zip(data.chunks_exact(width)) {
            for (o, &c) in out.iter_mut().zip(columns) {
                *o = row[c];
            }
        }
        return picked;
    }
    let mut lanes = vec![[0f32; PICK_LANES]; width];
    for r0 in (0..height).step_by(PICK_LANES) {
        let rows = (height - r0).min(PICK_LANES);
        interleave(&mut lanes, &data[r0 * width..], width, rows);
        let mut window = Window::new(full, width);
        let mut sum = [0f32; PICK_LANES];
        for (j, &x) in columns.iter().enumerate() {
            let n = window.move_to(x, &mut sum, &lanes);
            for (r, s) in sum.iter().enumerate().take(rows) {
                picked[(r0 + r) * GRID + j] = s / n;
            }
        }
    }
    picked
}

/// The box window of `box_mean` (in the tests) moving along `len` values
/// one output at a time.
struct Window {
    /// Values to the left of the output in a whole window.
    before: usize,
    /// Values to the right of the output in a whole window.
    after: usize,
    len: usize,
    /// The first value in the window.
    lo: usize,
    /// One past the last value in the window.
    hi: usize,
    /// The next output the window moves to.
    next: usize,
}

impl Window {
    fn new(full: usize, len: usize) -> Window {
        debug_assert!(full >= 1);
        let half = (full + 2) / 2;
        Window {
            before: full - half,
            after: half - 1,
            len,
            lo: 0,
            hi: 0,
            next: 0,
        }
    }

    /// Whether the window at output `k` is whole.
    fn inside(&self, k: usize) -> bool {
        k > self.before && k + self.after < self.len
    }

    /// Records that the window went through the inside to output `last`.
    fn skipped_inside_to(&mut self, last: usize) {
        debug_assert!(self.inside(last));
        (self.lo, self.hi) = (last - self.before, last + self.after + 1);
        self.next = last + 1;
    }

    /// Moves the window output by output up to output `k`, adding to `sum`
    /// the values that come in then taking out those that leave; the count
    /// of values in it at `k`. Inside, where the window is whole, one value
    /// comes in and one leaves at each output.
    #[inline(always)]
    fn move_to<const L: usize>(
        &mut self,
        k: usize,
        sum: &mut [f32; L],
        values: &[[f32; L]],
    ) -> f32 {
        while self.next <= k {
            let p = self.next;
            if self.inside(p) {
                let last = k.min(self.len - self.after - 1);
                let ins = &values[p + self.after..=last + self.after];
                let outs = &values[p - self.before - 1..=last - self.before - 1];
                for (i, o) in ins.iter().zip(outs) {
                    slide(sum, i, o);
                }
                self.skipped_inside_to(last);
                continue;
            }
            let want_hi = (p + self.after + 1).min(self.len);
            while self.hi < want_hi {
                for (s, v) in sum.iter_mut().zip(&values[self.hi]) {
                    *s += v;
                }
                self.hi += 1;
            }
            let want_lo = p.saturating_sub(self.before);
            while self.lo < want_lo {
                for (s, v) in sum.iter_mut().zip(&values[self.lo]) {
                    *s -= v;
                }
                self.lo += 1;
            }
            self.next = p + 1;
        }
        (self.hi - self.lo) as f32
    }
}

/// One step of a whole window along `L` rows side by side: the value
/// coming in is added, then the one leaving taken out (the order
/// [`Window::move_to`] and [`box_mean_rows`] keep, so that their sums are the
/// same).
#[inline(always)]
fn slide<const L: usize>(sum: &mut [f32; L], incoming: &[f32; L], leaving: &[f32; L]) {
    for r in 0..L {
        sum[r] += incoming[r];
        sum[r] -= leaving[r];
    }
}

/// The box mean (see `box_mean` in the tests) down every column at once,
/// row by row (the same sums in the same order, so the same results), which
/// reads memory in order; each row is written over in place, a copy of the
/// rows the window still needs kept aside.
fn box_mean_columns(data: &mut [f32], width: usize, height: usize, full: usize) {
    let Window { before, after, .. } = Window::new(full, height);
    // A row's values are still needed after its means are written, until
    // the window leaves it: the last `before + 1` rows are kept.
    let keep = before + 1;
    let mut kept = vec![0f32; keep * width];
    let mut sum = vec![0f32; width];
    let (mut lo, mut hi) = (0usize, 0usize);
    for k in 0..height {
        let want_hi = (k + after + 1).min(height);
        while hi < want_hi {
            for (s, v) in sum.iter_mut().zip(&data[hi * width..(hi + 1) * width]) {
                *s += v;
            }
            hi += 1;
        }
        let want_lo = k.saturating_sub(before);
        while lo < want_lo {
            let at = (lo % keep) * width;
            for (s, v) in sum.iter_mut().zip(&kept[at..at + width]) {
                *s -= v;
            }
            lo += 1;
        }
        let n = (hi - lo) as f32;
        let row = &mut data[k * width..(k + 1) * width];
        let at = (k % keep) * width;
        kept[at..at + width].copy_from_slice(row);
        for (out, s) in row.iter_mut().zip(&sum) {
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
mod tests;
