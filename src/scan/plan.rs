//! The order files are read in: likely hits first, hard links once.
//!
//! Files under user profile folders (`Users/<name>`, `home/<name>`, `Documents
//! and Settings/<name>`) and camera folders (`DCIM`) come first, and within each
//! group files whose names suggest pictures, videos or archives. Content decides
//! the rest while reading: a large file whose first bytes are not an image, a
//! video or an archive is put back until everything else has been read (see
//! `super::queue::Queue::defer`). On a spinning disk each group is read in
//! physical order. The folders holding user profiles near the top of the
//! evidence are also listed first, so their files can be read while the rest
//! is listed. None of this changes a report row (only which path of a
//! hard-linked file is the one read, which the note of the others names): the
//! reports are sorted by path at the end.

use crate::evidence::{Listing, Source, CAMERA_FOLDER, PROFILE_ROOTS};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A large file whose content is not a likely hit is read after everything else.
pub const DEFER_ABOVE: u64 = 1 << 20;

/// Extensions of pictures, videos and archives (lower case).
const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jfif", "png", "gif", "bmp", "webp", "heic", "heif", "tif", "tiff", "mp4",
    "m4v", "mov", "avi", "wmv", "mkv", "webm", "3gp", "mpg", "mpeg", "flv", "zip", "rar", "7z",
];

/// The priority group of a report path: 0 is read first.
pub fn group(rel: &str) -> u8 {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    let in_profile = dirs.iter().enumerate().any(|(i, d)| {
        (PROFILE_ROOTS.iter().any(|r| d.eq_ignore_ascii_case(r)) && i + 1 < dirs.len())
            || d.eq_ignore_ascii_case(CAMERA_FOLDER)
    });
    let media = crate::digest::content::extension(rel)
        .is_some_and(|e| MEDIA_EXTENSIONS.iter().any(|m| e.eq_ignore_ascii_case(m)));
    match (in_profile, media) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// The entries of a scan, numbered across the two parts of the listing: the
/// folders listed first, then the rest, added once listed; with the other
/// paths of each hard-linked file, which get their rows from its one read.
pub struct Todo {
    /// The part listed first.
    pub first: Listing,
    /// The other paths, in the first part, of first-part files read.
    pub first_links: HashMap<u32, Vec<u32>>,
    /// The rest, once listed and planned.
    pub rest: OnceLock<Rest>,
}

/// The part listed after the first.
pub struct Rest {
    /// Its entries, numbered from the end of the first part's.
    pub listing: Listing,
    /// The other paths of its hard-linked files, read with the first path.
    pub links: HashMap<u32, Vec<u32>>,
    /// Paths here of files read as a path of the first part (by its number).
    pub late: HashMap<u32, Vec<u32>>,
}

impl Todo {
    /// The listing holding entry `id`, and the entry's index in it; entries of
    /// the rest are handed out only once it is listed.
    pub fn get(&self, id: u32) -> (&Listing, usize) {
        let n = self.first.len();
        if (id as usize) < n {
            (&self.first, id as usize)
        } else {
            let rest = self.rest.get().expect("the rest is listed");
            (&rest.listing, id as usize - n)
        }
    }

    /// The other paths of entry `id` in its own part, read with it.
    pub fn links(&self, id: u32) -> &[u32] {
        let links = if (id as usize) < self.first.len() {
            Some(&self.first_links)
        } else {
            self.rest.get().map(|r| &r.links)
        };
        links
            .and_then(|l| l.get(&id))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The paths in the rest of first-part entry `id`: `None` while the rest
    /// is not listed.
    pub fn late(&self, id: u32) -> Option<&[u32]> {
        let rest = self.rest.get()?;
        Some(rest.late.get(&id).map_or(&[][..], Vec::as_slice))
    }

    /// Entries listed so far.
    pub fn len(&self) -> usize {
        self.first.len() + self.rest.get().map_or(0, |r| r.listing.len())
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The listings so far.
    pub fn listings(&self) -> Vec<&Listing> {
        std::iter::once(&self.first)
            .chain(self.rest.get().map(|r| &r.listing))
            .collect()
    }
}

/// What to read, in what order.
#[derive(Debug, Default)]
pub struct Plan {
    /// Entries to handle (numbered from the plan's offset), in reading order.
    /// Hard links other than the path read of each file are not here.
    pub order: Vec<u32>,
    /// For a path read, the other paths of the same file, which get rows with
    /// the digests of that one read.
    pub links: HashMap<u32, Vec<u32>>,
    /// Entries in the first two groups (user folders).
    pub in_profiles: usize,
    /// Entries placed by their physical position (physical order only).
    pub physically_mapped: usize,
}

/// Plans the entries of `listing`, numbered from `offset`, but those `done`
/// says are done. Each entry's read group is set on the way. Of the paths of a
/// hard-linked file, the least report path is read, unless `read_elsewhere`
/// says the file is read as a path of another part (its paths here are then
/// left out and returned, with that path, as "late" links). With `physical`,
/// each group is put in the order `source` finds best for a spinning disk.
pub fn plan(
    listing: &mut Listing,
    offset: u32,
    done: &dyn Fn(u32) -> bool,
    read_elsewhere: &dyn Fn((u64, u64)) -> Option<u32>,
    physical: bool,
    source: &dyn Source,
) -> (Plan, Vec<(u32, u32)>) {
    let mut plan = Plan::default();
    let mut late = Vec::new();
    let mut by_file: HashMap<(u32, u64), Vec<u32>> = HashMap::new();
    let mut groups: [Vec<u32>; 4] = Default::default();
    for i in 0..listing.len() {
        let id = offset + i as u32;
        if done(id) {
            continue;
        }
        let g = group(&listing.path(i));
        listing.set_group(i, g);
        if let Some(key) = listing.item(i).link_key() {
            let dev = listing.dev(listing.item(i));
            if let Some(read_as) = read_elsewhere((dev, key.1)) {
                late.push((read_as, id));
                continue;
            }
            by_file.entry(key).or_default().push(id);
            continue;
        }
        groups[usize::from(g)].push(i as u32);
    }
    // Each hard-linked file: its least path is read, the others get its row.
    for (_, mut ids) in by_file {
        let path = |id: &u32| listing.path((id - offset) as usize);
        ids.sort_by_cached_key(path);
        let first = ids[0];
        let g = listing.item((first - offset) as usize).group;
        groups[usize::from(g)].push(first - offset);
        if ids.len() > 1 {
            plan.links.insert(first, ids[1..].to_vec());
        }
    }
    plan.in_profiles = groups[0].len() + groups[1].len();
    for g in &mut groups {
        if physical {
            plan.physically_mapped += source.place(listing, g);
        } else {
            // The listing's order, made the same for every run.
            g.sort_unstable();
        }
        plan.order.extend(g.iter().map(|i| i + offset));
    }
    (plan, late)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_folder_and_name() {
        assert_eq!(group("/Users/alice/Pictures/a.JPG"), 0);
        assert_eq!(group("/home/bob/notes.txt"), 1);
        assert_eq!(group("/mnt/DCIM/100APPLE/x.dat"), 1);
        assert_eq!(group("/Windows/Web/a.jpg"), 2);
        assert_eq!(group("/Windows/System32/a.dll"), 3);
        // The folder itself, not a user's folder in it.
        assert_eq!(group("/Users/desktop.ini"), 3);
        assert_eq!(group("/usersettings/a/b.txt"), 3);
    }
}
