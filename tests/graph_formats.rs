//! The reachability graph formats (`--format dot`, `--format mermaid`) on the shipped
//! examples: snapshots; the DOT drawn by real Graphviz (`dot -Tsvg`, from the Debian
//! package `graphviz` that `.ci/run` installs), whose SVG must hold the nodes and the red
//! edges the findings call for; the Mermaid read back by Mermaid's own parser (npm
//! `mermaid` under Node.js, installed by `scripts/node-tools.sh`), which must understand
//! every node, edge, red edge and subgraph as the graph has them.

#[path = "common/tools.rs"]
#[allow(dead_code)] // the other tests use the Python tools
mod tools;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use iredmail_ports::report::Format;
use iredmail_ports::report::graph::NodeKind;
use iredmail_ports::{Catalogue, Config, Input, Report, check};

fn check_paths(paths: &[&str]) -> Report {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.into())).collect();
    check(&inputs, &catalogue, &Config::default()).expect("something to check")
}

fn examples() -> Report {
    check_paths(&["examples/"])
}

fn check_text(name: &str, text: &str) -> Report {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let input = Input::Text {
        name: name.into(),
        text: text.into(),
    };
    check(&[input], &catalogue, &Config::default()).expect("something to check")
}

// ── snapshots ────────────────────────────────────────────────────────────────────────

#[test]
fn dot_on_the_examples() {
    insta::assert_snapshot!(examples().render(Format::Dot, false));
}

#[test]
fn mermaid_on_the_examples() {
    insta::assert_snapshot!(examples().render(Format::Mermaid, false));
}

#[test]
fn the_graph_is_the_same_whatever_the_order_of_the_inputs() {
    let forward = check_paths(&["examples/compose", "examples/kubernetes"]);
    let backward = check_paths(&["examples/kubernetes", "examples/compose"]);
    for format in [Format::Dot, Format::Mermaid] {
        assert_eq!(
            forward.render(format, false),
            backward.render(format, false),
            "{format:?}"
        );
    }
}

#[test]
fn the_json_report_does_not_carry_the_graph() {
    let json: serde_json::Value =
        serde_json::from_str(&examples().render(Format::Json, false)).expect("JSON");
    let keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["version", "tool", "catalogue", "findings", "summary"]
    );
}

/// A Service whose names hold what DOT and Mermaid would read as syntax: quotes, `#`,
/// `|`, a backslash, a tag, an entity, backticks, dashes, dots and a slash. The API server would refuse them; files
/// need not come from one, and Compose normalizes its names, so Kubernetes it is.
const AWKWARD: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: "we\"ird#1|a\\pp.x<b>&amp;`c`"
  namespace: "n-s/x"
spec:
  type: LoadBalancer
  ports:
  - port: 8080
"#;

/// The Service's object as every format names it.
const AWKWARD_OBJECT: &str = r#"Service/n-s/x/we"ird#1|a\pp.x<b>&amp;`c`"#;

