//! Fuzzing the two doors hostile input comes through: the loaders (`check` on files, as the
//! CLI and the pre-commit hook run it) and the admission webhook's review path (a request
//! body turned into an AdmissionResponse, as `serve` answers it, without HTTP).
//!
//! The corpus is every input file under `tests/fixtures/` and `examples/` (Kubernetes YAML
//! and JSON, Compose with its `.env`, Ansible with its roles and vars), and AdmissionReviews:
//! the webhook fixtures and one built from every Kubernetes object of the fixtures, for each
//! operation. Each case takes one of them and applies a few mutations, at the level of the
//! tree (a node replaced by a hostile value: port strings like `0-70000`, `65535:1`, `-1`,
//! huge numbers, deep nesting, a duplicated subtree, a `<<` merge) or of the bytes (flips,
//! truncation, a splice with another corpus file, invalid UTF-8, duplicated lines and so
//! duplicated keys, anchors, aliases and merge keys, alias bombs, deep nesting, repeats).
//!
//! Properties:
//! - nothing panics, and no case runs longer than a bound (a watchdog aborts with the seed);
//! - `check` returns a report or says there was nothing to check; every finding's location
//!   names a file of the checked tree, at a line and column inside it; every `invalid-input`
//!   finding has a location; every output format renders;
//! - a review body is either refused (400 or 413) or answered with the request's `uid`,
//!   within the documented bounds on warnings and the denial message, and the answer
//!   serializes.
//!
//! The run is bounded: `IREDMAIL_PORTS_FUZZ_CASES` cases per target (default
//! [`DEFAULT_LOADER_CASES`] and [`DEFAULT_REVIEW_CASES`]) or `IREDMAIL_PORTS_FUZZ_SECONDS`
//! seconds (default [`DEFAULT_SECONDS`]), whichever ends first. The seed is random unless
//! `IREDMAIL_PORTS_FUZZ_SEED` sets it, and printed to standard error at the start, so a
//! failure (or a crash that takes the process down) replays with that seed. proptest also
//! records each failing case's own seed in `tests/fuzz.proptest-regressions`, replayed first
//! by every later run, and shrinks the failure to its fewest mutations. A failing case's
//! input is written to `target/fuzz-failures/`.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{
    Config as RunnerConfig, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};
use serde_json::{Value, json};

use iredmail_ports::load::yaml;
use iredmail_ports::model::{Rule, Severity};
use iredmail_ports::report::Format;
use iredmail_ports::webhook::Mode;
use iredmail_ports::webhook::review::{
    self, CachedObject, MAX_DENIAL_BYTES, MAX_LINE_BYTES, MAX_WARNINGS, NamespaceView, ObjectKey,
    Reviewer, Verdict,
};
use iredmail_ports::{Catalogue, CheckError, Config, Engine, Input, Report};

