//! One read pass feeding every digest: MD5 and SHA-1 always, SHA-256 when asked.
//!
//! SHA-1 and SHA-256 come from RustCrypto crates that pick the SHA-NI instructions
//! at run time where the CPU has them. MD5 and SHA-1 are computed block by block
//! in turn: MD5 is one long chain of dependent integer operations that leaves
//! most of the core idle, and SHA-1's SHA-NI instructions run on other units
//! meanwhile, so the pair costs little more than MD5 alone (measured by
//! `cargo bench --bench digest`: see docs/performance.md).

pub mod content;
pub mod exif;
mod jpeg;
pub mod pdq;
pub mod pdq_index;
pub mod picture;
pub mod rfc1321;

use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The digests of one file's content (lower-case hex when serialised).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Digests {
    /// MD5.
    #[serde(with = "hex_serde")]
    pub md5: [u8; 16],
    /// SHA-1.
    #[serde(with = "hex_serde")]
    pub sha1: [u8; 20],
    /// SHA-256, when computed.
    #[serde(with = "hex_serde_opt")]
    pub sha256: Option<[u8; 32]>,
}

/// Byte arrays as lower-case hex in serialised digests.
mod hex_serde {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(b))
    }

    /// Reads a digest from a borrowed or owned string, without allocating.
    pub struct Hex<const N: usize>;

    impl<const N: usize> serde::de::Visitor<'_> for Hex<N> {
        type Value = [u8; N];

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a hex digest of {N} bytes")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<[u8; N], E> {
            super::hex_array(v.as_bytes())
                .ok_or_else(|| E::custom("not a hex digest of the right length"))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        d.deserialize_str(Hex::<N>)
    }
}

/// [`hex_serde`] for an optional digest.
mod hex_serde_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        b: &Option<[u8; N]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&super::to_hex(b)),
            None => s.serialize_none(),
        }
    }

    struct Digest<const N: usize>([u8; N]);

    impl<'de, const N: usize> Deserialize<'de> for Digest<N> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_str(super::hex_serde::Hex::<N>).map(Digest)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[u8; N]>, D::Error> {
        Ok(<Option<Digest<N>>>::deserialize(d)?.map(|x| x.0))
    }
}

/// Hex text of exactly `N` bytes (either case).
pub fn hex_array<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, p) in out.iter_mut().zip(text.chunks_exact(2)) {
        *o = (hex_digit(p[0])? << 4) | hex_digit(p[1])?;
    }
    Some(out)
}

/// The value of one hex digit (either case).
const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// MD5 of zero bytes.
pub const EMPTY_MD5: [u8; 16] = hex_const("d41d8cd98f00b204e9800998ecf8427e");
/// SHA-1 of zero bytes.
pub const EMPTY_SHA1: [u8; 20] = hex_const("da39a3ee5e6b4b0d3255bfef95601890afd80709");
/// SHA-256 of zero bytes.
pub const EMPTY_SHA256: [u8; 32] =
    hex_const("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

const fn hex_const<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() == 2 * N);
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match hex_digit(c) {
        Some(v) => v,
        None => panic!("not a hex digit"),
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Parses hex of either case into bytes; `None` if any character is not hex.
pub fn from_hex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|p| Some((hex_digit(p[0])? << 4) | hex_digit(p[1])?))
        .collect()
}

/// Feeds the same bytes to every digest that is asked for.
#[derive(Clone)]
pub struct MultiHasher {
    md5: [u32; 4],
    sha1: [u32; 5],
    /// Bytes of an incomplete block, shared by MD5 and SHA-1.
    pending: [u8; 64],
    pending_len: usize,
    /// Bytes hashed.
    length: u64,
    sha256: Option<Sha256>,
}

const SHA1_INIT: [u32; 5] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

impl MultiHasher {
    /// A hasher computing MD5 and SHA-1, and SHA-256 when `sha256` is set.
    pub fn new(sha256: bool) -> Self {
        MultiHasher {
            md5: rfc1321::INIT,
            sha1: SHA1_INIT,
            pending: [0; 64],
            pending_len: 0,
            length: 0,
            sha256: sha256.then(Sha256::new),
        }
    }

