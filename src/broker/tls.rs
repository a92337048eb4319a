//! `--broker-ca FILE`: the certificate authority a process trusts for its broker's TLS,
//! set once per process (by `hunt worker`, `hunt status`, or the coordinator from its
//! knob) and read by every backend's `connect`, so a backend reaches it without a
//! parameter of its own: a backend that speaks TLS calls [`ca`] when it connects, and
//! verifies the server against it, or against the system's roots when there is none.
//! The coordinator hands it on to the workers it starts ([`worker_args`]).

use crate::knob::{Kind, Knob};
use anyhow::{bail, Result};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// `--broker-ca`: the CA that signed the broker's certificate.
pub static BROKER_CA: Knob = Knob {
    name: "broker-ca",
    value_name: "FILE",
    help: "The certificate authority (a PEM file) that signed a TLS broker's certificate [default: the system's roots]",
    kind: Kind::Text,
};

/// A CA file, read and checked.
#[derive(Debug)]
pub struct Ca {
    /// Where it was read, absolute (workers started elsewhere read it again).
    pub path: PathBuf,
    /// Its bytes, PEM: one certificate or more.
    pub pem: Vec<u8>,
}

impl Ca {
    /// Its certificates, DER.
    pub fn certificates(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(&self.pem)
            .filter_map(Result::ok)
            .collect()
    }
}

/// The process's CA, if one was given.
static CA: RwLock<Option<Arc<Ca>>> = RwLock::new(None);

/// Reads and checks the CA file at `path`: one line naming the fix when it cannot be
/// read or holds no certificate.
pub fn load(path: &Path) -> Result<Ca> {
    let shown = path.display();
    let pem = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => bail!(
            "--broker-ca {shown}: cannot read it ({e}): give the PEM file of the CA that signed the broker's certificate"
        ),
    };
    let mut certs = 0;
    for c in CertificateDer::pem_slice_iter(&pem) {
        if c.is_err() {
            bail!("--broker-ca {shown} is not a PEM file: give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)");
        }
        certs += 1;
    }
    if certs == 0 {
        bail!("--broker-ca {shown} holds no certificate: give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)");
    }
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(Ca { path, pem })
}

/// Sets the process's CA from `path` (none: the system's roots).
pub fn use_ca(path: Option<&Path>) -> Result<()> {
    let ca = path.map(load).transpose()?.map(Arc::new);
    *CA.write().unwrap_or_else(|e| e.into_inner()) = ca;
    Ok(())
}

/// The process's CA, if one was given.
pub fn ca() -> Option<Arc<Ca>> {
    CA.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `--broker-ca PATH` for a worker this process starts, or nothing.
pub fn worker_args() -> Vec<OsString> {
    ca().map_or_else(Vec::new, |c| {
        vec![OsString::from("--broker-ca"), c.path.clone().into()]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_refused_with_the_fix() {
        let e = load(Path::new("/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--broker-ca /nonexistent/ca.pem: cannot read it"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let e = load(&f).unwrap_err().to_string();
        assert!(e.contains("holds no certificate"), "{e}");
    }
}
