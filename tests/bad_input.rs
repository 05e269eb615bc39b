//! Bad input never stops a run: a syntax error, bytes that are not UTF-8, an alias bomb,
//! 10,000-deep nesting, a 100 MB file, a symlink loop, an unreadable file, wrong field
//! types, an unknown kind, unknown fields, duplicate keys, garbage on standard input and a
//! Compose file that fails its schema each give an `invalid-input` finding naming the file
//! and line, with no panic. JSON with comments found by a walk (another tool's file) is
//! skipped.
//!
//! Every case writes its bad file at run time into a temporary directory beside a good
//! manifest (a LoadBalancer Service exposing MariaDB's 3306 in namespace `mail`), checks
//! the directory and, where it means something, the bad file given explicitly. The good
//! manifest's one `internal-port-exposed` finding proves the rest of the run went on.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use iredmail_ports::model::{Finding, Rule, Severity};
use iredmail_ports::{Catalogue, Config, Engine, Input, Rules, check};
use tempfile::TempDir;

/// A LoadBalancer Service exposing MariaDB: exactly one `internal-port-exposed` finding,
/// at `port: 3306` (line 11, column 7).
const GOOD: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: mariadb
  namespace: mail
spec:
  type: LoadBalancer
  selector: {app: mariadb}
  ports:
    - name: mysql
      port: 3306
";

/// An `invalid-input` finding, flattened for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    /// The last component of the finding's path (`-` for standard input).
    file: String,
    line: u32,
    column: u32,
    message: String,
}

/// A temporary directory holding `good.yaml`.
fn dir_with_good_manifest() -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join("good.yaml"), GOOD).expect("write good.yaml");
    dir
}

/// Runs the library's `check` with the embedded catalogue.
fn check_inputs(inputs: &[Input]) -> Vec<Finding> {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    check(inputs, &catalogue, &Config::default())
        .expect("something to check")
        .findings
}

fn check_dir(dir: &Path) -> Vec<Finding> {
    check_inputs(&[Input::Path(dir.to_path_buf())])
}

fn check_file(path: &Path) -> Vec<Finding> {
    check_inputs(&[Input::Path(path.to_path_buf())])
}

/// The `invalid-input` findings, in report order.
fn problems(findings: &[Finding]) -> Vec<Problem> {
    findings
        .iter()
        .filter(|f| f.rule == Rule::InvalidInput)
        .map(|f| {
            let location = f.location.as_ref().expect("invalid-input has a location");
            let file = Path::new(&location.path)
                .file_name()
                .map_or(location.path.clone(), |n| n.to_string_lossy().into_owned());
            Problem {
                file,
                line: location.line,
                column: location.column,
                message: f.message.clone(),
            }
        })
        .collect()
}

/// The one `invalid-input` finding; fails if there is none or more than one.
fn only_problem(findings: &[Finding]) -> Problem {
    let problems = problems(findings);
    assert_eq!(
        problems.len(),
        1,
        "expected one invalid-input: {findings:#?}"
    );
    problems.into_iter().next().expect("one problem")
}

/// The good manifest was read and judged: exactly one `internal-port-exposed`, at
/// `good.yaml:11:7`.
fn assert_good_manifest_checked(findings: &[Finding]) {
    let exposed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == Rule::InternalPortExposed)
        .collect();
    assert_eq!(exposed.len(), 1, "{findings:#?}");
    let location = exposed[0].location.as_ref().expect("a location");
    assert!(location.path.ends_with("good.yaml"), "{location:?}");
    assert_eq!((location.line, location.column), (11, 7));
    assert_eq!(exposed[0].port, Some(3306));
    assert_eq!(exposed[0].object.as_deref(), Some("Service/mail/mariadb"));
}

fn assert_mentions(problem: &Problem, phrase: &str) {
    assert!(
        problem.message.contains(phrase),
        "`{phrase}` not in {problem:?}"
    );
}

/// Checks the directory and the bad file on its own; both must give `expected`.
fn assert_dir_and_file(dir: &TempDir, bad: &Path, expected: &Problem) {
    let findings = check_dir(dir.path());
    assert_eq!(&only_problem(&findings), expected);
    assert_good_manifest_checked(&findings);
    assert_eq!(&only_problem(&check_file(bad)), expected);
}

fn problem(file: &str, line: u32, column: u32, message: &str) -> Problem {
    Problem {
        file: file.into(),
        line,
        column,
        message: message.into(),
    }
}

// 1. Syntax errors.

