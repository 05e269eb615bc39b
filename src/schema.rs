//! The JSON Schemas generated from the types, as committed under `schemas/`.

use schemars::schema_for;

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::report::Report;

/// The schemas `iredmail-ports schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    Catalogue,
    Config,
    Report,
}

impl SchemaKind {
    /// The file under `schemas/` that holds it.
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Catalogue => "catalogue.schema.json",
            SchemaKind::Config => "config.schema.json",
            SchemaKind::Report => "report.schema.json",
        }
    }

    /// The schema, pretty-printed with a final newline.
    pub fn render(self) -> String {
        let schema = match self {
            SchemaKind::Catalogue => schema_for!(Catalogue),
            SchemaKind::Config => schema_for!(Config),
            SchemaKind::Report => schema_for!(Report),
        };
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
}
