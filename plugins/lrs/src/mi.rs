//! The Managed Instance's side, through ARM: the requests every phase builds, what the
//! instance is, and what `restoreDetails` and the database say about the running LRS job.

use ferry_sdk::ArmRequest;
use ferry_sdk::arm_errors::arm_code;
use ferry_sdk::mi_limits::{Instance, Tier};
use ferry_sdk::prelude::*;
use ferry_sdk::sql_version::UpdatePolicy;

use crate::config::Config;
use crate::details::{Answer, RestoreDetails, answer};
use crate::job::Job;
use crate::preflight::Mi;

/// LRS cancels a job after 30 days (methods.md §2.7).
pub const LRS_MAX_DAYS: u64 = 30;

pub fn arm(method: &str, path: &str, cfg: &Config, body: Option<serde_json::Value>) -> ArmRequest {
    ArmRequest {
        method: method.into(),
        path: path.into(),
        api_version: cfg.api_version.clone(),
        body: body.map(|b| b.to_string()),
    }
}

/// A GET that may answer 404: the body, or None. A body that is not a JSON object is a
/// broken reply, retried as a transient failure and then reported with the path.
pub fn arm_get(cx: &mut Context<'_, Config>, path: &str) -> Result<Option<serde_json::Value>> {
    let cfg = cx.config().clone();
    match cx.azure(&cfg.azure, &arm("GET", path, &cfg, None)) {
        Ok(r) => match serde_json::from_str::<serde_json::Value>(&r.body) {
            Ok(v) if v.is_object() => Ok(Some(v)),
            _ => Err(Error::transient(format!(
                "ARM answered GET {} with a body that is not a JSON object ({} bytes)",
                if path.is_empty() {
                    "<the instance>"
                } else {
                    path
                },
                r.body.len()
            ))),
        },
        Err(Error::Failed(f)) if f.code == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The instance as ARM describes it (`ManagedInstances.json`): its region, `sku.tier`,
/// `storageSizeInGB`, `databaseFormat` (the update policy) and `isGeneralPurposeV2`, and how
/// many databases it holds. Absent properties leave their facts unknown.
pub fn instance(cx: &mut Context<'_, Config>) -> Result<Mi> {
    let mi = arm_get(cx, "")?.unwrap_or_default();
    let p = &mi["properties"];
    let tier = mi["sku"]["tier"]
        .as_str()
        .map(|t| Tier::from_sku(t, p["isGeneralPurposeV2"].as_bool().unwrap_or(false)));
    let databases =
        arm_get(cx, "databases")?.and_then(|l| l["value"].as_array().map(|v| v.len() as u64));
    Ok(Mi {
        location: mi["location"].as_str().unwrap_or_default().to_owned(),
        policy: UpdatePolicy::from_database_format(p["databaseFormat"].as_str()),
        instance: Instance {
            tier,
            reserved_mb: p["storageSizeInGB"].as_u64().map(|gb| gb << 10),
            user_databases: databases,
            ..Instance::default()
        },
    })
}

/// The database's ARM `status` (`Online`, `Restoring`, …), or None when there is none. An
/// error answer (400: the instance is starting or stopping, `ManagedDatabases.json`) says
/// nothing about the job: it is retried, never taken for the job's end.
pub fn database_status(cx: &mut Context<'_, Config>, target: &str) -> Result<Option<String>> {
    match arm_get(cx, &format!("databases/{target}")) {
        Ok(d) => Ok(d.map(|d| d["properties"]["status"].as_str().unwrap_or("").to_owned())),
        Err(Error::Failed(f)) if f.code == Some(400) => Err(Error::transient(f.message)),
        Err(e) => Err(e),
    }
}

/// What `restoreDetails` says about the job.
pub enum Look {
    /// The job runs; its details.
    Running(RestoreDetails),
    /// LRS retries something by itself (a documented passing error): why.
    Passing(String),
    /// The details are gone (404, or RestoreDetailsNotAvailableOrExpired).
    Gone,
}

/// Reads `restoreDetails`. A failed job comes back as an error answer with its code
/// (`ManagedDatabaseRestoreDetails.json`): that ends the item, saying what to do.
pub fn look(cx: &mut Context<'_, Config>, job: &Job) -> Result<Look> {
    let path = format!("databases/{}/restoreDetails/Default", job.target);
    match arm_get(cx, &path) {
        Ok(Some(body)) => RestoreDetails::from_body(&body)
            .map(Look::Running)
            .map_err(Error::transient),
        Ok(None) => Ok(Look::Gone),
        Err(Error::Failed(f)) if f.code == Some(400) => {
            match arm_code(&f.message).and_then(answer) {
                Some(Answer::NotAvailable) => Ok(Look::Gone),
                Some(Answer::Passing) => Ok(Look::Passing(f.message)),
                Some(Answer::Failed) => Err(stopped(&job.target, &f.message)),
                // A code the service does not document here: not taken for the job's end.
                None => Err(Error::transient(f.message)),
            }
        }
        Err(e) => Err(e),
    }
}

/// LRS ended the job with `message`, and what to do.
pub fn stopped(target: &str, message: &str) -> Error {
    let reason = message
        .split_once("`: ")
        .map_or(message, |(_, r)| r)
        .trim_end_matches('.');
    Error::failed(format!(
        "LRS stopped: {reason}. ferry never deletes a database: to start over, fix the cause, \
         stop the job (`az sql midb log-replay stop` deletes the restoring [{target}]) and run \
         `ferry apply --retry-failed`"
    ))
}

/// The job's details are gone and its database is not online: it was stopped, expired or
/// deleted.
pub fn gone(target: &str) -> Error {
    Error::failed(format!(
        "the MI has no restore details for [{target}] any more: the LRS job was stopped, expired \
         after {LRS_MAX_DAYS} days, or its database was deleted; to start over, drop what is \
         left of the database on the MI and run `ferry apply --retry-failed`"
    ))
}