/// Cases per target by default, about 40 s each in a debug build on 2 cores with both
/// targets running: a loader case copies a fixture directory and checks it (about 20 a
/// second), a review case only parses and judges a body (about 80 a second).
const DEFAULT_LOADER_CASES: u32 = 1_000;
const DEFAULT_REVIEW_CASES: u32 = 3_000;
/// Seconds per target by default; the two targets run in parallel.
const DEFAULT_SECONDS: u64 = 60;
/// A case slower than this is a hang: the watchdog prints it and aborts. Generous, as the
/// machine may be busy; a real case takes well under a second.
const DEFAULT_CASE_LIMIT_SECONDS: u64 = 120;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A choice among however many things there turn out to be (a corpus file, a line, a
/// byte): a fraction of the range, as proptest's `Index`, which tests cannot build. It
/// shrinks towards the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pick(u64);

impl Pick {
    const FIRST: Pick = Pick(0);
    const LAST: Pick = Pick(u64::MAX);

    /// The pick that chooses the `i`-th of `len` things.
    fn nth(i: usize, len: usize) -> Pick {
        let scaled = ((i as u128) << 64).div_ceil(len as u128);
        Pick(u64::try_from(scaled).unwrap_or(u64::MAX))
    }

    /// The choice among `len` things; `len` must not be 0.
    fn of(self, len: usize) -> usize {
        ((len as u128 * self.0 as u128) >> 64) as usize
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<u64>().prop_map(Pick)
}

// ---------------------------------------------------------------------------------------
// The run: budget, seed, watchdog.

struct Budget {
    cases: u32,
    time: Duration,
    seed: u64,
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(number) => Some(number),
        Err(_) => panic!("{name}={text:?} is not a whole number"),
    }
}

fn budget(default_cases: u32) -> Budget {
    let random = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64 ^ u64::from(std::process::id()));
    Budget {
        cases: env_number("IREDMAIL_PORTS_FUZZ_CASES")
            .map_or(default_cases, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        time: Duration::from_secs(
            env_number("IREDMAIL_PORTS_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS),
        ),
        seed: env_number("IREDMAIL_PORTS_FUZZ_SEED").unwrap_or(random),
    }
}

/// Straight to the process's standard error, past the test harness's capture: the seed must
/// be seen even when a crash (a stack overflow, an abort) takes the harness down with it.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The case running now in each target, for the watchdog.
type Running = Arc<Mutex<Option<(Instant, String)>>>;

/// Aborts the process when one case runs past the limit: a hang must fail the test, with
/// what is needed to replay it, rather than stall the suite.
fn watchdog(target: &'static str, seed: u64, running: Running, done: Arc<AtomicBool>) {
    let limit = Duration::from_secs(
        env_number("IREDMAIL_PORTS_FUZZ_CASE_SECONDS").unwrap_or(DEFAULT_CASE_LIMIT_SECONDS),
    );
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let guard = running.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((started, case)) = guard.as_ref()
                && started.elapsed() > limit
            {
                say(&format!(
                    "fuzz {target}: a case ran longer than {} s, seed {seed} \
                     (IREDMAIL_PORTS_FUZZ_SEED={seed} replays the run):\n{case}",
                    limit.as_secs()
                ));
                std::process::abort();
            }
        }
    });
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs `property` over `strategy` within the budget. A panic inside the property is caught
/// and becomes a failure with its message, so proptest shrinks it like any other.
fn fuzz<S, F>(target: &'static str, default_cases: u32, strategy: S, property: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(&S::Value) -> Result<&'static str, String>,
{
    let budget = budget(default_cases);
    say(&format!(
        "fuzz {target}: seed {} (IREDMAIL_PORTS_FUZZ_SEED={} replays it), up to {} cases or {} s",
        budget.seed,
        budget.seed,
        budget.cases,
        budget.time.as_secs()
    ));
    let config = RunnerConfig {
        cases: budget.cases,
        rng_seed: RngSeed::Fixed(budget.seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz.proptest-regressions"
        )))),
        // Shrinking re-runs the failing case many times; bound it too.
        max_shrink_time: 120_000,
        max_shrink_iters: 2_000,
        ..RunnerConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let running: Running = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    watchdog(target, budget.seed, running.clone(), done.clone());
    let started = Instant::now();
    let ran = AtomicUsize::new(0);
    // Once a case failed, the time budget no longer cuts cases short: shrinking must see
    // the failure again, not a skipped case that passes.
    let failing = AtomicBool::new(false);
    // How the cases ended (refused, denied, read with invalid input...): a run where every
    // case ends the same way explores little.
    let outcomes: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());
    let result = runner.run(&strategy, |case| {
        if !failing.load(Ordering::Relaxed) && started.elapsed() > budget.time {
            return Ok(());
        }
        *running.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), format!("{case:#?}")));
        let outcome = catch_unwind(AssertUnwindSafe(|| property(&case)));
        *running.lock().unwrap_or_else(|e| e.into_inner()) = None;
        ran.fetch_add(1, Ordering::Relaxed);
        let failure = match outcome {
            Ok(Ok(outcome)) => {
                *outcomes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(outcome)
                    .or_default() += 1;
                return Ok(());
            }
            Ok(Err(message)) => message,
            Err(payload) => format!("panicked: {}", panic_text(payload.as_ref())),
        };
        failing.store(true, Ordering::Relaxed);
        Err(TestCaseError::fail(failure))
    });
    done.store(true, Ordering::Relaxed);
    let ran = ran.load(Ordering::Relaxed);
    let outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    let outcomes: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    say(&format!(
        "fuzz {target}: {ran} cases in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        outcomes.join(", ")
    ));
    match result {
        Ok(()) => assert!(ran > 0, "fuzz {target}: no case ran"),
        Err(TestError::Fail(reason, case)) => panic!(
            "fuzz {target} failed, seed {} (IREDMAIL_PORTS_FUZZ_SEED={} replays the run): \
             {reason}\nminimal case: {case:#?}",
            budget.seed, budget.seed
        ),
        Err(TestError::Abort(reason)) => panic!("fuzz {target} aborted: {reason}"),
    }
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// Bytes worth inserting anywhere: YAML syntax and directives, tags, anchors, aliases and
/// merge keys, invalid UTF-8, byte-order marks, control characters, port strings a parser
/// may trip on, numbers no port type holds, interpolation and Jinja, keys that change a
/// document's kind or exposure.
const TOKENS: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xef\xbb\xbf",
    b"\xfe\xff",
    b"\0",
    b"\t",
    b"\r",
    b"\r\n",
    b"\x1b[31m",
    b"\n---\n",
    b"\n...\n",
    b"%YAML 1.1\n",
    b"%TAG ! tag:example.com,2000:\n",
    b"!!binary ",
    b"!!python/object/apply:os.system ",
    b"!custom ",
    b"!!int ",
    b"!!str ",
    b"!!map ",
    b"!!seq ",
    b"&a ",
    b"*a",
    b"*undefined",
    b"<<: *a\n",
    b"<<: [*a, *b]\n",
    b"<<: 25\n",
    b"? ",
    b": ",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"\"",
    b"'",
    b"|",
    b">-",
    b"#",
    b"@",
    b"`",
    b"\\",
    b"0-70000",
    b"65535:1",
    b"-1",
    b"65536",
    b"0",
    b"99999999999999999999999999",
    b"-9223372036854775809",
    b"1e400",
    b"0x7fffffff",
    b"0o777",
    b"0b1",
    b"1_000",
    b".nan",
    b".inf",
    b"~",
    b"null",
    b"${VAR:?unset}",
    b"${VAR:-${OTHER:-25}}",
    b"${",
    b"$$",
    b"{{ port }}",
    b"{{ lookup('env', 'HOME') }}",
    b"{{",
    b"{% if x %}",
    b"\\u0000",
    b"\\ud800",
    b"ports:\n  - \"0-70000:0-70000\"\n",
    b"ports: [\"65535-1:1-65535/udp\"]\n",
    b"hostNetwork: true\n",
    b"targetPort: https\n",
    b"type: LoadBalancer\n",
    b"kind: List\nitems:\n",
    b"apiVersion: v1\nkind: Service\n",
    b"services:\n",
    b"- hosts: all\n  tasks:\n",
    b"src: ../../../../etc/passwd\n",
    b"project_src: /proc/self\n",
];

/// Values a port, a name or a whole subtree may be replaced with.
const PORT_STRINGS: &[&str] = &[
    "0",
    "-1",
    "65535",
    "65536",
    "70000",
    "0-70000",
    "65535:1",
    "1-65535",
    "65535-1",
    "25-",
    "-25",
    ":25",
    "25:",
    "::25",
    "25/udp",
    "25/sctp",
    "25/bogus",
    "[::1]:25:25",
    "127.0.0.1:3306:3306",
    "0.0.0.0:3306-3310:3306-3310/tcp",
    "999.0.0.1:25:25",
    "[::1:25:25",
    "18446744073709551616",
    "9223372036854775807",
    "1e9",
    "0x19",
    "0o31",
    "2.5",
    "\"25\"",
    "'25'",
    "${PORT}",
    "{{ port }}",
    "https",
    "",
];

