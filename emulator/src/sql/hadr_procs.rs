//! EXEC of the link's system procedures (hadr::procs holds what they do).

use super::call::{Call, Handler};
use super::outcome::Outcome;
use super::proc_args::{bind, text};
use crate::instance::Instance;
use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{SqlType, Value};

pub const PROCEDURES: &[(&str, Handler)] = &[
    ("sp_get_endpoint_certificate", get_endpoint_certificate),
    ("sp_certificate_add_issuer", add_issuer),
];

fn available(call: &Call<'_>, name: &str) -> Result<(), Vec<ServerMessage>> {
    if crate::hadr::procs::has_link_procedures(call.session.personality) {
        Ok(())
    } else {
        // SQL Server error 2812 (severity 16): a build without the Azure Connect pack.
        Err(vec![ServerMessage::error(
            2812,
            16,
            format!("Could not find stored procedure '{name}'."),
        )])
    }
}

fn get_endpoint_certificate(
    call: &Call<'_>,
    inst: &mut Instance,
) -> Result<Vec<Outcome>, Vec<ServerMessage>> {
    const P: &str = "sp_get_endpoint_certificate";
    available(call, P)?;
    let a = bind(call, P, &["endpoint_type"]).map_err(|e| vec![e])?;
    let Some(kind) = a[0].clone() else {
        return Err(vec![super::proc_args::missing(P, "endpoint_type")]);
    };
    let kind = match kind {
        Value::Int(i) => Some(i),
        Value::Null => None,
        other => text(&Some(other)).and_then(|t| t.trim().parse().ok()),
    };
    let der = crate::hadr::procs::endpoint_certificate(call.session.personality, inst, kind)
        .map_err(|e| vec![e])?;
    Ok(vec![Outcome::Rows {
        columns: vec![Column::new(
            "EndpointCertificatePublicKey",
            SqlType::VarBinary(None),
        )],
        rows: vec![vec![der.map_or(Value::Null, Value::Binary)]],
    }])
}

fn add_issuer(call: &Call<'_>, inst: &mut Instance) -> Result<Vec<Outcome>, Vec<ServerMessage>> {
    const P: &str = "sp_certificate_add_issuer";
    available(call, P)?;
    // The procedure has no reference page; the parameter names are the emulator's.
    let a = bind(call, P, &["certificate_id", "issuer_name"]).map_err(|e| vec![e])?;
    crate::hadr::procs::add_issuer(inst, a[0].clone(), text(&a[1])).map_err(|e| vec![e])?;
    Ok(Vec::new())
}
