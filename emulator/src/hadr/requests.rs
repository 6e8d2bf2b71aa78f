//! The queue of requests T-SQL leaves for the link engine, in the instance's `temp` schema:
//! a restart drops what the engine never took, as a restarted SQL Server forgets a failover
//! it had not begun.

use super::model::HadrRequest;
use super::store::{rows, s};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

pub(crate) fn push(inst: &mut Instance, r: &HadrRequest) -> Result<(), ServerMessage> {
    let (kind, ag) = r.encode();
    inst.execute(
        r#"INSERT INTO temp."ferry.hadr_requests" (kind, ag) VALUES (?1, ?2)"#,
        &[s(kind), s(ag)],
    )?;
    Ok(())
}

pub(crate) fn take(inst: &mut Instance) -> Result<Vec<HadrRequest>, ServerMessage> {
    let found = rows(
        inst,
        r#"SELECT kind, ag FROM temp."ferry.hadr_requests" ORDER BY seq"#,
        &[],
    )?;
    inst.execute(r#"DELETE FROM temp."ferry.hadr_requests""#, &[])?;
    Ok(found
        .into_iter()
        .filter_map(|r| HadrRequest::decode(r[0].as_deref()?, r[1].clone()?))
        .collect())
}
