//! Where files lie on a spinning disk: FIEMAP, or inode order where the
//! filesystem cannot say.

use super::open::open_evidence;
use crate::evidence::Listing;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

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

/// Orders `entries` of `listing` (under `root`) for one sweep of a spinning
/// disk: by the physical offset of each file's first extent where FIEMAP
/// answers, files it cannot place after them by inode number. Where FIEMAP
/// places none (FUSE, ntfs-3g, network filesystems), by inode number alone: the
/// best guess at where files lie, since inodes are numbered in allocation order
/// on ext4 and are MFT record numbers on NTFS. Returns how many offsets came
/// from FIEMAP.
pub fn sort_physical(root: &Path, listing: &Listing, entries: &mut [u32]) -> usize {
    let mut mapped = 0;
    let mut tried = 0;
    let mut keys: Vec<(u64, u64, u32)> = entries
        .iter()
        .map(|&i| {
            let it = listing.item(i as usize);
            // Where the first files cannot be mapped (FUSE, network, tmpfs), none
            // will be: stop opening files for nothing.
            let hopeless = mapped == 0 && tried >= 16;
            let phys = if it.read && it.size > 0 && !hopeless {
                tried += 1;
                let path = super::full_path(root, &listing.raw_path(i as usize));
                open_evidence(&path, false)
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
            (phys.unwrap_or(u64::MAX), it.ino, i)
        })
        .collect();
    keys.sort_unstable();
    for (slot, (_, _, i)) in entries.iter_mut().zip(keys) {
        *slot = i;
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Item;
    use crate::record::Kind;

    #[test]
    fn files_nothing_can_place_go_in_inode_order() {
        let mut listing = Listing::new();
        for (ino, name) in [(5u64, "a"), (2, "b"), (9, "c"), (1, "d")] {
            listing.add(
                0,
                name.as_bytes(),
                Item::new(Kind::File, 10, 0, ino, false, 3),
                None,
            );
        }
        let mut entries = vec![0, 1, 2, 3];
        let root = Path::new("/nonexistent/hashsweep");
        assert_eq!(sort_physical(root, &listing, &mut entries), 0);
        assert_eq!(entries, [3, 1, 0, 2], "by inode: 1, 2, 5, 9");
    }
}
