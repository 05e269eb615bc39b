//! The `iredmail-ports` binary: parses the command line, calls the library, maps the
//! outcome to an exit code (0 clean, 1 findings, 2 usage or catalogue error).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use iredmail_ports::baseline::Baseline;
use iredmail_ports::cli::{
    CatalogueArgs, CatalogueChoice, CatalogueFormat, CheckArgs, Cli, Color, Command, ServeArgs,
};
use iredmail_ports::rules::Rule;
use iredmail_ports::{Catalogue, Config, Input, check};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => run_check(args),
        Command::Catalogue(args) => print_catalogue(args),
        Command::Schema { kind } => {
            print!("{}", kind.render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { rule } => {
            let rule: Rule = rule.parse().map_err(anyhow::Error::msg)?;
            print!("{}", rule.info().explanation);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => run_serve(args),
    }
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
        cert_poll_interval: Duration::from_secs(args.cert_poll_interval.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(iredmail_ports::webhook::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

fn load_catalogue(choice: &CatalogueChoice) -> Result<Catalogue> {
    let catalogue = match &choice.catalogue {
        Some(path) => Catalogue::from_file(path)?,
        None => Catalogue::embedded_default()?,
    };
    Ok(catalogue)
}

fn run_check(args: CheckArgs) -> Result<ExitCode> {
    let catalogue = load_catalogue(&args.catalogue)?;
    let inputs = inputs(&args);
    let mut config = load_config(&args)?;
    if let Some(path) = &args.baseline {
        config.baseline = Some(Baseline::read(path)?);
    }
    let report = check(&inputs, &catalogue, &config);
    if let Some(path) = &args.write_baseline {
        Baseline::of(&report.findings).write(path)?;
    }
    let color = match (args.color, &args.output) {
        (Color::Always, _) => true,
        (Color::Never, _) | (Color::Auto, Some(_)) => false,
        (Color::Auto, None) => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let rendered = report.render(args.format, color);
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(rendered.as_bytes())
            .context("cannot write the report")?,
    }
    if report.fails(args.fail_on.threshold()) {
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// The config named with `--config`, else the nearest `.iredmail-ports.yaml` above the
/// first path (the current directory for standard input), else the defaults.
fn load_config(args: &CheckArgs) -> Result<Config> {
    let explicit = args.config.clone();
    let discovered = || {
        let start = args
            .paths
            .first()
            .filter(|p| p.as_os_str() != "-")
            .or(args.compose_files.first())
            .cloned()
            .unwrap_or_else(|| PathBuf::from("."));
        Config::discover(&start)
    };
    match explicit.or_else(discovered) {
        Some(path) => Ok(Config::from_file(&path)?),
        None => Ok(Config::default()),
    }
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
