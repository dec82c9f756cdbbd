//! The per-file record: one row of the report, whether the file was hashed,
//! skipped or could not be read. It stays data (verdict, set numbers, category,
//! notes) until an output renders it; the journal keeps it as JSON.

use crate::digest::pdq::{PdqResult, Turn};
use crate::digest::Digests;
use crate::hashset::Category;
use crate::time::Times;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// What kind of directory entry a row describes (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
    /// A named pipe (never opened).
    Fifo,
    /// A Unix socket (never opened).
    Socket,
    /// A character device node (never opened).
    CharDevice,
    /// A block device node (never opened).
    BlockDevice,
    /// A directory: only reported when it could not be read or was not entered.
    Directory,
    /// Anything else.
    Other,
}

impl Kind {
    /// The value of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char-device",
            Kind::BlockDevice => "block-device",
            Kind::Directory => "directory",
            Kind::Other => "other",
        }
    }

    /// Classifies a file type as returned by `lstat`.
    pub fn from_file_type(ft: std::fs::FileType) -> Kind {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_file() {
            Kind::File
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Directory
        } else if ft.is_fifo() {
            Kind::Fifo
        } else if ft.is_socket() {
            Kind::Socket
        } else if ft.is_char_device() {
            Kind::CharDevice
        } else if ft.is_block_device() {
            Kind::BlockDevice
        } else {
            Kind::Other
        }
    }
}

/// The judgement on one row (the `verdict` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Matched a set of alert role.
    Alert,
    /// Matched only known-good sets.
    KnownGood,
    /// Hashed, matched nothing.
    Unmatched,
    /// A set entry matches one digest of the file but contradicts another.
    Conflict,
    /// A picture whose PDQ hash is near an alert set's entry, with no digest
    /// match: an altered copy, until a person confirms it.
    Similar,
    /// Could not be read; `note` says why.
    Unreadable,
    /// Not a regular file, or not entered; `note` says why.
    Skipped,
}

impl Verdict {
    /// Every verdict, in the order summaries list them.
    pub const ALL: [Verdict; 7] = [
        Verdict::Alert,
        Verdict::Conflict,
        Verdict::Similar,
        Verdict::KnownGood,
        Verdict::Unmatched,
        Verdict::Unreadable,
        Verdict::Skipped,
    ];

    /// The value of the `verdict` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alert => "alert",
            Verdict::KnownGood => "known-good",
            Verdict::Unmatched => "unmatched",
            Verdict::Conflict => "conflict",
            Verdict::Similar => "similar",
            Verdict::Unreadable => "unreadable",
            Verdict::Skipped => "skipped",
        }
    }

    /// Parses a `verdict` column value.
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether rows with this verdict belong in `hits.csv`.
    pub fn is_hit(self) -> bool {
        matches!(self, Verdict::Alert | Verdict::Conflict | Verdict::Similar)
    }
}

/// The category of a hit: the most severe of its matching alert entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HitCategory {
    /// As the entry gives it.
    Of(Category),
    /// The entry gives none (`uncategorised`).
    Uncategorised,
}

impl HitCategory {
    /// The `category` column value.
    pub fn notation(self) -> String {
        match self {
            HitCategory::Of(c) => c.notation(),
            HitCategory::Uncategorised => crate::hashset::category::UNCATEGORISED.to_string(),
        }
    }
}

/// Digests of a match, as a bit set: 1 MD5, 2 SHA-1, 4 SHA-256.
pub type MatchedOn = u8;

