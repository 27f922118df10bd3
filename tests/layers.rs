//! The layering rules, checked on the source so they stay true:
//!
//! - the stages run one way, schedule → fetch → extract → normalise → signals → store → sink
//!   → notify, and each imports only earlier stages and the schema every stage shares
//!   (`article`, `normalise`): the sink reads the store, nothing before it knows the sink;
//! - `store` imports neither `fetch` nor `notify` (HTTP validators are bytes to it);
//! - no stage, nor `crawl`, imports `config`: each owns its settings, `config` assembles them;
//! - the modules' imports have no cycle;
//! - only `main.rs` uses `cli`, and `main.rs` reaches the library only through `cli` and the
//!   types it prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The record and its normal form: every stage may use them.
const SCHEMA: &[&str] = &["article", "normalise"];
/// The stages, in the order data flows through them (`normalise` is in [`SCHEMA`]).
const STAGES: &[&str] = &[
    "schedule", "fetch", "extract", "signals", "store", "sink", "notify",
];
/// Helpers at the crate root, not modules.
const ROOT_HELPERS: &[&str] = &["error_chain", "escape_html", "short_url"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/fetch/robots.rs` → `fetch`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its comment lines (doc links are not imports).
fn code(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first-level names used after each `prefix` (`crate::`): `crate::fetch::X` gives
/// `fetch`, `crate::{a, b::c}` gives `a` and `b`.
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        // `newswatch::` inside `my_newswatch::` is not the crate.
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.insert(ident(&item));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

/// Each top-level module and the top-level modules it imports (itself excluded).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources: {files:?}");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).expect("read source");
        let prefix = if module == "main" {
            "newswatch::"
        } else {
            "crate::"
        };
        let mut used = names_after(&code(&text), prefix);
        used.remove(&module);
        used.retain(|n| !ROOT_HELPERS.contains(&n.as_str()));
        out.entry(module).or_default().extend(used);
    }
    out
}

#[test]
fn the_scanner_sees_plain_and_grouped_imports() {
    let seen = names_after(
        "use crate::{article::Article, store::{Store, X}};\nlet x = crate::fetch::get();\nuse other_crate::config;",
        "crate::",
    );
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["article", "fetch", "store"]
    );
    assert!(code("//! see [`crate::config`]\nuse crate::store;").contains("store"));
    assert!(!code("/// [`crate::config`]").contains("config"));
}

#[test]
fn stages_import_only_earlier_stages_and_the_schema() {
    let imports = imports();
    let mut wrong = Vec::new();
    for (i, stage) in STAGES.iter().enumerate() {
        let allowed: BTreeSet<&str> = SCHEMA.iter().chain(&STAGES[..i]).copied().collect();
        for used in imports.get(*stage).into_iter().flatten() {
            if !allowed.contains(used.as_str()) {
                wrong.push(format!("{stage} imports {used}"));
            }
        }
    }
    for schema in SCHEMA {
        for used in imports.get(*schema).into_iter().flatten() {
            if !SCHEMA.contains(&used.as_str()) {
                wrong.push(format!("{schema} (the schema) imports {used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn store_knows_neither_http_nor_digests_delivery() {
    let imports = imports();
    let store = imports.get("store").cloned().unwrap_or_default();
    for later in ["fetch", "notify", "config"] {
        assert!(!store.contains(later), "store imports {later}: {store:?}");
    }
}

#[test]
fn config_assembles_settings_and_nothing_below_it_imports_it() {
    let imports = imports();
    for module in STAGES.iter().chain(SCHEMA).chain(&["crawl", "metrics"]) {
        let used = imports.get(*module).cloned().unwrap_or_default();
        assert!(
            !used.contains("config"),
            "{module} imports config; it should own its settings type: {used:?}"
        );
    }
}

#[test]
fn module_imports_have_no_cycle() {
    let imports = imports();
    fn visit(
        m: &str,
        imports: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(m) {
            return;
        }
        if let Some(at) = path.iter().position(|p| p == m) {
            panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
        }
        path.push(m.to_owned());
        for next in imports.get(m).into_iter().flatten() {
            visit(next, imports, path, done);
        }
        path.pop();
        done.insert(m.to_owned());
    }
    let mut done = BTreeSet::new();
    for m in imports.keys() {
        visit(m, &imports, &mut Vec::new(), &mut done);
    }
}

#[test]
fn main_only_parses_and_prints() {
    let imports = imports();
    for (module, used) in &imports {
        if module != "main" {
            assert!(
                !used.contains("cli") || module == "lib",
                "{module} imports cli"
            );
        }
    }
    let main: BTreeSet<&str> = imports["main"].iter().map(String::as_str).collect();
    let printable: BTreeSet<&str> = ["cli", "config", "notify", "archive"].into();
    assert!(
        main.is_subset(&printable),
        "main.rs reaches into {:?}; commands belong in cli.rs",
        main.difference(&printable).collect::<Vec<_>>()
    );
}
