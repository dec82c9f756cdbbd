//! `media.csv`, the unknown-media queue: one row per picture or video that no
//! set knows (verdict `unmatched`, or `similar`, which still needs a person),
//! ordered for review. Nothing is displayed or thumbnailed: the queue holds
//! facts about each file.
//!
//! - Pictures within the PDQ distance of each other (in any orientation) share
//!   a near-duplicate group, so a reviewer can see each scene once; pictures
//!   of quality below 50 and videos have no group.
//! - Order: pictures straight from a camera (make and model in their Exif, no
//!   editing software) first, by camera serial number, then make and model;
//!   then the rest. A group stays together, placed where its first member
//!   would be, its members in the same order; paths break ties. Groups are
//!   numbered in that order.

use super::csv::{safe_cell, Cells};
use crate::digest::exif::CameraInfo;
use crate::digest::pdq::{self, Pdq};
use crate::digest::pdq_index::PdqIndex;
use crate::record::{Record, Verdict};

/// The columns of `media.csv`.
pub const MEDIA_COLUMNS: [&str; 20] = [
    "path",
    "verdict",
    "type",
    "type_mismatch",
    "size",
    "width",
    "height",
    "camera_make",
    "camera_model",
    "camera_serial",
    "taken",
    "gps",
    "latitude",
    "longitude",
    "software",
    "from_camera",
    "pdq",
    "pdq_quality",
    "group",
    "group_size",
];

/// Positions of the columns the grouping fills.
mod col {
    pub const FROM_CAMERA: usize = 15;
    pub const GROUP: usize = 18;
    pub const GROUP_SIZE: usize = 19;
}

