//! The work of a TDE certificate upload's operation (see `tde_certificates`), apart from the
//! request handling so that the operations module depends on it alone.

use base64::Engine as _;

use crate::instance::{TdeCertificate, TdeUploadError};
use crate::server::Server;

/// The operation's work: the certificate into the instance's store. A certificate already
/// there (the operation run again after a restart) is success.
pub(super) async fn install(
    mi: &Server,
    blob: &str,
    password: &str,
) -> Result<(), (&'static str, String)> {
    let failed = |e: String| ("InvalidPrivateBlobOrPassword", e);
    let pfx = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|e| failed(e.to_string()))?;
    let cert = TdeCertificate::from_pfx(&pfx, password).map_err(|e| failed(format!("{e:?}")))?;
    match mi
        .with_instance_when_running(|i| i.add_tde_certificate(&cert))
        .await
    {
        Ok(()) | Err(TdeUploadError::AlreadyExists) => Ok(()),
        Err(e) => Err(failed(format!("{e:?}"))),
    }
}
