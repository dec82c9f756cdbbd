//! How to read the evidence: many parallel readers on solid-state storage, or
//! one sequential reader in physical order on a spinning disk.
//!
//! The device behind the evidence is found through `/sys/dev/block`: a partition
//! stands for its disk, a loop device for the device holding its backing file,
//! a device-mapper or RAID device for its members. A real block device is
//! trusted when it says it is not rotational. Anything else (FUSE, network
//! filesystems, virtual disks that claim to be rotational, devices the kernel
//! does not describe) is judged by a short timed probe: a few small reads at
//! scattered places, bypassing the page cache where the filesystem allows. A
//! seek-bound device answers in milliseconds, solid-state storage in well under one.

use crate::evidence::fs::walk::{Found, Status};
use serde::Serialize;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The kind of storage, as the read policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Solid-state (or memory, or a fast network store): parallel readers.
    Ssd,
    /// Rotational: one reader, files in physical order.
    Hdd,
}

impl Medium {
    /// `ssd` or `hdd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Ssd => "ssd",
            Medium::Hdd => "hdd",
        }
    }
}

/// The `--io` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoChoice {
    /// Detect the device, probing when the kernel cannot be trusted.
    #[default]
    Auto,
    /// Force a policy.
    Force(Medium),
}

/// The read policy chosen for a scan, and why.
#[derive(Debug, Clone, Serialize)]
pub struct IoDecision {
    /// The policy.
    pub medium: Medium,
    /// How it was chosen: `option` (--io), `kernel` (device attributes) or `probe`.
    pub decided_by: &'static str,
    /// The device behind the evidence, as far as it could be followed.
    pub device: String,
    /// Why, in words.
    pub reason: String,
    /// Threads reading files.
    pub readers: usize,
    /// Threads hashing (the readers themselves on ssd).
    pub hashers: usize,
    /// Read order: `path` (hits first, then path) or `physical` (hits first, then
    /// physical offset where the filesystem maps extents, else path).
    pub order: &'static str,
}

impl IoDecision {
    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let how = match self.medium {
            Medium::Ssd => format!("{} parallel readers", self.readers),
            Medium::Hdd => format!(
                "1 reader in physical order, {} hashing thread{}",
                self.hashers,
                if self.hashers == 1 { "" } else { "s" }
            ),
        };
        format!(
            "I/O policy {} ({}): {}; {how}",
            self.medium.as_str(),
            self.decided_by,
            self.reason
        )
    }
}

/// What the device tree says about the evidence's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    /// Readable description of the chain followed, e.g. `loop0 -> /x.img on vda1`.
    pub device: String,
    /// `Some` when the kernel's answer is trusted; `None` when a probe must decide.
    pub medium: Option<Medium>,
    /// Why.
    pub reason: String,
}

/// Chooses the policy for `evidence`, probing `found` when the device cannot be
/// trusted. `threads` is the hashing budget (one per core unless `--threads`),
/// `io_threads` the number of parallel readers on solid-state storage. With
/// `partial` (only part of the tree walked yet), `None` when a probe is needed
/// and `found` has too few files for a full one: decide again with more.
pub fn decide(
    evidence: &Path,
    found: &[&Found],
    partial: bool,
    choice: IoChoice,
    threads: usize,
    io_threads: usize,
) -> Option<IoDecision> {
    let facts = device_facts(evidence);
    if partial
        && choice == IoChoice::Auto
        && facts.medium.is_none()
        && probe_candidates(found).len() < PROBE_FILES
    {
        return None;
    }
    let (medium, decided_by, reason) = match choice {
        IoChoice::Force(m) => (m, "option", format!("--io {}", m.as_str())),
        IoChoice::Auto => match facts.medium {
            Some(m) => (m, "kernel", facts.reason.clone()),
            None => {
                let (m, why) = probe(found);
                (m, "probe", format!("{}; {why}", facts.reason))
            }
        },
    };
    let (readers, hashers, order) = match medium {
        Medium::Ssd => (io_threads, io_threads, "path"),
        Medium::Hdd => (1, threads.clamp(1, 2), "physical"),
    };
    Some(IoDecision {
        medium,
        decided_by,
        device: facts.device,
        reason,
        readers,
        hashers,
        order,
    })
}

