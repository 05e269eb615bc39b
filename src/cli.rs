//! The command line, as clap definitions only; `main.rs` acts on it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::Severity;
use crate::report::Format;
use crate::schema::SchemaKind;

#[derive(Debug, Parser)]
#[command(
    name = "iredmail-ports",
    version,
    about = "Checks the network ports of a containerized iRedMail against iRedMail's port catalogue",
    long_about = "Checks the network ports of a containerized iRedMail (Kubernetes manifests, \
                  Helm output, Compose files) against iRedMail's port catalogue, and reports \
                  every port that is missing, extra or wrongly exposed.\n\n\
                  Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 usage error, \
                  an unusable catalogue, a path that does not exist, or nothing to check \
                  (no manifest in the paths, empty standard input)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files, directories or standard input (`-`).
    Check(CheckArgs),
    /// Print the port catalogue.
    Catalogue(CatalogueArgs),
    /// Print a JSON Schema generated from the types.
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Explain a rule: what fires it, why, how to fix it, with examples. Without a rule,
    /// list the rules.
    Explain {
        /// A rule id, e.g. `internal-port-exposed`.
        rule: Option<String>,
    },
    /// Check the cluster of your kubeconfig (also `kubectl iredmail-ports`).
    Cluster(ClusterArgs),
    /// Serve the admission webhook: answer AdmissionReviews at `POST /validate` over HTTPS.
    Serve(ServeArgs),
    /// Generate admission policies from the catalogue.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// A ValidatingAdmissionPolicy (CEL run by the API server, no webhook) for the rules
    /// that judge one object alone, with its bindings and params ConfigMap, as YAML.
    Vap(VapArgs),
}

#[derive(Debug, Args)]
pub struct VapArgs {
    #[command(flatten)]
    pub catalogue: CatalogueChoice,

    /// What the exposure policy's binding does with an internal port exposed: refuse the
    /// object, warn the client, or only annotate the audit log. Deprecated ports and
    /// removed services always warn (audit with `audit`).
    #[arg(long, value_enum, default_value_t = crate::policy::Action::Deny)]
    pub action: crate::policy::Action,

    /// The namespaces to judge, as a label selector (`team=mail`,
    /// `kubernetes.io/metadata.name in (mail, web)`). kube-system is never judged.
    #[arg(long, value_name = "SELECTOR")]
    pub namespace_selector: Option<String>,

    /// The namespace of the params ConfigMap the policies read.
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "iredmail-ports-system"
    )]
    pub params_namespace: String,

    /// Write the YAML to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` reads standard input. Directories are walked
    /// honouring .gitignore. Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Compose files to merge in order, as `docker compose -f a -f b` does (repeatable).
    #[arg(short = 'f', long = "compose-file", value_name = "FILE")]
    pub compose_files: Vec<PathBuf>,

    /// Pass (exit 0) when the paths hold no Kubernetes manifest, Compose file or Ansible
    /// playbook, instead of exiting 2: for a pre-commit hook on a commit of other YAML. A
    /// path that does not exist is still an error.
    #[arg(long)]
    pub allow_no_manifests: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// The flags that choose the catalogue, the config and how the report is written; `check`
