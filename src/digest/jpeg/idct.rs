//! libjpeg's reduced inverse DCTs (jidctred's 4 x 4, 2 x 2 and 1 x 1, in
//! its integer arithmetic) and its range limit, for the fast path. The
//! luminance's 2 x 2 is also made as its coefficients are decoded
//! ([`Summed`]): most of a photo's coefficients are the luminance's, and that
//! way they need no storing; the chroma's are [`Stored`]. Both are the
//! decoder's [`Sink`].

use super::ZIGZAG;

/// A block's coefficients as decoded, in natural (row-major) order, not yet
/// dequantised; 64 takes those no inverse DCT here reads (the length, 128,
/// lets an index masked with 127 go unchecked).
pub(super) type Coefs = [i32; 128];

/// libjpeg's range limit after an inverse DCT: `x + 128` clamped to a
/// sample for `x` within -512..=511, and that range's wrap (modulo 1024)
/// outside it, as its 1024-entry table gives.
#[inline(always)]
pub(super) fn range_limit(x: i64) -> u8 {
    RANGE_LIMIT[(x & 1023) as usize]
}

/// [`range_limit`]'s table, by `x` modulo 1024.
static RANGE_LIMIT: [u8; 1024] = {
    let mut t = [0u8; 1024];
    let mut i = 0;
    while i < 1024 {
        t[i] = match i {
            0..=127 => (i + 128) as u8,
            128..=511 => 255,
            512..=895 => 0,
            _ => (i - 896) as u8,
        };
        i += 1;
    }
    t
};

const CONST_BITS: i32 = 13;
const PASS1_BITS: i32 = 2;

