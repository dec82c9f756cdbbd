//! The luminance of a baseline JPEG at 1/4 or 1/8 of its size, for PDQ:
//! the fast path for photos.
//!
//! PDQ needs luminance only, and JPEG's Y component is the luminance PDQ
//! computes from RGB (0.299 R + 0.587 G + 0.114 B, undone exactly by the
//! YCbCr conversion but for rounding and clamping). So the Y blocks are
//! decoded and reduced with libjpeg's scaled inverse DCTs (2 x 2 or 1 x 1
//! from each 8 x 8 block, as libjpeg-turbo gives Pillow's `draft`, to the
//! byte but for hostile coefficients past 16 bits, where its SIMD code
//! saturates), and of the chroma blocks only the DC coefficients are kept,
//! for the colour check ([`GAMUT_SLACK`]): no colour conversion, no
//! upsampling, no full-size pixels. The time is in the Huffman decoding,
//! which every block still needs.
//!
//! Baseline and extended sequential Huffman JPEGs of 8-bit samples with one
//! component or three that are YCbCr (by the general decoder's rules and
//! libjpeg's) are read here; anything else (progressive, arithmetic, 12-bit,
//! RGB, CMYK, big-gamut colour, luminance sampled below chroma, a colour
//! picture whose luminance is in a scan of its own, a height given by DNL)
//! gets `Ok(None)`, and so does a colour picture whose blocks' colours lie
//! outside the RGB cube. Damage gets `Err`: a scan cut short, restart
//! markers out of order, codes that are not in their table, a missing
//! quantisation table, more than 10 blocks in an MCU. Either way the caller
//! uses the general decoder, whose result or note stands as before.

mod idct;

use idct::{idct_1x1, idct_2x2, Sums, Weights};

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

/// Luminance samples, row-major, and the width and height.
pub type Luma = (Vec<u8>, usize, usize);

