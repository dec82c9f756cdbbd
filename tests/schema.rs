//! docs/report.md describes every audit event and its fields; the code has
//! one type for them. These tests fail when the two disagree.

mod util;

use hashsweep::case::event::Event;
use std::collections::{BTreeMap, BTreeSet};
use util::*;

/// The table of docs/report.md, "Schema of the audit events": event → fields.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.md")).unwrap();
    let start = doc
        .find("### Schema of the audit events")
        .expect("docs/report.md has the schema of the audit events");
    let ticked = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    };
    let mut table = BTreeMap::new();
    for line in doc[start..].lines().skip(1) {
        if line.starts_with('#') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let name = ticked(cells[1]).into_iter().next().unwrap();
        let fields = match cells[2].strip_prefix("as ") {
            Some(other) => table
                .get(&ticked(other).into_iter().next().unwrap())
                .cloned()
                .expect("`as` names an event above"),
            None => ticked(cells[2]),
        };
        table.insert(name, fields);
    }
    table
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "event" && *k != "time")
        .cloned()
        .collect()
}

#[test]
fn every_audit_event_is_documented_with_its_fields() {
    let doc = documented();
    let names: BTreeSet<String> = Event::NAMES.iter().map(|s| s.to_string()).collect();
    let listed: BTreeSet<String> = doc.keys().cloned().collect();
    assert_eq!(listed, names, "events in docs/report.md vs the code");
    for e in Event::examples() {
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], e.name());
        assert_eq!(keys(&v), doc[e.name()], "fields of `{}`", e.name());
    }
}

#[test]
fn the_header_written_is_the_header_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let ev = tmp.path().join("ev");
    write(&ev, "a.txt", b"a");
    let s = scan(&ev, &tmp.path().join("case"), &[]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let audit = std::fs::read_to_string(s.dir.join("audit.jsonl")).unwrap();
    let mut events = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
    let header = events.next().unwrap();
    assert_eq!(header["event"], "header");
    assert_eq!(keys(&header), documented()["header"]);
    // Every event a real scan writes is one of the schema's, with its fields.
    let doc = documented();
    for e in events {
        let name = e["event"].as_str().unwrap();
        assert!(e["time"].is_string(), "{name} has its time");
        assert_eq!(keys(&e), doc[name], "fields of `{name}`");
    }
}
