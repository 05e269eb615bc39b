//! The HTTP client for the API server. It is kube's own stack (base URI, credentials and
//! exec plugins, extra headers, retries on 429/503/504, HTTP/1.1 over rustls with ring),
//! assembled here rather than by `Client::try_from` for one reason: kube gives no way to
//! choose the certificate verifier, and kubectl's trust needs its own (see trust.rs).
//! Proxies are kube's too: `proxy-url` with `http://` (CONNECT, with basic credentials
//! from the URL) or `socks5://` / `socks5h://`.

use std::sync::Arc;

use base64::Engine as _;
use http::{HeaderValue, Uri};
use hyper_rustls::FixedServerNameResolver;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use http_body_util::Limited;
use kube::client::{Body, ConfigExt};
use kube::{Client, Config};
use tower::retry::{Policy, RetryLayer};
use tower::{BoxError, Service, ServiceBuilder};

use super::trust::{KubectlTrust, TrustError};

/// Why no client could be made from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("tls-server-name `{0}` is not a valid host name")]
    ServerName(String),
    #[error("proxy-url `{0}`: only http://, socks5:// and socks5h:// proxies are supported")]
    ProxyScheme(String),
}

/// A client for the API server of `config`.
pub fn build(config: &Config) -> Result<Client, ClientError> {
    let tls = tls_config(config)?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    let Some(proxy) = &config.proxy_url else {
        return finish(config, http, tls);
    };
    match proxy.scheme_str() {
        Some("http") => finish(config, tunnel(proxy, http), tls),
        // `socks5h`: the proxy resolves the host name, as curl and Go mean it.
        Some(scheme @ ("socks5" | "socks5h")) => {
            let mut socks = SocksV5::new(proxy.clone(), http).local_dns(scheme == "socks5");
            if let Some((user, password)) = userinfo(proxy) {
                socks = socks.with_auth(user, password);
            }
            finish(config, socks, tls)
        }
        _ => Err(ClientError::ProxyScheme(proxy.to_string())),
    }
}

/// kube's rustls configuration (client certificate, roots, `insecure-skip-tls-verify`),
/// with kubectl's verifier for the kubeconfig's roots. In a pod, kube's own verifier
/// stays: it re-reads the service account's CA bundle when it rotates.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig, ClientError> {
    let mut tls = config.rustls_client_config()?;
    if let (false, None, Some(roots)) = (
        config.accept_invalid_certs,
        &config.root_cert_file,
        &config.root_cert,
    ) {
        tls.dangerous()
            .set_certificate_verifier(Arc::new(KubectlTrust::new(roots)?));
    }
    Ok(tls)
}

/// An HTTP CONNECT tunnel through the proxy, with `user:password@` as basic credentials.
fn tunnel(proxy: &Uri, http: HttpConnector) -> Tunnel<HttpConnector> {
    let tunnel = Tunnel::new(proxy.clone(), http);
    let Some((user, password)) = userinfo(proxy) else {
        return tunnel;
    };
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    match HeaderValue::from_str(&format!("Basic {token}")) {
        Ok(header) => tunnel.with_auth(header),
        Err(_) => tunnel,
    }
}

/// The percent-decoded `user:password` of a proxy URL.
fn userinfo(proxy: &Uri) -> Option<(String, String)> {
    let authority = proxy.authority()?.as_str();
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some((percent_decode(user), percent_decode(password)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// TLS over the connector, then kube's layers, as `Client::try_from` stacks them.
fn finish<H>(
    config: &Config,
    connector: H,
    tls: rustls::ClientConfig,
) -> Result<Client, ClientError>
where
    H: Service<Uri> + Clone + Send + Sync + 'static,
    H::Response: Connection + hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static,
    H::Future: Send + 'static,
    H::Error: Into<BoxError>,
{
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let server_name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|_| ClientError::ServerName(name.clone()))?;
        https = https.with_server_name_resolver(FixedServerNameResolver::new(server_name));
    }
    let https = https.enable_http1().wrap_connector(connector);
    let http_client =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https);
    let retry = config
        .default_retry
        .then(|| RetryLayer::new(Throttled::default()));
    let server = config.cluster_url.clone();
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .and_then(move |response| bounded(response, server.clone()))
        .service(http_client);
    Ok(Client::new(service, config.default_namespace.clone()))
}

/// The most bytes one answer of the API server may have: a page of 500 objects is a few
/// MiB at most.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How many times a 429 (or 503, 504) is retried, and the longest wait honoured.
pub const MAX_RETRIES: u32 = 3;
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// An answer the client will not take.
#[derive(Debug, thiserror::Error)]
pub enum Unfollowed {
    #[error("the API server answered {status} to {place}, not followed")]
    Redirect { status: StatusCode, place: String },
}

/// Refuses redirects (the credentials would follow them) and caps the body's size.
async fn bounded<B>(response: Response<B>, server: Uri) -> Result<Response<Limited<B>>, BoxError> {
    if response.status().is_redirection() {
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default();
        let target: Option<Uri> = location.parse().ok();
        let elsewhere = target
            .as_ref()
            .and_then(Uri::host)
            .is_some_and(|host| Some(host) != server.host());
        let place = match elsewhere {
            true => format!("another host ({})", shorten(location)),
            false => shorten(location),
        };
        let status = response.status();
        return Err(Box::new(Unfollowed::Redirect { status, place }));
    }
    Ok(response.map(|body| Limited::new(body, MAX_RESPONSE_BYTES)))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// Retries a throttled or unavailable API server [`MAX_RETRIES`] times, waiting what its
/// `Retry-After` says (at most [`MAX_RETRY_AFTER`]), else 0.5 s, 1 s, 2 s.
#[derive(Clone, Default)]
struct Throttled {
    attempts: u32,
}

impl<R> Policy<Request<Body>, Response<R>, BoxError> for Throttled {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _request: &mut Request<Body>,
        result: &mut Result<Response<R>, BoxError>,
    ) -> Option<Self::Future> {
        let response = result.as_ref().ok()?;
        let retried = matches!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        );
        if !retried || self.attempts >= MAX_RETRIES {
            return None;
        }
        let backoff = Duration::from_millis(500) * 2u32.pow(self.attempts);
        self.attempts += 1;
        let asked = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let wait = asked.unwrap_or(backoff).min(MAX_RETRY_AFTER);
        Some(tokio::time::sleep(wait))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        let body = request.body().try_clone()?;
        let mut clone = Request::builder()
            .method(request.method().clone())
            .uri(request.uri().clone())
            .version(request.version())
            .body(body)
            .ok()?;
        *clone.headers_mut() = request.headers().clone();
        *clone.extensions_mut() = request.extensions().clone();
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_percent_decoded() {
        let proxy: Uri = "http://user:pa%40ss%3Aword@127.0.0.1:3128"
            .parse()
            .expect("a URI");
        assert_eq!(
            userinfo(&proxy),
            Some(("user".to_string(), "pa@ss:word".to_string()))
        );
        let bare: Uri = "http://127.0.0.1:3128".parse().expect("a URI");
        assert_eq!(userinfo(&bare), None);
    }
}
