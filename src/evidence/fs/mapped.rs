//! Hashing large files through a memory map.
//!
//! Reading a cached file with `read(2)` costs a copy out of the page cache, about
//! a fifth of the CPU time of hashing it here; hashing from a mapping of the file
//! does not. A mapping has one hazard `read(2)` does not: when the file shrinks
//! while mapped, or a page cannot be read from the device, touching that page
//! raises `SIGBUS` instead of returning an error, and by default that kills the
//! process.
//!
//! So every mapping is registered in a guard slot while it is hashed, and a
//! `SIGBUS` handler checks the faulting address against
//! the slots. For an address in a guarded mapping it maps zero pages over the
//! rest of that mapping, records where the fault happened, and returns, so the
//! hashing thread carries on over zeros and finds the fault afterwards. The
//! caller then throws away that digest and reads the file again with `read(2)`,
//! which reports what happened (a read error with its offset, or a file that
//! changed). A fault anywhere else is passed on to the handler that was there
//! before (the runtime's stack-overflow check) or to the default action.
//!
//! The handler is process-wide, so the library never installs it by itself:
//! the program does, through [`enable_fault_recovery`], whose contract says
//! what it accepts. Until then, files are read with `read(2)` only.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use crate::digest::Update;
use crate::evidence::Mapped;

/// Files are mapped this much at a time, so pages behind the read can be
/// dropped (a mapped page cannot be) and a fault costs at most one window.
pub const WINDOW: u64 = 32 << 20;
/// Mappings are hashed in pieces of this size, with a fault check after each.
const PIECE: usize = 1 << 20;
/// Mappings guarded at once; with more readers than this, the rest use `read(2)`.
const SLOTS: usize = 256;

/// One guarded address range; `start == end == 0` when free.
struct Slot {
    busy: AtomicBool,
    start: AtomicUsize,
    end: AtomicUsize,
    /// One past the offset, within the mapping, of the first fault; 0 if none.
    fault: AtomicUsize,
}

static GUARDS: [Slot; SLOTS] = [const {
    Slot {
        busy: AtomicBool::new(false),
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        fault: AtomicUsize::new(0),
    }
}; SLOTS];

/// The `SIGBUS` disposition found when the handler was installed.
struct Previous(libc::sigaction);
// SAFETY: a plain C struct of a function address, flags and a signal mask; it
// is written once, before the handler can run, and only read afterwards.
unsafe impl Sync for Previous {}
unsafe impl Send for Previous {}

static PREVIOUS: OnceLock<Previous> = OnceLock::new();
static INSTALL: Once = Once::new();
static PAGE: AtomicUsize = AtomicUsize::new(4096);
/// Faults taken in guarded mappings (the tests check it moves).
static FAULTS: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for a SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for slot in &GUARDS {
        let (start, end) = (
            slot.start.load(Ordering::SeqCst),
            slot.end.load(Ordering::SeqCst),
        );
        if start == 0 || addr < start || addr >= end {
            continue;
        }
        let from = addr & !(page - 1);
        // SAFETY: replaces pages of a mapping this process owns and is reading;
        // the mapping is unmapped whole later, zero pages included. mmap is a
        // plain system call, safe to make in a signal handler.
        let p = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            let _ = slot.fault.compare_exchange(
                0,
                addr - start + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            FAULTS.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    pass_on(sig, info, ctx);
}

/// Hands a fault that is not ours to the disposition found at installation.
fn pass_on(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if let Some(Previous(prev)) = PREVIOUS.get() {
        let h = prev.sa_sigaction;
        if h != libc::SIG_DFL && h != libc::SIG_IGN {
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the address was installed as a three-argument handler.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(h) };
                f(sig, info, ctx);
            } else {
                // SAFETY: the address was installed as a one-argument handler.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
                f(sig);
            }
            return;
        }
    }
    // Default action: restore it and return; the faulting access repeats and
    // the process dies of SIGBUS as it would have without us.
    // SAFETY: sigaction with a zeroed struct sets SIG_DFL.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
    }
}

/// Installs the process-wide `SIGBUS` handler that lets large files be hashed
/// through memory maps (see the module's description); returns whether it is
/// in place. Idempotent.
///
/// # Safety
///
/// The caller accepts that this process's `SIGBUS` disposition is replaced for
/// good: the handler maps zero pages over a guarded mapping that faults, and
/// hands any other `SIGBUS` to the disposition it found (or to the default
/// action). Nothing else in the process may install a `SIGBUS` handler after
/// this, or rely on `SIGBUS` being delivered for faults in this library's
/// guarded mappings.
pub unsafe fn enable_fault_recovery() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE.store(page as usize, Ordering::Relaxed);
        }
        // SAFETY: installs a SA_SIGINFO handler, keeping the previous one, which
        // is stored before the new handler can be reached by a guarded fault
        // (no guard exists yet).
        unsafe {
            let mut prev: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut prev) != 0 {
                return;
            }
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut act.sa_mask);
            // PREVIOUS is set before the handler is installed (the handler
            // reads it), and only kept when the install succeeds: without the
            // handler, files are never mapped.
            let _ = PREVIOUS.set(Previous(prev));
            if libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut()) != 0 {
                INSTALL_FAILED.store(true, Ordering::Relaxed);
            }
        }
    });
    PREVIOUS.get().is_some() && !INSTALL_FAILED.load(Ordering::Relaxed)
}

