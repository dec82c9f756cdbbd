//! Where the bytes of a scan come from. A [`Source`] lists its entries into a
//! compact [`Listing`] and opens the regular files among them for reading; the
//! scan plans, reads, judges and reports without knowing what is behind it.
//!
//! - [`fs`]: a mounted tree, read through the OS: the forensic walk and opens,
//!   memory maps, the device behind it, its physical layout, mounts, identity
//!   and access times.
//! - [`memory`]: entries held in memory, for tests of the whole pipeline.
//!
//! A listing keeps about 40 bytes and the name of each entry, so millions of
//! entries fit in little memory: paths are built from the folder chain when
//! needed, and the times of regular files come from the source when each is
//! opened.

pub mod fs;
pub mod io;
pub mod memory;

use crate::digest::Update;
use crate::progress::Progress;
use crate::record::{Kind, Note, Verdict};
use crate::time::{FileTime, Times};
use io::{IoChoice, IoDecision};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

/// Names of folders holding one folder per user (any case).
pub const PROFILE_ROOTS: &[&str] = &["users", "home", "documents and settings"];
/// The camera folder name (any case).
pub const CAMERA_FOLDER: &str = "dcim";

/// Whether a folder of this name is one to walk and read first: a user
/// profile root or a camera folder.
pub fn is_priority_folder(name: &str) -> bool {
    name.eq_ignore_ascii_case(CAMERA_FOLDER)
        || PROFILE_ROOTS.iter().any(|r| name.eq_ignore_ascii_case(r))
}

/// One entry of a listing, in about 40 bytes: what the plan needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The folder holding it, in [`Listing::folders`].
    folder: u32,
    name_at: u32,
    name_len: u16,
    /// The kind of entry.
    pub kind: Kind,
    /// A regular file to open and read; otherwise its row is complete from the
    /// listing ([`Listing::listed`]).
    pub read: bool,
    /// Read-order group: 0 first (see `scan::plan::group`).
    pub group: u8,
    /// A regular file with more than one link: its paths are read once.
    pub linked: bool,
    /// Size from the listing, in bytes.
    pub size: u64,
    /// The filesystem it is on (an index into the listing's devices, see [`Listing::dev`]), and its
    /// inode number: a hard-linked file's identity, and read order where
    /// nothing better is known.
    pub dev: u32,
    /// Inode number (or, for other sources, a position).
    pub ino: u64,
}

/// A folder in a listing's tree of names.
#[derive(Debug, Clone, Copy)]
struct Folder {
    parent: u32,
    name_at: u32,
    name_len: u16,
}

/// The row of an entry that is not read: how it was listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `skipped` or `unreadable`.
    pub verdict: Verdict,
    /// Its times, where known.
    pub times: Times,
    /// Why.
    pub note: Note,
}

/// Entries listed by a source. Folder 0 is the evidence root.
#[derive(Debug, Default)]
pub struct Listing {
    items: Vec<Item>,
    names: Vec<u8>,
    folders: Vec<Folder>,
    devices: Vec<u64>,
    listed: HashMap<u32, Listed>,
}

/// A folder of a listing, for adding entries to it.
pub type FolderId = u32;

impl Listing {
    /// An empty listing holding the evidence root.
    pub fn new() -> Listing {
        Listing {
            folders: vec![Folder {
                parent: 0,
                name_at: 0,
                name_len: 0,
            }],
            ..Listing::default()
        }
    }

    fn name(&mut self, name: &[u8]) -> (u32, u16) {
        // Names are entries' own names (not paths): 4 GiB of them is some
        // 200 million entries. Past that, stop rather than give rows wrong paths.
        let at = u32::try_from(self.names.len())
            .expect("a listing holds at most 4 GiB of entry names; split the evidence");
        let len = name.len().min(u16::MAX as usize);
        self.names.extend_from_slice(&name[..len]);
        (at, len as u16)
    }

    /// Adds folder `name` in `parent`; its id, for entries in it.
    pub fn add_folder(&mut self, parent: FolderId, name: &[u8]) -> FolderId {
        let (name_at, name_len) = self.name(name);
        self.folders.push(Folder {
            parent,
            name_at,
            name_len,
        });
        (self.folders.len() - 1) as u32
    }

    /// The index of device `dev`, added if new.
    pub fn device(&mut self, dev: u64) -> u32 {
        match self.devices.iter().position(|&d| d == dev) {
            Some(i) => i as u32,
            None => {
                self.devices.push(dev);
                (self.devices.len() - 1) as u32
            }
        }
    }

