//! `--format mermaid`: the reachability graph as a Mermaid flowchart, which GitHub and
//! GitLab draw inside Markdown (in a ```` ```mermaid ```` block). Namespaces and Compose
//! projects are subgraphs; edges with findings are red (`linkStyle`) and name their rules.

use super::Report;
use super::graph::{Edge, Graph, NodeKind};

pub fn render(report: &Report) -> String {
    let graph = &report.graph;
    let mut out = String::from("flowchart LR\n");
    out.push_str(&format!(
        "  %% iredmail-ports reachability, catalogue {} (red: findings)\n",
        report.catalogue.replace(['\n', '\r'], " ")
    ));
    for id in graph.ungrouped() {
        out.push_str(&format!("  {}\n", node(graph, id)));
    }
    for (index, group) in graph.groups.iter().enumerate() {
        out.push_str(&format!("  subgraph g{index}[{}]\n", quoted(&group.label)));
        for id in &group.nodes {
            out.push_str(&format!("    {}\n", node(graph, *id)));
        }
        out.push_str("  end\n");
    }
    for edge in &graph.edges {
        out.push_str(&format!("  {}\n", edge_line(edge)));
    }
    // Mermaid styles an edge by its index in the order the edges are written.
    let flagged: Vec<String> = graph
        .edges
        .iter()
        .enumerate()
        .filter(|(_, edge)| edge.flagged())
        .map(|(index, _)| index.to_string())
        .collect();
    if !flagged.is_empty() {
        out.push_str(&format!(
            "  linkStyle {} stroke:red,color:red,stroke-width:2px\n",
            flagged.join(",")
        ));
    }
    out
}

fn node(graph: &Graph, id: usize) -> String {
    let label = quoted(&graph.nodes[id].label);
    match graph.nodes[id].kind {
        NodeKind::Origin => format!("n{id}(({label}))"),
        NodeKind::Exposer => format!("n{id}{{{{{label}}}}}"),
        NodeKind::Workload => format!("n{id}[{label}]"),
    }
}

fn edge_line(edge: &Edge) -> String {
    let lines = edge.label_lines();
    if lines.is_empty() {
        return format!("n{} -.-> n{}", edge.from, edge.to);
    }
    let escaped: Vec<String> = lines.iter().map(|l| escaped(l)).collect();
    format!(
        "n{} -->|\"{}\"| n{}",
        edge.from,
        escaped.join("<br>"),
        edge.to
    )
}

/// A Mermaid double-quoted label.
fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text))
}

/// Text made safe inside a Mermaid quoted label. Mermaid has no backslash escapes, only
/// entity codes (`#quot;`): a `"` would end the label, `#` could start an entity, `<`, `>`
/// and `&` are HTML in the rendered label, `|` ends an edge label, and a backtick at the
/// start makes a Markdown string. Line breaks in names become spaces.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
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
    fn labels_use_entity_codes_for_what_mermaid_would_read() {
        assert_eq!(
            quoted(r#"a "b" #1 <i> & | `c` d/e-f"#),
            "\"a #quot;b#quot; #35;1 #lt;i#gt; #amp; #124; #96;c#96; d/e-f\""
        );
        assert_eq!(quoted("x\ny"), "\"x y\"");
    }
}
