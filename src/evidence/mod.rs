//! Where the bytes of a scan come from. [`fs`] is a mounted tree: the forensic
//! walk, forensic opens, memory maps, the device behind it and its physical
//! layout, its mounts, identity and access times.

pub mod fs;
