//! SQL Server's database mirroring endpoint ("Configure link with T-SQL", step "Create a
//! database mirroring endpoint"; CREATE ENDPOINT / ALTER ENDPOINT, sql-docs): made with the
//! endpoint certificate, or an existing one altered to add it. The MI accepts certificate
//! authentication only; encryption must be required with AES.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::quote_name;

use crate::config::Config;
use crate::sql::{Side, exec, row};
use crate::state::Link;

/// The endpoint as `sys.database_mirroring_endpoints` and `sys.tcp_endpoints` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointFacts {
    pub name: String,
    pub endpoint_id: i64,
    pub state: String,
    pub role: String,
    /// `connection_auth_desc`: `WINDOWS_NEGOTIATE`, `CERTIFICATE`, `WINDOWS_NEGOTIATE_CERTIFICATE`, …
    pub auth: String,
    pub certificate_id: i64,
    pub encryption: bool,
    /// `encryption_algorithm_desc`: `AES`, `RC4_AES`, `NONE`, …
    pub algorithm: String,
    pub port: i64,
}

impl EndpointFacts {
    /// What makes the endpoint unusable for the link without a person's decision.
    pub fn refusal(&self) -> Option<String> {
        let n = &self.name;
        if !self.state.eq_ignore_ascii_case("STARTED") {
            return Some(format!(
                "the mirroring endpoint [{n}] is {}; the link needs it STARTED. ferry does not \
                 start an endpoint someone stopped: ALTER ENDPOINT [{n}] STATE = STARTED, then \
                 apply again",
                self.state
            ));
        }
        if !self.encryption || !self.algorithm.to_ascii_uppercase().contains("AES") {
            return Some(format!(
                "the mirroring endpoint [{n}] does not require AES encryption ({}); the MI \
                 needs ENCRYPTION = REQUIRED ALGORITHM AES. Changing it affects the endpoint's \
                 other partners, so ferry leaves it to you: ALTER ENDPOINT [{n}] FOR \
                 DATABASE_MIRRORING (ENCRYPTION = REQUIRED ALGORITHM AES), then apply again",
                if self.encryption {
                    self.algorithm.as_str()
                } else {
                    "encryption not required"
                }
            ));
        }
        if self.role.eq_ignore_ascii_case("WITNESS") {
            return Some(format!(
                "the mirroring endpoint [{n}] has ROLE = WITNESS; the link needs ALL or PARTNER"
            ));
        }
        None
    }

    /// Whether it already authenticates with certificate `cert_id`.
    pub fn uses_certificate(&self, cert_id: i64) -> bool {
        self.auth.to_ascii_uppercase().contains("CERTIFICATE") && self.certificate_id == cert_id
    }
}

pub fn read(cx: &mut Context<'_, Config>) -> Result<Option<EndpointFacts>> {
    let Some(r) = row(
        cx,
        Side::Source,
        "SELECT name, endpoint_id, state_desc, role_desc, connection_auth_desc, certificate_id, \
         is_encryption_enabled, encryption_algorithm_desc FROM sys.database_mirroring_endpoints",
        &[],
    )?
    else {
        return Ok(None);
    };
    let endpoint_id = int(r.get(1));
    let port = row(
        cx,
        Side::Source,
        "SELECT port FROM sys.tcp_endpoints WHERE endpoint_id = @id",
        &[ferry_sdk::Param::value(
            "id",
            ferry_sdk::SqlValue::Int(endpoint_id),
        )],
    )?
    .map_or(0, |p| int(p.first()));
    Ok(Some(EndpointFacts {
        name: text(r.first()),
        endpoint_id,
        state: text(r.get(2)),
        role: text(r.get(3)),
        auth: text(r.get(4)),
        certificate_id: int(r.get(5)),
        encryption: int(r.get(6)) == 1,
        algorithm: text(r.get(7)),
        port,
    }))
}

/// The endpoint's port: the existing one's, else the configured one.
pub fn port(existing: Option<&EndpointFacts>, cfg: &Config) -> i64 {
    existing
        .map(|e| e.port)
        .filter(|p| *p > 0)
        .unwrap_or(i64::from(cfg.endpoint_port))
}

