//! Reading the members of archives, without ever writing one to disk: each
//! member is handed to the caller as a stream of its bytes, to hash.
//!
//! - [`Format::detect`] tells an archive by its first bytes (never by its
//!   name): zip, 7z, tar (ustar, pax, GNU and old v7 headers), the single
//!   streams of gzip, bzip2, xz and zstd, and RAR (recognised, not read).
//! - [`walk`] lists an archive's members in the order they are stored and
//!   hands each to a visitor with a reader of its bytes (none for a member
//!   that is encrypted, or not a regular file).
//!
//! What is done with members (limits, nesting, digests, rows) is the scan's
//! business (`crate::scan::members`); a visitor stops a walk by returning
//! [`Flow::Stop`]. Member names are data: they are handed on as the archive
//! stores them, never resolved or used as paths on this machine.

mod formats;

pub use formats::ZipPlan;

use crate::time::FileTime;
use std::io::{Read, Seek};

/// The limits on reading archives' members, each with a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Archives inside archives read down to this depth (1: only the
    /// archives on the evidence). `--archive-depth`.
    pub depth: u32,
    /// Members of one archive on the evidence, counting those nested.
    /// `--archive-members`.
    pub members: u64,
    /// Bytes expanded from one archive on the evidence, counting those
    /// nested. `--archive-bytes`.
    pub bytes: u64,
    /// Bytes expanded per compressed byte, beyond the first [`FREE_BYTES`],
    /// for each member and for the archive on the evidence as a whole.
    /// `--archive-ratio`.
    pub ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 8,
            members: 100_000,
            bytes: 16 << 30,
            ratio: 100,
        }
    }
}

/// Memory the xz, zstd and 7z decoders of one archive on the evidence and
/// those nested in it may take together for their dictionaries and windows;
/// one decoder takes at most [`DECODER_MEMORY`], and at least
/// [`DECODER_MEMORY_FLOOR`] however deep.
pub const DECODERS_MEMORY: u64 = 1 << 30;
/// The most one decoder takes.
pub const DECODER_MEMORY: u64 = 512 << 20;
/// What a decoder is given when the others have taken the rest.
pub const DECODER_MEMORY_FLOOR: u64 = 16 << 20;

/// What a decoder takes besides the dictionary or window its stream declares.
pub const DECODER_OVERHEAD: u64 = 8 << 20;

impl Format {
    /// Whether its decoder takes memory by what the stream asks for (a
    /// dictionary or window): xz, zstd, 7z.
    pub fn decoder_memory(self) -> bool {
        matches!(self, Format::Xz | Format::Zstd | Format::SevenZ)
    }

    /// The memory the decoder of a stream starting with `head` needs, as its
    /// first header declares it: an xz stream's LZMA2 dictionary, a zstd
    /// frame's window (rounded up to a power of two, as decoders limit it),
    /// plus [`DECODER_OVERHEAD`]. `None` where it is not known from there (a
    /// 7z's coders are in its header at the end).
    pub fn decoder_need(self, head: &[u8]) -> Option<u64> {
        let declared = match self {
            Format::Xz => xz_dictionary(head),
            Format::Zstd => zstd_window(head).map(u64::next_power_of_two),
            _ => None,
        }?;
        Some(declared.saturating_add(DECODER_OVERHEAD))
    }
}

