//! libjpeg's reduced inverse DCTs (jidctred's 2 x 2 and 1 x 1, in its
//! integer arithmetic) and its range limit, for the fast path's luminance.

use super::ZIGZAG;

/// libjpeg's range limit after an inverse DCT: `x + 128` clamped to a
/// sample for `x` within -512..=511, and that range's wrap (modulo 1024)
/// outside it, as its 1024-entry table gives.
pub(super) fn range_limit(x: i64) -> u8 {
    match (x & 1023) as u16 {
        i @ 0..=127 => (i + 128) as u8,
        128..=511 => 255,
        512..=895 => 0,
        i => (i - 896) as u8,
    }
}

/// libjpeg's 1 x 1 inverse DCT of a block whose DC coefficient is `dc`:
/// the block's mean.
pub(super) fn idct_1x1(dc: i32, q: &[u16; 64]) -> u8 {
    range_limit((dc as i64 * q[0] as i64 + 4) >> 3)
}

/// libjpeg's 2 x 2 inverse DCT takes an 8 x 8 block's rows and columns 0,
/// 1, 3, 5 and 7. Its first pass, per column, sums the row 0 coefficient
/// (the even part) and rows 1, 3, 5 and 7 by constants (the odd part):
/// those sums are made as the coefficients are decoded, 2 per column, in
/// column order 0, 1, 3, 5, 7; slots 10 to 17 take the coefficients not
/// used (eight, so that adding to them is not one chain through memory).
pub(super) type Sums = [i64; 18];

const IDCT_BITS: i32 = 13;
const IDCT_PASS1: i32 = 2;
/// The odd part's constants for rows (and columns) 1, 3, 5 and 7:
/// sqrt(2) * (c1 + c3 + c5 + c7), (-c1 + c3 - c5 - c7), (-c1 + c3 + c5 + c7)
/// and (c7 - c5 + c3 - c1), in 13-bit fixed point.
const IDCT_ODD: [i64; 4] = [29692, -10426, 6967, -5906];

/// Per zigzag index: the slot of [`Sums`] a coefficient adds to, and its
/// factor there (its quantisation step times the first pass's constant).
pub(super) struct Weights {
    pub(super) slot: [u8; 64],
    pub(super) factor: [i64; 64],
}

impl Weights {
    pub(super) fn new(q: &[u16; 64]) -> Weights {
        let mut w = Weights {
            slot: std::array::from_fn(|k| 10 + (k % 8) as u8),
            factor: [0; 64],
        };
        let used = |i: usize| [0, 1, 3, 5, 7].iter().position(|&x| x == i);
        for (k, &z) in ZIGZAG.iter().enumerate() {
            let (row, col) = (z as usize / 8, z as usize % 8);
            let (Some(r), Some(c)) = (used(row), used(col)) else {
                continue;
            };
            let q = q[z as usize] as i64;
            w.slot[k] = (2 * c + (r > 0) as usize) as u8;
            w.factor[k] = if r == 0 {
                q << (IDCT_BITS + 2)
            } else {
                q * IDCT_ODD[r - 1]
            };
        }
        w
    }
}

/// libjpeg's 2 x 2 inverse DCT from the first pass's `sums`, into `out`
/// (rows `stride` apart).
pub(super) fn idct_2x2(sums: &Sums, out: &mut [u8], stride: usize) {
    let descale = |x: i64, n: i32| (x + (1 << (n - 1))) >> n;
    let mut ws = [[0i64; 2]; 5];
    for (c, ws) in ws.iter_mut().enumerate() {
        let (even, odd) = (sums[2 * c], sums[2 * c + 1]);
        let shift = IDCT_BITS - IDCT_PASS1 + 2;
        *ws = [descale(even + odd, shift), descale(even - odd, shift)];
    }
    for row in 0..2 {
        let even = ws[0][row] << (IDCT_BITS + 2);
        let odd: i64 = (0..4).map(|c| ws[c + 1][row] * IDCT_ODD[c]).sum();
        let shift = IDCT_BITS + IDCT_PASS1 + 3 + 2;
        out[row * stride] = range_limit(descale(even + odd, shift));
        out[row * stride + 1] = range_limit(descale(even - odd, shift));
    }
}
