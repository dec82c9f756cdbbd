//! Importing set files into an index, and opening a set for a scan.

use super::index;
use super::input::{self, SetInput};
use super::read::read_input;
use super::{default_name, FormatName, ParseError, Role, SetEntry, SetInfo};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Set files read into an index: the new set's info, and the first problems of
/// a lenient import.
pub struct Imported {
    /// The set's metadata, counts complete.
    pub info: SetInfo,
    /// The first problems (lenient import only).
    pub problems: Vec<ParseError>,
}

/// Reads and merges set files into an index written to `out`. `name` defaults to
/// the first file's stem. `tmp_dir` receives the sort runs of large sets.
pub fn import(
    paths: &[PathBuf],
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    tmp_dir: Option<PathBuf>,
    out: &mut (impl std::io::Write + std::io::Seek),
) -> Result<Imported> {
    import_inputs(paths, None, name, role, lenient, expect, tmp_dir, out)
}

/// [`import`], with the first set file already open.
#[allow(clippy::too_many_arguments)]
fn import_inputs(
    paths: &[PathBuf],
    mut first_input: Option<SetInput>,
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    tmp_dir: Option<PathBuf>,
    out: &mut (impl std::io::Write + std::io::Seek),
) -> Result<Imported> {
    let first = paths.first().expect("at least one set file");
    let mut builder = index::Builder::new(index::SORT_MEMORY, tmp_dir.clone());
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    let mut io_failure: Option<std::io::Error> = None;
    for (number, path) in paths.iter().enumerate() {
        let bit = 1u16 << number.min(15);
        let mut push = |mut e: SetEntry| {
            e.sources = bit;
            if io_failure.is_none() {
                if let Err(err) = builder.push(e) {
                    io_failure = Some(err);
                }
            }
        };
        let input = match first_input.take() {
            Some(input) => input,
            None => SetInput::open(path).map_err(|e| Error::io(path, e))?,
        };
        let force_pdq = expect == Some(FormatName::Pdq);
        let outcome = read_input(
            input,
            path,
            lenient,
            force_pdq,
            tmp_dir.as_deref(),
            &mut push,
        )?;
        if let Some(e) = io_failure.take() {
            return Err(Error::io(path, e));
        }
        if let Some(want) = expect.filter(|w| !w.matches(&outcome.source.format)) {
            return Err(Error::HashSet {
                path: path.clone(),
                line: 0,
                message: format!(
                    "detected format {}, not the {} given with --format",
                    outcome.source.format,
                    want.as_str()
                ),
            });
        }
        for mut e in outcome.pdq {
            e.sources = bit;
            if let Some(id) = e.id.as_mut() {
                crate::hashset::cut_id(id);
            }
            builder.push_pdq(e);
        }
        problems.extend(outcome.problems);
        sources.push(outcome.source);
    }
    let records: u64 = sources.iter().map(|s| s.records).sum();
    let bad: u64 = sources.iter().map(|s| s.bad_records).sum();
    if records == bad {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: "holds no digests".into(),
        });
    }
    if let (0, dropped @ 1..) = builder.kept() {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: format!(
                "holds only digests of the empty file ({dropped} dropped: they would match every empty file), so it can match nothing"
            ),
        });
    }
    let format: Vec<&str> = sources.iter().map(|s| s.format.as_str()).collect();
    let name = name.map_or_else(|| default_name(first), String::from);
    let mut info = SetInfo::new(&name, role, &format.join("+"), first);
    info.counts.records = records;
    info.counts.bad_records = bad;
    info.sources = sources;
    let info = builder.write(info, out).map_err(|e| Error::io(first, e))?;
    if info.counts.entries == 0 && info.counts.pdq == 0 {
        return Err(Error::HashSet {
            path: first.clone(),
            line: 0,
            message: "holds only digests of the empty file".into(),
        });
    }
    Ok(Imported { info, problems })
}

