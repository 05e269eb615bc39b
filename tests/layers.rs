//! The data flows one way: each step of `src/` reads only from the steps below it, and
//! `src/model/`, the vocabulary, reads from none. A `use crate::…` (or `crate::…` path)
//! outside a file's test module that points upwards fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each step and the modules of the crate it may read.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("load", &["model"]),
    ("reach", &["load", "model"]),
    ("inventory", &["load", "reach", "model"]),
    ("catalogue", &["load", "model"]),
    ("rules", &["model", "catalogue"]),
    ("report", &["model"]),
    ("baseline", &["model"]),
    ("policy", &["model", "catalogue"]),
    ("config", &["model", "catalogue", "load", "baseline"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The step a file belongs to: its first directory under `src/`, or its own name.
fn step_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let first = relative
        .components()
        .next()
        .expect("a non-empty path")
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The crate modules a file's non-test code names (`crate::load::…`, `crate::{load, …}`).
fn crate_modules(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut modules = BTreeSet::new();
    for (index, _) in code.match_indices("crate::") {
        let rest = &code[index + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            for item in inner.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                modules.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            modules.insert(name);
        }
    }
    modules
}

#[test]
fn every_step_reads_only_from_the_steps_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let step = step_of(&src, file);
        let Some(may_read) = allowed.get(step.as_str()) else {
            continue;
        };
        let text = fs::read_to_string(file).expect("a readable source file");
        for module in crate_modules(&text) {
            if module != step && !may_read.contains(&module.as_str()) {
                upward.push(format!("{} reads crate::{module}", file.display()));
            }
        }
        if text.contains("super::super") {
            upward.push(format!("{} climbs with super::super", file.display()));
        }
    }
    assert!(upward.is_empty(), "{upward:#?}");
}

#[test]
fn the_model_imports_nothing_else_from_the_crate() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    let mut files = Vec::new();
    rust_files(&model, &mut files);
    assert!(
        files.len() > 5,
        "src/model/ holds the vocabulary: {files:?}"
    );
    for file in files {
        let text = fs::read_to_string(&file).expect("a readable source file");
        assert!(
            !text.contains("crate::") && !text.contains("super::super"),
            "{} reaches outside src/model/",
            file.display()
        );
    }
}

#[test]
fn the_checker_sees_an_upward_import() {
    let modules = crate_modules(
        "use crate::{load::yaml, model::Scope};\nfn f() { crate::rules::run(); }\n#[cfg(test)]\nuse crate::report;",
    );
    let names: Vec<&str> = modules.iter().map(String::as_str).collect();
    assert_eq!(names, ["load", "model", "rules"]);
}
