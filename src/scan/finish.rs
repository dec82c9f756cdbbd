//! The end of a scan: the sets' checksums checked, the reports made from the
//! journal in path order, the summary, the last audit event and the manifest.

use crate::case::audit::Audit;
use crate::case::event::{Event, Totals};
use crate::case::{journal::JOURNAL, sort};
use crate::config::ScanConfig;
use crate::error::{Error, Result};
use crate::failpoint;
use crate::hashset::ContentCheck;
use crate::output::csv::{cells, Cells, CsvOutput};
use crate::output::dfxml::DfxmlOutput;
use crate::output::jsonl::JsonlOutput;
use crate::output::media::{arrange, media_row, MediaCounts, MediaRow, MEDIA_COLUMNS};
use crate::output::summary::{SetSummary, Summary, Tally, Timings};
use crate::output::{
    RowOutput, AUDIT, HITS, MANIFEST, MEDIA, REPORT, REPORT_DFXML, REPORT_JSONL, SUMMARY,
};
use crate::record::Record;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The outcome of checking one set's stored content.
pub struct SetCheck {
    /// The set's name.
    pub name: String,
    /// Its file.
    pub path: std::path::PathBuf,
    /// What was found.
    pub result: ContentCheck,
    /// Bytes read.
    pub bytes: u64,
    /// Seconds taken.
    pub seconds: f64,
}

