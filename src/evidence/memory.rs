//! Evidence held in memory: files, links and odd entries given by the caller.
//! Tests run the whole pipeline over it (listing, plan, read, judge, every
//! output, resume) without touching a filesystem, which proves the scan knows
//! nothing of where its bytes come from.

use crate::digest::Update;
use crate::evidence::io::{IoChoice, IoDecision, Medium};
use crate::evidence::{
    After, EvidenceFile, FolderId, Item, ListContext, Listed, Listing, Mapped, Opened, Part, Source,
};
use crate::progress::Progress;
use crate::record::{Kind, Note, Verdict};
use crate::time::{FileTime, Times};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

/// An entry of an in-memory evidence.
#[derive(Debug, Clone)]
pub enum MemEntry {
    /// A regular file and its bytes; files sharing `link` (non-zero) are one
    /// hard-linked file.
    File {
        /// Content.
        data: Arc<Vec<u8>>,
        /// Hard-link group, 0 for none.
        link: u64,
    },
    /// A symbolic link to `target`.
    Symlink(String),
    /// A file that cannot be read: the error opening it gives.
    Unreadable(String),
}

/// Evidence in memory, by path (bytes, starting with `/`).
#[derive(Debug, Default)]
pub struct MemorySource {
    entries: Mutex<BTreeMap<Vec<u8>, MemEntry>>,
    /// Folders whose entries are listed first (report paths, e.g. `/Users`).
    first: Vec<Vec<u8>>,
    modified: FileTime,
    /// Listing the rest fails with this error once this many files were opened.
    rest_failure: Mutex<Option<(u64, String)>>,
    opened: std::sync::atomic::AtomicU64,
}

impl MemorySource {
    /// An empty evidence; `first` names folders to list first.
    pub fn new(first: &[&str]) -> MemorySource {
        MemorySource {
            entries: Mutex::new(BTreeMap::new()),
            first: first.iter().map(|f| f.as_bytes().to_vec()).collect(),
            modified: FileTime {
                secs: 1_700_000_000,
                nanos: 123_456_789,
            },
            rest_failure: Mutex::new(None),
            opened: Default::default(),
        }
    }

    /// Adds (or replaces) an entry.
    pub fn put(&self, path: &[u8], entry: MemEntry) {
        self.entries
            .lock()
            .expect("memory source")
            .insert(path.to_vec(), entry);
    }

    /// Adds a file.
    pub fn file(&self, path: &str, data: &[u8]) {
        self.put(
            path.as_bytes(),
            MemEntry::File {
                data: Arc::new(data.to_vec()),
                link: 0,
            },
        );
    }

    /// Makes listing the part after the first fail with `error`, once
    /// `after_opens` files have been opened (or after ten seconds): the rest of
    /// a tree that cannot be walked while the first folders are being read.
    pub fn fail_rest(&self, after_opens: u64, error: &str) {
        *self.rest_failure.lock().expect("memory source") = Some((after_opens, error.into()));
    }

    /// Removes an entry (a file that vanishes after the listing).
    pub fn remove(&self, path: &[u8]) {
        self.entries.lock().expect("memory source").remove(path);
    }

    fn in_first(&self, path: &[u8]) -> bool {
        self.first
            .iter()
            .any(|f| path.starts_with(f) && path.get(f.len()) == Some(&b'/'))
    }

    fn times(&self) -> Times {
        Times {
            modified: Some(self.modified),
            accessed: Some(self.modified),
            changed: Some(self.modified),
            created: None,
        }
    }
}