#[test]
fn a_yaml_syntax_error_names_the_file_and_the_line_of_the_error() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("bad.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a: b\n  namespace: mail\n",
    )
    .unwrap();
    let expected = problem(
        "bad.yaml",
        4,
        10,
        "invalid YAML: mapping values are not allowed in this context",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 2. Bytes that are not UTF-8.

#[test]
fn non_utf8_bytes_are_reported_on_their_line_and_column() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("latin1.yaml");
    fs::write(
        &bad,
        b"apiVersion: v1\nkind: Service\nmetadata: {name: caf\xe9}\n".as_slice(),
    )
    .unwrap();
    let expected = problem(
        "latin1.yaml",
        3,
        21,
        "the file is not UTF-8 text (a binary file?)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

/// Found by tests/fuzz.rs: the column of the first bad byte counted the bytes before it,
/// while every other column counts characters, so a line with accents pointed past its end.
#[test]
fn non_utf8_columns_count_characters_like_every_other_column() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("mixed.yaml");
    fs::write(
        &bad,
        b"apiVersion: v1\nkind: Service\nmetadata: {name: caf\xc3\xa9\xe9}\n".as_slice(),
    )
    .unwrap();
    let expected = problem(
        "mixed.yaml",
        3,
        22,
        "the file is not UTF-8 text (a binary file?)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 3. Alias bombs.

/// Billion laughs: 10 levels of 9 aliases each, 9^10 nodes once expanded.
fn billion_laughs() -> String {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let aliases = vec![format!("*a{p}"); 9].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{aliases}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_stops_at_the_node_budget_and_the_run_finishes() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("bomb.yaml");
    fs::write(&bad, billion_laughs()).unwrap();
    // Reaching the assertions at all proves the check finished. The budget runs out
    // inside `a6` (line 7), whose anchor would expand to 5,380,840 nodes.
    let expected = problem(
        "bomb.yaml",
        7,
        20,
        "invalid YAML: the document expands to more than 2000000 nodes (an alias bomb?)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 4. Deep nesting.

#[test]
fn ten_thousand_nested_flow_sequences_are_refused_as_too_deep() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deep-flow.yaml");
    fs::write(
        &bad,
        format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
    )
    .unwrap();
    // The parser's own limit on flow levels (at the 256th `[`) is met before the tree's.
    let expected = problem(
        "deep-flow.yaml",
        1,
        256,
        "invalid YAML: nesting is too deep (the parser's recursion limit was exceeded)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn ten_thousand_nested_flow_mappings_are_refused_as_too_deep() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deep-map.yaml");
    fs::write(
        &bad,
        format!("{}{}\n", "{a: ".repeat(10_000), "}".repeat(10_000)),
    )
    .unwrap();
    // At the 256th `{`, column 255 × 4 + 1.
    let expected = problem(
        "deep-map.yaml",
        1,
        1021,
        "invalid YAML: nesting is too deep (the parser's recursion limit was exceeded)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn ten_thousand_nested_block_sequences_are_refused_as_too_deep() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deep-block.yaml");
    // `- - - … x`: block sequences, each nested in the one before, on one line.
    fs::write(&bad, format!("{}x\n", "- ".repeat(10_000))).unwrap();
    // At the 129th `- `, column 128 × 2 + 1.
    let expected = problem(
        "deep-block.yaml",
        1,
        257,
        "invalid YAML: nesting is deeper than 128 levels",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

/// `a:\n a:\n  a:` …: 10,000 block mappings. With growing indentation the text is
/// 50 MB, over the file size limit, so it is given as in-memory text (which has no size
/// limit) beside the directory holding the good manifest.
#[test]
fn ten_thousand_nested_block_mappings_are_refused_as_too_deep() {
    let dir = dir_with_good_manifest();
    let mut text = String::new();
    for depth in 0..10_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    let findings = check_inputs(&[
        Input::Text {
            name: "deep-block-map.yaml".into(),
            text,
        },
        Input::Path(dir.path().to_path_buf()),
    ]);
    assert_eq!(
        only_problem(&findings),
        problem(
            "deep-block-map.yaml",
            129,
            129,
            "invalid YAML: nesting is deeper than 128 levels"
        )
    );
    assert_good_manifest_checked(&findings);
}

/// The same depth that fits in a file: 5,000 block mappings at one space per level.
#[test]
fn five_thousand_nested_block_mappings_in_a_file_are_refused_as_too_deep() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deep-block-map.yaml");
    let mut text = String::new();
    for depth in 0..5_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    fs::write(&bad, text).unwrap();
    let expected = problem(
        "deep-block-map.yaml",
        129,
        129,
        "invalid YAML: nesting is deeper than 128 levels",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 5. A 100 MB file.

#[test]
fn a_100_mib_file_is_refused_by_its_size_without_being_read() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("huge.yaml");
    // Sparse: 100 MiB long, no blocks written.
    let file = fs::File::create(&bad).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    drop(file);
    // "100 MiB" comes from the file's metadata: had it been read (up to the limit), the
    // message would give the bytes read, 16 MiB.
    let expected = problem(
        "huge.yaml",
        1,
        1,
        "the file is 100 MiB, more than the 16 MiB limit for a manifest",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn a_100_mib_file_of_comment_lines_is_refused_by_its_size() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("comments.yaml");
    let line = b"# comment\n";
    let chunk = line.repeat(1024 * 1024 / line.len() + 1);
    let mut file = std::io::BufWriter::new(fs::File::create(&bad).unwrap());
    let mut written = 0;
    while written < 100 * 1024 * 1024 {
        std::io::Write::write_all(&mut file, &chunk).unwrap();
        written += chunk.len();
    }
    drop(file);
    let expected = problem(
        "comments.yaml",
        1,
        1,
        "the file is 100 MiB, more than the 16 MiB limit for a manifest",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 6. Symlink loops.

#[test]
fn a_directory_symlink_loop_is_reported_at_the_link_and_the_walk_goes_on() {
    let dir = dir_with_good_manifest();
    symlink(".", dir.path().join("loop")).unwrap();
    let findings = check_dir(dir.path());
    let found = only_problem(&findings);
    assert_eq!(
        (found.file.as_str(), found.line, found.column),
        ("loop", 1, 1)
    );
    assert_mentions(&found, "cannot walk: symbolic link loop back to");
    assert_good_manifest_checked(&findings);
}

#[test]
fn a_file_symlink_loop_is_reported_at_the_link() {
    let dir = dir_with_good_manifest();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    symlink(&b, &a).unwrap();
    symlink(&a, &b).unwrap();
    let findings = check_dir(dir.path());
    let found = problems(&findings);
    assert_eq!(found.len(), 2, "{findings:#?}");
    for (problem, name) in found.iter().zip(["a.yaml", "b.yaml"]) {
        assert_eq!(
            (problem.file.as_str(), problem.line, problem.column),
            (name, 1, 1)
        );
        assert_mentions(problem, "cannot walk: IO error for operation on");
        assert_mentions(problem, "Too many levels of symbolic links (os error 40)");
    }
    assert_good_manifest_checked(&findings);

    let explicit = only_problem(&check_file(&a));
    assert_eq!((explicit.file.as_str(), explicit.line), ("a.yaml", 1));
    assert_mentions(
        &explicit,
        "cannot read: Too many levels of symbolic links (os error 40)",
    );
}

// 7. Unreadable files.

#[test]
fn a_socket_given_as_a_file_cannot_be_opened_and_is_reported() {
    let dir = dir_with_good_manifest();
    let socket = dir.path().join("bad.yaml");
    let _listener = UnixListener::bind(&socket).unwrap();
    let findings = check_inputs(&[
        Input::Path(socket.clone()),
        Input::Path(dir.path().join("good.yaml")),
    ]);
    let found = only_problem(&findings);
    assert_eq!(
        found,
        problem(
            "bad.yaml",
            1,
            1,
            "cannot read: No such device or address (os error 6)"
        )
    );
    assert_good_manifest_checked(&findings);
    // Found by walking, a socket is not a file and is skipped.
    let walked = check_dir(dir.path());
    assert!(problems(&walked).is_empty(), "{walked:#?}");
    assert_good_manifest_checked(&walked);
}

#[test]
fn a_dangling_symlink_given_as_a_file_is_reported() {
    let dir = dir_with_good_manifest();
    let link = dir.path().join("dangling.yaml");
    symlink(dir.path().join("missing.yaml"), &link).unwrap();
    let findings = check_inputs(&[
        Input::Path(link.clone()),
        Input::Path(dir.path().join("good.yaml")),
    ]);
    assert_eq!(
        only_problem(&findings),
        problem(
            "dangling.yaml",
            1,
            1,
            "cannot read: No such file or directory (os error 2)"
        )
    );
    assert_good_manifest_checked(&findings);
}

#[test]
fn a_dangling_symlink_found_by_walking_is_reported() {
    let dir = dir_with_good_manifest();
    symlink(
        dir.path().join("missing.yaml"),
        dir.path().join("dangling.yaml"),
    )
    .unwrap();
    let findings = check_dir(dir.path());
    let found = only_problem(&findings);
    assert_eq!(
        (found.file.as_str(), found.line, found.column),
        ("dangling.yaml", 1, 1)
    );
    assert_mentions(&found, "cannot walk: IO error for operation on");
    assert_mentions(&found, "No such file or directory (os error 2)");
    assert_good_manifest_checked(&findings);
}

#[test]
fn a_chmod_000_file_is_reported_when_permissions_apply() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("secret.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: mail}\n",
    )
    .unwrap();
    fs::set_permissions(&bad, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::File::open(&bad)
        .and_then(|mut f| f.read_to_end(&mut Vec::new()))
        .is_ok();
    let findings = check_dir(dir.path());
    if readable {
        // Running as root (or with CAP_DAC_OVERRIDE): permissions do not stop reading,
        // so there is nothing to report; the sockets and dangling links above cover
        // unreadable files instead.
        assert!(problems(&findings).is_empty(), "{findings:#?}");
        assert_good_manifest_checked(&findings);
    } else {
        let found = only_problem(&findings);
        assert_eq!((found.file.as_str(), found.line), ("secret.yaml", 1));
        assert_mentions(&found, "cannot read: Permission denied");
        assert_good_manifest_checked(&findings);
    }
}

// 8. Wrong field types.

#[test]
fn a_string_service_port_names_its_field_path_and_line() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("svc.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: smtp, namespace: mail}\nspec:\n  ports:\n    - port: \"25\"\n",
    )
    .unwrap();
    let expected = problem(
        "svc.yaml",
        6,
        7,
        "`spec.ports[0].port`: invalid type: string \"25\", expected i32",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn a_named_container_port_names_its_field_path_and_line() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deploy.yaml");
    fs::write(
        &bad,
        "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: postfix, namespace: mail}
spec:
  selector: {matchLabels: {app: postfix}}
  template:
    metadata: {labels: {app: postfix}}
    spec:
      containers:
        - name: postfix
          image: example/postfix:1
          ports:
            - containerPort: smtp
",
    )
    .unwrap();
    let expected = problem(
        "deploy.yaml",
        13,
        15,
        "`spec.template.spec.containers[0].ports[0].containerPort`: invalid type: string \"smtp\", expected i32",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn ports_that_are_not_a_list_name_their_field_path_and_line() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("svc.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: smtp, namespace: mail}\nspec:\n  ports: 25\n",
    )
    .unwrap();
    let expected = problem(
        "svc.yaml",
        5,
        3,
        "`spec.ports`: invalid type: integer `25`, expected a sequence",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 9. Unknown kinds and removed API versions.

#[test]
fn a_misspelt_kind_in_a_known_group_is_reported_at_kind() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("typo.yaml");
    fs::write(
        &bad,
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: postfix, namespace: mail}\n",
    )
    .unwrap();
    let expected = problem(
        "typo.yaml",
        2,
        1,
        "unknown kind `Deploymnet` for apiVersion `apps/v1`",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn a_removed_api_version_is_reported_at_api_version() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("old.yaml");
    fs::write(
        &bad,
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: postfix, namespace: mail}\n",
    )
    .unwrap();
    let expected = problem(
        "old.yaml",
        1,
        1,
        "Deployment is served by `apiVersion: apps/v1`, not `extensions/v1beta1`",
    );
    assert_dir_and_file(&dir, &bad, &expected);
    let finding = check_file(&bad)
        .into_iter()
        .find(|f| f.rule == Rule::InvalidInput)
        .unwrap();
    assert_eq!(finding.object.as_deref(), Some("Deployment/mail/postfix"));
}

// 10. Duplicate keys.

#[test]
fn a_duplicate_key_is_reported_at_the_second_key() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("dup.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: smtp\n  namespace: mail\n  name: submission\n",
    )
    .unwrap();
    let expected = problem("dup.yaml", 6, 3, "invalid YAML: duplicate key `name`");
    assert_dir_and_file(&dir, &bad, &expected);
}

// 10b. Unknown fields: kubectl's strict field validation refuses them, and a typo can
// hide an exposure. The rest of the object is still checked.

/// The message of an unknown field at `path`.
fn unknown_field(path: &str) -> String {
    format!(
        "`{path}`: unknown field, which kubectl's strict field validation rejects; it is not checked"
    )
}

#[test]
fn a_misspelt_service_field_is_reported_at_its_line_with_its_path() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("svc.yaml");
    fs::write(
        &bad,
        "apiVersion: v1\nkind: Service\nmetadata: {name: smtp, namespace: mail}\nspec:\n  type: LoadBalancer\n  portz:\n    - port: 25\n",
    )
    .unwrap();
    let expected = problem("svc.yaml", 6, 3, &unknown_field("spec.portz"));
    assert_dir_and_file(&dir, &bad, &expected);
    let finding = check_file(&bad)
        .into_iter()
        .find(|f| f.rule == Rule::InvalidInput)
        .unwrap();
    assert_eq!(finding.object.as_deref(), Some("Service/mail/smtp"));
    assert_eq!(finding.severity, Severity::Error);
}

/// A lowercase `hostport:` is not `hostPort:`: kubectl refuses it, and reading past it
/// would call port 25 unpublished on the node.
#[test]
fn a_lowercase_host_port_is_reported_and_the_rest_of_the_deployment_is_checked() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("deploy.yaml");
    fs::write(
        &bad,
        "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: postfix, namespace: mail}
spec:
  selector: {matchLabels: {app: postfix}}
  template:
    metadata: {labels: {app: postfix}}
    spec:
      hostNetwork: true
      containers:
        - name: postfix
          image: example/postfix:1
          ports:
            - containerPort: 25
              hostport: 25
",
    )
    .unwrap();
    let expected = problem(
        "deploy.yaml",
        15,
        15,
        &unknown_field("spec.template.spec.containers[0].ports[0].hostport"),
    );
    assert_dir_and_file(&dir, &bad, &expected);
    let findings = check_file(&bad);
    let host_network: Vec<(&str, u32)> = findings
        .iter()
        .filter(|f| f.rule == Rule::HostNetwork)
        .map(|f| {
            let location = f.location.as_ref().expect("a location");
            (f.object.as_deref().unwrap_or_default(), location.line)
        })
        .collect();
    assert_eq!(host_network, [("Deployment/mail/postfix", 9)]);
}

#[test]
fn a_misspelt_field_of_a_fully_typed_gateway_api_struct_is_reported() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("route.yaml");
    fs::write(
        &bad,
        "\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: sogo, namespace: mail}
spec:
  parentRefs: [{name: web}]
  rules:
    - backendRefs:
        - name: sogo
          prot: 20000
",
    )
    .unwrap();
    let expected = problem(
        "route.yaml",
        9,
        11,
        &unknown_field("spec.rules[0].backendRefs[0].prot"),
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn a_misspelt_metadata_field_of_a_traefik_route_is_reported() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("traefik.yaml");
    fs::write(
        &bad,
        "\
apiVersion: traefik.io/v1alpha1
kind: IngressRouteTCP
metadata:
  name: smtp
  namespaec: mail
spec:
  entryPoints: [smtp]
  routes:
    - match: HostSNI(`*`)
      services: [{name: postfix, port: 25}]
",
    )
    .unwrap();
    let expected = problem("traefik.yaml", 5, 3, &unknown_field("metadata.namespaec"));
    assert_dir_and_file(&dir, &bad, &expected);
}

/// Fields the types know or deliberately leave unread are no typos: `managedFields` and
/// `status`, fields of recent Kubernetes releases (`trafficDistribution`, 1.31), and the
/// fields of the CRD structs typed in part (a Gateway's `addresses`, an HTTPRoute
/// filter's `requestHeaderModifier`, a Middleware's `headers`, a Traefik service's
/// `sticky`).
#[test]
fn known_and_deliberately_unread_fields_are_not_reported() {
    let text = "\
apiVersion: v1
kind: Service
metadata:
  name: smtp
  namespace: mail
  managedFields:
    - {manager: kubectl, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {f:spec: {}}}
spec:
  trafficDistribution: PreferClose
  ipFamilyPolicy: SingleStack
  ports: [{port: 25}]
status:
  loadBalancer: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: mail}
spec:
  gatewayClassName: cilium
  addresses: [{type: IPAddress, value: 10.0.0.9}]
  listeners:
    - {name: https, port: 443, protocol: HTTPS, allowedRoutes: {namespaces: {from: Same}}, tls: {mode: Terminate, certificateRefs: [{name: cert}]}}
status:
  conditions: []
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: sogo, namespace: mail}
spec:
  parentRefs: [{name: web, group: gateway.networking.k8s.io, kind: Gateway, sectionName: https}]
  rules:
    - name: eas
      matches: [{path: {type: PathPrefix, value: /SOGo}, method: GET}]
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: X-A, value: b}]}}]
      backendRefs: [{name: sogo, port: 20000, weight: 1}]
---
apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: headers, namespace: mail}
spec:
  headers: {stsSeconds: 31536000}
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata: {name: web, namespace: mail}
spec:
  entryPoints: [websecure]
  routes:
    - match: PathPrefix(`/SOGo`)
      kind: Rule
      priority: 10
      services: [{name: sogo, port: 20000, sticky: {cookie: {}}}]
  tls: {secretName: cert}