    /// Adds an entry; `listed` gives the row of an entry that is not read.
    pub fn add(&mut self, folder: FolderId, name: &[u8], mut item: Item, listed: Option<Listed>) {
        let (name_at, name_len) = self.name(name);
        item.folder = folder;
        item.name_at = name_at;
        item.name_len = name_len;
        item.read = listed.is_none() && item.read;
        let id = self.items.len() as u32;
        self.items.push(item);
        if let Some(l) = listed {
            self.listed.insert(id, l);
        }
    }

    /// Adds an entry for folder `folder` itself (one that could not be listed),
    /// in its parent under its name.
    pub fn add_as_folder(&mut self, folder: FolderId, mut item: Item, listed: Option<Listed>) {
        let f = self.folders[folder as usize];
        item.folder = f.parent;
        item.name_at = f.name_at;
        item.name_len = f.name_len;
        item.read = false;
        let id = self.items.len() as u32;
        self.items.push(item);
        if let Some(l) = listed {
            self.listed.insert(id, l);
        }
    }

    /// Sets the read-order group of entry `i`.
    pub fn set_group(&mut self, i: usize, group: u8) {
        self.items[i].group = group;
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entry `i`.
    pub fn item(&self, i: usize) -> &Item {
        &self.items[i]
    }

    /// Every entry, in listing order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// How entry `i` was listed, for one that is not read.
    pub fn listed(&self, i: usize) -> Option<&Listed> {
        self.listed.get(&(i as u32))
    }

    /// The device number of an entry.
    pub fn dev(&self, item: &Item) -> u64 {
        self.devices.get(item.dev as usize).copied().unwrap_or(0)
    }

    /// The name bytes of entry `i`.
    pub fn name_of(&self, i: usize) -> &[u8] {
        let it = &self.items[i];
        &self.names[it.name_at as usize..it.name_at as usize + it.name_len as usize]
    }

    /// The raw path of entry `i` below the root, starting with `/`.
    pub fn raw_path(&self, i: usize) -> Vec<u8> {
        let mut parts: Vec<&[u8]> = vec![self.name_of(i)];
        let mut f = self.items[i].folder;
        while f != 0 {
            let folder = &self.folders[f as usize];
            parts.push(&self.names[folder.name_at as usize..][..folder.name_len as usize]);
            f = folder.parent;
        }
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        out
    }

    /// The report path of entry `i` (escaped, see [`crate::pathfmt`]).
    pub fn path(&self, i: usize) -> String {
        crate::pathfmt::escape(&self.raw_path(i))
    }

    /// Entries and bytes of regular files.
    pub fn totals(&self) -> (u64, u64) {
        let bytes = self.items.iter().filter(|i| i.read).map(|i| i.size).sum();
        (self.items.len() as u64, bytes)
    }

    /// Memory held, roughly, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item>()
            + self.names.capacity()
            + self.folders.capacity() * std::mem::size_of::<Folder>()
            + self.listed.len() * 96
    }

    /// Puts the entries in path order (byte order of their raw paths), so a
    /// listing is the same whatever order a parallel walk found it in. Entry
    /// numbers change: call before they are handed out.
    pub fn sort_by_path(&mut self) {
        let mut folder_paths: Vec<Vec<u8>> = Vec::with_capacity(self.folders.len());
        for f in &self.folders {
            // A folder is added after its parent, so the parent's path is known;
            // the root (folder 0) has the empty path.
            let p = match folder_paths.get(f.parent as usize) {
                Some(parent) => {
                    let mut p = parent.clone();
                    p.push(b'/');
                    p.extend_from_slice(&self.names[f.name_at as usize..][..f.name_len as usize]);
                    p
                }
                None => Vec::new(),
            };
            folder_paths.push(p);
        }
        let name = |it: &Item| &self.names[it.name_at as usize..][..it.name_len as usize];
        let mut order: Vec<u32> = (0..self.items.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            let (a, b) = (&self.items[a as usize], &self.items[b as usize]);
            let pa = folder_paths[a.folder as usize]
                .iter()
                .chain(b"/")
                .chain(name(a));
            let pb = folder_paths[b.folder as usize]
                .iter()
                .chain(b"/")
                .chain(name(b));
            pa.cmp(pb)
        });
        let items = order.iter().map(|&i| self.items[i as usize]).collect();
        let mut listed = HashMap::with_capacity(self.listed.len());
        for (new, &old) in order.iter().enumerate() {
            if let Some(l) = self.listed.remove(&old) {
                listed.insert(new as u32, l);
            }
        }
        self.items = items;
        self.listed = listed;
    }

    /// Frees what building left spare.
    pub fn shrink(&mut self) {
        self.items.shrink_to_fit();
        self.names.shrink_to_fit();
        self.folders.shrink_to_fit();
    }
}

impl Item {
    /// An entry of `kind` and `size`; see the fields.
    pub fn new(kind: Kind, size: u64, dev: u32, ino: u64, linked: bool, group: u8) -> Item {
        Item {
            folder: 0,
            name_at: 0,
            name_len: 0,
            kind,
            read: kind == Kind::File,
            group,
            linked: linked && kind == Kind::File,
            size,
            dev,
            ino,
        }
    }