/// The LZMA2 dictionary size declared by the first block of an xz stream.
fn xz_dictionary(head: &[u8]) -> Option<u64> {
    // Stream header (12 bytes), then the block header: its size, its flags,
    // sizes where flagged, then each filter's id, properties size and
    // properties (all multibyte integers).
    let mut at = 12;
    let size = *head.get(at)?;
    if size == 0 {
        return None;
    }
    let flags = *head.get(at + 1)?;
    at += 2;
    let varint = |at: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        for i in 0..9 {
            let b = *head.get(*at)?;
            *at += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    if flags & 0x40 != 0 {
        varint(&mut at)?;
    }
    if flags & 0x80 != 0 {
        varint(&mut at)?;
    }
    let mut dictionary = None;
    for _ in 0..(flags & 3) + 1 {
        let id = varint(&mut at)?;
        let len = usize::try_from(varint(&mut at)?).ok()?;
        let props = head.get(at..at.checked_add(len)?)?;
        at += len;
        if id == 0x21 && len == 1 && props[0] <= 40 {
            let d = u32::from(props[0]);
            dictionary = Some(if d == 40 {
                u64::from(u32::MAX)
            } else {
                u64::from(2 | (d & 1)) << (d / 2 + 11)
            });
        }
    }
    dictionary
}

/// The window a zstd frame (the first of the stream) declares.
fn zstd_window(head: &[u8]) -> Option<u64> {
    let fhd = *head.get(4)?;
    if fhd & 0x20 == 0 {
        // A window descriptor: exponent and mantissa.
        let wd = *head.get(5)?;
        let base = 1u64 << (10 + (wd >> 3));
        return Some(base + (base / 8) * u64::from(wd & 7));
    }
    // A single segment: the window is the frame's content size.
    let dict_id = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let at = 5 + dict_id;
    let size = [1usize, 2, 4, 8][usize::from(fhd >> 6)];
    let bytes = head.get(at..at + size)?;
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        v |= u64::from(*b) << (8 * i);
    }
    Some(if size == 2 { v + 256 } else { v })
}

/// Bytes expanded before the ratio limit applies.
pub const FREE_BYTES: u64 = 1 << 20;

/// A nested zip or 7z (which is read from memory) is held only while the
/// nested archives held for one archive on the evidence come to at most this.
pub const NESTED_MEMORY: u64 = 64 << 20;

/// A limit that was reached.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// Nesting depth.
    Depth,
    /// Members.
    Members,
    /// Bytes expanded.
    Bytes,
    /// Compression ratio.
    Ratio,
    /// Memory for nested zip and 7z archives.
    Memory,
}

impl Limit {
    /// Every limit, in summary order.
    pub const ALL: [Limit; 5] = [
        Limit::Depth,
        Limit::Members,
        Limit::Bytes,
        Limit::Ratio,
        Limit::Memory,
    ];

    /// Its name in the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Depth => "depth",
            Limit::Members => "members",
            Limit::Bytes => "bytes",
            Limit::Ratio => "ratio",
            Limit::Memory => "memory",
        }
    }

    /// What it is, with its value, as notes say it. Each text names its flag
    /// (or, for memory, says `held in memory`), which `verify` counts by.
    pub fn describe(self, value: u64) -> String {
        match self {
            Limit::Depth => format!("archives nested more than {value} deep (--archive-depth)"),
            Limit::Members => format!(
                "more than {value} members in one archive, counting nested ones (--archive-members)"
            ),
            Limit::Bytes => format!(
                "more than {value} bytes expanded from one archive, counting nested ones (--archive-bytes)"
            ),
            Limit::Ratio => format!(
                "expanded to more than {value} times its compressed size beyond the first MiB (--archive-ratio)"
            ),
            Limit::Memory => format!(
                "a nested zip or 7z is read from memory, and more than {} MiB of them would be held in memory",
                value >> 20
            ),
        }
    }

    /// The marker of [`Limit::describe`]'s text.
    pub fn marker(self) -> &'static str {
        match self {
            Limit::Depth => "(--archive-depth)",
            Limit::Members => "(--archive-members)",
            Limit::Bytes => "(--archive-bytes)",
            Limit::Ratio => "(--archive-ratio)",
            Limit::Memory => "held in memory",
        }
    }
}

/// An archive format, told from content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PKZIP, and what is built on it (docx, xlsx, odt, epub, jar, apk...).
    Zip,
    /// 7-Zip.
    SevenZ,
    /// POSIX or GNU tar.
    Tar,
    /// A gzip stream (one member: what it compresses).
    Gzip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A zstd stream.
    Zstd,
    /// RAR: recognised, not read.
    Rar,
}

