//! Ansible playbooks and role task files → Kubernetes objects and Compose projects.
//!
//! Three kinds of task deploy ports: `kubernetes.core.k8s` (an inline `definition:` or a
//! `src:` manifest), `community.docker.docker_container` (`published_ports`,
//! `exposed_ports`, `network_mode`) and `community.docker.docker_compose_v2` (an inline
//! `definition:` or a `project_src` directory). Each becomes what the rest of the tool
//! already judges: Kubernetes objects, and Compose projects whose services are the
//! containers of one play. Positions stay those of the playbook, so findings point at
//! the task's own lines; a `src:` manifest or a `project_src` Compose file is read as
//! that file, and findings point into it.
//!
//! A play's roles (`roles:`, and `import_role`/`include_role` tasks) and the task files
//! it includes (`import_tasks`/`include_tasks`) are read as part of the play: their
//! containers join its Compose project, and their findings point into their own files.
//!
//! Ansible renders Jinja before a module sees its arguments. Port values are rendered
//! here from plain variables (see [`super::ansible_vars`] for where they come from), a
//! whole port list too (`published_ports: "{{ db_ports }}"`); an expression that cannot
//! be followed is reported by name and its port skipped, never guessed, and the unit it
//! might have published a port of is not judged by `missing-port`.

use std::path::{Component, Path, PathBuf};

use super::ansible_vars::VarsFiles;
use super::boundary::{Boundary, parent_dir};
use super::compose::{self, ComposeFile, ComposeProject, ComposeService, ExposedPort};
use super::compose::{PublishedPort, normalize_project_name};
use super::compose_ports::{PortRange, PortSpec, from_integer, parse_short_syntax};
use super::interpolate::Environment;
use super::jinja::{Unresolved, Vars, has_jinja, render, render_text};
use super::kubernetes::{self, KubeObject};
use super::source::{self, SourceText};
use super::yaml::{self, Document, Entry, Node, Value, YamlError};
use crate::model::{Impact, InvalidInput, Location, Protocol, Unit};

const K8S_MODULES: &[&str] = &["kubernetes.core.k8s", "community.kubernetes.k8s", "k8s"];
const CONTAINER_MODULES: &[&str] = &["community.docker.docker_container", "docker_container"];
/// `docker_compose` (Compose v1) takes the same `definition` and `project_src`.
const COMPOSE_MODULES: &[&str] = &[
    "community.docker.docker_compose_v2",
    "docker_compose_v2",
    "community.docker.docker_compose",
    "docker_compose",
];
const IMPORT_PLAYBOOK: &[&str] = &["import_playbook", "ansible.builtin.import_playbook"];
const ROLE_TASKS: &[&str] = &[
    "import_role",
    "include_role",
    "ansible.builtin.import_role",
    "ansible.builtin.include_role",
];
/// `include` is the old name of `include_tasks`.
const TASK_FILES: &[&str] = &[
    "import_tasks",
    "include_tasks",
    "include",
    "ansible.builtin.import_tasks",
    "ansible.builtin.include_tasks",
];
/// Modules of `ansible.builtin` (and a few of `ansible.posix`/`community.general` that
/// playbooks use without their collection) by short name, so that a task file without
/// any port module is still known for Ansible. A fully qualified name needs no list.
const KNOWN_MODULES: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "authorized_key",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "debconf",
    "debug",
    "dnf",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "firewalld",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "synchronize",
    "sysctl",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "ufw",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum",
    "yum_repository",
];
/// What an unresolved port value leaves unchecked: the port, and whether the unit it
/// deploys offers the required ports (it may be one of them).
const PORT_SKIPPED: &str =
    "the port is not checked, nor does `missing-port` judge what the task deploys";
const PORTS_SKIPPED: &str =
    "the ports are not checked, nor does `missing-port` judge what the task deploys";
/// The most nested task files and roles followed; deeper is a loop in practice.
const MAX_FOLLOW_DEPTH: usize = 16;
/// A play's task lists, in the order Ansible runs them.
const PLAY_SECTIONS: &[&str] = &["pre_tasks", "tasks", "post_tasks", "handlers"];
const BLOCK_SECTIONS: &[&str] = &["block", "rescue", "always"];
/// The files `docker compose` looks for in a project directory, in its order.
const COMPOSE_FILE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
/// The Compose project of containers outside a named play.
const DEFAULT_PROJECT: &str = "ansible";
/// The lists whose items are ports, in Kubernetes and Compose definitions: an item whose
/// Jinja cannot be rendered is dropped, and named.
const PORT_LISTS: &[&str] = &["ports", "expose"];

/// What a playbook deploys.
#[derive(Debug, Default)]
pub struct Deployed {
    pub kube: Vec<KubeObject>,
    pub compose: Vec<ComposeProject>,
    /// Files read besides the playbook (`src:` manifests, `project_src` Compose files),
    /// for the report's source frames.
    pub sources: Vec<SourceText>,
    /// Their canonical paths, and those of the role and task files a play follows, so a
    /// directory walk that finds them too does not load them a second time.
    pub read: Vec<PathBuf>,
    /// Units some of whose ports could not be resolved.
    pub unresolved: Vec<Unit>,
}

/// Whether a document is a playbook or a task file: a list of plays, or of tasks among
/// which one uses a module read here (or a block that may), or a list of tasks that each
/// name a known Ansible module (a task file with nothing to judge, but Ansible).
pub fn is_ansible(root: &Node) -> bool {
    let Some(items) = root.as_seq() else {
        return false;
    };
    let all_maps = items.iter().all(|i| i.as_map().is_some());
    let judged = items.iter().any(|i| is_play(i) || is_task(i));
    let plain_tasks = !items.is_empty() && items.iter().all(names_a_module);
    all_maps && (judged || plain_tasks)
}

/// Whether a task runs a module known by name: one of `ansible.builtin`'s, a role or task
/// file include, or any fully qualified `namespace.collection.module`.
fn names_a_module(task: &Node) -> bool {
    task.as_map().unwrap_or_default().iter().any(|entry| {
        let key = entry.key.as_str();
        let qualified = key.split('.').count() == 3
            && key
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        qualified
            || KNOWN_MODULES.contains(&key)
            || ROLE_TASKS.contains(&key)
            || TASK_FILES.contains(&key)
            || BLOCK_SECTIONS.contains(&key)
    })
}

fn is_play(node: &Node) -> bool {
    let has = |keys: &[&str]| keys.iter().any(|k| node.get(k).is_some());
    (has(&["hosts"]) && has(&["tasks", "roles", "pre_tasks", "post_tasks"])) || has(IMPORT_PLAYBOOK)
}

