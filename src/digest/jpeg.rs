//! A baseline JPEG at 1/4 or 1/8 of its size, as libjpeg-turbo gives it
//! to Pillow's `draft`: the fast path for photos' PDQ.
//!
//! Each block is decoded straight into libjpeg's scaled inverse DCT (4 x 4,
//! 2 x 2 or 1 x 1 from an 8 x 8 block, in the integer arithmetic of its C
//! code, jidctred.c): the luminance at the reduced size, and the chroma at the
//! size libjpeg picks for it: for 4:2:0 and 4:4:4 the luminance's, so that
//! no upsampling is needed; for 4:2:2 half its width, widened as libjpeg
//! widens it. The colour is converted to RGB with libjpeg's arithmetic and
//! clamped, as a viewer shows it, and PDQ's luminance taken from that RGB: a
//! picture whose colours lie outside the RGB cube hashes as it is seen, not
//! as its Y. No full-size pixels are made; the time is in the Huffman
//! decoding, which every block needs.
//!
//! Baseline and extended sequential Huffman JPEGs of 8-bit samples with one
//! component, or three that are YCbCr (by the general decoder's rules and
//! libjpeg's) sampled 4:4:4, 4:2:0 or 4:2:2, in one interleaved scan, are
//! read here; anything else (progressive, arithmetic, 12-bit, RGB, CMYK,
//! big-gamut colour, 4:4:0, 4:1:1 and other samplings that libjpeg
//! upsamples otherwise, a colour picture in several scans, a height given
//! by DNL) gets `Ok(None)`.
//! Damage gets `Err`: a scan cut short, restart markers out of order, codes
//! that are not in their table, a missing quantisation table, more than 10
//! blocks in an MCU. Either way the caller uses the general decoder, whose
//! result or note stands as before.
//!
//! To the byte for the coefficients an encoder makes. Hostile blocks can
//! differ from what Pillow shows: where the inverse DCT's output leaves
//! -512..=511, or a dequantised coefficient passes 16 bits, libjpeg-turbo's
//! SIMD 2 x 2 and 4 x 4 saturate where its C code (and this) wraps.

mod idct;
mod reduced;

pub use reduced::Reduced;

use idct::{
    idct_1x1, idct_2x2, idct_2x2_sums, idct_4x4, used, Coefs, Sink, Stored, Summed, Sums, Weights,
};

/// Natural (row-major) position of each zigzag index.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The most pixels a JPEG may have at full size: even decoded at 1/8, each of
/// its blocks is read, and time grows with them (a phone's 200-megapixel
/// sensor is well inside).
pub const MAX_JPEG_PIXELS: u64 = 400_000_000;

/// Code bits looked up at once.
const LOOKUP: u32 = 10;

/// In a [`Huffman`] `full` entry: the value's bits follow the code.
const FOLLOWS: u32 = 64;

