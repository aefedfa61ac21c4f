//! A throw-away PKI per run, made with the `openssl` command line: a CA, the API server's serving
//! certificate, client certificates for each component and user, and the service-account key pair.
//!
//! ECDSA P-256 keys keep generation to a few milliseconds each; certificates live two days, longer
//! than any run.

use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths of one client certificate and its key.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// The run's PKI directory.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// Creates the CA, the serving certificate and the service-account keys in `dir`.
    pub fn create(dir: &Path) -> Result<Pki> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "creating",
            path: dir.to_owned(),
            source,
        })?;
        let pki = Pki { dir: dir.to_owned() };
        new_cert(
            dir,
            "ca",
            "/CN=local-cluster-ca",
            None,
            &["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
        )?;
        pki.sign(
            "apiserver",
            "/CN=kube-apiserver",
            &[
                "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:10.123.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
                "extendedKeyUsage=serverAuth",
            ],
        )?;
        // The service-account token signer: RSA, the algorithm every verifier supports.
        openssl(dir, &["genrsa", "-out", "sa.key", "2048"])?;
        openssl(dir, &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"])?;
        Ok(pki)
    }

    /// A client certificate for `user` in `groups` (e.g. `system:masters`), signed by the CA.
    pub fn client(&self, user: &str, groups: &[&str]) -> Result<ClientCert> {
        let file = user.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
        let mut subject = String::new();
        for g in groups {
            subject.push_str(&format!("/O={g}"));
        }
        subject.push_str(&format!("/CN={user}"));
        self.sign(&format!("client-{file}"), &subject, &["extendedKeyUsage=clientAuth"])?;
        Ok(ClientCert {
            cert: self.dir.join(format!("client-{file}.crt")),
            key: self.dir.join(format!("client-{file}.key")),
        })
    }

    /// The CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The CA key (the controller-manager signs CSRs with it).
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }

    /// Serving certificate and key of the API server.
    pub fn serving(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("apiserver.crt"), self.dir.join("apiserver.key"))
    }

    /// Service-account signing key (private, public).
    pub fn service_account(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("sa.key"), self.dir.join("sa.pub"))
    }

    fn sign(&self, name: &str, subject: &str, extensions: &[&str]) -> Result<()> {
        // Without basicConstraints CA:FALSE, openssl's default config would mark every leaf as a CA.
        let mut all = vec!["basicConstraints=critical,CA:FALSE"];
        all.extend_from_slice(extensions);
        new_cert(&self.dir, name, subject, Some(("ca.crt", "ca.key")), &all)
    }
}

/// Writes `<name>.key` (a new P-256 key) and `<name>.crt` in `dir`: self-signed when `issuer` is
/// `None`, else signed by the issuer's (certificate, key) files.
fn new_cert(
    dir: &Path,
    name: &str,
    subject: &str,
    issuer: Option<(&str, &str)>,
    extensions: &[&str],
) -> Result<()> {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "2",
        "-subj",
        subject,
    ];
    if let Some((cert, key)) = issuer {
        args.extend(["-CA", cert, "-CAkey", key]);
    }
    for ext in extensions {
        args.extend(["-addext", ext]);
    }
    openssl(dir, &args)
}

fn openssl(dir: &Path, args: &[&str]) -> Result<()> {
    crate::output_of(Command::new("openssl").args(args).current_dir(dir)).map(|_| ())
}