/// Recomputes set `i`'s checksum (the whole index is read), giving up when
/// `stop` says so.
pub fn check_set(cfg: &ScanConfig, i: usize, stop: &dyn Fn() -> bool) -> SetCheck {
    let s = &cfg.matcher.sets()[i];
    let t = Instant::now();
    let result = s.verify_content(stop);
    SetCheck {
        name: s.info().name.clone(),
        path: s.info().path.clone(),
        bytes: if result == ContentCheck::NotStored {
            0
        } else {
            s.stored_len()
        },
        result,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// [`check_set`] for every set.
pub fn check_sets(cfg: &ScanConfig, stop: &dyn Fn() -> bool) -> Vec<SetCheck> {
    (0..cfg.matcher.sets().len())
        .map(|i| check_set(cfg, i, stop))
        .collect()
}

/// Logs the checks; the first mismatch is a fatal error (with `hits.csv`
/// emptied: its hits cannot be trusted either). A check given up though the
/// scan is `complete` is run again to its end.
pub fn settle_checks(
    cfg: &ScanConfig,
    mut checks: Vec<SetCheck>,
    complete: bool,
    audit: &mut Audit,
    dir: &Path,
) -> Result<()> {
    for (i, c) in checks.iter_mut().enumerate() {
        if c.result == ContentCheck::Stopped && complete {
            *c = check_set(cfg, i, &|| false);
        }
    }
    for c in &checks {
        let (result, error) = match &c.result {
            ContentCheck::NotStored => ("built in memory from its source file this run", None),
            ContentCheck::Verified => ("index checksum verified", None),
            ContentCheck::Stopped => (
                "not finished: the scan stopped first (checked again by --resume)",
                None,
            ),
            ContentCheck::Failed(e) => ("index checksum MISMATCH", Some(e.clone())),
        };
        audit.event(Event::HashsetCheck {
            name: c.name.clone(),
            path: crate::pathfmt::path_text(&c.path),
            result,
            error,
            bytes: c.bytes,
            seconds: c.seconds,
        })?;
    }
    if let Some(bad) = checks
        .iter()
        .find(|c| matches!(c.result, ContentCheck::Failed(_)))
    {
        let message = format!(
            "set `{}`: the index checksum does not match its content (corrupt or altered); its matches cannot be trusted, so no report was written. Import the set again from its source and scan into a new case folder",
            bad.name
        );
        audit.event(Event::Fatal {
            error: message.clone(),
        })?;
        audit.sync()?;
        let hits = dir.join(HITS);
        CsvOutput::create(&hits, true)
            .and_then(|o| Box::new(o).finish())
            .map_err(|e| Error::output(&hits, e))?;
        return Err(Error::HashSet {
            path: bad.path.clone(),
            line: 0,
            message,
        });
    }
    Ok(())
}

/// Rows parsed and rendered together.
const RENDER_BATCH: usize = 4096;

/// Writes every report from the journal, in path order; returns the rows.
pub fn write_reports(cfg: &ScanConfig, set_names: &[String]) -> Result<(u64, MediaCounts)> {
    let dir = &cfg.output;
    let mut outputs: Vec<(Box<dyn RowOutput>, &str)> = Vec::new();
    let open = |name: &str| -> Result<Box<dyn RowOutput>> {
        let p = dir.join(name);
        let o: std::io::Result<Box<dyn RowOutput>> = match name {
            REPORT => CsvOutput::create(&p, false).map(|o| Box::new(o) as _),
            HITS => CsvOutput::create(&p, true).map(|o| Box::new(o) as _),
            REPORT_JSONL => JsonlOutput::create(&p).map(|o| Box::new(o) as _),
            _ => DfxmlOutput::create(&p, &crate::pathfmt::path_text(&cfg.evidence))
                .map(|o| Box::new(o) as _),
        };
        o.map_err(|e| Error::output(&p, e))
    };
    for name in std::iter::once(REPORT)
        .chain([HITS])
        .chain(cfg.jsonl.then_some(REPORT_JSONL))
        .chain(cfg.dfxml.then_some(REPORT_DFXML))
    {
        outputs.push((open(name)?, name));
    }
    // Rows are parsed and rendered in batches on every thread, and written in order.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .thread_name(|i| format!("hashsweep-render-{i}"))
        .build()
        .map_err(|e| Error::output(dir.join(REPORT), e))?;
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(RENDER_BATCH);
    let mut written = 0u64;
    // The file an error concerns: the journal (a row that does not parse), an
    // output, or else the case folder (the sort's runs).
    let mut blame: Option<PathBuf> = None;
    let mut media_rows: Vec<MediaRow> = Vec::new();
    let mut flush = |batch: &mut Vec<Vec<u8>>| -> std::io::Result<()> {
        let rendered: Vec<std::io::Result<(Cells, Option<MediaRow>)>> = pool.install(|| {
            batch
                .par_iter()
                .map(|line| {
                    let r: Record = serde_json::from_slice(line).map_err(std::io::Error::other)?;
                    let c = cells(&r, set_names);
                    let m = media_row(&r, &c);
                    Ok((c, m))
                })
                .collect()
        });
        batch.clear();
        for c in rendered {
            let (c, m) = c.inspect_err(|_| blame = Some(dir.join(JOURNAL)))?;
            media_rows.extend(m);
            for (o, name) in outputs.iter_mut() {
                o.row(&c).inspect_err(|_| blame = Some(dir.join(*name)))?;
            }
            written += 1;
            if written == 1000 {
                failpoint::hit("writing-report");
            }
        }
        Ok(())
    };
    let rows = sort::sorted_lines(&dir.join(JOURNAL), dir, sort::RUN_BYTES, |line| {
        batch.push(line.to_vec());
        if batch.len() == RENDER_BATCH {
            flush(&mut batch)?;
        }
        Ok(())
    })
    .and_then(|rows| flush(&mut batch).map(|_| rows))
    .map_err(|e| Error::output(blame.unwrap_or_else(|| dir.clone()), e))?;
    for (o, name) in outputs {
        o.finish().map_err(|e| Error::output(dir.join(name), e))?;
    }
    let (media, counts) = arrange(media_rows, cfg.matcher.pdq_distance());
    let path = dir.join(MEDIA);
    write_media(&path, &media).map_err(|e| Error::output(&path, e))?;
    Ok((rows, counts))
}

/// Writes `media.csv` (CSV as the report writes it) to a temporary name
/// renamed into place.
fn write_media(path: &Path, rows: &[[String; 20]]) -> std::io::Result<()> {
    let mut lw = crate::output::csv::LineWriter::default();
    crate::output::write_with(path, |w| {
        w.write_all(&lw.line(MEDIA_COLUMNS))?;
        for r in rows {
            w.write_all(&lw.line(r))?;
        }
        Ok(())
    })
}

pub use crate::output::summary::Ending;

/// Everything the summary is made of that the scan measured.
pub struct Measured {
    /// How it ended.
    pub ending: Ending,
    /// Entries listed.
    pub entries_found: u64,
    /// Rows in the reports.
    pub rows: u64,
    /// Bytes read by this run.
    pub bytes_read: u64,
    /// Start of the scan (of the first run, when resuming).
    pub started: String,
    /// The read policy.
    pub io: &'static str,
    /// Timings.
    pub timings: Timings,
    /// Warnings of the case.
    pub warnings: Vec<String>,
    /// The unknown-media queue's counts.
    pub media: MediaCounts,
}

/// Writes `summary.json`, the last audit event and the manifest; removes the
/// journal of a complete scan.
pub fn seal(cfg: &ScanConfig, tally: &Tally, m: Measured, mut audit: Audit) -> Result<Summary> {
    let dir = &cfg.output;
    let status = m.ending.exit(tally);
    let outputs: Vec<&'static str> = [(cfg.jsonl, REPORT_JSONL), (cfg.dfxml, REPORT_DFXML)]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let summary = Summary {
        tool: crate::TOOL_NAME,
        version: crate::TOOL_VERSION,
        status: m.ending.status(),
        complete: m.ending == Ending::Complete,
        stop_after: cfg.stop_after,
        evidence: crate::pathfmt::path_text(&cfg.evidence),
        case: cfg.case.clone(),
        exhibit: cfg.exhibit.clone(),
        examiner: cfg.examiner.clone(),
        started: m.started,
        finished: crate::time::now(),
        threads: cfg.threads,
        io: m.io,
        sha256: cfg.sha256,
        totals: crate::output::summary::Totals {
            entries_found: m.entries_found,
            rows: m.rows,
            files_hashed: tally.files_hashed,
            bytes_hashed: tally.bytes_hashed,
            bytes_read: m.bytes_read,
            empty_files: tally.empty_files,
        },
        verdicts: tally.verdicts.clone(),
        hashsets: cfg
            .matcher
            .sets()
            .iter()
            .zip(&tally.per_set)
            .map(|(s, &hits)| SetSummary {
                name: s.info().name.clone(),
                role: s.info().role.as_str(),
                entries: s.info().counts.entries,
                hits,
            })
            .collect(),
        categories: tally.categories.clone(),
        timings: m.timings,
        resumed: cfg.resume,
        exit_status: status.code(),
        warnings: m.warnings,
        media: m.media,
        archives: tally.archives.clone(),
        outputs: outputs.clone(),
    };
    let mut json = serde_json::to_vec_pretty(&summary).expect("summary serialises");
    json.push(b'\n');
    let path = dir.join(SUMMARY);
    crate::output::write_atomically(&path, &json).map_err(|e| Error::output(&path, e))?;
    let totals = Totals {
        status: summary.status,
        stop_after: cfg.stop_after,
        entries_found: m.entries_found,
        rows: summary.totals.rows,
        files_hashed: summary.totals.files_hashed,
        bytes_hashed: summary.totals.bytes_hashed,
        bytes_read: m.bytes_read,
        verdicts: summary.verdicts.clone(),
        exit_status: status.code(),
    };
    audit.event(match m.ending {
        Ending::Interrupted => Event::Interrupted(totals),
        Ending::Stopped => Event::Stopped(totals),
        Ending::Complete | Ending::Incomplete => Event::End(totals),
    })?;
    audit.sync()?;
    let mut files = vec![AUDIT, HITS, MEDIA, REPORT, SUMMARY];
    files.extend(outputs);
    crate::case::manifest::write(dir, &files, MANIFEST)?;
    if m.ending == Ending::Complete {
        let j = dir.join(JOURNAL);
        std::fs::remove_file(&j).map_err(|e| Error::output(&j, e))?;
    }
    Ok(summary)
}
