//! The case folder: its lock, the audit log, the journal of rows, the manifest,
//! and `verify`.

pub mod audit;
pub mod event;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod sort;
pub mod verify;