";
    let findings = check_inputs(&[Input::Text {
        name: "known.yaml".into(),
        text: text.into(),
    }]);
    assert_eq!(problems(&findings), [], "{findings:#?}");
}

/// The API server has already decoded a live object into its own types, dropping or
/// refusing unknown fields: the webhook and cluster mode do not type it strictly.
#[test]
fn a_live_object_is_not_typed_strictly() {
    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let service = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "smtp", "namespace": "mail"},
        "spec": {"ports": [{"port": 25}], "fieldOfANewerRelease": true}
    });
    let report =
        Engine::new(&catalogue, Config::default()).check_live(&[service], Vec::new(), Rules::All);
    assert_eq!(problems(&report.findings), [], "{:#?}", report.findings);
}

// 10c. Files of other tools found by a walk are skipped.

/// TypeScript's `tsconfig.json`: JSON with comments and trailing commas, which YAML reads
/// as a mapping with odd keys.
const TSCONFIG: &str = "\
{
  // Build settings.
  \"compilerOptions\": {
    \"target\": \"es2022\", /* as the runtime */
    \"strict\": true,
  },
}
";

/// A Dev Container's settings, which are no YAML at all.
const DEVCONTAINER: &str = "\
// For format details, see https://aka.ms/devcontainer.json.
{
\t\"name\": \"Rust\",
\t\"image\": \"mcr.microsoft.com/devcontainers/rust:1\",
\t// \"features\": {},
\t\"customizations\": {\"vscode\": {\"extensions\": [\"rust-lang.rust-analyzer\",],},},
}
";

