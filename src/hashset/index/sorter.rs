//! An external sort of fixed-size byte records, for building indexes of any size
//! in bounded memory: records collect in memory up to a budget, each full buffer
//! is sorted and written to an anonymous temporary file (a run), and the runs are
//! merged. Records compare byte-wise; equal records are merged into one and
//! counted as duplicates.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Sorts records of `N` bytes.
pub struct Sorter<const N: usize> {
    buf: Vec<[u8; N]>,
    limit: usize,
    runs: Vec<File>,
    tmp_dir: Option<PathBuf>,
    duplicates: u64,
}

impl<const N: usize> Sorter<N> {
    /// A sorter holding at most `memory` bytes of records in memory; runs go to
    /// anonymous temporary files in `tmp_dir` (the system's default when `None`).
    pub fn new(memory: usize, tmp_dir: Option<PathBuf>) -> Self {
        Sorter {
            buf: Vec::new(),
            limit: (memory / N).max(1024),
            runs: Vec::new(),
            tmp_dir,
            duplicates: 0,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, rec: [u8; N]) -> io::Result<()> {
        self.buf.push(rec);
        if self.buf.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Runs written so far (for tests and reports).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buf.sort_unstable();
        let before = self.buf.len();
        self.buf.dedup();
        self.duplicates += (before - self.buf.len()) as u64;
        let file = match &self.tmp_dir {
            Some(d) => tempfile::tempfile_in(d)?,
            None => tempfile::tempfile()?,
        };
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for r in &self.buf {
            w.write_all(r)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push(file);
        self.buf.clear();
        Ok(())
    }

    /// Hands every distinct record to `out` in ascending order; returns how many
    /// duplicates were merged.
    pub fn finish(mut self, mut out: impl FnMut(&[u8; N]) -> io::Result<()>) -> io::Result<u64> {
        let mut duplicates = 0u64;
        if self.runs.is_empty() && self.duplicates == 0 {
            self.buf.sort_unstable();
            let mut last: Option<&[u8; N]> = None;
            for r in &self.buf {
                if last == Some(r) {
                    duplicates += 1;
                    continue;
                }
                out(r)?;
                last = Some(r);
            }
            return Ok(duplicates);
        }
        self.spill()?;
        self.buf = Vec::new(); // give the run buffer back before merging
        duplicates += self.duplicates;
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .drain(..)
            .map(|f| BufReader::with_capacity(1 << 20, f))
            .collect();
        let next = |r: &mut BufReader<File>| -> io::Result<Option<[u8; N]>> {
            let mut rec = [0u8; N];
            match r.read_exact(&mut rec) {
                Ok(()) => Ok(Some(rec)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            }
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(rec) = next(r)? {
                heap.push(Reverse((rec, i)));
            }
        }
        let mut last: Option<[u8; N]> = None;
        while let Some(Reverse((rec, i))) = heap.pop() {
            if last == Some(rec) {
                duplicates += 1;
            } else {
                out(&rec)?;
                last = Some(rec);
            }
            if let Some(more) = next(&mut readers[i])? {
                heap.push(Reverse((more, i)));
            }
        }
        Ok(duplicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(memory: usize, input: &[[u8; 3]]) -> (Vec<[u8; 3]>, u64, usize) {
        let mut s = Sorter::<3>::new(memory, None);
        for r in input {
            s.push(*r).unwrap();
        }
        let runs = s.runs();
        let mut out = Vec::new();
        let dups = s
            .finish(|r| {
                out.push(*r);
                Ok(())
            })
            .unwrap();
        (out, dups, runs)
    }

    #[test]
    fn in_memory_and_external_give_the_same_result() {
        let mut state = 7u32;
        let input: Vec<[u8; 3]> = (0..20_000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let v = (state >> 8) % 5000;
                [(v >> 16) as u8, (v >> 8) as u8, v as u8]
            })
            .collect();
        let (mem, dups_mem, runs_mem) = sorted(1 << 30, &input);
        let (ext, dups_ext, runs_ext) = sorted(0, &input);
        assert_eq!(runs_mem, 0);
        assert!(runs_ext >= 10, "{runs_ext} runs");
        assert_eq!(mem, ext);
        assert!(mem.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(mem.len() as u64 + dups_mem, 20_000);
        assert_eq!(dups_mem, dups_ext);
    }
}
