//! A small Kubernetes API server for tests: HTTPS on loopback with an rcgen CA, bearer
//! token authentication, and the real wire format for what `iredmail-ports cluster`
//! asks: discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), and lists
//! (`<Kind>List` with `metadata.resourceVersion`) in one namespace or all, with
//! `labelSelector` (equality-based), `limit` and `metadata.continue` pagination, a 401
//! `Status` for a wrong token and a 403 `Status` for the resources it is told to refuse.
//! It can authenticate callers by client certificate (mutual TLS) instead of a token.
//!
//! It also holds state: `watch=true` streams the changes since a resourceVersion, as the
//! reflectors of `serve --watch` read them, and objects can be written (POST, PUT,
//! server-side apply PATCH, DELETE with preconditions, GET by name), by the program under
//! test or by the test itself ([`FakeApi::apply`], [`FakeApi::remove`]). Writes are
//! recorded ([`FakeApi::writes`]) and can be made to fail ([`Cluster::failing`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum_server::tls_rustls::RustlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};

pub const TOKEN: &str = "iredmail-ports-test-token";

/// One resource the server serves.
struct Resource {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
}

const fn resource(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Resource {
    Resource {
        group,
        version,
        plural,
        kind,
        namespaced,
    }
}

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
const TRAEFIK_GROUP: &str = "traefik.io";
pub const POLICY_REPORT_GROUP: &str = "wgpolicyk8s.io";

/// The resources of a small cluster, including some iredmail-ports does not read.
const RESOURCES: &[Resource] = &[
    resource("", "v1", "namespaces", "Namespace", false),
    resource("", "v1", "services", "Service", true),
    resource("", "v1", "pods", "Pod", true),
    resource("", "v1", "configmaps", "ConfigMap", true),
    resource(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
    ),
    resource("apps", "v1", "deployments", "Deployment", true),
    resource("apps", "v1", "statefulsets", "StatefulSet", true),
    resource("apps", "v1", "daemonsets", "DaemonSet", true),
    resource("apps", "v1", "replicasets", "ReplicaSet", true),
    resource("batch", "v1", "jobs", "Job", true),
    resource("batch", "v1", "cronjobs", "CronJob", true),
    resource(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
    ),
    resource(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
    resource("networking.k8s.io", "v1", "ingresses", "Ingress", true),
    resource(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
    ),
    resource(GATEWAY_GROUP, "v1", "gateways", "Gateway", true),
    resource(GATEWAY_GROUP, "v1", "httproutes", "HTTPRoute", true),
    resource(GATEWAY_GROUP, "v1", "grpcroutes", "GRPCRoute", true),
    resource(GATEWAY_GROUP, "v1", "gatewayclasses", "GatewayClass", false),
    resource(
        TRAEFIK_GROUP,
        "v1alpha1",
        "ingressroutes",
        "IngressRoute",
        true,
    ),
    resource(
        TRAEFIK_GROUP,
        "v1alpha1",
        "ingressroutetcps",
        "IngressRouteTCP",
        true,
    ),
    resource(TRAEFIK_GROUP, "v1alpha1", "middlewares", "Middleware", true),
    resource(
        POLICY_REPORT_GROUP,
        "v1alpha2",
        "policyreports",
        "PolicyReport",
        true,
    ),
    resource(
        POLICY_REPORT_GROUP,
        "v1alpha2",
        "clusterpolicyreports",
        "ClusterPolicyReport",
        false,
    ),
];

/// What the cluster holds and how it answers.
#[derive(Default)]
pub struct Cluster {
    /// Whole objects, with `apiVersion`, `kind` and `metadata.namespace`.
    pub objects: Vec<Value>,
    /// Plurals (`networkpolicies`) whose lists are forbidden.
    pub forbidden: Vec<&'static str>,
    /// Whether the Gateway API CRDs are installed.
    pub gateway_api: bool,
    /// Whether Traefik's CRDs (traefik.io) are installed.
    pub traefik: bool,
    /// Plurals this server does not serve at all (an old or trimmed API server).
    pub unserved: Vec<&'static str>,
    /// Plurals whose lists answer only after this delay.
    pub slow: Vec<(&'static str, Duration)>,
    /// Plurals whose lists hand out the same continue token on every page, forever.
    pub repeating_continue: Vec<&'static str>,
    /// Plurals whose lists answer 429 with this `Retry-After` (seconds), every time.
    pub throttled: Vec<(&'static str, u64)>,
    /// Plurals whose lists answer 302 to another host.
    pub redirected: Vec<&'static str>,
    /// Plurals whose lists answer a page padded to this many bytes.
    pub padded: Vec<(&'static str, usize)>,
    /// Roles and ClusterRoles of the caller: when there are any, a list none of them
    /// allows is forbidden, as RBAC does.
    pub roles: Vec<Value>,
    /// Authenticate callers by a client certificate the CA signed, in the TLS handshake,
    /// instead of a bearer token.
    pub client_certificates: bool,
    /// Serve a self-signed certificate (with `CA:TRUE`, as `openssl req -x509` makes one)
    /// instead of one the CA signed; the kubeconfig pins it as its certificate-authority.
    pub self_signed: bool,
    /// Whether the wg-policy CRDs (wgpolicyk8s.io PolicyReport, ClusterPolicyReport) are
    /// installed.
    pub policy_reports: bool,
    /// Writes answered 500 (an internal error) while their count lasts.
    pub failing: Vec<Failing>,
}

/// Writes of one method to one resource that fail, `times` times.
#[derive(Debug, Clone)]
pub struct Failing {
    /// POST, PUT, PATCH or DELETE.
    pub method: &'static str,
    pub plural: &'static str,
    pub times: usize,
}

/// One write request and how it was answered.
#[derive(Debug, Clone)]
pub struct Write {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub status: u16,
    /// The body sent, parsed as JSON (null when empty).
    pub body: Value,
}

/// What the server holds, which writes and watches share.
struct Store {
    objects: Vec<Value>,
    /// The last resourceVersion handed out.
    version: u64,
    /// Every change, oldest first: its resourceVersion, the watch event type, the object.
    events: Vec<(u64, &'static str, Value)>,
    writes: Vec<Write>,
    failing: Vec<Failing>,
}

impl Store {
    /// A new resourceVersion, stamped on `object`.
    fn stamp(&mut self, object: &mut Value) -> u64 {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        self.version
    }

    fn position(&self, key: &ObjectKey) -> Option<usize> {
        self.objects.iter().position(|o| key.matches(o))
    }

    /// Adds or replaces the object (by apiVersion, kind, namespace and name), as a new
    /// version; returns the stored object.
    fn put(&mut self, mut object: Value) -> Value {
        let key = ObjectKey::of(&object);
        let version = self.stamp(&mut object);
        if object["metadata"]["uid"].is_null() {
            object["metadata"]["uid"] = json!(format!("uid-{version}"));
            object["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
        }
        let kind = match self.position(&key) {
            Some(at) => {
                self.objects[at] = object.clone();
                "MODIFIED"
            }
            None => {
                self.objects.push(object.clone());
                "ADDED"
            }
        };
        self.events.push((version, kind, object.clone()));
        object
    }

    fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let at = self.position(key)?;
        let mut object = self.objects.remove(at);
        let version = self.stamp(&mut object);
        self.events.push((version, "DELETED", object.clone()));
        Some(object)
    }

    /// Whether this write is to fail, using up one of its failures.
    fn fails(&mut self, method: &Method, plural: &str) -> bool {
        let failing = self
            .failing
            .iter_mut()
            .find(|f| f.method == method.as_str() && f.plural == plural && f.times > 0);
        failing.map(|f| f.times -= 1).is_some()
    }
}

/// Which object: apiVersion, kind, namespace (empty when cluster-scoped), name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ObjectKey {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

impl ObjectKey {
    fn of(object: &Value) -> ObjectKey {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        ObjectKey {
            api_version: text(&object["apiVersion"]),
            kind: text(&object["kind"]),
            namespace: text(&object["metadata"]["namespace"]),
            name: text(&object["metadata"]["name"]),
        }
    }

    fn matches(&self, object: &Value) -> bool {
        ObjectKey::of(object) == *self
    }
}

/// A running server; it stops when dropped.
pub struct FakeApi {
    pub url: String,
    /// What the kubeconfig trusts: the CA, or the self-signed server certificate.
    ca_pem: String,
    server_pem: String,
    client: Certified,
    requests: Arc<Mutex<Vec<String>>>,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

struct Shared {
    cluster: Cluster,
    requests: Arc<Mutex<Vec<String>>>,
    store: Mutex<Store>,
    /// The store's last resourceVersion, for watches to wait on.
    changed: tokio::sync::watch::Sender<u64>,
}

/// The resourceVersion of the objects the server starts with (and of its first lists).
const FIRST_VERSION: u64 = 4711;

impl Shared {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("the fake API's store")
    }

    /// Runs a change on the store and wakes the watches.
    fn change<T>(&self, change: impl FnOnce(&mut Store) -> T) -> T {
        let (result, version) = {
            let mut store = self.store();
            let result = change(&mut store);
            (result, store.version)
        };
        self.changed.send_replace(version);
        result
    }
}

impl FakeApi {
    pub fn start(mut cluster: Cluster) -> FakeApi {
        let pki = Pki::new(cluster.self_signed);
        let tls = tls_config(&pki, cluster.client_certificates);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("https://{}", listener.local_addr().expect("its address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let cluster_self_signed = cluster.self_signed;
        let store = Store {
            objects: std::mem::take(&mut cluster.objects),
            version: FIRST_VERSION,
            events: Vec::new(),
            writes: Vec::new(),
            failing: cluster.failing.clone(),
        };
        let shared = Arc::new(Shared {
            cluster,
            requests: requests.clone(),
            store: Mutex::new(store),
            changed: tokio::sync::watch::Sender::new(FIRST_VERSION),
        });
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let _guard = runtime.enter();
        let server = axum_server::from_tcp_rustls(listener, tls).expect("the TLS server");
        runtime.spawn(server.serve(app.into_make_service()));
        FakeApi {
            url,
            ca_pem: if cluster_self_signed {
                pki.server.cert.pem()
            } else {
                pki.ca.pem()
            },
            server_pem: pki.server.cert.pem(),
            client: pki.client,
            requests,
            shared,
            _runtime: runtime,
        }
    }

    /// Adds or replaces an object (matched by apiVersion, kind, namespace and name), as a
    /// controller or kubectl would: watches see the change.
    pub fn apply(&self, object: Value) -> Value {
        self.shared.change(|store| store.put(object))
    }

    /// Deletes an object; watches see the change. Whether it was there.
    pub fn remove(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> bool {
        let key = ObjectKey {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        self.shared.change(|store| store.remove(&key)).is_some()
    }

    /// The objects of a kind held now.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        let store = self.shared.store();
        store
            .objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect()
    }

    /// Every write so far, in order.
    pub fn writes(&self) -> Vec<Write> {
        self.shared.store().writes.clone()
    }

    /// Every request so far, as `path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("request log").clone()
    }

    /// Writes a kubeconfig for this server into `dir`: context `fake` (namespace `mail`,
    /// the current one) and context `other` (namespace `other`), both with the CA data and
    /// the given bearer token.
    pub fn kubeconfig(&self, dir: &Path, token: &str) -> PathBuf {
        self.kubeconfig_for_user(dir, &format!("token: {token}"))
    }

    /// The kubeconfig `user:` lines of a client certificate the CA signed.
    pub fn client_certificate_user(&self) -> String {
        format!(
            "client-certificate-data: {}\nclient-key-data: {}",
            base64(self.client.cert.pem().as_bytes()),
            base64(self.client.key.serialize_pem().as_bytes())
        )
    }

    /// A kubeconfig as [`FakeApi::kubeconfig`] writes it, with the user's credentials given
    /// as YAML lines under `user:` (e.g. an `exec:` credential plugin).
    pub fn kubeconfig_for_user(&self, dir: &Path, user: &str) -> PathBuf {
        let ca = base64(self.ca_pem.as_bytes());
        self.kubeconfig_with(dir, &format!("certificate-authority-data: {ca}"), user)
    }

    /// The server's own certificate.
    pub fn server_pem(&self) -> &str {
        &self.server_pem
    }

    /// The PEM the kubeconfig trusts: the CA's, or the self-signed server certificate.
    pub fn trusted_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig for this server with the bearer token, whose `cluster:` entry has
    /// these YAML lines besides `server:` (trust, `proxy-url`, `tls-server-name`…).
    pub fn kubeconfig_with_cluster(&self, dir: &Path, cluster: &str) -> PathBuf {
        self.kubeconfig_with(dir, cluster, &format!("token: {TOKEN}"))
    }

    fn kubeconfig_with(&self, dir: &Path, cluster: &str, user: &str) -> PathBuf {
        let user = user.replace('\n', "\n    ");
        let cluster = cluster.replace('\n', "\n    ");
        let text = format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: {url}
    {cluster}
users:
- name: checker
  user:
    {user}
contexts:
- name: fake
  context: {{cluster: fake, user: checker, namespace: mail}}
- name: other
  context: {{cluster: fake, user: checker, namespace: other}}
current-context: fake
",
            url = self.url
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }
}

/// A certificate with its key.
struct Certified {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A CA, and the server certificate for 127.0.0.1 and a client certificate it signed.
struct Pki {
    ca: rcgen::Certificate,
    server: Certified,
    client: Certified,
}

/// The names the server certificate is valid for.
fn server_names() -> Vec<String> {
    vec!["127.0.0.1".to_string(), "localhost".to_string()]
}

/// A self-signed certificate for 127.0.0.1 that says `CA:TRUE`, as `openssl req -x509`
/// and several appliances and dev clusters make their API server's.
pub fn self_signed_ca_certificate() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(server_names()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let cert = params.self_signed(&key).expect("self-signed certificate");
    (cert, key)
}

impl Pki {
    fn new(self_signed_server: bool) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake-kubernetes-ca");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let sign = |mut params: CertificateParams, usage: ExtendedKeyUsagePurpose| {
            params.extended_key_usages = vec![usage];
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, &issuer).expect("certificate");
            Certified { cert, key }
        };
        let server = if self_signed_server {
            let (cert, key) = self_signed_ca_certificate();
            Certified { cert, key }
        } else {
            sign(
                CertificateParams::new(server_names()).expect("server params"),
                ExtendedKeyUsagePurpose::ServerAuth,
            )
        };
        let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "checker");
        let client = sign(client_params, ExtendedKeyUsagePurpose::ClientAuth);
        Pki {
            ca: ca_cert,
            server,
            client,
        }
    }
}

/// The server's TLS: its certificate, HTTP/2 and HTTP/1.1, and when asked a client
/// certificate from the CA.
fn tls_config(pki: &Pki, client_certificates: bool) -> RustlsConfig {
    let builder = rustls::ServerConfig::builder();
    let builder = if client_certificates {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.der().clone()).expect("the CA");
        let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key = rustls::pki_types::PrivateKeyDer::try_from(pki.server.key.serialize_der())
        .expect("server key");
    let mut config = builder
        .with_single_cert(vec![pki.server.cert.der().clone()], key)
        .expect("server TLS config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    RustlsConfig::from_config(Arc::new(config))
}

pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    shared.requests.lock().expect("request log").push(
        uri.path_and_query()
            .map_or(String::new(), |p| p.to_string()),
    );
    let bearer = format!("Bearer {TOKEN}");
    let token = headers.get("authorization").and_then(|h| h.to_str().ok());
    // A client certificate was checked in the handshake already.
    if !shared.cluster.client_certificates && token != Some(bearer.as_str()) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let cluster = &shared.cluster;
    let (group, version, rest) = match segments.as_slice() {
        ["api"] => {
            return json_ok(json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}));
        }
        ["apis"] => return json_ok(group_list(cluster)),
        ["api", "v1"] => return resource_list(cluster, "", "v1"),
        ["apis", group, version] => return resource_list(cluster, group, version),
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return not_found(),
    };
    let (namespace, plural, name) = match rest {
        ["namespaces", namespace, plural] => (Some(*namespace), *plural, None),
        ["namespaces", namespace, plural, name] => (Some(*namespace), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return not_found(),
    };
    let Some(resource) =
        served(cluster).find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return not_found();
    };
    let target = Target {
        resource,
        namespace,
        name,
    };
    let watching = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (&method, name) {
        (&Method::GET, None) if watching => watch(&shared, &target, &query),
        (&Method::GET, None) => list(&shared, &target, &query).await,
        (&Method::GET, Some(_)) => get(&shared, &target),
        _ => write(&shared, &method, uri.path(), &target, &body),
    }
}

/// What a request is about: a resource, in a namespace or not, one object or all.
struct Target<'a> {
    resource: &'static Resource,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
}

impl Target<'_> {
    fn api_version(&self) -> String {
        if self.resource.group.is_empty() {
            self.resource.version.to_string()
        } else {
            format!("{}/{}", self.resource.group, self.resource.version)
        }
    }

    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            api_version: self.api_version(),
            kind: self.resource.kind.to_string(),
            namespace: self.namespace.unwrap_or_default().to_string(),
            name: name.to_string(),
        }
    }

    /// Whether an object is of this resource, and in the namespace asked for.
    fn holds(&self, object: &Value) -> bool {
        object["apiVersion"] == self.api_version().as_str()
            && object["kind"] == self.resource.kind
            && self
                .namespace
                .is_none_or(|ns| object["metadata"]["namespace"] == ns)
    }
}

