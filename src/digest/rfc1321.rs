//! MD5 (RFC 1321), written for the scan's hot path.
//!
//! MD5 is one long chain of dependent 32-bit operations, so its speed on one
//! stream is set by the length of that chain per step, not by how many
//! operations there are. Each step below adds the message word, the constant
//! and the previous state word first, off the chain, so that only the round
//! function of the freshly computed word, one addition, the rotation and the
//! final addition wait on it. Round 2 adds its two disjoint masked terms
//! separately, one of which does not depend on the new word at all. Checked
//! against the `md-5` crate on random inputs of many lengths (tests in
//! `digest.rs`, where the padding and the streaming live).

/// The sine-derived constants of RFC 1321, section 3.4.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// The initial state.
pub const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

macro_rules! step {
    // a = b + rotl(a + k + m + f(b, c, d), s), with a + k + m summed first.
    (F, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($k).wrapping_add($m);
        $a = $a
            .wrapping_add($d ^ ($b & ($c ^ $d)))
            .rotate_left($s)
            .wrapping_add($b);
    };
    (G, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($k).wrapping_add($m).wrapping_add($c & !$d);
        $a = $a.wrapping_add($b & $d).rotate_left($s).wrapping_add($b);
    };
    (H, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($k).wrapping_add($m);
        $a = $a
            .wrapping_add($b ^ $c ^ $d)
            .rotate_left($s)
            .wrapping_add($b);
    };
    (I, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($k).wrapping_add($m);
        $a = $a
            .wrapping_add($c ^ ($b | !$d))
            .rotate_left($s)
            .wrapping_add($b);
    };
}

/// Four steps of one round, on message words `i0..i3` and constants from `k`.
macro_rules! four {
    ($f:ident, $a:ident, $b:ident, $c:ident, $d:ident, $x:ident, $k:expr,
     [$i0:expr, $i1:expr, $i2:expr, $i3:expr], $r:ident) => {
        step!($f, $a, $b, $c, $d, $x[$i0], K[$k], $r[0]);
        step!($f, $d, $a, $b, $c, $x[$i1], K[$k + 1], $r[1]);
        step!($f, $c, $d, $a, $b, $x[$i2], K[$k + 2], $r[2]);
        step!($f, $b, $c, $d, $a, $x[$i3], K[$k + 3], $r[3]);
    };
}

/// Applies one 64-byte block to `state`.
#[inline(always)]
pub fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut x = [0u32; 16];
    for (w, b) in x.iter_mut().zip(block.chunks_exact(4)) {
        *w = u32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
    let [mut a, mut b, mut c, mut d] = *state;
    const R1: [u32; 4] = [7, 12, 17, 22];
    four!(F, a, b, c, d, x, 0, [0, 1, 2, 3], R1);
    four!(F, a, b, c, d, x, 4, [4, 5, 6, 7], R1);
    four!(F, a, b, c, d, x, 8, [8, 9, 10, 11], R1);
    four!(F, a, b, c, d, x, 12, [12, 13, 14, 15], R1);
    const R2: [u32; 4] = [5, 9, 14, 20];
    four!(G, a, b, c, d, x, 16, [1, 6, 11, 0], R2);
    four!(G, a, b, c, d, x, 20, [5, 10, 15, 4], R2);
    four!(G, a, b, c, d, x, 24, [9, 14, 3, 8], R2);
    four!(G, a, b, c, d, x, 28, [13, 2, 7, 12], R2);
    const R3: [u32; 4] = [4, 11, 16, 23];
    four!(H, a, b, c, d, x, 32, [5, 8, 11, 14], R3);
    four!(H, a, b, c, d, x, 36, [1, 4, 7, 10], R3);
    four!(H, a, b, c, d, x, 40, [13, 0, 3, 6], R3);
    four!(H, a, b, c, d, x, 44, [9, 12, 15, 2], R3);
    const R4: [u32; 4] = [6, 10, 15, 21];
    four!(I, a, b, c, d, x, 48, [0, 7, 14, 5], R4);
    four!(I, a, b, c, d, x, 52, [12, 3, 10, 1], R4);
    four!(I, a, b, c, d, x, 56, [8, 15, 6, 13], R4);
    four!(I, a, b, c, d, x, 60, [4, 11, 2, 9], R4);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}
