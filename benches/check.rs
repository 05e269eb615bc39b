//! Benchmark of `check` on a generated corpus (DESIGN.md, "Performance targets": 10,000
//! manifests in under 1 s on 2 cores, rules near-free).
//!
//! Writes a deterministic corpus of realistic manifests (about 80 % Kubernetes spread over
//! 200 namespaces, 20 % Compose projects, 1-3 KB a file) to a temporary directory, runs
//! `check` on it once to warm up and then `RUNS` times, and prints wall times, throughput,
//! the peak RSS of the process and a breakdown by phase through the public API.
//!
//! ```text
//! cargo bench --bench check
//! BENCH_FILES=50000 cargo bench --bench check       # another corpus size
//! BENCH_KEEP_CORPUS=/tmp/corpus cargo bench --bench check   # keep the corpus there
//! ```
//!
//! `BENCH_KEEP_CORPUS=DIR` writes the corpus to DIR and leaves it there (benches/checkov.sh
//! uses it). DIR must be empty, missing or a corpus written earlier, which is replaced.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use iredmail_ports::report::Format;
use iredmail_ports::{Catalogue, Config, Input, Report, check, inventory, load, rules};

/// Timed runs after the warm-up.
const RUNS: usize = 5;
/// Namespaces the Kubernetes files are spread over.
const NAMESPACES: u64 = 200;
/// Marks a directory as a corpus this benchmark wrote (hidden, so the walk skips it).
const MARKER: &str = ".iredmail-ports-bench-corpus";

fn main() {
    let files = std::env::var("BENCH_FILES")
        .ok()
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .unwrap_or_else(|_| panic!("BENCH_FILES must be a number, not {v:?}"))
        })
        .unwrap_or(10_000);
    let kept = std::env::var_os("BENCH_KEEP_CORPUS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);

    let temporary;
    let root = match &kept {
        Some(dir) => {
            prepare_kept_dir(dir);
            dir.clone()
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("iredmail-ports-bench-")
                .tempdir()
                .expect("cannot create a temporary directory");
            temporary.path().to_path_buf()
        }
    };

    let started = Instant::now();
    let corpus = generate(&root, files);
    let generated = started.elapsed();
    println!(
        "corpus: {} files ({} Kubernetes, {} Compose in {} projects), {:.1} MB, \
         {:.2} KB/file, {} namespaces, written in {} to {}",
        corpus.files,
        corpus.kube_files,
        corpus.compose_files,
        corpus.compose_projects,
        mb(corpus.bytes),
        corpus.bytes as f64 / corpus.files.max(1) as f64 / 1024.0,
        NAMESPACES,
        ms(generated),
        root.display(),
    );

    let catalogue = Catalogue::embedded_default().expect("the embedded catalogue loads");
    let config = Config::default();
    let inputs = [Input::Path(root.clone())];

    // Warm-up: page cache, the lazily compiled compose-spec schema, rayon's pool.
    let report = check(&inputs, &catalogue, &config).expect("a generated tree");
    let mut times = Vec::with_capacity(RUNS);
    let cpu_before = cpu_time();
    for _ in 0..RUNS {
        let started = Instant::now();
        let run = check(&inputs, &catalogue, &config).expect("a generated tree");
        times.push(started.elapsed());
        assert_eq!(run.findings.len(), report.findings.len(), "runs disagree");
    }
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before) / RUNS as u32);
    let total: Duration = times.iter().sum();
    times.sort();
    let min = times[0];
    let median = times[RUNS / 2];

    let phases = time_phases(&inputs, &root, &catalogue, &config, &report);

    println!();
    println!("check, {RUNS} runs after one warm-up");
    row("rayon threads", rayon::current_num_threads().to_string());
    row("files", report.summary.files.to_string());
    row("objects", report.summary.objects.to_string());
    row("findings", report.findings.len().to_string());
    row(
        "bytes",
        format!("{} ({:.1} MB)", corpus.bytes, mb(corpus.bytes)),
    );
    row("wall min", ms(min));
    row("wall median", ms(median));
    row(
        "files/s",
        format!("{:.0} (median)", report.summary.files as f64 / secs(median)),
    );
    row(
        "MB/s",
        format!("{:.1} (median)", mb(corpus.bytes) / secs(median)),
    );
    row(
        "CPU per run",
        cpu.map_or_else(
            || "unknown (no /proc/self/stat)".to_string(),
            |cpu| {
                format!(
                    "{} user+sys, {:.0} % of one core (mean); under {:.0} % with {} \
                     threads means other processes took the cores",
                    ms(cpu),
                    100.0 * secs(cpu) * RUNS as f64 / secs(total),
                    90.0 * rayon::current_num_threads() as f64,
                    rayon::current_num_threads()
                )
            },
        ),
    );
    row("peak RSS", peak_rss());
    row(
        "target",
        if report.summary.files >= 10_000 {
            let per_10k = secs(median) * 10_000.0 / report.summary.files as f64;
            format!(
                "{} (10,000 files in under 1 s)",
                if per_10k < 1.0 { "met" } else { "MISSED" }
            )
        } else {
            "not judged below 10,000 files".to_string()
        },
    );

    println!();
    println!("findings by rule");
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &report.findings {
        *by_rule.entry(finding.rule.id()).or_default() += 1;
    }
    for (rule, count) in &by_rule {
        row(rule, count.to_string());
    }

    println!();
    println!(
        "phases, median of {RUNS} runs (public API; check = load + inventory + rules + graph + report)"
    );
    for (name, time) in &phases {
        let share = 100.0 * secs(*time) / secs(median);
        row(name, format!("{:>9}  {share:5.1} % of check", ms(*time)));
    }

    if let Some(dir) = &kept {
        println!();
        println!("corpus kept in {}", dir.display());
    }
}