#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// Replace one node of the parsed documents with [`hostile`]`(value)`, then write the
    /// documents back as YAML or JSON.
    Tree {
        node: Pick,
        value: Pick,
        json: bool,
    },
    Flip {
        at: Pick,
        mask: u8,
    },
    Truncate {
        at: Pick,
    },
    Insert {
        at: Pick,
        token: Pick,
    },
    /// This input up to `at`, then another corpus input from `from` on.
    Splice {
        other: Pick,
        at: Pick,
        from: Pick,
    },
    DuplicateLine {
        line: Pick,
    },
    DeleteLine {
        line: Pick,
    },
    /// One run of digits replaced by a port string.
    Number {
        which: Pick,
        with: Pick,
    },
    /// Nesting deeper than any parser should follow, inserted at a line.
    Nest {
        line: Pick,
        depth: usize,
        flow: bool,
    },
    /// An anchor on a mapping key, an alias and a `<<` merge of it further on.
    Anchor {
        line: Pick,
        alias_at: Pick,
    },
    /// A billion-laughs block at the top.
    Bomb {
        levels: usize,
        width: usize,
    },
    /// One line repeated: thousands of ports, keys or documents.
    Repeat {
        line: Pick,
        times: usize,
    },
}

fn mutation(corpus_json: bool) -> impl Strategy<Value = Mutation> {
    // Most mutations keep the input readable, so that the cases reach the inventory and the
    // rules rather than stop at the parser: the tree-level ones above all. Review bodies
    // are JSON, where byte-level mutations mostly make the body unreadable (a 400), and
    // anchors and alias bombs are no JSON: those get a smaller share, or none.
    let (tree, bytes, yaml) = if corpus_json { (16, 1, 0) } else { (6, 2, 2) };
    let choices: Vec<(u32, BoxedStrategy<Mutation>)> = vec![
        (
            tree,
            (pick(), pick(), any::<bool>())
                .prop_map(move |(node, value, json)| Mutation::Tree {
                    node,
                    value,
                    json: json || corpus_json,
                })
                .boxed(),
        ),
        (
            4,
            (pick(), pick())
                .prop_map(|(which, with)| Mutation::Number { which, with })
                .boxed(),
        ),
        (
            2,
            pick()
                .prop_map(|line| Mutation::DuplicateLine { line })
                .boxed(),
        ),
        (
            bytes,
            (pick(), 1..=255u8)
                .prop_map(|(at, mask)| Mutation::Flip { at, mask })
                .boxed(),
        ),
        (
            bytes,
            pick().prop_map(|at| Mutation::Truncate { at }).boxed(),
        ),
        (
            bytes,
            (pick(), pick())
                .prop_map(|(at, token)| Mutation::Insert { at, token })
                .boxed(),
        ),
        (
            bytes,
            (pick(), pick(), pick())
                .prop_map(|(other, at, from)| Mutation::Splice { other, at, from })
                .boxed(),
        ),
        (
            bytes,
            pick()
                .prop_map(|line| Mutation::DeleteLine { line })
                .boxed(),
        ),
        (
            1,
            (pick(), 1..400usize, any::<bool>())
                .prop_map(|(line, depth, flow)| Mutation::Nest { line, depth, flow })
                .boxed(),
        ),
        (
            yaml,
            (pick(), pick())
                .prop_map(|(line, alias_at)| Mutation::Anchor { line, alias_at })
                .boxed(),
        ),
        (
            yaml,
            (1..12usize, 2..12usize)
                .prop_map(|(levels, width)| Mutation::Bomb { levels, width })
                .boxed(),
        ),
        (
            1,
            (pick(), 1..3000usize)
                .prop_map(|(line, times)| Mutation::Repeat { line, times })
                .boxed(),
        ),
    ];
    // A weight of 0 is no choice at all (proptest refuses it).
    Union::new_weighted(choices.into_iter().filter(|(w, _)| *w > 0).collect())
}

/// A value no well-formed input has where it is put, built around the node it replaces.
/// `None`: remove the node.
fn hostile(which: Pick, original: &Value) -> Option<Value> {
    let mut deep = original.clone();
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let choices: Vec<Option<Value>> = vec![
        None,
        Some(Value::Null),
        Some(json!(true)),
        Some(json!(-1)),
        Some(json!(0)),
        Some(json!(65535)),
        Some(json!(65536)),
        Some(json!(i64::MIN)),
        Some(json!(u64::MAX)),
        Some(json!(1e300)),
        Some(json!(-0.5)),
        Some(json!("")),
        Some(json!("\u{0}")),
        Some(json!("é".repeat(700))),
        Some(json!("x".repeat(70_000))),
        Some(json!([])),
        Some(json!({})),
        Some(json!([original, original])),
        Some(json!({"<<": original})),
        Some(json!({"port": original, "targetPort": original, "protocol": original})),
        Some(json!([{"containerPort": original, "hostPort": original}])),
        Some(
            json!({"matchLabels": original, "matchExpressions": [{"key": original, "operator": "In"}]}),
        ),
        Some(deep),
        Some(json!("{{ lookup('pipe', 'id') }}")),
        Some(json!("${PORT:?unset}")),
    ];
    let strings = PORT_STRINGS.iter().map(|s| Some(json!(s)));
    let all: Vec<Option<Value>> = choices.into_iter().chain(strings).collect();
    all[which.of(all.len())].clone()
}

/// Replaces (or removes) the node at `target` in a preorder walk; `seen` counts the nodes
/// passed.
fn replace_node(value: &mut Value, target: usize, seen: &mut usize, which: Pick) -> bool {
    enum Step {
        Key(String),
        At(usize),
    }
    let mut children: Vec<Step> = Vec::new();
    match value {
        Value::Object(map) => children.extend(map.keys().cloned().map(Step::Key)),
        Value::Array(items) => children.extend((0..items.len()).map(Step::At)),
        _ => {}
    }
    for step in children {
        let here = *seen;
        *seen += 1;
        let child = match (&mut *value, &step) {
            (Value::Object(map), Step::Key(key)) => map.get_mut(key),
            (Value::Array(items), Step::At(i)) => items.get_mut(*i),
            _ => None,
        };
        let Some(child) = child else { continue };
        if here == target {
            match hostile(which, child) {
                Some(new) => *child = new,
                None => match (value, step) {
                    (Value::Object(map), Step::Key(key)) => {
                        map.remove(&key);
                    }
                    (Value::Array(items), Step::At(i)) => {
                        items.remove(i);
                    }
                    _ => {}
                },
            }
            return true;
        }
        if replace_node(child, target, seen, which) {
            return true;
        }
    }
    false
}

fn count_nodes(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(|v| 1 + count_nodes(v)).sum(),
        Value::Array(items) => items.iter().map(|v| 1 + count_nodes(v)).sum(),
        _ => 0,
    }
}