fn get(shared: &Shared, target: &Target) -> Response {
    let key = target.key(target.name.unwrap_or_default());
    let store = shared.store();
    match store.objects.iter().find(|o| key.matches(o)) {
        Some(object) => json_ok(object.clone()),
        None => object_not_found(target.resource, &key.name),
    }
}

/// POST to a collection; PUT, PATCH (server-side apply) and DELETE of one object.
fn write(shared: &Shared, method: &Method, path: &str, target: &Target, body: &[u8]) -> Response {
    let sent: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (response, version) = {
        let mut store = shared.store();
        let (response, changed) = if store.fails(method, target.resource.plural) {
            let message =
                "Internal error occurred: the fake API server was told to fail this write";
            let response = status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message);
            (response, false)
        } else {
            apply_write(&mut store, method, target, sent.clone())
        };
        // Recorded with the change, so that a test that sees one sees the other.
        store.writes.push(Write {
            method: method.to_string(),
            path: path.to_string(),
            status: response.status().as_u16(),
            body: sent,
        });
        (response, changed.then_some(store.version))
    };
    if let Some(version) = version {
        shared.changed.send_replace(version);
    }
    response
}

/// A write on the store: the answer, and whether anything changed.
fn apply_write(
    store: &mut Store,
    method: &Method,
    target: &Target,
    mut sent: Value,
) -> (Response, bool) {
    let resource = target.resource;
    // The object as stored: with its type, and the namespace of its URL.
    sent["apiVersion"] = json!(target.api_version());
    sent["kind"] = json!(resource.kind);
    if let Some(namespace) = target.namespace {
        sent["metadata"]["namespace"] = json!(namespace);
    }
    let name = match target.name {
        Some(name) => name.to_string(),
        None => sent["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let key = target.key(&name);
    let found = store.position(&key).map(|at| store.objects[at].clone());
    match (method, target.name, found) {
        (&Method::POST, None, Some(_)) => (already_exists(resource, &name), false),
        (&Method::POST, None, None) => (created(store.put(sent)), true),
        (&Method::PUT, Some(_), None) => (object_not_found(resource, &name), false),
        (&Method::PUT, Some(_), Some(old)) => {
            if sent["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"] {
                return (conflict(resource, &name), false);
            }
            sent["metadata"]["uid"] = old["metadata"]["uid"].clone();
            (json_ok(store.put(sent)), true)
        }
        // Server-side apply, simplified: the applied object replaces the stored one (this
        // server has one field manager per object); unchanged content keeps its version.
        (&Method::PATCH, Some(_), None) => (created(store.put(sent)), true),
        (&Method::PATCH, Some(_), Some(old)) => {
            for field in ["uid", "creationTimestamp", "resourceVersion"] {
                sent["metadata"][field] = old["metadata"][field].clone();
            }
            if sent == old {
                return (json_ok(old), false);
            }
            (json_ok(store.put(sent)), true)
        }
        (&Method::DELETE, Some(_), None) => (object_not_found(resource, &name), false),
        (&Method::DELETE, Some(_), Some(old)) => {
            let preconditions = &sent["preconditions"];
            let unmet = ["uid", "resourceVersion"].iter().any(|field| {
                let wanted = &preconditions[field];
                !wanted.is_null() && *wanted != old["metadata"][field]
            });
            if unmet {
                return (conflict(resource, &name), false);
            }
            store.remove(&key);
            let done = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Success", "details": {"name": name, "group": resource.group,
                "kind": resource.plural, "uid": old["metadata"]["uid"]}});
            (json_ok(done), true)
        }
        _ => (
            status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
            false,
        ),
    }
}