/// Times the steps of `check` one by one, plus the parts of loading and the JSON
/// rendering the CLI adds.
fn time_phases(
    inputs: &[Input],
    root: &Path,
    catalogue: &Catalogue,
    config: &Config,
    report: &Report,
) -> Vec<(&'static str, Duration)> {
    let mut walk = Vec::new();
    let mut load_kube = Vec::new();
    let mut load_compose = Vec::new();
    let mut load_all = Vec::new();
    let mut build = Vec::new();
    let mut run_rules = Vec::new();
    let mut report_new = Vec::new();
    let mut graph = Vec::new();
    let mut render = Vec::new();
    let kube = [Input::Path(root.join("k8s"))];
    let compose = [Input::Path(root.join("compose"))];
    for _ in 0..RUNS {
        let started = Instant::now();
        let expanded = load::walk::expand(&[root.to_path_buf()]);
        walk.push(started.elapsed());
        assert!(!expanded.candidates.is_empty());

        let started = Instant::now();
        drop(load::load(&kube));
        load_kube.push(started.elapsed());

        let started = Instant::now();
        drop(load::load(&compose));
        load_compose.push(started.elapsed());

        let started = Instant::now();
        let mut loaded = load::load(inputs);
        load_all.push(started.elapsed());

        let sources = std::mem::take(&mut loaded.sources);
        let started = Instant::now();
        let inventory = inventory::build(loaded);
        build.push(started.elapsed());

        let started = Instant::now();
        let mut findings = rules::run(&inventory, catalogue);
        run_rules.push(started.elapsed());

        let started = Instant::now();
        let reach = iredmail_ports::report::graph::build(&inventory, &findings);
        graph.push(started.elapsed());
        assert!(reach.nodes.len() >= inventory.workloads.len());

        let started = Instant::now();
        config.apply(&mut findings, &inventory.suppressions);
        let rebuilt = Report::new(
            &catalogue.name,
            findings,
            inventory.files,
            inventory.objects,
            sources,
        );
        report_new.push(started.elapsed());
        assert_eq!(rebuilt.findings.len(), report.findings.len());

        let started = Instant::now();
        let json = report.render(Format::Json, false);
        render.push(started.elapsed());
        assert!(!json.is_empty());
    }
    vec![
        ("  walk (part of load)", median_of(walk)),
        ("  load k8s/ alone", median_of(load_kube)),
        ("  load compose/ alone", median_of(load_compose)),
        ("load", median_of(load_all)),
        ("inventory::build", median_of(build)),
        ("rules::run", median_of(run_rules)),
        ("report::graph::build", median_of(graph)),
        ("Report::new", median_of(report_new)),
        ("render JSON (CLI only)", median_of(render)),
    ]
}

