//! CREATE / ALTER / DROP ENDPOINT … FOR DATABASE_MIRRORING applied to the catalog
//! ("CREATE ENDPOINT (Transact-SQL)", "ALTER ENDPOINT (Transact-SQL)", "DROP ENDPOINT
//! (Transact-SQL)"), shown by `sys.endpoints`, `sys.tcp_endpoints` and
//! `sys.database_mirroring_endpoints` with the codes those pages list.

use super::ddl::EndpointSpec;
use super::endpoint_options::{algorithm_codes, auth, auth_codes, encryption, state_code};
use super::errors;
use super::store::{i, rows, s};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::syntax::syntax_error;

type R<T> = Result<T, ServerMessage>;

/// The endpoint's settings as the catalog keeps them.
struct Settings {
    state: String,
    port: Option<i64>,
    ip: Option<String>,
    role: String,
    /// (windows method, certificate name, certificate listed first)
    auth: (Option<String>, Option<String>, bool),
    /// REQUIRED | SUPPORTED | DISABLED
    encryption: String,
    algorithm: String,
}

fn apply_options(set: &mut Settings, spec: &EndpointSpec) -> R<()> {
    if let Some(st) = &spec.state {
        set.state = st.clone();
    }
    if let Some(tcp) = &spec.tcp {
        for (k, v) in tcp {
            match k.as_str() {
                "LISTENER_PORT" => {
                    let port: i64 = v.parse().map_err(|_| syntax_error(v))?;
                    if !(1..=65535).contains(&port) {
                        return Err(syntax_error(v));
                    }
                    set.port = Some(port);
                }
                "LISTENER_IP" => {
                    set.ip = (!v.eq_ignore_ascii_case("ALL"))
                        .then(|| v.trim_matches(['(', ')', ' ']).to_owned())
                }
                other => return Err(syntax_error(other)),
            }
        }
    }
    if let Some(m) = &spec.mirroring {
        for (k, v) in m {
            match k.as_str() {
                "ROLE" => {
                    let r = v.to_ascii_uppercase();
                    if !["ALL", "PARTNER", "WITNESS"].contains(&r.as_str()) {
                        return Err(syntax_error(v));
                    }
                    set.role = r;
                }
                "AUTHENTICATION" => set.auth = auth(v)?,
                "ENCRYPTION" => (set.encryption, set.algorithm) = encryption(v)?,
                other => return Err(syntax_error(other)),
            }
        }
    }
    Ok(())
}

fn certificate_id(inst: &mut Instance, name: &str) -> R<i64> {
    rows(
        inst,
        r#"SELECT certificate_id FROM "sys.certificates" WHERE name = ?1 COLLATE NOCASE"#,
        &[s(name)],
    )?
    .into_iter()
    .next()
    .and_then(|r| r[0].as_deref().and_then(|v| v.parse().ok()))
    .ok_or_else(|| errors::not_found("find", "certificate", name))
}