/// One remark of a row, in the order the notes column lists them. The text of
/// each is its `Display`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "kebab-case")]
pub enum Note {
    /// An alert, and the digests it matched on.
    Matched {
        /// The digests, as a bit set.
        on: MatchedOn,
    },
    /// A set entry matches one digest but contradicts another.
    Conflict {
        /// What each conflicting entry says.
        details: Vec<String>,
    },
    /// Matched entries marked malicious in known-good sets.
    MaliciousKnown {
        /// The sets.
        sets: Vec<String>,
    },
    /// A directory on another filesystem, not entered.
    MountPoint {
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
    /// A symbolic link whose target was not read (it would change the evidence).
    LinkTargetNotRead,
    /// A symbolic link and its target (escaped as report paths).
    Symlink {
        /// The target.
        target: String,
    },
    /// A symbolic link whose target could not be read.
    SymlinkUnreadable {
        /// The error.
        error: String,
    },
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
    /// A device node.
    Device {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Another type of entry.
    UnknownType,
    /// A directory that could not be listed.
    CannotList {
        /// The error.
        error: String,
    },
    /// A directory whose listing stopped part-way.
    ListingStopped {
        /// The error.
        error: String,
    },
    /// An entry `lstat` failed on.
    CannotStat {
        /// The error.
        error: String,
    },
    /// A file replaced by a symbolic link between the listing and the read.
    BecameSymlink,
    /// A file gone between the listing and the read.
    Vanished {
        /// The error.
        error: String,
    },
    /// A file that could not be opened.
    CannotOpen {
        /// The error.
        error: String,
    },
    /// An open file `fstat` failed on.
    CannotStatOpen {
        /// The error.
        error: String,
    },
    /// A file that became another kind of entry after the listing.
    Became {
        /// What it became.
        kind: Kind,
    },
    /// A file replaced (another inode) between the listing and the read.
    Replaced,
    /// A read that failed part-way.
    ReadError {
        /// Bytes read before the failure.
        offset: u64,
        /// The error.
        error: String,
    },
    /// A file that returned far more than its size at open.
    Overran {
        /// Its size at open (the bytes hashed).
        at_open: u64,
        /// Bytes it had returned when reading stopped.
        fed: u64,
    },
    /// A file that changed while it was read.
    Changed {
        /// Size at open.
        at_open: u64,
        /// Bytes read.
        read: u64,
        /// Size after the read.
        now: u64,
        /// Modification time after the read.
        modified: String,
    },
    /// A picture near a PDQ entry of an alert set.
    Similar {
        /// Bits that differ.
        distance: u32,
        /// The set's name.
        set: String,
        /// The entry's identifier, or its hash.
        entry: String,
        /// How the file's picture is turned relative to the entry's.
        turn: TurnName,
    },
    /// A picture without a PDQ hash, and why (the text starts `pdq: `).
    NoPdq {
        /// Why.
        reason: String,
    },
    /// Another path of a hard-linked file, read once as `to`.
    HardLink {
        /// The path read.
        to: String,
    },
    /// An archive whose members were read.
    Archive {
        /// Its format.
        format: String,
        /// Members listed (rows made), not counting those of nested archives.
        members: u64,
    },
    /// An archive whose members past one were not read: a limit was reached.
    ArchiveStopped {
        /// Which.
        limit: crate::archive::Limit,
        /// Its value.
        value: u64,
        /// The member at which it was reached.
        at: String,
    },
    /// An archive whose members were not read at all.
    NotExpanded {
        /// Why.
        reason: String,
    },
    /// An archive that could not be read to its end.
    ArchiveDamaged {
        /// Where reading stopped.
        at: String,
        /// Why.
        error: String,
    },
    /// A member whose bytes were not read to their end, for a limit.
    MemberCut {
        /// Which.
        limit: crate::archive::Limit,
        /// Its value.
        value: u64,
        /// Bytes read before it.
        read: u64,
    },
    /// An encrypted member, not read.
    Encrypted {
        /// Its CRC-32, where the archive gives one.
        crc: Option<u32>,
    },
    /// A member that is a device, a FIFO or another special file.
    ArchiveSpecial,
    /// A member of a tar that is a hard link to another.
    ArchiveLink {
        /// The other member's name.
        to: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Matched { on } => {
                let names: Vec<&str> = [(1, "md5"), (2, "sha1"), (4, "sha256")]
                    .iter()
                    .filter(|(bit, _)| on & bit != 0)
                    .map(|(_, n)| *n)
                    .collect();
                write!(f, "matched on {}", names.join("+"))
            }
            Note::Conflict { details } => write!(f, "conflict: {}", details.join("; ")),
            Note::MaliciousKnown { sets } => write!(
                f,
                "matched software that {} marks as malicious (NSRL SpecialCode M): not treated as known-good",
                sets.join(", ")
            ),
            Note::MountPoint { major, minor } => write!(
                f,
                "mount point of another filesystem (device {major}:{minor}); not entered (use --cross-filesystems)"
            ),
            Note::LinkTargetNotRead => f.write_str(
                "symbolic link; target not read: the evidence is mounted read-write and records access times, and reading a link's target would update its access time (--read-link-targets reads it anyway); not followed",
            ),
            Note::Symlink { target } => write!(f, "symbolic link to {target}; not followed"),
            Note::SymlinkUnreadable { error } => {
                write!(f, "symbolic link, target unreadable ({error}); not followed")
            }
            Note::Fifo => f.write_str("named pipe (FIFO); never opened"),
            Note::Socket => f.write_str("socket; never opened"),
            Note::Device { major, minor } => write!(f, "device node {major}:{minor}; never opened"),
            Note::UnknownType => f.write_str("unknown file type; never opened"),
            Note::CannotList { error } => write!(f, "cannot list directory: {error}"),
            Note::ListingStopped { error } => {
                write!(f, "directory listing stopped part-way: {error}")
            }
            Note::CannotStat { error } => write!(f, "cannot stat: {error}"),
            Note::BecameSymlink => {
                f.write_str("replaced by a symbolic link after the walk; not followed")
            }
            Note::Vanished { error } => write!(f, "vanished between the walk and the read: {error}"),
            Note::CannotOpen { error } => write!(f, "cannot open: {error}"),
            Note::CannotStatOpen { error } => write!(f, "cannot stat the open file: {error}"),
            Note::Became { kind } => write!(f, "became a {} after the walk; not read", kind.as_str()),
            Note::Replaced => {
                f.write_str("replaced after the walk (another inode); the file read is reported")
            }
            Note::ReadError { offset, error } => {
                write!(f, "read error at byte offset {offset}: {error}")
            }
            Note::Overran { at_open, fed } => write!(
                f,
                "returned more bytes than its size at open ({at_open} bytes) and was still going after {fed} bytes: a file that does not end, reading stopped; the digests are of the first {at_open} bytes"
            ),
            Note::Changed {
                at_open,
                read,
                now,
                modified,
            } => write!(
                f,
                "changed while being read: {at_open} bytes at open, {read} bytes read, size now {now}, modified {modified}; the digests are of the bytes read"
            ),
            Note::HardLink { to } => write!(f, "hard link to {to}: read once, as that path"),
            Note::Similar {
                distance,
                set,
                entry,
                turn,
            } => {
                write!(f, "pdq distance {distance} to {set} entry {entry}")?;
                match turn.0 {
                    Turn::Same => Ok(()),
                    t => write!(f, " (the file is the entry {})", t.describe()),
                }
            }
            Note::NoPdq { reason } => f.write_str(reason),
            Note::Archive { format, members } => {
                write!(f, "archive ({format}): {members} members read")
            }
            Note::ArchiveStopped { limit, value, at } => write!(
                f,
                "archive: members from {at} on not read: {}",
                limit.describe(*value)
            ),
            Note::NotExpanded { reason } => write!(f, "archive: members not read: {reason}"),
            Note::ArchiveDamaged { at, error } => write!(
                f,
                "archive damaged or truncated: reading stopped at {at}: {error}; the members before have rows"
            ),
            Note::MemberCut { limit, value, read } => write!(
                f,
                "not read to its end ({read} bytes read, no digests): {}",
                limit.describe(*value)
            ),
            Note::Encrypted { crc } => match crc {
                Some(c) => write!(f, "encrypted: not read (crc32 {c:08x})"),
                None => f.write_str("encrypted: not read"),
            },
            Note::ArchiveSpecial => {
                f.write_str("a special file (device, FIFO) in the archive; nothing to read")
            }
            Note::ArchiveLink { to } => {
                write!(f, "hard link to member {to} of the same archive; not read again")
            }
        }
    }
}

impl Note {
    /// Whether the note is the matcher's (recomputed from the digests on resume).
    pub fn is_judgement(&self) -> bool {
        matches!(
            self,
            Note::Matched { .. }
                | Note::Conflict { .. }
                | Note::MaliciousKnown { .. }
                | Note::Similar { .. }
        )
    }
}

/// A picture's camera facts in a row. Its coordinates are finite numbers (the
/// reader keeps no others), so equality is an equivalence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Camera(pub crate::digest::exif::CameraInfo);

impl Eq for Camera {}

/// A [`Turn`] in a note, kept in the journal by its position in [`Turn::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnName(pub Turn);

impl Serialize for TurnName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let at = Turn::ALL.iter().position(|t| *t == self.0).unwrap_or(0);
        s.serialize_u8(at as u8)
    }
}

