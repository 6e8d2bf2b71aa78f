//! Keys, certificates and PVK files made by the `openssl` CLI, the independent implementation
//! the tests check ferry-pfx against. A missing `openssl` fails the tests: they never skip.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Runs `openssl args…` and returns its stdout; panics (failing the test) when openssl is
/// missing or exits non-zero.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().unwrap_or_else(|e| {
        panic!("the `openssl` CLI is needed by these tests and could not be run ({e}); install Debian's `openssl` package")
    });
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `openssl args…` expecting it to fail; returns its stderr.
pub fn openssl_fails(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the `openssl` CLI is needed by these tests");
    assert!(
        !out.status.success(),
        "openssl {} unexpectedly succeeded",
        args.join(" ")
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How the PVK's private key is protected, as `openssl rsa -outform PVK` offers.
#[derive(Clone, Copy, Debug)]
pub enum Protection {
    /// 128-bit RC4 (`openssl`'s default, `-pvk-strong`).
    Strong,
    /// 40-bit RC4 (`-pvk-weak`).
    Weak,
    /// Unencrypted (`-pvk-none`), what CERTPRIVATEKEY gives for an empty password.
    None,
}

/// A private key and its self-signed certificate in a temporary directory.
pub struct Fixture {
    pub dir: TempDir,
    /// The key, PEM (PKCS#8).
    pub key_pem: PathBuf,
    /// The certificate, DER: what CERTENCODED returns.
    pub cert_der: Vec<u8>,
}

impl Fixture {
    /// An RSA key of `bits` and a self-signed certificate for it.
    pub fn rsa(bits: u32) -> Fixture {
        Self::new(&["-newkey", &format!("rsa:{bits}")])
    }

    /// An EC (P-256) key and a self-signed certificate for it.
    pub fn ec() -> Fixture {
        Self::new(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    }

    fn new(key_args: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let key_pem = dir.path().join("key.pem");
        let cert = dir.path().join("cert.der");
        let mut args = vec!["req", "-x509"];
        args.extend_from_slice(key_args);
        args.extend_from_slice(&[
            "-nodes",
            "-subj",
            "/CN=ferry TDE test",
            "-days",
            "2",
            "-outform",
            "DER",
        ]);
        args.extend_from_slice(&["-keyout", s(&key_pem), "-out", s(&cert)]);
        openssl(&args);
        let cert_der = std::fs::read(&cert).expect("certificate");
        Fixture {
            dir,
            key_pem,
            cert_der,
        }
    }

    /// The key as a PVK file protected by `password` (ignored for [`Protection::None`]).
    pub fn pvk(&self, protection: Protection, password: &str) -> Vec<u8> {
        pvk_of(&self.key_pem, "rsa", protection, password, self.dir.path())
    }

    /// The key's RSA modulus in hex, as `openssl rsa -modulus` prints it.
    pub fn modulus(&self) -> String {
        modulus_of(&openssl(&[
            "rsa",
            "-in",
            s(&self.key_pem),
            "-noout",
            "-modulus",
        ]))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `key_pem` (of openssl command `kind`: rsa or dsa) written as PVK.
pub fn pvk_of(
    key_pem: &Path,
    kind: &str,
    protection: Protection,
    password: &str,
    dir: &Path,
) -> Vec<u8> {
    let out = dir.join(format!("{kind}-{protection:?}.pvk"));
    let pass = format!("pass:{password}");
    let mut args = vec![kind, "-in", s(key_pem), "-outform", "PVK", "-out", s(&out)];
    match protection {
        Protection::Strong => args.extend_from_slice(&["-pvk-strong", "-passout", &pass]),
        Protection::Weak => args.extend_from_slice(&["-pvk-weak", "-passout", &pass]),
        Protection::None => args.push("-pvk-none"),
    }
    // OpenSSL 3 keeps RC4, which PVK encryption uses, in its legacy provider.
    args.extend_from_slice(&["-provider", "legacy", "-provider", "default"]);
    openssl(&args);
    std::fs::read(&out).expect("PVK")
}

/// The hex after `Modulus=` in openssl's `-modulus` output.
pub fn modulus_of(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let line = text
        .lines()
        .find(|l| l.starts_with("Modulus="))
        .expect("a Modulus= line");
    line["Modulus=".len()..].trim().to_owned()
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}