fn is_task(node: &Node) -> bool {
    module_of(node).is_some() || node.get("block").is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Module {
    K8s,
    Container,
    Compose,
}

fn module_of(task: &Node) -> Option<(Module, &Entry)> {
    task.as_map()?.iter().find_map(|entry| {
        let key = entry.key.as_str();
        let module = if K8S_MODULES.contains(&key) {
            Module::K8s
        } else if CONTAINER_MODULES.contains(&key) {
            Module::Container
        } else if COMPOSE_MODULES.contains(&key) {
            Module::Compose
        } else {
            return None;
        };
        Some((module, entry))
    })
}

/// Reads what a playbook or a task file deploys. `path` is the file as found (for the
/// directories `src:` and roles are looked up in), `source` its text as named in reports;
/// no file outside `boundary` is read.
pub fn read(
    root: &Node,
    path: &Path,
    source: &SourceText,
    boundary: &Boundary,
    problems: &mut Vec<InvalidInput>,
) -> Deployed {
    let dir = parent_dir(path);
    let mut reader = Reader {
        boundary: boundary.clone(),
        file: source.path.clone(),
        text: source.text.clone(),
        path: path.to_path_buf(),
        problems,
        deployed: Deployed::default(),
        notes: 0,
        following: Vec::new(),
    };
    let items = root.as_seq().unwrap_or_default();
    if items.iter().any(is_play) {
        for play in items.iter().filter(|i| is_play(i)) {
            reader.read_play(play, &dir);
        }
    } else {
        // A task file on its own: a role's sees the role's defaults and vars and finds
        // `src:` files in the role's `files/`; any task file sees `group_vars/all` of the
        // directory its playbook would sit in (`all` applies to every host). The roles and
        // task files it includes are not followed: a playbook that uses it does that, and
        // its findings then belong to the playbook's play.
        let role = role_of(path);
        let playbook_dir = role
            .as_deref()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .map_or_else(|| dir.clone(), Path::to_path_buf);
        let vars = reader.through_boundary((root.line, root.column), |files| {
            let mut vars = Vars::default();
            if let Some(role) = &role {
                vars.overlay(files.role_vars(role, "defaults"));
            }
            vars.overlay(files.inventory_vars(&playbook_dir, None));
            if let Some(role) = &role {
                vars.overlay(files.role_vars(role, "vars"));
            }
            vars
        });
        let base = role.unwrap_or_else(|| dir.clone());
        let mut play = Play {
            project: DEFAULT_PROJECT.to_string(),
            dir: playbook_dir,
            base,
            containers: Vec::new(),
            follows: false,
        };
        reader.read_tasks(items, vars, &mut play);
        reader.finish_play(play);
    }
    reader.deployed
}

/// `roles/<name>` when the file is `roles/<name>/tasks/*.yml` (or `handlers/`).
fn role_of(path: &Path) -> Option<PathBuf> {
    let section = path.parent()?;
    let role = section.parent()?;
    let is_section = matches!(section.file_name()?.to_str()?, "tasks" | "handlers");
    let under_roles = role.parent()?.file_name()? == "roles";
    (is_section && under_roles).then(|| role.to_path_buf())
}

/// Lexically drops `.` steps, so `./files/x.yaml` is named as a walk names it.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The containers of one play, and where its files are found.
struct Play {
    project: String,
    /// The playbook's directory, where `roles/` is.
    dir: PathBuf,
    /// Where relative `src:` and `project_src` paths start: the playbook's directory, or
    /// the role whose tasks are being read.
    base: PathBuf,
    containers: Vec<ComposeService>,
    /// Whether roles and task files it includes are read (in a playbook's play).
    follows: bool,
}

struct Reader<'a> {
    /// Where the files the playbook names may be read from.
    boundary: Boundary,
    /// The file being read, as reports name it: the playbook, or a role's task file.
    file: String,
    /// Its text, to map a `|` block `definition:` back to its lines.
    text: String,
    /// Its path on disk, where included task files are looked up.
    path: PathBuf,
    problems: &'a mut Vec<InvalidInput>,
    deployed: Deployed,
    /// Notes about unresolved expressions so far: a task that adds one marks its unit.
    notes: usize,
    /// The task files being followed, outermost first, so an include loop stops.
    following: Vec<PathBuf>,
}

