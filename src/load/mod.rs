//! Sources → documents → objects: reads files, standard input or given text, parses them
//! into span-aware YAML trees, recognises each document's kind by its content and types
//! it. Every problem becomes an [`InvalidInput`]; nothing here stops the run.

pub mod ansible;
mod ansible_vars;
pub mod boundary;
pub mod compose;
pub mod compose_ports;
pub mod crd;
pub mod interpolate;
pub mod jinja;
pub mod jsonc;
pub mod kinds;
pub mod kubernetes;
pub mod source;
pub mod walk;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use self::boundary::Boundary;
use self::compose::{ComposeFile, ComposeProject};
use self::interpolate::Environment;
use self::kubernetes::KubeObject;
use self::source::SourceText;
use self::walk::{Candidate, WalkedDirectory};
use self::yaml::Node;
use crate::model::{InvalidInput, Location, Unit, position_after};

/// What to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory to walk.
    Path(PathBuf),
    /// Standard input, named `-` in reports.
    Stdin,
    /// Text already in memory (an object from the API server, a test), with the name
    /// reports give it.
    Text { name: String, text: String },
    /// Compose files merged in this order, as `docker compose -f a -f b`.
    ComposeSet(Vec<PathBuf>),
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct Loaded {
    pub kube: Vec<KubeObject>,
    pub compose: Vec<ComposeProject>,
    pub problems: Vec<InvalidInput>,
    /// Units with a port that could not be resolved (see [`Inventory::unresolved`]).
    ///
    /// [`Inventory::unresolved`]: crate::model::Inventory::unresolved
    pub unresolved: Vec<Unit>,
    /// Files (and streams) that held manifests or problems.
    pub files: usize,
    /// The text of every file read, for source frames in the text report.
    pub sources: BTreeMap<String, Arc<str>>,
    /// What the inputs were, to say so when none held anything to check.
    pub looked_at: LookedAt,
}

/// What was looked at: the paths that do not exist, the directories walked, the files
/// the config excludes, and the named files and streams that held no document.
#[derive(Debug, Default)]
pub struct LookedAt {
    pub missing: Vec<PathBuf>,
    pub directories: Vec<WalkedDirectory>,
    pub excluded: usize,
    /// Named files and standard input (`-`) with no document, and whether they were blank.
    pub empty: Vec<(String, bool)>,
}

impl LookedAt {
    /// One line saying what was looked at and why none of it is checked.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.directories.iter().map(describe_directory).collect();
        for (name, blank) in &self.empty {
            let what = if name == "-" {
                "standard input".to_string()
            } else {
                name.clone()
            };
            parts.push(if *blank {
                format!("{what} is empty")
            } else {
                format!("{what} holds only comments")
            });
        }
        if self.excluded > 0 {
            parts.push(format!(
                "{} file{} excluded by the config",
                self.excluded,
                if self.excluded == 1 { " is" } else { "s are" }
            ));
        }
        if parts.is_empty() {
            parts.push("no input".into());
        }
        parts.join("; ")
    }
}

fn describe_directory(walked: &WalkedDirectory) -> String {
    let root = walked.root.display();
    let mut line = if walked.files == 0 {
        format!("{root} is an empty directory")
    } else if walked.candidates == 0 {
        format!(
            "{root} holds no .yaml, .yml or .json file ({} other file{})",
            walked.files,
            if walked.files == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{root} holds no Kubernetes manifest, Compose file or Ansible playbook \
             ({} YAML or JSON file{} of other kinds)",
            walked.candidates,
            if walked.candidates == 1 { "" } else { "s" }
        )
    };
    for chart in &walked.charts {
        let templates = chart.join("templates");
        line.push_str(&format!(
            "; the Helm templates in {} are no manifests until rendered: \
             helm template RELEASE {} | iredmail-ports check -",
            templates.display(),
            chart.display()
        ));
    }
    line
}

/// What one file turned out to hold.
enum Content {
    Kubernetes(Vec<KubeObject>),
    Compose(Node),
    /// A playbook or task file, with what its tasks deploy.
    Ansible(ansible::Deployed),
    /// Neither Kubernetes, Compose nor Ansible; fine for a file found by walking a directory.
    Unrecognised,
    Empty,
}

