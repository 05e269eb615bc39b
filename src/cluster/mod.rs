//! A live cluster → the same inputs as files. Reads the kinds iredmail-ports judges with
//! the user's kubeconfig (tokens, client certificates, exec credential plugins) or the
//! in-cluster service account, and hands each object to the loader as the text of one
//! YAML document named `Kind/namespace/name`: findings then name the object, and their
//! line points into the object as `kubectl get -o yaml` would show it.
//!
//! Lists are paginated. A kind the API server refuses to list (403) or does not serve is
//! a note and the rest is still checked; Gateway API kinds are read only where discovery
//! shows their CRDs.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{InferConfigError, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::core::TypeMeta;
use kube::discovery::{ApiResource, Discovery, Scope as ApiScope};
use kube::{Client, Config};
use thiserror::Error;

mod client;
mod trust;

pub use client::ClientError;
pub use trust::TrustError;

use crate::load::kinds::{JUDGED_KINDS, JudgedKind, Origin};
use crate::load::kubernetes::strip_bookkeeping;
use crate::model::{InvalidInput, Location};

/// Which cluster to read and what of it; the `cluster` command's flags.
#[derive(Debug, Clone, Default)]
pub struct ClusterQuery {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `None`: the context's namespace (unless `all_namespaces`).
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    /// A label selector for the objects judged (not for NetworkPolicies and Namespaces,
    /// which decide how far the judged objects reach).
    pub selector: Option<String>,
    /// How long one request may take; `None` waits forever.
    pub request_timeout: Option<Duration>,
    /// How long the whole read may take; `None`: [`READ_DEADLINE`].
    pub deadline: Option<Duration>,
}

/// How long a whole read may take by default (`--deadline`): a hostile or broken API
/// server cannot keep the plugin running, even without `--request-timeout`.
pub const READ_DEADLINE: Duration = Duration::from_secs(300);
/// The most pages one list may take (500 objects each): 1,000,000 objects.
pub const MAX_PAGES: usize = 2000;
/// The longest string an object may hold; the API server itself stores at most 1.5 MiB
/// per object.
pub const MAX_STRING_BYTES: usize = 2 * 1024 * 1024;

/// What was read: every object as the API server sent it (without its bookkeeping
/// fields), and a note for each kind that could not be.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub objects: Vec<serde_json::Value>,
    pub problems: Vec<InvalidInput>,
    /// The API server refused to list NetworkPolicies somewhere.
    pub policies_unread: bool,
}

/// Why the cluster could not be read at all. The messages leave the underlying error to
/// the error chain, which the binary prints after them.
#[derive(Debug, Error)]
pub enum ClusterError {
    #[error("cannot use the kubeconfig")]
    Kubeconfig(#[source] KubeconfigError),
    #[error("no cluster to check: no kubeconfig, and not running inside a cluster")]
    NoConfig(#[source] InferConfigError),
    #[error("cannot create a client for {url}")]
    Client {
        url: String,
        #[source]
        source: ClientError,
    },
    /// The connection itself failed (refused, TLS, proxy): said once, with the server.
    #[error("cannot connect to the API server at {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("namespace {namespace} not found: the API server at {url} has no such namespace")]
    NoNamespace { namespace: String, url: String },
    #[error("cannot {what}")]
    Request {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot {what}: the API server answered {code} {reason}: {message}")]
    Refused {
        what: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("cannot {what}: no answer within {} (--request-timeout)", seconds(*.timeout))]
    Timeout { what: String, timeout: Duration },
    #[error(
        "the API server at {url} was not read within {} (--deadline)",
        seconds(*.deadline)
    )]
    Deadline { url: String, deadline: Duration },
    #[error(
        "cannot {what}: the API server sent the continue token `{token}` twice; the list \
         would never end"
    )]
    RepeatedContinue { what: String, token: String },
    #[error("cannot {what}: more than {MAX_PAGES} pages of {PAGE_SIZE} objects")]
    TooManyPages { what: String },
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Objects per page: what kubectl asks for.
const PAGE_SIZE: u32 = 500;

