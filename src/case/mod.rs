//! The case folder: its lock, the audit log, the journal of rows, the manifest,
//! and `verify`.

pub mod audit;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod verify;