fn median_of(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn row(name: &str, value: String) {
    println!("  {name:<26} {value}");
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// The process's peak resident set (`VmHWM`), which includes writing the corpus.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| {
            let kb: f64 = v.trim_end_matches("kB").trim().parse().ok()?;
            Some(format!("{:.1} MiB (VmHWM)", kb / 1024.0))
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_string())
}

/// User plus system CPU time of the whole process so far, from `/proc/self/stat` (in
/// clock ticks, 100 a second on Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Empties DIR if this benchmark wrote it, refuses anything else that is not empty.
fn prepare_kept_dir(dir: &Path) {
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        if entries.next().is_some() {
            assert!(
                dir.join(MARKER).exists(),
                "BENCH_KEEP_CORPUS={} is not empty and not a corpus of this benchmark; \
                 refusing to overwrite it",
                dir.display()
            );
            std::fs::remove_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot empty {}: {e}", dir.display()));
        }
    }
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

// ---------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------

/// A 64-bit linear congruential generator (Knuth's MMIX constants): deterministic, no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy)]
struct Port {
    name: &'static str,
    port: u16,
}

struct Component {
    app: &'static str,
    image: &'static str,
    ports: &'static [Port],
    mount: &'static str,
}

const fn port(name: &'static str, port: u16) -> Port {
    Port { name, port }
}

/// What an iRedMail split into containers runs, plus the neighbours a cluster has.
const MAIL: &[Component] = &[
    Component {
        app: "postfix",
        image: "iredmail/postfix:stable",
        ports: &[
            port("smtp", 25),
            port("submission", 587),
            port("smtps", 465),
        ],
        mount: "/var/spool/postfix",
    },
    Component {
        app: "dovecot",
        image: "iredmail/dovecot:stable",
        ports: &[
            port("imap", 143),
            port("imaps", 993),
            port("pop3", 110),
            port("pop3s", 995),
            port("sieve", 4190),
            port("lmtp", 24),
        ],
        mount: "/var/vmail",
    },
    Component {
        app: "nginx",
        image: "iredmail/nginx:stable",
        ports: &[port("http", 80), port("https", 443)],
        mount: "/etc/nginx/conf.d",
    },
    Component {
        app: "sogo",
        image: "iredmail/sogo:stable",
        ports: &[port("sogo", 20000)],
        mount: "/var/lib/sogo",
    },
    Component {
        app: "roundcube",
        image: "roundcube/roundcubemail:1.6.9-fpm",
        ports: &[port("fpm", 9000)],
        mount: "/var/roundcube/config",
    },
    Component {
        app: "mariadb",
        image: "mariadb:10.11",
        ports: &[port("mysql", 3306)],
        mount: "/var/lib/mysql",
    },
    Component {
        app: "openldap",
        image: "bitnami/openldap:2.6",
        ports: &[port("ldap", 389), port("ldaps", 636)],
        mount: "/bitnami/openldap",
    },
    Component {
        app: "amavisd",
        image: "iredmail/amavisd:stable",
        ports: &[
            port("amavis", 10024),
            port("amavis-mlmmj", 10027),
            port("amavis-admin", 9998),
        ],
        mount: "/var/lib/amavis",
    },
    Component {
        app: "clamav",
        image: "clamav/clamav:1.3",
        ports: &[port("clamd", 3310)],
        mount: "/var/lib/clamav",
    },
    Component {
        app: "iredapd",
        image: "iredmail/iredapd:stable",
        ports: &[port("iredapd", 7777)],
        mount: "/opt/iredapd/settings",
    },
    Component {
        app: "mlmmjadmin",
        image: "iredmail/mlmmjadmin:stable",
        ports: &[port("mlmmjadmin", 7790)],
        mount: "/var/vmail/mlmmj",
    },
    Component {
        app: "memcached",
        image: "memcached:1.6",
        ports: &[port("memcached", 11211)],
        mount: "/tmp",
    },
    Component {
        app: "netdata",
        image: "netdata/netdata:v1.44",
        ports: &[port("netdata", 19999)],
        mount: "/var/lib/netdata",
    },
];

