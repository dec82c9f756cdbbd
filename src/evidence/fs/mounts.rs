//! What the OS says about the filesystem holding the evidence: its mount point,
//! type, source device and options, from `/proc/self/mountinfo`.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// One mount, as recorded in the audit header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountFacts {
    /// Where it is mounted.
    #[serde(serialize_with = "crate::pathfmt::serialize_path")]
    pub mount_point: PathBuf,
    /// The folder of the filesystem mounted there (`/` unless a bind mount of a
    /// folder inside it).
    #[serde(serialize_with = "crate::pathfmt::serialize_path")]
    pub root: PathBuf,
    /// The device number of the filesystem, `major:minor`.
    pub device: String,
    /// Filesystem type, e.g. `ext4`.
    pub fs_type: String,
    /// Mount source, e.g. `/dev/loop0`.
    pub source: String,
    /// Per-mount options, e.g. `ro,nodev,relatime`.
    pub options: String,
}

impl MountFacts {
    /// Whether the mount is read-only.
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }

    /// Whether reading through this mount can update access times: it is
    /// writable and not mounted `noatime`. (`relatime`, the usual default,
    /// still updates an access time older than the last change or a day old.)
    pub fn records_access_times(&self) -> bool {
        !self.read_only() && !self.options.split(',').any(|o| o == "noatime")
    }

    /// Where `path` (under this mount point) is inside its filesystem: the
    /// mount's root folder joined with the rest of the path.
    pub fn path_in_filesystem(&self, path: &Path) -> PathBuf {
        let rest = path.strip_prefix(&self.mount_point).unwrap_or(path);
        self.root.join(rest)
    }
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo fields.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text and returns the mount holding `path` (canonical): the
/// last-mounted entry whose mount point is the longest prefix of `path`.
pub fn find_in(mountinfo: &str, path: &Path) -> Option<MountFacts> {
    let mut best: Option<MountFacts> = None;
    for line in mountinfo.lines() {
        let (left, right) = line.split_once(" - ")?;
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 2 {
            continue;
        }
        let mount_point = PathBuf::from(unescape(l[4]));
        if !path.starts_with(&mount_point) {
            continue;
        }
        let longer = best
            .as_ref()
            .is_none_or(|b| mount_point.as_os_str().len() >= b.mount_point.as_os_str().len());
        if longer {
            best = Some(MountFacts {
                mount_point,
                root: PathBuf::from(unescape(l[3])),
                device: l[2].to_string(),
                fs_type: r[0].to_string(),
                source: unescape(r[1]),
                options: l[5].to_string(),
            });
        }
    }
    best
}

/// The mount holding `path`, where the OS tells.
pub fn find(path: &Path) -> Option<MountFacts> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    find_in(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:25 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=100k
41 30 7:0 / /tmp/my\\040ev ro,nodev,relatime shared:9 - ext4 /dev/loop0 ro
";

    #[test]
    fn longest_prefix_wins_and_escapes_are_undone() {
        let m = find_in(INFO, Path::new("/tmp/my ev/Users")).unwrap();
        assert_eq!(m.mount_point, Path::new("/tmp/my ev"));
        assert_eq!(
            (m.fs_type.as_str(), m.source.as_str()),
            ("ext4", "/dev/loop0")
        );
        assert!(m.read_only());
        assert!(!m.records_access_times());
        assert_eq!(
            (m.device.as_str(), m.root.as_path()),
            ("7:0", Path::new("/"))
        );
        let m = find_in(INFO, Path::new("/tmp/other")).unwrap();
        assert_eq!(m.fs_type, "tmpfs");
        assert!(!m.read_only());
        assert!(m.records_access_times());
        assert_eq!(
            find_in(INFO, Path::new("/home")).unwrap().source,
            "/dev/vda"
        );
    }
}
