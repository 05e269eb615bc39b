//! Messages read as a mail admin writes them: over every finding of every fixture and
//! example, no word doubled, no "only … only", the published port named where it
//! differs from the container port, and the catalogue scope shown only where the finding
//! is about it; errors say their cause once; `explain` without a rule lists the rules.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use iredmail_ports::model::{Finding, Rule};
use iredmail_ports::{Catalogue, Config, Input, check};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The findings of every fixture directory and of the examples, each checked on its own
/// (a fixture named `*implicit-tls*` with the implicit-TLS catalogue, as tests/fixtures.rs
/// does).
fn every_finding() -> Vec<Finding> {
    let mut dirs: Vec<PathBuf> = vec![root().join("examples")];
    for kind in ["kubernetes", "compose", "ansible"] {
        let kind_dir = root().join("tests/fixtures").join(kind);
        for entry in std::fs::read_dir(kind_dir).expect("fixture directory") {
            dirs.push(entry.expect("directory entry").path());
        }
    }
    let default = Catalogue::embedded_default().expect("embedded catalogue");
    let implicit_tls = Catalogue::embedded_implicit_tls().expect("implicit-TLS catalogue");
    dirs.iter()
        .flat_map(|dir| {
            let catalogue = if dir.to_string_lossy().contains("implicit-tls") {
                &implicit_tls
            } else {
                &default
            };
            check(&[Input::Path(dir.clone())], catalogue, &Config::default())
                .expect("the fixture has manifests")
                .findings
        })
        .collect()
}

/// The first word that follows itself (`the the`), ignoring case, punctuation and code
/// spans (a quoted expression may name what the prose names next).
fn doubled_word(message: &str) -> Option<String> {
    let prose: String = message.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let words: Vec<String> = prose
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .find(|pair| pair[0] == pair[1] && pair[0].parse::<u32>().is_err())
        .map(|pair| pair[0].clone())
}

#[test]
fn no_message_doubles_a_word_or_says_only_twice_in_a_clause() {
    let findings = every_finding();
    assert!(findings.len() > 100, "the corpus covers every rule");
    let mut bad = Vec::new();
    for finding in &findings {
        if let Some(word) = doubled_word(&finding.message) {
            bad.push(format!("doubled {word:?}: {}", finding.message));
        }
        for clause in finding.message.split([';', ':']) {
            if clause.matches(" only").count() > 1 {
                bad.push(format!("\"only\" twice: {}", finding.message));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_checks_of_the_messages_can_fail() {
    assert_eq!(
        doubled_word("reachable only from the the host"),
        Some("the".into())
    );
    assert_eq!(doubled_word("ports 25 25 and 587"), None);
    assert_eq!(
        doubled_word("cannot resolve `{{ x }}`: `x` is not a variable"),
        None
    );
}

/// A remapped port's message names both numbers: the one clients reach and the one in
/// the container.
#[test]
fn a_remap_names_the_published_and_the_container_port() {
    let remapped: Vec<Finding> = every_finding()
        .into_iter()
        .filter(|f| f.rule == Rule::PortRemapped || f.rule == Rule::UnknownPort)
        .filter(|f| f.message.contains(" reaches ") || f.rule == Rule::PortRemapped)
        .collect();
    assert!(!remapped.is_empty());
    for finding in remapped {
        let port = finding.port.expect("a port").to_string();
        assert!(
            finding.message.contains(&port),
            "{port} not named in: {}",
            finding.message
        );
        let published_elsewhere = finding.message.contains("published on port")
            || finding.message.contains("NodePort")
            || finding.message.contains("ephemeral")
            || finding.message.contains(" reaches ");
        assert!(
            published_elsewhere,
            "the published port is not named: {}",
            finding.message
        );
    }
}

/// The text report shows `(allowed: …)` only where a port reaches wider than allowed.
#[test]
fn the_text_report_shows_the_allowed_scope_only_when_exceeded() {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("the binary")
        .current_dir(root())
        .args(["check", "examples/", "--color", "never"])
        .output()
        .expect("run check");
    let text = String::from_utf8_lossy(&output.stdout);
    let order = ["loopback", "internal", "cluster", "external"];
    let rank = |s: &str| order.iter().position(|o| *o == s);
    let mut shown = 0;
    for line in text.lines().filter(|l| l.contains("(allowed: ")) {
        let scope = line
            .split("scope: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next());
        let allowed = line
            .split("(allowed: ")
            .nth(1)
            .and_then(|s| s.split(')').next());
        let (Some(scope), Some(allowed)) = (scope, allowed) else {
            panic!("unreadable note: {line}");
        };
        assert!(
            rank(scope) > rank(allowed),
            "nothing was exceeded, yet the note says so: {line}"
        );
        shown += 1;
    }
    assert!(shown > 0, "the examples exceed scopes somewhere:\n{text}");
}

#[test]
fn explain_without_a_rule_lists_every_rule() {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("the binary")
        .arg("explain")
        .output()
        .expect("run explain");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    for rule in Rule::ALL {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(rule.id()))
            .unwrap_or_else(|| panic!("{} is not listed:\n{text}", rule.id()));
        assert!(
            line.contains(rule.info().severity.as_str()),
            "no severity: {line}"
        );
    }
}

#[test]
fn an_error_says_its_cause_once() {
    let output = Command::cargo_bin("iredmail-ports")
        .expect("the binary")
        .args([
            "check",
            "examples/",
            "--catalogue",
            "no-such-catalogue.yaml",
        ])
        .current_dir(root())
        .output()
        .expect("run check");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-catalogue.yaml"), "{stderr}");
}

/// A hostile file name, object name and comment can neither drive the terminal (ESC, OSC,
/// BEL, CR) nor put a workflow command (`::error::`) at the start of a CI log line, nor
/// reorder what the reader sees (U+202E): the text report shows them escaped.
#[test]
fn the_text_report_escapes_control_and_bidi_characters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "evil\u{1b}]0;owned\u{7}\n::error::forged\u{202e}.yaml";
    let manifest = "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"db\\e[2J\\u202e\"\n  namespace: mail\nspec:\n  type: LoadBalancer\n  ports:\n    - port: 3306 # \u{1b}[31mred\r\n";
    std::fs::write(dir.path().join(name), manifest).expect("write the manifest");
    let output = Command::cargo_bin("iredmail-ports")
        .expect("the binary")
        .args(["check", "--color", "never"])
        .arg(dir.path())
        .output()
        .expect("run check");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let raw: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
        .collect();
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("::")),
        "a line starts a workflow command:\n{text}"
    );
    assert!(
        text.contains(r"evil\x1b]0;owned\x07\n::error::forged\u{202e}.yaml"),
        "{text}"
    );
    assert!(text.contains(r"Service/mail/db\x1b[2J\u{202e}"), "{text}");
    assert!(text.contains(r"port: 3306 # \x1b[31mred"), "{text}");
}