/// The JPEG in `bytes` reduced by `den` (4 or 8), `ceil(w / den)` x
/// `ceil(h / den)`; `Ok(None)` when it is not one this path reads.
pub fn reduced(bytes: &[u8], den: u32) -> Result<Option<Reduced>, &'static str> {
    assert!(den == 4 || den == 8);
    let mut j = Jpeg::default();
    let mut at = 2;
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("no start of image");
    }
    loop {
        let (marker, body, next) = segment(bytes, at)?;
        at = next;
        match marker {
            0xC0 | 0xC1 => {
                if j.frame.is_some() {
                    return Err("two frames");
                }
                match frame(body)? {
                    Some(f) => j.frame = Some(f),
                    None => return Ok(None),
                }
            }
            0xC2..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Ok(None);
            }
            0xC4 => huffman_tables(body, &mut j)?,
            0xDB => quant_tables(body, &mut j)?,
            0xDD => {
                let r = body.get(..2).ok_or("short DRI")?;
                j.restart = u16::from_be_bytes([r[0], r[1]]) as usize;
            }
            // As libjpeg reads them: a JFIF header of at least 14 bytes, an
            // Adobe one of at least 12 (shorter ones are ignored).
            0xE0 if body.len() >= 14 && body.starts_with(b"JFIF\0") => j.jfif = true,
            0xEE if body.len() >= 12 && body.starts_with(b"Adobe") => j.adobe = Some(body[11]),
            0xDA => {
                let Some(f) = j.frame.take() else {
                    return Err("scan before frame");
                };
                if f.ncomp == 3 && !j.ycbcr(f.ids) {
                    return Ok(None);
                }
                let scan = scan_header(body, &f)?;
                if scan.iter().any(|s| s.comp == 0) {
                    // The three components are converted together, pixel by
                    // pixel: a colour picture in several scans is left to
                    // the general decoder.
                    if scan.len() != f.ncomp {
                        return Ok(None);
                    }
                    return decode_scan(bytes, next, &j, &f, &scan, den);
                }
                // A scan without luminance: skipped to the next marker.
                at = skip_entropy(bytes, next);
                j.frame = Some(f);
            }
            0xD9 => return Err("no luminance scan"),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Jpeg {
    quant: [Option<[u16; 64]>; 4],
    /// DC tables 0-3, then AC tables 0-3.
    huff: [Option<Box<Huffman>>; 8],
    restart: usize,
    /// A JFIF header (APP0) was seen.
    jfif: bool,
    /// The colour transform of an Adobe header (APP14).
    adobe: Option<u8>,
    frame: Option<Frame>,
}

impl Jpeg {
    /// Whether three components with `ids` are YCbCr, by the rules the
    /// general decoder follows (the ids, then JFIF, then Adobe's transform)
    /// and by libjpeg's (which, unlike it, reads ids 1, 2, 3 with an Adobe
    /// transform of 0 and no JFIF as RGB): the fast path reads no other
    /// colour space.
    fn ycbcr(&self, ids: [u8; 3]) -> bool {
        match ids {
            // libjpeg takes an Adobe transform of 0 without JFIF as RGB.
            [1, 2, 3] => self.jfif || self.adobe != Some(0),
            // Big-gamut YCC, RGB, big-gamut RGB.
            [1, 34, 35] | [b'R', b'G', b'B'] | [b'r', b'g', b'b'] => false,
            _ if self.jfif => true,
            _ => self.adobe.is_none_or(|t| t == 1),
        }
    }
}

struct Frame {
    width: usize,
    height: usize,
    ncomp: usize,
    ids: [u8; 3],
    /// Per component: horizontal and vertical sampling, quantisation table.
    comps: [(usize, usize, usize); 3],
    hmax: usize,
    vmax: usize,
    /// The luminance's sampling over the chroma's, across and down: (1, 1)
    /// (also for grey), (2, 2) or (2, 1).
    chroma_scale: (usize, usize),
}

struct ScanComp {
    comp: usize,
    dc: usize,
    ac: usize,
}

/// The marker at `at`, its body, and where the next marker starts.
fn segment(bytes: &[u8], mut at: usize) -> Result<(u8, &[u8], usize), &'static str> {
    // Fill bytes (0xFF) may precede a marker.
    while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
        at += 1;
    }
    match bytes.get(at..at + 2) {
        Some([0xFF, m]) => {
            let m = *m;
            if m == 0xD8 || m == 0xD9 || (0xD0..=0xD7).contains(&m) || m == 0x01 {
                return Ok((m, &[], at + 2));
            }
            let len = bytes.get(at + 2..at + 4).ok_or("cut in a marker")?;
            let len = u16::from_be_bytes([len[0], len[1]]) as usize;
            if len < 2 {
                return Err("bad segment length");
            }
            let body = bytes.get(at + 4..at + 2 + len).ok_or("cut in a segment")?;
            Ok((m, body, at + 2 + len))
        }
        _ => Err("no marker where one should be"),
    }
}