fn write(inst: &mut Instance, id: i64, name: &str, set: &Settings) -> R<()> {
    let cert_id = match &set.auth.1 {
        Some(c) => certificate_id(inst, c)?,
        None => 0,
    };
    let (auth, auth_desc) = auth_codes(&set.auth);
    let (alg, alg_desc, enabled) = algorithm_codes(&set.encryption, &set.algorithm);
    let role = match set.role.as_str() {
        "PARTNER" => 1,
        "WITNESS" => 2,
        _ => 3,
    };
    for table in [
        "sys.endpoints",
        "sys.tcp_endpoints",
        "sys.database_mirroring_endpoints",
    ] {
        inst.execute(
            &format!(r#"DELETE FROM "{table}" WHERE endpoint_id = ?1"#),
            &[i(id)],
        )?;
    }
    let common = [
        s(name),
        i(id),
        i(1),
        i(2),
        s("TCP"),
        i(4),
        s("DATABASE_MIRRORING"),
        i(state_code(&set.state)),
        s(&set.state),
        i(0),
    ];
    inst.execute(
        r#"INSERT INTO "sys.endpoints" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"#,
        &common,
    )?;
    let mut tcp = common.to_vec();
    tcp.extend([
        set.port.map_or(Value::Null, i),
        i(0),
        set.ip.as_deref().map_or(Value::Null, s),
    ]);
    inst.execute(r#"INSERT INTO "sys.tcp_endpoints" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"#, &tcp)?;
    let mut dbm = common.to_vec();
    dbm.extend([
        i(role),
        s(&set.role),
        i(i64::from(enabled)),
        i(auth),
        s(&auth_desc),
        i(cert_id),
        i(alg),
        s(&alg_desc),
    ]);
    inst.execute(
        r#"INSERT INTO "sys.database_mirroring_endpoints" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"#,
        &dbm,
    )?;
    Ok(())
}

/// The endpoint named `name`: (endpoint_id, is it the DATABASE_MIRRORING one).
fn find(inst: &mut Instance, name: &str) -> R<Option<(i64, bool)>> {
    Ok(rows(
        inst,
        r#"SELECT endpoint_id, type FROM "sys.endpoints" WHERE name = ?1 COLLATE NOCASE"#,
        &[s(name)],
    )?
    .into_iter()
    .next()
    .map(|r| {
        (
            r[0].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0),
            r[1].as_deref() == Some("4"),
        )
    }))
}

pub(crate) fn create(inst: &mut Instance, spec: &EndpointSpec) -> R<()> {
    let existing = rows(
        inst,
        r#"SELECT name FROM "sys.database_mirroring_endpoints""#,
        &[],
    )?;
    if !existing.is_empty() {
        // "CREATE ENDPOINT": a server instance has only one DATABASE_MIRRORING endpoint.
        return Err(ServerMessage::error(
            7862,
            16,
            "An endpoint of the requested type already exists. Only one endpoint of this type is supported. Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.",
        ));
    }
    if find(inst, &spec.name)?.is_some() {
        // SQL Server error 2714 (class 16): the name is taken by another endpoint.
        return Err(ServerMessage::error(
            2714,
            16,
            format!(
                "There is already an object named '{}' in the database.",
                spec.name
            ),
        ));
    }
    if spec
        .tcp
        .as_ref()
        .is_none_or(|t| !t.iter().any(|(k, _)| k == "LISTENER_PORT"))
    {
        return Err(syntax_error("TCP"));
    }
    // "CREATE ENDPOINT": STATE "The default is STOPPED"; ENCRYPTION "REQUIRED is the default".
    let mut set = Settings {
        state: "STOPPED".into(),
        port: None,
        ip: None,
        role: "ALL".into(),
        auth: (Some("NEGOTIATE".into()), None, false),
        encryption: "REQUIRED".into(),
        algorithm: "RC4".into(),
    };
    apply_options(&mut set, spec)?;
    let id = rows(inst, r#"SELECT MAX(endpoint_id) FROM "sys.endpoints""#, &[])?
        .into_iter()
        .next()
        .and_then(|r| r[0].as_deref().and_then(|v| v.parse::<i64>().ok()))
        .unwrap_or(0);
    // User endpoints are numbered from 65536, after the built-in TSQL ones.
    write(inst, id.max(65535) + 1, &spec.name, &set)
}

pub(crate) fn alter(inst: &mut Instance, spec: &EndpointSpec) -> R<()> {
    let (id, dbm) = find(inst, &spec.name)?
        .ok_or_else(|| errors::not_found("alter", "endpoint", &spec.name))?;
    if !dbm {
        // ALTER ENDPOINT cannot change an endpoint's payload (error 7860, class 15).
        return Err(ServerMessage::error(
            7860,
            15,
            "An endpoint's transport or content cannot be changed through the ALTER ENDPOINT statement. Use DROP ENDPOINT and execute the CREATE ENDPOINT statement to make these changes.",
        ));
    }
    let r = rows(
        inst,
        r#"SELECT m.state_desc, t.port, t.ip_address, m.role_desc, m.connection_auth_desc, c.name,
                  m.encryption_algorithm_desc, m.is_encryption_enabled
           FROM "sys.database_mirroring_endpoints" m JOIN "sys.tcp_endpoints" t ON t.endpoint_id = m.endpoint_id
           LEFT JOIN "sys.certificates" c ON c.certificate_id = m.certificate_id WHERE m.endpoint_id = ?1"#,
        &[i(id)],
    )?
    .into_iter()
    .next()
    .unwrap_or_default();
    let get = |k: usize| r.get(k).cloned().flatten().unwrap_or_default();
    let auth_desc = get(4);
    let windows = ["NTLM", "KERBEROS", "NEGOTIATE"]
        .into_iter()
        .find(|m| auth_desc.contains(m))
        .map(str::to_owned);
    let alg_desc = get(6);
    let enabled = get(7) == "1";
    let mut set = Settings {
        state: get(0),
        port: get(1).parse().ok(),
        ip: r.get(2).cloned().flatten(),
        role: get(3),
        auth: (
            windows,
            r.get(5).cloned().flatten(),
            auth_desc.starts_with("CERTIFICATE"),
        ),
        encryption: if !enabled {
            "DISABLED".into()
        } else if alg_desc.starts_with("NONE") {
            "SUPPORTED".into()
        } else {
            "REQUIRED".into()
        },
        algorithm: alg_desc.trim_start_matches("NONE, ").replace(", ", " "),
    };
    if set.algorithm == "NONE" || set.algorithm.is_empty() {
        set.algorithm = "RC4".into();
    }
    if spec.state.is_none() && spec.tcp.is_none() && spec.mirroring.is_none() {
        // SQL Server error 7863 (class 16).
        return Err(ServerMessage::error(
            7863,
            16,
            "The endpoint was not changed. The ALTER ENDPOINT statement did not contain any values to modify or update.",
        ));
    }
    apply_options(&mut set, spec)?;
    write(inst, id, &spec.name, &set)
}

pub(crate) fn drop(inst: &mut Instance, name: &str) -> R<()> {
    let (id, dbm) = find(inst, name)?.ok_or_else(|| errors::not_found("drop", "endpoint", name))?;
    if id < 65536 {
        // SQL Server error 7873 (class 16): the TSQL endpoints are built in.
        return Err(ServerMessage::error(
            7873,
            16,
            format!(
                "The endpoint \"{name}\" is a built-in endpoint and cannot be dropped. Use the protocol configuration utilities to ADD or DROP Transact-SQL endpoints."
            ),
        ));
    }
    let _ = dbm;
    for table in [
        "sys.endpoints",
        "sys.tcp_endpoints",
        "sys.database_mirroring_endpoints",
    ] {
        inst.execute(
            &format!(r#"DELETE FROM "{table}" WHERE endpoint_id = ?1"#),
            &[i(id)],
        )?;
    }
    inst.execute(
        r#"DELETE FROM "sys.server_permissions" WHERE class = 105 AND major_id = ?1"#,
        &[i(id)],
    )?;
    Ok(())
}