/// The documents of a YAML or JSON text as JSON values, through the library's own parser;
/// `None` when it reads none.
fn documents(text: &str) -> Option<Vec<Value>> {
    let documents: Vec<Value> = yaml::parse_stream(text)
        .documents
        .into_iter()
        .filter_map(Result::ok)
        .map(|d| d.root.to_json())
        .collect();
    (!documents.is_empty()).then_some(documents)
}

fn write_documents(documents: &[Value], as_json: bool) -> Vec<u8> {
    if as_json {
        let value = match documents {
            [one] => one.clone(),
            many => json!({"apiVersion": "v1", "kind": "List", "items": many}),
        };
        return serde_json::to_vec_pretty(&value).unwrap_or_default();
    }
    documents
        .iter()
        .map(|d| serde_saphyr::to_string(d).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
        .into_bytes()
}

fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&start| start <= bytes.len())
        .collect()
}

/// The `index`-th line as a byte range, its newline included.
fn line_range(bytes: &[u8], index: Pick) -> std::ops::Range<usize> {
    let starts = line_starts(bytes);
    let i = index.of(starts.len());
    let end = starts.get(i + 1).copied().unwrap_or(bytes.len());
    starts[i]..end
}

fn indentation(line: &[u8]) -> usize {
    line.iter().take_while(|b| **b == b' ').count()
}

/// Inputs stay under this size, a few times the largest fixture: the loaders' own size
/// limits are tested elsewhere (tests/bad_input.rs), and big cases would only slow the run.
const MAX_MUTATED_BYTES: usize = 2 * 1024 * 1024;

fn apply(mutation: &Mutation, bytes: Vec<u8>, others: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = bytes;
    let position = |at: Pick, len: usize| at.of(len + 1);
    match *mutation {
        Mutation::Tree { node, value, json } => {
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return bytes;
            };
            let Some(mut docs) = documents(text) else {
                return bytes;
            };
            let total: usize = docs.iter().map(count_nodes).sum();
            if total == 0 {
                return bytes;
            }
            let mut target = node.of(total);
            for doc in &mut docs {
                let here = count_nodes(doc);
                if target < here {
                    let mut seen = 0;
                    replace_node(doc, target, &mut seen, value);
                    break;
                }
                target -= here;
            }
            bytes = write_documents(&docs, json);
        }
        Mutation::Flip { at, mask } => {
            if !bytes.is_empty() {
                let i = at.of(bytes.len());
                bytes[i] ^= mask;
            }
        }
        Mutation::Truncate { at } => {
            let cut = position(at, bytes.len());
            bytes.truncate(cut);
        }
        Mutation::Insert { at, token } => {
            let i = position(at, bytes.len());
            let token = TOKENS[token.of(TOKENS.len())];
            bytes.splice(i..i, token.iter().copied());
        }
        Mutation::Splice { other, at, from } => {
            let other = &others[other.of(others.len())];
            let cut = position(at, bytes.len());
            let from = position(from, other.len());
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
        Mutation::DuplicateLine { line } => {
            let range = line_range(&bytes, line);
            let copy = bytes[range.clone()].to_vec();
            bytes.splice(range.start..range.start, copy);
        }
        Mutation::DeleteLine { line } => {
            let range = line_range(&bytes, line);
            bytes.drain(range);
        }
        Mutation::Number { which, with } => {
            let mut runs = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i].is_ascii_digit() {
                    let start = i;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    runs.push(start..i);
                } else {
                    i += 1;
                }
            }
            if !runs.is_empty() {
                let run = runs[which.of(runs.len())].clone();
                let with = PORT_STRINGS[with.of(PORT_STRINGS.len())];
                bytes.splice(run, with.bytes());
            }
        }
        Mutation::Nest { line, depth, flow } => {
            let range = line_range(&bytes, line);
            let indent = " ".repeat(indentation(&bytes[range.clone()]));
            let nested = if flow {
                format!(
                    "{indent}nested: {}{}\n",
                    "[{\"a\": ".repeat(depth),
                    "}]".repeat(depth)
                )
            } else {
                let mut text = String::new();
                for level in 0..depth {
                    text.push_str(&format!("{indent}{}n{level}:\n", "  ".repeat(level)));
                }
                text.push_str(&format!("{indent}{}end\n", "  ".repeat(depth)));
                text
            };
            bytes.splice(range.start..range.start, nested.into_bytes());
        }
        Mutation::Anchor { line, alias_at } => {
            // An anchor on the `line`-th line that opens a block (`key:` or `- key:`)...
            let starts = line_starts(&bytes);
            let openers: Vec<usize> = starts
                .iter()
                .copied()
                .filter(|&s| {
                    let end = bytes[s..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(bytes.len(), |p| s + p);
                    let line = &bytes[s..end];
                    let trimmed = line.trim_ascii_end();
                    trimmed.ends_with(b":") && !trimmed.trim_ascii_start().starts_with(b"#")
                })
                .collect();
            if openers.is_empty() {
                return bytes;
            }
            let opener = openers[line.of(openers.len())];
            let end = bytes[opener..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| opener + p);
            let colon = bytes[opener..end]
                .iter()
                .rposition(|b| *b == b':')
                .map_or(end, |p| opener + p + 1);
            bytes.splice(colon..colon, b" &fz".iter().copied());
            // ... and further on, at the same indentation as some later line, a merge of it
            // and an alias in place of a value.
            let after: Vec<usize> = line_starts(&bytes)
                .into_iter()
                .filter(|&s| s > opener && s < bytes.len())
                .collect();
            if after.is_empty() {
                return bytes;
            }
            let at = after[alias_at.of(after.len())];
            let indent = " ".repeat(indentation(&bytes[at..]));
            let insertion = format!("{indent}<<: *fz\n{indent}alias: *fz\n");
            bytes.splice(at..at, insertion.into_bytes());
        }
        Mutation::Bomb { levels, width } => {
            let mut bomb = format!("x-fz0: &fz0 [{}]\n", vec!["\"lol\""; width].join(", "));
            for level in 1..levels {
                let previous = format!("*fz{}", level - 1);
                bomb.push_str(&format!(
                    "x-fz{level}: &fz{level} [{}]\n",
                    vec![previous.as_str(); width].join(", ")
                ));
            }
            // After a leading document marker, if any, so the bomb is in the first document.
            let at = if bytes.starts_with(b"---\n") { 4 } else { 0 };
            bytes.splice(at..at, bomb.into_bytes());
        }
        Mutation::Repeat { line, times } => {
            let range = line_range(&bytes, line);
            let copy = bytes[range.clone()].to_vec();
            let budget = MAX_MUTATED_BYTES.saturating_sub(bytes.len()) / copy.len().max(1);
            let repeated = copy.repeat((times).min(budget));
            bytes.splice(range.start..range.start, repeated);
        }
    }
    bytes.truncate(MAX_MUTATED_BYTES);
    bytes
}