fn frame(body: &[u8]) -> Result<Option<Frame>, &'static str> {
    let b = |i: usize| {
        body.get(i)
            .copied()
            .map(usize::from)
            .ok_or("short frame header")
    };
    if b(0)? != 8 {
        return Ok(None);
    }
    let height = b(1)? << 8 | b(2)?;
    let width = b(3)? << 8 | b(4)?;
    let ncomp = b(5)?;
    if height == 0 || width == 0 || !(ncomp == 1 || ncomp == 3) {
        return Ok(None);
    }
    if (width * height) as u64 > MAX_JPEG_PIXELS {
        return Err("over the pixel limit");
    }
    let mut f = Frame {
        width,
        height,
        ncomp,
        ids: [0; 3],
        comps: [(1, 1, 0); 3],
        hmax: 1,
        vmax: 1,
        chroma_scale: (1, 1),
    };
    for c in 0..ncomp {
        let (h, v) = (b(7 + 3 * c)? >> 4, b(7 + 3 * c)? & 15);
        let q = b(8 + 3 * c)?;
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || q > 3 {
            return Err("bad component");
        }
        f.ids[c] = b(6 + 3 * c)? as u8;
        f.comps[c] = if ncomp == 1 { (1, 1, q) } else { (h, v, q) };
        f.hmax = f.hmax.max(f.comps[c].0);
        f.vmax = f.vmax.max(f.comps[c].1);
    }
    if (f.comps[0].0, f.comps[0].1) != (f.hmax, f.vmax) {
        return Ok(None);
    }
    // Chroma at the luminance's sampling, or at half of it both ways
    // (4:4:4, 4:2:0): libjpeg then reduces it to the luminance's size. At
    // half of it across only (4:2:2), libjpeg reduces it as the luminance
    // and widens it (jdsample.c's h2v1), as is done here. Others (4:4:0,
    // 4:1:1) it upsamples otherwise, and they are left to the general
    // decoder.
    if ncomp == 3 {
        let ((hy, vy, _), (h, v, _)) = (f.comps[0], f.comps[1]);
        let scale = (hy % h == 0 && vy % v == 0).then_some((hy / h, vy / v));
        match scale {
            Some(s @ ((1, 1) | (2, 2) | (2, 1))) if (h, v) == (f.comps[2].0, f.comps[2].1) => {
                f.chroma_scale = s
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(f))
}

fn quant_tables(mut body: &[u8], j: &mut Jpeg) -> Result<(), &'static str> {
    while let Some(&pq) = body.first() {
        let (wide, id) = (pq >> 4, (pq & 15) as usize);
        let n = if wide == 1 { 128 } else { 64 };
        let raw = body.get(1..1 + n).ok_or("short DQT")?;
        if wide > 1 || id > 3 {
            return Err("bad DQT");
        }
        let mut t = [0u16; 64];
        for (k, &z) in ZIGZAG.iter().enumerate() {
            t[z as usize] = if wide == 1 {
                u16::from_be_bytes([raw[2 * k], raw[2 * k + 1]])
            } else {
                raw[k] as u16
            };
        }
        j.quant[id] = Some(t);
        body = &body[1 + n..];
    }
    Ok(())
}

fn huffman_tables(mut body: &[u8], j: &mut Jpeg) -> Result<(), &'static str> {
    while let Some(&tc) = body.first() {
        let (class, id) = (tc >> 4, (tc & 15) as usize);
        if class > 1 || id > 3 {
            return Err("bad DHT");
        }
        let counts = body.get(1..17).ok_or("short DHT")?;
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        let values = body.get(17..17 + total).ok_or("short DHT")?;
        j.huff[class as usize * 4 + id] = Some(Box::new(Huffman::new(counts, values)?));
        body = &body[17 + total..];
    }
    Ok(())
}

