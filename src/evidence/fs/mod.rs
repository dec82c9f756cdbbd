//! A mounted evidence tree read through the OS.

pub mod atime;
pub mod device;
pub mod identity;
pub mod mapped;
pub mod mounts;
pub mod walk;
