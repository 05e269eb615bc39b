//! The CI report formats (SARIF, JUnit, GitHub annotations, Markdown) on the shipped
//! examples: snapshots, the official SARIF schema, fingerprints that survive edits, and
//! JUnit XML read back as a CI server reads it.

use std::collections::BTreeSet;
use std::path::Path;

use iredmail_ports::model::{Rule, Severity};
use iredmail_ports::report::Format;
use iredmail_ports::{Catalogue, Config, Input, Report, check};
use serde_json::Value;

fn check_inputs(inputs: &[Input]) -> Report {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    check(inputs, &catalogue, &Config::default()).expect("something to check")
}

fn check_paths(paths: &[&str]) -> Report {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.into())).collect();
    check_inputs(&inputs)
}

fn examples() -> Report {
    check_paths(&["examples/"])
}

fn clean() -> Report {
    check_paths(&["examples/kubernetes/clean", "examples/compose/clean"])
}

fn sarif(report: &Report) -> Value {
    serde_json::from_str(&report.render(Format::Sarif, false)).expect("SARIF is JSON")
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().expect("results")
}

fn fingerprints(sarif: &Value) -> Vec<String> {
    results(sarif)
        .iter()
        .map(|r| r["partialFingerprints"]["iredmailPorts/v1"].to_string())
        .collect()
}

// ── SARIF ────────────────────────────────────────────────────────────────────────────

#[test]
fn sarif_on_the_examples() {
    let mut log = sarif(&examples());
    // Every rule's descriptor is checked by the test below; the snapshot keeps their ids
    // and what the findings decide.
    let rules = &mut log["runs"][0]["tool"]["driver"]["rules"];
    let ids: Vec<Value> = rules
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| rule["id"].clone())
        .collect();
    *rules = Value::Array(ids);
    insta::assert_snapshot!(serde_json::to_string_pretty(&log).expect("serializes"));
}

#[test]
fn sarif_lists_every_rule_with_its_documentation() {
    let log = sarif(&clean());
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), Rule::ALL.len());
    for (rule, info) in rules.iter().zip(Rule::ALL.map(Rule::info)) {
        assert_eq!(rule["id"], info.id);
        assert_eq!(rule["shortDescription"]["text"], info.summary);
        assert_eq!(rule["help"]["markdown"], info.explanation);
        assert_eq!(
            rule["defaultConfiguration"]["level"],
            info.severity.as_str()
        );
        assert_eq!(
            rule["helpUri"],
            format!(
                "https://github.com/iredmail-ports/iredmail-ports/blob/main/docs/rules/{}.md",
                info.id
            )
        );
        let full = rule["fullDescription"]["text"].as_str().expect("text");
        let first_words: String = full
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!full.is_empty() && !full.starts_with('#'), "{}", info.id);
        assert!(
            info.explanation
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&first_words),
            "{}",
            info.id
        );
        let name = rule["name"].as_str().expect("name");
        assert_eq!(name.to_lowercase(), info.id.replace('-', ""));
        assert!(name.starts_with(|c: char| c.is_ascii_uppercase()));
    }
}

/// The `language` pattern of the official schema, `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`,
/// has a stray `]`: draft-07's meta-schema checks `pattern` as an ECMA-262 regex, so the
/// schema as published does not compile. We never write `language`; the keyword is dropped
/// from the copy in memory and the vendored file stays as published.
fn without_broken_language_pattern(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("pattern")
                .and_then(Value::as_str)
                .is_some_and(|p| p.ends_with("-[a-zA-Z]{2}]?$"))
            {
                map.remove("pattern");
            }
            map.values_mut().for_each(without_broken_language_pattern);
        }
        Value::Array(items) => items.iter_mut().for_each(without_broken_language_pattern),
        _ => {}
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string("schemas/vendor/sarif-schema-2.1.0.json")
        .expect("the vendored SARIF schema");
    let mut schema: Value = serde_json::from_str(&text).expect("schema JSON");
    without_broken_language_pattern(&mut schema);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles offline")
}

fn schema_errors(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator.iter_errors(log).map(|e| e.to_string()).collect()
}

