//! Where a play's variables come from, in Ansible's order of precedence, weakest first:
//! role defaults, `group_vars/all`, `group_vars/<group>`, `host_vars/<host>`, the play's
//! `vars:`, its `vars_files:`, role vars.
//!
//! The host a play runs on is not known here, so the group and host files taken are the
//! ones that apply to every host the play targets: `all`, and each group or host its
//! `hosts:` names (`hosts: mail` reads `group_vars/mail` and `host_vars/mail`; a union
//! `mail:db` reads both, in that order). Groups of groups are an inventory's business
//! and are not followed. Only `group_vars/` and `host_vars/` beside the playbook are read.

use std::path::{Path, PathBuf};

use super::boundary::Boundary;
use super::jinja::Vars;
use super::source;
use super::yaml::{self, Node};

/// The extensions Ansible reads a variables file with (none is allowed too).
const VARS_EXTENSIONS: &[&str] = &["yml", "yaml", "json"];

/// Reads variables files, never one outside the boundary: a symlink in `group_vars/`
/// or a role's `defaults/` that leads out of the checked directory is refused, and
/// named by the caller.
pub struct VarsFiles<'b> {
    boundary: &'b Boundary,
    /// Files refused for lying outside the boundary, in the order met.
    pub refused: Vec<PathBuf>,
}

impl<'b> VarsFiles<'b> {
    pub fn new(boundary: &'b Boundary) -> VarsFiles<'b> {
        VarsFiles {
            boundary,
            refused: Vec::new(),
        }
    }

    /// The plain variables of a YAML mapping file. A missing or broken file gives none: a
    /// role need not have defaults, and a directory walk reports a broken file on its own.
    pub fn file_vars(&mut self, path: &Path) -> Vars {
        if !self.boundary.admits(path) {
            self.refused.push(path.to_path_buf());
            return Vars::default();
        }
        if !path.is_file() {
            return Vars::default();
        }
        let Ok(source) = source::read_file(path) else {
            return Vars::default();
        };
        let stream = yaml::parse_stream(&source.text);
        let root = stream.documents.into_iter().find_map(Result::ok);
        Vars::from_mapping(root.as_ref().map(|d| &d.root))
    }

    /// The variables of `roles/<name>/<section>/main.yml` (`defaults` or `vars`).
    pub fn role_vars(&mut self, role: &Path, section: &str) -> Vars {
        ["main.yml", "main.yaml", "main"]
            .iter()
            .map(|name| role.join(section).join(name))
            .find(|p| p.is_file())
            .map(|file| self.file_vars(&file))
            .unwrap_or_default()
    }

    /// `group_vars/all`, then the group and host files the play's `hosts:` names, from the
    /// directory beside the playbook.
    pub fn inventory_vars(&mut self, dir: &Path, hosts: Option<&Node>) -> Vars {
        let mut names = host_patterns(hosts);
        names.retain(|n| n != "all");
        let mut vars = self.named_vars(&dir.join("group_vars"), "all");
        for name in &names {
            let group = self.named_vars(&dir.join("group_vars"), name);
            vars.overlay(group);
        }
        for name in &names {
            let host = self.named_vars(&dir.join("host_vars"), name);
            vars.overlay(host);
        }
        vars
    }

    /// `<dir>/<name>` as Ansible finds it: `<name>.yml` (`.yaml`, `.json`, or no
    /// extension), or a directory `<name>/` whose files are read in name order, later ones
    /// winning.
    fn named_vars(&mut self, dir: &Path, name: &str) -> Vars {
        let base = dir.join(name);
        if base.is_dir() {
            let mut vars = Vars::default();
            for file in directory_files(&base) {
                let more = self.file_vars(&file);
                vars.overlay(more);
            }
            return vars;
        }
        let mut candidates = vec![base.clone()];
        candidates.extend(
            VARS_EXTENSIONS
                .iter()
                .map(|ext| dir.join(format!("{name}.{ext}"))),
        );
        candidates
            .iter()
            .find(|p| p.is_file())
            .map(|file| self.file_vars(file))
            .unwrap_or_default()
    }
}

/// The plain group and host names of a `hosts:` pattern: `a:b`, `a,b`, a list, `&b`
/// (every host is in `b` too). Exclusions (`!b`), wildcards, regular expressions and
/// Jinja name no file that applies to every host.
fn host_patterns(hosts: Option<&Node>) -> Vec<String> {
    let texts: Vec<String> = match hosts {
        Some(node) => match node.as_seq() {
            Some(items) => items.iter().filter_map(Node::scalar_text).collect(),
            None => node.scalar_text().into_iter().collect(),
        },
        None => Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    for text in texts.iter().filter(|t| !t.contains("{{")) {
        for part in text.split([':', ',']).map(str::trim) {
            let name = part.strip_prefix('&').unwrap_or(part);
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if plain && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The variables files of a `group_vars/<name>/` directory, in name order (hidden files
/// and other extensions are not variables).
fn directory_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_none_or(|n| n.starts_with('.'));
            let ext = p.extension().and_then(|e| e.to_str());
            !hidden && ext.is_none_or(|e| VARS_EXTENSIONS.contains(&e))
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        yaml::parse_stream(text).documents[0]
            .clone()
            .expect("valid YAML")
            .root
    }

    #[test]
    fn hosts_name_the_groups_that_apply_to_every_host() {
        let cases = [
            ("mail", vec!["mail"]),
            ("mail:db", vec!["mail", "db"]),
            ("mail, db", vec!["mail", "db"]),
            ("mail:&staging:!broken", vec!["mail", "staging"]),
            ("[mail, db]", vec!["mail", "db"]),
            ("web*", vec![]),
            ("\"{{ target }}\"", vec![]),
        ];
        for (text, expected) in cases {
            let root = node(&format!("hosts: {text}\n"));
            assert_eq!(host_patterns(root.get("hosts")), expected, "{text}");
        }
    }
}
