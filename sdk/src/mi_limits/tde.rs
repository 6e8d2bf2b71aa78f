//! A TDE-protected database needs its certificate on the Managed Instance before any restore
//! (methods.md §4.6): without it MI refuses with error 41923 ("Cannot find server certificate
//! with thumbprint"), LRS with `MissingThumbprint`.

use super::Refusal;

/// A TDE-protected database whose certificate (name, thumbprint hex) is not known to be on
/// the MI yet.
pub fn tde_stop(db: &str, certificate: Option<(&str, &str)>) -> Refusal {
    let cert = match certificate {
        Some((name, thumb)) => format!("certificate [{name}] (thumbprint 0x{thumb})"),
        None => "its TDE certificate".to_owned(),
    };
    Refusal::new(
        "tde-certificate",
        format!(
            "[{db}] is protected by TDE with {cert}, which the MI does not have; run an \
             `instance-objects` step before this one (it uploads TDE certificates through \
             tdeCertificates), or upload it yourself (methods.md §4.6) and apply again. \
             Without it the restore fails with error 41923 (LRS: MissingThumbprint)"
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_certificate_is_named_with_its_thumbprint() {
        let r = super::tde_stop("db", Some(("TdeCert", "AB12")));
        assert_eq!(r.code, "tde-certificate");
        assert!(
            r.reason
                .contains("certificate [TdeCert] (thumbprint 0xAB12)")
        );
        assert!(r.reason.contains("41923"));
    }
}
