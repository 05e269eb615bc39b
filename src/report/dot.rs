//! `--format dot`: the reachability graph in Graphviz's DOT language
//! (`iredmail-ports check --format dot | dot -Tsvg > reach.svg`). Namespaces and Compose
//! projects are clusters; edges with findings are red and name their rules.

use super::Report;
use super::graph::{Edge, Graph, NodeKind};

pub fn render(report: &Report) -> String {
    let graph = &report.graph;
    let mut out = String::from("digraph \"iredmail-ports\" {\n");
    out.push_str(&format!(
        "  graph [label={}, labelloc=t, rankdir=LR, fontname=\"Helvetica\"];\n",
        quoted(&format!(
            "iredmail-ports reachability, catalogue {} (red: findings)",
            report.catalogue
        ))
    ));
    out.push_str("  node [fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for id in graph.ungrouped() {
        out.push_str(&format!("  {}\n", node(graph, id)));
    }
    for (index, group) in graph.groups.iter().enumerate() {
        out.push_str(&format!("  subgraph cluster_{index} {{\n"));
        out.push_str(&format!("    label={};\n", quoted(&group.label)));
        for id in &group.nodes {
            out.push_str(&format!("    {}\n", node(graph, *id)));
        }
        out.push_str("  }\n");
    }
    for edge in &graph.edges {
        out.push_str(&format!("  {}\n", edge_line(edge)));
    }
    out.push_str("}\n");
    out
}

fn node(graph: &Graph, id: usize) -> String {
    let node = &graph.nodes[id];
    let shape = match node.kind {
        NodeKind::Origin => "shape=oval, style=filled, fillcolor=\"#eeeeee\"",
        NodeKind::Exposer => "shape=cds",
        NodeKind::Workload => "shape=box3d",
    };
    format!("n{id} [label={}, {shape}];", quoted(&node.label))
}

fn edge_line(edge: &Edge) -> String {
    let mut attributes = Vec::new();
    let lines = edge.label_lines();
    if lines.is_empty() {
        attributes.push("style=dashed".to_string());
    } else {
        let escaped: Vec<String> = lines.iter().map(|l| escaped(l)).collect();
        attributes.push(format!("label=\"{}\"", escaped.join("\\n")));
    }
    if edge.flagged() {
        attributes.push("color=red, fontcolor=red, penwidth=2".into());
    }
    format!(
        "n{} -> n{} [{}];",
        edge.from,
        edge.to,
        attributes.join(", ")
    )
}

/// A DOT double-quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text))
}

/// Text made safe inside a DOT double-quoted label: a `"` would end the string, a
/// backslash would start one of Graphviz's label escapes (`\N` is the node's name, `\l` a
/// line break), and Graphviz decodes HTML entities even in plain labels (`&amp;` shows as
/// `&`), so all three are escaped; line breaks in names become spaces.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_escape_quotes_backslashes_and_newlines() {
        assert_eq!(quoted(r#"a "b" \N c"#), r#""a \"b\" \\N c""#);
        assert_eq!(quoted("a&amp;b"), "\"a&amp;amp;b\"");
        assert_eq!(
            quoted("compose/my-app/web.1\nx"),
            "\"compose/my-app/web.1 x\""
        );
    }
}