fn created(object: Value) -> Response {
    (StatusCode::CREATED, axum::Json(object)).into_response()
}

fn qualified(resource: &Resource) -> String {
    if resource.group.is_empty() {
        resource.plural.to_string()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    }
}

fn object_not_found(resource: &Resource, name: &str) -> Response {
    let message = format!("{} \"{name}\" not found", qualified(resource));
    status(StatusCode::NOT_FOUND, "NotFound", &message)
}

fn already_exists(resource: &Resource, name: &str) -> Response {
    let message = format!("{} \"{name}\" already exists", qualified(resource));
    status(StatusCode::CONFLICT, "AlreadyExists", &message)
}

fn conflict(resource: &Resource, name: &str) -> Response {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
         please apply your changes to the latest version and try again",
        qualified(resource)
    );
    status(StatusCode::CONFLICT, "Conflict", &message)
}

/// What a watch streams: the changes to objects of the target after `since`.
struct WatchFilter {
    target_api_version: String,
    kind: &'static str,
    namespace: Option<String>,
    by_name: Option<String>,
    selector: Option<Selector>,
}

impl WatchFilter {
    fn admits(&self, object: &Value) -> bool {
        object["apiVersion"] == self.target_api_version.as_str()
            && object["kind"] == self.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| object["metadata"]["namespace"] == ns.as_str())
            && self
                .by_name
                .as_ref()
                .is_none_or(|name| object["metadata"]["name"] == name.as_str())
            && self
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&object["metadata"]["labels"]))
    }
}