/// Reads the cluster on a runtime of its own, for callers that are not async.
pub fn read_blocking(query: &ClusterQuery) -> Result<Snapshot, ClusterError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClusterError::Runtime)?
        .block_on(read(query))
}

/// Reads every kind of [`JUDGED_KINDS`] the cluster serves, in the namespaces the query names.
pub async fn read(query: &ClusterQuery) -> Result<Snapshot, ClusterError> {
    let config = client_config(query).await?;
    let namespace = if query.all_namespaces {
        None
    } else {
        Some(
            query
                .namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    let url = server_url(&config.cluster_url);
    let client = client::build(&config).map_err(|source| ClusterError::Client {
        url: url.clone(),
        source,
    })?;
    let deadline = query.deadline.unwrap_or(READ_DEADLINE);
    let reader = Reader {
        client,
        url: url.clone(),
        namespace,
        selector: query.selector.clone(),
        timeout: query.request_timeout,
    };
    tokio::time::timeout(deadline, reader.read_all())
        .await
        .map_err(|_| ClusterError::Deadline { url, deadline })?
}

/// The client configuration: `--kubeconfig` (with `--context`), else `$KUBECONFIG` or
/// `~/.kube/config`, else the in-cluster service account.
async fn client_config(query: &ClusterQuery) -> Result<Config, ClusterError> {
    let options = KubeConfigOptions {
        context: query.context.clone(),
        ..KubeConfigOptions::default()
    };
    match (&query.kubeconfig, &query.context) {
        (Some(path), _) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(ClusterError::Kubeconfig)?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(ClusterError::Kubeconfig)
        }
        // A context names an entry of a kubeconfig: no in-cluster fallback.
        (None, Some(_)) => Config::from_kubeconfig(&options)
            .await
            .map_err(ClusterError::Kubeconfig),
        (None, None) => Config::infer().await.map_err(ClusterError::NoConfig),
    }
}

/// The server as the kubeconfig names it, without the `/` the URI type adds.
fn server_url(uri: &http::Uri) -> String {
    let text = uri.to_string();
    match text.strip_suffix('/') {
        Some(bare) if uri.path() == "/" => bare.to_string(),
        _ => text,
    }
}

struct Reader {
    client: Client,
    /// The API server's URL, for messages.
    url: String,
    /// `None`: every namespace.
    namespace: Option<String>,
    selector: Option<String>,
    timeout: Option<Duration>,
}

/// Why one request failed.
enum Failure {
    Api(kube::Error),
    Timeout(Duration),
    RepeatedContinue(String),
    TooManyPages,
}

impl Reader {
    async fn read_all(&self) -> Result<Snapshot, ClusterError> {
        let discovery = self.discover().await?;
        let mut snapshot = Snapshot::default();
        let mut objects = Vec::new();
        for kind in JUDGED_KINDS {
            let Some(resource) = discovery
                .get(kind.group)
                .and_then(|group| group.recommended_kind(kind.kind))
            else {
                if kind.origin == Origin::BuiltIn {
                    snapshot.problems.push(not_served(kind));
                }
                continue;
            };
            let (resource, capabilities) = resource;
            let api = self.api(&resource, &capabilities.scope);
            match self.list(&api, &resource, kind).await {
                Ok(mut listed) => {
                    if kind.kind == "Namespace" {
                        self.require_namespace(&listed)?;
                    }
                    objects.append(&mut listed);
                }
                Err(Failure::Api(kube::Error::Api(status))) if status.code == 403 => {
                    snapshot.policies_unread |= kind.kind == "NetworkPolicy";
                    snapshot.problems.push(forbidden(
                        &api,
                        &resource,
                        &capabilities.scope,
                        &status.message,
                    ));
                }
                // Gone between discovery and the list (a CRD just removed).
                Err(Failure::Api(kube::Error::Api(status))) if status.code == 404 => {
                    if kind.origin == Origin::BuiltIn {
                        snapshot.problems.push(not_served(kind));
                    }
                }
                Err(failure) => {
                    let place = place(&capabilities.scope, &api);
                    let what = format!("list {} {place}", plural(&resource));
                    return Err(self.fatal(failure, what));
                }
            }
        }
        let listed = listed(&objects);
        for object in objects {
            if is_owned_by_listed_controller(&object, &listed) {
                continue;
            }
            match into_value(object) {
                Ok(value) => snapshot.objects.push(value),
                Err(problem) => snapshot.problems.push(problem),
            }
        }
        Ok(snapshot)
    }

    /// The namespace to check must be one the API server lists (Namespaces come first in
    /// the table): otherwise every list would be empty and the check would say nothing
    /// about a typo. Where Namespaces may not be listed, this cannot be told.
    fn require_namespace(&self, namespaces: &[DynamicObject]) -> Result<(), ClusterError> {
        match &self.namespace {
            Some(wanted)
                if !namespaces
                    .iter()
                    .any(|n| n.metadata.name.as_deref() == Some(wanted.as_str())) =>
            {
                Err(ClusterError::NoNamespace {
                    namespace: wanted.clone(),
                    url: self.url.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Asks the API server which of the groups iredmail-ports reads it serves, in which
    /// versions.
    async fn discover(&self) -> Result<Discovery, ClusterError> {
        let groups: BTreeSet<&str> = JUDGED_KINDS.iter().map(|k| k.group).collect();
        let groups: Vec<&str> = groups.into_iter().collect();
        let discovery = Discovery::new(self.client.clone()).filter(&groups).run();
        self.within(discovery)
            .await
            .map_err(|failure| self.fatal(failure, "discover the API groups".into()))
    }

    fn api(&self, resource: &ApiResource, scope: &ApiScope) -> Api<DynamicObject> {
        match (scope, &self.namespace) {
            (ApiScope::Namespaced, Some(namespace)) => {
                Api::namespaced_with(self.client.clone(), namespace, resource)
            }
            _ => Api::all_with(self.client.clone(), resource),
        }
    }

    /// Every object of one kind, page by page.
    async fn list(
        &self,
        api: &Api<DynamicObject>,
        resource: &ApiResource,
        kind: &JudgedKind,
    ) -> Result<Vec<DynamicObject>, Failure> {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let (true, Some(selector)) = (kind.narrowed_by_selector(), &self.selector) {
            params = params.labels(selector);
        }
        let Some(names) = kind.only_named else {
            return self.list_pages(api, resource, params).await;
        };
        // Only these names matter (ingress-nginx's port ConfigMaps): ask for each by name,
        // so that no other ConfigMap's data is read.
        let mut objects = Vec::new();
        for name in names {
            let by_name = params.clone().fields(&format!("metadata.name={name}"));
            objects.append(&mut self.list_pages(api, resource, by_name).await?);
        }
        Ok(objects)
    }

    async fn list_pages(
        &self,
        api: &Api<DynamicObject>,
        resource: &ApiResource,
        mut params: ListParams,
    ) -> Result<Vec<DynamicObject>, Failure> {
        let mut objects = Vec::new();
        let mut tokens = BTreeSet::new();
        for _ in 0..MAX_PAGES {
            let page = self.within(api.list(&params)).await?;
            objects.extend(page.items.into_iter().map(|mut object| {
                // List items of built-in kinds come without their type; the loader needs it.
                object.types = Some(TypeMeta {
                    api_version: resource.api_version.clone(),
                    kind: resource.kind.clone(),
                });
                object
            }));
            match page.metadata.continue_.filter(|token| !token.is_empty()) {
                Some(token) if !tokens.insert(token.clone()) => {
                    return Err(Failure::RepeatedContinue(token));
                }
                Some(token) => params = params.continue_token(&token),
                None => return Ok(objects),
            }
        }
        Err(Failure::TooManyPages)
    }

    /// One request, bounded by `--request-timeout` when it is set.
    async fn within<T>(
        &self,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, Failure> {
        match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, request)
                .await
                .map_err(|_| Failure::Timeout(timeout))?
                .map_err(Failure::Api),
            None => request.await.map_err(Failure::Api),
        }
    }

    /// A failure that stops the run.
    fn fatal(&self, failure: Failure, what: String) -> ClusterError {
        if let Failure::Api(error) = &failure
            && let Some(cause) = connection_failure(error)
        {
            return ClusterError::Connect {
                url: self.url.clone(),
                cause,
            };
        }
        fatal(failure, what)
    }
}

/// What went wrong, when a request failed because no connection could be made: the
/// innermost cause, in words, as kubectl's "Unable to connect to the server" says it.
fn connection_failure(error: &kube::Error) -> Option<String> {
    let mut connecting = false;
    let mut innermost: Option<&(dyn std::error::Error + 'static)> = None;
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(legacy) = current.downcast_ref::<hyper_util::client::legacy::Error>() {
            connecting |= legacy.is_connect();
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            let io = innermost_io(io);
            if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return Some(describe_tls(tls));
            }
            if connecting {
                return Some(describe_io(io));
            }
        }
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(describe_tls(tls));
        }
        innermost = Some(current);
        next = current.source();
    }
    connecting.then(|| innermost.map(ToString::to_string).unwrap_or_default())
}

/// The io::Error an io::Error wraps, down to the last one. Their `source()` skips the
/// error they wrap, which is where rustls's error is.
fn innermost_io(mut error: &std::io::Error) -> &std::io::Error {
    while let Some(inner) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<std::io::Error>())
    {
        error = inner;
    }
    error
}

fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "the connection timed out".to_string(),
        _ => error.to_string(),
    }
}

