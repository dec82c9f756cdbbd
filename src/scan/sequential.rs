//! The spinning-disk policy: one reader takes files in the plan's order
//! (physical order) and feeds their bytes to hashing threads, file by file, so
//! the disk's head sweeps once while the cores hash. Files are opened a window
//! ahead, in batches: opening touches metadata, and a batch of opens in one
//! place saves the head a trip back there between every two files.

use super::queue::Take;
use super::read::{head_outcome, Worker};
use super::Msg;
use crate::digest::content;
use crate::digest::{self, FileHasher, Halt, ReadEnd, ReadFailure, Update};
use crate::evidence::{After, EvidenceFile};
use crate::matcher::Scratch;
use crate::record::Record;
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;

/// Files the sequential reader keeps open ahead of the one it reads.
const OPEN_AHEAD: usize = 32;
/// Chunks the sequential reader hands to hashing threads.
pub const CHUNK: usize = 1 << 20;
/// Chunks in flight between the sequential reader and the hashers.
pub const BUFFERS: usize = 16;

/// Reused read buffers, bounding what the sequential reader can run ahead.
#[derive(Clone)]
pub struct BufferPool {
    give: Sender<Vec<u8>>,
    take: Receiver<Vec<u8>>,
}

impl BufferPool {
    /// `count` buffers of `size` bytes.
    pub fn new(count: usize, size: usize) -> BufferPool {
        let (give, take) = crossbeam_channel::bounded(count);
        for _ in 0..count {
            give.send(vec![0u8; size]).expect("pool has room");
        }
        BufferPool { give, take }
    }

    fn get(&self) -> Vec<u8> {
        self.take.recv().expect("the pool outlives its users")
    }

    fn put(&self, buf: Vec<u8>) {
        let _ = self.give.send(buf);
    }
}

/// What the sequential reader sends a hashing thread about one file.
pub enum Feed {
    /// A file opened; its data follows.
    Begin {
        /// The entry.
        id: u32,
        /// Its row so far.
        record: Box<Record>,
        /// Its size at open.
        size: u64,
    },
    /// The next bytes of the file (the first `len` bytes of the buffer).
    Data(Vec<u8>, usize),
    /// The file is read: its length, or why reading ended early, and its state
    /// after the read.
    End {
        /// How the read ended.
        read: Result<u64, ReadEnd>,
        /// The file's state after.
        after: Option<After>,
    },
}

type Open = Result<(Record, Box<dyn EvidenceFile>), Box<Record>>;

impl Worker<'_> {
    /// The sequential reader: reads files one at a time in plan order and feeds
    /// their bytes to the hashing threads, file by file.
    pub fn read_sequentially(&self, feeds: Vec<Sender<Feed>>, tx: &Sender<Msg>, pool: &BufferPool) {
        let mut turn = 0;
        let send = |feed: &Sender<Feed>, f: Feed| feed.send(f).is_ok();
        let mut window: VecDeque<(Take, Open)> = VecDeque::new();
        loop {
            if self.queue.stopped() {
                for (t, _) in window.drain(..) {
                    self.queue.done(t);
                }
                break;
            }
            // Refilled only once empty, so the opens come in batches.
            if window.is_empty() {
                while window.len() < OPEN_AHEAD {
                    let Some(t) = self.queue.take_ready() else {
                        break;
                    };
                    window.push_back((t, self.open(t)));
                }
            }
            if window.is_empty() {
                // Nothing ready: wait for deferred files, or the end.
                match self.queue.take() {
                    Some(t) => window.push_back((t, self.open(t))),
                    None => break,
                }
            }
            let (t, opened) = window.pop_front().expect("window holds one");
            let (mut r, mut file) = match opened {
                Ok(o) => o,
                Err(r) => {
                    self.queue.done(t);
                    if tx.send(Msg::Row(t.index, *r)).is_err() {
                        break;
                    }
                    self.progress.file_done(0);
                    continue;
                }
            };
            let size = file.size();
            let mut buf = pool.get();
            let head = content::HEAD.min(buf.len());
            let Some((n, err)) =
                self.read_head(&mut *file, &mut buf[..head], size, t.deferred, &mut r)
            else {
                pool.put(buf);
                self.queue.defer(t);
                continue;
            };
            file.start_hints();
            let feed = &feeds[turn % feeds.len()];
            turn += 1;
            let begin = Feed::Begin {
                id: t.index,
                record: Box::new(r),
                size,
            };
            if !send(feed, begin) || !send(feed, Feed::Data(buf, n)) {
                break;
            }
            let mut total = n as u64;
            let read = match head_outcome(n, head, err) {
                Some(done) => done,
                None => loop {
                    let mut buf = pool.get();
                    let (k, err) = digest::fill(&mut *file, &mut buf);
                    total += k as u64;
                    self.bytes_read.fetch_add(k as u64, Ordering::Relaxed);
                    file.reached(total, false);
                    if k > 0 {
                        if !send(feed, Feed::Data(buf, k)) {
                            return;
                        }
                    } else {
                        pool.put(buf);
                    }
                    match err {
                        Some(error) => {
                            break Err(ReadEnd::Failed(ReadFailure {
                                offset: total,
                                error,
                            }))
                        }
                        None if k < CHUNK => break Ok(total),
                        None => {
                            if let Some(halt) = self.halt_at(total, size) {
                                break Err(ReadEnd::Halted(halt));
                            }
                        }
                    }
                },
            };
            file.reached(total, true);
            let after = file.after();
            self.queue.done(t);
            if !send(feed, Feed::End { read, after }) {
                break;
            }
        }
    }

    /// One hashing thread of the spinning-disk policy.
    pub fn hash_fed(&self, rx: Receiver<Feed>, tx: &Sender<Msg>, pool: &BufferPool) {
        let mut scratch = Scratch::default();
        let mut current: Option<(u32, Box<Record>, u64, FileHasher)> = None;
        for feed in rx {
            match feed {
                Feed::Begin { id, record, size } => {
                    current = Some((id, record, size, self.hasher(size)));
                }
                Feed::Data(buf, n) => {
                    if let Some(c) = &mut current {
                        c.3.update(&buf[..n]);
                    }
                    pool.put(buf);
                }
                Feed::End { read, after } => {
                    let Some((id, mut r, size, mut hasher)) = current.take() else {
                        continue;
                    };
                    if matches!(read, Err(ReadEnd::Halted(Halt::Stopped)))
                        || (hasher.keeps_picture() && self.queue.stopped())
                    {
                        continue;
                    }
                    let archive = hasher.take_archive();
                    self.conclude(&mut r, hasher, read, size, after, &mut scratch);
                    if !self.expand(id, &mut r, archive, &mut scratch) {
                        continue;
                    }
                    let bytes = r.size;
                    self.count(id, &r);
                    if tx.send(Msg::Row(id, *r)).is_err() {
                        break;
                    }
                    self.progress.file_done(bytes);
                }
            }
        }
    }
}
