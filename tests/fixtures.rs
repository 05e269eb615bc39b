//! Every directory under `tests/fixtures/<kind>/<case>/` is checked on its own, and the
//! findings must equal its `expected.txt` exactly: one finding per line, as
//! `path:line:column rule port object`, in report order (`-` where a field is null).
//!
//! `UPDATE_EXPECTED=1 cargo test --test fixtures` rewrites the files; review the diff.

use std::path::{Path, PathBuf};

use iredmail_ports::model::Finding;
use iredmail_ports::{Catalogue, Config, Input, check};

fn fixture_cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cases = Vec::new();
    for kind in ["kubernetes", "compose", "ansible", "mixed"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                cases.push(entry.path());
            }
        }
    }
    cases.sort();
    cases
}

fn line_of(finding: &Finding, case: &Path) -> String {
    let location = finding.location.as_ref().map_or("-:-:-".to_string(), |l| {
        let path = Path::new(&l.path);
        let relative = path.strip_prefix(case).unwrap_or(path);
        format!("{}:{}:{}", relative.display(), l.line, l.column)
    });
    let port = finding.port.map_or("-".to_string(), |p| p.to_string());
    let object = finding.object.clone().unwrap_or_else(|| "-".into());
    format!("{location} {} {port} {object}", finding.rule)
}

fn catalogue_for(case: &Path) -> Catalogue {
    if case.join("implicit-tls").exists() {
        Catalogue::embedded_implicit_tls().expect("embedded catalogue")
    } else {
        Catalogue::embedded_default().expect("embedded catalogue")
    }
}

#[test]
fn every_fixture_yields_exactly_its_expected_findings() {
    let cases = fixture_cases();
    assert!(cases.len() >= 20, "fixtures are missing: {}", cases.len());
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let report = check(
            &[Input::Path(case.clone())],
            &catalogue_for(case),
            &Config::default(),
        )
        .expect("a fixture holds something to check");
        let actual: String = report
            .findings
            .iter()
            .map(|f| line_of(f, case) + "\n")
            .collect();
        let expected_path = case.join("expected.txt");
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
