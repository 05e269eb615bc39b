//! The server certificate: loaded at start, reloaded when its files change.
//!
//! cert-manager rotates the certificate by rewriting the Secret, which the kubelet swaps
//! into the volume (a new `..data` symlink). Polling the files' content every few seconds
//! sees that whatever the file system reports about times, and a reload only swaps the
//! configuration new handshakes use: open connections keep theirs, none is dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;

use super::ServeError;
use super::metrics::Metrics;

/// The certificate and key files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The two files' bytes, read together.
#[derive(Debug, PartialEq, Eq)]
struct Pem {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl CertFiles {
    async fn read(&self) -> std::io::Result<Pem> {
        Ok(Pem {
            cert: tokio::fs::read(&self.cert).await?,
            key: tokio::fs::read(&self.key).await?,
        })
    }

    fn error(&self, source: std::io::Error) -> ServeError {
        ServeError::Tls {
            cert: self.cert.clone(),
            key: self.key.clone(),
            source,
        }
    }

    /// The TLS configuration of the files as they are now (ALPN offers h2 and
    /// http/1.1).
    pub async fn load(&self) -> Result<RustlsConfig, ServeError> {
        let pem = self.read().await.map_err(|e| self.error(e))?;
        RustlsConfig::from_pem(pem.cert, pem.key)
            .await
            .map_err(|e| self.error(e))
    }

    /// Polls the files every `interval` and reloads `config` when they change. A pair that
    /// does not load (cert-manager writes the files one after the other) is retried when
    /// a file changes again; the previous certificate stays in use meanwhile.
    pub async fn reload_on_change(
        self,
        config: RustlsConfig,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) {
        let mut current = self.read().await.ok();
        // A pair that failed is not tried again until a file changes once more.
        let mut failed: Option<Pem> = None;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let pem = match self.read().await {
                Ok(pem) => pem,
                Err(error) => {
                    tracing::warn!(cert = %self.cert.display(), key = %self.key.display(), %error, "cannot read the TLS files; keeping the current certificate");
                    continue;
                }
            };
            if current.as_ref() == Some(&pem) || failed.as_ref() == Some(&pem) {
                continue;
            }
            match config
                .reload_from_pem(pem.cert.clone(), pem.key.clone())
                .await
            {
                Ok(()) => {
                    tracing::info!(cert = %self.cert.display(), "reloaded the TLS certificate");
                    metrics.record_reload(true);
                    current = Some(pem);
                    failed = None;
                }
                Err(error) => {
                    tracing::warn!(cert = %self.cert.display(), key = %self.key.display(), %error, "the new TLS files do not load; keeping the current certificate");
                    metrics.record_reload(false);
                    failed = Some(pem);
                }
            }
        }
    }
}