#[test]
fn sarif_matches_the_official_schema() {
    let validator = sarif_validator();
    let stdin = Input::Text {
        name: "-".into(),
        text: "services:\n  web:\n    image: nginx\n    ports: [\"8080:8080\"]\n".into(),
    };
    let reports = [
        ("examples", examples()),
        ("clean", clean()),
        ("stdin", check_inputs(&[stdin])),
        (
            "invalid input",
            check_paths(&["tests/fixtures/kubernetes/invalid-input-fires"]),
        ),
    ];
    for (name, report) in reports {
        let errors = schema_errors(&validator, &sarif(&report));
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn the_schema_check_would_catch_a_bad_uri() {
    let validator = sarif_validator();
    let mut log = sarif(&examples());
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "a b".into();
    assert_eq!(schema_errors(&validator, &log).len(), 1);
}

#[test]
fn sarif_of_a_clean_run_has_an_empty_results_array() {
    let text = clean().render(Format::Sarif, false);
    assert!(text.contains("\"results\": []"), "{text}");
    let log: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1));
    assert!(log["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
}

#[test]
fn sarif_locations_are_relative_or_absent() {
    let log = sarif(&examples());
    let mut without_location = 0;
    for result in results(&log) {
        match result["locations"].as_array().and_then(|l| l.first()) {
            Some(location) => {
                let physical = &location["physicalLocation"];
                let uri = physical["artifactLocation"]["uri"].as_str().expect("uri");
                assert!(uri.starts_with("examples/"), "{uri}");
                assert!(physical["region"]["startLine"].as_u64() >= Some(1));
                assert!(physical["region"]["startColumn"].as_u64() >= Some(1));
                assert!(location["logicalLocations"][0]["name"].is_string());
            }
            // A missing port no object is to blame for: GitHub rejects results with only
            // a logical location, so it has none and its message names the namespace.
            None => {
                without_location += 1;
                assert_eq!(result["ruleId"], "missing-port");
                assert_eq!(result["locations"], serde_json::json!([]));
            }
        }
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(Rule::ALL[index].id(), result["ruleId"]);
    }
    assert_eq!(without_location, 1);
}

#[test]
fn sarif_names_standard_input_stdin() {
    let stdin = Input::Text {
        name: "-".into(),
        text: "services:\n  web:\n    image: nginx\n    ports: [\"8080:8080\"]\n".into(),
    };
    let log = sarif(&check_inputs(&[stdin]));
    let uris: BTreeSet<&str> = results(&log)
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(uris, BTreeSet::from(["stdin"]));
}

#[test]
fn sarif_fingerprints_are_stable_and_unique() {
    let first = fingerprints(&sarif(&examples()));
    let second = fingerprints(&sarif(&examples()));
    assert_eq!(first, second);
    let unique: BTreeSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "{first:#?}");
}

#[test]
fn sarif_fingerprints_survive_a_blank_line_above_the_findings() {
    let fixture = Path::new("tests/fixtures/compose/deprecated-port-fires/compose.yaml");
    let original = std::fs::read_to_string(fixture).expect("fixture");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let copy = dir.path().join("compose.yaml");
    std::fs::write(&copy, &original).expect("write the copy");
    let before = sarif(&check_paths(&[copy.to_str().expect("UTF-8 path")]));

    std::fs::write(&copy, format!("\n{original}")).expect("insert a blank line");
    let after = sarif(&check_paths(&[copy.to_str().expect("UTF-8 path")]));

    assert!(!results(&before).is_empty());
    assert_eq!(fingerprints(&before), fingerprints(&after));
    let line = |log: &Value| {
        results(log)[0]["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64()
    };
    assert_eq!(
        line(&after),
        line(&before).map(|l| l + 1),
        "the lines did move"
    );
}

// ── JUnit ────────────────────────────────────────────────────────────────────────────

/// With `--fail-on note` every finding is a failed test case.
#[test]
fn junit_on_the_examples() {
    insta::assert_snapshot!(examples().render_failing_at(
        Format::Junit,
        false,
        Some(Severity::Note)
    ));
}

/// With `--fail-on error` (the default) and warnings present: errors fail, warnings pass
/// with the finding in `<system-out>` and its severity and rule as properties.
#[test]
fn junit_fail_on_error_with_warnings() {
    insta::assert_snapshot!(examples().render_failing_at(
        Format::Junit,
        false,
        Some(Severity::Error)
    ));
}

/// The failures are exactly the findings at or above `--fail-on`; with `never`, none.
#[test]
fn junit_failures_follow_fail_on() {
    let report = examples();
    let count = |severity: Severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity >= severity && f.suppressed.is_none())
            .count()
    };
    assert!(
        count(Severity::Error) < count(Severity::Warning),
        "warnings present"
    );
    for (fail_at, failing) in [
        (Some(Severity::Error), count(Severity::Error)),
        (Some(Severity::Warning), count(Severity::Warning)),
        (None, 0),
    ] {
        let xml = report.render_failing_at(Format::Junit, false, fail_at);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let failures = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        assert_eq!(failures, failing, "{fail_at:?}");
        assert_eq!(
            doc.root_element().attribute("failures"),
            Some(failing.to_string().as_str())
        );
        let cases = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count();
        assert_eq!(cases, report.findings.len(), "every finding is reported");
        let passing_with_output = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .filter(|c| c.children().any(|n| n.has_tag_name("system-out")))
            .count();
        assert_eq!(passing_with_output, report.findings.len() - failing);
    }
    // The default rendering is `--fail-on error`'s.
    assert_eq!(
        report.render(Format::Junit, false),
        report.render_failing_at(Format::Junit, false, Some(Severity::Error))
    );
}

