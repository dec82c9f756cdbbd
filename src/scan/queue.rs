//! The queue the readers take entries from: the plan's order first, then the
//! files put back to be read last; the order can come in two parts, the rest
//! once the rest of the evidence is listed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Hands out entries to readers: the plan's order first, then the files put
/// back by [`Queue::defer`]. The order can come in two parts: the first at once,
/// the rest ([`Queue::extend`]) once walked; until then readers that run out
/// wait for it.
pub struct Queue<'a> {
    first: Vec<u32>,
    rest: OnceLock<Vec<u32>>,
    next: AtomicUsize,
    deferred: Mutex<VecDeque<u32>>,
    /// Entries of the first pass being worked on: while any is, a reader that
    /// finds nothing to do waits, since one may yet be put back.
    active: AtomicUsize,
    /// Stop the queue when any is set (interrupt, fatal error, --stop-after reached).
    stops: [&'a AtomicBool; 2],
}

/// One entry to read.
#[derive(Debug, Clone, Copy)]
pub struct Take {
    /// The entry, numbered across the parts of the listing (see `super::plan::Todo`).
    pub index: u32,
    /// Whether this is the deferred second pass (no further deferral).
    pub deferred: bool,
}

impl<'a> Queue<'a> {
    /// A queue over `first`, to be completed by [`Queue::extend`], stopped early
    /// when either flag is set.
    pub fn new(first: Vec<u32>, stops: [&'a AtomicBool; 2]) -> Queue<'a> {
        Queue {
            first,
            rest: OnceLock::new(),
            next: AtomicUsize::new(0),
            deferred: Mutex::new(VecDeque::new()),
            active: AtomicUsize::new(0),
            stops,
        }
    }

    /// Appends the rest of the order (once; a second call is ignored). Until
    /// this is called the queue is never finished.
    pub fn extend(&self, rest: Vec<u32>) {
        let _ = self.rest.set(rest);
    }

    /// Whether the scan is stopping.
    pub fn stopped(&self) -> bool {
        self.stops.iter().any(|s| s.load(Ordering::Relaxed))
    }

    /// The next entry, or `None` when all are done or the scan stops. A first-pass
    /// entry must be followed by [`Queue::done`] or [`Queue::defer`].
    pub fn take(&self) -> Option<Take> {
        self.next_entry(true)
    }

    /// Like [`Queue::take`], but `None` at once when nothing is ready, rather than
    /// waiting for entries other readers may put back or the walk may add.
    pub fn take_ready(&self) -> Option<Take> {
        self.next_entry(false)
    }

    /// Claims the next entry of the order, if one is there yet.
    fn claim(&self) -> Option<u32> {
        let rest = self.rest.get().map_or(&[][..], Vec::as_slice);
        let mut i = self.next.load(Ordering::SeqCst);
        loop {
            if i >= self.first.len() + rest.len() {
                return None;
            }
            match self
                .next
                .compare_exchange(i, i + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    return Some(match self.first.get(i) {
                        Some(&index) => index,
                        None => rest[i - self.first.len()],
                    })
                }
                Err(now) => i = now,
            }
        }
    }

    fn next_entry(&self, wait: bool) -> Option<Take> {
        loop {
            if self.stopped() {
                return None;
            }
            // Seen before claiming: if the whole order was there, an empty claim
            // means it is used up.
            let complete = self.rest.get().is_some();
            self.active.fetch_add(1, Ordering::SeqCst);
            if let Some(index) = self.claim() {
                return Some(Take {
                    index,
                    deferred: false,
                });
            }
            self.active.fetch_sub(1, Ordering::SeqCst);
            if complete {
                if let Some(index) = self.deferred.lock().expect("queue").pop_front() {
                    return Some(Take {
                        index,
                        deferred: true,
                    });
                }
            }
            if !wait || (complete && self.active.load(Ordering::SeqCst) == 0) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A taken entry is finished.
    pub fn done(&self, t: Take) {
        if !t.deferred {
            self.active.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Puts a first-pass entry back, to be read after every other.
    pub fn defer(&self, t: Take) {
        debug_assert!(!t.deferred);
        self.deferred.lock().expect("queue").push_back(t.index);
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_waits_for_the_rest_of_the_walk() {
        let stop = AtomicBool::new(false);
        let q = Queue::new(vec![1], [&stop, &stop]);
        let first = q.take().unwrap();
        q.done(first);
        assert!(q.take_ready().is_none(), "nothing ready yet");
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut seen = Vec::new();
                while let Some(t) = q.take() {
                    seen.push(t.index);
                    q.done(t);
                }
                seen
            });
            std::thread::sleep(Duration::from_millis(30));
            // The reader is still waiting: the rest is not there yet.
            assert!(!reader.is_finished());
            q.extend(vec![2, 3]);
            assert_eq!(reader.join().unwrap(), [2, 3]);
        });
    }

    #[test]
    fn queue_serves_deferred_entries_last() {
        let stop = AtomicBool::new(false);
        let q = Queue::new(vec![5, 6], [&stop, &stop]);
        q.extend(vec![7]);
        let a = q.take().unwrap();
        q.defer(a);
        let mut seen = Vec::new();
        while let Some(t) = q.take() {
            seen.push((t.index, t.deferred));
            q.done(t);
        }
        assert_eq!(seen, [(6, false), (7, false), (5, true)]);
    }
}
