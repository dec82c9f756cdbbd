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
