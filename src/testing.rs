//! Helpers the tests and benchmarks share: a seeded generator, and PDQ hashes
//! made from it. Not part of the tool.

use crate::digest::pdq::Pdq;

/// A small xorshift generator: the same seed gives the same numbers.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (which must not be 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random PDQ hash.
    pub fn hash(&mut self) -> Pdq {
        let mut w = [0u16; 16];
        for c in w.chunks_exact_mut(4) {
            let x = self.next_u64();
            for (i, v) in c.iter_mut().enumerate() {
                *v = (x >> (16 * i)) as u16;
            }
        }
        Pdq(w)
    }

    /// `hash` with `k` distinct bits flipped (`k` at most 256).
    pub fn flip(&mut self, hash: &Pdq, k: u32) -> Pdq {
        let mut out = *hash;
        while out.distance(hash) < k {
            let bit = self.below(256);
            out.0[bit / 16] ^= 1 << (bit % 16);
        }
        out
    }
}