impl Reader<'_> {
    fn at(&self, line: u32, column: u32) -> Location {
        Location::new(self.file.as_str(), line, column)
    }

    fn problem(&mut self, message: String, line: u32, column: u32) {
        self.record(message, line, column, Impact::Unread);
    }

    fn record(&mut self, message: String, line: u32, column: u32, impact: Impact) {
        let location = self.at(line, column);
        self.problems
            .push(InvalidInput::new(location, message, impact));
    }

    /// An expression that cannot be rendered: a note naming it and what is therefore not
    /// checked, since the rest of the playbook still is.
    fn unresolved(&mut self, unresolved: &Unresolved, line: u32, column: u32, skipped: &str) {
        let message = format!(
            "cannot resolve Jinja expression `{}`: {}; {skipped}",
            unresolved.expression, unresolved.reason
        );
        self.notes += 1;
        self.record(message, line, column, Impact::ValueSkipped);
    }

    fn read_play(&mut self, play: &Node, dir: &Path) {
        let roles: Vec<(&Node, String)> = play
            .get("roles")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| Some((r, role_name(r)?)))
            .collect();
        let vars = self.play_vars(play, dir, &roles);
        let project = play
            .get("name")
            .and_then(Node::scalar_text)
            .map(|name| render_text(&name, &vars).unwrap_or(name))
            .map(|name| project_name(&name))
            .unwrap_or_else(|| DEFAULT_PROJECT.to_string());
        let mut scope = Play {
            project,
            dir: dir.to_path_buf(),
            base: dir.to_path_buf(),
            containers: Vec::new(),
            follows: true,
        };
        // Ansible runs `pre_tasks`, then the roles, then `tasks`, `post_tasks`, handlers.
        let (pre, rest) = PLAY_SECTIONS.split_at(1);
        for section in pre {
            let tasks = play.get(section).and_then(Node::as_seq).unwrap_or_default();
            self.read_tasks(tasks, vars.clone(), &mut scope);
        }
        for (node, name) in &roles {
            let params = role_params(node);
            self.follow_role(name, None, node, (&vars, params), &mut scope);
        }
        for section in rest {
            let tasks = play.get(section).and_then(Node::as_seq).unwrap_or_default();
            self.read_tasks(tasks, vars.clone(), &mut scope);
        }
        self.finish_play(scope);
    }

    /// A play's variables, weakest first: its roles' defaults, the group and host files
    /// beside the playbook, `vars:`, `vars_files:`, its roles' vars.
    fn play_vars(&mut self, play: &Node, dir: &Path, roles: &[(&Node, String)]) -> Vars {
        let mut vars = self.through_boundary((play.line, play.column), |files| {
            let mut vars = Vars::default();
            for (_, role) in roles {
                if let Some(role) = find_role(dir, role) {
                    vars.overlay(files.role_vars(&role, "defaults"));
                }
            }
            vars.overlay(files.inventory_vars(dir, play.get("hosts")));
            vars
        });
        vars.overlay(Vars::from_mapping(play.get("vars")));
        let files = play.get("vars_files");
        let entries: Vec<&Node> = match files.map(|f| &f.value) {
            Some(Value::Seq(items)) => items.iter().collect(),
            Some(_) => files.into_iter().collect(),
            None => Vec::new(),
        };
        for entry in entries {
            let loaded = self.vars_file(entry, &vars, dir);
            vars.overlay(loaded);
        }
        let role_vars = self.through_boundary((play.line, play.column), |files| {
            let mut vars = Vars::default();
            for (_, role) in roles {
                if let Some(role) = find_role(dir, role) {
                    vars.overlay(files.role_vars(&role, "vars"));
                }
            }
            vars
        });
        vars.overlay(role_vars);
        vars
    }

    /// Reads variables files through the boundary; each file refused for lying outside it
    /// is named at `at`, the play or file that would have read it.
    fn through_boundary<T>(
        &mut self,
        (line, column): (u32, u32),
        read: impl FnOnce(&mut VarsFiles) -> T,
    ) -> T {
        let boundary = self.boundary.clone();
        let mut files = VarsFiles::new(&boundary);
        let value = read(&mut files);
        for path in files.refused {
            let message = format!(
                "variables file `{}` lies outside `{}`, the directory being checked; it is \
                 not read",
                path.display(),
                boundary.shown().display()
            );
            self.record(message, line, column, Impact::ValueSkipped);
        }
        value
    }

    /// Whether a file the playbook names may be read. One outside the boundary is not
    /// opened (a symlink is judged by its target): an `invalid-input` names the
    /// reference as written.
    fn admits(&mut self, path: &Path, reference: &str, (line, column): (u32, u32)) -> bool {
        if self.boundary.admits(path) {
            return true;
        }
        let message = format!(
            "{reference} leads outside `{}`, the directory being checked; it is not read",
            self.boundary.shown().display()
        );
        self.problem(message, line, column);
        false
    }

    /// The first of `candidates` that is a file inside the boundary. When none is and one
    /// leads outside it, the reference is named as leaving the checked directory (whether
    /// or not its target exists) and `Err(true)` returned; `Err(false)` when none exists.
    fn locate(
        &mut self,
        candidates: &[PathBuf],
        reference: &str,
        at: (u32, u32),
    ) -> Result<PathBuf, bool> {
        let candidates: Vec<PathBuf> = candidates.iter().map(|p| normalize(p)).collect();
        if let Some(found) = candidates
            .iter()
            .find(|p| self.boundary.admits(p) && p.is_file())
        {
            return Ok(found.clone());
        }
        match candidates.iter().find(|p| !self.boundary.admits(p)) {
            Some(outside) => {
                let outside = outside.clone();
                self.admits(&outside, reference, at);
                Err(true)
            }
            None => Err(false),
        }
    }

    /// One `vars_files:` entry: a path (rendered with the variables known so far), or a
    /// list of which the first that exists is read, as Ansible does. One that cannot be
    /// rendered or found is named; the ports that would use its variables are then named
    /// on their own.
    fn vars_file(&mut self, entry: &Node, vars: &Vars, dir: &Path) -> Vars {
        let candidates: Vec<&Node> = match &entry.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![entry],
        };
        let mut tried = Vec::new();
        for candidate in candidates {
            let Some(text) = candidate.scalar_text() else {
                continue;
            };
            let name = match render_text(&text, vars) {
                Ok(name) => name,
                Err(unresolved) => {
                    let skipped = "its variables are not read";
                    let message = format!(
                        "cannot resolve Jinja expression `{}` in `vars_files:`: {}; {skipped}",
                        unresolved.expression, unresolved.reason
                    );
                    self.record(
                        message,
                        candidate.line,
                        candidate.column,
                        Impact::ValueSkipped,
                    );
                    return Vars::default();
                }
            };
            let path = normalize(&dir.join(&name));
            let reference = format!("`vars_files: {name}`");
            if !self.admits(&path, &reference, (candidate.line, candidate.column)) {
                return Vars::default();
            }
            if path.is_file() {
                return self.through_boundary((candidate.line, candidate.column), |files| {
                    files.file_vars(&path)
                });
            }
            tried.push(name);
        }
        let message = format!(
            "`vars_files:` names {}, which is not beside the playbook; its variables are not \
             read",
            tried.join(" or ")
        );
        self.record(message, entry.line, entry.column, Impact::ValueSkipped);
        Vars::default()
    }

    /// The play's containers form one Compose project, merged as Compose merges
    /// services of one name (a task that stops a container and one that starts it).
    fn finish_play(&mut self, play: Play) {
        if play.containers.is_empty() {
            return;
        }
        let file = ComposeFile {
            project_name: None,
            services: play.containers,
        };
        self.deployed
            .compose
            .push(compose::merge(vec![file], &play.project));
    }

    /// Walks tasks and the `block`/`rescue`/`always` lists inside them, in order, with
    /// an explicit stack; each level may add `vars:`.
    fn read_tasks(&mut self, tasks: &[Node], vars: Vars, play: &mut Play) {
        let mut stack: Vec<(&Node, Vars)> = tasks.iter().rev().map(|t| (t, vars.clone())).collect();
        while let Some((task, mut vars)) = stack.pop() {
            vars.overlay(Vars::from_mapping(task.get("vars")));
            if BLOCK_SECTIONS.iter().any(|s| task.get(s).is_some()) {
                for section in BLOCK_SECTIONS.iter().rev() {
                    let inner = task.get(section).and_then(Node::as_seq).unwrap_or_default();
                    stack.extend(inner.iter().rev().map(|t| (t, vars.clone())));
                }
                continue;
            }
            if play.follows {
                self.read_include(task, &vars, play);
            }
            self.read_task(task, &vars, play);
        }
    }

    fn read_task(&mut self, task: &Node, vars: &Vars, play: &mut Play) {
        let Some((module, entry)) = module_of(task) else {
            return;
        };
        let args = task_args(task, entry);
        // A task that removes the object or the container deploys no port.
        let state = args.get("state").and_then(Node::scalar_text);
        if state.is_some_and(|s| s == "absent") {
            return;
        }
        let notes = self.notes;
        let (first_kube, first_compose) = (self.deployed.kube.len(), self.deployed.compose.len());
        match module {
            Module::K8s => self.k8s(&args, vars, play),
            Module::Container => {
                if let Some(service) = self.container(&args, entry, vars) {
                    play.containers.push(service);
                }
            }
            Module::Compose => self.compose(&args, vars, play),
        }
        if self.notes == notes {
            return;
        }
        // Something this task deploys has a port that could not be resolved: its unit.
        let units: Vec<Unit> = match module {
            Module::Container => vec![Unit::ComposeProject(play.project.clone())],
            Module::Compose => self.deployed.compose[first_compose..]
                .iter()
                .map(|p| Unit::ComposeProject(p.name.clone()))
                .collect(),
            Module::K8s => self.k8s_units(&args, vars, first_kube),
        };
        self.deployed.unresolved.extend(units);
    }

    /// The namespaces a k8s task applies to: its objects'; when none could be read (a
    /// definition that could not be rendered, a `src:` that could not be named), the
    /// ones its text names, else the task's `namespace`, else `default`.
    fn k8s_units(&self, args: &Node, vars: &Vars, first: usize) -> Vec<Unit> {
        let mut namespaces: Vec<String> = self.deployed.kube[first..]
            .iter()
            .map(|o| o.namespace.clone())
            .collect();
        if namespaces.is_empty() {
            let task = args
                .get("namespace")
                .and_then(Node::scalar_text)
                .and_then(|ns| render_text(&ns, vars).ok())
                .unwrap_or_else(|| "default".into());
            let text = args.get("definition").and_then(Node::as_str);
            let named = text.map(namespaces_named).unwrap_or_else(|| vec![None]);
            namespaces = named
                .into_iter()
                .map(|ns| ns.unwrap_or_else(|| task.clone()))
                .collect();
        }
        namespaces.sort();
        namespaces.dedup();
        namespaces.into_iter().map(Unit::Namespace).collect()
    }

    /// `import_role`/`include_role` and `import_tasks`/`include_tasks`: the role's or
    /// the file's tasks are read as the play's, with the task's `vars:`.
    fn read_include(&mut self, task: &Node, vars: &Vars, play: &mut Play) {
        let Some(entry) =
            task.as_map().unwrap_or_default().iter().find(|e| {
                ROLE_TASKS.contains(&e.key.as_str()) || TASK_FILES.contains(&e.key.as_str())
            })
        else {
            return;
        };
        let is_role = ROLE_TASKS.contains(&entry.key.as_str());
        let args = task_args(task, entry);
        // `include_tasks: file.yml`, or `include_tasks: {file: file.yml}`.
        let name_node = match (&entry.value.value, is_role) {
            (Value::String(_), false) => Some(&entry.value),
            (_, true) => args.get("name"),
            (_, false) => args.get("file"),
        };
        let Some(text) = name_node.and_then(Node::scalar_text) else {
            return;
        };
        let (line, column) = name_node.map_or((0, 0), |n| (n.line, n.column));
        let name = match render_text(&text, vars) {
            Ok(name) => name,
            Err(unresolved) => {
                let what = if is_role { "role" } else { "task file" };
                let skipped = format!("the {what} it names is not checked");
                self.unresolved(&unresolved, line, column, &skipped);
                self.deployed
                    .unresolved
                    .push(Unit::ComposeProject(play.project.clone()));
                return;
            }
        };
        if is_role {
            let tasks_from = args.get("tasks_from").and_then(|t| render_or_raw(t, vars));
            // The task's `vars:` are the role's parameters, which beat its own vars.
            let params = Vars::from_mapping(task.get("vars"));
            self.follow_role(
                &name,
                tasks_from.as_deref(),
                &entry.value,
                (vars, params),
                play,
            );
        } else {
            let here = parent_dir(&self.path);
            let candidates = [here.join(&name), play.base.join("tasks").join(&name)];
            let reference = format!("`{}: {name}`", entry.key);
            match self.locate(&candidates, &reference, (line, column)) {
                Ok(path) => self.follow_task_file(&path, vars, play),
                Err(true) => {}
                Err(false) => {
                    let message = format!(
                        "task file `{name}` is not beside `{}`; its tasks are not checked",
                        self.file
                    );
                    self.record(message, line, column, Impact::ValueSkipped);
                }
            }
        }
    }

    /// A role's tasks (`tasks/main.yml`, or the `tasks_from:` file) and, for its main
    /// tasks, its handlers, with its defaults under the variables in scope, its vars over
    /// them and the parameters it is given over those; relative `src:` paths start in the
    /// role.
    fn follow_role(
        &mut self,
        name: &str,
        tasks_from: Option<&str>,
        at: &Node,
        (vars, params): (&Vars, Vars),
        play: &mut Play,
    ) {
        let Some(role) = find_role(&play.dir, name) else {
            let message = format!(
                "role `{name}` is not in `roles/` beside the playbook (a role installed \
                 elsewhere is not read); its tasks are not checked"
            );
            self.record(message, at.line, at.column, Impact::ValueSkipped);
            return;
        };
        if !self.admits(&role, &format!("role `{name}`"), (at.line, at.column)) {
            return;
        }
        let (defaults, own) = self.through_boundary((at.line, at.column), |files| {
            (
                files.role_vars(&role, "defaults"),
                files.role_vars(&role, "vars"),
            )
        });
        let mut scope = defaults;
        scope.overlay(vars.clone());
        scope.overlay(own);
        scope.overlay(params);
        let sections: Vec<(&str, &str)> = match tasks_from {
            Some(file) => vec![("tasks", file)],
            None => vec![("tasks", "main"), ("handlers", "main")],
        };
        let saved_base = std::mem::replace(&mut play.base, role.clone());
        for (section, file) in sections {
            let dir = role.join(section);
            let found = [
                file.to_string(),
                format!("{file}.yml"),
                format!("{file}.yaml"),
            ]
            .iter()
            .map(|f| dir.join(f))
            .collect::<Vec<_>>();
            let reference = format!("role `{name}`'s `{section}/{file}`");
            match self.locate(&found, &reference, (at.line, at.column)) {
                Ok(path) => self.follow_task_file(&path, &scope, play),
                Err(true) => {}
                Err(false) if tasks_from.is_some() => {
                    let message = format!(
                        "role `{name}` has no `{section}/{file}`; its tasks are not checked"
                    );
                    self.record(message, at.line, at.column, Impact::ValueSkipped);
                }
                Err(false) => {}
            }
        }
        play.base = saved_base;
    }

    /// Reads another task file as part of the play: findings point into it.
    fn follow_task_file(&mut self, path: &Path, vars: &Vars, play: &mut Play) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.following.len() >= MAX_FOLLOW_DEPTH || self.following.contains(&canonical) {
            return;
        }
        let Some(source) = self.read_file(path) else {
            return;
        };
        let stream = yaml::parse_stream(&source.text);
        let root = match stream.documents.into_iter().next() {
            Some(Ok(document)) => document.root,
            // A task file that is not YAML is named, its text not shown.
            Some(Err(error)) => {
                self.problems.push(yaml_problem(&source.path, &error));
                return;
            }
            None => return,
        };
        let outer = (
            std::mem::replace(&mut self.file, source.path.clone()),
            std::mem::replace(&mut self.text, source.text.clone()),
            std::mem::replace(&mut self.path, path.to_path_buf()),
        );
        self.following.push(canonical);
        self.read_tasks(root.as_seq().unwrap_or_default(), vars.clone(), play);
        self.following.pop();
        (self.file, self.text, self.path) = outer;
        self.keep_source(source);
    }
    /// `kubernetes.core.k8s`: every object of `definition:` and of the `src:` file, in
    /// the task's `namespace` when the object names none (as the module does).
    fn k8s(&mut self, args: &Node, vars: &Vars, play: &Play) {
        let first = self.deployed.kube.len();
        if let Some(entry) = args.entry("definition") {
            self.k8s_definition(entry, vars);
        }
        if let Some(entry) = args.entry("src") {
            self.k8s_src(entry, vars, &play.base);
        }
        let namespace = args
            .get("namespace")
            .and_then(Node::scalar_text)
            .and_then(|ns| render_text(&ns, vars).ok());
        if let Some(namespace) = namespace {
            for object in &mut self.deployed.kube[first..] {
                if !object.names_its_namespace && object.kind != "Namespace" {
                    object.namespace = namespace.clone();
                }
            }
        }
    }

    fn k8s_definition(&mut self, entry: &Entry, vars: &Vars) {
        let documents = match &entry.value.value {
            Value::Map(_) | Value::Seq(_) => {
                let mut definition = entry.value.clone();
                self.render_tree(&mut definition, vars);
                match definition.value {
                    Value::Seq(items) => items,
                    _ => vec![definition],
                }
            }
            Value::String(text) => self
                .string_definition(text, entry, vars)
                .into_iter()
                .flatten()
                .map(|document| document.root)
                .collect(),
            _ => {
                let message = "`definition:` must be a mapping, a list or a YAML string";
                self.problem(message.into(), entry.key_line, entry.key_column);
                Vec::new()
            }
        };
        for root in &documents {
            self.kube_document(root, self.file.to_string(), None);
        }
    }

    /// A `definition:` written as YAML text: Ansible renders its Jinja first, then
    /// parses it. Positions are mapped back into the playbook for a `|` block, whose
    /// lines are the file's lines; any other style has no such map, and everything in
    /// it points at the `definition:` key.
    fn string_definition(
        &mut self,
        text: &str,
        entry: &Entry,
        vars: &Vars,
    ) -> Option<Vec<Document>> {
        let offset = block_offset(&self.text, &entry.value, text);
        let position = |line: u32, column: u32| match offset {
            Some((before, indent)) => (before + line, indent + column),
            None => (entry.key_line, entry.key_column),
        };
        let mut rendered = String::with_capacity(text.len());
        for (index, line) in text.lines().enumerate() {
            match render_line(line, vars) {
                Ok(line) => rendered.push_str(&line),
                Err(unresolved) => {
                    let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                    let at = line.find(&unresolved.expression).unwrap_or_default();
                    let column = u32::try_from(line[..at].chars().count() + 1).unwrap_or(1);
                    let (line, column) = position(number, column);
                    let skipped = "the definition is not checked, nor does `missing-port` judge what the task deploys";
                    self.unresolved(&unresolved, line, column, skipped);
                    return None;
                }
            }
            rendered.push('\n');
        }
        let mut documents = Vec::new();
        for document in yaml::parse_stream(&rendered).documents {
            match document {
                Ok(mut document) if document.root.value != Value::Null => {
                    relocate(&mut document.root, position);
                    documents.push(document);
                }
                Ok(_) => {}
                Err(YamlError {
                    line,
                    column,
                    message,
                }) => {
                    let (line, column) = position(line, column);
                    let message = format!("invalid YAML in `definition:`: {message}");
                    self.problem(message, line, column);
                }
            }
        }
        Some(documents)
    }

    /// `src:` is looked up in `files/` and then beside the playbook (or in the role),
    /// as Ansible does for files the controller reads. A missing one is reported: the
    /// manifest the task applies belongs to the repository.
    fn k8s_src(&mut self, entry: &Entry, vars: &Vars, base: &Path) {
        let Some(name) = self.rendered_path(
            entry,
            vars,
            "the manifest is not checked, nor does `missing-port` judge what the task deploys",
        ) else {
            return;
        };
        let candidates = if Path::new(&name).is_absolute() {
            vec![PathBuf::from(&name)]
        } else {
            vec![base.join("files").join(&name), base.join(&name)]
        };
        let reference = format!("`src: {name}`");
        let at = (entry.key_line, entry.key_column);
        let path = match self.locate(&candidates, &reference, at) {
            Ok(path) => path,
            Err(true) => return,
            Err(false) => {
                let message = format!(
                    "`src: {name}` does not exist (looked in `files/` and beside the playbook)"
                );
                self.problem(message, entry.key_line, entry.key_column);
                return;
            }
        };
        let Some(source) = self.read_file(&path) else {
            return;
        };
        let mut manifest = false;
        for document in yaml::parse_stream(&source.text).documents {
            match document {
                Ok(document) if document.root.value == Value::Null => {}
                Ok(document) => {
                    manifest |= kubernetes::is_kubernetes(&document.root);
                    let template = document.template.as_deref();
                    self.kube_document(&document.root, source.path.clone(), template);
                }
                Err(error) => self.problems.push(yaml_problem(&source.path, &error)),
            }
        }
        // Only a Kubernetes manifest's lines may be shown in a source frame: a `src:`
        // naming some other file of the tree (a credentials file, a key) is reported
        // without its text.
        if manifest {
            self.keep_source(source);
        }
    }

    /// A path argument, rendered; `None` (and a record) when its Jinja cannot be.
    fn rendered_path(&mut self, entry: &Entry, vars: &Vars, skipped: &str) -> Option<String> {
        let Some(text) = entry.value.scalar_text() else {
            let message = format!("`{}:` must be a path", entry.key);
            self.problem(message, entry.key_line, entry.key_column);
            return None;
        };
        render_text(&text, vars)
            .map_err(|unresolved| {
                let (line, column) = (entry.value.line, entry.value.column);
                self.unresolved(&unresolved, line, column, skipped);
            })
            .ok()
    }

    /// Keeps a file's text for source frames, once however many tasks read it.
    fn keep_source(&mut self, source: SourceText) {
        if !self.deployed.sources.iter().any(|s| s.path == source.path) {
            self.deployed.sources.push(source);
        }
    }

    /// Reads a file a task names, remembering it for source frames and de-duplication.
    fn read_file(&mut self, path: &Path) -> Option<SourceText> {
        // Every caller has checked the boundary and named a refusal; this keeps it so.
        if !self.boundary.admits(path) {
            return None;
        }
        match source::read_file(path) {
            Ok(source) => {
                let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
                self.deployed.read.push(canonical);
                Some(source)
            }
            Err(problem) => {
                self.problems.push(problem);
                None
            }
        }
    }

    /// Types one Kubernetes document of a task.
    fn kube_document(&mut self, root: &Node, file: String, template: Option<&str>) {
        if kubernetes::is_kubernetes(root) {
            let objects = &mut self.deployed.kube;
            kubernetes::objects_from_document(root, &file, template, objects, self.problems);
            return;
        }
        self.problems.push(InvalidInput::unread(
            Location::new(file, root.line, root.column).in_template(template.map(str::to_string)),
            "a document a k8s task applies has no `apiVersion` and `kind`",
        ));
    }

    /// `community.docker.docker_container` as a Compose service of the play's project:
    /// `published_ports` (alias `ports`) in Docker's short syntax, `exposed_ports`
    /// (aliases `expose`, `exposed`) like Compose's `expose`, and `network_mode: host`.
    fn container(&mut self, args: &Node, module: &Entry, vars: &Vars) -> Option<ComposeService> {
        let Some(name_entry) = args.entry("name") else {
            let message = "a docker_container task needs `name:`".into();
            self.problem(message, module.key_line, module.key_column);
            return None;
        };
        let name = render_or_raw(&name_entry.value, vars).unwrap_or_default();
        let expose = self.exposed_ports(args, vars, &name);
        let (mut ports, publish_all) = self.published_ports(args, vars, &name);
        if publish_all {
            ports.extend(expose.iter().map(published_on_any_port));
        }
        let host_network = args
            .entry("network_mode")
            .filter(|e| render_or_raw(&e.value, vars).as_deref() == Some("host"))
            .map(|e| self.at(e.key_line, e.key_column));
        let labels = args
            .get("labels")
            .and_then(Node::as_map)
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    e.key.clone(),
                    render_or_raw(&e.value, vars).unwrap_or_default(),
                )
            })
            .collect();
        Some(ComposeService {
            name,
            image: args.get("image").and_then(|i| render_or_raw(i, vars)),
            labels,
            ports,
            expose,
            host_network,
            location: self.at(name_entry.key_line, name_entry.key_column),
            // `x-iredmail-ports` is Compose's extension; a task has no place for it.
            ignore: None,
        })
    }

    /// `exposed_ports` (aliases `expose`, `exposed`): container ports, open on the
    /// container's networks only, as Compose's `expose`.
    fn exposed_ports(&mut self, args: &Node, vars: &Vars, name: &str) -> Vec<ExposedPort> {
        let mut expose = Vec::new();
        for item in self.port_items(args, &["exposed_ports", "expose", "exposed"], vars) {
            let Some(item) = self.rendered_port(&item, vars) else {
                continue;
            };
            match exposed_spec(&item) {
                Ok((ports, protocol)) => expose.push(ExposedPort {
                    ports,
                    protocol,
                    location: self.at(item.line, item.column),
                }),
                Err(message) => {
                    let message = format!("container `{name}`: {message}");
                    self.problem(message, item.line, item.column);
                }
            }
        }
        expose
    }

    /// `published_ports` (alias `ports`), and whether every exposed port is published
    /// too (`published_ports: [all]` or `publish_all_ports: true`, as `docker run -P`).
    fn published_ports(
        &mut self,
        args: &Node,
        vars: &Vars,
        name: &str,
    ) -> (Vec<PublishedPort>, bool) {
        let mut ports = Vec::new();
        let mut publish_all = args
            .get("publish_all_ports")
            .is_some_and(|v| v.value == Value::Bool(true));
        for item in self.port_items(args, &["published_ports", "ports"], vars) {
            let Some(item) = self.rendered_port(&item, vars) else {
                continue;
            };
            if item.as_str() == Some("all") {
                publish_all = true;
                continue;
            }
            match published_spec(&item) {
                Ok(spec) => ports.push(PublishedPort {
                    spec,
                    location: self.at(item.line, item.column),
                }),
                Err(message) => {
                    let message = format!("container `{name}`: {message}");
                    self.problem(message, item.line, item.column);
                }
            }
        }
        (ports, publish_all)
    }

    /// The items of the first of `names` the task gives: a list, or one expression whose
    /// value is a list (`"{{ db_ports }}"`, its items placed at the expression), or text
    /// that Ansible splits on commas. An expression that cannot be rendered is named once
    /// for the whole list.
    fn port_items(&mut self, args: &Node, names: &[&str], vars: &Vars) -> Vec<Node> {
        let Some(node) = names.iter().find_map(|n| args.get(n)) else {
            return Vec::new();
        };
        let value = match &node.value {
            Value::String(text) if has_jinja(text) => match render(text, vars) {
                Ok(value) => value,
                Err(unresolved) => {
                    let skipped = PORTS_SKIPPED;
                    self.unresolved(&unresolved, node.line, node.column, skipped);
                    return Vec::new();
                }
            },
            other => other.clone(),
        };
        let at = |value: Value| Node {
            value,
            line: node.line,
            column: node.column,
        };
        match value {
            // The list as written keeps its items' own positions.
            Value::Seq(items) if matches!(node.value, Value::Seq(_)) => items,
            Value::Seq(items) => items.into_iter().map(|i| at(i.value)).collect(),
            Value::String(text) => text
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| at(Value::String(t.to_string())))
                .collect(),
            Value::Int(n) => vec![at(Value::Int(n))],
            Value::Null => Vec::new(),
            _ => {
                let key = names.first().copied().unwrap_or_default();
                let message = format!("`{key}:` must be a list of ports");
                self.problem(message, node.line, node.column);
                Vec::new()
            }
        }
    }

    /// A port item with its Jinja rendered, at its own position; `None` (and a record
    /// naming the expression) when it cannot be rendered.
    fn rendered_port(&mut self, item: &Node, vars: &Vars) -> Option<Node> {
        let Some(text) = item.as_str().filter(|t| has_jinja(t)) else {
            return Some(item.clone());
        };
        match render(text, vars) {
            Ok(value) => Some(Node {
                value,
                ..item.clone()
            }),
            Err(unresolved) => {
                let skipped = PORT_SKIPPED;
                self.unresolved(&unresolved, item.line, item.column, skipped);
                None
            }
        }
    }

    /// `community.docker.docker_compose_v2`: an inline `definition:` (positions are the
    /// playbook's) or the Compose files of `project_src`.
    fn compose(&mut self, args: &Node, vars: &Vars, play: &Play) {
        let project_name = args
            .get("project_name")
            .and_then(|n| render_or_raw(n, vars));
        let project = if let Some(definition) = args.get("definition") {
            let default_name = project_name.as_deref().unwrap_or(&play.project);
            self.compose_definition(definition, vars, default_name)
        } else if let Some(entry) = args.entry("project_src") {
            self.compose_project_src(entry, args, vars, &play.base)
        } else {
            None
        };
        let Some(mut project) = project else {
            return;
        };
        // `project_name` is passed as `--project-name`, which beats `name:` in the file.
        if let Some(name) = project_name {
            project.name = normalize_project_name(&name);
        }
        self.deployed.compose.push(project);
    }

    fn compose_definition(
        &mut self,
        definition: &Node,
        vars: &Vars,
        project: &str,
    ) -> Option<ComposeProject> {
        let mut definition = definition.clone();
        self.render_tree(&mut definition, vars);
        // The module writes the definition to a fresh directory: no `.env` beside it.
        match compose::read_compose_file(&definition, &self.file, &Environment::default()) {
            Ok(file) => Some(compose::merge(vec![file], project)),
            Err(problems) => {
                self.problems.extend(problems);
                None
            }
        }
    }

    /// The project in `project_src`: its `files:` if the task lists them, else the
    /// first of `compose.yaml`… that `docker compose` would pick, with its override.
    fn compose_project_src(
        &mut self,
        entry: &Entry,
        args: &Node,
        vars: &Vars,
        base: &Path,
    ) -> Option<ComposeProject> {
        let written = self.rendered_path(entry, vars, "the Compose project is not checked")?;
        let dir = normalize(&base.join(&written));
        let at = (entry.key_line, entry.key_column);
        if !self.admits(&dir, &format!("`project_src: {written}`"), at) {
            return None;
        }
        let listed: Vec<PathBuf> = list_arg(args, &["files"])
            .iter()
            .filter_map(Node::scalar_text)
            .map(|f| normalize(&dir.join(f)))
            .collect();
        let files = if listed.is_empty() {
            default_compose_files(&dir)
        } else {
            listed
        };
        // Only regular files are read: a FIFO named here would block the run.
        let all_files = files.iter().all(|f| f.is_file());
        let Some(first) = files.first().filter(|_| all_files).cloned() else {
            let message = format!(
                "`project_src: {}` holds no compose.yaml, compose.yml, docker-compose.yaml or \
                 docker-compose.yml (or a file its `files:` lists) beside the playbook; the \
                 Compose project is not checked",
                dir.display()
            );
            self.problem(message, entry.key_line, entry.key_column);
            return None;
        };
        for file in &files {
            let reference = format!("`project_src: {written}` file `{}`", file.display());
            if !self.admits(file, &reference, at) {
                return None;
            }
        }
        let env = Environment::for_compose_file(&first)
            .map_err(|problem| self.problems.push(problem))
            .ok()?;
        let mut typed = Vec::new();
        for file in &files {
            typed.push(self.compose_file(file, &env)?);
        }
        Some(compose::merge(typed, &compose::directory_name(&first)))
    }

    fn compose_file(&mut self, path: &Path, env: &Environment) -> Option<ComposeFile> {
        let source = self.read_file(path)?;
        let stream = yaml::parse_stream(&source.text);
        let mut manifest = false;
        let result = match stream.documents.into_iter().next() {
            Some(Ok(document)) => {
                manifest = compose::is_compose(&document.root);
                compose::read_compose_file(&document.root, &source.path, env)
            }
            // Not YAML: named, its text not shown.
            Some(Err(error)) => {
                self.problems.push(yaml_problem(&source.path, &error));
                return None;
            }
            None => Ok(ComposeFile {
                project_name: None,
                services: Vec::new(),
            }),
        };
        // Only a Compose file's lines may be shown in a source frame.
        if manifest {
            self.keep_source(source);
        }
        result
            .map_err(|problems| self.problems.extend(problems))
            .ok()
    }

    /// Renders the Jinja in every string of a definition, in place. The tree is at most
    /// [`yaml::MAX_DEPTH`] deep, so the recursion is bounded.
    fn render_tree(&mut self, node: &mut Node, vars: &Vars) {
        if let Value::String(text) = &node.value {
            // An expression outside a port list (a name, an image) decides no port:
            // one that cannot be rendered stays as written.
            if has_jinja(text)
                && let Ok(value) = render(text, vars)
            {
                node.value = value;
            }
            return;
        }
        match &mut node.value {
            Value::Seq(items) => {
                for item in items {
                    self.render_tree(item, vars);
                }
            }
            Value::Map(entries) => {
                for entry in entries {
                    let is_port_list = PORT_LISTS.contains(&entry.key.as_str());
                    if is_port_list {
                        self.render_port_list(&mut entry.value, vars);
                    } else {
                        self.render_tree(&mut entry.value, vars);
                    }
                }
            }
            _ => {}
        }
    }

    /// Renders a port list of a definition: a list whose items are rendered one by one,
    /// or one expression whose value is the list (its items placed at the expression).
    /// One that cannot be rendered is named and leaves the list empty.
    fn render_port_list(&mut self, list: &mut Node, vars: &Vars) {
        if let Value::String(text) = &list.value
            && has_jinja(text)
        {
            match render(text, vars) {
                Ok(Value::Seq(items)) => {
                    let (line, column) = (list.line, list.column);
                    let placed = items.into_iter().map(|i| Node {
                        value: i.value,
                        line,
                        column,
                    });
                    list.value = Value::Seq(placed.collect());
                }
                Ok(value) => list.value = value,
                Err(unresolved) => {
                    let skipped = PORTS_SKIPPED;
                    self.unresolved(&unresolved, list.line, list.column, skipped);
                    list.value = Value::Seq(Vec::new());
                }
            }
        }
        if let Value::Seq(items) = &mut list.value {
            items.retain_mut(|item| self.render_port_item(item, vars));
        }
    }

    /// Renders one item of a port list; false (after naming the expression) when some
    /// value in it cannot be rendered, so the item is dropped rather than guessed.
    fn render_port_item(&mut self, item: &mut Node, vars: &Vars) -> bool {
        let mut stack = vec![item];
        while let Some(node) = stack.pop() {
            if let Value::String(text) = &node.value
                && has_jinja(text)
            {
                match render(text, vars) {
                    Ok(value) => node.value = value,
                    Err(unresolved) => {
                        let skipped = PORT_SKIPPED;
                        self.unresolved(&unresolved, node.line, node.column, skipped);
                        return false;
                    }
                }
            }
            match &mut node.value {
                Value::Seq(items) => stack.extend(items.iter_mut()),
                Value::Map(entries) => stack.extend(entries.iter_mut().map(|e| &mut e.value)),
                _ => {}
            }
        }
        true
    }
}

