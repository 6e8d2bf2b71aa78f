//! What can be wrong with a certificate or key handed to [`crate::pfx_from_sql_server`].
//!
//! Messages are for an operator: they name the input at fault and what to check. None carries
//! key bytes, passwords or anything derived from them, so `Display` and `Debug` are both safe to
//! log.

/// Why a certificate and its PVK private key could not be turned into a PFX.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PfxError {
    /// The private key is not a PVK file (the format SQL Server's `CERTPRIVATEKEY` returns):
    /// wrong magic number, truncated, lengths that do not add up, or a key blob header that is
    /// not a private key blob. `reason` says which.
    #[error("the private key is not in PVK format (CERTPRIVATEKEY's output): {reason}")]
    NotPvk {
        /// What about the container is wrong (never its bytes).
        reason: &'static str,
    },

    /// Decrypting the PVK with the password gave no key blob: neither the 128-bit nor the
    /// 40-bit RC4 key derived from the password turns the blob's first bytes into an `RSA2` or
    /// `DSS2` key header. The password is not the one `CERTPRIVATEKEY` was given.
    #[error(
        "the PVK password is wrong: the private key does not decrypt with it (use the password given to CERTPRIVATEKEY)"
    )]
    WrongPassword,

    /// The key decrypted to an RSA key header, but its numbers do not form an RSA key (the
    /// modulus is not the product of the primes, or an exponent does not match). The PVK was
    /// damaged after `CERTPRIVATEKEY` returned it, or (with odds of about one in four billion)
    /// the password is wrong.
    #[error(
        "the private key fails its consistency check: the PVK is damaged, or the password is wrong ({reason})"
    )]
    InconsistentKey {
        /// Which check failed (never the numbers).
        reason: &'static str,
    },

    /// The key (or the certificate's public key) is not RSA. SQL Server's certificates are
    /// RSA; a PVK can also hold a DSA key, which PKCS#12 for Azure TDE cannot use.
    #[error("{what} is not an RSA key (found {found}); SQL Server TDE certificates are RSA")]
    NotRsa {
        /// `"the private key"` or `"the certificate's public key"`.
        what: &'static str,
        /// The key type found, e.g. `"DSA"`.
        found: String,
    },

    /// The private key's modulus differs from the certificate's: the PVK belongs to another
    /// certificate (check that `CERTENCODED` and `CERTPRIVATEKEY` were given the same cert_id).
    #[error(
        "the private key does not belong to the certificate (their RSA moduli differ); check that CERTENCODED and CERTPRIVATEKEY read the same cert_id"
    )]
    KeyMismatch,

    /// The certificate is not one DER-encoded X.509 certificate (what `CERTENCODED` returns).
    #[error(
        "the certificate is not a DER-encoded X.509 certificate (CERTENCODED's output): {reason}"
    )]
    NotCertificate {
        /// The parser's complaint; it concerns the public certificate only.
        reason: String,
    },

    /// The PKCS#12 writer failed. Not expected for a key and certificate that passed the
    /// checks above.
    #[error("the PKCS#12 file could not be written: {reason}")]
    Pkcs12 {
        /// The writer's complaint.
        reason: String,
    },
}
