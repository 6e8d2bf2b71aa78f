//! A SQL label's `trust_ca_file`: the CA certificates a server's certificate may chain to.
//! Read when the environment is loaded, so a file that is not a certificate is a config error
//! at `ferry check`, not a connection failure retried at run time; the SQL backend hands the
//! same parsed certificates to the TLS client.

use std::io::Read;
use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::limits::MAX_CA_FILE_BYTES;

/// The certificates in a CA file: PEM (one or more `BEGIN CERTIFICATE` blocks) or a single DER
/// certificate, told apart by content, not by name. Each must be one rustls would trust as a
/// root (`RootCertStore::add`, the check the TLS handshake makes), and there must be one.
/// Errors name the file and say what to give instead.
pub fn read_trust_ca(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let fix = "give the PEM file of the CA that signed the server's certificate";
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("trust_ca_file {shown} cannot be read: {e}"))?;
    if bytes.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(format!(
            "trust_ca_file {shown} is larger than {MAX_CA_FILE_BYTES} bytes, too large for CA \
             certificates; {fix}"
        ));
    }
    // Windows editors save a byte-order mark before the first `-----BEGIN`.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let certs: Vec<CertificateDer<'static>> = if looks_like_pem(body) {
        CertificateDer::pem_slice_iter(body)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("trust_ca_file {shown} is not valid PEM ({e}); {fix}"))?
    } else if body.is_empty() {
        Vec::new()
    } else {
        vec![CertificateDer::from(body.to_vec())]
    };
    if certs.is_empty() {
        return Err(format!(
            "trust_ca_file {shown} holds no certificate (no `-----BEGIN CERTIFICATE-----` \
             block); {fix}"
        ));
    }
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| {
            format!(
                "trust_ca_file {shown}: certificate {} of {} is not a valid X.509 certificate \
                 ({e}); {fix}",
                i + 1,
                certs.len()
            )
        })?;
    }
    Ok(certs)
}

/// PEM when a `-----BEGIN` marker starts a line; anything else is taken as DER.
fn looks_like_pem(bytes: &[u8]) -> bool {
    const MARKER: &[u8] = b"-----BEGIN";
    bytes.starts_with(MARKER)
        || bytes
            .windows(MARKER.len() + 1)
            .any(|w| matches!(w[0], b'\n' | b'\r') && &w[1..] == MARKER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["ferry test CA".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn read(content: &[u8], name: &str) -> Result<usize, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        read_trust_ca(&path).map(|c| c.len())
    }

    #[test]
    fn pem_bundles_and_der_files_are_read_whatever_their_name() {
        let one = ca_pem();
        assert_eq!(read(one.as_bytes(), "ca.pem"), Ok(1));
        let two = format!("{one}\n{}", ca_pem());
        assert_eq!(read(two.as_bytes(), "bundle.txt"), Ok(2));
        let bom = format!("\u{feff}{one}");
        assert_eq!(read(bom.as_bytes(), "ca.crt"), Ok(1));
        let der = CertificateDer::from_pem_slice(one.as_bytes()).unwrap();
        assert_eq!(read(&der, "ca.der"), Ok(1));
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_named_with_the_fix() {
        for (content, phrase) in [
            (&b"just some text"[..], "not a valid X.509 certificate"),
            (b"", "holds no certificate"),
            (
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "holds no certificate",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not a valid X.509 certificate",
            ),
        ] {
            let e = read(content, "ca.pem").unwrap_err();
            assert!(e.contains(phrase) && e.contains("ca.pem"), "{e}");
            assert!(e.contains("give the PEM file of the CA"), "{e}");
        }
        let missing = read_trust_ca(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(
            missing.contains("/nonexistent/ca.pem cannot be read"),
            "{missing}"
        );
    }
}
