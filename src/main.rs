//! The `iredmail-ports` binary: parses the command line, calls the library, maps the
//! outcome to an exit code (0 clean, 1 findings, 2 usage or catalogue error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use iredmail_ports::baseline::Baseline;
use iredmail_ports::cli::{
    CatalogueArgs, CatalogueChoice, CatalogueFormat, CheckArgs, Cli, ClusterArgs, Color, Command,
    KubectlPlugin, PolicyCommand, ReportArgs, ServeArgs, VapArgs,
};
use iredmail_ports::cluster::{self, ClusterQuery};
use iredmail_ports::model::Rule;
use iredmail_ports::{Catalogue, CheckError, Config, Engine, Input, Report, Rules};

/// The name kubectl looks for on PATH to run `kubectl iredmail-ports`.
const KUBECTL_PLUGIN_NAME: &str = "kubectl-iredmail_ports";

// `pub(crate)`: the `kubectl-iredmail_ports` binary (src/bin/) includes this file as a
// module and calls it, so both binaries are one program.
pub(crate) fn main() -> ExitCode {
    let cli = if started_as_kubectl_plugin() {
        Cli {
            command: Command::Cluster(KubectlPlugin::parse().cluster),
        }
    } else {
        Cli::parse()
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line. Many library errors already end with their
/// cause's text (kube's kubeconfig errors, io errors wrapped with `{source}`): a cause
/// whose text the line already ends with is not said twice.
fn error_chain(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.ends_with(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// kubectl runs a plugin by its path on PATH, so the program's own name tells whether it
/// is `kubectl iredmail-ports` (the `cluster` command, flags only) or `iredmail-ports`.
fn started_as_kubectl_plugin() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|program| program.file_stem().map(|stem| stem == KUBECTL_PLUGIN_NAME))
        .unwrap_or(false)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Catalogue(args) => print_catalogue(args),
        Command::Schema { kind } => {
            print!("{}", kind.render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule: Some(rule) } => {
            let rule: Rule = rule.parse().map_err(anyhow::Error::msg)?;
            print!("{}", rule.info().explanation);
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule: None } => {
            print!("{}", rule_list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster(args) => run_cluster(args),
        Command::Serve(args) => run_serve(args),
        Command::Policy(PolicyCommand::Vap(args)) => print_vap(args),
    }
}

/// Every rule with its default severity and summary, as `explain` without a rule shows
/// them.
fn rule_list() -> String {
    let width = Rule::ALL.iter().map(|r| r.id().len()).max().unwrap_or(0);
    let mut text = String::from("Rules (iredmail-ports explain RULE tells more):\n");
    for rule in Rule::ALL {
        let info = rule.info();
        text.push_str(&format!(
            "  {:width$}  {:7}  {}\n",
            info.id,
            info.severity.as_str(),
            info.summary
        ));
    }
    text
}

/// Reads the catalogue and config, then serves the webhook until SIGTERM, logging JSON
/// lines to standard error (`RUST_LOG` sets the level, `info` by default).
fn run_serve(args: ServeArgs) -> Result<ExitCode> {
    use std::time::Duration;
    use tracing_subscriber::EnvFilter;

    let catalogue = load_catalogue(&args.catalogue)?;
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let settings = iredmail_ports::webhook::Settings {
        listen: args.listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        mode: args.mode,
        deny_at: args.fail_on.threshold(),
        catalogue,
        config,
        watch: args.watch,
        audit_interval: args.audit_interval,
        cert_poll_interval: Duration::from_secs(args.cert_poll_interval.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        header_read_timeout: Duration::from_secs(args.header_read_timeout.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        review_memory: args.review_memory.max(1).saturating_mul(1024 * 1024),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(iredmail_ports::webhook::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

fn load_catalogue(choice: &CatalogueChoice) -> Result<Catalogue> {
    let catalogue = match &choice.catalogue {
        Some(path) => match path.to_str().and_then(Catalogue::embedded) {
            Some(shipped) => shipped?,
            None => Catalogue::from_file(path)?,
        },
        None => Catalogue::embedded_default()?,
    };
    Ok(catalogue)
}

fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let catalogue = load_catalogue(&args.report.catalogue)?;
    let inputs = inputs(&args);
    let config = load_config(&args.report, config_start(&args))?;
    let report = Engine::new(&catalogue, config)
        .allow_no_manifests(args.allow_no_manifests)
        .with_graph(args.report.format.draws_graph())
        .check(&inputs)
        .map_err(|error| match error {
            CheckError::NothingToCheck(_) => {
                anyhow::anyhow!("{error} (--allow-no-manifests lets such a run pass)")
            }
            CheckError::NotFound(_) => error.into(),
        })?;
    write_report(&report, &args.report)
}

/// Reads the cluster, then judges its objects exactly as files are judged.
fn run_cluster(args: ClusterArgs) -> Result<ExitCode> {
    let catalogue = load_catalogue(&args.report.catalogue)?;
    let config = load_config(&args.report, PathBuf::from("."))?;
    let query = ClusterQuery {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
        all_namespaces: args.all_namespaces,
        selector: args.selector.clone(),
        request_timeout: args.request_timeout.0,
        deadline: args.deadline.0,
    };
    let snapshot = cluster::read_blocking(&query)?;
    let rules = if snapshot.policies_unread {
        Rules::PoliciesUnread
    } else {
        Rules::All
    };
    let report = Engine::new(&catalogue, config)
        .with_graph(args.report.format.draws_graph())
        .check_live(&snapshot.objects, snapshot.problems, rules);
    write_report(&report, &args.report)
}

/// Writes the report where `--output` says, records the baseline if asked, and maps the
/// findings to the exit code.
fn write_report(report: &Report, args: &ReportArgs) -> Result<ExitCode> {
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::of(&report.findings);
        baseline.write(path)?;
        let count = baseline.fingerprints.len();
        eprintln!(
            "wrote a baseline of {count} finding{} to {}; `--baseline {}` fails only on new ones",
            if count == 1 { "" } else { "s" },
            path.display(),
            path.display()
        );
    }
    let color = match (args.color, &args.output) {
        (Color::Always, _) => true,
        (Color::Never, _) | (Color::Auto, Some(_)) => false,
        (Color::Auto, None) => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let rendered = report.render_failing_at(args.format, color, args.fail_on.threshold());
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(rendered.as_bytes())
            .context("cannot write the report")?,
    }
    // Recording a baseline is the run's purpose: its findings are what it records.
    if args.write_baseline.is_none() && report.fails(args.fail_on.threshold()) {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Where the search for `.iredmail-ports.yaml` starts: the first path (the current
/// directory for standard input).
fn config_start(args: &CheckArgs) -> PathBuf {
    args.paths
        .first()
        .filter(|p| p.as_os_str() != "-")
        .or(args.compose_files.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The config named with `--config`, else the nearest `.iredmail-ports.yaml` above
/// `start`, else the defaults; with the `--baseline` it names.
fn load_config(args: &ReportArgs, start: PathBuf) -> Result<Config> {
    let path = args.config.clone().or_else(|| Config::discover(&start));
    let mut config = match path {
        Some(path) => Config::from_file(&path)?,
        None => Config::default(),
    };
    if let Some(path) = &args.baseline {
        config.baseline = Some(Baseline::read(path)?);
    }
    Ok(config)
}

fn inputs(args: &CheckArgs) -> Vec<Input> {
    let mut inputs: Vec<Input> = args
        .paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p.clone())
            }
        })
        .collect();
    if !args.compose_files.is_empty() {
        inputs.push(Input::ComposeSet(args.compose_files.clone()));
    }
    if inputs.is_empty() {
        inputs.push(Input::Path(PathBuf::from(".")));
    }
    inputs
}

fn print_catalogue(args: CatalogueArgs) -> Result<ExitCode> {
    let catalogue = load_catalogue(&args.catalogue)?;
    let text = match args.format {
        CatalogueFormat::Table => catalogue.to_table(),
        CatalogueFormat::Json => catalogue.to_json(),
        CatalogueFormat::Yaml => catalogue.to_yaml(),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// `policy vap`: the admission policies, their bindings and params, as YAML.
fn print_vap(args: VapArgs) -> Result<ExitCode> {
    use iredmail_ports::policy::{LabelSelector, VapOptions, vap};

    let catalogue = load_catalogue(&args.catalogue)?;
    let namespace_selector = match &args.namespace_selector {
        Some(text) => LabelSelector::parse(text)?,
        None => LabelSelector::default(),
    };
    let options = VapOptions {
        action: args.action,
        namespace_selector,
        params_namespace: args.params_namespace,
    };
    let yaml = vap::to_yaml(&vap::generate(&catalogue, &options));
    match &args.output {
        Some(path) => std::fs::write(path, yaml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{yaml}"),
    }
    Ok(ExitCode::SUCCESS)
}