impl<'de> Deserialize<'de> for TurnName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TurnName, D::Error> {
        let at = u8::deserialize(d)? as usize;
        Turn::ALL
            .get(at)
            .map(|t| TurnName(*t))
            .ok_or_else(|| serde::de::Error::custom("not a turn"))
    }
}

/// The content type of a row: the MIME type from the file's first bytes, and
/// whether the name's extension disagrees with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// e.g. `image/jpeg`.
    pub mime: Cow<'static, str>,
    /// The extension is not one the type goes by.
    pub mismatch: bool,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Path relative to the evidence root, always starting with `/`, escaped as
    /// described in [`crate::pathfmt`].
    pub path: String,
    /// The kind of entry.
    pub kind: Kind,
    /// Size in bytes (the bytes hashed, for a hashed file).
    pub size: u64,
    /// File times.
    pub times: Times,
    /// Digests, when the file was read to the end.
    pub digests: Option<Digests>,
    /// The judgement.
    pub verdict: Verdict,
    /// The sets that matched or conflicted, by their position on the command line.
    pub sets: Vec<u16>,
    /// For a hit, its most severe category.
    pub category: Option<HitCategory>,
    /// Why the row is `unreadable`, `skipped` or `conflict`, how a hit matched,
    /// and what happened while it was read.
    pub notes: Vec<Note>,
    /// The content type detected from the file's first bytes, if any.
    pub content: Option<Content>,
    /// The PDQ hash of a picture, with its quality and turned variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Box<PdqResult>>,
    /// What a picture's Exif block says of the camera.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<Box<Camera>>,
    /// The file changed (or was replaced) while it was read; a note says how.
    /// Not a column: it makes the report writer log an audit event.
    #[serde(skip)]
    pub changed: bool,
    /// The rows of an archive's members (and theirs), written before it.
    #[serde(skip)]
    pub members: Vec<Record>,
}

impl Record {
    /// A row for `path` with nothing known but its kind.
    pub fn new(path: String, kind: Kind) -> Record {
        Record {
            path,
            kind,
            size: 0,
            times: Times::default(),
            digests: None,
            verdict: Verdict::Skipped,
            sets: Vec::new(),
            category: None,
            notes: Vec::new(),
            content: None,
            pdq: None,
            camera: None,
            changed: false,
            members: Vec::new(),
        }
    }

    /// The notes, as the `note` column writes them.
    pub fn note_text(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.notes.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&n.to_string());
        }
        out
    }
}