/// The Compose project name of a play: its `name:` with spaces as dashes.
fn project_name(play_name: &str) -> String {
    normalize_project_name(&play_name.split_whitespace().collect::<Vec<_>>().join("-"))
}

/// A scalar argument with its Jinja rendered. Names, images and labels only describe
/// findings: one that cannot be rendered stays as written rather than hiding the task.
fn render_or_raw(node: &Node, vars: &Vars) -> Option<String> {
    let text = node.scalar_text()?;
    Some(render_text(&text, vars).unwrap_or(text))
}

/// One line of a YAML-text definition with its Jinja rendered. A value spanning lines
/// would shift every line after it, so its line breaks become spaces.
fn render_line(line: &str, vars: &Vars) -> Result<String, Unresolved> {
    if !has_jinja(line) {
        return Ok(line.to_string());
    }
    render_text(line, vars).map(|rendered| rendered.replace('\n', " "))
}

fn yaml_problem(path: &str, error: &YamlError) -> InvalidInput {
    InvalidInput::unread(
        Location::new(path, error.line, error.column),
        format!("invalid YAML: {}", error.message),
    )
}

/// A `published_ports` item: Docker's short syntax, or a bare container port.
fn published_spec(item: &Node) -> Result<PortSpec, String> {
    let spec = match &item.value {
        Value::Int(n) => from_integer(*n),
        Value::String(text) => parse_short_syntax(text),
        _ => return Err("a published port must be a number or a string".into()),
    };
    spec.map_err(|e| e.to_string())
}