/// Set when installing the handler failed.
static INSTALL_FAILED: AtomicBool = AtomicBool::new(false);

/// A claimed guard slot covering one mapping; freed on drop.
struct Guard(&'static Slot);

impl Guard {
    fn claim(start: usize, len: usize) -> Option<Guard> {
        let slot = GUARDS.iter().find(|s| {
            s.busy
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })?;
        slot.fault.store(0, Ordering::SeqCst);
        slot.end.store(start + len, Ordering::SeqCst);
        slot.start.store(start, Ordering::SeqCst);
        Some(Guard(slot))
    }

    /// The offset within the mapping of the first fault, if there was one.
    fn fault(&self) -> Option<usize> {
        self.0.fault.load(Ordering::SeqCst).checked_sub(1)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.start.store(0, Ordering::SeqCst);
        self.0.end.store(0, Ordering::SeqCst);
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

/// Hashes bytes `from..to` of `file` through memory maps, a window at a time,
/// calling `progress` with the offset reached after each window; it returns
/// false to stop there. `from` must be a multiple of the page size. A file that
/// grows is not followed past `to`; a file that shrinks below it faults, and the
/// result says where.
pub fn hash_mapped(
    file: &File,
    from: u64,
    to: u64,
    hasher: &mut dyn Update,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Mapped {
    if PREVIOUS.get().is_none()
        || INSTALL_FAILED.load(Ordering::Relaxed)
        || !from.is_multiple_of(PAGE.load(Ordering::Relaxed) as u64)
    {
        return Mapped::Unavailable;
    }
    let mut at = from;
    while at < to {
        let len = (to - at).min(WINDOW) as usize;
        // SAFETY: the mapping is read only while guarded: a shrinking file or a
        // failing device raises SIGBUS, which the handler turns into zero pages
        // and a recorded fault, after which the bytes are thrown away. Bytes
        // changed in place by another process can make the digest one of no
        // single version of the file, as with read(2).
        let map = match unsafe { memmap2::MmapOptions::new().offset(at).len(len).map(file) } {
            Ok(m) => m,
            Err(_) if at == from => return Mapped::Unavailable,
            Err(_) => return Mapped::Fault(at),
        };
        let Some(guard) = Guard::claim(map.as_ptr() as usize, len) else {
            if at == from {
                return Mapped::Unavailable;
            }
            return Mapped::Fault(at);
        };
        let _ = map.advise(memmap2::Advice::Sequential);
        for piece in map.chunks(PIECE) {
            hasher.update(piece);
            if let Some(off) = guard.fault() {
                return Mapped::Fault(at + off as u64);
            }
        }
        drop(guard);
        drop(map);
        at += len as u64;
        if !progress(at) && at < to {
            return Mapped::Stopped(at);
        }
    }
    Mapped::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::MultiHasher;

    fn enable() {
        // SAFETY: the test process accepts the handler (see its contract).
        assert!(unsafe { enable_fault_recovery() });
    }
    use std::io::Write;

    fn file_of(len: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4096) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        (dir, path, data)
    }

    #[test]
    fn mapped_digest_equals_read_digest() {
        enable();
        let len = WINDOW as usize + 3 * PIECE + 123;
        let (_dir, path, data) = file_of(len);
        let file = File::open(&path).unwrap();
        let mut head = MultiHasher::new(true);
        head.update(&data[..65536]);
        let mut seen = Vec::new();
        let r = hash_mapped(&file, 65536, len as u64, &mut head, &mut |o| {
            seen.push(o);
            true
        });
        assert!(matches!(r, Mapped::Done), "{r:?}");
        let mut whole = MultiHasher::new(true);
        whole.update(&data);
        assert_eq!(head.finish(), whole.finish());
        assert_eq!(seen, vec![65536 + WINDOW, len as u64]);
        assert!(matches!(
            hash_mapped(&file, 100, 200, &mut MultiHasher::new(false), &mut |_| true),
            Mapped::Unavailable
        ));
    }

    #[test]
    fn a_file_that_shrinks_during_the_read_faults_instead_of_killing() {
        enable();
        let len = WINDOW as usize + 8 * PIECE;
        let (_dir, path, _) = file_of(len);
        let file = File::open(&path).unwrap();
        let before = FAULTS.load(Ordering::Relaxed);
        let page = PAGE.load(Ordering::Relaxed) as u64;
        let cut = WINDOW + 3 * PIECE as u64 + 100;
        // Once the first window is hashed, another handle cuts the file short.
        let r = hash_mapped(
            &file,
            0,
            len as u64,
            &mut MultiHasher::new(false),
            &mut |at| {
                if at == WINDOW {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .unwrap()
                        .set_len(cut)
                        .unwrap();
                }
                true
            },
        );
        match r {
            // The page holding the new end is still readable (zeros past the
            // end); the next one faults.
            Mapped::Fault(at) => assert_eq!(at, cut.next_multiple_of(page)),
            other => panic!("expected a fault, got {other:?}"),
        }
        assert!(FAULTS.load(Ordering::Relaxed) > before);
        // The guard was released and the process is intact: map again.
        let r = hash_mapped(&file, 0, WINDOW, &mut MultiHasher::new(false), &mut |_| {
            true
        });
        assert!(matches!(r, Mapped::Done), "{r:?}");
    }
}