/// `?watch=true`: the changes after `resourceVersion` (the list's, for a reflector), one
/// JSON event per line, then every later change, until the client goes.
fn watch(shared: &Arc<Shared>, target: &Target, query: &BTreeMap<String, String>) -> Response {
    let selector = match query.get("labelSelector").map(|s| Selector::parse(s)) {
        Some(Ok(selector)) => Some(selector),
        Some(Err(message)) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        None => None,
    };
    let filter = WatchFilter {
        target_api_version: target.api_version(),
        kind: target.resource.kind,
        namespace: target.namespace.map(str::to_string),
        by_name: query
            .get("fieldSelector")
            .and_then(|f| f.strip_prefix("metadata.name="))
            .map(str::to_string),
        selector,
    };
    let since = query
        .get("resourceVersion")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or_else(|| shared.store().version);
    // Subscribed before the store is read, so no change falls between the two.
    let changed = shared.changed.subscribe();
    let state = (shared.clone(), filter, since, changed);
    let events = futures::stream::unfold(
        state,
        |(shared, filter, mut since, mut changed)| async move {
            loop {
                let _ = changed.borrow_and_update();
                let lines: String = {
                    let store = shared.store();
                    let lines = store
                        .events
                        .iter()
                        .filter(|(version, _, object)| *version > since && filter.admits(object))
                        .map(|(_, kind, object)| {
                            format!("{}\n", json!({"type": kind, "object": object}))
                        })
                        .collect();
                    since = store.version;
                    lines
                };
                if !lines.is_empty() {
                    let chunk = Ok::<_, std::convert::Infallible>(Bytes::from(lines));
                    return Some((chunk, (shared, filter, since, changed)));
                }
                if changed.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    (
        [("content-type", "application/json")],
        axum::body::Body::from_stream(events),
    )
        .into_response()
}

fn served(cluster: &Cluster) -> impl Iterator<Item = &'static Resource> + '_ {
    RESOURCES
        .iter()
        .filter(|r| cluster.gateway_api || r.group != GATEWAY_GROUP)
        .filter(|r| cluster.traefik || r.group != TRAEFIK_GROUP)
        .filter(|r| cluster.policy_reports || r.group != POLICY_REPORT_GROUP)
        .filter(|r| !cluster.unserved.contains(&r.plural))
}

fn group_list(cluster: &Cluster) -> Value {
    let mut groups: Vec<(&str, &str)> = served(cluster)
        .filter(|r| !r.group.is_empty())
        .map(|r| (r.group, r.version))
        .collect();
    groups.dedup();
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, version)| {
            let version = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [version.clone()], "preferredVersion": version})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(cluster: &Cluster, group: &str, version: &str) -> Response {
    let resources: Vec<Value> = served(cluster)
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        })
        .collect();
    if resources.is_empty() {
        return not_found();
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json_ok(json!({"kind": "APIResourceList", "apiVersion": "v1",
        "groupVersion": group_version, "resources": resources}))
}

/// `[namespaces/<ns>/]<plural>`: a list, in the order etcd keeps (namespace, name).
async fn list(shared: &Shared, target: &Target<'_>, query: &BTreeMap<String, String>) -> Response {
    let cluster = &shared.cluster;
    let (resource, namespace, plural) = (target.resource, target.namespace, target.resource.plural);
    if let Some((_, delay)) = cluster.slow.iter().find(|(p, _)| *p == plural) {
        tokio::time::sleep(*delay).await;
    }
    if let Some((_, seconds)) = cluster.throttled.iter().find(|(p, _)| *p == plural) {
        let mut response = status(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "slow down",
        );
        response.headers_mut().insert(
            "retry-after",
            seconds.to_string().parse().expect("a header"),
        );
        return response;
    }
    if cluster.redirected.contains(&plural) {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header("location", "https://elsewhere.example/api/v1/services")
            .body(axum::body::Body::empty())
            .expect("a redirect");
    }
    let by_name = query
        .get("fieldSelector")
        .and_then(|f| f.strip_prefix("metadata.name="));
    if cluster.forbidden.contains(&plural)
        || !rbac_allows_list(cluster, resource, namespace, by_name)
    {
        return forbidden(resource, namespace);
    }
    let selector = match query.get("labelSelector").map(|s| Selector::parse(s)) {
        Some(Ok(selector)) => Some(selector),
        Some(Err(message)) => return status(StatusCode::BAD_REQUEST, "BadRequest", &message),
        None => None,
    };
    let api_version = target.api_version();
    let group = resource.group;
    let (objects, list_version) = {
        let store = shared.store();
        (store.objects.clone(), store.version)
    };
    let mut items: Vec<&Value> = objects
        .iter()
        .filter(|o| target.holds(o))
        .filter(|o| by_name.is_none_or(|name| o["metadata"]["name"] == name))
        .filter(|o| {
            selector
                .as_ref()
                .is_none_or(|s| s.matches(&o["metadata"]["labels"]))
        })
        .collect();
    items.sort_by_key(|o| {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        (
            text(&o["metadata"]["namespace"]),
            text(&o["metadata"]["name"]),
        )
    });
    let start: usize = match query.get("continue").map(|t| t.strip_prefix("page-at-")) {
        Some(Some(offset)) => offset.parse().unwrap_or(usize::MAX),
        Some(None) => return status(StatusCode::BAD_REQUEST, "BadRequest", "bad continue token"),
        None => 0,
    };
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = items
        .iter()
        .skip(start)
        .take(limit)
        .map(|o| wire_item(o, group))
        .collect();
    let mut metadata = json!({"resourceVersion": list_version.to_string()});
    let next = start.saturating_add(page.len());
    if next < items.len() {
        metadata["continue"] = json!(format!("page-at-{next}"));
        metadata["remainingItemCount"] = json!(items.len() - next);
    }
    if cluster.repeating_continue.contains(&plural) {
        metadata["continue"] = json!("page-at-0");
    }
    let mut body = json!({"kind": format!("{}List", resource.kind), "apiVersion": api_version,
        "metadata": metadata, "items": page});
    if let Some((_, bytes)) = cluster.padded.iter().find(|(p, _)| *p == plural) {
        body["padding"] = json!(" ".repeat(*bytes));
    }
    json_ok(body)
}

/// Whether a ClusterRole, or a Role of the namespace listed in, allows `list` on the
/// resource. With no roles, everything is allowed. A rule with `resourceNames` allows a
/// list only when its `metadata.name` field selector names one of them, as RBAC does.
fn rbac_allows_list(
    cluster: &Cluster,
    resource: &Resource,
    namespace: Option<&str>,
    by_name: Option<&str>,
) -> bool {
    let names = |v: &Value, wanted: &str| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|x| x == wanted || x == "*"))
    };
    cluster.roles.is_empty()
        || cluster.roles.iter().any(|role| {
            let applies = role["kind"] == "ClusterRole"
                || (role["kind"] == "Role"
                    && namespace.is_some_and(|ns| role["metadata"]["namespace"] == ns));
            applies
                && role["rules"].as_array().is_some_and(|rules| {
                    rules.iter().any(|rule| {
                        let named = match rule["resourceNames"].as_array() {
                            None => true,
                            Some(allowed) => {
                                by_name.is_some_and(|name| allowed.iter().any(|n| n == name))
                            }
                        };
                        names(&rule["apiGroups"], resource.group)
                            && names(&rule["resources"], resource.plural)
                            && names(&rule["verbs"], "list")
                            && named
                    })
                })
        })
}

