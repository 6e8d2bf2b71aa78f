//! The checks msdb's Database Mail procedures share: sysmail_verify_profile_sp and
//! sysmail_verify_account_sp (14604 … 14607), and the unique constraints msdb declares on its
//! sysmail tables (error 2627 naming them).

use super::context::Ctx;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;

pub(super) fn err(number: i32, text: String) -> ServerMessage {
    ServerMessage::error(number, 16, text)
}

/// SQL Server error 2627 for a row msdb's unique constraint refuses.
pub(super) fn duplicate(kind: &str, constraint: &str, table: &str, key: &str) -> ServerMessage {
    ServerMessage::error(
        2627,
        14,
        format!(
            "Violation of {kind} constraint '{constraint}'. Cannot insert duplicate key in object 'dbo.{table}'. The duplicate key value is ({key})."
        ),
    )
}

/// sysmail_verify_profile_sp / sysmail_verify_account_sp: an object by id or name (14604 when
/// neither is given, 14605 when they disagree, 14606/14607 when it does not exist).
pub(super) fn object(
    c: &mut Ctx<'_, '_>,
    kind: &str,
    table: &str,
    id_col: &str,
    allow_none: bool,
) -> Result<Option<i64>, ServerMessage> {
    let id = c.p.int(&format!("{kind}_id"))?;
    let name = c.p.text(&format!("{kind}_name"));
    let sql = format!(r#"SELECT {id_col} FROM msdb."dbo.{table}" WHERE "#);
    let by_id = match id {
        Some(i) => Some(
            c.scalar_int(&format!("{sql}{id_col} = ?1"), &[Value::Int(i)])?
                .ok_or_else(|| err(14606, format!("{kind} id is not valid")))?,
        ),
        None => None,
    };
    let by_name = match &name {
        Some(n) => Some(
            c.scalar_int(
                &format!("{sql}name = ?1 COLLATE NOCASE"),
                &[Value::Text(n.clone())],
            )?
            .ok_or_else(|| err(14607, format!("{kind} name is not valid")))?,
        ),
        None => None,
    };
    match (by_id, by_name) {
        (Some(a), Some(b)) if a != b => Err(err(
            14605,
            format!("Both {kind} parameters (id and name) do not point to the same object"),
        )),
        (Some(a), _) | (None, Some(a)) => Ok(Some(a)),
        (None, None) if allow_none => Ok(None),
        (None, None) => Err(err(
            14604,
            format!("Both {kind} parameters (id and name) cannot be NULL"),
        )),
    }
}

pub(super) fn stamp(c: &Ctx<'_, '_>) -> [Value; 2] {
    [c.now(), Value::Text(c.s.user.to_owned())]
}
