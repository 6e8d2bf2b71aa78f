//! The operations the front end hands out URLs for: creating and deleting databases (their
//! status, and the work still to do behind them, kept so that it is done after a restart),
//! and the steps of LRS jobs, whose status is the job's.

use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};

use super::reply::GUESS_INFO_TYPE;
use crate::lrs::details::{JobError, Phase};
use crate::lrs::job::Job;
use crate::server::Server;

/// An operation URL handed out: its status, and the work still to do when it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Operation {
    pub(super) status: J,
    pub(super) work: Option<Work>,
}

/// Which request of an LRS job an operation reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum JobStep {
    /// The PUT with `createMode: RestoreExternalBackup`: it succeeds once the job has started
    /// (its storage can be read) and fails with the reason it could not.
    Start,
    /// `completeRestore`: it succeeds once the database is online.
    Complete,
}

impl JobStep {
    /// The status body of this step of `job` (ARM's `Azure-AsyncOperation` shape: `status`
    /// `InProgress`, `Succeeded` or `Failed` with `error`).
    pub(super) fn status(self, job: &Job) -> J {
        let failed = |e: &JobError| {
            let mut error = json!({ "code": e.code, "message": e.message });
            if e.guessed {
                error["additionalInfo"] = json!([{ "type": GUESS_INFO_TYPE, "info": {} }]);
            }
            json!({ "status": "Failed", "error": error })
        };
        let d = job.details();
        match (self, d.phase, &d.error) {
            (_, Phase::Failed, Some(e)) if e.at_start => failed(e),
            (JobStep::Start, Phase::Starting, _) => json!({ "status": "InProgress" }),
            (JobStep::Start, _, _) => json!({ "status": "Succeeded" }),
            (JobStep::Complete, Phase::Completed, _) => json!({ "status": "Succeeded" }),
            (JobStep::Complete, Phase::Failed, Some(e)) => failed(e),
            (JobStep::Complete, _, _) => json!({ "status": "InProgress" }),
        }
    }
}

/// What an operation does when its time has passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Work {
    CreateDatabase(String),
    DropDatabase(String),
    /// A TDE certificate upload: the PFX (base64) and its password.
    AddTdeCertificate {
        pfx: String,
        password: String,
    },
}

impl Work {
    /// Does the work on the instance (once it runs) and gives the operation's final status.
    /// Idempotent, so work cut short by a restart can be done again.
    pub(super) async fn run(&self, mi: &Server) -> J {
        let result = match self {
            Work::CreateDatabase(name) => mi
                .with_instance_when_running(|i| match i.database(name) {
                    Some(_) => Ok(()),
                    None => i.create_database(name),
                })
                .await
                .map_err(|e| ("DatabaseCreateFailed", e.text)),
            Work::DropDatabase(name) => mi
                .with_instance_when_running(|i| match i.database(name) {
                    Some(_) => i.drop_database(name),
                    None => Ok(()),
                })
                .await
                .map_err(|e| ("DatabaseDeleteFailed", e.text)),
            Work::AddTdeCertificate { pfx, password } => {
                super::tde_install::install(mi, pfx, password).await
            }
        };
        match result {
            Ok(()) => json!({ "status": "Succeeded" }),
            Err((code, message)) => {
                json!({ "status": "Failed", "error": { "code": code, "message": message } })
            }
        }
    }
}