/// A Huffman table: codes of up to [`LOOKUP`] bits by one lookup, longer
/// ones by their canonical ranges.
struct Huffman {
    /// Indexed by the next `LOOKUP` bits: code length << 8 | symbol, or 0.
    fast: [u16; 1 << LOOKUP],
    /// Indexed likewise, for AC codes: the coefficient << 16 | symbol << 8 |
    /// bits of code and value, when the value's bits fit in the index too;
    /// [`FOLLOWS`] | symbol << 8 | bits of code when they do not; 0 for a
    /// longer code.
    full: [u32; 1 << LOOKUP],
    /// Per length, the largest code of that length (-1: none).
    max: [i32; 17],
    /// Per length, what to add to a code for its index in `values`.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8], values: &[u8]) -> Result<Huffman, &'static str> {
        let mut h = Huffman {
            fast: [0; 1 << LOOKUP],
            full: [0; 1 << LOOKUP],
            max: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut k) = (0i32, 0usize);
        for len in 1..=16 {
            let n = counts[len - 1] as i32;
            h.offset[len] = k as i32 - code;
            for _ in 0..n {
                if code >= 1 << len {
                    return Err("bad Huffman table");
                }
                if len as u32 <= LOOKUP {
                    let shift = LOOKUP - len as u32;
                    let first = (code as usize) << shift;
                    let symbol = values[k];
                    for (i, e) in h.fast[first..first + (1 << shift)].iter_mut().enumerate() {
                        *e = (len as u16) << 8 | symbol as u16;
                        let size = (symbol & 15) as u32;
                        if len as u32 + size <= LOOKUP {
                            // The value bits follow the code in the index.
                            let v = (i as u32 >> (shift - size)) as i32;
                            let v = if size == 0 {
                                0
                            } else if v < 1 << (size - 1) {
                                v - (1 << size) + 1
                            } else {
                                v
                            };
                            h.full[first + i] =
                                (v as u32) << 16 | (symbol as u32) << 8 | (len as u32 + size);
                        } else {
                            h.full[first + i] = FOLLOWS | (symbol as u32) << 8 | len as u32;
                        }
                    }
                }
                code += 1;
                k += 1;
            }
            // As libjpeg checks it: no code of all ones.
            if code >= 1 << len {
                return Err("bad Huffman table");
            }
            if n > 0 {
                h.max[len] = code - 1;
            }
            code <<= 1;
        }
        Ok(h)
    }
}

/// The entropy-coded bytes of a scan, unstuffed (0xFF00 is 0xFF), with
/// where each restart interval starts and its marker's number (0-7), and
/// zeros after.
struct Entropy {
    data: Vec<u8>,
    restarts: Vec<(usize, u8)>,
}

/// Zeros after the data: reads past its end stay in bounds until a block's
/// check finds them (a block is at most 64 codes of 16 bits and values of
/// 16).
const PAD: usize = 512;

impl Entropy {
    /// The scan's data from `at` to the marker that ends it, and where the
    /// `intervals` restart intervals after the first start (a restart marker
    /// past those ends the data: a flood of them takes no memory); an error
    /// when the file ends first (a cut file is left to the general decoder).
    fn new(bytes: &[u8], mut at: usize, intervals: usize) -> Result<Entropy, &'static str> {
        let mut data = Vec::with_capacity(bytes.len().saturating_sub(at) + PAD);
        let mut restarts = Vec::new();
        loop {
            let rest = bytes.get(at..).unwrap_or_default();
            let Some(ff) = memchr::memchr(0xFF, rest) else {
                return Err("entropy-coded data cut short");
            };
            data.extend_from_slice(&rest[..ff]);
            at += ff;
            match bytes.get(at + 1) {
                Some(0) => {
                    data.push(0xFF);
                    at += 2;
                }
                Some(0xFF) => at += 1,
                // A restart marker past those the interval calls for ends
                // the data, as any other marker.
                Some(&m @ 0xD0..=0xD7) if restarts.len() < intervals => {
                    restarts.push((data.len(), m - 0xD0));
                    at += 2;
                }
                Some(_) => break,
                None => return Err("entropy-coded data cut short"),
            }
        }
        data.resize(data.len() + PAD, 0);
        Ok(Entropy { data, restarts })
    }
}