/// The API server sends list items of built-in kinds without `apiVersion` and `kind`;
/// custom resources keep them.
fn wire_item(object: &Value, group: &str) -> Value {
    let mut item = object.clone();
    if group != GATEWAY_GROUP
        && group != POLICY_REPORT_GROUP
        && let Some(map) = item.as_object_mut()
    {
        map.remove("apiVersion");
        map.remove("kind");
    }
    item
}

/// Equality-based selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, joined by commas.
struct Selector(Vec<(String, Requirement)>);

enum Requirement {
    Equals(String),
    NotEquals(String),
    Exists,
    Absent,
}

impl Selector {
    fn parse(text: &str) -> Result<Selector, String> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim) {
            let requirement = if let Some((key, value)) = part.split_once("!=") {
                (key, Requirement::NotEquals(value.into()))
            } else if let Some((key, value)) = part.split_once("==").or(part.split_once('=')) {
                (key, Requirement::Equals(value.into()))
            } else if let Some(key) = part.strip_prefix('!') {
                (key, Requirement::Absent)
            } else if !part.is_empty() && !part.contains([' ', '(']) {
                (part, Requirement::Exists)
            } else {
                return Err(format!("unable to parse requirement: {part:?}"));
            };
            requirements.push((requirement.0.trim().to_string(), requirement.1));
        }
        Ok(Selector(requirements))
    }

    fn matches(&self, labels: &Value) -> bool {
        self.0.iter().all(|(key, requirement)| {
            let value = labels.get(key).and_then(Value::as_str);
            match requirement {
                Requirement::Equals(want) => value == Some(want.as_str()),
                Requirement::NotEquals(unwanted) => value != Some(unwanted.as_str()),
                Requirement::Exists => value.is_some(),
                Requirement::Absent => value.is_none(),
            }
        })
    }
}

fn forbidden(resource: &Resource, namespace: Option<&str>) -> Response {
    let qualified = if resource.group.is_empty() {
        resource.plural.to_string()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    let place = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".into(),
    };
    let message = format!(
        "{qualified} is forbidden: User \"system:serviceaccount:mail:checker\" cannot list \
         resource \"{}\" in API group \"{}\" {place}",
        resource.plural, resource.group
    );
    let mut body = status_body(StatusCode::FORBIDDEN, "Forbidden", &message);
    body["details"] = json!({"group": resource.group, "kind": resource.plural});
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    (code, axum::Json(status_body(code, reason, message))).into_response()
}

fn status_body(code: StatusCode, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()})
}

fn json_ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

#[test]
fn base64_matches_rfc_4648() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}
