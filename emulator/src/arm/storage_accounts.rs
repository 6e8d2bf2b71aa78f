//! `GET …/providers/Microsoft.Storage/storageAccounts/{name}` (Storage Accounts - Get
//! Properties, azure-rest-api-specs `specification/storage/.../Microsoft.Storage/stable/
//! 2026-09-01/storage.json`, the version `azure-mgmt-storage` 25.3.0 calls) for the accounts
//! the emulated DMS was told about (`dms_storage_account`, `POST /dms/storage-accounts`):
//! what a client reads to check an account's region and kind before DMS does.
//!
//! Only GET is answered: the emulator does not create storage accounts (a PUT, PATCH or
//! DELETE is refused with 405 rather than pretend to).

use std::time::SystemTime;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as J, json};
use time::format_description::well_known::Rfc3339;

use super::ArmOptions;
use super::dms_state::StorageAccount;
use super::reply::error;
use super::state::Arm;

/// The api-versions answered: the one whose shape the emulator was checked against (through
/// azure-mgmt-storage's models, tests/arm_sdk/storage_flow.py). Azure accepts older ones; the
/// emulator refuses them, the stricter choice `api_version` makes for Microsoft.Sql.
pub(super) const STORAGE_VERSIONS: &[&str] = &["2026-09-01"];

const RESOURCE_TYPE: &str = "storageAccounts";

/// (resource group, account name) when `path` names a storage account of the front end's
/// subscription; None for any other path (a foreign subscription is answered by the rest of
/// the front end: SubscriptionNotFound). Compared without regard to case, as ARM does.
pub(super) fn parse(path: &str, o: &ArmOptions) -> Option<(String, String)> {
    let seg: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |s: &str, fixed: &str| s.eq_ignore_ascii_case(fixed);
    match seg.as_slice() {
        [s, sub, g, rg, p, ns, t, name]
            if is(s, "subscriptions")
                && is(sub, &o.subscription)
                && is(g, "resourceGroups")
                && is(p, "providers")
                && is(ns, "Microsoft.Storage")
                && is(t, RESOURCE_TYPE) =>
        {
            Some(((*rg).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

pub(super) fn answer(
    arm: &Arm,
    method: &Method,
    rg: &str,
    name: &str,
    query: Option<&str>,
) -> Response {
    if let Err(refusal) = version(query, &arm.options) {
        return *refusal;
    }
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("{method} is not allowed on storageAccounts by ferry-emulator (GET only)."),
        );
    }
    let account = arm
        .dms
        .accounts
        .lock()
        .get(&name.to_ascii_lowercase())
        .cloned();
    match account {
        Some(a) if a.resource_group.eq_ignore_ascii_case(rg) => {
            axum::Json(account_json(&arm.options, name, &a)).into_response()
        }
        _ => not_found(arm, rg, name),
    }
}

/// ARM's 404s ("Resolve errors for resource not found", learn.microsoft.com): a resource group
/// no account or instance is in does not exist here (`ResourceGroupNotFound`); in one that
/// does, an account that is not there is `ResourceNotFound`. An account asked for under
/// another resource group than its own is not found (storage account names are global, but
/// ARM addresses a resource by its full id).
fn not_found(arm: &Arm, rg: &str, name: &str) -> Response {
    let known_group = arm.options.resource_group.eq_ignore_ascii_case(rg)
        || arm
            .dms
            .accounts
            .lock()
            .values()
            .any(|a| a.resource_group.eq_ignore_ascii_case(rg));
    if !known_group {
        return error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Storage/storageAccounts/{name}' under resource group '{rg}' was not found."
        ),
    )
}

/// The account as storage.json's `StorageAccount` shows it. `sku.name`: the spec's `SkuName`
/// enum pairs a tier with a redundancy (`Standard_LRS`, `Premium_LRS`, …); the emulator knows
/// only the tier, and says locally redundant (a guess: nothing here depends on redundancy).
/// `sku.tier` is read-only and derived from the name in Azure; here the name from the tier.
fn account_json(o: &ArmOptions, name: &str, a: &StorageAccount) -> J {
    let tier = if a.tier.eq_ignore_ascii_case("Premium") {
        "Premium"
    } else {
        "Standard"
    };
    let created = rfc3339(a.created);
    json!({
        "id": format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}",
            o.subscription,
            a.resource_group,
            name.to_ascii_lowercase()
        ),
        "name": name.to_ascii_lowercase(),
        "type": "Microsoft.Storage/storageAccounts",
        "location": a.location,
        "kind": a.kind,
        "sku": { "name": format!("{tier}_LRS"), "tier": tier },
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            // The blob endpoint with the trailing slash Azure's `primaryEndpoints` carry
            // ("https://{account}.blob.core.windows.net/").
            "primaryEndpoints": { "blob": format!("{}/", a.endpoint) },
            "primaryLocation": a.location,
            "statusOfPrimary": "available",
            "creationTime": created,
        }
    })
}

fn rfc3339(t: SystemTime) -> Option<String> {
    time::OffsetDateTime::from(t).format(&Rfc3339).ok()
}

/// The request's `api-version`, or ARM's refusal with the texts `dms_target::version` uses.
fn version(query: Option<&str>, o: &ArmOptions) -> Result<&'static str, Box<Response>> {
    let asked = query
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="));
    let Some(v) = asked else {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )));
    };
    STORAGE_VERSIONS
        .iter()
        .find(|s| **s == v)
        .copied()
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "NoRegisteredProviderFound",
                &format!(
                    "No registered resource provider found for location '{}' and API version \
                     '{}' for type '{RESOURCE_TYPE}'. The supported api-versions are '{}'. The \
                     supported locations are '{}'.",
                    o.location,
                    v.escape_default(),
                    STORAGE_VERSIONS.join(", "),
                    o.location
                ),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_account_paths_are_read_without_regard_to_case() {
        let o = ArmOptions::local("mi", "t");
        assert_eq!(
            parse(
                "/subscriptions/S1/resourcegroups/Other/providers/microsoft.storage/STORAGEACCOUNTS/Acct",
                &o
            ),
            Some(("Other".into(), "Acct".into()))
        );
        assert_eq!(
            parse(
                "/subscriptions/s2/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
                &o
            ),
            None
        );
        assert_eq!(
            parse(
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices",
                &o
            ),
            None
        );
    }
}
