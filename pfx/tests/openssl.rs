//! PVKs written by OpenSSL become PFXs that OpenSSL and p12-keystore read back: same key (by
//! modulus), same certificate (byte for byte), the algorithms the crate promises.

mod common;

use base64::Engine;
use common::{Fixture, Protection, modulus_of, openssl, openssl_fails, s};
use ferry_pfx::{pfx_from_sql_server, thumbprint, to_base64};
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;

const PVK_PASSWORD: &str = "Pvk p@ss from CERTPRIVATEKEY";
const PFX_PASSWORD: &str = "k3Yk9rGq2ZrV1xT8uQ6wN0bP4sL7aM5c";

/// Converts `fixture`'s key protected by `protection`, checks the PFX with `openssl pkcs12`
/// and returns it.
fn convert_and_check(fixture: &Fixture, protection: Protection) -> Vec<u8> {
    let pvk = fixture.pvk(protection, PVK_PASSWORD);
    let pfx =
        pfx_from_sql_server(&fixture.cert_der, &pvk, PVK_PASSWORD, PFX_PASSWORD).expect("PFX");
    let pfx_path = fixture.path("out.pfx");
    std::fs::write(&pfx_path, &pfx).expect("write PFX");
    let pass = format!("pass:{PFX_PASSWORD}");

    let key_pem = openssl(&[
        "pkcs12",
        "-in",
        s(&pfx_path),
        "-passin",
        &pass,
        "-nodes",
        "-nocerts",
    ]);
    let key_path = fixture.path("back.key.pem");
    std::fs::write(&key_path, key_pem).expect("write key");
    let key_modulus = modulus_of(&openssl(&[
        "rsa",
        "-in",
        s(&key_path),
        "-noout",
        "-modulus",
    ]));
    assert_eq!(
        key_modulus,
        fixture.modulus(),
        "the PFX's key is the PVK's key"
    );

    let cert_pem = openssl(&[
        "pkcs12",
        "-in",
        s(&pfx_path),
        "-passin",
        &pass,
        "-nokeys",
        "-clcerts",
    ]);
    let cert_path = fixture.path("back.cert.pem");
    std::fs::write(&cert_path, cert_pem).expect("write cert");
    let cert_der = openssl(&["x509", "-in", s(&cert_path), "-outform", "DER"]);
    assert_eq!(
        cert_der, fixture.cert_der,
        "the PFX's certificate is CERTENCODED's, byte for byte"
    );

    // The whole file, with its MAC, decrypts with openssl's default provider (no legacy
    // algorithms needed): what a current PKCS#12 reader sees.
    let info = openssl(&[
        "pkcs12",
        "-info",
        "-in",
        s(&pfx_path),
        "-passin",
        &pass,
        "-nodes",
    ]);
    assert!(!info.is_empty());
    pfx
}

/// `openssl pkcs12 -info`'s description of the PFX's algorithms (it prints them on stderr).
fn algorithms(fixture: &Fixture, pfx: &[u8]) -> String {
    let path = fixture.path("info.pfx");
    std::fs::write(&path, pfx).expect("write PFX");
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            s(&path),
            "-passin",
            &format!("pass:{PFX_PASSWORD}"),
        ])
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

#[test]
fn a_strong_pvk_becomes_a_pfx_openssl_reads() {
    let fixture = Fixture::rsa(2048);
    let pfx = convert_and_check(&fixture, Protection::Strong);
    let info = algorithms(&fixture, &pfx);
    assert!(info.contains("MAC: sha1"), "{info}");
    assert!(info.contains("2048"), "{info}");
    assert_eq!(
        info.matches("pbeWithSHA1And3-KeyTripleDES-CBC").count(),
        2,
        "both the certificate bag and the key bag use 3DES: {info}"
    );
}

#[test]
fn a_weak_40_bit_pvk_becomes_a_pfx_openssl_reads() {
    convert_and_check(&Fixture::rsa(2048), Protection::Weak);
}

#[test]
fn an_unencrypted_pvk_becomes_a_pfx_whatever_the_pvk_password() {
    let fixture = Fixture::rsa(2048);
    let pvk = fixture.pvk(Protection::None, "");
    pfx_from_sql_server(&fixture.cert_der, &pvk, "not used", PFX_PASSWORD).expect("PFX");
    convert_and_check(&fixture, Protection::None);
}

#[test]
fn key_sizes_sql_server_makes_round_trip() {
    // 1024 bits: SQL Server before 2016; 3072 and 4096: imported keys. 1500 is not a multiple
    // of 16, so the PVK's half-length numbers are padded.
    for bits in [1024, 1500, 3072, 4096] {
        convert_and_check(&Fixture::rsa(bits), Protection::Strong);
    }
}

#[test]
fn the_pfx_needs_its_password() {
    let fixture = Fixture::rsa(2048);
    let pfx = convert_and_check(&fixture, Protection::Strong);
    let path = fixture.path("pw.pfx");
    std::fs::write(&path, &pfx).expect("write PFX");
    let err = openssl_fails(&["pkcs12", "-in", s(&path), "-passin", "pass:wrong", "-nodes"]);
    assert!(err.to_lowercase().contains("mac"), "{err}");
}

#[test]
fn p12_keystore_reads_back_the_key_and_certificate() {
    let fixture = Fixture::rsa(2048);
    let pfx = convert_and_check(&fixture, Protection::Strong);
    let store =
        KeyStore::from_pkcs12(&pfx, PFX_PASSWORD, Pkcs12ImportPolicy::Strict).expect("read PFX");
    let (alias, chain) = store
        .private_key_chain()
        .expect("a key with its certificate");
    let thumb = thumbprint(&fixture.cert_der).expect("thumbprint");
    let thumb_hex: String = thumb.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(alias, thumb_hex);
    assert_eq!(chain.local_key_id().as_ref(), &thumb);
    assert_eq!(chain.certs().len(), 1);
    assert_eq!(chain.certs()[0].as_der(), fixture.cert_der.as_slice());
    let key = rsa::PrivateKey::from_pkcs8_der(chain.key().as_der()).expect("PKCS#8 RSA key");
    let n_hex: String = key
        .n()
        .to_be_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(
        n_hex.trim_start_matches('0'),
        fixture.modulus().trim_start_matches('0')
    );
    assert!(KeyStore::from_pkcs12(&pfx, "wrong", Pkcs12ImportPolicy::Strict).is_err());
}

#[test]
fn the_thumbprint_is_the_sha1_fingerprint_of_the_der() {
    let fixture = Fixture::rsa(2048);
    let cert_path = fixture.path("cert.der");
    let out = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        s(&cert_path),
        "-noout",
        "-fingerprint",
        "-sha1",
    ]);
    let text = String::from_utf8_lossy(&out);
    let expected = text
        .trim()
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .replace(':', "");
    let got: String = thumbprint(&fixture.cert_der)
        .expect("thumbprint")
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn base64_is_the_standard_alphabet_with_padding() {
    let fixture = Fixture::rsa(1024);
    let pvk = fixture.pvk(Protection::Strong, PVK_PASSWORD);
    let pfx =
        pfx_from_sql_server(&fixture.cert_der, &pvk, PVK_PASSWORD, PFX_PASSWORD).expect("PFX");
    let text = to_base64(&pfx);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .expect("base64"),
        pfx
    );
    assert_eq!(to_base64(b"\xfb\xff"), "+/8=");
}
