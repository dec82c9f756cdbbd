//! How to read the evidence: the policy (many parallel readers on solid-state
//! storage, or one sequential reader in physical order on a spinning disk) and
//! why it was chosen, as data the scan follows and the audit log records.

use serde::Serialize;

/// The kind of storage, as the read policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Solid-state (or memory, or a fast network store): parallel readers.
    Ssd,
    /// Rotational: one reader, files in physical order.
    Hdd,
}

impl Medium {
    /// `ssd` or `hdd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Ssd => "ssd",
            Medium::Hdd => "hdd",
        }
    }
}

/// The `--io` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoChoice {
    /// Detect the device, probing when the kernel cannot be trusted.
    #[default]
    Auto,
    /// Force a policy.
    Force(Medium),
}

/// The read policy chosen for a scan, and why.
#[derive(Debug, Clone, Serialize)]
pub struct IoDecision {
    /// The policy.
    pub medium: Medium,
    /// How it was chosen: `option` (--io), `kernel` (device attributes) or `probe`.
    pub decided_by: &'static str,
    /// The device behind the evidence, as far as it could be followed.
    pub device: String,
    /// Why, in words.
    pub reason: String,
    /// Threads reading files.
    pub readers: usize,
    /// Threads hashing (the readers themselves on ssd).
    pub hashers: usize,
    /// Read order: `path` (hits first, then path) or `physical` (hits first, then
    /// physical offset where the filesystem maps extents, else path).
    pub order: &'static str,
}

impl IoDecision {
    /// The decision to read as `medium`: on solid-state storage `io_threads`
    /// parallel readers; on a spinning disk one reader in physical order and up
    /// to two of the `threads` hashing.
    pub fn new(
        medium: Medium,
        decided_by: &'static str,
        device: String,
        reason: String,
        threads: usize,
        io_threads: usize,
    ) -> IoDecision {
        let (readers, hashers, order) = match medium {
            Medium::Ssd => (io_threads, io_threads, "path"),
            Medium::Hdd => (1, threads.clamp(1, 2), "physical"),
        };
        IoDecision {
            medium,
            decided_by,
            device,
            reason,
            readers,
            hashers,
            order,
        }
    }

    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let how = match self.medium {
            Medium::Ssd => format!("{} parallel readers", self.readers),
            Medium::Hdd => format!(
                "1 reader in physical order, {} hashing thread{}",
                self.hashers,
                if self.hashers == 1 { "" } else { "s" }
            ),
        };
        format!(
            "I/O policy {} ({}): {}; {how}",
            self.medium.as_str(),
            self.decided_by,
            self.reason
        )
    }
}
