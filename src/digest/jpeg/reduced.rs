//! What the fast path gives: a JPEG's samples at the reduced size, and the
//! RGB and luminance made from them.

use crate::digest::pdq::luma_of;

/// A JPEG decoded at a reduced size: its samples, all at the luminance's
/// resolution, rows `stride` apart; its width and height.
#[derive(Debug)]
pub struct Reduced {
    /// Y, then Cb and Cr for a colour picture.
    pub(super) planes: Vec<Vec<u8>>,
    pub(super) stride: usize,
    pub width: usize,
    pub height: usize,
}

impl Reduced {
    /// Each row's samples: Y, Cb and Cr (Y thrice for grey).
    pub(super) fn rows(&self) -> impl Iterator<Item = [&[u8]; 3]> + '_ {
        (0..self.height).map(move |r| {
            let at = r * self.stride..r * self.stride + self.width;
            let row = |i: usize| &self.planes[i][at.clone()];
            match self.planes.len() {
                1 => [row(0); 3],
                _ => [row(0), row(1), row(2)],
            }
        })
    }

    /// Chroma sampled at half the width, `width` samples at the start of
    /// each row, made full width as libjpeg makes it (jdsample.c): by its
    /// triangle filter when `fancy` (at 1/4, from 3 samples a row), each
    /// sample twice otherwise (at 1/8).
    pub(super) fn widen_chroma(&mut self, width: usize, fancy: bool) {
        let mut half = Vec::with_capacity(width);
        for plane in &mut self.planes[1..] {
            for row in plane.chunks_exact_mut(self.stride).take(self.height) {
                half.clear();
                half.extend_from_slice(&row[..width]);
                widen(&half, &mut row[..2 * width], fancy && width > 2);
            }
        }
    }

    /// PDQ's luminance: of the RGB that is shown ([`rgb`], then
    /// [`luma_of`], as for any picture), or of the grey.
    pub fn luma(&self) -> Vec<f32> {
        let mut luma = Vec::with_capacity(self.width * self.height);
        for [y, cb, cr] in self.rows() {
            if self.planes.len() == 1 {
                luma.extend(y.iter().map(|&v| v as f32));
                continue;
            }
            luma.extend(y.iter().zip(cb).zip(cr).map(|((&y, &cb), &cr)| {
                let [r, g, b] = rgb(y, cb, cr);
                luma_of(r, g, b)
            }));
        }
        luma
    }

    /// The pixels as libjpeg gives them: RGB, or grey.
    #[cfg(test)]
    pub fn pixels(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for [y, cb, cr] in self.rows() {
            if self.planes.len() == 1 {
                out.extend_from_slice(y);
                continue;
            }
            for ((&y, &cb), &cr) in y.iter().zip(cb).zip(cr) {
                out.extend(rgb(y, cb, cr));
            }
        }
        out
    }
}

/// One row of samples made twice as wide: `out` is twice `half`'s length.
fn widen(half: &[u8], out: &mut [u8], fancy: bool) {
    let w = half.len();
    if !fancy {
        for (pair, &v) in out.chunks_exact_mut(2).zip(half) {
            pair.fill(v);
        }
        return;
    }
    // Each output sample is 3/4 of its own and 1/4 of its nearer
    // neighbour, rounded alternately down and up; the outermost two are
    // their own.
    let at = |i: usize| half[i] as u32;
    out[0] = half[0];
    out[2 * w - 1] = half[w - 1];
    for i in 0..w {
        if i > 0 {
            out[2 * i] = ((3 * at(i) + at(i - 1) + 1) >> 2) as u8;
        }
        if i + 1 < w {
            out[2 * i + 1] = ((3 * at(i) + at(i + 1) + 2) >> 2) as u8;
        }
    }
}

/// libjpeg's YCbCr to RGB (jdcolor.c: 16-bit fixed point, rounded, then
/// clamped to a sample).
#[inline(always)]
fn rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (y as i32, cb as i32 - 128, cr as i32 - 128);
    let half = 1 << 15;
    [
        y + ((91881 * cr + half) >> 16),
        y + ((-22554 * cb - 46802 * cr + half) >> 16),
        y + ((116130 * cb + half) >> 16),
    ]
    .map(|c| c.clamp(0, 255) as u8)
}