/// A reader of entropy-coded bits, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte not yet in `buf`.
    at: usize,
    /// Bits not yet read, at the top; below them, some of the next byte's.
    buf: u64,
    /// How many bits of `buf` count.
    n: u32,
}

impl Bits<'_> {
    /// Tops the buffer up to at least 56 bits, without a branch. The bytes
    /// past the data are zeros, and `data` ends at least 8 bytes past `at`
    /// while a block's check holds.
    #[inline(always)]
    fn fill(&mut self) {
        let next: [u8; 8] = self.data[self.at..self.at + 8].try_into().unwrap();
        self.buf |= u64::from_be_bytes(next) >> self.n;
        self.at += ((63 - self.n) >> 3) as usize;
        self.n |= 56;
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.n -= n;
    }

    /// A symbol by its code; the buffer holds at least 16 bits.
    #[inline(always)]
    fn symbol(&mut self, h: &Huffman) -> Option<u8> {
        let e = h.fast[(self.buf >> (64 - LOOKUP)) as usize];
        if e != 0 {
            self.consume((e >> 8) as u32);
            return Some(e as u8);
        }
        for len in LOOKUP as usize + 1..=16 {
            let code = (self.buf >> (64 - len)) as i32;
            if code <= h.max[len] {
                self.consume(len as u32);
                return h.values.get((code + h.offset[len]) as usize).copied();
            }
        }
        None
    }

    /// The next `s` bits (1-16) as a signed coefficient; the buffer holds
    /// at least `s` bits.
    #[inline(always)]
    fn value(&mut self, s: u32) -> i32 {
        let v = (self.buf >> (64 - s)) as i32;
        self.consume(s);
        if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        }
    }

    /// One block: its DC difference added to `pred`, which goes to the
    /// sink with each AC coefficient by its zigzag index; None: bad data.
    #[inline(always)]
    fn block(
        &mut self,
        dc: &Huffman,
        ac: &Huffman,
        pred: &mut i32,
        sink: &mut impl Sink,
    ) -> Option<()> {
        self.fill();
        let s = self.symbol(dc)? as u32;
        if s > 11 {
            return None;
        }
        if s > 0 {
            self.fill();
            // The DC coefficient is 16 bits, as in libjpeg: a hostile
            // stream's sum wraps rather than overflows.
            *pred = (*pred as i16).wrapping_add(self.value(s) as i16) as i32;
        }
        sink.dc(*pred);
        let mut k = 1;
        'block: loop {
            self.fill();
            // Four codes of at most LOOKUP bits fit what fill leaves; after a
            // longer code, or value bits past the index, it fills again.
            for _ in 0..4 {
                let e = ac.full[(self.buf >> (64 - LOOKUP)) as usize];
                let (rs, value, refill) = if e == 0 {
                    self.fill();
                    let rs = self.symbol(ac)?;
                    let s = (rs & 15) as u32;
                    (rs, if s == 0 { 0 } else { self.value(s) }, true)
                } else {
                    self.consume(e & 63);
                    let rs = (e >> 8) as u8;
                    if e & FOLLOWS != 0 {
                        (rs, self.value((rs & 15) as u32), true)
                    } else {
                        (rs, (e as i32) >> 16, false)
                    }
                };
                if rs & 15 == 0 {
                    if rs != 0xF0 {
                        return self.checked();
                    }
                    k += 16;
                } else {
                    k += (rs >> 4) as usize;
                    if k > 63 {
                        return None;
                    }
                    sink.ac(k, value);
                    k += 1;
                }
                if k > 63 {
                    return self.checked();
                }
                if refill {
                    continue 'block;
                }
            }
        }
    }

    /// Bits read so far.
    fn read(&self) -> usize {
        8 * self.at - self.n as usize
    }

    /// Whether every bit read so far was data (not the zeros after it).
    fn checked(&self) -> Option<()> {
        (self.read() <= 8 * (self.data.len() - PAD)).then_some(())
    }
}

