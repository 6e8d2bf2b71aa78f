//! Each kind of bad input gives the error that names it, no error or Debug text carries a
//! password, and no input panics.

mod common;

use std::sync::OnceLock;

use common::{Fixture, Protection, openssl, pvk_of, s};
use ferry_pfx::{PfxError, pfx_from_sql_server, thumbprint};
use proptest::prelude::*;

const PVK_PASSWORD: &str = "the-pvk-password-9f2c";
const PFX_PASSWORD: &str = "the-pfx-password-41ab";

struct Shared {
    fixture: Fixture,
    strong: Vec<u8>,
    weak: Vec<u8>,
    plain: Vec<u8>,
}

/// One key, certificate and set of PVKs for every test here (key generation is the slow part).
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let fixture = Fixture::rsa(2048);
        Shared {
            strong: fixture.pvk(Protection::Strong, PVK_PASSWORD),
            weak: fixture.pvk(Protection::Weak, PVK_PASSWORD),
            plain: fixture.pvk(Protection::None, ""),
            fixture,
        }
    })
}

fn convert(pvk: &[u8], password: &str) -> Result<Vec<u8>, PfxError> {
    pfx_from_sql_server(&shared().fixture.cert_der, pvk, password, PFX_PASSWORD)
}

/// Neither the Display nor the Debug text of `err` carries either password.
fn assert_no_secrets(err: &PfxError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(
            !text.contains(PVK_PASSWORD) && !text.contains(PFX_PASSWORD),
            "{text}"
        );
        assert!(!text.contains("wrong-password"), "{text}");
    }
}

#[test]
fn a_wrong_pvk_password_is_named_for_strong_and_weak_pvks() {
    let sh = shared();
    for pvk in [&sh.strong, &sh.weak] {
        let err = convert(pvk, "wrong-password").unwrap_err();
        assert_eq!(err, PfxError::WrongPassword);
        assert!(err.to_string().contains("password is wrong"), "{err}");
        assert_no_secrets(&err);
    }
    // The right password still works, so the check above is not vacuous.
    convert(&sh.strong, PVK_PASSWORD).expect("right password");
    convert(&sh.weak, PVK_PASSWORD).expect("right password");
}

#[test]
fn a_truncated_pvk_is_not_a_pvk() {
    let pvk = &shared().strong;
    for len in [0, 10, 23, 24, 40, pvk.len() / 2, pvk.len() - 1] {
        let err = convert(&pvk[..len], PVK_PASSWORD).unwrap_err();
        assert!(
            matches!(err, PfxError::NotPvk { .. }),
            "{len} bytes: {err:?}"
        );
        assert_no_secrets(&err);
    }
    let err = convert(&pvk[..pvk.len() - 1], PVK_PASSWORD).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    let mut longer = pvk.clone();
    longer.push(0);
    let err = convert(&longer, PVK_PASSWORD).unwrap_err();
    assert!(err.to_string().contains("bytes after"), "{err}");
}

#[test]
fn a_pvk_without_its_magic_is_not_a_pvk() {
    let mut pvk = shared().strong.clone();
    pvk[0] ^= 0xff;
    let err = convert(&pvk, PVK_PASSWORD).unwrap_err();
    assert!(err.to_string().contains("0xB0B5F11E"), "{err}");
}

#[test]
fn a_garbled_key_fails_its_consistency_check() {
    let sh = shared();
    // Past the 24-byte header, the 16-byte salt, the BLOBHEADER and RSAPUBKEY: inside the
    // modulus, in the encrypted part (RC4 flips the same bit of the plaintext).
    for (pvk, at) in [
        (&sh.strong, 24 + 16 + 8 + 12 + 5),
        (&sh.plain, 24 + 8 + 12 + 5),
    ] {
        let mut garbled = pvk.clone();
        garbled[at] ^= 0x01;
        let err = convert(&garbled, PVK_PASSWORD).unwrap_err();
        assert!(matches!(err, PfxError::InconsistentKey { .. }), "{err:?}");
        assert!(err.to_string().contains("damaged"), "{err}");
        assert_no_secrets(&err);
    }
    // A damaged CRT coefficient: n, p, q and d still agree, only the PVK's own copy is off.
    let bits = 2048;
    let coefficient = 24 + 8 + 12 + bits / 8 + 4 * (bits / 16);
    let mut garbled = sh.plain.clone();
    garbled[coefficient] ^= 0x01;
    let err = convert(&garbled, "").unwrap_err();
    assert_eq!(
        err,
        PfxError::InconsistentKey {
            reason: "its CRT values do not match its primes"
        }
    );
}

#[test]
fn a_garbled_salt_reads_as_a_wrong_password() {
    let mut pvk = shared().strong.clone();
    pvk[24] ^= 0x01;
    assert_eq!(
        convert(&pvk, PVK_PASSWORD).unwrap_err(),
        PfxError::WrongPassword
    );
}

#[test]
fn another_certificates_key_is_a_mismatch() {
    let other = Fixture::rsa(2048);
    let pvk = other.pvk(Protection::Strong, PVK_PASSWORD);
    let err = convert(&pvk, PVK_PASSWORD).unwrap_err();
    assert_eq!(err, PfxError::KeyMismatch);
    assert!(err.to_string().contains("does not belong"), "{err}");
}