/// A TLS failure, in the words the kubeconfig's fields use.
fn describe_tls(error: &rustls::Error) -> String {
    use rustls::CertificateError;
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "its certificate is signed by an unknown authority: neither the \
             certificate-authority of the kubeconfig nor a certificate pinned there"
                .to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => {
            let expected = match expected {
                rustls::pki_types::ServerName::DnsName(name) => name.as_ref().to_string(),
                rustls::pki_types::ServerName::IpAddress(ip) => {
                    std::net::IpAddr::from(*ip).to_string()
                }
                other => format!("{other:?}"),
            };
            let presented: Vec<String> = presented.iter().map(|n| bare_name(n)).collect();
            let presented = match presented.as_slice() {
                [] => "no name".to_string(),
                [one] => one.clone(),
                [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            };
            format!(
                "its certificate is not valid for {expected} (it is for {presented}; see \
                 tls-server-name)"
            )
        }
        rustls::Error::InvalidCertificate(certificate) => {
            format!("its certificate is refused: {certificate}")
        }
        other => format!("the TLS handshake failed: {other}"),
    }
}

/// `DnsName("localhost")` → `localhost`, `IpAddress(127.0.0.1)` → `127.0.0.1`: how
/// webpki writes the names a certificate holds.
fn bare_name(name: &str) -> String {
    let inner = ["DnsName(", "IpAddress(", "UriName("]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix)?.strip_suffix(')'))
        .unwrap_or(name);
    inner.trim_matches('"').to_string()
}

