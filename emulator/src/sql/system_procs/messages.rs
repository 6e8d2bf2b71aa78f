//! User-defined messages: `sp_addmessage` and `sp_dropmessage` ("sp_addmessage
//! (Transact-SQL)", "sp_dropmessage"), stored in `sys.messages` (message_id above 50000,
//! language_id 1033 for us_english). The emulator speaks us_english only: another language is
//! refused as SQL Server refuses a language it does not have (15033); `sys.messages` holds the
//! user-defined messages, not SQL Server's own.

use super::context::{Ctx, Def};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[
    (
        "sp_addmessage",
        &[
            "msgnum", "severity", "msgtext", "lang", "with_log", "replace",
        ],
        add_message,
    ),
    ("sp_dropmessage", &["msgnum", "lang"], drop_message),
];

/// The language a message is for: us_english (1033) when none is named.
fn language(c: &Ctx<'_, '_>) -> Result<i64, ServerMessage> {
    match c.p.text("lang") {
        None => Ok(1033),
        Some(l) if l.eq_ignore_ascii_case("us_english") || l.eq_ignore_ascii_case("English") => {
            Ok(1033)
        }
        Some(l) if l.eq_ignore_ascii_case("all") && c.proc_name == "sp_dropmessage" => Ok(1033),
        Some(l) => Err(ServerMessage::error(
            15033,
            16,
            format!("'{l}' is not a valid official language name."),
        )),
    }
}

fn add_message(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let (Some(id), Some(severity), Some(text)) = (
        c.p.int("msgnum")?,
        c.p.int("severity")?,
        c.p.raw_text("msgtext"),
    ) else {
        return Err(ServerMessage::error(
            15071,
            16,
            "Usage: sp_addmessage <msgnum>,<severity>,<msgtext> [,<language> [,FALSE | TRUE [,REPLACE]]]",
        ));
    };
    if id <= 50000 {
        return Err(ServerMessage::error(
            15040,
            16,
            "User-defined error messages must have an ID greater than 50000.",
        ));
    }
    if !(1..=25).contains(&severity) {
        return Err(ServerMessage::error(
            15041,
            16,
            "User-defined error messages must have a severity level between 1 and 25.",
        ));
    }
    let lang = language(c)?;
    let logged = match c.p.text("with_log").map(|w| w.to_ascii_uppercase()) {
        None => None,
        Some(w) if w == "TRUE" => Some(true),
        Some(w) if w == "FALSE" => Some(false),
        Some(_) => {
            return Err(ServerMessage::error(
                15271,
                16,
                "Invalid @with_log parameter value. Valid values are 'true' or 'false'.",
            ));
        }
    };
    let replace =
        c.p.text("replace")
            .is_some_and(|r| r.eq_ignore_ascii_case("replace"));
    let key = [Value::Int(id), Value::Int(lang)];
    let existing = c.scalar_int(r#"SELECT is_event_logged FROM main."sys.messages" WHERE message_id = ?1 AND language_id = ?2"#, &key)?;
    if existing.is_some() && !replace {
        return Err(ServerMessage::error(
            15043,
            16,
            "You must specify 'REPLACE' to overwrite an existing message.",
        ));
    }
    // A replacement keeps the message's logging unless @with_log says otherwise.
    let logged = logged.unwrap_or(existing == Some(1));
    c.write(
        "main",
        "sys.messages",
        r#"DELETE FROM main."sys.messages" WHERE message_id = ?1 AND language_id = ?2"#,
        &key,
    )?;
    c.write(
        "main",
        "sys.messages",
        r#"INSERT INTO main."sys.messages" VALUES (?1, ?2, ?3, ?4, ?5)"#,
        &[
            Value::Int(id),
            Value::Int(lang),
            Value::Int(severity),
            Value::Int(i64::from(logged)),
            Value::Text(text),
        ],
    )?;
    Ok(Vec::new())
}

fn drop_message(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let Some(id) = c.p.int("msgnum")? else {
        return Err(ServerMessage::error(
            15177,
            16,
            "Usage: sp_dropmessage <msg number> [,<language> | 'ALL']",
        ));
    };
    if id < 50000 {
        return Err(ServerMessage::error(
            15178,
            16,
            "Cannot drop or alter a message with an ID less than 50,000.",
        ));
    }
    let lang = language(c)?;
    let key = [Value::Int(id), Value::Int(lang)];
    if c.scalar_int(
        r#"SELECT 1 FROM main."sys.messages" WHERE message_id = ?1 AND language_id = ?2"#,
        &key,
    )?
    .is_none()
    {
        return Err(ServerMessage::error(
            15179,
            16,
            format!("The message number {id} or specified language version does not exist."),
        ));
    }
    c.write(
        "main",
        "sys.messages",
        r#"DELETE FROM main."sys.messages" WHERE message_id = ?1 AND language_id = ?2"#,
        &key,
    )?;
    Ok(Vec::new())
}

/// RAISERROR of a user-defined message by its number ("RAISERROR (Transact-SQL)": msg_id
/// from sys.messages, its text formatted with the arguments; a severity of -1 takes the
/// message's own). None when the number is not a message sp_addmessage added.
pub(crate) fn raise_user_message(
    inst: &mut Instance,
    message: &Value,
    severity: i64,
    state: i64,
    args: &[Value],
    with_log: bool,
) -> Option<Result<(ServerMessage, bool), ServerMessage>> {
    let id = match message {
        Value::Int(i) if *i > 50000 => *i,
        _ => return None,
    };
    let (_, rows) = inst
        .query(
            r#"SELECT severity, text FROM main."sys.messages" WHERE message_id = ?1 AND language_id = 1033"#,
            &[Value::Int(id)],
        )
        .ok()?;
    let row = rows.into_iter().next()?;
    let stored = crate::protocol::types::int(&row[0]);
    let text = Value::Text(crate::protocol::types::text(&row[1]));
    let severity = if severity < 0 { stored } else { severity };
    Some(
        crate::sql::raise::raiserror(&text, severity, state, args, with_log).map(|(mut m, end)| {
            m.number = id as i32;
            (m, end)
        }),
    )
}
