//! DBCC CHECKDB ("DBCC CHECKDB (Transact-SQL)"). The emulator's data cannot rot, so a check
//! reports a healthy database unless the control API marked a table corrupt; then it reports
//! that table the way SQL Server reports a page it cannot read (8939 then 8928 for each, the
//! table's 8990 count, 8989 at severity 16 and 8958's minimum repair level), so a test sees the
//! failure path. Object and page numbers: the object id is the table's; partition, allocation
//! unit and page ids are made up from it (SQL Server's come from its storage, which the
//! emulator does not have).

use super::session::SessionView;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

#[derive(Debug, Clone, PartialEq)]
pub struct CheckDb {
    /// The database by name or id; None (or `0`) is the current database.
    pub database: Option<String>,
    pub repair: bool,
    pub no_infomsgs: bool,
    pub physical_only: bool,
}

/// Parses `DBCC CHECKDB …`; None when the statement is something else.
pub fn parse(st: &[Token]) -> Option<Result<CheckDb, ServerMessage>> {
    if !(st.first()?.is("DBCC") && st.get(1)?.is("CHECKDB")) {
        return None;
    }
    Some(parse_checkdb(&st[2..]))
}

fn parse_checkdb(mut t: &[Token]) -> Result<CheckDb, ServerMessage> {
    let mut out = CheckDb {
        database: None,
        repair: false,
        no_infomsgs: false,
        physical_only: false,
    };
    if t.first().is_some_and(|x| x.is_punct("(")) {
        let close = t
            .iter()
            .position(|x| x.is_punct(")"))
            .ok_or_else(|| near(t))?;
        let inner = &t[1..close];
        let mut parts = inner.split(|x| x.is_punct(","));
        out.database = match parts.next() {
            Some([Token::Word(w) | Token::Quoted(w)]) => Some(w.clone()),
            Some([Token::Str { text, .. }]) => Some(text.clone()),
            Some([Token::Number(n)]) if n == "0" => None,
            Some([Token::Number(n)]) => Some(n.clone()),
            Some([]) | None => None,
            Some(other) => return Err(near(other)),
        };
        for part in parts {
            match part {
                [w] if w.is("NOINDEX") => {}
                [w] if w.is("REPAIR_ALLOW_DATA_LOSS")
                    || w.is("REPAIR_FAST")
                    || w.is("REPAIR_REBUILD") =>
                {
                    out.repair = true
                }
                other => return Err(near(other)),
            }
        }
        t = &t[close + 1..];
    }
    if t.first().is_some_and(|x| x.is("WITH")) {
        for option in t[1..].split(|x| x.is_punct(",")) {
            match option {
                [w] if w.is("NO_INFOMSGS") => out.no_infomsgs = true,
                [w] if w.is("PHYSICAL_ONLY") => out.physical_only = true,
                [w] if [
                    "ALL_ERRORMSGS",
                    "DATA_PURITY",
                    "TABLOCK",
                    "EXTENDED_LOGICAL_CHECKS",
                    "ESTIMATEONLY",
                ]
                .iter()
                .any(|k| w.is(k)) => {}
                [w, eq, Token::Number(_)] if w.is("MAXDOP") && eq.is_punct("=") => {}
                [] => return Err(syntax_error("WITH")),
                other => return Err(near(other)),
            }
        }
    } else if let Some(x) = t.first() {
        return Err(syntax_error(&x.display()));
    }
    Ok(out)
}

fn info(number: i32, text: String) -> ServerMessage {
    let mut m = ServerMessage::info(number, text);
    m.class = 10;
    m
}