    /// The key grouping the paths of one hard-linked file: device and inode of
    /// a regular file read with more than one link.
    pub fn link_key(&self) -> Option<(u32, u64)> {
        (self.read && self.linked).then_some((self.dev, self.ino))
    }
}

/// Which part of the evidence to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The folders likely to hold hits, listed (and read) first.
    First,
    /// Everything else.
    Rest,
}

/// What a source needs to list entries.
pub struct ListContext<'a> {
    /// Reports counts and warnings.
    pub progress: &'a dyn Progress,
    /// Stops the listing early (with what it has) when any is set.
    pub stops: &'a [&'a AtomicBool],
    /// Entries and bytes listed before (the first part), for the progress count.
    pub counted: (u64, u64),
}

/// Where the bytes of a scan come from.
pub trait Source: Sync {
    /// Lists one part of the evidence. [`Part::First`] may list nothing (the
    /// source has no folders it knows to read first).
    fn list(&self, part: Part, ctx: &ListContext) -> std::io::Result<Listing>;

    /// The report paths of the folders listed first, for the audit log.
    fn first_folders(&self) -> Vec<String>;

    /// How to read the entries listed so far (`partial` while only the first
    /// part is listed: `None` when that is too little to decide on).
    fn io_decision(
        &self,
        listed: &[&Listing],
        partial: bool,
        choice: IoChoice,
        threads: usize,
        io_threads: usize,
    ) -> Option<IoDecision>;

    /// Orders `entries` (of `listing`) for one sweep of a spinning disk;
    /// returns how many were placed by their physical position.
    fn place(&self, listing: &Listing, entries: &mut [u32]) -> usize;

    /// Opens regular-file entry `i` of `listing` for reading. `in_order`: the
    /// reads will come one at a time, in order (see `scan::sequential`).
    /// Warnings (access times that cannot be preserved) go to `progress`.
    fn open(&self, listing: &Listing, i: usize, in_order: bool, progress: &dyn Progress) -> Opened;

    /// Times of entry `i` now, where they can be had (for a row whose file
    /// could not be opened).
    fn times(&self, listing: &Listing, i: usize) -> Times;

    /// Warnings to give before anything is read (the evidence is mounted
    /// read-write, ...).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// What was done about access times, where the source has them.
    fn access_times(&self) -> Option<fs::atime::AccessReport> {
        None
    }
}

/// The outcome of opening an entry.
pub enum Opened {
    /// Open for reading.
    File(Box<dyn EvidenceFile>),
    /// Not readable now: the row's verdict, kind and notes.
    Failed {
        /// `unreadable`, or `skipped` for an entry that is no longer a file.
        verdict: Verdict,
        /// What it is now.
        kind: Kind,
        /// Why.
        note: Note,
        /// It changed since the listing (an audit event).
        changed: bool,
    },
}

/// The state of a file after it was read, to tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    /// Its size.
    pub size: u64,
    /// Its modification time.
    pub modified: Option<FileTime>,
}

/// How hashing a stretch of a file through a memory map ended.
#[derive(Debug)]
pub enum Mapped {
    /// Every byte up to the end offset was hashed.
    Done,
    /// A page could not be read (the file shrank, or the device failed) at this
    /// file offset; the digest is worthless.
    Fault(u64),
    /// The file could not be mapped; nothing was hashed.
    Unavailable,
    /// Asked to stop at this offset.
    Stopped(u64),
}

/// A regular file open for reading.
pub trait EvidenceFile: std::io::Read + Send {
    /// Its size when opened.
    fn size(&self) -> u64;
    /// Its times when opened.
    fn times(&self) -> Times;
    /// It is not the file listed (another inode at the same path).
    fn replaced(&self) -> bool;
    /// Moves the read position to `offset` from the start.
    fn seek_to(&mut self, offset: u64) -> std::io::Result<()>;
    /// Its state now (after reading), where known.
    fn after(&self) -> Option<After>;
    /// Starts page-cache hints for a sequential read of the whole file.
    fn start_hints(&mut self) {}
    /// Reading has reached `offset` (`done` at the end): pages behind may be
    /// dropped.
    fn reached(&mut self, _offset: u64, _done: bool) {}
    /// Hashes bytes `from..to` through a memory map, where the source allows it,
    /// calling `progress` with the offset reached (which returns false to stop).
    fn hash_mapped(
        &mut self,
        _from: u64,
        _to: u64,
        _hasher: &mut dyn Update,
        _progress: &mut dyn FnMut(u64) -> bool,
    ) -> Mapped {
        Mapped::Unavailable
    }
}
