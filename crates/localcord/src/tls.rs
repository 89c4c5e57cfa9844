//! A throw-away certificate authority and a server certificate for `discord.com` (plus
//! `localhost` and 127.0.0.1), so a client that trusts the CA and resolves discord.com to the
//! local server speaks real HTTPS to it. That is the only way to keep serenity's rate limiter
//! on in tests: with its rate limiter enabled serenity ignores the proxy URL (serenity #1739).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// Errors building the test CA or the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating a test certificate failed: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("building the TLS configuration failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The test CA (its PEM is what clients must trust) and the server's TLS configuration.
pub(crate) struct TestTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

pub(crate) fn build() -> Result<TestTls, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "localcord test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(vec![
        "discord.com".to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "discord.com");
    let server_cert = server_params.signed_by(&server_key, &ca)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone(), ca.der().clone()], key)?;
    Ok(TestTls {
        ca_pem: ca.pem(),
        server_config: Arc::new(config),
    })
}