fn descale(x: i64, n: i32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// Which of a block's coefficients (natural order) the inverse DCT to
/// `size` x `size` reads: rows and columns 0, 1, 3, 5 and 7 for 2 x 2, all
/// but row and column 4 for 4 x 4, the DC alone for 1 x 1.
pub(super) fn used(size: usize, at: usize) -> bool {
    let (row, col) = (at / 8, at % 8);
    match size {
        1 => at == 0,
        2 => [row, col].iter().all(|i| COLUMNS2.contains(i)),
        _ => row != 4 && col != 4,
    }
}

/// The coefficient at `at`, dequantised.
fn dq(c: &Coefs, q: &[u16; 64], at: usize) -> i64 {
    c[at] as i64 * q[at] as i64
}

/// libjpeg's 1 x 1 inverse DCT: the block's mean.
pub(super) fn idct_1x1(c: &Coefs, q: &[u16; 64]) -> u8 {
    range_limit(descale(dq(c, q, 0), 3))
}

/// The 2 x 2 inverse DCT's odd-part constants for rows (and columns) 7, 5,
/// 3 and 1: sqrt(2) * (c7 - c5 + c3 - c1), (-c1 + c3 + c5 + c7),
/// (-c1 + c3 - c5 - c7) and (c1 + c3 + c5 + c7), in 13-bit fixed point.
const ODD2: [i64; 4] = [-5906, 6967, -10426, 29692];

/// The rows and columns the 2 x 2 inverse DCT reads.
const COLUMNS2: [usize; 5] = [0, 1, 3, 5, 7];

/// Rows 1 to 7 of column 0 in a mask of written coefficients.
const COLUMN_AC: u64 = 0x0101_0101_0101_0100;

/// libjpeg's 2 x 2 inverse DCT into `out` (rows `stride` apart); `written`
/// has a bit for each coefficient that may not be zero. libjpeg's shortcut
/// for a column whose odd terms are zero, and the sums of one that is all
/// zero, give the values its sums would.
pub(super) fn idct_2x2(c: &Coefs, written: u64, q: &[u16; 64], out: &mut [u8], stride: usize) {
    let d = |at: usize| c[at] as i64 * q[at] as i64;
    let [k7, k5, k3, k1] = ODD2;
    let shift = CONST_BITS - PASS1_BITS + 2;
    // Per column 0, 1, 3, 5, 7: rows 0 and 1 of the first pass.
    let ws: [[i64; 2]; 5] = COLUMNS2.map(|col| {
        if written >> col & COLUMN_AC == 0 {
            let dc = d(col) << PASS1_BITS;
            return [dc, dc];
        }
        let even = d(col) << (CONST_BITS + 2);
        let odd = d(56 + col) * k7 + d(40 + col) * k5 + d(24 + col) * k3 + d(8 + col) * k1;
        [descale(even + odd, shift), descale(even - odd, shift)]
    });
    pass2_2x2(&ws, out, stride);
}

/// The 2 x 2 inverse DCT's second pass, from the first's rows 0 and 1 of
/// columns 0, 1, 3, 5 and 7.
fn pass2_2x2(ws: &[[i64; 2]; 5], out: &mut [u8], stride: usize) {
    let [k7, k5, k3, k1] = ODD2;
    let shift = CONST_BITS + PASS1_BITS + 3 + 2;
    for row in 0..2 {
        let even = ws[0][row] << (CONST_BITS + 2);
        let odd = ws[4][row] * k7 + ws[3][row] * k5 + ws[2][row] * k3 + ws[1][row] * k1;
        out[row * stride] = range_limit(descale(even + odd, shift));
        out[row * stride + 1] = range_limit(descale(even - odd, shift));
    }
}

/// The 4 x 4 inverse DCT's constants: FIX(1.847759065), FIX(0.765366865),
/// and the odd part's, for rows (and columns) 7, 5, 3 and 1, of its two
/// sums.
const EVEN4: [i64; 2] = [15137, -6270];
const ODD4: [[i64; 4]; 2] = [[-1730, 11893, -17799, 8697], [-4176, -4926, 7373, 20995]];

/// libjpeg's 4 x 4 inverse DCT into `out` (rows `stride` apart); `written`
/// as for [`idct_2x2`].
pub(super) fn idct_4x4(c: &Coefs, written: u64, q: &[u16; 64], out: &mut [u8], stride: usize) {
    let d = |at: usize| c[at] as i64 * q[at] as i64;
    let mut ws = [[0i64; 4]; 8];
    for col in [0, 1, 2, 3, 5, 6, 7] {
        if written >> col & COLUMN_AC == 0 {
            ws[col] = [d(col) << PASS1_BITS; 4];
            continue;
        }
        let v = |row: usize| d(8 * row + col);
        let [a, b, e, f] = [7, 5, 3, 1].map(v);
        let parts = (v(0) << (CONST_BITS + 1), v(2) * EVEN4[0] + v(6) * EVEN4[1]);
        let odd = ODD4.map(|k| a * k[0] + b * k[1] + e * k[2] + f * k[3]);
        ws[col] = butterfly(parts, odd, CONST_BITS - PASS1_BITS + 1);
    }
    // Only column 0 written: every row's odd and even terms past its first
    // are zero, and libjpeg's shortcut for such a row applies.
    let dc_column = written & !0x0101_0101_0101_0101 == 0;
    for row in 0..4 {
        let w = |i: usize| ws[i][row];
        let out = &mut out[row * stride..row * stride + 4];
        if dc_column {
            out.fill(range_limit(descale(w(0), PASS1_BITS + 3)));
            continue;
        }
        let [a, b, e, f] = [7, 5, 3, 1].map(w);
        let parts = (w(0) << (CONST_BITS + 1), w(2) * EVEN4[0] + w(6) * EVEN4[1]);
        let odd = ODD4.map(|k| a * k[0] + b * k[1] + e * k[2] + f * k[3]);
        let v = butterfly(parts, odd, CONST_BITS + PASS1_BITS + 3 + 1);
        for (o, v) in out.iter_mut().zip(v) {
            *o = range_limit(v);
        }
    }
}

/// The 4 x 4 inverse DCT's last stage: from the even part's two terms and
/// the odd part's two sums, the four outputs, descaled by `shift`.
fn butterfly((t0, t2): (i64, i64), [o0, o2]: [i64; 2], shift: i32) -> [i64; 4] {
    let (t10, t12) = (t0 + t2, t0 - t2);
    [t10 + o2, t12 + o0, t12 - o0, t10 - o2].map(|x| descale(x, shift))
}

/// libjpeg's 2 x 2 inverse DCT takes an 8 x 8 block's rows and columns 0,
/// 1, 3, 5 and 7. Its first pass, per column, sums the row 0 coefficient
/// (the even part) and rows 1, 3, 5 and 7 by constants (the odd part):
/// those sums are made as the coefficients are decoded, 2 per column, in
/// column order 0, 1, 3, 5, 7; slots 10 to 17 take the coefficients not
/// used (eight, so that adding to them is not one chain through memory).
pub(super) type Sums = [i64; 18];

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
        let place = |i: usize| COLUMNS2.iter().position(|&x| x == i);
        for (k, &z) in ZIGZAG.iter().enumerate() {
            let (row, col) = (z as usize / 8, z as usize % 8);
            let (Some(r), Some(c)) = (place(row), place(col)) else {
                continue;
            };
            let q = q[z as usize] as i64;
            w.slot[k] = (2 * c + (r > 0) as usize) as u8;
            // ODD2 runs from row 7 down to row 1.
            w.factor[k] = if r == 0 {
                q << (CONST_BITS + 2)
            } else {
                q * ODD2[4 - r]
            };
        }
        w
    }
}