/// Namespaces named `team-*` run only these, so they are not mail stacks.
const OTHER: &[Component] = &[
    Component {
        app: "webshop",
        image: "nginx:1.25",
        ports: &[port("http", 8080)],
        mount: "/usr/share/nginx/html",
    },
    Component {
        app: "api",
        image: "ghcr.io/example/api:2.3.1",
        ports: &[port("http", 8000), port("metrics", 9090)],
        mount: "/var/lib/api",
    },
    Component {
        app: "redis",
        image: "redis:7.2",
        ports: &[port("redis", 6379)],
        mount: "/data",
    },
    Component {
        app: "postgres",
        image: "postgres:16",
        ports: &[port("postgres", 5432)],
        mount: "/var/lib/postgresql/data",
    },
];

struct Corpus {
    files: usize,
    kube_files: usize,
    compose_files: usize,
    compose_projects: usize,
    bytes: usize,
}

fn generate(root: &Path, files: usize) -> Corpus {
    std::fs::write(root.join(MARKER), "written by benches/check.rs\n")
        .expect("cannot write the corpus marker");
    let mut rng = Lcg(0x1DE5_3A11_5EED);
    let mut corpus = Corpus {
        files: 0,
        kube_files: 0,
        compose_files: 0,
        compose_projects: 0,
        bytes: 0,
    };
    // The services of the last Compose project, for its override file.
    let mut last_project: Option<(PathBuf, Vec<&'static Component>)> = None;
    for i in 0..files {
        let (path, text) = if i % 5 == 4 {
            let compose_index = corpus.compose_files;
            corpus.compose_files += 1;
            match last_project.take() {
                Some((dir, services)) if compose_index % 7 == 6 => (
                    dir.join("docker-compose.override.yml"),
                    compose_override(&mut rng, &services),
                ),
                _ => {
                    let project = corpus.compose_projects;
                    corpus.compose_projects += 1;
                    let dir = root.join("compose").join(format!("project-{project:04}"));
                    std::fs::create_dir_all(&dir).expect("cannot create a project directory");
                    let (text, services, dot_env) = compose_file(&mut rng, project);
                    if let Some(dot_env) = dot_env {
                        std::fs::write(dir.join(".env"), dot_env).expect("cannot write .env");
                    }
                    let name = if project.is_multiple_of(3) {
                        "compose.yaml"
                    } else {
                        "docker-compose.yml"
                    };
                    last_project = Some((dir.clone(), services));
                    (dir.join(name), text)
                }
            }
        } else {
            corpus.kube_files += 1;
            let ns = namespace(rng.below(NAMESPACES));
            let dir = root.join("k8s").join(&ns);
            std::fs::create_dir_all(&dir).expect("cannot create a namespace directory");
            let (name, text) = kube_file(&mut rng, &ns, i);
            (dir.join(format!("{i:05}-{name}.yaml")), text)
        };
        corpus.bytes += text.len();
        corpus.files += 1;
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
    corpus
}

fn namespace(index: u64) -> String {
    let prefix = ["mail", "tenant", "mx", "team"][(index % 4) as usize];
    format!("{prefix}-{index:03}")
}

fn components_for(ns: &str) -> &'static [Component] {
    if ns.starts_with("team-") { OTHER } else { MAIL }
}

/// One Kubernetes file: its name and text.
fn kube_file(rng: &mut Lcg, ns: &str, i: usize) -> (String, String) {
    let components = components_for(ns);
    let component = rng.pick(components);
    let roll = rng.below(100);
    let mut out = String::with_capacity(3072);
    let _ = writeln!(
        out,
        "# Source: iredmail/templates/{}.yaml\n# Rendered by `helm template` for namespace {ns}; do not edit by hand.",
        component.app
    );
    let name;
    if roll < 28 {
        name = format!("{}-deployment", component.app);
        workload(&mut out, rng, "Deployment", ns, component, i);
    } else if roll < 38 {
        name = format!("{}-statefulset", component.app);
        workload(&mut out, rng, "StatefulSet", ns, component, i);
    } else if roll < 40 {
        name = format!("{}-daemonset", component.app);
        workload(&mut out, rng, "DaemonSet", ns, component, i);
    } else if roll < 62 {
        name = format!("{}-service", component.app);
        service(&mut out, rng, ns, component, i);
        if rng.chance(30) {
            // A second Service for the same app: a public and an internal one.
            out.push_str("---\n");
            service(&mut out, rng, ns, component, i + 1);
        }
    } else if roll < 84 {
        name = component.app.to_string();
        out.push_str("# The whole component in one file.\n");
        workload(&mut out, rng, "Deployment", ns, component, i);
        out.push_str("---\n");
        service(&mut out, rng, ns, component, i);
        if rng.chance(40) {
            out.push_str("---\n");
            config_map(&mut out, ns, component, i);
        }
    } else if roll < 90 {
        name = format!("{}-networkpolicy", component.app);
        network_policy(&mut out, rng, ns, component);
    } else if roll < 95 {
        name = format!("{}-ingress", component.app);
        ingress(&mut out, rng, ns, component, i);
    } else {
        name = format!("{}-config", component.app);
        config_map(&mut out, ns, component, i);
        out.push_str("---\n");
        pod_disruption_budget(&mut out, ns, component);
    }
    (name, out)
}

fn metadata(out: &mut String, name: &str, ns: &str, app: &str) {
    let _ = write!(
        out,
        "metadata:
  name: {name}
  namespace: {ns}
  labels:
    app: {app}
    app.kubernetes.io/name: {app}
    app.kubernetes.io/instance: {name}
    app.kubernetes.io/component: {app}
    app.kubernetes.io/part-of: iredmail
    app.kubernetes.io/version: \"1.8.1\"
    app.kubernetes.io/managed-by: Helm
    helm.sh/chart: iredmail-1.8.1
    team: mail-operations
"
    );
}

fn workload(out: &mut String, rng: &mut Lcg, kind: &str, ns: &str, c: &Component, i: usize) {
    let name = format!("{}-{i}", c.app);
    let api = "apps/v1";
    let _ = writeln!(out, "apiVersion: {api}\nkind: {kind}");
    metadata(out, &name, ns, c.app);
    let _ = write!(
        out,
        "  annotations:
    deployment.kubernetes.io/revision: \"{}\"
    kubernetes.io/change-cause: \"image {} rolled out by CI job {}\"
spec:
",
        rng.below(40) + 1,
        c.image,
        rng.below(100_000)
    );
    if kind != "DaemonSet" {
        let _ = writeln!(out, "  replicas: {}", rng.below(3) + 1);
    }
    if kind == "StatefulSet" {
        let _ = writeln!(out, "  serviceName: {}", c.app);
    }
    let _ = write!(
        out,
        "  selector:
    matchLabels:
      app: {app}
  template:
    metadata:
      labels:
        app: {app}
        app.kubernetes.io/name: {app}
        app.kubernetes.io/instance: {name}
      annotations:
        prometheus.io/scrape: \"true\"
    spec:
",
        app = c.app
    );
    if kind == "DaemonSet" && rng.chance(50) {
        out.push_str("      hostNetwork: true\n      dnsPolicy: ClusterFirstWithHostNet\n");
    }
    let _ = write!(
        out,
        "      securityContext:
        fsGroup: 2000
        runAsNonRoot: false
      terminationGracePeriodSeconds: 30
      containers:
        - name: {app}
          image: {image}
          imagePullPolicy: IfNotPresent
          ports:
",
        app = c.app,
        image = c.image
    );
    for p in c.ports {
        if rng.chance(85) {
            if rng.chance(50) {
                let _ = writeln!(
                    out,
                    "            - {{name: {}, containerPort: {}, protocol: TCP}}",
                    p.name, p.port
                );
            } else {
                let _ = write!(
                    out,
                    "            - name: {}\n              containerPort: {}\n",
                    p.name, p.port
                );
            }
        }
    }
    let first = c.ports[0].port;
    let _ = write!(
        out,
        "          env:
            - name: TZ
              value: Europe/Berlin
            - name: HOSTNAME
              value: mail.{ns}.example.org
            - name: FIRST_MAIL_DOMAIN
              value: {ns}.example.org
            - name: MYSQL_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: iredmail-secrets
                  key: mysql-password
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: \"1\"
              memory: 512Mi
          readinessProbe:
            tcpSocket:
              port: {first}
            initialDelaySeconds: 10
            periodSeconds: 10
          livenessProbe:
            tcpSocket:
              port: {first}
            initialDelaySeconds: 30
            periodSeconds: 20
          volumeMounts:
            - name: data
              mountPath: {mount}
",
        mount = c.mount
    );
    if rng.chance(25) {
        // A metrics sidecar on a port the catalogue does not know.
        out.push_str(
            "        - name: exporter
          image: prom/statsd-exporter:v0.26.0
          ports:
            - name: metrics
              containerPort: 9102
",
        );
    }
    if kind == "StatefulSet" {
        let _ = write!(
            out,
            "  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: {}Gi
",
            (rng.below(10) + 1) * 10
        );
    } else {
        let _ = write!(
            out,
            "      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: {}-data
",
            c.app
        );
    }
}

fn service(out: &mut String, rng: &mut Lcg, ns: &str, c: &Component, i: usize) {
    let roll = rng.below(100);
    let kind = if roll < 45 {
        "ClusterIP"
    } else if roll < 65 {
        "NodePort"
    } else if roll < 95 {
        "LoadBalancer"
    } else {
        "Headless"
    };
    let name = match kind {
        "LoadBalancer" => format!("{}-public-{i}", c.app),
        "Headless" => format!("{}-headless-{i}", c.app),
        _ => format!("{}-{i}", c.app),
    };
    out.push_str("apiVersion: v1\nkind: Service\n");
    metadata(out, &name, ns, c.app);
    if kind == "LoadBalancer" {
        let _ = write!(
            out,
            "  annotations:\n    external-dns.alpha.kubernetes.io/hostname: mail.{ns}.example.org\n"
        );
        if rng.chance(20) {
            out.push_str("    service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"\n");
        }
    }
    out.push_str("spec:\n");
    match kind {
        "Headless" => out.push_str("  clusterIP: None\n"),
        "LoadBalancer" => {
            let _ = writeln!(out, "  type: LoadBalancer");
            if rng.chance(50) {
                out.push_str("  externalTrafficPolicy: Local\n");
            }
        }
        other => {
            let _ = writeln!(out, "  type: {other}");
        }
    }
    let _ = write!(out, "  selector:\n    app: {}\n  ports:\n", c.app);
    let mut any = false;
    for (n, p) in c.ports.iter().enumerate() {
        if n > 0 && !rng.chance(70) {
            continue;
        }
        any = true;
        // Mostly the port itself; sometimes remapped (SMTP on 2525 and the like).
        let published = if rng.chance(8) {
            p.port.saturating_add(2500)
        } else {
            p.port
        };
        let target = if rng.chance(60) {
            p.name.to_string()
        } else {
            p.port.to_string()
        };
        let _ = write!(
            out,
            "    - name: {}\n      port: {published}\n      targetPort: {target}\n      protocol: {}\n",
            p.name,
            if rng.chance(2) { "UDP" } else { "TCP" }
        );
        if kind == "NodePort" && rng.chance(60) {
            let _ = writeln!(out, "      nodePort: {}", 30000 + u32::from(p.port) % 2768);
        }
    }
    debug_assert!(any);
    if kind == "LoadBalancer" && rng.chance(30) {
        out.push_str("  loadBalancerSourceRanges:\n    - 0.0.0.0/0\n");
    }
}

fn network_policy(out: &mut String, rng: &mut Lcg, ns: &str, c: &Component) {
    out.push_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
    metadata(out, &format!("allow-{}", c.app), ns, c.app);
    let _ = write!(
        out,
        "spec:
  podSelector:
    matchLabels:
      app: {app}
  policyTypes:
    - Ingress
",
        app = c.app
    );
    if rng.chance(20) {
        return; // deny-all
    }
    let _ = write!(
        out,
        "  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: {ns}
        - podSelector:
            matchExpressions:
              - key: app
                operator: In
                values: [postfix, dovecot, nginx, sogo, roundcube]
      ports:
"
    );
    for p in c.ports {
        let _ = writeln!(out, "        - port: {}\n          protocol: TCP", p.port);
    }
}

fn ingress(out: &mut String, rng: &mut Lcg, ns: &str, c: &Component, i: usize) {
    out.push_str("apiVersion: networking.k8s.io/v1\nkind: Ingress\n");
    metadata(out, &format!("{}-{i}", c.app), ns, c.app);
    let p = c.ports.last().copied().unwrap_or(port("http", 80));
    let backend = if rng.chance(50) {
        format!("name: {}", p.name)
    } else {
        format!("number: {}", p.port)
    };
    let _ = write!(
        out,
        "  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
    nginx.ingress.kubernetes.io/proxy-body-size: 50m
    nginx.ingress.kubernetes.io/backend-protocol: HTTPS
spec:
  ingressClassName: nginx
  tls:
    - hosts:
        - mail.{ns}.example.org
        - webmail.{ns}.example.org
      secretName: {app}-tls
  rules:
    - host: mail.{ns}.example.org
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {app}-{i}
                port:
                  {backend}
          - path: /SOGo
            pathType: Prefix
            backend:
              service:
                name: sogo
                port:
                  number: 20000
",
        app = c.app
    );
}

fn config_map(out: &mut String, ns: &str, c: &Component, i: usize) {
    out.push_str("apiVersion: v1\nkind: ConfigMap\n");
    metadata(out, &format!("{}-config-{i}", c.app), ns, c.app);
    let _ = write!(
        out,
        "data:
  main.cf: |
    myhostname = mail.{ns}.example.org
    mydomain = {ns}.example.org
    smtpd_tls_security_level = may
    smtpd_tls_cert_file = /etc/ssl/certs/iRedMail.crt
    smtpd_tls_key_file = /etc/ssl/private/iRedMail.key
    virtual_transport = lmtp:inet:dovecot:24
    content_filter = smtp-amavis:[amavisd]:10024
    smtpd_recipient_restrictions = reject_unknown_recipient_domain, permit_mynetworks, reject_unauth_destination
  settings.py: |
    listen_address = \"0.0.0.0\"
    listen_port = \"7777\"
    SQL_SERVER_ADDRESS = \"mariadb\"
    SQL_SERVER_PORT = \"3306\"
  LOG_LEVEL: info
"
    );
}

fn pod_disruption_budget(out: &mut String, ns: &str, c: &Component) {
    out.push_str("apiVersion: policy/v1\nkind: PodDisruptionBudget\n");
    metadata(out, &format!("{}-pdb", c.app), ns, c.app);
    let _ = write!(
        out,
        "spec:\n  minAvailable: 1\n  selector:\n    matchLabels:\n      app: {}\n",
        c.app
    );
}

/// A Compose project's main file, its services, and maybe a `.env` for it.
fn compose_file(
    rng: &mut Lcg,
    project: usize,
) -> (String, Vec<&'static Component>, Option<String>) {
    let count = 2 + rng.below(4) as usize;
    let mut services: Vec<&'static Component> = Vec::new();
    // Most projects are a mail stack; every fifth is some other application.
    let pool = if project % 5 == 3 { OTHER } else { MAIL };
    if pool.len() == MAIL.len() {
        services.push(&MAIL[0]);
    }
    while services.len() < count.min(pool.len()) {
        let c = rng.pick(pool);
        if !services.iter().any(|s| s.app == c.app) {
            services.push(c);
        }
    }
    let dot_env = rng.chance(25);
    let anchors = rng.chance(40);
    let mut out = String::with_capacity(3072);
    let _ = writeln!(
        out,
        "# Compose project {project}: an iRedMail split into containers."
    );
    if rng.chance(50) {
        let _ = writeln!(out, "name: mail-{project:04}");
    }
    if anchors {
        out.push_str("x-defaults: &defaults\n  restart: unless-stopped\n  logging:\n    driver: json-file\n    options:\n      max-size: \"10m\"\n      max-file: \"3\"\n\n");
    }
    out.push_str("services:\n");
    for (n, c) in services.iter().enumerate() {
        let _ = writeln!(out, "  {}:", c.app);
        if anchors {
            out.push_str("    <<: *defaults\n");
        } else {
            out.push_str("    restart: always\n");
        }
        let _ = write!(
            out,
            "    image: {image}
    hostname: {app}.mail-{project}.example.org
    environment:
      TZ: UTC
      HOSTNAME: mail.example.org
      FIRST_MAIL_DOMAIN: example.org
      FIRST_MAIL_DOMAIN_ADMIN_PASSWORD: ${{ADMIN_PASSWORD:-changeme}}
",
            image = c.image,
            app = c.app
        );
        if rng.chance(10) && c.app == "iredapd" {
            out.push_str("    network_mode: host\n");
        } else {
            compose_ports(&mut out, rng, c, dot_env);
        }
        let _ = write!(
            out,
            "    volumes:
      - {app}-data:{mount}
      - ./config/{app}:/etc/{app}:ro
",
            app = c.app,
            mount = c.mount
        );
        if n > 0 {
            let _ = writeln!(out, "    depends_on:\n      - {}", services[0].app);
        }
        let _ = write!(
            out,
            "    healthcheck:
      test: [\"CMD\", \"nc\", \"-z\", \"127.0.0.1\", \"{}\"]
      interval: 30s
      timeout: 5s
      retries: 3
",
            c.ports[0].port
        );
    }
    out.push_str("\nvolumes:\n");
    for c in &services {
        let _ = writeln!(out, "  {}-data: {{}}", c.app);
    }
    let env = dot_env.then(|| {
        "# Ports and secrets of this project\nSMTP_PORT=25\nIMAP_PORT=143\nexport HTTPS_PORT=443\nADMIN_PASSWORD=\"s3cret\"\n"
            .to_string()
    });
    (out, services, env)
}

fn compose_ports(out: &mut String, rng: &mut Lcg, c: &Component, dot_env: bool) {
    let mut ports = String::new();
    let mut expose = String::new();
    for p in c.ports {
        let roll = rng.below(100);
        let n = p.port;
        if roll < 35 {
            let _ = writeln!(ports, "      - \"{n}:{n}\"");
        } else if roll < 45 {
            let _ = writeln!(ports, "      - \"127.0.0.1:{n}:{n}\"");
        } else if roll < 50 {
            let _ = writeln!(ports, "      - \"{}:{n}\"", u32::from(n) + 8000);
        } else if roll < 55 {
            let _ = writeln!(ports, "      - \"0.0.0.0:{n}:{n}/tcp\"");
        } else if roll < 62 && dot_env {
            let var = match n {
                25 => "SMTP_PORT",
                143 => "IMAP_PORT",
                443 => "HTTPS_PORT",
                _ => "UNSET_PORT",
            };
            let _ = writeln!(ports, "      - \"${{{var}:-{n}}}:{n}\"");
        } else if roll < 80 {
            let _ = write!(
                ports,
                "      - target: {n}\n        published: \"{n}\"\n        protocol: tcp\n        mode: host\n"
            );
            if rng.chance(30) {
                ports.push_str("        host_ip: 10.0.0.5\n");
            }
        } else {
            let _ = writeln!(expose, "      - \"{n}\"");
        }
    }
    if !ports.is_empty() {
        out.push_str("    ports:\n");
        out.push_str(&ports);
    }
    if !expose.is_empty() {
        out.push_str("    expose:\n");
        out.push_str(&expose);
    }
}

fn compose_override(rng: &mut Lcg, services: &[&'static Component]) -> String {
    let mut out =
        String::from("# Local overrides, merged over the project's main file.\nservices:\n");
    for c in services {
        let _ = write!(
            out,
            "  {app}:\n    environment:\n      LOG_LEVEL: debug\n      DEBUG: \"1\"\n",
            app = c.app
        );
        if rng.chance(50) {
            let p = c.ports[rng.below(c.ports.len() as u64) as usize];
            let _ = write!(
                out,
                "    ports:\n      - \"{}:{}\"\n      - target: {}\n        published: \"{}\"\n",
                u32::from(p.port) + 10000,
                p.port,
                p.port,
                p.port
            );
        }
        let _ = write!(
            out,
            "    volumes:\n      - ./dev/{app}:/opt/dev/{app}\n    labels:\n      com.example.owner: mail-team\n      com.example.env: development\n",
            app = c.app
        );
    }
    out
}