/// Bytes of a member's start needed to tell its format (a tar header).
pub const SIGNATURE_BYTES: usize = 512;

impl Format {
    /// The format of data starting with `head` (at least its first
    /// [`SIGNATURE_BYTES`] when it has that many), if it is an archive.
    pub fn detect(head: &[u8]) -> Option<Format> {
        let starts = |sig: &[u8]| head.starts_with(sig);
        if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08PK\x03\x04") {
            Some(Format::Zip)
        } else if starts(b"7z\xbc\xaf\x27\x1c") {
            Some(Format::SevenZ)
        } else if starts(b"\x1f\x8b\x08") {
            Some(Format::Gzip)
        } else if head.len() >= 10
            && starts(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && (head[4..10] == *b"\x31\x41\x59\x26\x53\x59"
                || head[4..10] == *b"\x17\x72\x45\x38\x50\x90")
        {
            Some(Format::Bzip2)
        } else if starts(b"\xfd7zXZ\x00") {
            Some(Format::Xz)
        } else if starts(b"\x28\xb5\x2f\xfd") {
            Some(Format::Zstd)
        } else if starts(b"Rar!\x1a\x07") {
            Some(Format::Rar)
        } else if is_tar_header(head) {
            Some(Format::Tar)
        } else {
            None
        }
    }

    /// Its name in notes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::SevenZ => "7z",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Rar => "rar",
        }
    }

    /// Whether its members can be read front to back from a stream, as it is
    /// decompressed (otherwise the whole archive must be at hand: zip and 7z
    /// keep their directory at the end).
    pub fn streams(self) -> bool {
        matches!(
            self,
            Format::Tar | Format::Gzip | Format::Bzip2 | Format::Xz | Format::Zstd
        )
    }

    /// Whether it is a compressed stream holding one member.
    pub fn is_single_stream(self) -> bool {
        matches!(
            self,
            Format::Gzip | Format::Bzip2 | Format::Xz | Format::Zstd
        )
    }
}

/// Whether `head` starts with a tar header: the `ustar` magic, or (old v7
/// archives) a header whose checksum is right.
fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    if &head[257..262] == b"ustar" {
        return true;
    }
    // An all-zero block is no header; a v7 header has a name and a checksum.
    if head[0] == 0 {
        return false;
    }
    let field = &head[148..156];
    let digits: Vec<u8> = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|b| (b'0'..=b'7').contains(b))
        .collect();
    if digits.is_empty() {
        return false;
    }
    let Ok(stored) = u32::from_str_radix(std::str::from_utf8(&digits).unwrap_or("x"), 8) else {
        return false;
    };
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == stored
}

/// One member as its archive lists it.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Its name, as stored (not necessarily UTF-8, nor a safe path).
    pub name: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// Modification time from the archive's header, where it gives one.
    pub modified: Option<FileTime>,
    /// Its size (uncompressed), where the archive says it.
    pub size: Option<u64>,
    /// Its compressed size, where the archive says it.
    pub packed: Option<u64>,
    /// Its CRC-32, where the archive gives one.
    pub crc: Option<u32>,
    /// Encrypted: its bytes are not read.
    pub encrypted: bool,
    /// Why its bytes cannot be read (an unsupported compression method).
    pub unreadable: Option<String>,
}

/// What a member is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    #[default]
    File,
    /// A directory (it gets no row).
    Directory,
    /// A symbolic link to this target.
    Symlink(Vec<u8>),
    /// A hard link to this other member (tar).
    HardLink(Vec<u8>),
    /// Something else (a device, a FIFO), never read.
    Other(Special),
}

/// A member that is not a file, a directory or a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// A named pipe.
    Fifo,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Another type.
    Other,
}

/// What a visitor wants after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The next member.
    Go,
    /// No more of this archive.
    Stop,
}