/// libjpeg's 2 x 2 inverse DCT from the first pass's `sums`, into `out`
/// (rows `stride` apart).
pub(super) fn idct_2x2_sums(sums: &Sums, out: &mut [u8], stride: usize) {
    let shift = CONST_BITS - PASS1_BITS + 2;
    let ws: [[i64; 2]; 5] = std::array::from_fn(|c| {
        let (even, odd) = (sums[2 * c], sums[2 * c + 1]);
        [descale(even + odd, shift), descale(even - odd, shift)]
    });
    pass2_2x2(&ws, out, stride);
}

/// Where a block's coefficients go as they are decoded.
pub(super) trait Sink {
    /// The DC coefficient, first.
    fn dc(&mut self, value: i32);
    /// An AC coefficient, by its zigzag index (1-63).
    fn ac(&mut self, k: usize, value: i32);
}

/// The luminance's 2 x 2: the first pass's sums, made as the coefficients
/// come.
pub(super) struct Summed<'a> {
    pub(super) sums: &'a mut Sums,
    pub(super) w: &'a Weights,
}

impl Sink for Summed<'_> {
    #[inline(always)]
    fn dc(&mut self, value: i32) {
        *self.sums = [0; 18];
        self.sums[0] = value as i64 * self.w.factor[0];
    }

    #[inline(always)]
    fn ac(&mut self, k: usize, value: i32) {
        self.sums[self.w.slot[k] as usize] += value as i64 * self.w.factor[k];
    }
}

/// The coefficients stored for an inverse DCT: at `map`'s place for each
/// zigzag index in `coef` (64 takes those no inverse DCT reads), with a bit
/// in `written` for each (bit 0, the DC, always; a coefficient at 64 sets
/// it too).
pub(super) struct Stored<'a> {
    pub(super) coef: &'a mut Coefs,
    map: &'a [u8; 64],
    pub(super) written: u64,
}

impl Sink for Stored<'_> {
    #[inline(always)]
    fn dc(&mut self, value: i32) {
        self.coef[0] = value;
        self.written = 1;
    }

    #[inline(always)]
    fn ac(&mut self, k: usize, value: i32) {
        let m = self.map[k] as usize & 127;
        self.coef[m] = value;
        self.written |= 1 << (m & 63);
    }
}

impl<'a> Stored<'a> {
    /// A block's coefficients into `coef`, all zeros.
    pub(super) fn new(coef: &'a mut Coefs, map: &'a [u8; 64]) -> Stored<'a> {
        Stored {
            coef,
            map,
            written: 1,
        }
    }

    /// Zeros what was written, for the next block.
    pub(super) fn clear(&mut self) {
        let mut w = self.written & !1;
        while w != 0 {
            self.coef[w.trailing_zeros() as usize] = 0;
            w &= w - 1;
        }
    }
}