    /// Whole blocks into MD5 and SHA-1, one block to each in turn, so the two
    /// overlap in the core. Kept out of line: inlined into `update`, the loop
    /// measured 484 MB/s against 556 here.
    #[inline(never)]
    fn blocks(md5: &mut [u32; 4], sha1: &mut [u32; 5], data: &[u8]) {
        for block in data.chunks_exact(64) {
            let block: &[u8; 64] = block.try_into().expect("64 bytes");
            rfc1321::compress(md5, block);
            sha1::block_api::compress(sha1, std::slice::from_ref(block));
        }
    }

    /// Adds bytes to every digest.
    pub fn update(&mut self, mut data: &[u8]) {
        if let Some(s) = &mut self.sha256 {
            s.update(data);
        }
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.pending_len > 0 {
            let take = (64 - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&data[..take]);
            self.pending_len += take;
            data = &data[take..];
            if self.pending_len < 64 {
                return;
            }
            let block = self.pending;
            Self::blocks(&mut self.md5, &mut self.sha1, &block);
            self.pending_len = 0;
        }
        let whole = data.len() / 64 * 64;
        Self::blocks(&mut self.md5, &mut self.sha1, &data[..whole]);
        let rest = &data[whole..];
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    /// The final digests.
    pub fn finish(mut self) -> Digests {
        // Both pad with 0x80, zeros and the bit length in the last 8 bytes:
        // little-endian for MD5, big-endian for SHA-1.
        let bits = self.length.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        tail[self.pending_len] = 0x80;
        let end = if self.pending_len < 56 { 64 } else { 128 };
        let (md5_tail, sha1_tail) = {
            let mut m = tail;
            m[end - 8..end].copy_from_slice(&bits.to_le_bytes());
            let mut s = tail;
            s[end - 8..end].copy_from_slice(&bits.to_be_bytes());
            (m, s)
        };
        for (m, s) in md5_tail[..end]
            .chunks_exact(64)
            .zip(sha1_tail[..end].chunks_exact(64))
        {
            rfc1321::compress(&mut self.md5, m.try_into().expect("64 bytes"));
            let s: &[u8; 64] = s.try_into().expect("64 bytes");
            sha1::block_api::compress(&mut self.sha1, std::slice::from_ref(s));
        }
        let mut md5 = [0u8; 16];
        for (o, w) in md5.chunks_exact_mut(4).zip(self.md5) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        let mut sha1 = [0u8; 20];
        for (o, w) in sha1.chunks_exact_mut(4).zip(self.sha1) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        Digests {
            md5,
            sha1,
            sha256: self.sha256.map(|s| s.finalize().into()),
        }
    }
}

/// A read that failed part-way: how many bytes had been read, and the OS error.
#[derive(Debug)]
pub struct ReadFailure {
    /// The byte offset at which the read failed.
    pub offset: u64,
    /// The error.
    pub error: io::Error,
}

/// Something that takes the bytes of a file in order.
pub trait Update {
    /// The next bytes.
    fn update(&mut self, data: &[u8]);
}

impl Update for MultiHasher {
    fn update(&mut self, data: &[u8]) {
        MultiHasher::update(self, data);
    }
}

/// How far past its size at open a file is read before it is taken to be one
/// that never ends (a `/proc`-like or FUSE file): 64 MiB.
pub const OVERRUN: u64 = 64 << 20;

/// The digests of one file as it is read: every byte read, and also the state
/// after exactly its size at open, so that a file that returns far more than
/// that size (see [`OVERRUN`]) can be reported by what its size said.
pub struct FileHasher {
    hasher: MultiHasher,
    size: u64,
    fed: u64,
    at_size: Option<MultiHasher>,
    pictures: Option<std::sync::Arc<picture::DecodeBudget>>,
    picture: Option<Picture>,
    archives: Option<std::sync::Arc<picture::DecodeBudget>>,
    archive: Option<KeptArchive>,
}

/// An archive's bytes kept from the read, to read its members from.
#[derive(Debug)]
pub enum KeptArchive {
    /// Every byte read (up to [`ARCHIVE_KEEP`]) and the memory taken for them.
    Bytes(crate::archive::Format, Vec<u8>, picture::Held),
    /// An archive of more than [`ARCHIVE_KEEP`] bytes, or of a format whose
    /// members are not read (RAR): not kept.
    NotKept(crate::archive::Format),
}

/// Archives up to this size are kept in memory from their one read; larger
/// ones are read again from the evidence for their members.
pub const ARCHIVE_KEEP: u64 = picture::MAX_BYTES;

/// Memory for archives' bytes kept from their reads, shared by every reader.
pub const ARCHIVE_MEMORY: u64 = 1 << 30;

/// A picture's bytes kept from the read, for its PDQ hash.
#[derive(Debug)]
pub enum Picture {
    /// Every byte read, up to [`picture::MAX_BYTES`], and the memory taken
    /// for them (given back when they are dropped).
    Bytes(picture::Format, Vec<u8>, picture::Held),
    /// A picture of more than [`picture::MAX_BYTES`] bytes, not kept.
    TooLarge(picture::Format),
    /// A picture of a format no decoder is built in for (HEIC, AVIF): its
    /// bytes are not kept.
    NotDecoded(picture::Format),
}

impl FileHasher {
    /// A hasher for a file of `size` bytes at open.
    pub fn new(sha256: bool, size: u64) -> FileHasher {
        let hasher = MultiHasher::new(sha256);
        FileHasher {
            at_size: (size == 0).then(|| hasher.clone()),
            hasher,
            size,
            fed: 0,
            pictures: None,
            picture: None,
            archives: None,
            archive: None,
        }
    }