fn mutate(seed: &[u8], mutations: &[Mutation], others: &[Vec<u8>]) -> Vec<u8> {
    mutations
        .iter()
        .fold(seed.to_vec(), |bytes, m| apply(m, bytes, others))
}

/// Where a failing case's input goes, for a look at it.
fn keep_failure(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = root().join("target/fuzz-failures");
    let _ = fs::create_dir_all(&dir);
    let path = dir.join(name.replace('/', "_"));
    let _ = fs::write(&path, bytes);
    path
}

// ---------------------------------------------------------------------------------------
// The loaders.

/// One input file of the corpus, with the directory it is checked in (a fixture with its
/// roles, vars files, `.env` and Compose overrides).
#[derive(Debug)]
struct FileSeed {
    /// The fixture's directory, relative to the repository.
    case: PathBuf,
    /// The file, relative to `case`.
    file: PathBuf,
    bytes: Vec<u8>,
}

fn walk_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk_files(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Whether a fixture file is an input (not the expected report beside it).
fn is_input(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name != "expected.txt")
}

fn file_corpus() -> &'static [FileSeed] {
    static CORPUS: OnceLock<Vec<FileSeed>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut seeds = Vec::new();
        // tests/fixtures/<kind>/<case>/... and examples/<kind>/<case>/...: the case
        // directory is checked as a whole. A file right under <kind> is its own case.
        for (base, depth) in [("tests/fixtures", 4), ("examples", 3)] {
            let mut files = Vec::new();
            walk_files(&root().join(base), &mut files);
            for path in files.into_iter().filter(|p| is_input(p)) {
                let Ok(relative) = path.strip_prefix(root()) else {
                    continue;
                };
                let components: Vec<_> = relative.components().collect();
                let take = depth.min(components.len() - 1);
                let case: PathBuf = components[..take].iter().collect();
                let Ok(file) = relative.strip_prefix(&case) else {
                    continue;
                };
                let Ok(bytes) = fs::read(&path) else { continue };
                seeds.push(FileSeed {
                    case: case.clone(),
                    file: file.to_path_buf(),
                    bytes,
                });
            }
        }
        assert!(seeds.len() > 150, "the corpus holds {} files", seeds.len());
        seeds
    })
}

fn all_corpus_bytes() -> &'static [Vec<u8>] {
    static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| {
        file_corpus()
            .iter()
            .map(|s| s.bytes.clone())
            .chain(review_corpus().iter().cloned())
            .collect()
    })
}

#[derive(Debug, Clone)]
struct LoaderCase {
    seed: Pick,
    mutations: Vec<Mutation>,
    /// Name the mutated file on the command line, rather than walk its directory: a named
    /// file that is no manifest is an error, a walked one is skipped.
    named: bool,
}

fn loader_case() -> impl Strategy<Value = LoaderCase> {
    (
        pick(),
        prop::collection::vec(mutation(false), 1..4),
        any::<bool>(),
    )
        .prop_map(|(seed, mutations, named)| LoaderCase {
            seed,
            mutations,
            named,
        })
}

/// Copies a fixture directory, expected reports left out.
fn copy_case(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut files = Vec::new();
    walk_files(from, &mut files);
    for file in files.into_iter().filter(|p| is_input(p)) {
        let Ok(relative) = file.strip_prefix(from) else {
            continue;
        };
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&file, &target)?;
    }
    Ok(())
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
        Engine::new(&catalogue, Config::default())
    })
}

const FORMATS: [Format; 10] = [
    Format::Text,
    Format::Json,
    Format::Yaml,
    Format::Sarif,
    Format::Junit,
    Format::Github,
    Format::Markdown,
    Format::Dot,
    Format::Mermaid,
    Format::Policyreport,
];

/// Every format renders, the JSON one as JSON.
fn renders(report: &Report) -> Result<(), String> {
    for format in FORMATS {
        let text = report.render(format, format == Format::Text);
        if format == Format::Json {
            serde_json::from_str::<Value>(&text)
                .map_err(|e| format!("the JSON report is no JSON: {e}"))?;
        }
    }
    Ok(())
}

/// The lines of a file as YAML counts them (and so every location): ended by LF, CRLF or a
/// lone CR; a final line break ends the last line, it does not start another. Written
/// here again rather than taken from the library, which it checks.
fn lines_of(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' || bytes[i] == b'\r' {
            lines.push(&bytes[start..i]);
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < bytes.len() || lines.is_empty() {
        lines.push(&bytes[start..]);
    }
    lines
}

fn loader_property(case: &LoaderCase) -> Result<&'static str, String> {
    let corpus = file_corpus();
    let seed = &corpus[case.seed.of(corpus.len())];
    let bytes = mutate(&seed.bytes, &case.mutations, all_corpus_bytes());
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    copy_case(&root().join(&seed.case), dir.path()).map_err(|e| format!("copy: {e}"))?;
    let file = dir.path().join(&seed.file);
    fs::write(&file, &bytes).map_err(|e| format!("write: {e}"))?;
    let input = Input::Path(if case.named {
        file.clone()
    } else {
        dir.path().to_path_buf()
    });
    let checked = loader_verdict(engine(), input, dir.path());
    checked.map_err(|problem| {
        let kept = keep_failure(&seed.file.to_string_lossy(), &bytes);
        format!(
            "{problem}\nseed file: {}/{} (mutated copy: {})",
            seed.case.display(),
            seed.file.display(),
            kept.display()
        )
    })
}

fn loader_verdict(engine: &Engine, input: Input, dir: &Path) -> Result<&'static str, String> {
    match engine.check(&[input]) {
        Ok(report) => {
            report_holds(&report, dir)?;
            Ok(
                match report.findings.iter().any(|f| f.rule == Rule::InvalidInput) {
                    true => "invalid input reported",
                    false => "read without invalid input",
                },
            )
        }
        // A walk that finds no manifest (the mutation made the file something else), or a
        // named file holding only comments: said, not a crash.
        Err(CheckError::NothingToCheck(_)) => Ok("nothing to check"),
        Err(other) => Err(format!("check failed: {other}")),
    }
}

