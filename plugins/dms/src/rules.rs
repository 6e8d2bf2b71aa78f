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

/// A storage account's ARM id, split: `/subscriptions/{s}/resourceGroups/{rg}/providers/
/// Microsoft.Storage/storageAccounts/{name}` (the fixed segments compared without regard to
/// case, as ARM does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountId {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

pub fn account_id(id: &str) -> std::result::Result<AccountId, String> {
    let seg: Vec<&str> = id.split('/').collect();
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    match seg.as_slice() {
        ["", s, sub, g, rg, p, ns, t, name]
            if is(s, "subscriptions")
                && is(g, "resourceGroups")
                && is(p, "providers")
                && is(ns, "Microsoft.Storage")
                && is(t, "storageAccounts")
                && [sub, rg, name].iter().all(|v| !v.is_empty()) =>
        {
            Ok(AccountId {
                subscription: (*sub).to_owned(),
                resource_group: (*rg).to_owned(),
                name: (*name).to_owned(),
            })
        }
        _ => Err(format!(
            "`{id}` is not a storage account's ARM id like /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>"
        )),
    }
}

/// Whether two Azure regions are the same: ARM answers the programmatic name (`westeurope`)
/// where a person may write the display name (`West Europe`).
pub fn same_region(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    norm(a) == norm(b)
}

/// DMS accepts a premium storage account only of kind `BlockBlobStorage` (methods.md §3.2;
/// "Migrate databases with Azure SQL Migration extension", prerequisites, learn.microsoft.com).
pub fn premium_kind_refused(tier: &str, kind: &str) -> bool {
    tier.eq_ignore_ascii_case("Premium") && !kind.eq_ignore_ascii_case("BlockBlobStorage")
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

    #[test]
    fn storage_ids_regions_and_kinds() {
        let a = account_id(
            "/subscriptions/s1/resourcegroups/data-rg/providers/Microsoft.Storage/storageAccounts/acct",
        )
        .unwrap();
        assert_eq!(
            (
                a.subscription.as_str(),
                a.resource_group.as_str(),
                a.name.as_str()
            ),
            ("s1", "data-rg", "acct")
        );
        assert!(account_id("/s/sa").is_err());
        assert!(
            account_id(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/a"
            )
            .is_err()
        );
        assert!(same_region("West Europe", "westeurope"));
        assert!(!same_region("northeurope", "westeurope"));
        assert!(premium_kind_refused("Premium", "StorageV2"));
        assert!(!premium_kind_refused("Premium", "BlockBlobStorage"));
        assert!(!premium_kind_refused("Standard", "StorageV2"));
    }
}
