//! Times: a file time with the filesystem's full precision, the four times of
//! an entry, and the current time, all written in RFC 3339 UTC.

use serde::{Deserialize, Serialize};

/// The current time, RFC 3339 UTC.
pub fn now() -> String {
    FileTime::from_system(std::time::SystemTime::now()).rfc3339()
}

/// A file time: seconds and nanoseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileTime {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds, 0..1_000_000_000.
    pub nanos: u32,
}

impl FileTime {
    /// Converts from a `SystemTime`, including times before the epoch.
    pub fn from_system(t: std::time::SystemTime) -> FileTime {
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => FileTime {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let (mut secs, mut nanos) = (-(d.as_secs() as i64), d.subsec_nanos());
                if nanos > 0 {
                    secs -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                FileTime { secs, nanos }
            }
        }
    }

    /// RFC 3339 in UTC with nine fractional digits, e.g. `2024-05-01T12:00:00.000000000Z`.
    /// Times outside the years -9999..=9999 are written as seconds since the epoch.
    pub fn rfc3339(self) -> String {
        // Years 1000 to 9998, written here (every report row has four times);
        // the rare rest by jiff, whose output these bytes are.
        const FAST: std::ops::Range<i64> = -30_610_224_000..253_370_764_800;
        if !FAST.contains(&self.secs) || self.nanos >= 1_000_000_000 {
            return match jiff::Timestamp::new(self.secs, self.nanos as i32) {
                Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S.%NZ").to_string(),
                Err(_) => format!("@{}.{:09}", self.secs, self.nanos),
            };
        }
        let (y, m, d) = civil_from_days(self.secs.div_euclid(86_400));
        let sod = self.secs.rem_euclid(86_400);
        let mut out = *b"0000-00-00T00:00:00.000000000Z";
        let mut put = |at: usize, width: usize, mut v: u64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y as u64);
        put(5, 2, m as u64);
        put(8, 2, d as u64);
        put(11, 2, (sod / 3600) as u64);
        put(14, 2, (sod / 60 % 60) as u64);
        put(17, 2, (sod % 60) as u64);
        put(20, 9, u64::from(self.nanos));
        String::from_utf8(out.to_vec()).expect("ASCII")
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (the
/// well-known civil-from-days computation in 400-year eras).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// On the wire (the journal), `[secs, nanos]`.
impl Serialize for FileTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.secs, self.nanos).serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileTime, D::Error> {
        let (secs, nanos) = <(i64, u32)>::deserialize(d)?;
        if nanos >= 1_000_000_000 {
            return Err(serde::de::Error::custom("nanoseconds out of range"));
        }
        Ok(FileTime { secs, nanos })
    }
}

/// The four file times; `None` where the filesystem does not record one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Times {
    /// Last content modification (mtime).
    pub modified: Option<FileTime>,
    /// Last access (atime).
    pub accessed: Option<FileTime>,
    /// Last inode change (ctime).
    pub changed: Option<FileTime>,
    /// Creation (birth) time, where the filesystem and OS provide it.
    pub created: Option<FileTime>,
}

impl Times {
    /// Reads the times from `lstat`/`statx` metadata.
    pub fn from_metadata(meta: &std::fs::Metadata) -> Times {
        use std::os::unix::fs::MetadataExt;
        let changed = (0..1_000_000_000)
            .contains(&meta.ctime_nsec())
            .then(|| FileTime {
                secs: meta.ctime(),
                nanos: meta.ctime_nsec() as u32,
            });
        Times {
            modified: meta.modified().ok().map(FileTime::from_system),
            accessed: meta.accessed().ok().map(FileTime::from_system),
            changed,
            created: meta.created().ok().map(FileTime::from_system),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_jiff(t: FileTime) -> String {
        match jiff::Timestamp::new(t.secs, t.nanos as i32) {
            Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S.%NZ").to_string(),
            Err(_) => format!("@{}.{:09}", t.secs, t.nanos),
        }
    }

    #[test]
    fn rfc3339_is_jiffs_everywhere() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut secs = vec![
            0,
            -1,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            -30_610_224_001,
            -30_610_224_000,
            253_370_764_799,
            253_370_764_800,
            253_402_300_799,
            -377_705_116_800,
            i64::MIN,
            i64::MAX,
            -2_208_988_800, // 1900-01-01
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            secs.push((x % 700_000_000_000) as i64 - 350_000_000_000);
        }
        for (i, s) in secs.into_iter().enumerate() {
            let t = FileTime {
                secs: s,
                nanos: (i as u32).wrapping_mul(2_654_435_761) % 1_000_000_000,
            };
            assert_eq!(t.rfc3339(), by_jiff(t), "{t:?}");
        }
    }

    #[test]
    fn file_times_travel_as_pairs() {
        let t = FileTime { secs: -5, nanos: 7 };
        assert_eq!(serde_json::to_string(&t).unwrap(), "[-5,7]");
        assert_eq!(serde_json::from_str::<FileTime>("[-5,7]").unwrap(), t);
        assert!(serde_json::from_str::<FileTime>("[1,1000000000]").is_err());
    }
}