const NOT_A_MANIFEST: &str = "not a Kubernetes manifest, a Compose file or an Ansible playbook: \
     no document has `apiVersion` and `kind`, nor a `services:` mapping, nor a list of plays \
     or tasks";

#[test]
fn json_with_comments_found_by_a_walk_is_skipped_and_named_is_invalid_input() {
    let dir = dir_with_good_manifest();
    let tsconfig = dir.path().join("tsconfig.json");
    let devcontainer = dir.path().join("devcontainer.json");
    fs::write(&tsconfig, TSCONFIG).unwrap();
    fs::write(&devcontainer, DEVCONTAINER).unwrap();
    let findings = check_dir(dir.path());
    assert_eq!(problems(&findings), [], "{findings:#?}");
    assert_good_manifest_checked(&findings);
    assert_eq!(
        only_problem(&check_file(&tsconfig)),
        problem("tsconfig.json", 1, 1, NOT_A_MANIFEST)
    );
    assert_eq!(
        only_problem(&check_file(&devcontainer)),
        problem("devcontainer.json", 1, 1, NOT_A_MANIFEST)
    );
}

/// kubectl's JSON decoder takes no comments: a manifest written so is an error, found by a
/// walk or named, at its first comment.
#[test]
fn a_manifest_in_json_with_comments_is_invalid_input_at_the_comment() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("svc.json");
    fs::write(
        &bad,
        "{\n  \"apiVersion\": \"v1\", \"kind\": \"Service\",\n  // SMTP: port 25\n  \"metadata\": {\"name\": \"smtp\"}\n}\n",
    )
    .unwrap();
    let expected = problem(
        "svc.json",
        3,
        3,
        "a manifest in JSON with comments or trailing commas, which kubectl's JSON decoder refuses",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

/// The comment's column counts characters, as every column does (it counted bytes, so an
/// accent before the comment moved it right).
#[test]
fn the_comment_of_a_commented_json_manifest_is_at_its_character_column() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("svc.json");
    fs::write(
        &bad,
        "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"été\"} /* 25 */}\n",
    )
    .unwrap();
    let expected = problem(
        "svc.json",
        1,
        69,
        "a manifest in JSON with comments or trailing commas, which kubectl's JSON decoder refuses",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// 11. Standard input.

fn bin() -> Command {
    let mut command = Command::cargo_bin("iredmail-ports").expect("the binary is built");
    command.env_remove("NO_COLOR");
    command
}

/// Runs the binary; asserts it neither panicked nor crashed, and printed a JSON report.
/// Returns the exit code and the report's findings.
fn run_json(command: &mut Command) -> (Option<i32>, Vec<serde_json::Value>) {
    let output = command.output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("overflow"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}; {stderr}"));
    let findings = report["findings"].as_array().expect("findings").clone();
    (output.status.code(), findings)
}

/// `check - --format json` with `input` on standard input.
fn run_stdin(input: Vec<u8>) -> (Option<i32>, Vec<serde_json::Value>) {
    run_json(
        bin()
            .args(["check", "-", "--format", "json"])
            .write_stdin(input),
    )
}

#[test]
fn garbage_on_stdin_is_an_invalid_input_for_dash() {
    let (code, findings) = run_stdin(b"\x00\xff\xfe garbage \x80\x81\n\x1b[31m".to_vec());
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "invalid-input");
    assert_eq!(findings[0]["location"]["path"], "-");
    assert_eq!(findings[0]["location"]["line"], 1);
    assert_eq!(findings[0]["location"]["column"], 2);
    assert_eq!(
        findings[0]["message"],
        "the file is not UTF-8 text (a binary file?)"
    );
}

#[test]
fn a_syntax_error_on_stdin_is_an_invalid_input_for_dash() {
    let (code, findings) = run_stdin(b"kind: [unclosed\n".to_vec());
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "invalid-input");
    assert_eq!(findings[0]["location"]["path"], "-");
    // The input ends inside the list: at the end of its last line, not on a line after it
    // that the input does not have.
    assert_eq!(findings[0]["location"]["line"], 1);
    assert_eq!(findings[0]["location"]["column"], 16);
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid YAML: "),
        "{findings:#?}"
    );
}

