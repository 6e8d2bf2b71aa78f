//! The operations the front end hands out URLs for (creating and deleting databases): their
//! status, and the work still to do behind them, kept so that it is done after a restart.

use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};

use crate::server::Server;

/// An operation URL handed out: its status, and the work still to do when it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Operation {
    pub(super) status: J,
    pub(super) work: Option<Work>,
}

/// What an operation does when its time has passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Work {
    CreateDatabase(String),
    DropDatabase(String),
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
        };
        match result {
            Ok(()) => json!({ "status": "Succeeded" }),
            Err((code, message)) => {
                json!({ "status": "Failed", "error": { "code": code, "message": message } })
            }
        }
    }
}