/// A media row before grouping: its cells (the group columns empty) and what
/// ordering and grouping need.
#[derive(Debug, Clone)]
pub struct MediaRow {
    cells: [String; 20],
    turned: Option<Box<[Pdq; 8]>>,
    /// (not from a camera, serial absent, serial, make, model)
    key: (bool, bool, String, String, String),
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaCounts {
    /// Rows of media.csv.
    pub rows: u64,
    /// Of them, pictures with a PDQ hash good enough to group.
    pub grouped: u64,
    /// Near-duplicate groups.
    pub groups: u64,
    /// Groups of more than one picture.
    pub groups_of_several: u64,
    /// The largest group.
    pub largest_group: u64,
    /// Rows straight from a camera.
    pub from_camera: u64,
}

/// Whether a row of `verdict` whose content type is `mime` belongs in the
/// queue: a picture or a video that no set knows.
pub fn queued(verdict: Verdict, mime: &str) -> bool {
    matches!(verdict, Verdict::Unmatched | Verdict::Similar)
        && (mime.starts_with("image/") || mime.starts_with("video/"))
}

/// The media row of a report row, if it belongs in the queue.
pub fn media_row(r: &Record, cells: &Cells) -> Option<MediaRow> {
    if !r
        .content
        .as_ref()
        .is_some_and(|c| queued(r.verdict, &c.mime))
    {
        return None;
    }
    let cam: Option<&CameraInfo> = r.camera.as_ref().map(|c| &c.0);
    let text = |f: fn(&CameraInfo) -> &Option<String>| {
        safe_cell(cam.and_then(|c| f(c).as_deref()).unwrap_or("")).into_owned()
    };
    let gps = cam.and_then(|c| c.gps);
    // A negative coordinate is guarded like any cell that starts with `-`.
    let coord = |v: Option<f64>| {
        v.map(|x| safe_cell(&format!("{x:.6}")).into_owned())
            .unwrap_or_default()
    };
    let from_camera = cam.is_some_and(CameraInfo::from_camera);
    let (width, height) = r
        .pdq
        .as_ref()
        .map(|p| (p.width.to_string(), p.height.to_string()))
        .unwrap_or_default();
    use super::csv::col as report;
    let row = [
        cells[report::PATH].clone(),
        cells[report::VERDICT].clone(),
        cells[report::TYPE].clone(),
        cells[report::TYPE_MISMATCH].clone(),
        cells[report::SIZE].clone(),
        width,
        height,
        text(|c| &c.make),
        text(|c| &c.model),
        text(|c| &c.serial),
        text(|c| &c.taken),
        if gps.is_some() { "true" } else { "" }.to_string(),
        coord(gps.and_then(|g| g.latitude)),
        coord(gps.and_then(|g| g.longitude)),
        text(|c| &c.software),
        if from_camera { "true" } else { "false" }.to_string(),
        cells[report::PDQ].clone(),
        cells[report::PDQ_QUALITY].clone(),
        String::new(),
        String::new(),
    ];
    let serial = cam.and_then(|c| c.serial.clone());
    Some(MediaRow {
        key: (
            !from_camera,
            serial.is_none(),
            serial.unwrap_or_default(),
            cam.and_then(|c| c.make.clone()).unwrap_or_default(),
            cam.and_then(|c| c.model.clone()).unwrap_or_default(),
        ),
        turned: r
            .pdq
            .as_ref()
            .filter(|p| p.quality >= pdq::MIN_QUALITY)
            .map(|p| Box::new(p.turned)),
        cells: row,
    })
}

/// Orders `rows` (given in path order), groups near duplicates within
/// `distance`, and returns the rows to write with the counts.
pub fn arrange(rows: Vec<MediaRow>, distance: u32) -> (Vec<[String; 20]>, MediaCounts) {
    let n = rows.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let hashed: Vec<usize> = (0..n).filter(|&i| rows[i].turned.is_some()).collect();
    let hashes: Vec<Pdq> = hashed
        .iter()
        .map(|&i| rows[i].turned.as_ref().expect("hashed")[0])
        .collect();
    let index = PdqIndex::build(&hashes);
    let view = index.view();
    let mut found = Vec::new();
    for &i in &hashed {
        for h in rows[i].turned.as_ref().expect("hashed").iter() {
            found.clear();
            view.search(h, distance, &mut found);
            for &(k, _) in &found {
                let (a, b) = (root(&mut parent, i), root(&mut parent, hashed[k as usize]));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    // Each group is placed at its best member: the smallest key, then path
    // order (the rows' given order).
    let group: Vec<usize> = (0..n).map(|i| root(&mut parent, i)).collect();
    let mut best: Vec<Option<usize>> = vec![None; n];
    let mut size = vec![0u64; n];
    for i in 0..n {
        let g = group[i];
        size[g] += 1;
        if best[g].is_none_or(|b| rows[i].key < rows[b].key) {
            best[g] = Some(i);
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (ba, bb) = (best[group[a]].unwrap_or(a), best[group[b]].unwrap_or(b));
        (&rows[ba].key, ba, &rows[a].key, a).cmp(&(&rows[bb].key, bb, &rows[b].key, b))
    });
    let mut counts = MediaCounts {
        rows: n as u64,
        grouped: hashed.len() as u64,
        ..MediaCounts::default()
    };
    let mut numbers: Vec<Option<u64>> = vec![None; n];
    let mut out = Vec::with_capacity(n);
    let mut rows = rows;
    for i in order {
        let g = group[i];
        let row = &mut rows[i];
        if row.cells[col::FROM_CAMERA] == "true" {
            counts.from_camera += 1;
        }
        if row.turned.is_some() {
            let number = *numbers[g].get_or_insert_with(|| {
                counts.groups += 1;
                if size[g] > 1 {
                    counts.groups_of_several += 1;
                }
                counts.largest_group = counts.largest_group.max(size[g]);
                counts.groups
            });
            row.cells[col::GROUP] = number.to_string();
            row.cells[col::GROUP_SIZE] = size[g].to_string();
        }
        out.push(std::mem::take(&mut row.cells));
    }
    (out, counts)
}
