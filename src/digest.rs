//! One read pass feeding every digest: MD5 and SHA-1 always, SHA-256 when asked.
//!
//! SHA-1 and SHA-256 come from RustCrypto crates that pick the SHA-NI instructions
//! at run time where the CPU has them.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The digests of one file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digests {
    /// MD5.
    pub md5: [u8; 16],
    /// SHA-1.
    pub sha1: [u8; 20],
    /// SHA-256, when computed.
    pub sha256: Option<[u8; 32]>,
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
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not a hex digit"),
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
    if text.len() % 2 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    text.chunks(2)
        .map(|p| Some((val(p[0])? << 4) | val(p[1])?))
        .collect()
}

/// Feeds the same bytes to every digest that is asked for.
#[derive(Clone)]
pub struct MultiHasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Option<Sha256>,
}

impl MultiHasher {
    /// A hasher for MD5 and SHA-1, and SHA-256 when `sha256` is true.
    pub fn new(sha256: bool) -> Self {
        MultiHasher {
            md5: Md5::new(),
            sha1: Sha1::new(),
            sha256: sha256.then(Sha256::new),
        }
    }

    /// Adds bytes to every digest.
    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.sha1.update(data);
        if let Some(s) = &mut self.sha256 {
            s.update(data);
        }
    }

    /// The final digests.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.finalize().into(),
            sha1: self.sha1.finalize().into(),
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

/// Reads `reader` to its end through `buf`, feeding `hasher`. Returns the number of
/// bytes read, or where and why reading failed. Interrupted reads are retried.
pub fn hash_reader(
    reader: &mut impl Read,
    buf: &mut [u8],
    hasher: &mut MultiHasher,
) -> Result<u64, ReadFailure> {
    let mut total = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(ReadFailure {
                    offset: total,
                    error,
                })
            }
        }
    }
}

/// Reads until `buf` is full or the reader ends, so a short read (FUSE, network
/// filesystems) does not end a chunk early. Returns the bytes read and the error
/// that stopped the reading, if any.
pub fn fill(reader: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
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
            let n = hash_reader(&mut &data[..], &mut buf, &mut h).unwrap();
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
        let err =
            hash_reader(&mut Failing(250), &mut buf, &mut MultiHasher::new(false)).unwrap_err();
        assert_eq!(err.offset, 250);
        assert_eq!(err.error.raw_os_error(), Some(libc::EIO));
    }
}
