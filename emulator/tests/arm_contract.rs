//! The emulated ARM front end held to what ARM and the Microsoft.Sql specs say, independent of
//! any client: api-versions (known, unknown, malformed, echoed in operation URLs),
//! `restoreDetails` shaped per version, paths without regard to case, the lists of managed
//! instances, and 401 with its challenge.

mod common;

use common::lrs_rig::{MI_PATH, Rig};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn assert_rfc3339(v: &Value) {
    let text = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_details_take_the_shape_of_the_api_version_asked() {
    let rig = Rig::new().await;
    rig.seed("Shape");
    let f = rig.folder("Shape");
    rig.backup("DATABASE", "Shape", &f, "full.bak");
    rig.source("INSERT INTO [Shape].dbo.T VALUES (2)");
    rig.backup("LOG", "Shape", &f, "log1.trn");
    rig.put_text_blob(&f, "readme.txt").await;
    let started = rig.start("Shape", &f, &rig.rl, None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    rig.until("Shape", |p| p["lastRestoredFileName"] == "log1.trn")
        .await;
    let path = "databases/Shape/restoreDetails/Default";

    // 2023-08-01: unrestorableFiles is string[], percentCompleted a number, no counts or
    // backup-set arrays (stable/2023-08-01/ManagedDatabaseRestoreDetails.json).
    let old = rig
        .call_at("2023-08-01", reqwest::Method::GET, path, None)
        .await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.body["name"], "current");
    assert_eq!(
        old.body["type"],
        "Microsoft.Sql/managedInstances/databases/restoreDetails"
    );
    let p = &old.body["properties"];
    assert_eq!(
        p["unrestorableFiles"],
        serde_json::json!(["readme.txt"]),
        "{p}"
    );
    assert!(p["percentCompleted"].is_f64(), "{p}");
    assert_eq!(p["status"], "Restoring");
    assert_eq!(p["lastRestoredFileName"], "log1.trn");
    assert_eq!(p["numberOfFilesDetected"], 3, "{p}");
    assert_rfc3339(&p["lastRestoredFileTime"]);
    assert_rfc3339(&p["lastUploadedFileTime"]);
    for newer in [
        "type",
        "numberOfFilesRestored",
        "logBackupSets",
        "currentRestorePlanSizeMB",
    ] {
        assert!(p.get(newer).is_none(), "{newer} is not in 2023-08-01: {p}");
    }

    // 2024-05-01-preview and 2025-01-01: objects with a name, the counts and the sets.
    for version in ["2024-05-01-preview", "2025-01-01"] {
        let new = rig.call_at(version, reqwest::Method::GET, path, None).await;
        assert_eq!(new.status, 200, "{}", new.body);
        let p = &new.body["properties"];
        assert_eq!(
            p["unrestorableFiles"],
            serde_json::json!([{ "name": "readme.txt" }]),
            "{p}"
        );
        assert_eq!(p["type"], "LRSRestore");
        assert!(p["percentCompleted"].is_u64(), "{p}");
        assert_eq!(p["numberOfFilesUnrestorable"], 1, "{p}");
        assert_eq!(p["numberOfFilesRestored"], 2, "{p}");
        let full = &p["fullBackupSets"][0];
        assert_eq!(full["status"], "Restored", "{p}");
        assert_eq!(full["numberOfStripes"], 1);
        assert_rfc3339(&full["restoreStartedTimestampUtc"]);
        assert_rfc3339(&full["restoreFinishedTimestampUtc"]);
        assert!(p.get("errorCode").is_none(), "no invented fields: {p}");
    }
    // Cut over, so that no job reads Azurite after the test ends.
    let complete = rig
        .call(
            reqwest::Method::POST,
            "databases/Shape/completeRestore",
            Some(serde_json::json!({ "lastBackupName": "log1.trn" })),
        )
        .await;
    assert_eq!(complete.status, 202, "{}", complete.body);
    rig.until_status("Shape", "Online").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_versions_are_checked_and_echoed() {
    let rig = Rig::new().await;
    for (version, code) in [
        ("2099-01-01", "NoRegisteredProviderFound"),
        ("latest", "InvalidApiVersionParameter"),
    ] {
        let r = rig
            .call_at(version, reqwest::Method::GET, "databases", None)
            .await;
        assert_eq!((r.status, r.code()), (400, Some(code)), "{}", r.body);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("2023-08-01") && message.contains("2025-01-01"),
            "{message}"
        );
    }
    let url = format!("{}{MI_PATH}/databases", rig.arm.endpoint());
    let r = rig.send(reqwest::Method::GET, &url, None).await;
    assert_eq!(r.code(), Some("MissingApiVersionParameter"), "{}", r.body);

    // The operation URLs handed out carry the version the request was made with.
    rig.seed("Echo");
    let f = rig.folder("Echo");
    rig.backup("DATABASE", "Echo", &f, "full.bak");
    let started = rig
        .call_at(
            "2024-05-01-preview",
            reqwest::Method::PUT,
            "databases/Echo",
            Some(
                serde_json::json!({ "location": "westeurope", "properties": {
                    "createMode": "RestoreExternalBackup",
                    "collation": "SQL_Latin1_General_CP1_CI_AS",
                    "storageContainerUri": f,
                    "storageContainerSasToken": rig.rl,
                    "autoCompleteRestore": true,
                    "lastBackupName": "full.bak",
                }}),
            ),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    for header in ["azure-asyncoperation", "location"] {
        let url = started.header(header).unwrap();
        assert!(
            url.ends_with("?api-version=2024-05-01-preview"),
            "{header}: {url}"
        );
    }
    assert_eq!(rig.follow(&started).await["status"], "Succeeded");
    rig.until_status("Echo", "Online").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_lists_and_tokens_are_answered_as_arm_answers_them() {
    let rig = Rig::new().await;
    let base = rig.arm.endpoint();
    let v = "api-version=2025-01-01";

    let shouted = rig
        .send(
            reqwest::Method::GET,
            &format!("{base}/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.SQL/MANAGEDINSTANCES/MI?{v}"),
            None,
        )
        .await;
    assert_eq!(shouted.status, 200, "{}", shouted.body);
    assert_eq!(shouted.body["name"], "mi");
    assert_eq!(shouted.body["sku"]["tier"], "GeneralPurpose");
    assert_eq!(shouted.body["properties"]["storageSizeInGB"], 32);

    for list in [
        format!(
            "{base}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances?{v}"
        ),
        format!("{base}/subscriptions/s1/providers/Microsoft.Sql/managedInstances?{v}"),
    ] {
        let r = rig.send(reqwest::Method::GET, &list, None).await;
        assert_eq!(r.status, 200, "{list}: {}", r.body);
        assert_eq!(r.body["value"][0]["id"], MI_PATH, "{}", r.body);
    }
    for (url, code) in [
        (
            format!(
                "{base}/subscriptions/s1/resourceGroups/other/providers/Microsoft.Sql/managedInstances?{v}"
            ),
            "ResourceGroupNotFound",
        ),
        (
            format!("{base}/subscriptions/s9/providers/Microsoft.Sql/managedInstances?{v}"),
            "SubscriptionNotFound",
        ),
        (
            format!(
                "{base}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/other?{v}"
            ),
            "ResourceNotFound",
        ),
    ] {
        let r = rig.send(reqwest::Method::GET, &url, None).await;
        assert_eq!((r.status, r.code()), (404, Some(code)), "{url}: {}", r.body);
    }

    let url = format!("{base}{MI_PATH}?{v}");
    let without = rig.http.get(&url).send().await.unwrap();
    let with_bad = rig
        .http
        .get(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    for (r, code) in [
        (without, "AuthenticationFailed"),
        (with_bad, "InvalidAuthenticationToken"),
    ] {
        assert_eq!(r.status(), 401);
        let challenge = r
            .headers()
            .get("www-authenticate")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );
        let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
}
