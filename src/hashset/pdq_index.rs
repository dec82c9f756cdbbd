//! Temporary linear-scan stand-in for the PDQ search structure.
use crate::digest::pdq::Pdq;

/// Builds the serialized structure over `hashes`.
pub fn build(hashes: &[Pdq]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + hashes.len() * 32);
    out.extend_from_slice(&(hashes.len() as u64).to_le_bytes());
    for h in hashes {
        for w in h.0 {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out
}

/// A view of a built structure.
pub struct PdqIndexView<'a> {
    hashes: &'a [u8],
}

impl<'a> PdqIndexView<'a> {
    /// A view over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, String> {
        let n = u64::from_le_bytes(bytes.get(..8).ok_or("short")?.try_into().unwrap()) as usize;
        let hashes = bytes.get(8..8 + n * 32).ok_or("short")?;
        Ok(PdqIndexView { hashes })
    }
    /// Stored hashes.
    pub fn len(&self) -> usize {
        self.hashes.len() / 32
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The stored hash of entry `n`.
    pub fn hash(&self, n: u32) -> Pdq {
        let b = &self.hashes[n as usize * 32..][..32];
        let mut w = [0u16; 16];
        for (i, p) in b.chunks_exact(2).enumerate() {
            w[i] = u16::from_le_bytes([p[0], p[1]]);
        }
        Pdq(w)
    }
    /// Every stored hash within `max_distance`.
    pub fn search(&self, query: &Pdq, max_distance: u32, out: &mut Vec<(u32, u32)>) {
        for n in 0..self.len() as u32 {
            let d = self.hash(n).distance(query);
            if d <= max_distance {
                out.push((n, d));
            }
        }
    }
}

/// An owned structure.
pub struct PdqIndex {
    bytes: Vec<u8>,
}

impl PdqIndex {
    /// Builds one.
    pub fn build(hashes: &[Pdq]) -> PdqIndex {
        PdqIndex {
            bytes: build(hashes),
        }
    }
    /// Its view.
    pub fn view(&self) -> PdqIndexView<'_> {
        PdqIndexView::new(&self.bytes).expect("built here")
    }
}