/// A failure that stops the run.
fn fatal(failure: Failure, what: String) -> ClusterError {
    match failure {
        Failure::Api(kube::Error::Api(status)) => ClusterError::Refused {
            what,
            code: status.code,
            reason: truncated(&status.reason),
            message: truncated(&status.message),
        },
        Failure::Api(source) => ClusterError::Request { what, source },
        Failure::Timeout(timeout) => ClusterError::Timeout { what, timeout },
        Failure::RepeatedContinue(token) => ClusterError::RepeatedContinue {
            what,
            token: truncated(&token),
        },
        Failure::TooManyPages => ClusterError::TooManyPages { what },
    }
}

/// Where a list looks: `in namespace mail`, `in every namespace`, `at the cluster scope`.
fn place(scope: &ApiScope, api: &Api<DynamicObject>) -> String {
    match (scope, api.namespace()) {
        (ApiScope::Cluster, _) => "at the cluster scope".to_string(),
        (ApiScope::Namespaced, Some(namespace)) => format!("in namespace {namespace}"),
        (ApiScope::Namespaced, None) => "in every namespace".to_string(),
    }
}

/// `networkpolicies.networking.k8s.io`, as RBAC and kubectl name a resource.
fn plural(resource: &ApiResource) -> String {
    if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

/// A kind the API server refused to list: a note, and the rest is still checked.
fn forbidden(
    api: &Api<DynamicObject>,
    resource: &ApiResource,
    scope: &ApiScope,
    message: &str,
) -> InvalidInput {
    let place = place(scope, api);
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" (the API server said: {message})")
    };
    let consequence = if resource.kind == "Namespace" {
        "namespace labels are unknown, so NetworkPolicy namespace selectors are matched by \
         `kubernetes.io/metadata.name` only"
            .to_string()
    } else if resource.kind == "NetworkPolicy" {
        "no NetworkPolicy is checked, so none narrows or widens what the other findings say, \
         and network-policy-missing is not judged"
            .to_string()
    } else {
        format!(
            "no {} is checked, so none narrows or widens what the other findings say",
            resource.kind
        )
    };
    not_read(
        api.resource_url(),
        format!(
            "forbidden to list {} {place}{said}; {consequence}",
            plural(resource)
        ),
    )
}

