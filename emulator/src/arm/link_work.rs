//! What the Managed Instance link's long-running operations do (`link_ops` runs them): the
//! work each one does on the instance's `Links`, kept (with its status) so that work a stop
//! cut short is done after a restart, and the status a failure reports.

use serde::{Deserialize, Serialize};
use serde_json::{Value as J, json};

use super::reply::GUESS_INFO_TYPE;
use crate::hadr::link::{LinkError, LinkRole, LinkSpec, Links};

/// What an operation does to the links.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum LinkWork {
    PutTrust {
        name: String,
        der: Vec<u8>,
    },
    DeleteTrust(String),
    Create(LinkSpec),
    SetMode {
        dag: String,
        sync: bool,
    },
    /// `mi_primary`: the MI's role once done, read when the POST came (a planned failover
    /// goes to whichever side was secondary then), so a replayed operation is not a second
    /// failover back.
    Failover {
        dag: String,
        forced: bool,
        mi_primary: bool,
    },
    SetRole {
        dag: String,
        primary: bool,
        forced: bool,
    },
    Delete(String),
}

/// What the `Location` URL answers once the operation has succeeded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum LinkResult {
    Dag(String),
    Trust(String),
    Nothing,
}

/// An operation: its status body, the work still to do, and its final answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct LinkOp {
    pub(super) status: J,
    pub(super) work: Option<LinkWork>,
    pub(super) result: LinkResult,
    /// The api-version of the request that started it: the final answer's shape.
    pub(super) version: String,
}

impl LinkWork {
    /// The DAG this work changes, if any.
    pub(super) fn dag(&self) -> Option<&str> {
        match self {
            LinkWork::Create(s) => Some(&s.dag),
            LinkWork::SetMode { dag, .. }
            | LinkWork::Failover { dag, .. }
            | LinkWork::SetRole { dag, .. }
            | LinkWork::Delete(dag) => Some(dag),
            LinkWork::PutTrust { .. } | LinkWork::DeleteTrust(_) => None,
        }
    }

    /// Does the work. Work already done (before a restart cut the operation short) is not
    /// done twice.
    pub(super) fn run(&self, links: &Links) -> Result<(), LinkError> {
        match self {
            LinkWork::PutTrust { name, der } => match links.trust_certificate(name) {
                Some(c) if &c.public_blob == der => Ok(()),
                _ => links.put_trust_certificate(name, der).map(|_| ()),
            },
            LinkWork::DeleteTrust(name) => match links.trust_certificate(name) {
                None => Ok(()),
                Some(_) => links.delete_trust_certificate(name),
            },
            LinkWork::Create(spec) => match links.status(&spec.dag) {
                Some(_) => Ok(()),
                None => links.create(spec.clone()),
            },
            LinkWork::SetMode { dag, sync } => links.set_replication_mode(dag, *sync),
            LinkWork::Failover {
                dag,
                forced,
                mi_primary,
            } => match links.status(dag) {
                Some(s) if (s.instance_role == LinkRole::Primary) == *mi_primary && !*forced => {
                    Ok(())
                }
                _ => links.failover(dag, *forced),
            },
            LinkWork::SetRole {
                dag,
                primary,
                forced,
            } => {
                let wanted = if *primary {
                    LinkRole::Primary
                } else {
                    LinkRole::Secondary
                };
                match links.status(dag) {
                    Some(s) if s.instance_role == wanted => Ok(()),
                    _ => links.set_role(dag, *primary, *forced),
                }
            }
            LinkWork::Delete(dag) => match links.status(dag) {
                None => Ok(()),
                Some(_) => links.delete(dag),
            },
        }
    }
}

/// The status body of a failed operation. The link's refusals are SQL Server's (number and
/// text); the specs document no ARM code for them, so the code is the emulator's own, marked
/// as such, and the message carries SQL Server's.
pub(super) fn failed(e: &LinkError) -> J {
    json!({ "status": "Failed", "error": {
        "code": "LinkOperationFailed",
        "message": e.to_string(),
        "additionalInfo": [{ "type": GUESS_INFO_TYPE, "info": {
            "note": "Microsoft documents no ARM error code for this link failure; this code is ferry-emulator's own",
            "number": e.number,
            "state": e.state,
        }}],
    }})
}
