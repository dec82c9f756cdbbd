//! `hashsweep hashset import|info|lookup|export`: printing and exit statuses.

use crate::cli::{ExportFlags, HashsetCommand, ImportFlags, InfoFlags, LookupFlags, RoleArg};
use crate::fail;
use hashsweep::digest::pdq::Pdq;
use hashsweep::digest::{from_hex, to_hex};
use hashsweep::error::ExitStatus;
use hashsweep::hashset::export::{export, ExportFormat};
use hashsweep::hashset::index::IndexSet;
use hashsweep::hashset::{self, Algo, FormatName, HashSetLookup, Role, SetEntry, SetInfo};
use hashsweep::pathfmt::for_terminal;
use std::time::Instant;

/// Runs a `hashset` subcommand.
pub fn run(cmd: HashsetCommand) -> ExitStatus {
    match cmd {
        HashsetCommand::Import(f) => import(f),
        HashsetCommand::Info(f) => info(f),
        HashsetCommand::Lookup(f) => lookup(f),
        HashsetCommand::Export(f) => export_cmd(f),
    }
}

fn print_counts(info: &SetInfo) {
    let c = &info.counts;
    outln!(
        "  entries          {} (md5 {}, sha1 {}, sha256 {})",
        c.entries,
        c.md5,
        c.sha1,
        c.sha256
    );
    if c.pdq > 0 {
        outln!("  pdq entries      {}", c.pdq);
    }
    outln!("  records read     {}", c.records);
    outln!("  duplicates       {} merged", c.duplicates);
    outln!(
        "  empty-file       {} digests dropped",
        c.empty_file_digests_dropped
    );
    outln!("  bad records      {}", c.bad_records);
}

fn import(f: ImportFlags) -> ExitStatus {
    let role = match f.role {
        RoleArg::Alert => Role::Alert,
        RoleArg::KnownGood => Role::KnownGood,
    };
    let expect = FormatName::parse(&f.format);
    let start = Instant::now();
    // A signal ends the import at once, removing a named temporary file where
    // the filesystem had no anonymous one; exit 130 as a scan does.
    let temp = std::sync::Arc::new(std::sync::Mutex::new(None::<std::path::PathBuf>));
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ]) {
        let temp = std::sync::Arc::clone(&temp);
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                if let Some(p) = temp.lock().ok().and_then(|mut t| t.take()) {
                    let _ = std::fs::remove_file(p);
                }
                crate::say("hashsweep: interrupted; nothing was written");
                std::process::exit(ExitStatus::Interrupted.code().into());
            }
        });
    }
    let imported = match hashset::import_file(
        &f.inputs,
        f.name.as_deref(),
        role,
        f.lenient,
        expect,
        &f.output,
        &temp,
    ) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let info = &imported.info;
    outln!(
        "imported set {} ({}) into {}",
        for_terminal(&info.name),
        info.role.as_str(),
        for_terminal(&f.output.display().to_string())
    );
    for s in &info.sources {
        outln!(
            "  source           {}: {}, {} records, {} bad, sha256 {}",
            for_terminal(&s.path.display().to_string()),
            s.format,
            s.records,
            s.bad_records,
            s.sha256
        );
    }
    print_counts(info);
    for p in &imported.problems {
        let at = if p.line > 0 {
            format!("line {}: ", p.line)
        } else {
            String::new()
        };
        outln!("  skipped          {at}{}", for_terminal(&p.message));
    }
    if info.counts.bad_records > imported.problems.len() as u64 {
        outln!(
            "  ... and {} more skipped",
            info.counts.bad_records - imported.problems.len() as u64
        );
    }
    outln!("  index sha256     {}", info.sha256);
    outln!("  took             {:.1} s", start.elapsed().as_secs_f64());
    if role == Role::Alert && info.sources.iter().any(|s| s.format.starts_with("nsrl")) {
        crate::say("warning: NSRL lists known software; it was imported as an alert set. Use --role known-good to ignore its files instead.");
    }
    ExitStatus::NoAlert
}

fn open_any(path: &std::path::Path) -> Result<IndexSet, ExitStatus> {
    hashset::open(path, None, None).map_err(fail)
}

