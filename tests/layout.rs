//! The shape of the source: no file over 800 lines, and no import cycle, neither
//! between the crate's top-level modules nor between the sibling files of a
//! module folder (a folder's `mod.rs` is its face and may use its children).
//! Data flows one way: evidence -> scan -> output and case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` -> `["a", "b"]`; `src/a/mod.rs` -> `["a"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (documentation may link anywhere)
/// and its unit tests (they may use anything).
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module path a piece of code names, absolute (`crate::`, `super::`,
/// `self::`), including the items of `use` groups.
fn references(code: &str, module: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let Some(rest) = code.get(i..) else {
            i += 1; // inside a character that is not ASCII
            continue;
        };
        let (base, skip): (Vec<String>, usize) = if rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if rest.starts_with("super::") && (i == 0 || !ident(bytes[i - 1])) {
            // The parent of this module (a mod.rs is its module's folder).
            let mut b = module.to_vec();
            if !is_mod_rs || !b.is_empty() {
                b.pop();
            }
            (b, 7)
        } else if rest.starts_with("self::") && (i == 0 || !ident(bytes[i - 1])) {
            let mut b = module.to_vec();
            if !is_mod_rs {
                b.pop();
            }
            (b, 6)
        } else {
            i += 1;
            continue;
        };
        if i > 0 && ident(bytes[i - 1]) && skip == 7 && rest.starts_with("crate::") {
            i += 1;
            continue;
        }
        let mut j = i + skip;
        let mut path = base.clone();
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if j > start {
                path.push(code[start..j].to_string());
            }
            if code[j..].starts_with("::{") {
                // A group: each item's first segment.
                let end = code[j..].find('}').map_or(bytes.len(), |e| j + e);
                for item in code[j + 3..end].split(',') {
                    let first: String = item
                        .trim()
                        .chars()
                        .take_while(|c| ident(*c as u8))
                        .collect();
                    if !first.is_empty() && first != "self" {
                        let mut p = path.clone();
                        p.push(first);
                        out.push(p);
                    }
                }
                out.push(path.clone());
                j = end;
                break;
            } else if code[j..].starts_with("::") && j + 2 < bytes.len() && ident(bytes[j + 2]) {
                j += 2;
            } else {
                out.push(path);
                break;
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
}

fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_file_over_800_lines_and_no_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).unwrap().lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{} ({n} lines)", f.strip_prefix(root).unwrap().display()))
        .collect();
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines (split them by responsibility): {long:?}"
    );

    // The library's modules (the binary's, main.rs and cli/, use the library),
    // without unit tests in files of their own (they may use anything, as the
    // inline ones may) or the helpers tests share.
    let lib: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            let m = module_of(&src, f);
            !(m == ["main"]
                || m == ["lib"]
                || m == ["testing"]
                || m.first().is_some_and(|s| s == "cli")
                || m.last().is_some_and(|s| s == "tests"))
        })
        .collect();
    let modules: BTreeSet<Vec<String>> = lib.iter().map(|f| module_of(&src, f)).collect();
    // For each folder (the crate root first), which of its children use which.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &lib {
        let m = module_of(&src, f);
        let is_mod_rs = f.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(f).unwrap();
        for r in references(&code(&text), &m, is_mod_rs) {
            let Some(to) = resolve(&r, &modules) else {
                continue;
            };
            // Where the two paths part: children of one folder, one using the
            // other. (A mod.rs using its own children does not part from them.)
            let c = m.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if c < m.len() && c < to.len() {
                graphs
                    .entry(m[..c].to_vec())
                    .or_default()
                    .entry(m[c].clone())
                    .or_default()
                    .insert(to[c].clone());
            }
        }
    }
    for (folder, g) in &graphs {
        if let Some(c) = cycle(g) {
            panic!(
                "an import cycle between the modules of crate::{}: {}",
                folder.join("::"),
                c.join(" -> ")
            );
        }
    }
}