fn scan_header(body: &[u8], f: &Frame) -> Result<Vec<ScanComp>, &'static str> {
    let n = *body.first().ok_or("short SOS")? as usize;
    let mut scan = Vec::new();
    for i in 0..n {
        let s = body.get(1 + 2 * i..3 + 2 * i).ok_or("short SOS")?;
        let comp = f.ids[..f.ncomp]
            .iter()
            .position(|&id| id == s[0])
            .ok_or("scan of an unknown component")?;
        let (dc, ac) = ((s[1] >> 4) as usize, (s[1] & 15) as usize);
        // In the frame's order, as libjpeg requires.
        if dc > 3 || ac > 3 || scan.last().is_some_and(|c: &ScanComp| c.comp >= comp) {
            return Err("bad scan");
        }
        scan.push(ScanComp { comp, dc, ac });
    }
    if scan.is_empty() {
        return Err("empty scan");
    }
    Ok(scan)
}

/// Where the marker after the entropy-coded data at `at` starts.
fn skip_entropy(bytes: &[u8], mut at: usize) -> usize {
    while at + 1 < bytes.len() {
        if bytes[at] == 0xFF && bytes[at + 1] != 0 && !(0xD0..=0xD7).contains(&bytes[at + 1]) {
            return at;
        }
        at += 1;
    }
    bytes.len()
}

/// One component of a scan, as it is decoded.
struct Part<'a> {
    comp: usize,
    dc: &'a Huffman,
    ac: &'a Huffman,
    /// Blocks across and down in an MCU.
    h: usize,
    v: usize,
    /// The side of a block once reduced: 1, 2 or 4.
    size: usize,
    /// Per zigzag index, where in [`Coefs`] the coefficient goes.
    map: [u8; 64],
    quant: &'a [u16; 64],
    /// For the luminance's 2 x 2: its sums' weights.
    weights: Option<Weights>,
}

