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

use super::open::open_evidence;
use crate::evidence::io::{IoChoice, IoDecision, Medium};
use crate::evidence::Listing;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Chooses the policy for `evidence`, probing files of `listed` when the device
/// cannot be trusted. `threads` is the hashing budget (one per core unless
/// `--threads`), `io_threads` the number of parallel readers on solid-state
/// storage. With `partial` (only part of the tree walked yet), `None` when a
/// probe is needed and there are too few files for a full one: decide again
/// with more.
pub fn decide(
    evidence: &Path,
    listed: &[&Listing],
    partial: bool,
    choice: IoChoice,
    threads: usize,
    io_threads: usize,
) -> Option<IoDecision> {
    let facts = device_facts(evidence);
    let candidates = || probe_candidates(evidence, listed);
    if partial
        && choice == IoChoice::Auto
        && facts.medium.is_none()
        && candidates().len() < PROBE_FILES
    {
        return None;
    }
    let (medium, decided_by, reason) = match choice {
        IoChoice::Force(m) => (m, "option", format!("--io {}", m.as_str())),
        IoChoice::Auto => match facts.medium {
            Some(m) => (m, "kernel", facts.reason.clone()),
            None => {
                let (m, why) = probe(&candidates());
                (m, "probe", format!("{}; {why}", facts.reason))
            }
        },
    };
    Some(IoDecision::new(
        medium,
        decided_by,
        facts.device,
        reason,
        threads,
        io_threads,
    ))
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

/// Files large enough to probe: their paths and sizes.
fn probe_candidates(root: &Path, listed: &[&Listing]) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for l in listed {
        let big: Vec<usize> = (0..l.len())
            .filter(|&i| l.item(i).read && l.item(i).size >= 8192)
            .collect();
        // Spread over the listing: no more paths built than the probe can use.
        let step = (big.len() / PROBE_FILES).max(1);
        for &i in big.iter().step_by(step) {
            out.push((super::full_path(root, &l.raw_path(i)), l.item(i).size));
        }
    }
    out
}

/// The probe stops after this long, whatever it has read.
const PROBE_BUDGET: Duration = Duration::from_millis(1500);

/// Times single-block reads at scattered places: the middle of files spread
/// over the walk. Uses `O_DIRECT` where the filesystem allows, so the page
/// cache does not answer for the device.
pub fn probe(candidates: &[(PathBuf, u64)]) -> (Medium, String) {
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
    for (path, size) in candidates.iter().step_by(step).take(PROBE_FILES) {
        if started.elapsed() > PROBE_BUDGET {
            break;
        }
        let offset = (size / 2) & !4095;
        let t = Instant::now();
        let read = match open_evidence(path, true) {
            Ok(file) => match file.read_at(&mut block.0, offset) {
                Ok(_) => {
                    direct += 1;
                    true
                }
                Err(_) => read_plain(path, offset, &mut block.0),
            },
            Err(_) => read_plain(path, offset, &mut block.0),
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

fn read_plain(path: &Path, offset: u64, buf: &mut [u8]) -> bool {
    match open_evidence(path, false) {
        Ok(f) => f.read_at(buf, offset).is_ok(),
        Err(_) => false,
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
    fn probe_without_files_defaults_to_parallel() {
        let (m, why) = probe(&[]);
        assert_eq!(m, Medium::Ssd);
        assert!(why.contains("too few"), "{why}");
    }
}
