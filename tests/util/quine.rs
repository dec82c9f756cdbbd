//! Archives that contain themselves: a zip whose one member is the zip, and a
//! gzip stream whose content is the stream.
//!
//! The deflate data is a program of two instructions that prints itself:
//! a stored block prints the bytes that follow it, and a fixed-Huffman block
//! of length/distance copies repeats the last bytes printed. Every
//! instruction is 5 bytes, so "print four instructions" and "repeat four
//! instructions" have one encoding wherever they stand. The program prints
//! the bytes before it (the container's header, P) and after it (its
//! trailer, S) too, so the container's content is the container. The header
//! and trailer hold the CRC-32 of that content; CRC-32 is affine in its
//! input, so the value that is its own CRC is solved for.
#![allow(dead_code)]

/// Base length of each deflate length code (257 + index) and its extra bits.
const LENGTHS: [(usize, u32); 29] = [
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 1),
    (13, 1),
    (15, 1),
    (17, 1),
    (19, 2),
    (23, 2),
    (27, 2),
    (31, 2),
    (35, 3),
    (43, 3),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 4),
    (115, 4),
    (131, 5),
    (163, 5),
    (195, 5),
    (227, 5),
    (258, 0),
];

/// Base distance of each distance code and its extra bits (the ones used).
const DISTANCES: [(usize, u32); 16] = [
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (5, 1),
    (7, 1),
    (9, 2),
    (13, 2),
    (17, 3),
    (25, 3),
    (33, 4),
    (49, 4),
    (65, 5),
    (97, 5),
    (129, 6),
    (193, 6),
];

/// Deflate's bit order: fields least significant bit first, Huffman codes
/// most significant bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u8,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, bits: u32) {
        for i in 0..bits {
            self.acc |= (((value >> i) & 1) as u8) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc);
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn code(&mut self, code: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn len(&self) -> usize {
        self.out.len() * 8 + self.n as usize
    }

    fn bytes(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc);
        }
        self.out
    }

    /// A symbol of the fixed literal/length code.
    fn symbol(&mut self, v: u32) {
        match v {
            0..=143 => self.code(0x30 + v, 8),
            144..=255 => self.code(0x190 + v - 144, 9),
            256..=279 => self.code(v - 256, 7),
            _ => self.code(0xc0 + v - 280, 8),
        }
    }

    fn copy(&mut self, length: usize, distance: usize) {
        let l = LENGTHS.iter().rposition(|&(b, _)| b <= length).unwrap();
        self.symbol(257 + l as u32);
        self.put((length - LENGTHS[l].0) as u32, LENGTHS[l].1);
        let d = DISTANCES.iter().rposition(|&(b, _)| b <= distance).unwrap();
        self.code(d as u32, 5);
        self.put((distance - DISTANCES[d].0) as u32, DISTANCES[d].1);
    }

    /// A fixed-Huffman block header, final or not.
    fn fixed(&mut self, last: bool) {
        self.put(last as u32, 1);
        self.put(1, 2);
    }
}

/// "Print the next `n` bytes": a stored block's header.
fn print(n: usize) -> Vec<u8> {
    let n = n as u16;
    let mut b = vec![0];
    b.extend(n.to_le_bytes());
    b.extend((!n).to_le_bytes());
    b
}

/// "Repeat the last `n` bytes": copies at distance `n` in a fixed block,
/// then as many empty fixed blocks as make it exactly 40 bits (5 bytes),
/// so a stored block after it starts on a byte. The last instruction of the
/// stream (`last`) has any length.
fn repeat(n: usize, last: bool) -> Option<Vec<u8>> {
    let mut splits: Vec<Vec<usize>> = vec![vec![n]];
    for a in 3..n.saturating_sub(2) {
        splits.push(vec![a, n - a]);
    }
    for split in splits {
        if split.iter().any(|&l| l > 258) {
            continue;
        }
        for empties in 0..3 {
            let mut b = Bits::default();
            b.fixed(last && empties == 0);
            for &l in &split {
                b.copy(l, n);
            }
            b.symbol(256);
            for e in 0..empties {
                b.fixed(last && e + 1 == empties);
                b.symbol(256);
            }
            if last || b.len() == 40 {
                return Some(b.bytes());
            }
        }
    }
    None
}

/// The deflate stream whose output is `head`, the stream, then `tail`.
fn program(head: &[u8], tail: &[u8]) -> Option<Vec<u8>> {
    let unit = 5;
    let rh = repeat(head.len() + unit, false)?;
    let r4 = repeat(4 * unit, false)?;
    // The last repeat copies itself and the tail: its length is found by
    // trying until it is the length it assumed.
    let mut rt = repeat(tail.len() + unit, true)?;
    while rt.len() != repeat(tail.len() + rt.len(), true)?.len() {
        rt = repeat(tail.len() + rt.len(), true)?;
    }
    let rt = repeat(tail.len() + rt.len(), true)?;
    let (p0, p4) = (print(0), print(4 * unit));
    let ph = print(head.len() + unit);
    let pt = print(rt.len() + tail.len());
    let mut q = Vec::new();
    let mut add = |parts: &[&[u8]]| parts.iter().for_each(|p| q.extend_from_slice(p));
    // Print the head and this print; repeat both.
    add(&[&ph, head, &ph, &rh]);
    // Two no-ops, then print the last three instructions and itself, and
    // repeat that: the output has caught up but for the repeat.
    add(&[&p0, &p0, &p4, &rh, &p0, &p0, &p4, &r4]);
    // The self-printing core.
    add(&[&p4, &r4, &p4, &r4, &p4, &r4]);
    add(&[&p4, &r4, &p0, &p0, &pt, &r4, &p0, &p0]);
    // Print the last repeat and the tail; repeat them.
    add(&[&pt, &rt, tail, &rt]);
    Some(q)
}