#[test]
fn names_with_syntax_characters_are_escaped() {
    let report = check_text("awkward.yaml", AWKWARD);
    assert_eq!(
        report.findings[0].object.as_deref(),
        Some(AWKWARD_OBJECT),
        "the names reach the report as written"
    );
    let dot = report.render(Format::Dot, false);
    assert!(
        dot.contains(r#"label="Service/n-s/x/we\"ird#1|a\\pp.x<b>&amp;amp;`c`""#),
        "{dot}"
    );
    assert!(dot.contains(r#"label="namespace n-s/x""#), "{dot}");
    let mermaid = report.render(Format::Mermaid, false);
    assert!(
        mermaid.contains(
            r#"{{"Service/n-s/x/we#quot;ird#35;1#124;a\pp.x#lt;b#gt;#amp;amp;#96;c#96;"}}"#
        ),
        "{mermaid}"
    );
}

// ── Graphviz ─────────────────────────────────────────────────────────────────────────

/// Graphviz's `dot`: `$IREDMAIL_PORTS_DOT`, else the one `scripts/graphviz.sh` finds on
/// PATH or installs (Debian's package).
fn dot_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("IREDMAIL_PORTS_DOT") {
        return PathBuf::from(path);
    }
    tools::setup_script("graphviz.sh")
}

/// Runs `dot -Tsvg` on `source` and returns the SVG; fails the test with Graphviz's own
/// message when it rejects the input.
fn graphviz_svg(source: &str) -> String {
    let mut child = Command::new(dot_binary())
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dot");
    child
        .stdin
        .take()
        .expect("dot's stdin")
        .write_all(source.as_bytes())
        .expect("write to dot");
    let output = child.wait_with_output().expect("dot runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "dot failed: {stderr}\n{source}");
    // Graphviz warns (and still exits 0) on attributes it does not know: none is expected.
    assert!(stderr.trim().is_empty(), "dot warned: {stderr}");
    String::from_utf8(output.stdout).expect("SVG is UTF-8")
}

/// An SVG element with its `class` and the texts of its `<title>` and `<text>` children.
struct Drawn {
    class: String,
    title: String,
    texts: Vec<String>,
    /// The colour of its path (edges) or outline (nodes).
    stroke: Option<String>,
}

fn drawn(svg: &str) -> Vec<Drawn> {
    // Graphviz writes a DOCTYPE, which roxmltree refuses unless told.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, options).expect("well-formed SVG");
    doc.descendants()
        .filter(|n| n.has_tag_name("g"))
        .filter_map(|g| {
            let class = g.attribute("class")?.to_string();
            let child_text = |tag: &str| -> Vec<String> {
                g.children()
                    .filter(|c| c.has_tag_name(tag))
                    .map(|c| c.text().unwrap_or_default().to_string())
                    .collect()
            };
            let title = child_text("title").concat();
            let stroke = g
                .children()
                .find(|c| c.has_tag_name("path") || c.has_tag_name("polygon"))
                .and_then(|c| c.attribute("stroke"))
                .map(str::to_string);
            Some(Drawn {
                class,
                title,
                texts: child_text("text"),
                stroke,
            })
        })
        .collect()
}

#[test]
fn graphviz_draws_the_examples_with_the_findings_in_red() {
    let report = examples();
    let svg = graphviz_svg(&report.render(Format::Dot, false));
    let elements = drawn(&svg);
    let labels_of = |class: &str| -> Vec<String> {
        elements
            .iter()
            .filter(|e| e.class == class)
            .map(|e| e.texts.join("\n"))
            .collect()
    };

    let nodes = labels_of("node");
    for expected in [
        "external world",
        "every pod in the cluster",
        "Service/mail-legacy/mariadb",
        "StatefulSet/mail-legacy/mariadb",
        "compose/mistakes/mariadb",
        "compose/iredmail/postfix-exporter",
        "the host's loopback",
    ] {
        assert!(
            nodes.iter().any(|n| n == expected),
            "{expected}: {nodes:#?}"
        );
    }
    assert_eq!(nodes.len(), report.graph.nodes.len());

    let clusters = labels_of("cluster");
    assert_eq!(
        clusters,
        [
            "namespace mail",
            "namespace mail-legacy",
            "Compose project iredmail",
            "Compose project iredmail-on-the-mail-host",
            "Compose project mistakes",
        ]
    );

    let edges: Vec<&Drawn> = elements.iter().filter(|e| e.class == "edge").collect();
    assert_eq!(edges.len(), report.graph.edges.len());
    let red: Vec<String> = edges
        .iter()
        .filter(|e| e.stroke.as_deref() == Some("red"))
        .map(|e| e.texts.join(" "))
        .collect();
    // Graphviz titles an edge `n0->n3`: the red ones are exactly the flagged edges, with
    // their labels.
    let mut red_edges: Vec<(String, String)> = edges
        .iter()
        .filter(|e| e.stroke.as_deref() == Some("red"))
        .map(|e| (e.title.clone(), e.texts.join(" ")))
        .collect();
    red_edges.sort();
    let mut flagged: Vec<(String, String)> = report
        .graph
        .edges
        .iter()
        .filter(|e| e.flagged())
        .map(|e| (format!("n{}->n{}", e.from, e.to), e.label_lines().join(" ")))
        .collect();
    flagged.sort();
    assert_eq!(red_edges, flagged);
    for expected in [
        "3306/TCP external internal-port-exposed",
        "2525→25/TCP external missing-port",
        "8080/TCP cluster unknown-port",
        "10024/TCP cluster internal-port-exposed",
        // An Ingress path, flagged by findings that name the published 443.
        "443→20000/TCP /Microsoft-Server-ActiveSync external eas-insecure, eas-timeout",
    ] {
        assert!(red.iter().any(|e| e == expected), "{expected}: {red:#?}");
    }
    // Port 25 published as 25 is fine wherever it is: the three clean deployments and the
    // mistakes' postfix, in black.
    let black_smtp = edges
        .iter()
        .filter(|e| e.stroke.as_deref() == Some("black"))
        .filter(|e| e.texts.join(" ") == "25/TCP external")
        .count();
    assert_eq!(black_smtp, 4);
}

#[test]
fn graphviz_accepts_names_with_syntax_characters() {
    let report = check_text("awkward.yaml", AWKWARD);
    let svg = graphviz_svg(&report.render(Format::Dot, false));
    let nodes: Vec<String> = drawn(&svg)
        .into_iter()
        .filter(|e| e.class == "node")
        .map(|e| e.texts.concat())
        .collect();
    assert!(nodes.iter().any(|n| n == AWKWARD_OBJECT), "{nodes:#?}");
}

#[test]
fn graphviz_accepts_a_run_with_nothing_to_draw() {
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mail\n";
    let report = check_text("namespace.yaml", namespace);
    assert_eq!(report.summary.objects, 1);
    assert!(report.graph.nodes.is_empty());
    let svg = graphviz_svg(&report.render(Format::Dot, false));
    assert!(svg.contains("<svg"), "{svg}");
}

/// The binary writes the same graph as the library.
#[test]
fn the_cli_prints_the_graph() {
    let output = assert_cmd::Command::cargo_bin("iredmail-ports")
        .expect("the binary")
        .current_dir(root())
        .args(["check", "examples/", "--format", "dot"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "findings: exit code 1");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        examples().render(Format::Dot, false)
    );
}

// ── Mermaid ──────────────────────────────────────────────────────────────────────────

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding node_modules/mermaid, installing it on first use.
fn node_tools() -> PathBuf {
    let output = Command::new("bash")
        .arg(root().join("scripts/node-tools.sh"))
        .output()
        .expect("run scripts/node-tools.sh");
    assert!(
        output.status.success(),
        "scripts/node-tools.sh failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// What Mermaid's parser understood of `diagram`, or its error message.
fn mermaid_structure(diagram: &str) -> Result<serde_json::Value, String> {
    let mut child = Command::new("node")
        .arg(root().join("tests/tools/mermaid-structure.mjs"))
        .arg(node_tools())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    child
        .stdin
        .take()
        .expect("node's stdin")
        .write_all(diagram.as_bytes())
        .expect("write to node");
    let output = child.wait_with_output().expect("node runs");
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&output.stdout).expect("the script prints JSON"))
}

/// Mermaid's parse of the report's diagram must be the report's graph: every node with its
/// label and shape, every edge in order with its label, dotted or not, red or not, and
/// every subgraph with its title and nodes.
fn assert_mermaid_reads_the_graph(report: &Report) {
    let diagram = report.render(Format::Mermaid, false);
    let parsed = mermaid_structure(&diagram).unwrap_or_else(|e| panic!("{e}\n{diagram}"));
    let graph = &report.graph;
    assert_eq!(parsed["type"], "flowchart-v2");

    let vertices = parsed["vertices"].as_array().expect("vertices");
    assert_eq!(vertices.len(), graph.nodes.len());
    for (id, node) in graph.nodes.iter().enumerate() {
        let vertex = vertices
            .iter()
            .find(|v| v["id"] == format!("n{id}"))
            .unwrap_or_else(|| panic!("n{id} missing: {vertices:#?}"));
        assert_eq!(vertex["text"], node.label.as_str());
        let shape = match node.kind {
            NodeKind::Origin => "circle",
            NodeKind::Exposer => "hexagon",
            NodeKind::Workload => "square",
        };
        assert_eq!(vertex["shape"], shape, "{}", node.label);
    }

    let edges = parsed["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), graph.edges.len());
    for (parsed, edge) in edges.iter().zip(&graph.edges) {
        assert_eq!(parsed["start"], format!("n{}", edge.from));
        assert_eq!(parsed["end"], format!("n{}", edge.to));
        assert_eq!(parsed["text"], edge.label_lines().join("<br>"));
        let stroke = if edge.port.is_some() {
            "normal"
        } else {
            "dotted"
        };
        assert_eq!(parsed["stroke"], stroke);
        let red = parsed["style"]
            .as_array()
            .expect("style")
            .iter()
            .any(|s| s == "stroke:red");
        assert_eq!(red, edge.flagged(), "{parsed}");
    }

    let subgraphs = parsed["subgraphs"].as_array().expect("subgraphs");
    assert_eq!(subgraphs.len(), graph.groups.len());
    for (index, group) in graph.groups.iter().enumerate() {
        let subgraph = subgraphs
            .iter()
            .find(|s| s["id"] == format!("g{index}"))
            .unwrap_or_else(|| panic!("g{index} missing: {subgraphs:#?}"));
        assert_eq!(subgraph["title"], group.label.as_str());
        let mut nodes: Vec<String> = subgraph["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n.as_str().expect("a node id").to_string())
            .collect();
        nodes.sort();
        let mut expected: Vec<String> = group.nodes.iter().map(|id| format!("n{id}")).collect();
        expected.sort();
        assert_eq!(nodes, expected, "{}", group.label);
    }
}

#[test]
fn mermaid_reads_the_examples_as_the_graph_has_them() {
    let report = examples();
    assert!(report.graph.edges.iter().any(|e| e.flagged()));
    assert_mermaid_reads_the_graph(&report);
}

#[test]
fn mermaid_reads_names_with_syntax_characters_as_written() {
    let report = check_text("awkward.yaml", AWKWARD);
    assert!(report.graph.nodes.iter().any(|n| n.label == AWKWARD_OBJECT));
    assert_mermaid_reads_the_graph(&report);
}

#[test]
fn mermaid_accepts_a_run_with_nothing_to_draw() {
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: mail\n";
    assert_mermaid_reads_the_graph(&check_text("namespace.yaml", namespace));
}

/// The parser does reject what is not Mermaid: a raw quote inside a label ends it.
#[test]
fn mermaid_rejects_an_unescaped_quote() {
    let error = mermaid_structure("flowchart LR\n  n0[\"a \"b\" c\"] --> n1\n")
        .expect_err("a quote ends the label");
    assert!(error.contains("Parse error"), "{error}");
}