/// The luminance of the JPEG in `bytes` reduced by `den` (4 or 8): its
/// values, width and height (`ceil(w / den)` x `ceil(h / den)`).
pub fn luma_reduced(bytes: &[u8], den: u32) -> Result<Option<Luma>, &'static str> {
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
            0xE0 if body.starts_with(b"JFIF\0") => j.jfif = true,
            0xEE if body.starts_with(b"Adobe") => j.adobe = body.get(11).copied(),
            0xDA => {
                let Some(f) = j.frame.take() else {
                    return Err("scan before frame");
                };
                if f.ncomp == 3 && !j.ycbcr(f.ids) {
                    return Ok(None);
                }
                let scan = scan_header(body, &f)?;
                if scan.iter().any(|s| s.comp == 0) {
                    // The colour is needed with the luminance (see
                    // GAMUT_SLACK): a colour picture whose luminance comes
                    // in a scan of its own is left to the general decoder.
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

/// How far (in levels) an area's mean colour, from its blocks' DC
/// coefficients (a chroma block and the Y blocks under it), may lie outside
/// the RGB cube before it counts as outside: the means of pixels in the
/// cube are in it, but for the DC's quantisation.
///
/// Where a colour lies outside the cube, what a viewer sees is its clamped
/// RGB, whose luminance is not Y: a picture can be encoded so that its Y is
/// another picture than the one shown. So a colour JPEG with more than 1 %
/// of its Y blocks in such areas is left to the general decoder, which
/// hashes the clamped RGB as the reference does. This check is of means
/// only: colours that swing outside the cube within a block, their mean
/// inside (chroma stripes, say), are not seen, and a picture so built still
/// hashes as its Y. Reading the chroma at the reference's scale and
/// converting would close that; it is not done yet.
const GAMUT_SLACK: f32 = 32.0;

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
            let Some(ff) = rest.iter().position(|&b| b == 0xFF) else {
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

    /// One block: its DC difference added to `pred`; when `STORE`, its
    /// coefficients summed into `sums` by `w`. None: bad data.
    #[inline(always)]
    fn block<const STORE: bool>(
        &mut self,
        dc: &Huffman,
        ac: &Huffman,
        pred: &mut i32,
        sums: &mut Sums,
        w: &Weights,
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
        if STORE {
            *sums = [0; 18];
            sums[0] = *pred as i64 * w.factor[0];
        }
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
                    if STORE {
                        sums[w.slot[k] as usize] += value as i64 * w.factor[k];
                    }
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
        if dc > 3 || ac > 3 || scan.iter().any(|c: &ScanComp| c.comp == comp) {
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

fn decode_scan(
    bytes: &[u8],
    data_at: usize,
    j: &Jpeg,
    f: &Frame,
    scan: &[ScanComp],
    den: u32,
) -> Result<Option<Luma>, &'static str> {
    let out = 8 / den as usize;
    let single = scan.len() == 1;
    let (mcux, mcuy) = if single {
        // One component alone: one block per MCU, over its own size.
        let (h, v, _) = f.comps[scan[0].comp];
        let w = (f.width * h).div_ceil(f.hmax);
        let hh = (f.height * v).div_ceil(f.vmax);
        (w.div_ceil(8), hh.div_ceil(8))
    } else {
        (f.width.div_ceil(8 * f.hmax), f.height.div_ceil(8 * f.vmax))
    };
    let (yh, yv) = if single { (1, 1) } else { (f.hmax, f.vmax) };
    let (pw, ph) = (mcux * yh * out, mcuy * yv * out);
    let mut plane = vec![0u8; pw * ph];
    let quant = j.quant[f.comps[0].2]
        .as_ref()
        .ok_or("no quantisation table")?;
    let blocks: usize = scan
        .iter()
        .map(|s| f.comps[s.comp].0 * f.comps[s.comp].1)
        .sum();
    if !single && blocks > 10 {
        return Err("more than 10 blocks in an MCU");
    }
    if scan.iter().any(|s| j.quant[f.comps[s.comp].2].is_none()) {
        return Err("no quantisation table");
    }
    let mut tables = Vec::new();
    for s in scan {
        let dc = j.huff[s.dc].as_deref().ok_or("no DC table")?;
        let ac = j.huff[4 + s.ac].as_deref().ok_or("no AC table")?;
        let (h, v) = if single {
            (1, 1)
        } else {
            (f.comps[s.comp].0, f.comps[s.comp].1)
        };
        tables.push((s.comp, dc, ac, h, v));
    }
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
    let mut sums: Sums = [0; 18];
    let weights = Weights::new(quant);
    let mut left = j.restart;
    // The DC steps of Y, Cb and Cr, for the colour check.
    let steps = match f.ncomp {
        3 => Some([0, 1, 2].map(|c| j.quant[f.comps[c].2].map_or(0, |q| q[0]) as f32)),
        // (Every component's table is there: checked above.)
        _ => None,
    };
    // For each Y block of an MCU, the Cb and Cr blocks over it.
    let (yh, yv) = (f.comps[0].0, f.comps[0].1);
    let mut over = [[0usize; 2]; 16];
    for (k, o) in over.iter_mut().enumerate().take(yh * yv) {
        let (bx, by) = (k % yh, k / yh);
        for c in [1, 2] {
            let (h, v, _) = f.comps[c];
            o[c - 1] = by * v / yv * h + bx * h / yh;
        }
    }
    let mut outside = 0;
    for my in 0..mcuy {
        for mx in 0..mcux {
            // Each block's DC, by component and place in the MCU.
            let mut dcs = [[0i32; 16]; 3];
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
            for &(comp, dc, ac, h, v) in &tables {
                for by in 0..v {
                    for bx in 0..h {
                        if comp != 0 {
                            bits.block::<false>(dc, ac, &mut pred[comp], &mut sums, &weights)
                                .ok_or_else(bad)?;
                            dcs[comp][by * h + bx] = pred[comp];
                            continue;
                        }
                        if den == 8 {
                            bits.block::<false>(dc, ac, &mut pred[0], &mut sums, &weights)
                                .ok_or_else(bad)?;
                        } else {
                            bits.block::<true>(dc, ac, &mut pred[0], &mut sums, &weights)
                                .ok_or_else(bad)?;
                        }
                        dcs[0][by * h + bx] = pred[0];
                        let x = (mx * h + bx) * out;
                        let y = (my * v + by) * out;
                        let at = y * pw + x;
                        if den == 4 {
                            idct_2x2(&sums, &mut plane[at..], pw);
                        } else {
                            plane[at] = idct_1x1(pred[0], quant);
                        }
                    }
                }
            }
            if let Some(steps) = steps {
                outside += outside_the_cube(&dcs, &over[..yh * yv], steps);
            }
        }
    }
    // More than 1 % of the Y blocks.
    if outside * 100 > mcus * f.comps[0].0 * f.comps[0].1 {
        return Ok(None);
    }
    let (w, h) = (
        f.width.div_ceil(den as usize),
        f.height.div_ceil(den as usize),
    );
    let mut luma = Vec::with_capacity(w * h);
    for row in plane.chunks_exact(pw).take(h) {
        luma.extend_from_slice(&row[..w]);
    }
    Ok(Some((luma, w, h)))
}

/// How many of an MCU's Y blocks, each with the chroma blocks `over` it,
/// have a mean colour outside the RGB cube (by more than [`GAMUT_SLACK`]);
/// `dcs` are the blocks' DC coefficients and `steps` their quantisation.
#[inline(never)]
fn outside_the_cube(dcs: &[[i32; 16]; 3], over: &[[usize; 2]], steps: [f32; 3]) -> usize {
    let [qy, qb, qr] = steps;
    let cube = -GAMUT_SLACK..=255.0 + GAMUT_SLACK;
    // Y as the mean of the Y blocks under the same Cb block, so that the
    // colour is of one area.
    let (mut sum, mut count) = ([0i32; 16], [0i32; 16]);
    for (k, &[b, _]) in over.iter().enumerate() {
        sum[b] += dcs[0][k];
        count[b] += 1;
    }
    let mut outside = 0;
    for &[b, r] in over {
        let y = sum[b] as f32 / count[b] as f32 * qy / 8.0 + 128.0;
        let (cb, cr) = (dcs[1][b] as f32 * qb / 8.0, dcs[2][r] as f32 * qr / 8.0);
        let rgb = [
            y + 1.402 * cr,
            y - 0.344_136 * cb - 0.714_136 * cr,
            y + 1.772 * cb,
        ];
        outside += rgb.iter().any(|c| !cube.contains(c)) as usize;
    }
    outside
}

#[cfg(test)]
pub(super) mod tests;
