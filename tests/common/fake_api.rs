//! A small Kubernetes API server for tests: HTTPS on loopback with an rcgen CA, bearer
//! token authentication, and the real wire format for what `iredmail-ports cluster`
//! asks: discovery (`/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`), and lists
//! (`<Kind>List` with `metadata.resourceVersion`) in one namespace or all, with
//! `labelSelector` (equality-based), `limit` and `metadata.continue` pagination, a 401
//! `Status` for a wrong token and a 403 `Status` for the resources it is told to refuse.
//! It can authenticate callers by client certificate (mutual TLS) instead of a token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
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
}

/// A running server; it stops when dropped.
pub struct FakeApi {
    pub url: String,
    /// What the kubeconfig trusts: the CA, or the self-signed server certificate.
    ca_pem: String,
    server_pem: String,
    client: Certified,
    requests: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

struct Shared {
    cluster: Cluster,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeApi {
    pub fn start(cluster: Cluster) -> FakeApi {
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
        let shared = Arc::new(Shared {
            cluster,
            requests: requests.clone(),
        });
        let app = Router::new().fallback(answer).with_state(shared);
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
            _runtime: runtime,
        }
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
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
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
    match segments.as_slice() {
        ["api"] => json_ok(json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})),
        ["apis"] => json_ok(group_list(cluster)),
        ["api", "v1"] => resource_list(cluster, "", "v1"),
        ["apis", group, version] => resource_list(cluster, group, version),
        ["api", "v1", rest @ ..] => list(cluster, "", "v1", rest, &query).await,
        ["apis", group, version, rest @ ..] => list(cluster, group, version, rest, &query).await,
        _ => not_found(),
    }
}

fn served(cluster: &Cluster) -> impl Iterator<Item = &'static Resource> + '_ {
    RESOURCES
        .iter()
        .filter(|r| cluster.gateway_api || r.group != GATEWAY_GROUP)
        .filter(|r| cluster.traefik || r.group != TRAEFIK_GROUP)
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
async fn list(
    cluster: &Cluster,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &BTreeMap<String, String>,
) -> Response {
    let (namespace, plural) = match rest {
        ["namespaces", namespace, plural] => (Some(*namespace), *plural),
        [plural] => (None, *plural),
        _ => return not_found(),
    };
    let Some(resource) =
        served(cluster).find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return not_found();
    };
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
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut items: Vec<&Value> = cluster
        .objects
        .iter()
        .filter(|o| o["apiVersion"] == api_version.as_str() && o["kind"] == resource.kind)
        .filter(|o| namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns))
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
    let mut metadata = json!({"resourceVersion": "4711"});
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