/// The statement that makes the endpoint use `cert`, or None when it already does.
pub fn statement(
    existing: Option<&EndpointFacts>,
    cfg: &Config,
    cert: &str,
    cert_id: i64,
) -> Option<String> {
    let cert_q = quote_name(cert);
    let Some(e) = existing else {
        return Some(format!(
            "CREATE ENDPOINT {} STATE = STARTED AS TCP (LISTENER_PORT = {}, LISTENER_IP = ALL) \
             FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE {cert_q}, \
             ENCRYPTION = REQUIRED ALGORITHM AES)",
            quote_name(&cfg.endpoint_name),
            cfg.endpoint_port
        ));
    };
    if e.uses_certificate(cert_id) {
        return None;
    }
    // An endpoint serving Windows-authenticated AGs keeps Windows first ("Configure link with
    // T-SQL": WINDOWS NEGOTIATE CERTIFICATE), and RC4 where it already allows it.
    let auth = if e.auth.to_ascii_uppercase().contains("WINDOWS") {
        format!("WINDOWS NEGOTIATE CERTIFICATE {cert_q}")
    } else {
        format!("CERTIFICATE {cert_q}")
    };
    let algorithm = if e.algorithm.to_ascii_uppercase().contains("RC4") {
        "AES RC4"
    } else {
        "AES"
    };
    Some(format!(
        "ALTER ENDPOINT {} STATE = STARTED AS TCP (LISTENER_PORT = {}, LISTENER_IP = ALL) FOR \
         DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = {auth}, ENCRYPTION = REQUIRED \
         ALGORITHM {algorithm})",
        quote_name(&e.name),
        port(existing, cfg)
    ))
}

/// Makes the endpoint use the link's certificate (created, or altered to add it).
pub fn ensure(cx: &mut Context<'_, Config>, link: &Link, cert_id: i64) -> Result<()> {
    let cfg = cx.config().clone();
    let existing = read(cx)?;
    if let Some(why) = existing.as_ref().and_then(EndpointFacts::refusal) {
        return Err(Error::failed(why));
    }
    if let Some(sql) = statement(existing.as_ref(), &cfg, &link.cert_name, cert_id) {
        exec(cx, Side::Source, &sql, &[], "the mirroring endpoint")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> EndpointFacts {
        EndpointFacts {
            name: "Hadr_endpoint".into(),
            endpoint_id: 65536,
            state: "STARTED".into(),
            role: "ALL".into(),
            auth: "WINDOWS_NEGOTIATE".into(),
            certificate_id: 0,
            encryption: true,
            algorithm: "RC4_AES".into(),
            port: 5023,
        }
    }

    #[test]
    fn a_missing_endpoint_is_created_with_certificate_auth_and_aes() {
        let s = statement(None, &Config::default(), "Cert_S1_endpoint", 0).unwrap();
        assert!(s.starts_with("CREATE ENDPOINT [database_mirroring_endpoint] STATE = STARTED"));
        assert!(s.contains("LISTENER_PORT = 5022"));
        assert!(s.contains("AUTHENTICATION = CERTIFICATE [Cert_S1_endpoint]"));
        assert!(s.ends_with("ENCRYPTION = REQUIRED ALGORITHM AES)"));
    }

    #[test]
    fn a_windows_endpoint_gets_the_certificate_added_and_keeps_its_port_and_rc4() {
        let s = statement(Some(&windows()), &Config::default(), "C", 300).unwrap();
        assert!(s.starts_with("ALTER ENDPOINT [Hadr_endpoint]"), "{s}");
        assert!(s.contains("LISTENER_PORT = 5023"));
        assert!(s.contains("WINDOWS NEGOTIATE CERTIFICATE [C]"));
        assert!(s.contains("ALGORITHM AES RC4"));
        let done = EndpointFacts {
            auth: "WINDOWS_NEGOTIATE_CERTIFICATE".into(),
            certificate_id: 300,
            ..windows()
        };
        assert_eq!(statement(Some(&done), &Config::default(), "C", 300), None);
    }

    #[test]
    fn a_stopped_or_unencrypted_endpoint_is_refused() {
        assert_eq!(windows().refusal(), None);
        let stopped = EndpointFacts {
            state: "STOPPED".into(),
            ..windows()
        };
        assert!(stopped.refusal().unwrap().contains("STARTED"));
        let plain = EndpointFacts {
            encryption: false,
            ..windows()
        };
        assert!(plain.refusal().unwrap().contains("AES"));
        let rc4 = EndpointFacts {
            algorithm: "RC4".into(),
            ..windows()
        };
        assert!(rc4.refusal().is_some());
    }
}
