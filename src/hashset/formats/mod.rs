//! One importer per hash-set format.

pub mod csvsets;
pub mod digest_list;
pub mod encase;
pub mod hashdeep;
pub mod pdq;
pub mod rdsv3;
pub mod vics;