/// Where and why reading an archive stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Where: `the directory`, `member 3`, `the stream at byte N`...
    pub at: String,
    /// Why, as the library said it.
    pub error: String,
    /// It is not damaged: its member list is encrypted (no password is tried).
    pub encrypted: bool,
}

/// The bytes of an archive.
pub enum Input<'a> {
    /// All of them, in memory.
    Bytes(&'a [u8]),
    /// An archive that can be read anywhere (a file), of this many bytes.
    Seekable(&'a mut dyn ReadSeek, u64),
    /// A stream, read once front to back (a member of another archive), of
    /// this many bytes where known.
    Stream(&'a mut dyn Read, Option<u64>),
}

/// Why a RAR archive's members are not read.
pub const RAR_NOT_READ: &str =
    "RAR archives are recognised, not read (no maintained reader is built in)";

/// Read and seek.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// The visitor of [`walk`]: each member, with a reader of its bytes when
/// they are to be read (a regular file that is not encrypted).
pub type Visit<'v> = dyn FnMut(&Entry, Option<&mut dyn Read>) -> Flow + 'v;

/// Lists the members of archive `input` in `format`, handing each to `visit`
/// until it says stop; an xz, zstd or 7z decoder may take `decoder_memory`
/// bytes for its dictionary or window (a stream asking for more is refused). `name` is the archive's own name (a compressed stream's
/// member is named after it when the stream does not say). Returns where
/// reading stopped when the archive is damaged, truncated or not readable.
pub fn walk(
    format: Format,
    input: Input,
    name: &[u8],
    decoder_memory: u64,
    visit: &mut Visit,
) -> Result<(), Broken> {
    let kb = u32::try_from(decoder_memory >> 10).unwrap_or(u32::MAX);
    match format {
        Format::Zip => formats::zip(input, visit),
        Format::SevenZ => formats::seven_z(input, kb, visit),
        Format::Tar => formats::tar(stream(input).as_mut(), visit),
        Format::Gzip | Format::Bzip2 | Format::Xz | Format::Zstd => {
            formats::single(format, stream(input).as_mut(), name, kb, visit)
        }
        Format::Rar => Err(Broken {
            at: "the start".into(),
            error: RAR_NOT_READ.into(),
            encrypted: false,
        }),
    }
}

/// `input` as a reader front to back.
fn stream<'a>(input: Input<'a>) -> Box<dyn Read + 'a> {
    match input {
        Input::Bytes(b) => Box::new(b),
        Input::Seekable(r, _) => {
            let _ = r.rewind();
            Box::new(std::io::BufReader::with_capacity(256 << 10, r))
        }
        Input::Stream(r, _) => Box::new(r),
    }
}

/// The name of the one member of a compressed stream named `name`, when the
/// stream does not name it: `x.tar.gz` holds `x.tar`, `x.tgz` holds `x.tar`,
/// `x.gz` holds `x`; a name without such an ending is kept.
pub fn stream_member_name(format: Format, name: &[u8]) -> Vec<u8> {
    let lower = name.to_ascii_lowercase();
    let (ends, tar_ends): (&[&[u8]], &[&[u8]]) = match format {
        Format::Gzip => (&[b".gz", b".gzip", b".z"], &[b".tgz", b".taz"]),
        Format::Bzip2 => (&[b".bz2", b".bzip2", b".bz"], &[b".tbz", b".tbz2", b".tb2"]),
        Format::Xz => (&[b".xz"], &[b".txz"]),
        Format::Zstd => (&[b".zst", b".zstd"], &[b".tzst", b".tzs"]),
        _ => (&[], &[]),
    };
    for e in ends {
        if lower.ends_with(e) && lower.len() > e.len() {
            return name[..name.len() - e.len()].to_vec();
        }
    }
    for e in tar_ends {
        if lower.ends_with(e) && lower.len() > e.len() {
            let mut n = name[..name.len() - e.len()].to_vec();
            n.extend_from_slice(b".tar");
            return n;
        }
    }
    name.to_vec()
}

#[cfg(test)]
mod tests;
