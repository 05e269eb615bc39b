//! Which API server certificates to trust: what kubectl (Go's crypto/x509) trusts.
//!
//! A kubeconfig's `certificate-authority(-data)` is a pool of roots. Go accepts a server
//! certificate that chains to one of them, and also one that *is* one of them, byte for
//! byte: `Verify` short-circuits chain building when the pool contains the presented
//! certificate, then checks only what it checks of every leaf (validity dates, the host
//! name, the extended key usage). That is how clusters with a self-signed API server
//! certificate (`openssl req -x509`, some appliances and dev clusters) work with kubectl.
//! rustls's webpki refuses the same certificate (`CaUsedAsEndEntity` when it carries
//! `CA:TRUE`, `UnknownIssuer` when it is a leaf of an issuer that is not pinned), so this
//! verifier first verifies the chain as webpki does and, when that fails, accepts a pinned
//! certificate on Go's terms. The handshake signature is then checked against the pinned
//! certificate's key, with the same ring provider, which proves the server holds it. As
//! in Go, the pinned certificate's own signature is not checked: a root is trusted as
//! given, not because of who signed it.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A kubeconfig's roots that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("the certificate-authority of the kubeconfig holds an unusable certificate")]
    Root(#[source] rustls::Error),
    #[error("the certificate-authority of the kubeconfig holds no usable certificate")]
    Verifier(#[source] rustls::client::VerifierBuilderError),
}

/// Chains to a root of the kubeconfig, or is one of them.
#[derive(Debug)]
pub struct KubectlTrust {
    chains: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl KubectlTrust {
    /// The roots as kube reads them from the kubeconfig: DER, one per PEM block.
    pub fn new(roots: &[Vec<u8>]) -> Result<KubectlTrust, TrustError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pinned: Vec<CertificateDer<'static>> = roots
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        let mut store = RootCertStore::empty();
        for root in &pinned {
            store.add(root.clone()).map_err(TrustError::Root)?;
        }
        let chains = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
            .build()
            .map_err(TrustError::Verifier)?;
        Ok(KubectlTrust { chains, pinned })
    }

    fn is_pinned(&self, certificate: &CertificateDer<'_>) -> bool {
        self.pinned
            .iter()
            .any(|pin| pin.as_ref() == certificate.as_ref())
    }
}

impl ServerCertVerifier for KubectlTrust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chained = self.chains.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match chained {
            Ok(verified) => Ok(verified),
            Err(_) if self.is_pinned(end_entity) => {
                verify_pinned(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
            Err(error) => Err(untrusted(error, end_entity)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chains.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chains.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chains.supported_verify_schemes()
    }
}

/// What Go checks of a certificate its root pool contains: the validity dates, the host
/// name (or `tls-server-name`), and that an extended key usage, if any, allows a server.
fn verify_pinned(
    certificate: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate).map_err(|_| bad())?;
    let validity = parsed.validity();
    let seconds = |time: &x509_parser::time::ASN1Time| {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(time.timestamp()).unwrap_or(0),
        ))
    };
    let (not_before, not_after) = (seconds(&validity.not_before), seconds(&validity.not_after));
    if now.as_secs() < not_before.as_secs() {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before,
        }
        .into());
    }
    if now.as_secs() > not_after.as_secs() {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after,
        }
        .into());
    }
    rustls::client::verify_server_name(&ParsedCertificate::try_from(certificate)?, server_name)?;
    let usage = parsed.extended_key_usage().map_err(|_| bad())?;
    if usage.is_some_and(|usage| !usage.value.any && !usage.value.server_auth) {
        return Err(CertificateError::InvalidPurpose.into());
    }
    Ok(())
}

/// webpki says `CaUsedAsEndEntity` for a self-signed CA certificate that is not pinned;
/// what that means to the user is that the certificate is not trusted, as Go says.
fn untrusted(error: rustls::Error, certificate: &CertificateDer<'_>) -> rustls::Error {
    let self_signed = x509_parser::parse_x509_certificate(certificate)
        .is_ok_and(|(_, parsed)| parsed.subject() == parsed.issuer());
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if self_signed
                && matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
        {
            CertificateError::UnknownIssuer.into()
        }
        error => error,
    }
}