/// Follows the evidence's device through `/sys`.
pub fn device_facts(evidence: &Path) -> DeviceFacts {
    let meta = match std::fs::metadata(evidence) {
        Ok(m) => m,
        Err(e) => {
            return DeviceFacts {
                device: "unknown".into(),
                medium: None,
                reason: format!("cannot stat the evidence ({e})"),
            }
        }
    };
    let canonical = std::fs::canonicalize(evidence).unwrap_or_else(|_| evidence.to_path_buf());
    classify_dev(meta.dev(), &canonical, 0)
}

fn sys_block(dev: u64) -> Option<PathBuf> {
    let link = format!("/sys/dev/block/{}:{}", libc::major(dev), libc::minor(dev));
    std::fs::canonicalize(link).ok()
}

fn read_trim(p: &Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

fn unknown(device: String, reason: String) -> DeviceFacts {
    DeviceFacts {
        device,
        medium: None,
        reason,
    }
}

fn classify_dev(dev: u64, path: &Path, depth: u32) -> DeviceFacts {
    let numbers = format!("{}:{}", libc::major(dev), libc::minor(dev));
    if depth > 8 {
        return unknown(numbers, "device chain too deep".into());
    }
    if libc::major(dev) == 0 {
        return classify_unnamed(&numbers, path, depth);
    }
    let Some(mut sys) = sys_block(dev) else {
        return unknown(numbers, "the kernel does not describe this device".into());
    };
    if sys.join("partition").exists() {
        if let Some(parent) = sys.parent() {
            sys = parent.to_path_buf();
        }
    }
    let name = sys
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(numbers);
    if name.starts_with("loop") {
        let Some(backing) = read_trim(&sys.join("loop/backing_file")) else {
            return unknown(name, "loop device without a backing file".into());
        };
        let backing = PathBuf::from(backing);
        return match std::fs::metadata(&backing) {
            Ok(m) => {
                let inner = classify_dev(m.dev(), &backing, depth + 1);
                DeviceFacts {
                    device: format!("{name} backed by {} on {}", backing.display(), inner.device),
                    medium: inner.medium,
                    reason: inner.reason,
                }
            }
            Err(e) => unknown(
                name,
                format!("backing file {} cannot be read ({e})", backing.display()),
            ),
        };
    }
    if name.starts_with("zram") || name.starts_with("ram") || name.starts_with("pmem") {
        return DeviceFacts {
            device: name.clone(),
            medium: Some(Medium::Ssd),
            reason: format!("{name} is memory-backed"),
        };
    }
    let members: Vec<PathBuf> = std::fs::read_dir(sys.join("slaves"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    if !members.is_empty() {
        let mut rotational = Vec::new();
        for m in &members {
            let member = m.file_name().unwrap_or_default().to_string_lossy();
            match read_trim(&m.join("queue/rotational"))
                .or_else(|| read_trim(&m.join("../queue/rotational")))
            {
                Some(r) => rotational.push((member.into_owned(), r == "1")),
                None => {
                    let why = format!("member {member} of {name} is not described");
                    return unknown(name, why);
                }
            }
        }
        let list = rotational
            .iter()
            .map(|(n, r)| format!("{n} rotational={}", u8::from(*r)))
            .collect::<Vec<_>>()
            .join(", ");
        return if rotational.iter().any(|(_, r)| *r) {
            unknown(
                name.clone(),
                format!("{name} spans {list}; rotational flags are not trusted"),
            )
        } else {
            DeviceFacts {
                device: name.clone(),
                medium: Some(Medium::Ssd),
                reason: format!("{name} spans {list}"),
            }
        };
    }
    match read_trim(&sys.join("queue/rotational")).as_deref() {
        Some("0") => DeviceFacts {
            device: name.clone(),
            medium: Some(Medium::Ssd),
            reason: format!("{name}: kernel reports rotational=0"),
        },
        Some("1") if !is_virtual(&name) && !is_usb(&sys) => DeviceFacts {
            device: name.clone(),
            medium: Some(Medium::Hdd),
            reason: format!("{name}: kernel reports rotational=1"),
        },
        Some(r) => unknown(
            name.clone(),
            format!(
                "{name}: kernel reports rotational={r}, not trusted for a virtual or USB device"
            ),
        ),
        None => unknown(name, "no rotational attribute".into()),
    }
}

/// Virtual disks report rotational=1 whatever backs them.
fn is_virtual(name: &str) -> bool {
    ["vd", "xvd", "nbd", "rbd", "dm-", "md"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// USB bridges pass through whatever the enclosure says, often wrongly.
fn is_usb(sys: &Path) -> bool {
    sys.to_string_lossy().contains("/usb")
}

/// A filesystem without a block device of its own (major 0): memory, FUSE,
/// network, overlay, btrfs subvolumes.
fn classify_unnamed(numbers: &str, path: &Path, depth: u32) -> DeviceFacts {
    let Some(m) = crate::evidence::fs::mounts::find(path) else {
        return unknown(numbers.into(), "mount not found".into());
    };
    let fs = m.fs_type.as_str();
    if matches!(fs, "tmpfs" | "ramfs" | "devtmpfs") {
        return DeviceFacts {
            device: format!("{fs} at {}", m.mount_point.display()),
            medium: Some(Medium::Ssd),
            reason: format!("{fs} is memory-backed"),
        };
    }
    if m.source.starts_with("/dev/") {
        if let Ok(meta) = std::fs::metadata(&m.source) {
            if meta.rdev() != 0 {
                let inner = classify_dev(meta.rdev(), path, depth + 1);
                return DeviceFacts {
                    device: format!("{fs} on {}", inner.device),
                    ..inner
                };
            }
        }
    }
    unknown(
        format!("{fs} {} at {}", m.source, m.mount_point.display()),
        format!("{fs} does not reveal its device"),
    )
}

/// Median latency above which a device is taken to be seek-bound.
const PROBE_SEEK_BOUND: Duration = Duration::from_millis(2);
/// Files read by the probe, at most.
const PROBE_FILES: usize = 16;

/// Files large enough to probe.
fn probe_candidates<'f>(found: &[&'f Found]) -> Vec<&'f Found> {
    found
        .iter()
        .copied()
        .filter(|f| f.status == Status::Hash && f.size >= 8192)
        .collect()
}
/// The probe stops after this long, whatever it has read.
const PROBE_BUDGET: Duration = Duration::from_millis(1500);

/// Times single-block reads at scattered places: the middle of files spread
/// over the walk. Uses `O_DIRECT` where the filesystem allows, so the page
/// cache does not answer for the device.
pub fn probe(found: &[&Found]) -> (Medium, String) {
    let candidates = probe_candidates(found);
    if candidates.len() < 4 {
        return (
            Medium::Ssd,
            format!(
                "probe: {} of the files are large enough to probe, too few; parallel reads",
                candidates.len()
            ),
        );
    }
    let step = (candidates.len() / PROBE_FILES).max(1);
    let started = Instant::now();
    let mut times = Vec::new();
    let mut direct = 0;
    // One aligned block; O_DIRECT needs the buffer, offset and length aligned.
    let mut block = AlignedBlock([0; 4096]);
    for f in candidates.iter().step_by(step).take(PROBE_FILES) {
        if started.elapsed() > PROBE_BUDGET {
            break;
        }
        let offset = (f.size / 2) & !4095;
        let t = Instant::now();
        let read = match open_evidence(&f.path, true) {
            Ok(file) => match file.read_at(&mut block.0, offset) {
                Ok(_) => {
                    direct += 1;
                    true
                }
                Err(_) => read_plain(&f.path, offset, &mut block.0),
            },
            Err(_) => read_plain(&f.path, offset, &mut block.0),
        };
        if read {
            times.push(t.elapsed());
        }
    }
    if times.is_empty() {
        return (
            Medium::Ssd,
            "probe: no file could be read; parallel reads".into(),
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    let medium = if median >= PROBE_SEEK_BOUND {
        Medium::Hdd
    } else {
        Medium::Ssd
    };
    (
        medium,
        format!(
            "probe: {} scattered reads ({} direct), median {:.2} ms ({} {} ms)",
            times.len(),
            direct,
            median.as_secs_f64() * 1e3,
            if medium == Medium::Hdd {
                "seek-bound, at least"
            } else {
                "under"
            },
            PROBE_SEEK_BOUND.as_millis()
        ),
    )
}

#[repr(C, align(4096))]
struct AlignedBlock([u8; 4096]);

/// Opens an evidence file read-only without following links, without blocking on
/// a FIFO that replaced it, and without updating its access time where allowed;
/// with `direct`, bypassing the page cache (`O_DIRECT`).
pub fn open_evidence(path: &Path, direct: bool) -> std::io::Result<File> {
    open_evidence_noting(path, direct).map(|(f, _)| f)
}

/// [`open_evidence`], saying whether `O_NOATIME` was granted (false where the
/// OS refused it: the file's access time may then change when it is read).
pub fn open_evidence_noting(path: &Path, direct: bool) -> std::io::Result<(File, bool)> {
    let mut flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if direct {
        flags |= libc::O_DIRECT;
    }
    let open = |f| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(f)
            .open(path)
    };
    match open(flags | libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(flags).map(|f| (f, false)),
        r => r.map(|f| (f, true)),
    }
}

fn read_plain(path: &Path, offset: u64, buf: &mut [u8]) -> bool {
    match open_evidence(path, false) {
        Ok(f) => f.read_at(buf, offset).is_ok(),
        Err(_) => false,
    }
}

/// The physical byte offset of a file's first extent (FIEMAP), for reading a
/// spinning disk in one sweep. `None` where the filesystem does not map extents.
pub fn physical_offset(file: &File) -> Option<u64> {
    #[repr(C)]
    struct Fiemap {
        start: u64,
        length: u64,
        flags: u32,
        mapped_extents: u32,
        extent_count: u32,
        reserved: u32,
        extents: [FiemapExtent; 1],
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct FiemapExtent {
        logical: u64,
        physical: u64,
        length: u64,
        reserved64: [u64; 2],
        flags: u32,
        reserved: [u32; 3],
    }
    // _IOWR('f', 11, struct fiemap), whose size without extents is 32 bytes.
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
    let mut map = Fiemap {
        start: 0,
        length: u64::MAX,
        flags: 0,
        mapped_extents: 0,
        extent_count: 1,
        reserved: 0,
        extents: [FiemapExtent {
            logical: 0,
            physical: 0,
            length: 0,
            reserved64: [0; 2],
            flags: 0,
            reserved: [0; 3],
        }],
    };
    // SAFETY: `map` is a properly laid out fiemap with room for one extent, as
    // `extent_count` tells the kernel; the descriptor is open.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP as _, &mut map) };
    (rc == 0 && map.mapped_extents > 0).then_some(map.extents[0].physical)
}

/// Orders `items` for one sweep of a spinning disk: by the physical offset of
/// each file's first extent where FIEMAP answers, files it cannot place after
/// them by inode number. Where FIEMAP places none (FUSE, ntfs-3g, network
/// filesystems), by inode number alone: the best guess at where files lie,
/// since inodes are numbered in allocation order on ext4 and are MFT record
/// numbers on NTFS. Returns how many offsets came from FIEMAP.
pub fn sort_physical(items: &mut [usize], found: &[&Found]) -> usize {
    let mut mapped = 0;
    let mut tried = 0;
    let mut keys: Vec<(u64, u64, usize)> = items
        .iter()
        .map(|&i| {
            let f = found[i];
            // Where the first files cannot be mapped (FUSE, network, tmpfs), none
            // will be: stop opening files for nothing.
            let hopeless = mapped == 0 && tried >= 16;
            let phys = if f.status == Status::Hash && f.size > 0 && !hopeless {
                tried += 1;
                open_evidence(&f.path, false)
                    .ok()
                    .and_then(|file| physical_offset(&file))
            } else {
                None
            };
            if phys.is_some() {
                mapped += 1;
            }
            // Files FIEMAP cannot place go by inode, after the mapped ones of the
            // same device region: inode order approximates allocation order.
            (phys.unwrap_or(u64::MAX), f.ino, i)
        })
        .collect();
    keys.sort_unstable();
    for (slot, (_, _, i)) in items.iter_mut().zip(keys) {
        *slot = i;
    }
    mapped
}

/// Turns the kernel's readahead off for `file`, so that each read reaches the
/// filesystem as one request, in order. Where a filesystem cannot map extents
/// (FUSE, such as ntfs-3g, or a network filesystem), readahead sends a file's
/// reads as several concurrent requests, which a multi-threaded server may
/// serve out of order: on a spinning disk behind it, a seek each. Measured on
/// the simulated disk (docs/performance.md): 173 seeks with readahead, 20
/// without, for the same files in the same order.
pub fn read_in_order(file: &File) {
    // SAFETY: plain advice on an open descriptor.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
}

/// Page-cache hints while reading a file.
pub struct CacheHints {
    /// The file was not in the page cache when opened: drop what is read.
    drop_behind: bool,
    dropped_to: u64,
}

/// Files at least this large are read with sequential hints and, when they were
/// not cached before the scan, have their pages dropped behind the read.
pub const LARGE_FILE: u64 = 8 << 20;
const DROP_STEP: u64 = 32 << 20;

impl CacheHints {
    /// Declares sequential access for a large file (unless `in_order` has
    /// turned readahead off) and finds out whether its last page is already
    /// cached (a `RWF_NOWAIT` read fails when it is not). The last page, since
    /// the first may have been read for the file's content type just before (a
    /// file put back is opened again).
    pub fn start(file: &File, size: u64, in_order: bool) -> CacheHints {
        if size < LARGE_FILE {
            return CacheHints {
                drop_behind: false,
                dropped_to: 0,
            };
        }
        let fd = file.as_raw_fd();
        if !in_order {
            // SAFETY: plain advice on an open descriptor.
            unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
        }
        let mut probe = [0u8; 1];
        let iov = libc::iovec {
            iov_base: probe.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: one iovec pointing at a live one-byte buffer.
        let last = (size - 1) as libc::off_t;
        let n = unsafe { libc::preadv2(fd, &iov, 1, last, libc::RWF_NOWAIT) };
        let cold = n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN);
        CacheHints {
            drop_behind: cold,
            dropped_to: 0,
        }
    }

    /// Called as reading reaches `offset`: drops the pages behind it in steps.
    pub fn advance(&mut self, file: &File, offset: u64, done: bool) {
        if !self.drop_behind
            || offset <= self.dropped_to
            || (!done && offset < self.dropped_to + DROP_STEP)
        {
            return;
        }
        // SAFETY: plain advice on an open descriptor.
        unsafe {
            libc::posix_fadvise(
                file.as_raw_fd(),
                self.dropped_to as libc::off_t,
                (offset - self.dropped_to) as libc::off_t,
                libc::POSIX_FADV_DONTNEED,
            )
        };
        self.dropped_to = offset;
    }

    /// Whether pages are being dropped behind the read.
    pub fn dropping(&self) -> bool {
        self.drop_behind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_is_memory_and_forced_choice_wins() {
        let facts = device_facts(Path::new("/dev/shm"));
        if facts.device.starts_with("tmpfs") {
            assert_eq!(facts.medium, Some(Medium::Ssd), "{facts:?}");
        }
        let d = decide(
            Path::new("/"),
            &[],
            false,
            IoChoice::Force(Medium::Hdd),
            2,
            8,
        )
        .unwrap();
        assert_eq!(
            (d.medium, d.decided_by, d.readers),
            (Medium::Hdd, "option", 1)
        );
    }

    #[test]
    fn files_nothing_can_place_go_in_inode_order() {
        let found: Vec<Found> = [(5u64, "/a"), (2, "/b"), (9, "/c"), (1, "/d")]
            .iter()
            .map(|&(ino, rel)| Found {
                path: PathBuf::from(format!("/nonexistent/hashsweep{rel}")),
                rel: rel.into(),
                kind: crate::record::Kind::File,
                size: 10,
                dev: 1,
                ino,
                nlink: 1,
                times: Default::default(),
                status: Status::Hash,
            })
            .collect();
        let refs: Vec<&Found> = found.iter().collect();
        let mut items = vec![0, 1, 2, 3];
        assert_eq!(sort_physical(&mut items, &refs), 0);
        assert_eq!(items, [3, 1, 0, 2], "by inode: 1, 2, 5, 9");
    }

    #[test]
    fn probe_without_files_defaults_to_parallel() {
        let (m, why) = probe(&[]);
        assert_eq!(m, Medium::Ssd);
        assert!(why.contains("too few"), "{why}");
    }
}