/// An `exposed_ports` item: `3306`, `"3306/tcp"`, `"8000-8010"`.
fn exposed_spec(item: &Node) -> Result<(PortRange, Protocol), String> {
    let text = item
        .scalar_text()
        .ok_or("an exposed port must be a number or a string")?;
    let spec = parse_short_syntax(&text).map_err(|e| e.to_string())?;
    if spec.published.is_some() || spec.host_ip.is_some() {
        return Err(format!(
            "`exposed_ports: {text}` names a host port; it takes container ports only"
        ));
    }
    Ok((spec.target, spec.protocol))
}

/// A role named in a play's `roles:`: a name, or a mapping with `role:` (or `name:`).
fn role_name(node: &Node) -> Option<String> {
    node.as_str().map(str::to_string).or_else(|| {
        node.get("role")
            .or_else(|| node.get("name"))
            .and_then(Node::scalar_text)
    })
}

/// The parameters a `roles:` entry passes: its `vars:`, and the variables written beside
/// `role:` (`{role: database, db_port: 3306}`), which win.
fn role_params(entry: &Node) -> Vars {
    const KEYWORDS: &[&str] = &[
        "role",
        "name",
        "vars",
        "tags",
        "when",
        "become",
        "become_user",
        "delegate_to",
        "environment",
        "ignore_errors",
        "no_log",
        "collections",
    ];
    let mut vars = Vars::from_mapping(entry.get("vars"));
    let params: Vec<Entry> = entry
        .as_map()
        .unwrap_or_default()
        .iter()
        .filter(|e| !KEYWORDS.contains(&e.key.as_str()))
        .cloned()
        .collect();
    let params = Node {
        value: Value::Map(params),
        line: entry.line,
        column: entry.column,
    };
    vars.overlay(Vars::from_mapping(Some(&params)));
    vars
}

