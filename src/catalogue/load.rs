//! Loading a catalogue: the embedded default or a user's file, typed through serde and
//! checked for what types cannot say (duplicate ports, replacements that do not exist).
//! Every error names the file, the line and the field.

use std::path::Path;

use super::{Catalogue, Status};
use crate::load::yaml::{self, SettingsError, path_to_string};
use crate::model::PathSegment;

const DEFAULT: &str = include_str!("../../policies/iredmail.yaml");
const IMPLICIT_TLS: &str = include_str!("../../policies/iredmail-implicit-tls.yaml");

/// Why a catalogue cannot be used.
pub type CatalogueError = SettingsError;

impl Catalogue {
    /// The default catalogue, `policies/iredmail.yaml`, embedded in the binary.
    pub fn embedded_default() -> Result<Catalogue, CatalogueError> {
        Catalogue::from_yaml(DEFAULT, "policies/iredmail.yaml")
    }

    /// The RFC 8314 variant, `policies/iredmail-implicit-tls.yaml`, also embedded.
    pub fn embedded_implicit_tls() -> Result<Catalogue, CatalogueError> {
        Catalogue::from_yaml(IMPLICIT_TLS, "policies/iredmail-implicit-tls.yaml")
    }

    /// A catalogue shipped in the binary, by the name `--catalogue` takes: `iredmail` (the
    /// default) or `implicit-tls` (also `iredmail-implicit-tls`, its report name). `None`
    /// for any other name, which the command line then reads as a file path.
    pub fn embedded(name: &str) -> Option<Result<Catalogue, CatalogueError>> {
        match name {
            "iredmail" => Some(Catalogue::embedded_default()),
            "implicit-tls" | "iredmail-implicit-tls" => Some(Catalogue::embedded_implicit_tls()),
            _ => None,
        }
    }

    pub fn from_file(path: &Path) -> Result<Catalogue, CatalogueError> {
        let text = yaml::read_settings(path, "catalogue")?;
        Catalogue::from_yaml(&text, &path.display().to_string())
    }

    /// Parses and validates a catalogue; `name` is what errors call the file.
    pub fn from_yaml(text: &str, name: &str) -> Result<Catalogue, CatalogueError> {
        let invalid = |line, column, message| CatalogueError::Invalid {
            path: name.to_string(),
            line,
            column,
            message,
        };
        let (catalogue, root): (Catalogue, _) =
            yaml::deserialize_document(text).map_err(|e| invalid(e.line, e.column, e.message))?;
        catalogue.check_consistency().map_err(|(path, message)| {
            let (line, column) = root.position_of(&path);
            invalid(
                line,
                column,
                format!("`{}`: {message}", path_to_string(&path)),
            )
        })?;
        Ok(catalogue)
    }

    /// What serde cannot check: every port once, replacements and requirements that
    /// refer to ports the catalogue has.
    fn check_consistency(&self) -> Result<(), (Vec<PathSegment>, String)> {
        let at = |list: &str, index: usize, field: &str| {
            vec![
                PathSegment::Key(list.into()),
                PathSegment::Index(index),
                PathSegment::Key(field.into()),
            ]
        };
        for (index, entry) in self.ports.iter().enumerate() {
            if entry.port == 0 {
                return Err((at("ports", index, "port"), "port 0 is not a port".into()));
            }
            let first = self
                .ports
                .iter()
                .position(|e| e.port == entry.port && e.protocol == entry.protocol);
            if first != Some(index) {
                return Err((
                    at("ports", index, "port"),
                    format!("{}/{} is listed twice", entry.port, entry.protocol),
                ));
            }
            if let Status::Deprecated { replacement, .. } = entry.status
                && self.entry_any_protocol(replacement).is_none()
            {
                return Err((
                    at("ports", index, "status"),
                    format!("the replacement port {replacement} is not in the catalogue"),
                ));
            }
        }
        for (index, requirement) in self.requirements.iter().enumerate() {
            if requirement.any_of.is_empty() {
                return Err((
                    at("requirements", index, "any_of"),
                    "a requirement needs at least one port".into(),
                ));
            }
            if let Some(port) = requirement
                .any_of
                .iter()
                .find(|p| self.entry(**p, requirement.protocol).is_none())
            {
                return Err((
                    at("requirements", index, "any_of"),
                    format!(
                        "port {port}/{} is not in the catalogue",
                        requirement.protocol
                    ),
                ));
            }
        }
        self.check_http_paths(&at)
    }

    /// HTTP paths name backends that exist, and start with `/`.
    fn check_http_paths(
        &self,
        at: &dyn Fn(&str, usize, &str) -> Vec<PathSegment>,
    ) -> Result<(), (Vec<PathSegment>, String)> {
        for (index, path) in self.http_paths.iter().enumerate() {
            if !path.path.starts_with('/') {
                return Err((
                    at("http_paths", index, "path"),
                    format!("`{}` does not start with `/`", path.path),
                ));
            }
            if let Some(id) = path
                .served_by
                .iter()
                .find(|id| self.web_backend(id).is_none())
            {
                return Err((
                    at("http_paths", index, "served_by"),
                    format!("`{id}` is not in `web_backends`"),
                ));
            }
        }
        for (index, backend) in self.web_backends.iter().enumerate() {
            if let Some(label) = backend.labels.iter().find(|l| !l.contains('=')) {
                return Err((
                    at("web_backends", index, "labels"),
                    format!("`{label}` is not `key=value`"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_embedded_catalogues_load() {
        let default = Catalogue::embedded_default().expect("default loads");
        let implicit = Catalogue::embedded_implicit_tls().expect("implicit-TLS loads");
        assert_eq!(default.name, "iredmail");
        assert_eq!(implicit.name, "iredmail-implicit-tls");
        let ports = |c: &Catalogue| {
            let mut p: Vec<u16> = c.ports.iter().map(|e| e.port).collect();
            p.sort_unstable();
            p
        };
        assert_eq!(ports(&default), ports(&implicit));
    }

    #[test]
    fn a_wrong_type_names_file_line_and_field() {
        let text = "name: x\ndescription: d\nsource: s\nports:\n  - service: a\n    name: A\n    port: \"many\"\n";
        let error = Catalogue::from_yaml(text, "c.yaml").unwrap_err();
        let CatalogueError::Invalid { line, message, .. } = error else {
            panic!("{error:?}");
        };
        assert_eq!(line, 7);
        assert!(
            message.starts_with("`ports[0].port`: invalid type"),
            "{message}"
        );
    }
}