/// Opens a set for a scan: an index file (`.hsx`, any name) is mapped; any other
/// file is read strictly and indexed in memory. A raw set's SHA-256 is that of
/// its file; an index's is its checksum. `role` is `None` to keep an index's own
/// role (a raw file is then an alert set).
pub fn open(path: &Path, name: Option<&str>, role: Option<Role>) -> Result<index::IndexSet> {
    // Opened once: a pipe or FIFO (`--hashset <(cat set)`) can be read only once.
    let input = SetInput::open(path).map_err(|e| Error::io(path, e))?;
    let corrupt = |m: String| Error::HashSet {
        path: path.to_path_buf(),
        line: 0,
        message: m,
    };
    let mut set = if index::is_index(input.head()) {
        let file = input.into_mappable(None).map_err(|e| Error::io(path, e))?;
        let mut set = index::IndexSet::from_file(&file).map_err(corrupt)?;
        // Loaded from the index given; its sources are listed in its info.
        set.set_path(path);
        set
    } else {
        let mut out = std::io::Cursor::new(Vec::new());
        let imported = import_inputs(
            &[path.to_path_buf()],
            Some(input),
            name,
            role.unwrap_or(Role::Alert),
            false,
            None,
            None,
            &mut out,
        )?;
        let mut set = index::IndexSet::from_vec(out.into_inner()).map_err(corrupt)?;
        // A raw set is known by the digest of its file, as given.
        set.set_identity(&imported.info.sources[0].sha256);
        set
    };
    set.rename(name, role);
    Ok(set)
}

/// Imports set files into an index file written atomically. The index is built
/// in an anonymous file (`O_TMPFILE`) beside `output`, which the OS removes by
/// itself if the import fails, is interrupted or killed: only a complete index
/// is ever linked into place (under a temporary name, then renamed over
/// `output`). Where the filesystem has no anonymous files, a named temporary
/// file is used and removed on failure.
pub fn import_file(
    paths: &[PathBuf],
    name: Option<&str>,
    role: Role,
    lenient: bool,
    expect: Option<FormatName>,
    output: &Path,
    named_temp: &std::sync::Mutex<Option<PathBuf>>,
) -> Result<Imported> {
    use std::os::unix::fs::MetadataExt;
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The index replaces `output`: never one of its own sources.
    if let Ok(out) = std::fs::metadata(output) {
        for p in paths {
            if std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == (out.dev(), out.ino())) {
                return Err(Error::Usage(format!(
                    "the output {} is the input {}: importing would replace the set with its index; choose another output",
                    crate::pathfmt::path_text(output),
                    crate::pathfmt::path_text(p)
                )));
            }
        }
    }
    let build = |w: &mut std::fs::File| -> Result<Imported> {
        let imported = import(
            paths,
            name,
            role,
            lenient,
            expect,
            Some(dir.to_path_buf()),
            w,
        )?;
        w.sync_all().map_err(|e| Error::io(output, e))?;
        Ok(imported)
    };
    let anonymous = rustix::fs::open(
        dir,
        rustix::fs::OFlags::TMPFILE | rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::from_raw_mode(0o600),
    );
    if let Ok(fd) = anonymous {
        let mut w = std::fs::File::from(fd);
        let imported = build(&mut w)?;
        let link = tempfile::Builder::new()
            .prefix(".hashsweep-import-")
            .make_in(dir, |p| {
                rustix::fs::linkat(
                    rustix::fs::CWD,
                    input::fd_path(&w),
                    rustix::fs::CWD,
                    p,
                    rustix::fs::AtFlags::SYMLINK_FOLLOW,
                )
                .map_err(std::io::Error::from)
            })
            .map_err(|e| Error::io(dir, e))?;
        link.into_temp_path()
            .persist(output)
            .map_err(|e| Error::io(output, e.error))?;
        return Ok(imported);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".hashsweep-import-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let (mut w, tmp_path) = tmp.into_parts();
    // Named so that whoever handles signals can remove it.
    *named_temp.lock().expect("temp path") = Some(tmp_path.to_path_buf());
    let imported = build(&mut w);
    let persisted = imported.and_then(|i| {
        tmp_path
            .persist(output)
            .map(|()| i)
            .map_err(|e| Error::io(output, e.error))
    });
    *named_temp.lock().expect("temp path") = None;
    persisted
}