struct ReadFile {
    candidate: Candidate,
    source: SourceText,
    content: Content,
    problems: Vec<InvalidInput>,
}

/// Reads and types every input.
pub fn load(inputs: &[Input]) -> Loaded {
    load_excluding(inputs, &|_| false)
}

/// Reads and types every input but the files `excluded` says to skip.
pub fn load_excluding(inputs: &[Input], excluded: &(dyn Fn(&Path) -> bool + Sync)) -> Loaded {
    let mut loaded = Loaded::default();
    let mut texts: Vec<(Candidate, Result<SourceText, InvalidInput>)> = Vec::new();
    let mut paths = Vec::new();
    let mut compose_sets = Vec::new();
    for input in inputs {
        match input {
            Input::Path(path) => paths.push(path.clone()),
            Input::Stdin => texts.push((stdin_candidate(), source::read_stdin())),
            Input::Text { name, text } => texts.push((
                Candidate {
                    path: PathBuf::from(name),
                    explicit: true,
                },
                Ok(SourceText {
                    path: name.clone(),
                    text: text.clone(),
                }),
            )),
            Input::ComposeSet(set) => {
                paths.extend(set.iter().cloned());
                compose_sets.push(set.clone());
            }
        }
    }
    // Files a playbook names are read only from inside the directory being checked.
    let roots: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    let expanded = walk::expand(&paths);
    let mut candidates = expanded.candidates;
    let before = candidates.len();
    candidates.retain(|c| !excluded(&c.path));
    loaded.looked_at = LookedAt {
        missing: expanded.missing,
        directories: expanded.directories,
        excluded: before - candidates.len(),
        empty: Vec::new(),
    };
    loaded.problems.extend(expanded.problems);

    let from_disk = candidates
        .into_par_iter()
        .map(|c| {
            let text = source::read_file(&c.path);
            (c, text)
        })
        .collect::<Vec<_>>();
    texts.extend(from_disk);

    let files: Vec<Result<ReadFile, InvalidInput>> = texts
        .into_par_iter()
        .map(|(candidate, text)| text.map(|source| classify(candidate, source, &roots)))
        .collect();

    let read_by_playbooks = read_by_playbooks(&files);
    let mut compose_files: BTreeMap<PathBuf, (Node, String)> = BTreeMap::new();
    for file in files {
        let file = match file {
            Ok(file) => file,
            Err(problem) => {
                loaded.files += 1;
                loaded.problems.push(problem);
                continue;
            }
        };
        if is_read_by_playbook(&file, &read_by_playbooks) {
            continue;
        }
        let counts = !file.problems.is_empty()
            || matches!(
                file.content,
                Content::Kubernetes(_) | Content::Compose(_) | Content::Ansible(_)
            );
        let blank = file.source.text.trim().is_empty();
        let has_problems = !file.problems.is_empty();
        if counts {
            loaded.files += 1;
            if may_show(&file, &roots) {
                loaded
                    .sources
                    .insert(file.source.path.clone(), Arc::from(file.source.text));
            }
        }
        loaded.problems.extend(file.problems);
        match file.content {
            Content::Kubernetes(objects) => loaded.kube.extend(objects),
            Content::Compose(root) => {
                compose_files.insert(file.candidate.path, (root, file.source.path));
            }
            Content::Ansible(deployed) => {
                loaded.kube.extend(deployed.kube);
                loaded.compose.extend(deployed.compose);
                loaded.unresolved.extend(deployed.unresolved);
                loaded.files += deployed.sources.len();
                for source in deployed.sources {
                    loaded.sources.insert(source.path, Arc::from(source.text));
                }
            }
            Content::Unrecognised if file.candidate.explicit => {
                loaded.problems.push(unrecognised(&file.source.path));
            }
            Content::Empty if file.candidate.explicit && !has_problems => {
                loaded.looked_at.empty.push((file.source.path, blank));
            }
            Content::Unrecognised | Content::Empty => {}
        }
    }
    for group in compose_groups(&compose_files, &compose_sets) {
        match read_compose_group(&group, &compose_files) {
            Ok(project) => loaded.compose.push(project),
            Err(problems) => loaded.problems.extend(problems),
        }
    }
    loaded
}

