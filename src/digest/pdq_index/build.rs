//! Building the structure: the tables of every word, filled in parallel.

use super::*;

/// Builds the serialized structure over `hashes`; entry numbers are positions
/// in `hashes`.
///
/// Panics if there are more than `u32::MAX` hashes (entry numbers are 32-bit).
pub fn build(hashes: &[Pdq]) -> Vec<u8> {
    build_with_key_bits(hashes, key_bits_for(hashes.len()))
}

/// The key bits for `count` hashes: about 4 to 8 entries per key, at most a word.
pub(super) fn key_bits_for(count: usize) -> u32 {
    let bits = usize::BITS - count.leading_zeros();
    bits.saturating_sub(3).min(MAX_KEY_BITS)
}

/// [`build()`] with a given number of key bits (at most 16).
pub(super) fn build_with_key_bits(hashes: &[Pdq], key_bits: u32) -> Vec<u8> {
    assert!(
        u32::try_from(hashes.len()).is_ok(),
        "a PDQ index holds at most {} hashes",
        u32::MAX
    );
    let layout = Layout::new(hashes.len(), key_bits).expect("the structure's size fits in memory");
    let mut bytes = vec![0u8; layout.total];
    bytes[..8].copy_from_slice(&MAGIC);
    bytes[8..12].copy_from_slice(&VERSION.to_le_bytes());
    bytes[12..16].copy_from_slice(&key_bits.to_le_bytes());
    bytes[16..24].copy_from_slice(&(hashes.len() as u64).to_le_bytes());
    let (stored, tables) = bytes[HEADER_LEN..].split_at_mut(hashes.len() * HASH_LEN);
    for (dst, hash) in stored.chunks_exact_mut(HASH_LEN).zip(hashes) {
        for (d, w) in dst.chunks_exact_mut(2).zip(hash.0) {
            d.copy_from_slice(&w.to_le_bytes());
        }
    }
    tables
        .par_chunks_exact_mut(layout.table_len)
        .enumerate()
        .for_each(|(word, table)| fill_table(table, &layout, hashes, word));
    bytes
}

/// Writes the table of word `word` into `table` (zeroed, `layout.table_len` bytes).
pub(super) fn fill_table(table: &mut [u8], layout: &Layout, hashes: &[Pdq], word: usize) {
    let mask = key_mask(layout.key_bits);
    let next = (word + 1) % WORDS;
    let keys = 1usize << layout.key_bits;
    // starts[k] is where key k's entries start; starts[keys] is the end.
    let mut starts = vec![0u32; keys + 1];
    for hash in hashes {
        starts[usize::from(hash.0[word] & mask) + 1] += 1;
    }
    for k in 0..keys {
        starts[k + 1] += starts[k];
    }
    let parts = layout.table_parts(0);
    for (dst, start) in table[parts.starts].chunks_exact_mut(4).zip(&starts) {
        dst.copy_from_slice(&start.to_le_bytes());
    }
    let (front, back) = table.split_at_mut(parts.ids.start);
    let inline = &mut front[parts.inline];
    let ids = &mut back[..parts.ids.len()];
    let mut cursor = starts;
    for (n, hash) in hashes.iter().enumerate() {
        let key = usize::from(hash.0[word] & mask);
        let at = cursor[key] as usize;
        cursor[key] += 1;
        inline[2 * at..2 * at + 2].copy_from_slice(&hash.0[next].to_le_bytes());
        ids[4 * at..4 * at + 4].copy_from_slice(&(n as u32).to_le_bytes());
    }
}