/// The messages a check produces, in order; errors have class 16.
pub fn apply(
    c: &CheckDb,
    s: &SessionView<'_>,
    inst: &Instance,
) -> Result<Vec<ServerMessage>, ServerMessage> {
    let wanted = c.database.clone().unwrap_or_else(|| s.database.to_owned());
    let info_of = match wanted.parse::<i64>() {
        Ok(id) => inst.databases().find(|d| d.id == id),
        Err(_) => inst.database(&wanted),
    };
    let Some(db) = info_of else {
        // SQL Server error 2520 (class 16).
        return Err(ServerMessage::error(
            2520,
            16,
            format!(
                "Could not find database '{wanted}'. The database either does not exist, or was dropped before a statement tried to use it. Verify if the database exists by querying the sys.databases catalog view."
            ),
        ));
    };
    if c.repair {
        // SQL Server error 7919 (class 16): repair needs single-user mode, which the emulator
        // does not model (and Managed Instance does not offer: its repair options are not
        // allowed, methods.md §6), so every repair request is refused this way.
        return Err(ServerMessage::error(
            7919,
            16,
            "Repair statement not processed. Database needs to be in single user mode.",
        ));
    }
    let name = db.name.clone();
    let tables = inst.checked_tables(&name)?;
    let mut out = Vec::new();
    if !c.no_infomsgs {
        out.push(info(2536, format!("DBCC results for '{name}'.")));
    }
    let mut errors = 0;
    for t in &tables {
        let shown = t.name.strip_prefix("dbo.").unwrap_or(&t.name).to_owned();
        if !c.no_infomsgs {
            out.push(info(2536, format!("DBCC results for '{shown}'.")));
        }
        if t.corrupt {
            let partition = 72_057_594_038_000_000 + t.object_id * 65_536;
            let unit = partition + 6_553_600;
            let page = 8 + t.object_id * 8;
            out.push(ServerMessage {
                state: 98,
                ..ServerMessage::error(
                    8939,
                    16,
                    format!("Table error: Object ID {}, index ID 1, partition ID {partition}, alloc unit ID {unit} (type In-row data), page (1:{page}). Test (IS_OFF (BUF_IOERR, pBUF->bstat)) failed. Values are 133129 and -4.", t.object_id),
                )
            });
            out.push(ServerMessage::error(
                8928,
                16,
                format!("Object ID {}, index ID 1, partition ID {partition}, alloc unit ID {unit} (type In-row data): Page (1:{page}) could not be processed.  See other errors for details.", t.object_id),
            ));
            out.push(info(
                8990,
                format!(
                    "CHECKDB found 0 allocation errors and 2 consistency errors in table '{shown}' (object ID {}).",
                    t.object_id
                ),
            ));
            errors += 2;
        } else if !c.no_infomsgs {
            let pages = (t.rows / 100 + 1).max(1);
            out.push(info(
                2593,
                format!(
                    "There are {} rows in {pages} pages for object \"{shown}\".",
                    t.rows
                ),
            ));
        }
    }
    let summary = format!(
        "CHECKDB found 0 allocation errors and {errors} consistency errors in database '{name}'."
    );
    if errors > 0 {
        out.push(ServerMessage::error(8989, 16, summary));
        out.push(info(
            8958,
            format!("repair_allow_data_loss is the minimum repair level for the errors found by DBCC CHECKDB ({name})."),
        ));
    } else if !c.no_infomsgs {
        out.push(info(8989, summary));
    }
    if !c.no_infomsgs {
        out.push(info(
            2528,
            "DBCC execution completed. If DBCC printed error messages, contact your system administrator.".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn parsed(sql: &str) -> Result<CheckDb, ServerMessage> {
        let t = tokenize(sql).unwrap();
        parse(&t).unwrap()
    }

    #[test]
    fn options_are_read_and_unknown_ones_refused() {
        let c =
            parsed("DBCC CHECKDB (N'Shop', NOINDEX) WITH NO_INFOMSGS, PHYSICAL_ONLY, MAXDOP = 2")
                .unwrap();
        assert_eq!(c.database.as_deref(), Some("Shop"));
        assert!(c.no_infomsgs && c.physical_only && !c.repair);
        assert!(parsed("DBCC CHECKDB (0, REPAIR_REBUILD)").unwrap().repair);
        assert_eq!(parsed("DBCC CHECKDB (0)").unwrap().database, None);
        assert_eq!(parsed("DBCC CHECKDB WITH NOPE").unwrap_err().number, 102);
        assert_eq!(parsed("DBCC CHECKDB (Shop, FAST)").unwrap_err().number, 102);
        let t = tokenize("DBCC SHRINKDATABASE (tempdb)").unwrap();
        assert!(parse(&t).is_none());
    }
}
