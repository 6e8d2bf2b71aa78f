//! Establishing a link: what the MI checks before seeding, each failure with the error
//! "Troubleshoot link" lists for the `LinkInitError` / `LinkCreationError` state (texts from
//! "Database engine events and errors 41400 to 49999", learn.microsoft.com).

use std::time::{Duration, SystemTime};

use super::engine_base::{Sides, literal, parse_endpoint, scalar, since, update_db};
use super::link_errors::{INIT_ERROR, e41962, e41973, e41974, e41976, e41977, e41986};
use super::link_state::Links;
use super::link_store::LinkRecord;
use super::link_types::LinkRole;
use crate::protocol::types::Value;
use crate::server::Server;

/// "Troubleshoot link": error 41962, the link was not initiated within 5 minutes.
const INIT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// One pass for a database whose link is not yet seeding.
pub(super) fn init(l: &Links, rec: &LinkRecord, db: &str, sides: &Sides) {
    let now = l.mi.clock().now();
    let fail = |state: &str, (n, t): (i32, String)| {
        update_db(l, &rec.spec.dag, db, |d| d.fail(state, n, t));
    };
    let wait_or_time_out = || {
        if since(now, rec.created) >= INIT_TIMEOUT {
            fail(INIT_ERROR, e41962());
        }
    };
    let (Some(source), true) = (sides.source.clone(), sides.connected) else {
        return wait_or_time_out();
    };
    let port = parse_endpoint(&rec.spec.partner_endpoint).map_or(0, |(_, p)| p);
    // Only a STARTED DATABASE_MIRRORING endpoint answers the link; anything else on that port
    // (the TDS listener) does not speak it, which the MI sees as no answer.
    let Some(endpoint) = source
        .mirroring_endpoint()
        .filter(|e| e.started && e.port == port)
    else {
        return wait_or_time_out();
    };
    // "Prepare environment for link": the endpoint must authenticate with a certificate and
    // encrypt with AES; MI does not take Windows authentication. Without either the MI's
    // connection fails (the closest documented error is 41986).
    let Some(cert_name) = endpoint.certificate.clone() else {
        return fail(INIT_ERROR, e41986());
    };
    if !endpoint.encryption_required || !endpoint.algorithm.to_ascii_uppercase().contains("AES") {
        return fail(INIT_ERROR, e41986());
    }
    let Some(source_der) = certificate_der(&source, &cert_name) else {
        return fail(INIT_ERROR, e41973());
    };
    if !l
        .trust_certificates()
        .iter()
        .any(|c| c.public_blob == source_der)
    {
        return fail(INIT_ERROR, e41973());
    }
    let mi_der = l.mi.endpoint_certificate().map(|(der, _)| der);
    let imported = certificate_der(&source, &l.mi_fqdn());
    if mi_der.is_none() || imported != mi_der {
        return fail(INIT_ERROR, e41974());
    }
    if let Err(e) = partner_groups(l, rec, db, &source) {
        return fail(INIT_ERROR, e);
    }
    let expiry = certificate_expiry(&source, &cert_name);
    l.update(|s| {
        if let Some(r) = s.link_mut(&rec.spec.dag) {
            r.partner_cert = expiry.map(|t| (cert_name.clone(), t));
        }
    });
    let Some((primary, secondary)) = sides.roles(&l.mi, rec.instance_role) else {
        return;
    };
    super::engine_seed::start(l, rec, db, &primary, &secondary);
}

/// SQL Server's side of the link: the DAG names the partner AG and the MI's AG with the MI's
/// FQDN on 5022 as listener ("Configure link with T-SQL"), and the partner AG holds the
/// database (or, with the MI as the initial primary, may create it).
fn partner_groups(
    l: &Links,
    rec: &LinkRecord,
    db: &str,
    source: &Server,
) -> Result<(), (i32, String)> {
    let not_responding = || e41976(&rec.spec.partner_ag, &rec.spec.partner_endpoint);
    let dag = source
        .availability_group(&rec.spec.dag)
        .filter(|g| g.distributed)
        .ok_or_else(not_responding)?;
    let names = |n: &str| {
        dag.replicas
            .iter()
            .find(|r| r.server_name.eq_ignore_ascii_case(n))
    };
    names(&rec.spec.partner_ag).ok_or_else(not_responding)?;
    let mi = names(&rec.spec.instance_ag).ok_or_else(not_responding)?;
    let listener = parse_endpoint(&mi.endpoint_url);
    if !listener.is_some_and(|(h, p)| h.eq_ignore_ascii_case(&l.mi_fqdn()) && p == 5022) {
        return Err(not_responding());
    }
    let ag = source
        .availability_group(&rec.spec.partner_ag)
        .filter(|g| !g.distributed)
        .ok_or_else(not_responding)?;
    let holds = ag.databases.iter().any(|d| d.eq_ignore_ascii_case(db));
    match rec.instance_role {
        LinkRole::Secondary if !holds => Err(not_responding()),
        LinkRole::Primary if !ag.create_any_database => {
            Err(e41977(&rec.spec.partner_ag, &rec.spec.partner_endpoint))
        }
        _ => Ok(()),
    }
}

/// A certificate's DER on `server` (CERTENCODED), by name.
fn certificate_der(server: &Server, name: &str) -> Option<Vec<u8>> {
    let sql = format!("SELECT CERTENCODED(CERT_ID({}))", literal(name));
    match scalar(server, &sql)? {
        Value::Binary(b) if !b.is_empty() => Some(b),
        _ => None,
    }
}

fn certificate_expiry(server: &Server, name: &str) -> Option<SystemTime> {
    let sql = format!(
        "SELECT expiry_date FROM sys.certificates WHERE name = {}",
        literal(name)
    );
    match scalar(server, &sql)? {
        Value::DateTime2(days, ticks) => {
            // Days since 0001-01-01; 719,162 of them before 1970-01-01.
            let secs = (i64::from(days) - 719_162) * 86_400 + (ticks / 10_000_000) as i64;
            u64::try_from(secs)
                .ok()
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        }
        _ => None,
    }
}
