//! The identity of the evidence: what tells one exhibit's filesystem from
//! another mounted at the same place. Recorded in the audit header; `--resume`
//! refuses a case folder whose evidence identity differs, so two disks are never
//! mixed in one report.
//!
//! A mount point, a device number and a mount source are not enough: unmount
//! image A from `/dev/loop0` and mount image B there, and all three are the same.
//! What differs is inside the filesystem: its UUID (read from the superblock of
//! ext2/3/4, XFS, btrfs, FAT, exFAT and NTFS, where the device can be read),
//! and the birth time of the evidence root folder (set when the folder was made,
//! with nanoseconds on most filesystems). Where neither is known on both sides
//! (FUSE, network filesystems), the device, mount source, loop backing file and
//! the filesystem's `f_fsid` must match instead.

use crate::evidence::fs::mounts::{self, MountFacts};
use crate::time::FileTime;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

/// What identifies the evidence's filesystem and root folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceIdentity {
    /// Filesystem type, e.g. `ext4`.
    pub fs_type: Option<String>,
    /// The filesystem's UUID (or volume serial number), from its superblock.
    pub fs_uuid: Option<String>,
    /// `statfs` `f_fsid`, hex, when not zero.
    pub fsid: Option<String>,
    /// Device number of the evidence root, `major:minor`.
    pub device: String,
    /// The mount's source, e.g. `/dev/loop0`.
    pub mount_source: Option<String>,
    /// For a loop device, its backing file.
    pub backing_file: Option<String>,
    /// Inode number of the evidence root.
    pub root_inode: u64,
    /// Birth time of the evidence root, where the filesystem records one.
    pub root_birth: Option<String>,
}

impl EvidenceIdentity {
    /// The identity of the evidence rooted at `root` (a canonical directory).
    pub fn of(root: &Path) -> EvidenceIdentity {
        let meta = std::fs::metadata(root).ok();
        let dev = meta.as_ref().map_or(0, |m| m.dev());
        let mount = mounts::find(root);
        let fsid = rustix::fs::statvfs(root)
            .ok()
            .map(|v| v.f_fsid)
            .filter(|v| *v != 0)
            .map(|v| format!("{v:016x}"));
        let root_birth = rustix::fs::statx(
            rustix::fs::CWD,
            root,
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            rustix::fs::StatxFlags::BTIME,
        )
        .ok()
        .filter(|x| x.stx_mask & rustix::fs::StatxFlags::BTIME.bits() != 0)
        .map(|x| {
            FileTime {
                secs: x.stx_btime.tv_sec,
                nanos: x.stx_btime.tv_nsec,
            }
            .rfc3339()
        });
        EvidenceIdentity {
            fs_type: mount.as_ref().map(|m| m.fs_type.clone()),
            fs_uuid: mount.as_ref().and_then(superblock_uuid),
            fsid,
            device: format!("{}:{}", libc::major(dev), libc::minor(dev)),
            mount_source: mount.as_ref().map(|m| m.source.clone()),
            backing_file: loop_backing_file(dev),
            root_inode: meta.map_or(0, |m| m.ino()),
            root_birth,
        }
    }

    /// What differs between the identity recorded (`self`) and `now`, as
    /// sentences; empty when they are the same evidence.
    pub fn differences(&self, now: &EvidenceIdentity) -> Vec<String> {
        let mut out = Vec::new();
        let mut both = |what: &str, a: &Option<String>, b: &Option<String>| {
            if let (Some(a), Some(b)) = (a, b) {
                if a != b {
                    out.push(format!("{what} was {a}, now {b}"));
                }
                true
            } else {
                false
            }
        };
        let uuid = both("filesystem UUID", &self.fs_uuid, &now.fs_uuid);
        let birth = both("root folder birth time", &self.root_birth, &now.root_birth);
        both("filesystem type", &self.fs_type, &now.fs_type);
        if !uuid && !birth {
            // Nothing inside the filesystem tells them apart: where it is must.
            both("filesystem id", &self.fsid, &now.fsid);
            let source = both("mount source", &self.mount_source, &now.mount_source);
            both("loop backing file", &self.backing_file, &now.backing_file);
            // A device number without a device (FUSE, network: 0:NN) is handed
            // out anew at each mount; the mount source says more, where known.
            if !source && self.device != now.device {
                out.push(format!("device was {}, now {}", self.device, now.device));
            }
        }
        if self.root_inode != now.root_inode {
            out.push(format!(
                "root folder inode was {}, now {}",
                self.root_inode, now.root_inode
            ));
        }
        out
    }
}

/// Whether the filesystem holding `path` (on another device than the evidence)
/// is the evidence's filesystem mounted a second time: the same UUID, or the
/// same loop backing file. Writing there would change the exhibit.
pub fn same_filesystem(evidence: &EvidenceIdentity, path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let backing = loop_backing_file(meta.dev());
    if backing.is_some() && backing == evidence.backing_file {
        return true;
    }
    let uuid = mounts::find(path).as_ref().and_then(superblock_uuid);
    uuid.is_some() && uuid == evidence.fs_uuid
}