/// 100 MiB of comment lines on standard input: read up to the limit, then refused.
#[test]
fn a_100_mib_stream_on_stdin_is_refused_at_the_size_limit() {
    let (code, findings) = run_stdin(b"# comment\n".repeat(10 * 1024 * 1024));
    assert_eq!(code, Some(1));
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "invalid-input");
    assert_eq!(findings[0]["location"]["path"], "-");
    assert_eq!(findings[0]["location"]["line"], 1);
    let message = findings[0]["message"].as_str().unwrap();
    assert!(
        message.ends_with("16 MiB limit for a manifest"),
        "{message}"
    );
}

// 12. Compose files.

#[test]
fn a_compose_key_outside_the_schema_is_reported_at_the_key() {
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("compose.yaml");
    fs::write(
        &bad,
        "services:\n  mariadb:\n    image: mariadb:11\n    portz:\n      - \"3306:3306\"\n",
    )
    .unwrap();
    let expected = problem(
        "compose.yaml",
        4,
        5,
        "`services.mariadb.portz` does not match the compose-spec schema: \
         Unevaluated properties are not allowed ('portz' was unexpected)",
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

#[test]
fn a_missing_required_compose_variable_gives_its_message() {
    let var = "IREDMAIL_PORTS_BAD_INPUT_TEST_UNSET";
    assert!(std::env::var_os(var).is_none(), "{var} must be unset");
    let dir = dir_with_good_manifest();
    let bad = dir.path().join("compose.yaml");
    fs::write(
        &bad,
        format!(
            "services:\n  mariadb:\n    image: mariadb:11\n    ports:\n      - \"${{{var}:?set the database port}}:3306\"\n"
        ),
    )
    .unwrap();
    let expected = problem(
        "compose.yaml",
        5,
        9,
        &format!("required variable {var} is missing a value: set the database port"),
    );
    assert_dir_and_file(&dir, &bad, &expected);
}

// All at once, through the binary.

/// A directory holding every bad file above (and the good manifest).
fn every_bad_file() -> TempDir {
    let dir = dir_with_good_manifest();
    let path = |name: &str| dir.path().join(name);
    fs::write(path("syntax.yaml"), "metadata:\n  name: a: b\n").unwrap();
    fs::write(
        path("latin1.yaml"),
        b"kind: Service\n\n# caf\xe9\n".as_slice(),
    )
    .unwrap();
    fs::write(path("bomb.yaml"), billion_laughs()).unwrap();
    fs::write(path("deep.yaml"), "[".repeat(10_000)).unwrap();
    fs::write(path("deep-block.yaml"), "- ".repeat(10_000)).unwrap();
    fs::File::create(path("huge.yaml"))
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    symlink(".", path("loop")).unwrap();
    symlink(path("missing.yaml"), path("dangling.yaml")).unwrap();
    fs::write(
        path("types.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: 25\n",
    )
    .unwrap();
    fs::write(
        path("kind.yaml"),
        "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n",
    )
    .unwrap();
    fs::write(path("dup.yaml"), "apiVersion: v1\napiVersion: v1\n").unwrap();
    fs::write(
        path("compose.yaml"),
        "services:\n  db:\n    image: mariadb:11\n    portz: [\"3306:3306\"]\n",
    )
    .unwrap();
    dir
}

#[test]
fn the_binary_reports_every_bad_file_at_once_as_json_without_panicking() {
    let dir = every_bad_file();
    let (code, findings) = run_json(
        bin()
            .arg("check")
            .arg(dir.path())
            .args(["--format", "json"]),
    );
    assert_eq!(code, Some(1));
    let mut invalid: Vec<String> = findings
        .iter()
        .filter(|f| f["rule"] == "invalid-input")
        .map(|f| {
            let path = PathBuf::from(f["location"]["path"].as_str().unwrap());
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    invalid.sort();
    assert_eq!(
        invalid,
        [
            "bomb.yaml",
            "compose.yaml",
            "dangling.yaml",
            "deep-block.yaml",
            "deep.yaml",
            "dup.yaml",
            "huge.yaml",
            "kind.yaml",
            "latin1.yaml",
            "loop",
            "syntax.yaml",
            "types.yaml",
        ],
        "{findings:#?}"
    );
    let exposed = findings
        .iter()
        .filter(|f| f["rule"] == "internal-port-exposed")
        .count();
    assert_eq!(exposed, 1, "{findings:#?}");
}

// Known bugs: each test states what should happen and is ignored until src/ is fixed.

#[test]
fn an_oversized_stream_does_not_claim_to_be_16_mib() {
    let (_, findings) = run_stdin(b"# comment\n".repeat(10 * 1024 * 1024));
    let message = findings[0]["message"].as_str().unwrap();
    assert!(!message.contains("is 16 MiB"), "{message}");
}

/// `${A:-${A:-…x…}}` nested 10,000 times in one 60 KB scalar: YAML nesting is fine (it is
/// one string), but interpolation recurses once per level.
#[test]
fn deeply_nested_compose_defaults_end_in_a_finding_not_a_stack_overflow() {
    let dir = dir_with_good_manifest();
    let depth = 10_000;
    let image = format!(
        "{}mariadb:11{}",
        "${IREDMAIL_PORTS_BAD_INPUT_UNSET:-".repeat(depth),
        "}".repeat(depth)
    );
    fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  mariadb:\n    image: \"{image}\"\n"),
    )
    .unwrap();
    // `run_json` fails on a crash: no JSON on stdout and "overflow" on stderr.
    let (code, findings) = run_json(
        bin()
            .arg("check")
            .arg(dir.path())
            .args(["--format", "json"]),
    );
    assert_eq!(code, Some(1));
    for finding in &findings {
        let path = finding["location"]["path"].as_str().unwrap_or_default();
        if path.ends_with("compose.yaml") {
            assert_eq!(finding["rule"], "invalid-input", "{finding:#}");
            assert_eq!(finding["location"]["line"], 3, "{finding:#}");
        }
    }
    let exposed = findings
        .iter()
        .filter(|f| f["rule"] == "internal-port-exposed")
        .count();
    assert_eq!(exposed, 1, "{findings:#?}");
}

/// A ConfigMap with 400,000 keys (5 MB): 800,000 nodes, under the node budget. Before
/// duplicate keys were tracked in a set this took minutes; it must finish in seconds.
#[test]
fn a_mapping_with_many_keys_is_read_without_quadratic_time() {
    let dir = dir_with_good_manifest();
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n");
    for i in 0..400_000 {
        text.push_str(&format!("  k{i}: v\n"));
    }
    fs::write(dir.path().join("keys.yaml"), text).unwrap();
    let findings = check_dir(dir.path());
    assert!(problems(&findings).is_empty(), "{findings:#?}");
    assert_good_manifest_checked(&findings);
}

/// A Compose file with no ports, whose `.env` is the bad input.
fn dir_with_compose_and_dot_env() -> TempDir {
    let dir = dir_with_good_manifest();
    fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  mariadb:\n    image: \"mariadb:${IREDMAIL_PORTS_BAD_INPUT_TAG:-11}\"\n",
    )
    .unwrap();
    dir
}

#[test]
fn an_oversized_dot_env_is_refused_by_its_size() {
    let dir = dir_with_compose_and_dot_env();
    fs::File::create(dir.path().join(".env"))
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let findings = check_dir(dir.path());
    let found = only_problem(&findings);
    assert_eq!((found.file.as_str(), found.line), (".env", 1));
    assert_mentions(&found, "16 MiB limit");
    assert_good_manifest_checked(&findings);
}

#[test]
fn a_non_utf8_dot_env_is_reported_on_its_line() {
    let dir = dir_with_compose_and_dot_env();
    fs::write(
        dir.path().join(".env"),
        b"# tags\nIREDMAIL_PORTS_BAD_INPUT_TAG=1\xff1\n".as_slice(),
    )
    .unwrap();
    let findings = check_dir(dir.path());
    assert_eq!(
        only_problem(&findings),
        problem(".env", 2, 31, "the file is not UTF-8 text (a binary file?)")
    );
    assert_good_manifest_checked(&findings);
}
