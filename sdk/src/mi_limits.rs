//! What a Managed Instance cannot restore, shared by every method that moves a database there
//! (methods.md §2.7, §4.1, §4.6), so each plugin stops on it before backing anything up and
//! says the same thing about it.

/// A database with more than one log file or with FILESTREAM data: MI restores neither. The
/// reason code (for the report) and the sentence for the user.
pub fn physical_layout_stop(
    db: &str,
    log_files: u32,
    filestream_files: u32,
) -> Option<(&'static str, String)> {
    if log_files > 1 {
        return Some((
            "multiple-log-files",
            format!(
                "[{db}] has {log_files} log files; a Managed Instance cannot restore that. Remove \
                 the extra log files on the source (DBCC SHRINKFILE … EMPTYFILE, then ALTER \
                 DATABASE … REMOVE FILE)"
            ),
        ));
    }
    if filestream_files > 0 {
        return Some((
            "filestream",
            format!(
                "[{db}] has FILESTREAM data, which a Managed Instance does not support; move it \
                 out of the database first"
            ),
        ));
    }
    None
}

/// A TDE-protected database whose certificate (name, thumbprint hex) is not known to be on
/// the MI yet: the restore would fail without it.
pub fn tde_stop(db: &str, certificate: Option<(&str, &str)>) -> (&'static str, String) {
    let cert = match certificate {
        Some((name, thumb)) => format!("certificate [{name}] (thumbprint 0x{thumb})"),
        None => "its TDE certificate".to_owned(),
    };
    (
        "tde-certificate",
        format!(
            "[{db}] is protected by TDE with {cert}; migrate that certificate to the MI first \
             (methods.md §4.6: POST …/tdeCertificates), then set tde_certificates_migrated = true"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_mi_cannot_restore_are_named_with_the_fix() {
        assert_eq!(physical_layout_stop("db", 1, 0), None);
        let (code, why) = physical_layout_stop("db", 2, 0).unwrap();
        assert_eq!(code, "multiple-log-files");
        assert!(why.contains("REMOVE FILE"));
        assert_eq!(physical_layout_stop("db", 1, 1).unwrap().0, "filestream");
        let (code, why) = tde_stop("db", Some(("TdeCert", "AB12")));
        assert_eq!(code, "tde-certificate");
        assert!(why.contains("certificate [TdeCert] (thumbprint 0xAB12)"));
    }
}