/// and `cluster` share them.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How to write the report (`-o json`, as kubectl's `-o`): the findings in one of the
    /// text and CI formats, or the reachability graph (`dot`, `mermaid`) with the ports
    /// that have findings in red.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE instead of standard output (no short flag: `-o` is the
    /// format, as in kubectl).
    #[arg(long, value_name = "FILE", value_parser = parse_output_file)]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,

    /// The config file (severities, excludes, allowed ports, suppressions). Default: the
    /// nearest `.iredmail-ports.yaml` from the first path (for `cluster`, the current
    /// directory) upward.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report the findings this baseline lists as suppressed: only new ones fail.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Record the findings of this run in FILE, for a later `--baseline FILE`.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// When to color text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// Which cluster to read and what of it, with kubectl's flag names.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file. Default: `$KUBECONFIG`, else `~/.kube/config`, else the
    /// in-cluster service account.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use. Default: its current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The namespace to check. Default: the context's namespace.
    #[arg(
        short,
        long,
        value_name = "NAMESPACE",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// Check every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Check only the objects with these labels (`app=mail,tier!=db`), as `kubectl get -l`;
    /// NetworkPolicies and Namespaces are always read, since they decide reachability.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,

    /// How long one request to the API server may take (`30s`, `2m`, `1m30s`, `500ms`; a
    /// bare number is seconds; `0` waits forever).
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_request_timeout)]
    pub request_timeout: RequestTimeout,

    /// How long the whole read of the cluster may take, retries and pages included (same
    /// forms as --request-timeout; `0` is the default, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_request_timeout)]
    pub deadline: RequestTimeout,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--output FILE`. kubectl's `--output` is the format, so `--output json` is read as
/// the mistake it almost certainly is rather than writing a file named `json`.
fn parse_output_file(text: &str) -> Result<PathBuf, String> {
    if let Ok(format) = <Format as ValueEnum>::from_str(text, true) {
        let name = format.to_possible_value().map(|v| v.get_name().to_string());
        let name = name.unwrap_or_else(|| text.to_string());
        return Err(format!(
            "`{text}` is a report format, and --output takes a file: use `-o {name}` \
             (or `--format {name}`), or `--output ./{text}` for a file of that name"
        ));
    }
    Ok(PathBuf::from(text))
}

/// `--request-timeout`: `None` waits forever, as kubectl's `0` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Option<Duration>);

/// Parses kubectl's request timeouts: a bare number of seconds, or Go-style durations
/// such as `30s`, `2m`, `1h`, `1m30s` or `500ms`; `0` waits forever.
fn parse_request_timeout(text: &str) -> Result<RequestTimeout, String> {
    let duration = parse_duration(text)?;
    Ok(RequestTimeout((!duration.is_zero()).then_some(duration)))
}

/// `--audit-interval`: a duration as kubectl writes them, longer than zero (leaving the
/// flag out is how the audit is turned off).
fn parse_audit_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        zero if zero.is_zero() => Err(format!(
            "`{text}`: the interval must be longer than 0; leave --audit-interval out to turn \
             the audit off"
        )),
        interval => Ok(interval),
    }
}

/// A duration as kubectl reads one: a bare number of seconds, or Go-style parts such as
/// `30s`, `2m`, `1h`, `1m30s` or `500ms`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}`: expected a duration such as 30s, 2m, 1m30s or 500ms");
    if text.is_empty() {
        return Err(invalid());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds: u64 = text.parse().map_err(|_| invalid())?;
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| invalid())?;
        let unit_length = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_length);
        let part = match unit {
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "s" => Duration::from_secs(number),
            "ms" => Duration::from_millis(number),
            _ => return Err(invalid()),
        };
        total = total.saturating_add(part);
        rest = after;
    }
    Ok(total)
}

/// The command line of the `kubectl-iredmail_ports` binary, which kubectl runs for
/// `kubectl iredmail-ports`: the `cluster` command's flags, without a subcommand. Its help
/// is laid out as kubectl's own commands lay theirs out: what it does, examples, options,
/// then the usage line.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl iredmail-ports",
    bin_name = "kubectl iredmail-ports",
    version,
    about = "Check the network ports of the iRedMail running in a Kubernetes cluster against \
             iRedMail's port catalogue.",
    long_about = "Check the network ports of the iRedMail running in a Kubernetes cluster \
                  against iRedMail's port catalogue. Reads Services, workloads, \
                  NetworkPolicies, Ingresses and Gateway API routes with the credentials of \
                  your kubeconfig, and reports every port that is missing, extra or wrongly \
                  exposed.\n\n\
                  Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 usage error, \
                  an unusable catalogue or config, a namespace that does not exist, or a \
                  cluster that cannot be read.",
    override_usage = "kubectl iredmail-ports [-n NAMESPACE | -A] [-l SELECTOR] [-o FORMAT] [options]",
    help_template = KUBECTL_HELP
)]
pub struct KubectlPlugin {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `kubectl iredmail-ports --help`, laid out as kubectl's (`{…}` are clap's parts).
const KUBECTL_HELP: &str = "{about-with-newline}
Examples:
  # Check the namespace of the current context
  kubectl iredmail-ports

  # Check the mail namespace, and print the report as JSON
  kubectl iredmail-ports -n mail -o json

  # Check every namespace with another context, failing on warnings too
  kubectl iredmail-ports -A --context prod --fail-on warning

  # Write SARIF for code scanning to a file
  kubectl iredmail-ports -n mail -o sarif --output iredmail-ports.sarif

Options:
{options}

Usage:
  {usage}
";

