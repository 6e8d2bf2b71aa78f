//! Certificates with real bytes: RSA keys and X.509 DER made by CREATE CERTIFICATE, read back
//! with CERTENCODED and CERTPRIVATEKEY (PVK), loaded with CREATE CERTIFICATE … FROM BINARY, and
//! uploaded to Managed Instance as PKCS#12 through ARM's `tdeCertificates`. A certificate's
//! thumbprint is SHA-1 of its DER, as SQL Server's is, so TDE backups name the certificate a
//! target must hold.

mod create;
mod errors;
mod functions;
mod keys;
mod pfx;
mod pvk;
mod random;
mod store;
mod system;
mod upload;
mod x509;

pub use create::{CertificateStatement, PrivateKeyBinary};
pub(crate) use functions::{function_error, register};
pub use pfx::TdeUploadError;
pub(crate) use store::ensure_schema;
pub use upload::TdeCertificate;