/// A role's directory: `roles/<name>` beside the playbook, else `<name>` there, as
/// Ansible looks before its configured roles path.
fn find_role(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join("roles").join(name), dir.join(name)]
        .into_iter()
        .map(|p| normalize(&p))
        .find(|p| {
            p.join("tasks").is_dir() || p.join("defaults").is_dir() || p.join("vars").is_dir()
        })
}

/// The `metadata.namespace` of each document of a YAML-text definition that cannot be
/// rendered, read with every expression blanked out: `None` for a document that names
/// none (or names it with Jinja).
fn namespaces_named(text: &str) -> Vec<Option<String>> {
    const BLANK: &str = "__unresolved__";
    let mut blanked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        blanked.push_str(&rest[..start]);
        blanked.push_str(BLANK);
        rest = rest[start..]
            .find("}}")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    blanked.push_str(rest);
    let named: Vec<Option<String>> = yaml::parse_stream(&blanked)
        .documents
        .into_iter()
        .filter_map(Result::ok)
        .filter(|d| d.root.value != Value::Null)
        .map(|d| {
            let namespace = d.root.get("metadata")?.get("namespace")?.scalar_text()?;
            (!namespace.contains(BLANK)).then_some(namespace)
        })
        .collect();
    if named.is_empty() { vec![None] } else { named }
}