fn decode_scan(
    bytes: &[u8],
    data_at: usize,
    j: &Jpeg,
    f: &Frame,
    scan: &[ScanComp],
    den: u32,
) -> Result<Option<Reduced>, &'static str> {
    let out = 8 / den as usize;
    // One component alone (grey: a colour picture's components are all in
    // the scan, checked by the caller): one block per MCU, over its size.
    let single = scan.len() == 1;
    let (mcux, mcuy) = if single {
        (f.width.div_ceil(8), f.height.div_ceil(8))
    } else {
        (f.width.div_ceil(8 * f.hmax), f.height.div_ceil(8 * f.vmax))
    };
    let (yh, yv) = if single { (1, 1) } else { (f.hmax, f.vmax) };
    let (pw, ph) = (mcux * yh * out, mcuy * yv * out);
    let blocks: usize = scan
        .iter()
        .map(|s| f.comps[s.comp].0 * f.comps[s.comp].1)
        .sum();
    if !single && blocks > 10 {
        return Err("more than 10 blocks in an MCU");
    }
    // libjpeg reduces chroma sampled at half the luminance's both ways to
    // twice the luminance's block size, and other chroma to the
    // luminance's block size; chroma at half across is widened after.
    let mut parts = Vec::new();
    for s in scan {
        let (h, v, q) = f.comps[s.comp];
        let (h, v) = if single { (1, 1) } else { (h, v) };
        let size = match (s.comp, f.chroma_scale) {
            (1.., (2, 2)) => out * 2,
            _ => out,
        };
        let quant = j.quant[q].as_ref().ok_or("no quantisation table")?;
        parts.push(Part {
            comp: s.comp,
            dc: j.huff[s.dc].as_deref().ok_or("no DC table")?,
            ac: j.huff[4 + s.ac].as_deref().ok_or("no AC table")?,
            h,
            v,
            size,
            map: std::array::from_fn(|k| {
                let at = ZIGZAG[k];
                if used(size, at as usize) {
                    at
                } else {
                    64
                }
            }),
            quant,
            weights: (s.comp == 0 && size == 2).then(|| Weights::new(quant)),
        });
    }
    let mut planes = vec![vec![0u8; pw * ph]; f.ncomp];
    let mcus = mcux * mcuy;
    let intervals = match j.restart {
        0 => 0,
        r => mcus.saturating_sub(1) / r,
    };
    let entropy = Entropy::new(bytes, data_at, intervals)?;
    let mut bits = Bits {
        data: &entropy.data,
        at: 0,
        buf: 0,
        n: 0,
    };
    let mut restarts = entropy.restarts.iter().zip((0..8u8).cycle());
    let bad = || "bad entropy-coded data";
    let mut pred = [0i32; 3];
    let mut coef: Coefs = [0; 128];
    let mut sums: Sums = [0; 18];
    let mut left = j.restart;
    for my in 0..mcuy {
        for mx in 0..mcux {
            if j.restart > 0 {
                if left == 0 {
                    // The bits left before a restart marker are padding; the
                    // markers are numbered 0 to 7 in turn.
                    let (&(next, number), expected) =
                        restarts.next().ok_or("restart marker missing")?;
                    if number != expected {
                        return Err("restart markers out of order");
                    }
                    if bits.read() > 8 * next {
                        return Err(bad());
                    }
                    (bits.at, bits.buf, bits.n) = (next, 0, 0);
                    pred = [0; 3];
                    left = j.restart;
                }
                left -= 1;
            }
            for p in &parts {
                for by in 0..p.v {
                    for bx in 0..p.h {
                        let x = (mx * p.h + bx) * p.size;
                        let y = (my * p.v + by) * p.size;
                        let pred = &mut pred[p.comp];
                        if let Some(w) = &p.weights {
                            let mut s = Summed { sums: &mut sums, w };
                            bits.block(p.dc, p.ac, pred, &mut s).ok_or_else(bad)?;
                            idct_2x2_sums(&sums, &mut planes[0][y * pw + x..], pw);
                            continue;
                        }
                        let mut s = Stored::new(&mut coef, &p.map);
                        bits.block(p.dc, p.ac, pred, &mut s).ok_or_else(bad)?;
                        let (coef, written) = (&*s.coef, s.written);
                        let o = &mut planes[p.comp][y * pw + x..];
                        if written == 1 {
                            // The DC alone (always at size 1, whose map sends
                            // every AC coefficient to 64): in libjpeg's
                            // arithmetic every size's output is then the
                            // 1 x 1's.
                            let v = idct_1x1(coef, p.quant);
                            for row in o.chunks_mut(pw).take(p.size) {
                                row[..p.size].fill(v);
                            }
                        } else if p.size == 2 {
                            idct_2x2(coef, written, p.quant, o, pw);
                        } else {
                            idct_4x4(coef, written, p.quant, o, pw);
                        }
                        s.clear();
                    }
                }
            }
        }
    }
    let mut r = Reduced {
        planes,
        stride: pw,
        width: f.width.div_ceil(den as usize),
        height: f.height.div_ceil(den as usize),
    };
    if f.chroma_scale == (2, 1) {
        // The samples each chroma row holds: jdmaster.c's
        // downsampled_width, its width over the luminance's sampling.
        let width = (f.width * f.comps[1].0 * out).div_ceil(f.hmax * 8);
        r.widen_chroma(width, out > 1);
    }
    Ok(Some(r))
}

#[cfg(test)]
pub(super) mod tests;