/// A built-in kind that discovery does not show (a very old or trimmed API server).
fn not_served(kind: &JudgedKind) -> InvalidInput {
    let group = if kind.group.is_empty() {
        "the core API group"
    } else {
        kind.group
    };
    let url = if kind.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}", kind.group)
    };
    not_read(
        &url,
        format!(
            "the API server does not serve {} in {group}; none is checked",
            kind.kind
        ),
    )
}

fn not_read(url: &str, message: String) -> InvalidInput {
    InvalidInput::not_listed(Location::start_of(url), message)
}

/// Every object read, as `(kind, namespace, name)`: the owners a controlled object may name.
fn listed(objects: &[DynamicObject]) -> BTreeSet<(String, String, String)> {
    objects
        .iter()
        .filter_map(|object| {
            Some((
                object.types.as_ref()?.kind.clone(),
                object.metadata.namespace.clone().unwrap_or_default(),
                object.metadata.name.clone().unwrap_or_default(),
            ))
        })
        .collect()
}

/// An object whose controller was read too (a Deployment's ReplicaSets, their Pods, a
/// CronJob's Jobs) is judged through the controller's template, once.
fn is_owned_by_listed_controller(
    object: &DynamicObject,
    listed: &BTreeSet<(String, String, String)>,
) -> bool {
    let namespace = object.metadata.namespace.clone().unwrap_or_default();
    object
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|owner| owner.controller == Some(true))
        .any(|owner| {
            listed.contains(&(owner.kind.clone(), namespace.clone(), owner.name.clone()))
                || deployment_of(object, owner)
                    .is_some_and(|d| listed.contains(&("Deployment".into(), namespace.clone(), d)))
        })
}

