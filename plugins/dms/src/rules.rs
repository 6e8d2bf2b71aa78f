/// `folder` under `base`, with `base`'s own separator: `\\` for a UNC or Windows path, `/`
/// for a path on a Linux SQL Server (`/var/opt/mssql/backups`).
pub fn join_unc(base: &str, folder: &str) -> String {
    let sep = if base.contains('\\') || !base.contains('/') {
        '\\'
    } else {
        '/'
    };
    let base = base.trim_end_matches(['\\', '/']);
    let folder = folder.trim_matches(['\\', '/']);
    if folder.is_empty() {
        base.to_owned()
    } else {
        format!(
            "{base}{sep}{}",
            folder.replace(['\\', '/'], &sep.to_string())
        )
    }
}

/// Azure's container naming rules ("Naming and referencing containers, blobs, and metadata",
/// learn.microsoft.com): 3–63 characters, lowercase letters, digits and single hyphens, a
/// letter or digit first; and DMS refuses `backup` (`InvalidContainerName`, methods.md §3.2).
pub fn container_rules(name: &str) -> std::result::Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !(3..=63).contains(&name.len())
        || !ok_chars
        || name.starts_with('-')
        || name.ends_with('-')
        || name.contains("--")
    {
        return Err(format!(
            "`{name}` is not a container name: 3-63 lowercase letters, digits and single hyphens"
        ));
    }
    if name == "backup" {
        return Err(
            "DMS refuses a container named `backup` (InvalidContainerName): use another name"
                .into(),
        );
    }
    Ok(())
}

/// `cutover_after` as milliseconds since the Unix epoch.
pub fn cutover_ms(at: &str) -> std::result::Result<u64, String> {
    let t = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{at}` is not an RFC 3339 time like 2026-11-28T22:00:00Z ({e})"))?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("`{at}` is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_follow_azure_and_dms() {
        assert!(container_rules("migrations").is_ok());
        assert!(container_rules("Upper").is_err());
        assert!(container_rules("a--b").is_err());
        assert!(container_rules("-ab").is_err());
        assert!(container_rules("ab").is_err());
        assert!(
            container_rules("backup")
                .unwrap_err()
                .contains("InvalidContainerName")
        );
    }

    #[test]
    fn folders_join_and_gates_parse() {
        assert_eq!(join_unc("\\\\fs\\b\\", "Sales"), "\\\\fs\\b\\Sales");
        assert_eq!(join_unc("\\\\fs\\b", ""), "\\\\fs\\b");
        assert_eq!(
            join_unc("/var/opt/mssql/backups/", "Sales"),
            "/var/opt/mssql/backups/Sales"
        );
        assert_eq!(join_unc("D:\\backups", "a/b"), "D:\\backups\\a\\b");
        assert!(cutover_ms("2026-11-28T22:00:00Z").is_ok());
        assert!(cutover_ms("tomorrow").is_err());
    }
}