/// The backing file of a loop device, from `/sys`.
fn loop_backing_file(dev: u64) -> Option<String> {
    if libc::major(dev) != 7 {
        return None;
    }
    let p = format!(
        "/sys/dev/block/{}:{}/loop/backing_file",
        libc::major(dev),
        libc::minor(dev)
    );
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The UUID or serial number in the superblock of the mount's source device,
/// where it is a device this process may read. Reading is read-only and never
/// goes through the mounted filesystem.
fn superblock_uuid(mount: &MountFacts) -> Option<String> {
    if !mount.source.starts_with("/dev/") {
        return None;
    }
    use std::os::unix::fs::FileTypeExt;
    let dev = File::open(&mount.source).ok()?;
    if !dev.metadata().ok()?.file_type().is_block_device() {
        return None;
    }
    let mut block = vec![0u8; 0x10000 + 4096];
    let n = read_full(&dev, &mut block);
    uuid_in(&block[..n])
}

fn read_full(f: &File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn hex(b: &[u8]) -> String {
    crate::digest::to_hex(b)
}

/// Finds a filesystem's UUID or serial number in its first 68 KiB.
pub fn uuid_in(b: &[u8]) -> Option<String> {
    let at = |o: usize, len: usize| b.get(o..o + len);
    // ext2/3/4: superblock at 1024, magic 0xEF53 at +0x38, UUID at +0x68.
    if at(1024 + 0x38, 2) == Some(&[0x53, 0xef]) {
        return at(1024 + 0x68, 16).map(|u| format!("ext:{}", hex(u)));
    }
    // XFS: magic XFSB at 0, UUID at 32.
    if at(0, 4) == Some(b"XFSB") {
        return at(32, 16).map(|u| format!("xfs:{}", hex(u)));
    }
    // btrfs: superblock at 64 KiB, magic at +0x40, fsid at +0x20.
    if at(0x10000 + 0x40, 8) == Some(b"_BHRfS_M") {
        return at(0x10000 + 0x20, 16).map(|u| format!("btrfs:{}", hex(u)));
    }
    // NTFS: OEM id at 3, volume serial number at 0x48.
    if at(3, 8) == Some(b"NTFS    ") {
        return at(0x48, 8).map(|u| format!("ntfs:{}", hex(u)));
    }
    // exFAT: OEM id at 3, volume serial number at 100.
    if at(3, 8) == Some(b"EXFAT   ") {
        return at(100, 4).map(|u| format!("exfat:{}", hex(u)));
    }
    // FAT32: type at 82, volume id at 67; FAT12/16: type at 54, volume id at 39.
    if at(82, 5) == Some(b"FAT32") {
        return at(67, 4).map(|u| format!("fat:{}", hex(u)));
    }
    if at(54, 4) == Some(b"FAT1") {
        return at(39, 4).map(|u| format!("fat:{}", hex(u)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblock_uuids_of_common_filesystems() {
        let mut ext = vec![0u8; 4096];
        ext[1024 + 0x38] = 0x53;
        ext[1024 + 0x39] = 0xef;
        ext[1024 + 0x68..1024 + 0x78].copy_from_slice(&[0xab; 16]);
        assert_eq!(uuid_in(&ext).unwrap(), format!("ext:{}", "ab".repeat(16)));
        let mut ntfs = vec![0u8; 512];
        ntfs[3..11].copy_from_slice(b"NTFS    ");
        ntfs[0x48..0x50].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(uuid_in(&ntfs).unwrap(), "ntfs:0102030405060708");
        assert_eq!(uuid_in(&[0u8; 8192]), None);
        assert_eq!(uuid_in(&[]), None);
    }

    #[test]
    fn the_same_folder_is_the_same_evidence_and_another_is_not() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ia = EvidenceIdentity::of(a.path());
        assert!(ia.differences(&EvidenceIdentity::of(a.path())).is_empty());
        let ib = EvidenceIdentity::of(b.path());
        let diff = ia.differences(&ib);
        assert!(!diff.is_empty());
        assert!(diff.iter().any(|d| d.contains("inode")), "{diff:?}");
    }

    #[test]
    fn same_place_other_filesystem_is_told_apart() {
        let before = EvidenceIdentity {
            fs_type: Some("ext4".into()),
            fs_uuid: Some("ext:aa".into()),
            device: "7:0".into(),
            mount_source: Some("/dev/loop0".into()),
            root_inode: 2,
            ..Default::default()
        };
        let mut now = before.clone();
        now.fs_uuid = Some("ext:bb".into());
        assert_eq!(
            now.differences(&before),
            ["filesystem UUID was ext:bb, now ext:aa"]
        );
        // Another loop device after a reboot, same filesystem: the same evidence.
        let mut moved = before.clone();
        moved.device = "7:3".into();
        moved.mount_source = Some("/dev/loop3".into());
        assert!(before.differences(&moved).is_empty());
        // Without anything from inside the filesystem, the place must match.
        let (mut a, mut b) = (before.clone(), moved);
        a.fs_uuid = None;
        b.fs_uuid = None;
        assert_eq!(
            a.differences(&b),
            ["mount source was /dev/loop0, now /dev/loop3"]
        );
        // A FUSE or network filesystem mounted again gets a new device number.
        let mut fuse = a.clone();
        fuse.mount_source = Some("slowdisk".into());
        fuse.device = "0:57".into();
        let mut again = fuse.clone();
        again.device = "0:61".into();
        assert!(fuse.differences(&again).is_empty());
        fuse.mount_source = None;
        again.mount_source = None;
        assert_eq!(fuse.differences(&again).len(), 1);
    }
}
