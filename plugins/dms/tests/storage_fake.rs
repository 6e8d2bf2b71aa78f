//! The storage account checked before anything starts (methods.md §3.2): it exists, is in the
//! service's region and, premium, of kind BlockBlobStorage — each a refusal with no PUT; without
//! the `storage_azure` label, a warning and no check.

mod common;

use common::*;
use ferry_sdk::Level;
use ferry_sdk::ObjectStatus;
use serde_json::json;

fn refused(
    change: impl FnOnce(&mut World),
    config: serde_json::Value,
    code: &str,
) -> (ferry_sdk::fake::FakeHost, String) {
    let w = world();
    change(&mut w.borrow_mut());
    let (h, out) = run(&w, with_storage_label(config), &["cutover"]);
    let (_, msg) = failure(out);
    assert!(msg.contains("nothing was started"), "{msg}");
    assert_eq!(w.borrow().puts, 0, "nothing started");
    let row = h
        .rows
        .iter()
        .find(|r| r.reason_code.as_deref() == Some(code))
        .unwrap_or_else(|| panic!("no row {code}: {:#?}", h.rows));
    assert_eq!(row.status, ObjectStatus::Refused);
    assert_eq!(row.object_type, "dms-precondition");
    (h, msg)
}

fn storage_gets(h: &ferry_sdk::fake::FakeHost) -> Vec<String> {
    h.arm
        .iter()
        .filter(|(l, _)| l == "storage")
        .map(|(_, r)| r.path.clone())
        .collect()
}

#[test]
fn a_missing_account_is_refused_naming_it_and_the_label() {
    let (h, msg) = refused(|_| {}, share_config(), "storage-account-missing");
    assert!(msg.contains(SA_ID), "{msg}");
    assert!(msg.contains("`storage` label"), "{msg}");
    // Tried as under the label's resource group, then as under its subscription.
    assert_eq!(
        storage_gets(&h),
        [
            "providers/Microsoft.Storage/storageAccounts/sa1",
            "resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa1"
        ]
    );
}

#[test]
fn an_account_in_another_region_is_refused() {
    let (_, msg) = refused(
        |w| {
            w.accounts = vec![storage_account(
                SA_ID,
                "northeurope",
                "StorageV2",
                "Standard",
            )];
        },
        blob_config(),
        "storage-account-region",
    );
    assert!(
        msg.contains("northeurope") && msg.contains("westeurope"),
        "{msg}"
    );
    assert!(msg.contains("InvalidLocation"), "{msg}");
}

#[test]
fn a_premium_account_not_block_blob_is_refused() {
    let (_, msg) = refused(
        |w| w.accounts = vec![storage_account(SA_ID, "westeurope", "StorageV2", "Premium")],
        share_config(),
        "storage-account-kind",
    );
    assert!(msg.contains("BlockBlobStorage"), "{msg}");
}

#[test]
fn an_account_in_the_region_of_an_accepted_kind_passes() {
    let w = world();
    // The display name and the programmatic name of one region.
    w.borrow_mut().accounts = vec![storage_account(
        SA_ID,
        "West Europe",
        "BlockBlobStorage",
        "Premium",
    )];
    let (h, out) = run(&w, with_storage_label(share_config()), &["cutover"]);
    out.unwrap();
    assert_eq!(w.borrow().puts, 1);
    assert!(
        !h.rows.iter().any(|r| r.status == ObjectStatus::Refused),
        "{:#?}",
        h.rows
    );
    assert_eq!(storage_gets(&h).len(), 1, "found at the first path");
    assert!(
        !h.logs.iter().any(|(_, l)| l.contains("not checked")),
        "{:?}",
        h.logs
    );
}

#[test]
fn a_label_scoped_to_the_subscription_reads_the_account_too() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.storage_scope = "/subscriptions/s".into();
        w.accounts = vec![storage_account(
            SA_ID,
            "westeurope",
            "StorageV2",
            "Standard",
        )];
    }
    let (h, out) = run(&w, with_storage_label(blob_config()), &["cutover"]);
    out.unwrap();
    assert_eq!(storage_gets(&h).len(), 2);
}

#[test]
fn without_the_label_a_warning_says_nothing_was_checked() {
    let w = world();
    let (h, out) = run(&w, share_config(), &["cutover"]);
    out.unwrap();
    let warned: Vec<&String> = h
        .logs
        .iter()
        .filter(|(lvl, l)| {
            *lvl == Level::Warn && l.contains("storage account region/kind not checked")
        })
        .map(|(_, l)| l)
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", h.logs);
    assert!(warned[0].contains("storage_azure"), "{}", warned[0]);
    assert!(storage_gets(&h).is_empty());
}

#[test]
fn the_region_is_the_existing_services_not_the_configs() {
    // The service exists in North Europe; `location` (for creating it) says West Europe.
    let cfg = || {
        let mut c = with_storage_label(blob_config());
        c["location"] = json!("westeurope");
        c
    };
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.service_location = "northeurope".into();
        w.share = false;
        w.accounts = vec![storage_account(
            SA_ID,
            "northeurope",
            "StorageV2",
            "Standard",
        )];
    }
    let (_, out) = run(&w, cfg(), &["cutover"]);
    out.unwrap();

    let (_, msg) = refused(
        |w| {
            w.service_location = "northeurope".into();
            w.share = false;
            w.accounts = vec![storage_account(
                SA_ID,
                "westeurope",
                "StorageV2",
                "Standard",
            )];
        },
        cfg(),
        "storage-account-region",
    );
    assert!(msg.contains("the service's location"), "{msg}");
}

#[test]
fn without_a_service_the_region_is_the_configs_location() {
    let (_, msg) = refused(
        |w| {
            w.service = None;
            w.accounts = vec![storage_account(
                SA_ID,
                "northeurope",
                "StorageV2",
                "Standard",
            )];
        },
        {
            let mut c = with_storage_label(share_config());
            c["create_service"] = json!(true);
            c["location"] = json!("westeurope");
            c
        },
        "storage-account-region",
    );
    assert!(msg.contains("`location`"), "{msg}");
}

#[test]
fn a_plan_reads_and_refuses_the_same() {
    let (_, msg) = refused(
        |w| {
            w.planning = true;
            w.accounts = vec![storage_account(SA_ID, "westeurope", "StorageV2", "Premium")];
        },
        share_config(),
        "storage-account-kind",
    );
    assert!(msg.contains("InvalidStorageAccount"), "{msg}");
}

#[test]
fn a_storage_id_that_is_no_arm_id_is_a_config_error() {
    let w = world();
    let mut c = share_config();
    c["storage_azure"] = json!("storage");
    let (_, out) = run(&w, c, &["cutover"]);
    let e = out.unwrap_err();
    assert!(
        e.describe().contains("target_storage.storage_account_id"),
        "{}",
        e.describe()
    );
}

#[test]
fn an_account_reached_outside_the_ids_resource_group_is_a_config_error() {
    let w = world();
    {
        let mut w = w.borrow_mut();
        w.storage_by_name = true;
        w.accounts = vec![storage_account(
            "/subscriptions/s/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/sa1",
            "westeurope",
            "StorageV2",
            "Standard",
        )];
    }
    let (_, out) = run(&w, with_storage_label(share_config()), &["cutover"]);
    let e = out.unwrap_err().describe();
    assert!(
        e.contains(SA_ID) && e.contains("resourceGroups/other"),
        "{e}"
    );
    assert!(e.contains("`storage` label"), "{e}");
    assert_eq!(w.borrow().puts, 0);
}
