//! The storage account a migration uses, checked before anything starts as DMS checks it at
//! the start (methods.md §3.2, §3.6; "Migrate databases with Azure SQL Migration extension",
//! prerequisites, learn.microsoft.com): it exists, it is in the service's region (DMS:
//! `InvalidLocation`), and a premium one is of kind `BlockBlobStorage` (DMS:
//! `InvalidStorageAccount`). Read through the `storage_azure` label with Storage Accounts -
//! Get Properties (storage.json); without the label, not checked (a warning says so).

use ferry_sdk::ArmRequest;
use ferry_sdk::prelude::*;
use serde_json::Value;

use crate::arm::{self, get_on};
use crate::check::{Check, Status, check};
use crate::config::Config;
use crate::rules::{AccountId, account_id, premium_kind_refused, same_region};

/// The checks of every storage account the migration of `db` uses.
pub fn checks(cx: &mut Context<'_, Config>, cfg: &Config, db: &str) -> Result<Vec<Check>> {
    let ids = cfg.storage_account_ids();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let Some(label) = cfg.storage_azure.clone() else {
        cx.warn(&format!(
            "[{db}]: storage account region/kind not checked; DMS refuses a wrong one at start \
             with InvalidLocation / InvalidStorageAccount — grant `storage_azure` (an Azure \
             label, read, scoped to the account's resource group) to check before anything \
             starts"
        ));
        return Ok(Vec::new());
    };
    let region = region(cx, cfg)?;
    let mut out = Vec::new();
    for (key, id) in ids {
        let parsed = account_id(id).map_err(|why| Error::invalid_config(Some(key), why))?;
        let Some(account) = read(cx, cfg, &label, &parsed)? else {
            out.push(check(
                "storage-account-missing",
                false,
                format!(
                    "the storage account {id} ({key}) was not found through the `{label}` \
                     label: create it, correct {key}, or scope `{label}` to its resource group \
                     {} (subscription {})",
                    parsed.resource_group, parsed.subscription
                ),
            ));
            continue;
        };
        let found = account["id"].as_str().unwrap_or_default();
        if !found.eq_ignore_ascii_case(id) {
            return Err(Error::invalid_config(
                Some(key),
                format!(
                    "{key} is {id}, but the `{label}` label reaches the account {found}: scope \
                     `{label}` to resource group {} of subscription {}",
                    parsed.resource_group, parsed.subscription
                ),
            ));
        }
        out.extend(judge(&account, id, region.as_ref()));
    }
    Ok(out)
}

/// Region and kind of one account as ARM shows it.
fn judge(account: &Value, id: &str, region: Option<&(String, &'static str)>) -> Vec<Check> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let location = s(&account["location"]);
    let (kind, tier) = (s(&account["kind"]), s(&account["sku"]["tier"]));
    let region_check = match region {
        Some((r, from)) => check(
            "storage-account-region",
            same_region(&location, r),
            format!(
                "the storage account {id} is in {location}, the service in {r} ({from}); DMS \
                 refuses it (InvalidLocation): use an account in {r}, or the service in \
                 {location}"
            ),
        ),
        None => Check {
            code: "storage-account-region",
            status: Status::NotChecked,
            reason: "there is no service yet and no `location`: the region is not known".into(),
        },
    };
    vec![
        region_check,
        check(
            "storage-account-kind",
            !premium_kind_refused(&tier, &kind),
            format!(
                "the storage account {id} is a premium account of kind {kind}; DMS accepts a \
                 premium account only of kind BlockBlobStorage (InvalidStorageAccount): use a \
                 BlockBlobStorage account or a standard one"
            ),
        ),
    ]
}

/// The service's region: the existing service's `location` (a GET is a read), else the
/// config's `location`; with where it came from.
fn region(cx: &mut Context<'_, Config>, cfg: &Config) -> Result<Option<(String, &'static str)>> {
    let existing = arm::service(cx)?
        .and_then(|s| s["location"].as_str().map(str::to_owned))
        .filter(|l| !l.is_empty());
    Ok(match (existing, &cfg.location) {
        (Some(l), _) => Some((l, "the service's location")),
        (None, Some(l)) => Some((l.clone(), "`location`, the service to create")),
        (None, None) => None,
    })
}

/// The account through `label`: at `providers/…` when the label is scoped to its resource
/// group, else at `resourceGroups/{rg}/providers/…` when scoped to the subscription (the host
/// keeps either inside the label's scope). A 404 or 400 (a path that names no resource
/// under the scope) on both is "not found".
fn read(
    cx: &mut Context<'_, Config>,
    cfg: &Config,
    label: &str,
    id: &AccountId,
) -> Result<Option<Value>> {
    let in_group = format!("providers/Microsoft.Storage/storageAccounts/{}", id.name);
    let in_subscription = format!("resourceGroups/{}/{in_group}", id.resource_group);
    for path in [in_group, in_subscription] {
        let req = ArmRequest {
            method: "GET".into(),
            path,
            api_version: cfg.storage_api_version.clone(),
            body: None,
        };
        match get_on(cx, label, &req) {
            Ok(Some(v)) => return Ok(Some(v)),
            Ok(None) => {}
            Err(Error::Failed(f)) if f.code == Some(400) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account(location: &str, kind: &str, tier: &str) -> Value {
        json!({"id": "/x", "location": location, "kind": kind, "sku": {"name": "n", "tier": tier}})
    }

    fn statuses(checks: &[Check]) -> Vec<(&str, Status)> {
        checks.iter().map(|c| (c.code, c.status)).collect()
    }

    #[test]
    fn region_and_kind_are_judged() {
        let r = ("West Europe".to_owned(), "the service's location");
        let ok = judge(
            &account("westeurope", "StorageV2", "Standard"),
            "/x",
            Some(&r),
        );
        assert!(ok.iter().all(|c| c.status == Status::Pass), "{ok:?}");
        let bad = judge(
            &account("northeurope", "StorageV2", "Premium"),
            "/x",
            Some(&r),
        );
        assert_eq!(
            statuses(&bad),
            [
                ("storage-account-region", Status::Refuse),
                ("storage-account-kind", Status::Refuse)
            ]
        );
        let unknown = judge(
            &account("westeurope", "BlockBlobStorage", "Premium"),
            "/x",
            None,
        );
        assert_eq!(
            statuses(&unknown),
            [
                ("storage-account-region", Status::NotChecked),
                ("storage-account-kind", Status::Pass)
            ]
        );
    }
}
