//! `iredmail-ports catalogue`: the catalogue as a table, JSON or YAML.

use super::{Catalogue, Status};

impl Catalogue {
    /// One row per port, sorted by port, with the requirement each port meets.
    pub fn to_table(&self) -> String {
        let header = [
            "PORT", "PROTO", "SERVICE", "NAME", "SCOPE", "LISTEN", "STATUS",
        ];
        let mut rows: Vec<[String; 7]> = Vec::new();
        let mut entries: Vec<_> = self.ports.iter().collect();
        entries.sort_by_key(|e| (e.port, e.protocol));
        for entry in entries {
            rows.push([
                entry.port.to_string(),
                entry.protocol.to_string(),
                entry.service.clone(),
                entry.name.clone(),
                entry.scope.to_string(),
                entry.listen.clone(),
                self.status_text(entry.port, &entry.status),
            ]);
        }
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = format!("{} — {}\n\n", self.name, self.description.trim());
        out.push_str(&line(header.to_vec()));
        for row in &rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }

    fn status_text(&self, port: u16, status: &Status) -> String {
        let required = self
            .requirements
            .iter()
            .find(|r| r.any_of.contains(&port))
            .map(|r| format!("required ({})", r.name));
        match status {
            Status::Active => required.unwrap_or_else(|| "active".into()),
            Status::Optional => "optional".into(),
            Status::Deprecated { replacement, .. } => format!("deprecated, use {replacement}"),
            Status::Removed { release, .. } => format!("removed in {release}"),
        }
    }

    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }

    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_default()
    }
}