#[derive(Debug, Args)]
pub struct CatalogueChoice {
    /// The catalogue: a shipped one by name, `iredmail` (the default, policies/iredmail.yaml)
    /// or `implicit-tls` (policies/iredmail-implicit-tls.yaml), or a catalogue file. A file
    /// that happens to be called like a shipped catalogue is read as `./iredmail`.
    #[arg(long, value_name = "NAME|FILE")]
    pub catalogue: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CatalogueArgs {
    #[arg(long, value_enum, default_value_t = CatalogueFormat::Table)]
    pub format: CatalogueFormat,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogueFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Note => Some(Severity::Note),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Color on a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,

    /// The server certificate (PEM, chain allowed); reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,

    /// The server's private key (PEM); reloaded with the certificate.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,

    /// What to do with findings: deny the request, allow it with warnings, or only log.
    #[arg(long, value_enum, default_value_t = crate::webhook::Mode::Enforce)]
    pub mode: crate::webhook::Mode,

    /// In `enforce` mode, deny when a finding is at or above this severity; findings
    /// below it are returned as warnings.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    #[command(flatten)]
    pub catalogue: CatalogueChoice,

    /// The config file (severities, allowed ports, suppressions).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Watch the cluster's objects that decide ports (every kind `cluster` reads: Services,
    /// workloads, NetworkPolicies, Ingresses, Gateway API and Traefik routes, ingress-nginx's
    /// port ConfigMaps, Namespaces) so that the rules that need the rest of the namespace run
    /// too.
    #[arg(long)]
    pub watch: bool,

    /// With --watch, every DURATION (`30s`, `5m`, `1h`) check the whole watched cluster as
    /// `cluster -A` does and write the findings into it as wg-policy PolicyReports (one
    /// `iredmail-ports` per namespace with findings, and a ClusterPolicyReport), deleting
    /// the ones this tool wrote that are no longer produced. Off when absent.
    #[arg(long, value_name = "DURATION", requires = "watch", value_parser = parse_audit_interval)]
    pub audit_interval: Option<Duration>,

    /// How often to look for a new certificate, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub cert_poll_interval: u64,

    /// The longest a review may take, in seconds, body included.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub request_timeout: u64,

    /// On SIGTERM, how long in-flight reviews may take to finish, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub shutdown_grace: u64,

    /// How long a client may take for its TLS handshake, and then for the headers of each
    /// request, in seconds; a slower one is disconnected (slowloris).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub header_read_timeout: u64,

    /// How long a connection may stay without traffic while no review is in flight on it,
    /// in seconds, before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub idle_timeout: u64,

    /// The most connections served at once. Over the cap, a new connection takes the place
    /// of the oldest one that has used half of --header-read-timeout without sending a
    /// request, or is closed at once when there is none. Keep it well under the process's file-descriptor limit (each connection may also
    /// buffer up to 1 MiB of unread HTTP/2 body).
    #[arg(long, value_name = "COUNT", default_value_t = 128)]
    pub max_connections: usize,

    /// The memory the reviews in flight may hold together, in MiB. A review is charged for
    /// its declared body size (and the JSON values it may hold) before its body is read,
    /// and waits (up to --request-timeout) while the others hold the rest.
    #[arg(long, value_name = "MIB", default_value_t = 48)]
    pub review_memory: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_read_as_kubectl_writes_them() {
        let secs = |s| Ok(RequestTimeout(Some(Duration::from_secs(s))));
        assert_eq!(parse_request_timeout("0"), Ok(RequestTimeout(None)));
        assert_eq!(parse_request_timeout("0s"), Ok(RequestTimeout(None)));
        assert_eq!(parse_request_timeout("15"), secs(15));
        assert_eq!(parse_request_timeout("30s"), secs(30));
        assert_eq!(parse_request_timeout("2m"), secs(120));
        assert_eq!(parse_request_timeout("1h"), secs(3600));
        assert_eq!(parse_request_timeout("1m30s"), secs(90));
        assert_eq!(
            parse_request_timeout("500ms"),
            Ok(RequestTimeout(Some(Duration::from_millis(500))))
        );
        for bad in ["", "s", "1.5s", "-1", "5d", "m5", "1m30"] {
            assert!(parse_request_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audit_intervals_read_as_kubectl_durations_and_are_never_zero() {
        assert_eq!(parse_audit_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_audit_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_audit_interval("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_audit_interval("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_audit_interval("1s"), Ok(Duration::from_secs(1)));
        for bad in ["0", "0s", "", "soon", "5d", "-1m"] {
            assert!(parse_audit_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audit_interval_needs_watch() {
        let parse = |args: &[&str]| {
            let mut argv = vec![
                "iredmail-ports",
                "serve",
                "--tls-cert",
                "c",
                "--tls-key",
                "k",
            ];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv)
        };
        let error = parse(&["--audit-interval", "5m"]).expect_err("needs --watch");
        assert_eq!(
            error.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert!(error.to_string().contains("--watch"), "{error}");
        let Ok(Cli {
            command: Command::Serve(serve),
        }) = parse(&["--watch", "--audit-interval", "5m"])
        else {
            panic!("--watch --audit-interval 5m is accepted");
        };
        assert_eq!(serve.audit_interval, Some(Duration::from_secs(300)));
        let Ok(Cli {
            command: Command::Serve(serve),
        }) = parse(&["--watch"])
        else {
            panic!("--watch alone is accepted");
        };
        assert_eq!(serve.audit_interval, None);
    }
}
