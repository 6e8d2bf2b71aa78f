//! The families of instance objects, in the order they must be made (methods.md §5): a
//! certificate before the login mapped to it, credentials before the logins that use them,
//! logins before roles, permissions, Mail and job owners, operators before the jobs that
//! notify them.

pub mod agent_jobs;
pub mod agent_operators;
pub mod audits;
pub mod certificates;
pub mod configuration;
pub mod credentials;
pub mod database_mail;
pub mod event_sessions;
pub mod linked_logins;
pub mod linked_servers;
pub mod logins;
pub mod messages;
pub mod permissions;
pub mod principals;
pub mod resource_governor;
pub mod roles;
pub mod server_triggers;
pub mod tde;

use ferry_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Config, FamilyConfig};
use crate::decision::Decision;
use crate::servers::Servers;

/// A family of objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    TdeCertificates,
    Certificates,
    Credentials,
    Logins,
    ServerRoles,
    ServerPermissions,
    DatabaseMail,
    AgentOperators,
    AgentJobs,
    LinkedServers,
    Audits,
    ServerTriggers,
    Messages,
    Configuration,
    EventSessions,
    ResourceGovernor,
}

/// Dependency order.
pub const ORDER: [Family; 16] = [
    Family::TdeCertificates,
    Family::Certificates,
    Family::Credentials,
    Family::Logins,
    Family::ServerRoles,
    Family::ServerPermissions,
    Family::DatabaseMail,
    Family::AgentOperators,
    Family::AgentJobs,
    Family::LinkedServers,
    Family::Audits,
    Family::ServerTriggers,
    Family::Messages,
    Family::Configuration,
    Family::EventSessions,
    Family::ResourceGovernor,
];

impl Family {
    /// The family's name: its config key (with `_`) and its `.sql` file (with `-`).
    pub fn name(self) -> &'static str {
        match self {
            Family::TdeCertificates => "tde-certificates",
            Family::Certificates => "certificates",
            Family::Credentials => "credentials",
            Family::Logins => "logins",
            Family::ServerRoles => "server-roles",
            Family::ServerPermissions => "server-permissions",
            Family::DatabaseMail => "database-mail",
            Family::AgentOperators => "agent-operators",
            Family::AgentJobs => "agent-jobs",
            Family::LinkedServers => "linked-servers",
            Family::Audits => "audits",
            Family::ServerTriggers => "server-triggers",
            Family::Messages => "messages",
            Family::Configuration => "configuration",
            Family::EventSessions => "event-sessions",
            Family::ResourceGovernor => "resource-governor",
        }
    }

    pub fn config(self, c: &Config) -> &FamilyConfig {
        match self {
            Family::TdeCertificates => &c.tde_certificates,
            Family::Certificates => &c.certificates,
            Family::Credentials => &c.credentials,
            Family::Logins => &c.logins,
            Family::ServerRoles => &c.server_roles,
            Family::ServerPermissions => &c.server_permissions,
            Family::DatabaseMail => &c.database_mail,
            Family::AgentOperators => &c.agent_operators,
            Family::AgentJobs => &c.agent_jobs,
            Family::LinkedServers => &c.linked_servers,
            Family::Audits => &c.audits,
            Family::ServerTriggers => &c.server_triggers,
            Family::Messages => &c.messages,
            Family::Configuration => &c.configuration,
            Family::EventSessions => &c.event_sessions,
            Family::ResourceGovernor => &c.resource_governor,
        }
    }

    /// Reads the family on both servers and decides each object. TDE certificates are
    /// decided here too; their upload (an ARM operation) is the step's own phase.
    pub fn decide(self, cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
        match self {
            Family::TdeCertificates => tde::decide(cx, s).map(|(d, _)| d),
            Family::Certificates => certificates::decide(cx, s),
            Family::Credentials => credentials::decide(cx, s),
            Family::Logins => logins::decide(cx, s),
            Family::ServerRoles => roles::decide(cx, s),
            Family::ServerPermissions => permissions::decide(cx, s),
            Family::LinkedServers => linked_servers::decide(cx, s),
            Family::Audits => audits::decide(cx, s),
            Family::ServerTriggers => server_triggers::decide(cx, s),
            Family::Messages => messages::decide(cx, s),
            Family::Configuration => configuration::decide(cx, s),
            Family::ResourceGovernor => resource_governor::decide(cx, s),
            Family::DatabaseMail => database_mail::decide(cx, s),
            Family::AgentOperators => agent_operators::decide(cx, s),
            Family::AgentJobs => agent_jobs::decide(cx, s),
            Family::EventSessions => event_sessions::decide(cx, s),
        }
    }
}