impl Source for MemorySource {
    fn list(&self, part: Part, _ctx: &ListContext) -> io::Result<Listing> {
        let failure = self.rest_failure.lock().expect("memory source").clone();
        if let (Part::Rest, Some((after, error))) = (part, failure) {
            let start = std::time::Instant::now();
            while self.opened.load(std::sync::atomic::Ordering::SeqCst) < after
                && start.elapsed().as_secs() < 10
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            return Err(io::Error::other(error));
        }
        let entries = self.entries.lock().expect("memory source");
        let mut listing = Listing::new();
        let mut folders: BTreeMap<Vec<u8>, FolderId> = BTreeMap::new();
        let dev = listing.device(1);
        for (n, (path, entry)) in entries.iter().enumerate() {
            if (part == Part::First) != self.in_first(path) {
                continue;
            }
            // The folder chain, made once per folder.
            let parts: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
            let (name, dirs) = parts.split_last().expect("a path has a name");
            let mut folder: FolderId = 0;
            let mut at = Vec::new();
            for d in dirs {
                at.push(b'/');
                at.extend_from_slice(d);
                folder = match folders.get(&at) {
                    Some(&f) => f,
                    None => {
                        let f = listing.add_folder(folder, d);
                        folders.insert(at.clone(), f);
                        f
                    }
                };
            }
            let times = self.times();
            let (item, listed) = match entry {
                MemEntry::File { data, link } => {
                    let ino = if *link > 0 {
                        *link
                    } else {
                        1_000_000 + n as u64
                    };
                    let item = Item::new(Kind::File, data.len() as u64, dev, ino, *link > 0, 3);
                    (item, None)
                }
                MemEntry::Unreadable(_) => {
                    (Item::new(Kind::File, 0, dev, n as u64, false, 3), None)
                }
                MemEntry::Symlink(target) => (
                    Item::new(Kind::Symlink, target.len() as u64, dev, n as u64, false, 3),
                    Some(Listed {
                        verdict: Verdict::Skipped,
                        times,
                        note: Note::Symlink {
                            target: target.clone(),
                        },
                    }),
                ),
            };
            listing.add(folder, name, item, listed);
        }
        listing.sort_by_path();
        Ok(listing)
    }

    fn first_folders(&self) -> Vec<String> {
        self.first
            .iter()
            .map(|f| crate::pathfmt::escape(f))
            .collect()
    }

    fn io_decision(
        &self,
        _listed: &[&Listing],
        _partial: bool,
        choice: IoChoice,
        threads: usize,
        io_threads: usize,
    ) -> Option<IoDecision> {
        let (medium, by) = match choice {
            IoChoice::Force(m) => (m, "option"),
            IoChoice::Auto => (Medium::Ssd, "source"),
        };
        Some(IoDecision::new(
            medium,
            by,
            "memory".into(),
            "evidence held in memory".into(),
            threads,
            io_threads,
        ))
    }

    fn place(&self, listing: &Listing, entries: &mut [u32]) -> usize {
        entries.sort_by_key(|&i| listing.item(i as usize).ino);
        0
    }

    fn open(&self, listing: &Listing, i: usize, _in_order: bool, _p: &dyn Progress) -> Opened {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = listing.raw_path(i);
        let entry = self
            .entries
            .lock()
            .expect("memory source")
            .get(&path)
            .cloned();
        match entry {
            Some(MemEntry::File { data, .. }) => Opened::File(Box::new(MemFile {
                data,
                at: 0,
                times: self.times(),
            })),
            Some(MemEntry::Unreadable(error)) => Opened::Failed {
                verdict: Verdict::Unreadable,
                kind: Kind::File,
                note: Note::CannotOpen { error },
                changed: false,
            },
            Some(MemEntry::Symlink(_)) => Opened::Failed {
                verdict: Verdict::Skipped,
                kind: Kind::Symlink,
                note: Note::BecameSymlink,
                changed: true,
            },
            None => Opened::Failed {
                verdict: Verdict::Unreadable,
                kind: Kind::File,
                note: Note::Vanished {
                    error: "No such file or directory (os error 2)".into(),
                },
                changed: false,
            },
        }
    }

    fn times(&self, _listing: &Listing, _i: usize) -> Times {
        self.times()
    }
}

/// A file held in memory, open for reading.
struct MemFile {
    data: Arc<Vec<u8>>,
    at: usize,
    times: Times,
}

impl Read for MemFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl EvidenceFile for MemFile {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn times(&self) -> Times {
        self.times
    }

    fn replaced(&self) -> bool {
        false
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.at = (offset as usize).min(self.data.len());
        Ok(())
    }

    fn after(&self) -> Option<After> {
        Some(After {
            size: self.data.len() as u64,
            modified: self.times.modified,
        })
    }

    fn hash_mapped(
        &mut self,
        from: u64,
        to: u64,
        hasher: &mut dyn Update,
        progress: &mut dyn FnMut(u64) -> bool,
    ) -> Mapped {
        // Memory is its own map.
        let to = (to as usize).min(self.data.len());
        hasher.update(&self.data[from as usize..to]);
        progress(to as u64);
        Mapped::Done
    }
}
