//! `manifest.sha256`: the SHA-256 of each other case file, in the format
//! `sha256sum -c` reads (`<hex>  <name>`), written last.

use crate::digest::to_hex;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(to_hex(&h.finalize()))
}

/// Writes `manifest` in `dir`, listing `files` (names inside `dir`) in the order given.
pub fn write(dir: &Path, files: &[&str], manifest: &str) -> Result<()> {
    let mut text = String::new();
    for name in files {
        let p = dir.join(name);
        let digest = sha256_file(&p).map_err(|e| Error::io(&p, e))?;
        text.push_str(&format!("{digest}  {name}\n"));
    }
    let path = dir.join(manifest);
    crate::output::write_atomically(&path, text.as_bytes()).map_err(|e| Error::output(&path, e))
}
