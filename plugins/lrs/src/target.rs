//! The Managed Instance over T-SQL, when the step names it (`target`): what it holds, and
//! whether it can read the folder through the SAS LRS will get — the LRS guide's "Validate MI
//! storage access" (a credential for the folder, then `RESTORE HEADERONLY FROM URL`), done
//! before LRS starts rather than learnt from `StorageBrokenIssueDetectedAtTheStart` after.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;
use ferry_sdk::{QueryLimits, SasPermission, Secret};

use crate::config::{Config, StorageIdentity};
use crate::job::{Job, State, StorageCheck};
use crate::preflight::Mi;

/// Adds what T-SQL on the MI tells (storage used, files, its certificates, and the tier where
/// ARM did not say) to what ARM told.
pub fn add_facts(cx: &mut Context<'_, Config>, mi: &mut Mi) -> Result<()> {
    let Some(label) = cx.config().target.clone() else {
        return Ok(());
    };
    let conn = cx.sql(&label)?;
    let (_, seen) = cx.managed_instance(conn)?;
    let i = &mut mi.instance;
    i.tier = i.tier.or(seen.tier);
    i.reserved_mb = i.reserved_mb.or(seen.reserved_mb);
    i.used_mb = seen.used_mb;
    i.user_databases = i.user_databases.or(seen.user_databases);
    i.files = seen.files;
    i.certificates = seen.certificates;
    Ok(())
}

/// A Read+List SAS for the container, as LRS reads with: the site's (`sas_secret`) or one
/// ferry signs for `minutes`.
pub fn read_sas(cx: &mut Context<'_, Config>, minutes: u32) -> Result<Secret> {
    let cfg = cx.config().clone();
    match &cfg.sas_secret {
        Some(label) => cx.secret(label),
        None => {
            let container = cx.container(&cfg.backups)?;
            cx.create_sas(
                container,
                "",
                &[SasPermission::Read, SasPermission::List],
                minutes,
            )
        }
    }
}

/// How long the check's own SAS lasts: one statement's worth.
const CHECK_SAS_MINUTES: u32 = 60;

/// Checks that the MI reads the first backup set through the SAS LRS gets. Ok(None) when done
/// or not wanted; Ok(Some) when whether ferry owns the MI's credential was just decided and
/// must be journaled before the credential is made. A refusal ends the item before LRS starts.
pub fn check_storage(
    cx: &mut Context<'_, Config>,
    job: &mut Job,
) -> Result<Option<Outcome<State>>> {
    let cfg = cx.config().clone();
    let wanted = cfg.storage_identity == StorageIdentity::Sas && !job.first_set.is_empty();
    let Some(label) = cfg.target.clone().filter(|_| wanted && !cx.planning()) else {
        job.storage_check = StorageCheck::Done;
        return Ok(None);
    };
    let conn = cx.sql(&label)?;
    match job.storage_check {
        StorageCheck::Done => return Ok(None),
        StorageCheck::Due => {
            job.storage_check = if cx.credential_exists(conn, &job.folder_url)? {
                StorageCheck::NotOwned
            } else {
                StorageCheck::Owned
            };
            return Ok(Some(Outcome::Next(State::Starting { job: job.clone() })));
        }
        StorageCheck::Owned => {
            let sas = read_sas(cx, CHECK_SAS_MINUTES)?;
            cx.put_credential(conn, &job.folder_url, sas, false)?;
        }
        StorageCheck::NotOwned => {}
    }
    let from = job
        .first_set
        .iter()
        .map(|u| format!("URL = {}", quote_text(u)))
        .collect::<Vec<_>>()
        .join(", ");
    let read = cx.query(
        conn,
        &format!("RESTORE HEADERONLY FROM {from}"),
        &[],
        QueryLimits {
            max_rows: 100,
            max_bytes: 1 << 20,
        },
    );
    drop_check_credential(cx, job);
    match read {
        Ok(_) => {
            job.storage_check = StorageCheck::Done;
            cx.info(&format!(
                "the Managed Instance (`{label}`) reads the folder through the SAS LRS gets"
            ));
            Ok(None)
        }
        Err(Error::Failed(f)) => {
            let why = match f.code {
                Some(3201) => ferry_sdk::url_errors::hint_3201(&f.message),
                _ => "see the server's message",
            };
            Err(Error::Failed(ferry_sdk::Failure {
                message: format!(
                    "the Managed Instance (`{label}`) cannot read the folder through the SAS LRS \
                     would get, so LRS was not started: RESTORE HEADERONLY failed{}: {} — {why}. \
                     Fix the storage access (SAS, firewall, the MI's network), then run `ferry \
                     apply --retry-failed`",
                    f.code
                        .map(|c| format!(" with error {c}"))
                        .unwrap_or_default(),
                    f.message.trim_end_matches('.')
                ),
                code: f.code,
            }))
        }
        Err(e) => Err(e),
    }
}

/// Drops the MI credential the check made, if ferry owns it; one already gone is fine.
pub fn drop_check_credential(cx: &mut Context<'_, Config>, job: &Job) {
    if job.storage_check == StorageCheck::Owned
        && let Some(label) = cx.config().target.clone()
    {
        cx.drop_credential(&label, &job.folder_url);
    }
}