/// A module's arguments: its mapping, with the task's `args:` under it (the module's own
/// keys win, as in Ansible).
fn task_args(task: &Node, module: &Entry) -> Node {
    let mut entries: Vec<Entry> = module.value.as_map().unwrap_or_default().to_vec();
    for extra in task.get("args").and_then(Node::as_map).unwrap_or_default() {
        if !entries.iter().any(|e| e.key == extra.key) {
            entries.push(extra.clone());
        }
    }
    Node {
        value: Value::Map(entries),
        line: module.value.line,
        column: module.value.column,
    }
}

/// The items of the first of `names` that is a list.
fn list_arg<'n>(args: &'n Node, names: &[&str]) -> &'n [Node] {
    names
        .iter()
        .find_map(|n| args.get(n).and_then(Node::as_seq))
        .unwrap_or_default()
}

/// An exposed port published on an ephemeral host port of every address.
fn published_on_any_port(exposed: &ExposedPort) -> PublishedPort {
    PublishedPort {
        spec: PortSpec {
            host_ip: None,
            published: None,
            target: exposed.ports,
            protocol: exposed.protocol,
        },
        location: exposed.location.clone(),
    }
}

fn default_compose_files(dir: &Path) -> Vec<PathBuf> {
    let found = COMPOSE_FILE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    let Some(base) = found else {
        return Vec::new();
    };
    let stem = base
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let overlay = ["yaml", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.override.{ext}")))
        .find(|p| p.is_file());
    let mut files = vec![base];
    files.extend(overlay);
    files
}

/// Where the text of a block scalar sits in the file: (the lines before its first line,
/// its indentation). The parser places a block scalar at its first non-blank character,
/// and a `|` block keeps the file's lines, so each line of the text must be the file's
/// line less the indentation; that is checked line by line, so a wrong map is never
/// used. Folded and quoted strings fail the check: their lines are not the file's.
fn block_offset(file: &str, scalar: &Node, text: &str) -> Option<(u32, u32)> {
    let leading_blank = text.lines().take_while(|l| l.is_empty()).count();
    let before = usize::try_from(scalar.line)
        .ok()?
        .checked_sub(1 + leading_blank)?;
    let indent = usize::try_from(scalar.column).ok()?.checked_sub(1)?;
    let mut file_lines = file.lines().skip(before);
    for line in text.lines() {
        let source = file_lines.next()?;
        let matches = if line.is_empty() {
            source.get(indent..).unwrap_or_default().is_empty() && source.trim().is_empty()
        } else {
            source.get(..indent)?.bytes().all(|b| b == b' ') && source.get(indent..) == Some(line)
        };
        if !matches {
            return None;
        }
    }
    Some((u32::try_from(before).ok()?, u32::try_from(indent).ok()?))
}

/// Moves every position of a tree parsed from a string to where it is in the file.
fn relocate(root: &mut Node, position: impl Fn(u32, u32) -> (u32, u32)) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        (node.line, node.column) = position(node.line, node.column);
        match &mut node.value {
            Value::Seq(items) => stack.extend(items.iter_mut()),
            Value::Map(entries) => {
                for entry in entries {
                    (entry.key_line, entry.key_column) = position(entry.key_line, entry.key_column);
                    stack.push(&mut entry.value);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::kubernetes::Typed;
    use crate::model::PathSegment;

    fn parse(text: &str) -> Node {
        yaml::parse_stream(text).documents[0]
            .clone()
            .expect("valid YAML")
            .root
    }

    fn read_text(text: &str) -> (Deployed, Vec<InvalidInput>) {
        let root = parse(text);
        assert!(is_ansible(&root));
        let source = SourceText {
            path: "site.yml".into(),
            text: text.into(),
        };
        let mut problems = Vec::new();
        let deployed = read(
            &root,
            Path::new("site.yml"),
            &source,
            &Boundary::new(Path::new(".")),
            &mut problems,
        );
        (deployed, problems)
    }

    #[test]
    fn recognises_plays_and_task_files_only() {
        assert!(is_ansible(&parse("- hosts: all\n  tasks: []\n")));
        assert!(is_ansible(&parse("- import_playbook: other.yml\n")));
        assert!(is_ansible(&parse("- name: x\n  k8s: {src: a.yaml}\n")));
        assert!(is_ansible(&parse("- name: x\n  block: []\n")));
        assert!(is_ansible(&parse("- name: x\n  apt: {name: nginx}\n")));
        assert!(is_ansible(&parse(
            "- community.general.ufw: {rule: allow}\n"
        )));
        assert!(!is_ansible(&parse("- name: SMTP\n  value: \"25\"\n")));
        assert!(!is_ansible(&parse("- name: x\n  nginx.conf: {}\n")));
        assert!(!is_ansible(&parse("[]\n")));
        assert!(!is_ansible(&parse("- 1\n- hosts: all\n  tasks: []\n")));
        assert!(!is_ansible(&parse("services: {}\n")));
    }

    #[test]
    fn a_block_definition_points_at_its_lines_in_the_playbook() {
        let text = "- hosts: all\n  tasks:\n    - k8s:\n        definition: |\n          apiVersion: v1\n          kind: Service\n          metadata: {name: db}\n          spec:\n\n            ports:\n              - port: {{ db_port }}\n  vars:\n    db_port: 3306\n";
        let (deployed, problems) = read_text(text);
        assert!(problems.is_empty(), "{problems:?}");
        let object = &deployed.kube[0];
        assert_eq!(object.id(), "Service/default/db");
        let port = object.location(&[
            PathSegment::key("spec"),
            PathSegment::key("ports"),
            PathSegment::Index(0),
        ]);
        assert_eq!((port.line, port.column), (11, 17));
        let Typed::Service(service) = &object.typed else {
            panic!("a Service: {:?}", object.typed);
        };
        let ports = service.spec.as_ref().and_then(|s| s.ports.as_ref());
        assert_eq!(ports.map(|p| p[0].port), Some(3306));
    }

    #[test]
    fn a_folded_definition_points_at_its_key() {
        let text = "- k8s:\n    namespace: mail\n    definition: >\n      {\"apiVersion\": \"v1\", \"kind\": \"Service\",\n      \"metadata\": {\"name\": \"db\"}}\n";
        let (deployed, problems) = read_text(text);
        assert!(problems.is_empty(), "{problems:?}");
        let object = &deployed.kube[0];
        assert_eq!(object.id(), "Service/mail/db");
        let root = object.location(&[]);
        assert_eq!((root.line, root.column), (3, 5));
    }

    #[test]
    fn unresolved_ports_are_named_and_skipped() {
        let text = "- docker_container:\n    name: mail\n    published_ports:\n      - \"{{ smtp_port }}:25\"\n      - \"587:587\"\n";
        let (deployed, problems) = read_text(text);
        assert_eq!(problems.len(), 1);
        let message = &problems[0].message;
        assert!(
            message.starts_with("cannot resolve Jinja expression `{{ smtp_port }}`"),
            "{message}"
        );
        assert_eq!(problems[0].location.line, 4);
        assert_eq!(problems[0].impact, Impact::ValueSkipped);
        assert_eq!(deployed.compose[0].name, "ansible");
        assert_eq!(deployed.compose[0].services[0].ports.len(), 1);
    }

    #[test]
    fn an_unresolved_port_marks_the_unit_it_deploys_to() {
        let text = "- hosts: all\n  tasks:\n    - k8s:\n        definition: |\n          apiVersion: v1\n          kind: Service\n          metadata: {name: db, namespace: mail}\n          spec:\n            type: {{ kind }}\n    - k8s:\n        namespace: web\n        definition: {apiVersion: v1, kind: Service, metadata: {name: w}, spec: {ports: \"{{ p }}\"}}\n    - docker_container: {name: c, published_ports: [\"25:25\"]}\n";
        let (deployed, problems) = read_text(text);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let expected = [
            Unit::Namespace("mail".into()),
            Unit::Namespace("web".into()),
        ];
        assert_eq!(deployed.unresolved, expected);
    }

    #[test]
    fn removed_containers_deploy_nothing() {
        let text = "- docker_container:\n    name: mail\n    state: absent\n    published_ports: [\"25:25\"]\n";
        let (deployed, problems) = read_text(text);
        assert!(problems.is_empty());
        assert!(deployed.compose.is_empty());
    }

    #[test]
    fn publish_all_publishes_the_exposed_ports() {
        let text = "- community.docker.docker_container:\n    name: db\n    exposed_ports: [3306]\n    published_ports: [all]\n";
        let (deployed, problems) = read_text(text);
        assert!(problems.is_empty(), "{problems:?}");
        let service = &deployed.compose[0].services[0];
        assert_eq!(service.ports.len(), 1);
        assert_eq!(service.ports[0].spec.target, PortRange::single(3306));
        assert_eq!(service.ports[0].spec.host_ip, None);
    }
}