    /// Also keeps the bytes of an archive (told from its first bytes) for
    /// [`FileHasher::take_archive`], taking the memory for them from
    /// `buffers` (`None`: archives are not read).
    pub fn with_archives(
        mut self,
        buffers: Option<std::sync::Arc<picture::DecodeBudget>>,
    ) -> FileHasher {
        self.archives = buffers;
        self
    }

    /// The archive's bytes, when the file starts like an archive.
    pub fn take_archive(&mut self) -> Option<KeptArchive> {
        self.archive.take()
    }

    fn keep_archive(&mut self, data: &[u8]) {
        if self.fed == 0 && !data.is_empty() && self.picture.is_none() {
            let buffers = self.archives.as_ref().expect("keeping archives");
            self.archive = crate::archive::Format::detect(data).map(|f| {
                if f == crate::archive::Format::Rar || self.size > ARCHIVE_KEEP {
                    KeptArchive::NotKept(f)
                } else {
                    let held = buffers.hold(self.size);
                    KeptArchive::Bytes(f, Vec::with_capacity(self.size as usize), held)
                }
            });
        }
        if let Some(KeptArchive::Bytes(f, bytes, _)) = &mut self.archive {
            if !append_within(bytes, data, ARCHIVE_KEEP) {
                self.archive = Some(KeptArchive::NotKept(*f));
            }
        }
    }

    /// Also keeps the bytes of a picture (told from its first bytes) for
    /// [`FileHasher::take_picture`], taking the memory for them from
    /// `buffers` (waiting while other pictures hold too much).
    pub fn with_pictures(
        mut self,
        buffers: Option<std::sync::Arc<picture::DecodeBudget>>,
    ) -> FileHasher {
        self.pictures = buffers;
        self
    }

    /// Starts again from the first byte, as new.
    pub fn restart(&mut self) {
        let sha256 = self.hasher.sha256.is_some();
        let buffers = self.pictures.take();
        let archives = self.archives.take();
        self.picture = None;
        self.archive = None;
        *self = FileHasher::new(sha256, self.size)
            .with_pictures(buffers)
            .with_archives(archives);
    }

    /// Whether the file is a picture whose bytes are being kept.
    pub fn keeps_picture(&self) -> bool {
        matches!(self.picture, Some(Picture::Bytes(..)))
    }

    /// The picture's bytes, when the file starts like a picture.
    pub fn take_picture(&mut self) -> Option<Picture> {
        self.picture.take()
    }