/// The value `c` with `c == crc32(file(c))`, if one exists.
fn self_crc(file: impl Fn(u32) -> Vec<u8>) -> Option<u32> {
    let crc = |c: u32| {
        let mut h = flate2::Crc::new();
        h.update(&file(c));
        h.sum()
    };
    let base = crc(0);
    // Row j: bit j of (L + I) c, with L the linear part of the CRC.
    let cols: Vec<u32> = (0..32).map(|i| crc(1 << i) ^ base ^ (1 << i)).collect();
    let mut rows: Vec<(u32, u32)> = (0..32)
        .map(|j| {
            let m = (0..32).fold(0, |m, i| m | ((cols[i] >> j) & 1) << i);
            (m, (base >> j) & 1)
        })
        .collect();
    let mut pivots = Vec::new();
    for col in 0..32 {
        let r = pivots.len();
        let Some(sel) = (r..32).find(|&k| rows[k].0 >> col & 1 == 1) else {
            continue;
        };
        rows.swap(r, sel);
        for k in 0..32 {
            if k != r && rows[k].0 >> col & 1 == 1 {
                rows[k].0 ^= rows[r].0;
                rows[k].1 ^= rows[r].1;
            }
        }
        pivots.push(col);
    }
    if rows[pivots.len()..].iter().any(|r| r.1 == 1) {
        return None;
    }
    let c = pivots
        .iter()
        .enumerate()
        .fold(0, |c, (k, &col)| c | rows[k].1 << col);
    (crc(c) == c).then_some(c)
}

/// A zip whose one member, `name` (deflated), is the zip itself.
pub fn zip(name: &str) -> Vec<u8> {
    let name = name.as_bytes();
    // The local header's extra field and the time are free: tried until the
    // header's repeat fits five bytes and a CRC is its own.
    for time in 0u16..64 {
        for extra in 0usize..64 {
            let head = |csize: u32, usize_: u32, crc: u32| {
                let mut h = b"PK\x03\x04".to_vec();
                for v in [20u16, 0, 8, time, 0x21] {
                    h.extend(v.to_le_bytes());
                }
                for v in [crc, csize, usize_] {
                    h.extend(v.to_le_bytes());
                }
                h.extend((name.len() as u16).to_le_bytes());
                h.extend((extra as u16).to_le_bytes());
                h.extend(name);
                h.extend(vec![0; extra]);
                h
            };
            let tail = |csize: u32, usize_: u32, crc: u32, at: u32| {
                let mut c = b"PK\x01\x02".to_vec();
                for v in [20u16, 20, 0, 8, time, 0x21] {
                    c.extend(v.to_le_bytes());
                }
                for v in [crc, csize, usize_] {
                    c.extend(v.to_le_bytes());
                }
                for v in [name.len() as u16, 0, 0, 0, 0] {
                    c.extend(v.to_le_bytes());
                }
                c.extend([0u8; 8]);
                c.extend(name);
                let mut t = c.clone();
                t.extend(b"PK\x05\x06");
                for v in [0u16, 0, 1, 1] {
                    t.extend(v.to_le_bytes());
                }
                t.extend((c.len() as u32).to_le_bytes());
                t.extend(at.to_le_bytes());
                t.extend([0, 0]);
                t
            };
            let Some(q) = program(&head(0, 0, 0), &tail(0, 0, 0, 0)) else {
                continue;
            };
            let csize = q.len() as u32;
            let total = (head(0, 0, 0).len() + q.len() + tail(0, 0, 0, 0).len()) as u32;
            let at = head(0, 0, 0).len() as u32 + csize;
            let file = |crc: u32| {
                let (h, t) = (head(csize, total, crc), tail(csize, total, crc, at));
                [h.clone(), program(&h, &t).unwrap(), t].concat()
            };
            if let Some(crc) = self_crc(file) {
                return file(crc);
            }
        }
    }
    panic!("no zip quine for {name:?}");
}

/// A gzip stream whose content is the stream itself.
pub fn gzip() -> Vec<u8> {
    // The header's name field (FNAME) is free: grown until the header's
    // repeat fits five bytes and a CRC is its own.
    for pad in 1usize..64 {
        let mut head = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
        head.extend(vec![b'q'; pad]);
        head.push(0);
        let tail = |crc: u32, size: u32| [crc.to_le_bytes(), size.to_le_bytes()].concat();
        let Some(q) = program(&head, &tail(0, 0)) else {
            continue;
        };
        let total = (head.len() + q.len() + 8) as u32;
        let file = |crc: u32| {
            let t = tail(crc, total);
            [head.clone(), program(&head, &t).unwrap(), t].concat()
        };
        if let Some(crc) = self_crc(file) {
            return file(crc);
        }
    }
    panic!("no gzip quine");
}