#[test]
fn random_bytes_are_neither_pvk_nor_certificate() {
    let noise: Vec<u8> = (0..1200u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = convert(&noise, PVK_PASSWORD).unwrap_err();
    assert!(matches!(err, PfxError::NotPvk { .. }), "{err:?}");

    let err =
        pfx_from_sql_server(&noise, &shared().strong, PVK_PASSWORD, PFX_PASSWORD).unwrap_err();
    assert!(matches!(err, PfxError::NotCertificate { .. }), "{err:?}");
    assert!(matches!(
        thumbprint(&noise),
        Err(PfxError::NotCertificate { .. })
    ));

    // A certificate with bytes after it is not one DER certificate.
    let mut cert = shared().fixture.cert_der.clone();
    cert.push(0);
    assert!(matches!(
        thumbprint(&cert),
        Err(PfxError::NotCertificate { .. })
    ));
}

#[test]
fn the_pvk_and_the_certificate_swapped_are_named() {
    let sh = shared();
    let err = pfx_from_sql_server(&sh.strong, &sh.fixture.cert_der, PVK_PASSWORD, PFX_PASSWORD)
        .unwrap_err();
    assert!(matches!(err, PfxError::NotCertificate { .. }), "{err:?}");
}

#[test]
fn a_dsa_pvk_is_not_rsa() {
    let sh = shared();
    let dsa_pem = sh.fixture.path("dsa.pem");
    let params = sh.fixture.path("dsa-params.pem");
    // PVK's DSA blob holds a 160-bit q.
    openssl(
        &[
            "genpkey",
            "-genparam",
            "-algorithm",
            "DSA",
            "-pkeyopt",
            "dsa_paramgen_bits:1024",
        ]
        .into_iter()
        .chain(["-pkeyopt", "dsa_paramgen_q_bits:160", "-out", s(&params)])
        .collect::<Vec<_>>(),
    );
    openssl(&["genpkey", "-paramfile", s(&params), "-out", s(&dsa_pem)]);
    let pvk = pvk_of(
        &dsa_pem,
        "dsa",
        Protection::Strong,
        PVK_PASSWORD,
        sh.fixture.dir.path(),
    );
    let err = convert(&pvk, PVK_PASSWORD).unwrap_err();
    assert_eq!(
        err,
        PfxError::NotRsa {
            what: "the private key",
            found: "DSA".into()
        }
    );
    assert!(err.to_string().contains("not an RSA key"), "{err}");
}

#[test]
fn an_ec_certificate_is_not_rsa() {
    let ec = Fixture::ec();
    let err = pfx_from_sql_server(&ec.cert_der, &shared().strong, PVK_PASSWORD, PFX_PASSWORD)
        .unwrap_err();
    assert_eq!(
        err,
        PfxError::NotRsa {
            what: "the certificate's public key",
            found: "EC".into()
        }
    );
    // A thumbprint is the DER's SHA-1 whatever the key type.
    assert!(thumbprint(&ec.cert_der).is_ok());
}

#[test]
fn a_public_key_blob_is_not_a_private_key() {
    let mut pvk = shared().plain.clone();
    pvk[24] = 0x06; // PUBLICKEYBLOB
    let err = convert(&pvk, "").unwrap_err();
    assert_eq!(
        err,
        PfxError::NotPvk {
            reason: "it holds a public key blob, not a private key"
        }
    );
}

#[test]
fn an_encrypted_flag_without_salt_is_not_a_pvk() {
    let mut pvk = shared().plain.clone();
    pvk[12] = 1; // encrypted, but the salt length stays 0
    assert!(matches!(
        convert(&pvk, "").unwrap_err(),
        PfxError::NotPvk { .. }
    ));
}

#[test]
fn a_huge_bit_length_is_refused_before_any_arithmetic() {
    let mut pvk = shared().plain.clone();
    let at = 24 + 8 + 4; // RSAPUBKEY's bit length
    pvk[at..at + 4].copy_from_slice(&1_000_000u32.to_le_bytes());
    assert!(matches!(
        convert(&pvk, "").unwrap_err(),
        PfxError::InconsistentKey { .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(pvk in proptest::collection::vec(any::<u8>(), 0..2048),
                                   cert in proptest::collection::vec(any::<u8>(), 0..1024),
                                   password in ".{0,20}") {
        let _ = pfx_from_sql_server(&cert, &pvk, &password, "x");
        let _ = pfx_from_sql_server(&shared().fixture.cert_der, &pvk, &password, "x");
        let _ = thumbprint(&cert);
    }

    /// Mutations of a real PVK (encrypted and not): header fields, lengths and the key's
    /// numbers all reach the parser and the RSA checks.
    #[test]
    fn mutated_pvks_never_panic(at in 0usize..1300, value in any::<u8>(), which in 0usize..3,
                                cut in proptest::option::of(0usize..1300)) {
        let sh = shared();
        let base = [&sh.strong, &sh.weak, &sh.plain][which];
        let mut pvk = base.clone();
        let at = at % pvk.len();
        pvk[at] = value;
        if let Some(cut) = cut {
            pvk.truncate(cut);
        }
        // Fields no reader checks: the header's reserved word, key type and encrypted flag
        // (the salt decides), and the BLOBHEADER's reserved bytes and algorithm id.
        let blob = 24 + if which == 2 { 0 } else { 16 };
        let ignored = (4..16).contains(&at) || (blob + 2..blob + 8).contains(&at);
        match convert(&pvk, PVK_PASSWORD) {
            Ok(_) => prop_assert!(pvk == *base || ignored, "a change at {} still converted", at),
            Err(err) => assert_no_secrets(&err),
        }
    }
}