/// What a report of files in `dir` must hold: locations in those files, inside them, on
/// every invalid-input finding; and every format renders.
fn report_holds(report: &Report, dir: &Path) -> Result<(), String> {
    let mut texts: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    for finding in &report.findings {
        let Some(location) = &finding.location else {
            if finding.rule == Rule::InvalidInput {
                return Err(format!(
                    "an invalid-input finding names no file: {}",
                    finding.message
                ));
            }
            continue;
        };
        if !Path::new(&location.path).starts_with(dir) {
            return Err(format!(
                "{} at {}:{} is not in the checked directory {}: {}",
                finding.rule,
                location.path,
                location.line,
                dir.display(),
                finding.message
            ));
        }
        if location.line == 0 || location.column == 0 {
            return Err(format!(
                "{} at {}:{}:{}: lines and columns are 1-based",
                finding.rule, location.path, location.line, location.column
            ));
        }
        let text = texts
            .entry(location.path.clone())
            .or_insert_with(|| fs::read(&location.path).ok());
        let Some(text) = text else { continue };
        let lines = lines_of(text);
        let Some(line) = lines.get(location.line as usize - 1) else {
            return Err(format!(
                "{} at {}:{} points past the file's {} lines: {}",
                finding.rule,
                location.path,
                location.line,
                lines.len(),
                finding.message
            ));
        };
        // Columns count characters; one past the end is the end of the line.
        let width = String::from_utf8_lossy(line).chars().count();
        if location.column as usize > width + 1 {
            return Err(format!(
                "{} at {}:{}:{} points past the line's {width} characters: {}",
                finding.rule, location.path, location.line, location.column, finding.message
            ));
        }
    }
    renders(report)
}

#[test]
fn the_loaders_survive_mutated_fixtures() {
    fuzz(
        "loaders",
        DEFAULT_LOADER_CASES,
        loader_case(),
        loader_property,
    );
}

// ---------------------------------------------------------------------------------------
// The AdmissionReview path.

/// The resource name the API server would send for a kind; approximate, the webhook judges
/// by kind.
fn resource_of(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('y') {
        format!("{}ies", &lower[..lower.len() - 1])
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// An AdmissionReview as the API server sends it, for an object of the fixtures.
fn review_of(object: &Value, operation: &str, uid: &str) -> Value {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or_default();
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": resource_of(kind)});
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("mail");
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let mut old = object.clone();
    if let Some(ports) = old.pointer_mut("/spec/ports/0/port") {
        *ports = json!(8080);
    }
    let (new, old) = match operation {
        "CREATE" => (object.clone(), Value::Null),
        "UPDATE" => (object.clone(), old),
        _ => (Value::Null, object.clone()),
    };
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "name": name, "namespace": namespace, "operation": operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": new, "oldObject": old, "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// The Kubernetes objects of the fixtures and examples.
fn fixture_objects() -> Vec<Value> {
    let mut objects = Vec::new();
    for seed in file_corpus() {
        let Ok(text) = std::str::from_utf8(&seed.bytes) else {
            continue;
        };
        let Some(documents) = documents(text) else {
            continue;
        };
        for document in documents {
            let items = match document.get("items").and_then(Value::as_array) {
                Some(items) => items.clone(),
                None => vec![document],
            };
            objects.extend(items.into_iter().filter(|o| {
                o["apiVersion"].is_string() && o["kind"].is_string() && o["metadata"].is_object()
            }));
        }
    }
    objects
}

/// Review bodies: the webhook fixtures and, for every fixture object, a CREATE, an UPDATE
/// and a DELETE.
fn review_corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut bodies = Vec::new();
        let mut files = Vec::new();
        walk_files(&root().join("tests/fixtures/webhook"), &mut files);
        for file in files {
            if let Ok(bytes) = fs::read(&file) {
                bodies.push(bytes);
            }
        }
        for (i, object) in fixture_objects().iter().enumerate() {
            for operation in ["CREATE", "UPDATE", "DELETE"] {
                let review = review_of(object, operation, &format!("fuzz-{i}-{operation}"));
                bodies.push(serde_json::to_vec_pretty(&review).unwrap_or_default());
            }
        }
        assert!(
            bodies.len() > 300,
            "the review corpus holds {}",
            bodies.len()
        );
        bodies
    })
}

/// A namespace view from a fixed list, as the `--watch` cache would hold it: the live
/// objects of the cluster fixture.
struct Fixed(Vec<CachedObject>);

impl NamespaceView for Fixed {
    fn objects(&self, namespace: &str) -> Vec<CachedObject> {
        self.0
            .iter()
            .filter(|o| o.key.namespace == namespace || o.key.kind == "Namespace")
            .cloned()
            .collect()
    }
}

fn view() -> &'static Fixed {
    static VIEW: OnceLock<Fixed> = OnceLock::new();
    VIEW.get_or_init(|| {
        let text = fs::read_to_string(root().join("tests/fixtures/cluster/objects.yaml"))
            .expect("the cluster fixture");
        let objects = documents(&text).expect("the cluster fixture is YAML");
        Fixed(
            objects
                .into_iter()
                .map(|value| {
                    let field = |name: &str| {
                        value["metadata"][name]
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    };
                    CachedObject {
                        key: ObjectKey {
                            kind: value["kind"].as_str().unwrap_or_default().to_string(),
                            namespace: field("namespace"),
                            name: field("name"),
                        },
                        value,
                    }
                })
                .collect(),
        )
    })
}

fn reviewers() -> &'static [Reviewer; 3] {
    static REVIEWERS: OnceLock<[Reviewer; 3]> = OnceLock::new();
    REVIEWERS.get_or_init(|| {
        let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
        [Mode::Enforce, Mode::Warn, Mode::Audit].map(|mode| Reviewer {
            engine: Arc::new(Engine::new(&catalogue, Config::default()).with_graph(false)),
            mode,
            deny_at: Some(Severity::Error),
        })
    })
}