/// The files that playbooks' tasks read themselves (`src:`, `project_src`).
fn read_by_playbooks(files: &[Result<ReadFile, InvalidInput>]) -> HashSet<PathBuf> {
    files
        .iter()
        .filter_map(|f| match f {
            Ok(ReadFile {
                content: Content::Ansible(deployed),
                ..
            }) => Some(deployed.read.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// A file a playbook already read is judged as the playbook applies it (in the task's
/// namespace, as the task's Compose project, as part of the play that uses the role),
/// not a second time as a file of its own. Only plays follow task files, and a playbook
/// is never one, so no two files can each claim the other.
fn is_read_by_playbook(file: &ReadFile, read: &HashSet<PathBuf>) -> bool {
    !read.is_empty()
        && file
            .candidate
            .path
            .canonicalize()
            .is_ok_and(|path| read.contains(&path))
}

/// Whether a file's lines may be shown in source frames: a manifest's, or those of a
/// file of the checked tree that failed to parse. A file that only a symlink leading out
/// of the tree brought in, and that is no manifest, is named but never quoted.
fn may_show(file: &ReadFile, roots: &[PathBuf]) -> bool {
    let manifest = matches!(
        file.content,
        Content::Kubernetes(_) | Content::Compose(_) | Content::Ansible(_)
    );
    manifest || Boundary::for_file(&file.candidate.path, roots).admits(&file.candidate.path)
}

fn stdin_candidate() -> Candidate {
    Candidate {
        path: PathBuf::from("-"),
        explicit: true,
    }
}

fn unrecognised(path: &str) -> InvalidInput {
    InvalidInput::unread(
        Location::start_of(path),
        "not a Kubernetes manifest, a Compose file or an Ansible playbook: no document has \
         `apiVersion` and `kind`, nor a `services:` mapping, nor a list of plays or tasks",
    )
}

/// Parses a file and decides by content what it holds. `roots` are the directories being
/// checked, which bound what a playbook may read.
fn classify(candidate: Candidate, source: SourceText, roots: &[PathBuf]) -> ReadFile {
    let (mut content, mut problems) = classify_source(&candidate, &source, roots);
    match commented_json(&candidate, &source, &content, roots) {
        Some(CommentedJson::OtherTool) => {
            content = Content::Unrecognised;
            problems.clear();
        }
        Some(CommentedJson::Manifest { line, column }) => {
            content = Content::Empty;
            problems = vec![InvalidInput::unread(
                Location::new(source.path.clone(), line, column),
                "a manifest in JSON with comments or trailing commas, which kubectl's JSON \
                 decoder refuses",
            )];
        }
        None => {}
    }
    ReadFile {
        candidate,
        source,
        content,
        problems,
    }
}

/// What a `.json` file with comments or trailing commas is.
enum CommentedJson {
    /// Another tool's (`tsconfig.json`, `devcontainer.json`): none of the kinds read here.
    OtherTool,
    /// A manifest, with the first comment or trailing comma.
    Manifest { line: u32, column: u32 },
}

/// JSON with comments or trailing commas is no YAML: it fails to parse, or parses as
/// something else (`// a` and the next line's `"b": 1` make one plain YAML key). Without
/// them it is plain JSON, whose kind decides what the file is. `None` for a file that is
/// already one of the kinds read here, or no such JSON.
fn commented_json(
    candidate: &Candidate,
    source: &SourceText,
    content: &Content,
    roots: &[PathBuf],
) -> Option<CommentedJson> {
    let is_json = candidate
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json || is_checked(content) {
        return None;
    }
    let text = jsonc::strip(&source.text)?;
    let (line, column) = first_difference(&source.text, &text);
    let plain = SourceText {
        path: source.path.clone(),
        text,
    };
    let (plain_content, problems) = classify_source(candidate, &plain, roots);
    if is_checked(&plain_content) {
        Some(CommentedJson::Manifest { line, column })
    } else if problems.is_empty() {
        Some(CommentedJson::OtherTool)
    } else {
        None
    }
}

fn is_checked(content: &Content) -> bool {
    matches!(
        content,
        Content::Kubernetes(_) | Content::Compose(_) | Content::Ansible(_)
    )
}

/// The 1-based line and column (in characters, as every column) where two texts first
/// differ.
fn first_difference(a: &str, b: &str) -> (u32, u32) {
    let mut at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    // The texts may differ inside a character: it starts where that character does.
    while !a.is_char_boundary(at) {
        at -= 1;
    }
    position_after(&a[..at])
}

/// What a text holds, and its problems.
fn classify_source(
    candidate: &Candidate,
    source: &SourceText,
    roots: &[PathBuf],
) -> (Content, Vec<InvalidInput>) {
    let stream = yaml::parse_stream(&source.text);
    let mut problems = Vec::new();
    let mut documents = Vec::new();
    for document in stream.documents {
        match document {
            Ok(document) if document.root.value == yaml::Value::Null => {}
            Ok(document) => documents.push(document),
            Err(error) => problems.push(InvalidInput::unread(
                Location::new(source.path.clone(), error.line, error.column),
                format!("invalid YAML: {}", error.message),
            )),
        }
    }
    let content = if documents.iter().any(|d| kubernetes::is_kubernetes(&d.root)) {
        let mut objects = Vec::new();
        for document in &documents {
            if kubernetes::is_kubernetes(&document.root) {
                kubernetes::objects_from_document(
                    &document.root,
                    &source.path,
                    document.template.as_deref(),
                    &mut objects,
                    &mut problems,
                );
            } else {
                problems.push(InvalidInput::unread(
                    Location::new(
                        source.path.clone(),
                        document.root.line,
                        document.root.column,
                    )
                    .in_template(document.template.clone()),
                    "a document in a Kubernetes stream has no `apiVersion` and `kind`",
                ));
            }
        }
        Content::Kubernetes(objects)
    } else if let [document] = documents.as_slice()
        && compose::is_compose(&document.root)
    {
        Content::Compose(document.root.clone())
    } else if let [document] = documents.as_slice()
        && ansible::is_ansible(&document.root)
    {
        Content::Ansible(ansible::read(
            &document.root,
            &candidate.path,
            source,
            &Boundary::for_file(&candidate.path, roots),
            &mut problems,
        ))
    } else if documents.is_empty() {
        Content::Empty
    } else {
        Content::Unrecognised
    };
    (content, problems)
}

/// Which Compose files form one project: the sets given with `--compose-file`, each
/// override file with its base, and every other file alone.
fn compose_groups(
    files: &BTreeMap<PathBuf, (Node, String)>,
    sets: &[Vec<PathBuf>],
) -> Vec<Vec<PathBuf>> {
    let mut grouped: BTreeSet<PathBuf> = BTreeSet::new();
    let mut groups: Vec<Vec<PathBuf>> = Vec::new();
    for set in sets {
        let present: Vec<PathBuf> = set
            .iter()
            .filter(|p| files.contains_key(*p))
            .cloned()
            .collect();
        grouped.extend(present.iter().cloned());
        if !present.is_empty() {
            groups.push(present);
        }
    }
    let overrides: Vec<(PathBuf, PathBuf)> = files
        .keys()
        .filter(|p| !grouped.contains(*p))
        .filter_map(|p| {
            let base = compose::override_base(p)?
                .into_iter()
                .find(|b| files.contains_key(b) && !grouped.contains(b))?;
            Some((base, p.clone()))
        })
        .collect();
    let mut by_base: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for (base, overlay) in overrides {
        grouped.insert(overlay.clone());
        by_base.entry(base).or_default().push(overlay);
    }
    for path in files.keys() {
        if grouped.contains(path) {
            continue;
        }
        let mut group = vec![path.clone()];
        group.extend(by_base.remove(path).unwrap_or_default());
        groups.push(group);
    }
    groups
}

fn read_compose_group(
    group: &[PathBuf],
    files: &BTreeMap<PathBuf, (Node, String)>,
) -> Result<ComposeProject, Vec<InvalidInput>> {
    let first = group
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("-"));
    let env = Environment::for_compose_file(first).map_err(|problem| vec![problem])?;
    let mut typed: Vec<ComposeFile> = Vec::new();
    let mut problems = Vec::new();
    for path in group {
        let Some((root, display)) = files.get(path) else {
            continue;
        };
        match compose::read_compose_file(root, display, &env) {
            Ok(file) => typed.push(file),
            Err(mut file_problems) => problems.append(&mut file_problems),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(compose::merge(typed, &compose::directory_name(first)))
}
