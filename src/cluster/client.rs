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
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use kube::{Client, Config};
use tower::retry::RetryLayer;
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
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(Client::new(service, config.default_namespace.clone()))
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