fn info(f: InfoFlags) -> ExitStatus {
    let start = Instant::now();
    let set = match IndexSet::open(&f.set) {
        Ok(s) => s,
        Err(m) => return fail(format!("{}: {m}", f.set.display())),
    };
    let opened = start.elapsed();
    let i = set.info();
    outln!("set              {}", for_terminal(&i.name));
    outln!("  role           {}", i.role.as_str());
    outln!("  format         {}", i.format);
    outln!("  imported       {} by {}", i.imported, i.imported_by);
    for s in &i.sources {
        outln!(
            "  source         {} ({}, sha256 {})",
            for_terminal(&s.path.display().to_string()),
            s.format,
            s.sha256
        );
    }
    print_counts(i);
    let l = set.layout();
    outln!(
        "  index          {} bytes, primary {}, opened in {:.2} ms",
        set.len_bytes(),
        l.primary,
        opened.as_secs_f64() * 1e3
    );
    match set.verify() {
        Ok(()) => {
            outln!("  checksum       ok ({})", i.sha256);
            ExitStatus::NoAlert
        }
        Err(m) => {
            outln!("  checksum       FAILED: {m}");
            ExitStatus::NotVerified
        }
    }
}

fn describe(e: &SetEntry, info: &SetInfo) -> String {
    let mut parts = Vec::new();
    if let Some(d) = e.md5 {
        parts.push(format!("md5 {}", to_hex(&d)));
    }
    if let Some(d) = e.sha1 {
        parts.push(format!("sha1 {}", to_hex(&d)));
    }
    if let Some(d) = e.sha256 {
        parts.push(format!("sha256 {}", to_hex(&d)));
    }
    if let Some(s) = e.size {
        parts.push(format!("size {s}"));
    }
    if let Some(c) = e.category {
        parts.push(format!("category {}", c.notation()));
    }
    let from: Vec<String> = info
        .sources
        .iter()
        .enumerate()
        .filter(|(i, _)| e.sources & (1 << (*i).min(15)) != 0)
        .map(|(_, s)| for_terminal(&s.path.display().to_string()))
        .collect();
    if !from.is_empty() {
        parts.push(format!("from {}", from.join(" and ")));
    }
    parts.join(", ")
}

fn lookup(f: LookupFlags) -> ExitStatus {
    let set = match open_any(&f.set) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let mut all = true;
    if f.pdq {
        for text in &f.digests {
            let t = text.trim();
            let Some(hash) = Pdq::from_hex(t).filter(|_| t.len() == 64) else {
                return fail(format!(
                    "`{}` is not a PDQ hash (64 hex digits)",
                    for_terminal(t)
                ));
            };
            let mut out = Vec::new();
            set.find_pdq(&hash, f.distance, &mut out);
            out.sort_by_key(|m| m.distance);
            let name = for_terminal(&set.info().name);
            if out.is_empty() {
                all = false;
                outln!(
                    "{}  no pdq entry of set {name} within {} bits",
                    hash.to_hex(),
                    f.distance
                );
            }
            for m in &out {
                let e = &m.entry;
                outln!(
                    "{}  pdq distance {} in set {name} ({}): pdq {}, id {}, quality {}, category {}",
                    hash.to_hex(),
                    m.distance,
                    set.info().role.as_str(),
                    e.hash.to_hex(),
                    for_terminal(e.id.as_deref().unwrap_or("-")),
                    e.quality.map_or("-".to_string(), |q| q.to_string()),
                    e.category.map_or("-".to_string(), |c| c.notation())
                );
            }
        }
        return if all {
            ExitStatus::NoAlert
        } else {
            ExitStatus::NotInSet
        };
    }
    for text in &f.digests {
        let t = text.trim();
        let algo = Algo::from_hex_len(t.len());
        let (Some(algo), Some(bytes)) = (algo, from_hex(t.as_bytes())) else {
            return fail(format!(
                "`{}` is not an MD5, SHA-1 or SHA-256 hex digest",
                for_terminal(t)
            ));
        };
        let mut out = Vec::new();
        set.find(algo, &bytes, &mut out);
        if out.is_empty() {
            all = false;
            outln!(
                "{}  not in set {}",
                t.to_ascii_lowercase(),
                for_terminal(&set.info().name)
            );
        }
        for e in &out {
            outln!(
                "{}  in set {} ({}): {}",
                t.to_ascii_lowercase(),
                for_terminal(&set.info().name),
                set.info().role.as_str(),
                describe(e, set.info())
            );
        }
    }
    if all {
        ExitStatus::NoAlert
    } else {
        ExitStatus::NotInSet
    }
}

fn export_cmd(f: ExportFlags) -> ExitStatus {
    let set = match open_any(&f.set) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let format = ExportFormat::parse(&f.format).expect("clap checked the name");
    let mut written = 0;
    let result = hashsweep::output::write_with(&f.output, |w| {
        written = export(&set, format, w)?;
        Ok(())
    });
    match result {
        Ok(()) => {
            outln!(
                "exported {written} {} from {} to {}",
                if format == ExportFormat::Vics {
                    "records"
                } else {
                    "lines"
                },
                for_terminal(&set.info().name),
                for_terminal(&f.output.display().to_string())
            );
            ExitStatus::NoAlert
        }
        Err(e) => fail(e),
    }
}