#[test]
fn junit_has_a_suite_per_file_and_a_failure_per_finding() {
    let report = examples();
    let xml = report.render_failing_at(Format::Junit, false, Some(Severity::Note));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");

    let files: BTreeSet<Option<&str>> = report
        .findings
        .iter()
        .map(|f| f.location.as_ref().map(|l| l.path.as_str()))
        .collect();
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), files.len());

    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), report.findings.len());
    assert_eq!(
        root.attribute("failures"),
        Some(report.findings.len().to_string().as_str())
    );
    let rule_ids: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
    for failure in &failures {
        assert!(rule_ids.contains(failure.attribute("type").expect("type")));
        let text = failure.text().expect("text");
        let rule = failure.attribute("type").expect("type");
        assert!(text.contains(&format!(" {rule} ")), "{text}");
    }
    for suite in &suites {
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let names: BTreeSet<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
        assert_eq!(names.len(), cases.len(), "unique test names");
        for case in cases {
            let failures = case.children().filter(|n| n.has_tag_name("failure"));
            assert_eq!(failures.count(), 1, "one failure per test case");
            assert_eq!(case.attribute("classname"), suite.attribute("name"));
        }
    }
}

#[test]
fn junit_of_a_clean_run_has_one_passing_test() {
    let xml = clean().render(Format::Junit, false);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].attribute("name"), Some("all files"));
    assert_eq!(cases[0].children().filter(|n| n.is_element()).count(), 0);
    let suite = cases[0].parent().expect("a suite");
    assert_eq!(suite.attribute("name"), Some("iredmail-ports"));
}

// ── GitHub annotations ───────────────────────────────────────────────────────────────

#[test]
fn github_on_the_examples() {
    insta::assert_snapshot!(examples().render(Format::Github, false));
}

#[test]
fn github_lines_for_one_fixture() {
    let report = check_paths(&["tests/fixtures/compose/deprecated-port-fires"]);
    let prefix = "::warning file=tests/fixtures/compose/deprecated-port-fires/compose.yaml";
    let title = "title=iredmail-ports deprecated-port";
    let expected = [
        format!(
            "{prefix},line=5,col=9,{title}::Postfix SMTPS 465 is reachable from outside the host \
             but deprecated in favour of 587 (DOCS: '465: smtps (SMTP over SSL). Deprecated, and \
             disabled by default, please use port 587 instead.')"
        ),
        format!(
            "{prefix},line=9,col=9,{title}::Dovecot IMAPS 993 is reachable from outside the host \
             but deprecated in favour of 143 (DOCS: '993: IMAPS (Secure IMAP over SSL). Deprecated, \
             recommended to use port 143 with STARTTLS.')"
        ),
        format!(
            "{prefix},line=10,col=9,{title}::Dovecot POP3S 995 is reachable from outside the host \
             but deprecated in favour of 110 (DOCS: '995: POP3S (Secure POP3 over SSL). Deprecated, \
             recommended to use port 110 with STARTTLS.')"
        ),
        format!(
            "{prefix},line=12,col=9,{title}::Dovecot managesieve (old port) 2000 is reachable from \
             the mail stack's own network but deprecated in favour of 4190 (DOCS: 'in old \
             iRedMail releases, it's port 2000, it's deprecated and not even listed in \
             `/etc/services` file.')"
        ),
    ];
    let out = report.render(Format::Github, false);
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn github_of_a_clean_run_prints_nothing() {
    assert_eq!(clean().render(Format::Github, false), "");
}

// ── Markdown ─────────────────────────────────────────────────────────────────────────

#[test]
fn markdown_on_the_examples() {
    insta::assert_snapshot!(examples().render(Format::Markdown, false));
}

#[test]
fn markdown_of_a_clean_run_says_so() {
    let out = clean().render(Format::Markdown, false);
    assert!(out.starts_with("## iredmail-ports\n"), "{out}");
    assert!(out.contains("No findings in"), "{out}");
    assert!(!out.contains("| severity |"), "{out}");
}