    fn keep(&mut self, data: &[u8]) {
        if self.fed == 0 && !data.is_empty() {
            let buffers = self.pictures.as_ref().expect("keeping pictures");
            self.picture = picture::Format::detect(data).map(|f| {
                if matches!(f, picture::Format::Undecodable(_)) {
                    Picture::NotDecoded(f)
                } else if self.size > picture::MAX_BYTES {
                    Picture::TooLarge(f)
                } else {
                    // Taken for the size at open: a file that grows past it
                    // is kept up to MAX_BYTES all the same (it is rare, and
                    // bounded).
                    let held = buffers.hold(self.size);
                    Picture::Bytes(f, Vec::with_capacity(self.size as usize), held)
                }
            });
        }
        if let Some(Picture::Bytes(f, bytes, _)) = &mut self.picture {
            if !append_within(bytes, data, picture::MAX_BYTES) {
                self.picture = Some(Picture::TooLarge(*f));
            }
        }
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// The digests of every byte fed, or with `at_size`, of the first `size`
    /// bytes (when that many were fed).
    pub fn finish(self, at_size: bool) -> Digests {
        match (at_size, self.at_size) {
            (true, Some(h)) => h.finish(),
            _ => self.hasher.finish(),
        }
    }
}

impl Update for FileHasher {
    fn update(&mut self, data: &[u8]) {
        if self.pictures.is_some() {
            self.keep(data);
        }
        if self.archives.is_some() {
            self.keep_archive(data);
        }
        let len = data.len() as u64;
        if self.at_size.is_none() && self.fed + len >= self.size {
            let k = (self.size - self.fed) as usize;
            self.hasher.update(&data[..k]);
            self.at_size = Some(self.hasher.clone());
            self.hasher.update(&data[k..]);
        } else {
            self.hasher.update(data);
        }
        self.fed += len;
    }
}

/// Appends `data` to bytes kept from a read unless that makes them more than
/// `max`; whether it did.
fn append_within(kept: &mut Vec<u8>, data: &[u8], max: u64) -> bool {
    let fits = (kept.len() + data.len()) as u64 <= max;
    if fits {
        kept.extend_from_slice(data);
    }
    fits
}

/// Why the reading of a file stopped before its end, with no error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// The scan is stopping (Ctrl-C, SIGTERM, `--stop-after`): the file gets
    /// no row, and a resume reads it again.
    Stopped,
    /// The file returned more than [`OVERRUN`] bytes beyond its size at open.
    Overran,
}

/// How reading a file ended, when not at its end.
#[derive(Debug)]
pub enum ReadEnd {
    /// A read error.
    Failed(ReadFailure),
    /// Stopped on purpose.
    Halted(Halt),
}

/// Reads `reader` to its end through `buf`, feeding `hasher`, counting from
/// `start` bytes already hashed. `after_read` gets the reader and the running
/// total after each read, and may halt the reading. Returns the total, or where and why reading
/// failed or halted. Interrupted reads are retried.
pub fn hash_reader<R: Read + ?Sized>(
    reader: &mut R,
    buf: &mut [u8],
    hasher: &mut (impl Update + ?Sized),
    start: u64,
    mut after_read: impl FnMut(&mut R, u64) -> Option<Halt>,
) -> Result<u64, ReadEnd> {
    let mut total = start;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
                if let Some(halt) = after_read(reader, total) {
                    return Err(ReadEnd::Halted(halt));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ReadEnd::Failed(ReadFailure {
                    offset: total,
                    error,
                }))
            }
        }
    }
}