/// Edits only a review has: what the API server would never send, but a client reaching
/// the Service could.
#[derive(Debug, Clone)]
enum ReviewEdit {
    Operation(Pick),
    Kind(Pick),
    Uid(Pick),
    /// The object under review moved to `oldObject`, or dropped.
    SwapObjects,
    DropObject,
}

const OPERATIONS: &[&str] = &[
    "CREATE", "UPDATE", "DELETE", "CONNECT", "", "create", "PATCH",
];

fn review_edit(body: &mut Value, edit: &ReviewEdit) {
    let Some(request) = body.get_mut("request").and_then(Value::as_object_mut) else {
        return;
    };
    match edit {
        ReviewEdit::Operation(which) => {
            request.insert(
                "operation".into(),
                json!(OPERATIONS[which.of(OPERATIONS.len())]),
            );
        }
        ReviewEdit::Kind(which) => {
            let kinds = [
                json!({"group": "", "version": "v1", "kind": "Service"}),
                json!({"group": "", "version": "v1", "kind": "Pod"}),
                json!({"group": "", "version": "v1", "kind": "ConfigMap"}),
                json!({"group": "apps", "version": "v1", "kind": "Deployment"}),
                json!({"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"}),
                json!({"group": "networking.k8s.io", "version": "v1", "kind": "Ingress"}),
                json!({"group": "gateway.networking.k8s.io", "version": "v1", "kind": "HTTPRoute"}),
                json!({"group": "traefik.io", "version": "v1alpha1", "kind": "IngressRouteTCP"}),
                json!({"group": "example.com", "version": "v1", "kind": "Widget"}),
                json!({"group": "", "version": "", "kind": ""}),
            ];
            request.insert("kind".into(), kinds[which.of(kinds.len())].clone());
        }
        ReviewEdit::Uid(which) => {
            let uids = [
                json!(""),
                json!("é".repeat(300)),
                json!("x".repeat(10_000)),
                json!(25),
                Value::Null,
                json!(["u"]),
            ];
            let uid = uids[which.of(uids.len())].clone();
            request.insert("uid".into(), uid);
        }
        ReviewEdit::SwapObjects => {
            let object = request.remove("object").unwrap_or(Value::Null);
            let old = request.remove("oldObject").unwrap_or(Value::Null);
            request.insert("object".into(), old);
            request.insert("oldObject".into(), object);
        }
        ReviewEdit::DropObject => {
            request.remove("object");
        }
    }
}

#[derive(Debug, Clone)]
struct ReviewCase {
    seed: Pick,
    edits: Vec<ReviewEdit>,
    mutations: Vec<Mutation>,
    /// With the `--watch` view of the namespace, or the object alone.
    watch: bool,
    mode: Pick,
}

fn review_case() -> impl Strategy<Value = ReviewCase> {
    let edit = prop_oneof![
        pick().prop_map(ReviewEdit::Operation),
        pick().prop_map(ReviewEdit::Kind),
        pick().prop_map(ReviewEdit::Uid),
        Just(ReviewEdit::SwapObjects),
        Just(ReviewEdit::DropObject),
    ];
    (
        pick(),
        prop::collection::vec(edit, 0..2),
        prop::collection::vec(mutation(true), 0..3),
        any::<bool>(),
        pick(),
    )
        .prop_map(|(seed, edits, mutations, watch, mode)| ReviewCase {
            seed,
            edits,
            mutations,
            watch,
            mode,
        })
}

fn review_property(case: &ReviewCase) -> Result<&'static str, String> {
    let corpus = review_corpus();
    let seed = &corpus[case.seed.of(corpus.len())];
    let mut seed = seed.clone();
    if !case.edits.is_empty()
        && let Ok(mut body) = serde_json::from_slice::<Value>(&seed)
    {
        for edit in &case.edits {
            review_edit(&mut body, edit);
        }
        seed = serde_json::to_vec_pretty(&body).unwrap_or_default();
    }
    let body = mutate(&seed, &case.mutations, all_corpus_bytes());
    let reviewer = &reviewers()[case.mode.of(3)];
    let view = case.watch.then(|| view() as &dyn NamespaceView);
    review_verdict(reviewer, &body, view).map_err(|problem| {
        let kept = keep_failure("review.json", &body);
        format!("{problem}\nbody: {}", kept.display())
    })
}

fn review_verdict(
    reviewer: &Reviewer,
    body: &[u8],
    view: Option<&dyn NamespaceView>,
) -> Result<&'static str, String> {
    // What a client sent as the uid, if it can be read at all.
    let sent_uid = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["request"]["uid"].as_str().map(str::to_string));
    let request = match review::read(body) {
        Ok(request) => request,
        Err(unanswerable) => {
            let status = unanswerable.status().as_u16();
            return match status {
                400 => Ok("refused 400"),
                413 => Ok("refused 413"),
                _ => Err(format!("refused with {status}: {unanswerable}")),
            };
        }
    };
    if let Some(sent) = &sent_uid
        && *sent != request.uid
    {
        return Err(format!("read the uid {:?} from {sent:?}", request.uid));
    }
    match reviewer.review(&request, view) {
        Ok(verdict) => {
            let outcome = verdict.outcome.as_str();
            answer_holds(reviewer.mode, &request.uid, verdict)?;
            Ok(outcome)
        }
        // Answered 400 by the server, with the reason.
        Err(_) => Ok("no object to review, 400"),
    }
}

/// What the answer to a request with `uid` must hold: the same uid, warnings and denial
/// within their documented bounds, no denial but in enforce mode, and it serializes.
fn answer_holds(mode: Mode, uid: &str, verdict: Verdict) -> Result<(), String> {
    let response = &verdict.response;
    if response.uid != uid {
        return Err(format!(
            "the response's uid {:?} is not the request's {uid:?}",
            response.uid
        ));
    }
    let warnings = response.warnings.clone().unwrap_or_default();
    if warnings.len() > MAX_WARNINGS {
        return Err(format!("{} warnings", warnings.len()));
    }
    if let Some(long) = warnings.iter().find(|w| w.len() > MAX_LINE_BYTES) {
        return Err(format!("a warning of {} bytes", long.len()));
    }
    if response.result.message.len() > MAX_DENIAL_BYTES {
        return Err(format!(
            "a denial of {} bytes",
            response.result.message.len()
        ));
    }
    if !response.allowed && mode != Mode::Enforce {
        return Err(format!("denied in {} mode", mode.as_str()));
    }
    let answer = serde_json::to_value(verdict.response.into_review())
        .map_err(|e| format!("the answer does not serialize: {e}"))?;
    if answer["response"]["uid"] != json!(uid) {
        return Err(format!("the answer's uid is {}", answer["response"]["uid"]));
    }
    Ok(())
}