/// The Deployment behind a Pod's ReplicaSet owner, which the Deployment controller names
/// `<deployment>-<pod-template-hash>`: Pods are skipped even where ReplicaSets are not read.
fn deployment_of(
    object: &DynamicObject,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> Option<String> {
    if owner.kind != "ReplicaSet" {
        return None;
    }
    let hash = object.metadata.labels.as_ref()?.get("pod-template-hash")?;
    let deployment = owner.name.strip_suffix(hash.as_str())?.strip_suffix('-')?;
    Some(deployment.to_string())
}

/// One object as the engine reads it: its JSON, without the bookkeeping fields.
fn into_value(mut object: DynamicObject) -> Result<serde_json::Value, InvalidInput> {
    strip_bookkeeping(&mut object.metadata);
    let unread = |object: &DynamicObject, why: String| {
        let id = object_id(object);
        InvalidInput::unread(Location::start_of(id.clone()), why).of_object(id)
    };
    let value = serde_json::to_value(&object).map_err(|error| {
        unread(
            &object,
            format!("cannot read the object the API server sent: {error}"),
        )
    })?;
    match longest_string(&value) {
        length if length > MAX_STRING_BYTES => Err(unread(
            &object,
            format!(
                "the object holds a string of {length} bytes, more than {MAX_STRING_BYTES}: \
                 not read"
            ),
        )),
        _ => Ok(value),
    }
}

/// The length of the longest string (key or value) in `value`.
fn longest_string(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| key.len().max(longest_string(value)))
            .max()
            .unwrap_or(0),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// A token or message from the API server, cut to what an error line shows well.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

fn object_id(object: &DynamicObject) -> String {
    let kind = object
        .types
        .as_ref()
        .map(|t| t.kind.as_str())
        .unwrap_or_default();
    let name = object.metadata.name.as_deref().unwrap_or_default();
    match &object.metadata.namespace {
        Some(namespace) => format!("{kind}/{namespace}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::kubernetes::{LAST_APPLIED, Typed, object_from_live};
    use serde_json::Value;

    fn object(json: Value) -> DynamicObject {
        serde_json::from_value(json).expect("a valid object")
    }

    #[test]
    fn an_object_keeps_every_value_and_loses_its_bookkeeping() {
        let service = object(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": "db", "namespace": "mail",
                "labels": {"a": "true", "b": "0755", "c": "1e3", "d": "null", "e": "yes", "f": "~", "g": "x: y"},
                "annotations": {LAST_APPLIED: "{}", "keep": "me"},
                "managedFields": [{"manager": "kubectl"}]
            },
            "spec": {"type": "LoadBalancer", "ports": [{"port": 3306, "targetPort": "mysql"}]}
        }));
        let value = into_value(service).expect("a JSON object");
        let text = value.to_string();
        assert!(
            !text.contains("managedFields") && !text.contains(LAST_APPLIED),
            "{text}"
        );
        let object = object_from_live(&value).expect("a typed Service");
        assert_eq!(object.id(), "Service/mail/db");
        let Typed::Service(service) = &object.typed else {
            panic!("not a Service");
        };
        let labels = service.metadata.labels.clone().unwrap_or_default();
        let expected = [
            ("a", "true"),
            ("b", "0755"),
            ("c", "1e3"),
            ("d", "null"),
            ("e", "yes"),
            ("f", "~"),
            ("g", "x: y"),
        ];
        for (key, value) in expected {
            assert_eq!(labels.get(key).map(String::as_str), Some(value), "{key}");
        }
        let annotations = service.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.len(), 1);
    }

    fn owned(kind: &str, owner_kind: &str, owner: &str) -> DynamicObject {
        object(serde_json::json!({
            "apiVersion": "v1", "kind": kind,
            "metadata": {"name": "p", "namespace": "mail",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
                    "uid": "1", "controller": true}]},
        }))
    }

    #[test]
    fn objects_whose_controller_was_read_are_skipped_and_others_kept() {
        let listed: BTreeSet<(String, String, String)> = [
            ("Deployment", "mail", "postfix"),
            ("ReplicaSet", "mail", "postfix-5d9c7b"),
            ("StatefulSet", "mail", "mariadb"),
            ("CronJob", "mail", "backup"),
        ]
        .into_iter()
        .map(|(k, n, m)| (k.into(), n.into(), m.into()))
        .collect();
        let skipped = |object: &DynamicObject| is_owned_by_listed_controller(object, &listed);
        assert!(skipped(&owned("ReplicaSet", "Deployment", "postfix")));
        assert!(skipped(&owned("Pod", "ReplicaSet", "postfix-5d9c7b")));
        assert!(skipped(&owned("Pod", "StatefulSet", "mariadb")));
        assert!(skipped(&owned("Job", "CronJob", "backup")));
        // Owners that were not read (another namespace's, or filtered out): kept.
        assert!(!skipped(&owned("Pod", "ReplicaSet", "dovecot-5d9c7b")));
        assert!(!skipped(&owned("Pod", "Job", "postfix")));
    }
}