/// Reads until `buf` is full or the reader ends, so a short read (FUSE, network
/// filesystems) does not end a chunk early. Returns the bytes read and the error
/// that stopped the reading, if any.
pub fn fill(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests_of(data: &[u8]) -> Digests {
        let mut h = MultiHasher::new(true);
        h.update(data);
        h.finish()
    }

    #[test]
    fn file_hasher_keeps_the_state_at_the_size_at_open() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for size in [0usize, 1, 63, 64, 100_000, 300_000] {
            let feed = || {
                let mut h = FileHasher::new(true, size as u64);
                for piece in data.chunks(7_777) {
                    h.update(piece);
                }
                assert_eq!(h.fed(), data.len() as u64);
                h
            };
            assert_eq!(feed().finish(true), digests_of(&data[..size]), "{size}");
            assert_eq!(feed().finish(false), digests_of(&data), "{size}");
        }
    }

    #[test]
    fn hash_reader_halts_when_told() {
        let mut h = MultiHasher::new(false);
        let mut buf = [0u8; 4096];
        let mut reads = 0;
        let r = hash_reader(&mut io::repeat(1), &mut buf, &mut h, 0, |_, total| {
            reads += 1;
            (total >= 40_960).then_some(Halt::Stopped)
        });
        assert!(matches!(r, Err(ReadEnd::Halted(Halt::Stopped))));
        assert_eq!(reads, 10);
    }

    /// Random inputs of many lengths (0 to 3 MiB, around every block and buffer
    /// boundary), fed whole and in uneven pieces, against the `md-5`, `sha1`
    /// and `sha2` crates.
    #[test]
    fn agrees_with_the_reference_crates() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let data: Vec<u8> = (0..(3 << 20) + 129).map(|_| next() as u8).collect();
        let mut lengths: Vec<usize> = (0..=300).collect();
        for b in [512usize, 4096, 65536, 262144, 1 << 20, 3 << 20] {
            lengths.extend([
                b - 65,
                b - 64,
                b - 57,
                b - 56,
                b - 55,
                b - 1,
                b,
                b + 1,
                b + 63,
            ]);
        }
        lengths.extend((0..40).map(|_| (next() % (3 << 20)) as usize));
        for &len in &lengths {
            let input = &data[..len];
            let md5: [u8; 16] = md5::Md5::digest(input).into();
            let sha1: [u8; 20] = sha1::Sha1::digest(input).into();
            let sha256: [u8; 32] = Sha256::digest(input).into();
            let want = Digests {
                md5,
                sha1,
                sha256: Some(sha256),
            };
            assert_eq!(digests_of(input), want, "length {len}");
            let mut h = MultiHasher::new(len % 2 == 0);
            let mut rest = input;
            while !rest.is_empty() {
                let n = ((next() % 200) as usize).min(rest.len());
                h.update(&rest[..n]);
                rest = &rest[n..];
            }
            let got = h.finish();
            assert_eq!((got.md5, got.sha1), (md5, sha1), "length {len} in pieces");
        }
    }

    #[test]
    fn rfc1321_suite() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "d41d8cd98f00b204e9800998ecf8427e"),
            (b"a", "0cc175b9c0f1b6a831c399e269772661"),
            (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
            (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                b"abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(to_hex(&digests_of(input).md5), want);
        }
    }

    #[test]
    fn rfc1321_and_fips180_vectors() {
        let d = digests_of(b"abc");
        assert_eq!(to_hex(&d.md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(to_hex(&d.sha1), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            to_hex(&d.sha256.unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let d = digests_of(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
        assert_eq!(to_hex(&d.sha1), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        let d = digests_of(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        );
        assert_eq!(to_hex(&d.md5), "57edf4a22be3c955ac49da2e2107b67a");
    }

    #[test]
    fn empty_input_gives_the_empty_constants() {
        let d = digests_of(b"");
        assert_eq!(d.md5, EMPTY_MD5);
        assert_eq!(d.sha1, EMPTY_SHA1);
        assert_eq!(d.sha256, Some(EMPTY_SHA256));
    }

    /// One million 'a', fed through odd buffer sizes, catches boundary bugs.
    #[test]
    fn million_a_in_odd_chunks() {
        let data = vec![b'a'; 1_000_000];
        for bufsize in [1usize, 63, 64, 65, 4097, 1 << 20] {
            let mut buf = vec![0u8; bufsize];
            let mut h = MultiHasher::new(true);
            let n = hash_reader(&mut &data[..], &mut buf, &mut h, 0, |_, _| None).unwrap();
            assert_eq!(n, 1_000_000);
            let d = h.finish();
            assert_eq!(to_hex(&d.md5), "7707d6ae4e027c70eea2a935c2296f21");
            assert_eq!(to_hex(&d.sha1), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
            assert_eq!(
                to_hex(&d.sha256.unwrap()),
                "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
            );
        }
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(from_hex(b"00fFaB").unwrap(), vec![0, 255, 171]);
        assert_eq!(from_hex(b"0g"), None);
        assert_eq!(from_hex(b"abc"), None);
        assert_eq!(to_hex(&[0, 255, 171]), "00ffab");
    }

    #[test]
    fn read_error_reports_offset() {
        struct Failing(u64);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                let n = buf.len().min(self.0 as usize);
                self.0 -= n as u64;
                Ok(n)
            }
        }
        let mut buf = [0u8; 100];
        let err = hash_reader(
            &mut Failing(250),
            &mut buf,
            &mut MultiHasher::new(false),
            0,
            |_, _| None,
        )
        .unwrap_err();
        let ReadEnd::Failed(err) = err else {
            panic!("expected a read failure, got {err:?}")
        };
        assert_eq!(err.offset, 250);
        assert_eq!(err.error.raw_os_error(), Some(libc::EIO));
    }
}
