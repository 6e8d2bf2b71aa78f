//! Shared access signatures signed with a storage account key, for the shapes ferry needs:
//! a container-scoped service SAS (`sr=c`, what MI's `CREATE CREDENTIAL … SECRET` takes) and an
//! account SAS (for a host that holds only the key). Microsoft's Rust SDK signs only
//! user-delegation SAS (reference/blob.md §5), so these ~40 lines are ours.
//!
//! String-to-sign layouts follow the Azure Storage documentation for service version
//! 2020-12-06 and later ("Create a service SAS", "Create an account SAS"); Azurite verifies
//! them (tested in the emulator crate).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The service version the tokens carry: one both Azure and Azurite 3.35 accept.
pub const SAS_VERSION: &str = "2022-11-02";

/// Why a SAS could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasError(pub String);

impl std::fmt::Display for SasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SasError {}

fn sign(key_b64: &str, string_to_sign: &str) -> Result<String, SasError> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_b64)
        .map_err(|_| SasError("the account key is not valid base64".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| SasError(e.to_string()))?;
    mac.update(string_to_sign.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Percent-encodes the characters base64 and timestamps put in a SAS query value.
fn encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '+' => "%2B".to_owned(),
            '/' => "%2F".to_owned(),
            '=' => "%3D".to_owned(),
            ':' => "%3A".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// A container-scoped service SAS. `permissions` in SAS order (e.g. "rl", "racwdl"); `expiry`
/// as `YYYY-MM-DDTHH:MM:SSZ`. Returned without a leading `?`.
pub fn container_sas(
    account: &str,
    key: &str,
    container: &str,
    permissions: &str,
    expiry: &str,
) -> Result<String, SasError> {
    let resource = format!("/blob/{account}/{container}");
    let to_sign =
        format!("{permissions}\n\n{expiry}\n{resource}\n\n\n\n{SAS_VERSION}\nc\n\n\n\n\n\n\n");
    let sig = sign(key, &to_sign)?;
    Ok(format!(
        "sv={SAS_VERSION}&sr=c&sp={permissions}&se={}&sig={}",
        encode(expiry),
        encode(&sig)
    ))
}

/// An account SAS for the blob service (containers and objects) with `permissions`.
pub fn account_sas(
    account: &str,
    key: &str,
    permissions: &str,
    expiry: &str,
) -> Result<String, SasError> {
    let (services, types) = ("b", "sco");
    let to_sign =
        format!("{account}\n{permissions}\n{services}\n{types}\n\n{expiry}\n\n\n{SAS_VERSION}\n\n");
    let sig = sign(key, &to_sign)?;
    Ok(format!(
        "sv={SAS_VERSION}&ss={services}&srt={types}&sp={permissions}&se={}&sig={}",
        encode(expiry),
        encode(&sig)
    ))
}

/// The (year, month, day) of a day counted from 1970-01-01 (negative before it), proleptic
/// Gregorian. Hand-written days-to-civil (Howard Hinnant's algorithm): SAS expiries need it,
/// and the host's and the emulator's date texts use it too, rather than a date library for
/// these few lines.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time, as SAS expiries are written.
pub fn expiry_text(unix_secs: u64) -> String {
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days((unix_secs / 86_400) as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Azurite's published development key: not a secret.
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    #[test]
    fn shapes() {
        let s = container_sas(
            "devstoreaccount1",
            KEY,
            "backups",
            "rl",
            "2099-01-01T00:00:00Z",
        )
        .unwrap();
        assert!(
            s.starts_with("sv=2022-11-02&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig="),
            "{s}"
        );
        assert!(!s.contains('+') && !s.contains('/'));
        assert!(account_sas("a", "not base64!", "r", "2099-01-01T00:00:00Z").is_err());
        assert_eq!(expiry_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(expiry_text(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