#[test]
fn the_review_path_survives_mutated_reviews() {
    fuzz(
        "reviews",
        DEFAULT_REVIEW_CASES,
        review_case(),
        review_property,
    );
}

// ---------------------------------------------------------------------------------------
// The harness itself: the properties can fail, and the mutations do what they say.

fn invalid(report: &mut Report) -> &mut iredmail_ports::model::Finding {
    report
        .findings
        .iter_mut()
        .find(|f| f.rule == Rule::InvalidInput)
        .expect("an invalid-input finding")
}

/// A property that never fails finds nothing: each check above rejects what it must.
#[test]
fn the_properties_reject_what_they_must() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("svc.yaml");
    // A typo'd field: one invalid-input finding at line 5.
    let text = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  portz: 1\n";
    fs::write(&file, text).expect("write");
    let report = engine()
        .check(&[Input::Path(file.clone())])
        .expect("a manifest");
    assert_eq!(report_holds(&report, dir.path()), Ok(()));
    assert_eq!(
        loader_verdict(engine(), Input::Path(file.clone()), dir.path()),
        Ok("invalid input reported")
    );
    let broken = |change: &dyn Fn(&mut Report)| {
        let mut doctored = report.clone();
        change(&mut doctored);
        report_holds(&doctored, dir.path()).expect_err("a doctored report")
    };
    let past_the_end = broken(&|r| {
        if let Some(l) = invalid(r).location.as_mut() {
            l.line = 6;
        }
    });
    assert!(
        past_the_end.contains("points past the file's 5 lines"),
        "{past_the_end}"
    );
    let unnamed = broken(&|r| invalid(r).location = None);
    assert!(unnamed.contains("names no file"), "{unnamed}");
    let elsewhere = broken(&|r| {
        if let Some(l) = invalid(r).location.as_mut() {
            l.path = "/etc/passwd".into();
        }
    });
    assert!(
        elsewhere.contains("is not in the checked directory"),
        "{elsewhere}"
    );
    let wide = broken(&|r| {
        if let Some(l) = invalid(r).location.as_mut() {
            l.column = 12;
        }
    });
    assert!(
        wide.contains("points past the line's 10 characters"),
        "{wide}"
    );
    let zero = broken(&|r| {
        if let Some(l) = invalid(r).location.as_mut() {
            l.column = 0;
        }
    });
    assert!(zero.contains("1-based"), "{zero}");

    // A review: denied in enforce mode, and sound; doctored answers are not.
    let mysql =
        fs::read(root().join("tests/fixtures/webhook/create-service-loadbalancer-mysql.json"))
            .expect("the fixture");
    let request = review::read(&mysql).expect("a review");
    let reviewer = &reviewers()[0];
    let verdict = || reviewer.review(&request, None).expect("a verdict");
    assert!(!verdict().response.allowed);
    assert_eq!(review_verdict(reviewer, &mysql, None), Ok("denied"));
    assert_eq!(review_verdict(reviewer, b"{", None), Ok("refused 400"));
    let uid = request.uid.as_str();
    let mut other_uid = verdict();
    other_uid.response.uid = "someone-else".into();
    assert!(answer_holds(Mode::Enforce, uid, other_uid).is_err_and(|e| e.contains("uid")));
    assert!(answer_holds(Mode::Warn, uid, verdict()).is_err_and(|e| e.contains("denied in warn")));
    let mut many = verdict();
    many.response.warnings = Some(vec!["w".into(); MAX_WARNINGS + 1]);
    assert!(answer_holds(Mode::Enforce, uid, many).is_err_and(|e| e.contains("warnings")));
    let mut long = verdict();
    long.response.result.message = "x".repeat(MAX_DENIAL_BYTES + 1);
    assert!(answer_holds(Mode::Enforce, uid, long).is_err_and(|e| e.contains("denial")));
}

#[test]
fn mutations_do_what_they_say() {
    let text = b"a:\n  b: 25\n  c: [1, 2]\n".to_vec();
    let others = vec![b"zzz".to_vec()];
    let first = Pick::FIRST;
    // The first node (`a`) removed, through the library's parser, written back as JSON.
    let removed = apply(
        &Mutation::Tree {
            node: first,
            value: first,
            json: true,
        },
        text.clone(),
        &others,
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&removed).ok(),
        Some(json!({}))
    );
    let anchored = apply(
        &Mutation::Anchor {
            line: first,
            alias_at: first,
        },
        text.clone(),
        &others,
    );
    assert_eq!(
        String::from_utf8_lossy(&anchored),
        "a: &fz\n  <<: *fz\n  alias: *fz\n  b: 25\n  c: [1, 2]\n"
    );
    // PORT_STRINGS[5] is "0-70000".
    let number = apply(
        &Mutation::Number {
            which: first,
            with: Pick::nth(5, PORT_STRINGS.len()),
        },
        text.clone(),
        &others,
    );
    assert_eq!(
        String::from_utf8_lossy(&number),
        "a:\n  b: 0-70000\n  c: [1, 2]\n"
    );
    let bomb = apply(
        &Mutation::Bomb {
            levels: 2,
            width: 2,
        },
        text.clone(),
        &others,
    );
    assert!(
        String::from_utf8_lossy(&bomb)
            .starts_with("x-fz0: &fz0 [\"lol\", \"lol\"]\nx-fz1: &fz1 [*fz0, *fz0]\na:\n")
    );
    let spliced = apply(
        &Mutation::Splice {
            other: first,
            at: Pick(u64::MAX / 2),
            from: first,
        },
        b"ab".to_vec(),
        &others,
    );
    assert_eq!(spliced, b"azzz");
    let nested = apply(
        &Mutation::Nest {
            line: Pick::LAST,
            depth: 2,
            flow: true,
        },
        text,
        &others,
    );
    assert!(
        String::from_utf8_lossy(&nested).ends_with("  c: [1, 2]\nnested: [{\"a\": [{\"a\": }]}]\n"),
        "{}",
        String::from_utf8_lossy(&nested)
    );
}
