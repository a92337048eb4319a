//! TLS to a PostgreSQL broker: the URL's `sslmode`, a rustls connector (no OpenSSL to
//! install), and the CA it trusts: `--broker-ca` ([`crate::broker::tls::ca`]) or the
//! system's roots (`rustls-native-certs`).
//!
//! | `sslmode` | hunt does |
//! |---|---|
//! | absent, `disable`, `prefer` | no TLS, as before TLS was built (`prefer` never upgrades: a server whose certificate hunt cannot check is not half-trusted) |
//! | `require`, `verify-ca` | TLS; the certificate's chain checked against the CA, not its host name |
//! | `verify-full` | TLS; the chain and the host name checked |
//!
//! Unlike libpq, `require` checks the chain (libpq does so only when a root
//! certificate file exists): hunt never sends a password over a connection it cannot
//! authenticate.

use anyhow::{anyhow, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// No TLS.
    Off,
    /// TLS, the chain checked (`require`, `verify-ca`).
    Chain,
    /// TLS, the chain and the host name checked (`verify-full`).
    Full,
}

/// `url` as the `postgres` crate reads it (which knows `disable`, `prefer` and
/// `require` only: `verify-ca` and `verify-full` become `require`), and its mode.
pub(super) fn split(url: &str) -> (String, Mode) {
    let Some((head, query)) = url.split_once('?') else {
        return (url.to_string(), Mode::Off);
    };
    let mut mode = Mode::Off;
    let params: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("sslmode") => {
                mode = match v.to_ascii_lowercase().as_str() {
                    "require" | "verify-ca" => Mode::Chain,
                    "verify-full" => Mode::Full,
                    _ => Mode::Off,
                };
                match mode {
                    Mode::Off => kv.to_string(),
                    _ => format!("{k}=require"),
                }
            }
            _ => kv.to_string(),
        })
        .collect();
    (format!("{head}?{}", params.join("&")), mode)
}

/// The connector of `mode` (`None` for [`Mode::Off`]), trusting `--broker-ca` or the
/// system's roots.
pub(super) fn connector(mode: Mode) -> Result<Option<MakeRustlsConnect>> {
    if mode == Mode::Off {
        return Ok(None);
    }
    // ring, not aws-lc-rs, so no C toolchain beyond cc is needed to build hunt (rustls
    // 0.23.48 marks ring's provider deprecated for lacking post-quantum key exchange).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = RootCertStore::empty();
    match crate::broker::tls::ca() {
        Some(ca) => {
            for c in ca.certificates() {
                roots.add(c).map_err(|e| {
                    anyhow!(
                        "--broker-ca {}: a certificate in it cannot be a trust anchor ({e}): give the CA's own certificate",
                        ca.path.display()
                    )
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(anyhow!("this host has no system CA certificates to check the broker's certificate: give the CA with --broker-ca FILE (or install ca-certificates)"));
            }
        }
    }
    let roots = Arc::new(roots);
    let builder = rustls::ClientConfig::builder();
    let config = match mode {
        Mode::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        _ => {
            let inner = WebPkiServerVerifier::builder(roots)
                .build()
                .map_err(|e| anyhow!("cannot check certificates with this CA: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
                .with_no_client_auth()
        }
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// `verify-ca`: the chain checked as rustls checks it, a certificate for another host
/// name let through (the chain is checked before the name, so a name error means the
/// chain was good).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_rewritten_for_the_client() {
        assert_eq!(split("postgres://u@h/db"), ("postgres://u@h/db".into(), Mode::Off));
        assert_eq!(
            split("postgres://u@h/db?sslmode=verify-full&connect_timeout=2"),
            ("postgres://u@h/db?sslmode=require&connect_timeout=2".into(), Mode::Full)
        );
        assert_eq!(split("postgres://u@h/db?sslmode=verify-ca").1, Mode::Chain);
        assert_eq!(split("postgres://u@h/db?sslmode=require").1, Mode::Chain);
        assert_eq!(
            split("postgres://u@h/db?sslmode=prefer"),
            ("postgres://u@h/db?sslmode=prefer".into(), Mode::Off)
        );
    }
}
