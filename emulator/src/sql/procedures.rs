//! EXEC: of text (`EXEC ('…')`), of `sp_executesql` ("sp_executesql (Transact-SQL)": a
//! statement, a parameter declaration, then values by position or by name, OUTPUT copied
//! back), and of `sp_who`. Any other procedure is one the emulator does not have: SQL Server
//! error 2812.

pub use super::call::{Call, Handler};
use super::expr::{Expr, parse_expr};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::SqlType;
use crate::syntax::{Token, expect, near, parse_type, syntax_error};

/// A value passed to a procedure.
pub struct Arg<'t> {
    /// `@name =`, without `@`.
    pub name: Option<&'t str>,
    pub value: Expr<'t>,
    /// `@x OUTPUT`: the variable that receives the parameter's final value.
    pub output: Option<&'t str>,
}

pub enum Exec<'t> {
    /// EXEC ( expression ): the text as a batch of its own.
    Text(Expr<'t>),
    Procedure {
        /// `EXEC @rc = proc`: the variable that receives the return status.
        status: Option<&'t str>,
        /// The procedure's name, without database and schema.
        name: String,
        /// As written, for error messages.
        written: String,
        args: Vec<Arg<'t>>,
    },
}

/// Parses `EXEC …` / `EXECUTE …`.
pub fn parse_exec(t: &[Token]) -> Result<Exec<'_>, ServerMessage> {
    let rest = &t[1..];
    if rest.first().is_some_and(|x| x.is_punct("(")) {
        let (e, r) = parse_expr(&rest[1..])?;
        let r = expect(r, ")")?;
        if !r.is_empty() {
            return Err(near(r));
        }
        return Ok(Exec::Text(e));
    }
    let (status, rest) = match (rest.first(), rest.get(1)) {
        (Some(Token::Var(v)), Some(eq)) if eq.is_punct("=") => (Some(v.as_str()), &rest[2..]),
        _ => (None, rest),
    };
    let mut parts = Vec::new();
    let mut i = 0;
    while let Some(x) = rest.get(i) {
        match x {
            Token::Word(w) | Token::Quoted(w) => parts.push(w.clone()),
            p if p.is_punct(".") => {}
            _ => break,
        }
        i += 1;
    }
    let Some(name) = parts.last().cloned() else {
        return Err(near(rest));
    };
    let written = rest[..i].iter().map(|x| x.display()).collect::<String>();
    let mut args = Vec::new();
    let mut r = &rest[i..];
    while !r.is_empty() {
        let (name, after) = match (r.first(), r.get(1)) {
            (Some(Token::Var(v)), Some(eq)) if eq.is_punct("=") => (Some(v.as_str()), &r[2..]),
            _ => (None, r),
        };
        let (value, after) = parse_expr(after)?;
        let (output, after) = match after.first() {
            Some(o) if o.is("OUTPUT") || o.is("OUT") => match value {
                Expr::Var(v) => (Some(v), &after[1..]),
                _ => return Err(syntax_error(&o.display())),
            },
            _ => (None, after),
        };
        args.push(Arg {
            name,
            value,
            output,
        });
        r = match after.first() {
            None => after,
            Some(c) if c.is_punct(",") => &after[1..],
            Some(_) => return Err(near(after)),
        };
    }
    Ok(Exec::Procedure {
        status,
        name,
        written,
        args,
    })
}

/// sp_executesql's parameter declaration, `@a int, @b nvarchar(10) OUTPUT`: names (without
/// `@`), types, and whether each is OUTPUT.
pub fn parse_declaration(text: &str) -> Result<Vec<(String, SqlType, bool)>, ServerMessage> {
    let tokens = crate::syntax::tokenize(text).map_err(|(n, m)| ServerMessage::error(n, 15, m))?;
    let mut out = Vec::new();
    let mut t = &tokens[..];
    while let Some(first) = t.first() {
        let Token::Var(name) = first else {
            return Err(syntax_error(&first.display()));
        };
        let rest = if t.get(1).is_some_and(|x| x.is("AS")) {
            &t[2..]
        } else {
            &t[1..]
        };
        let (ty, mut rest) = parse_type(rest)?;
        let output = rest.first().is_some_and(|x| x.is("OUTPUT") || x.is("OUT"));
        if output {
            rest = &rest[1..];
        }
        out.push((name.clone(), ty, output));
        t = match rest.first() {
            None => rest,
            Some(c) if c.is_punct(",") => &rest[1..],
            Some(x) => return Err(syntax_error(&x.display())),
        };
    }
    Ok(out)
}

/// The system procedures kept in modules of their own, by lowercase name. Each module lists
/// its procedures in one table; add a module here with one line.
const ROUTES: &[&[(&str, Handler)]] = &[
    super::linked_servers::PROCEDURES,
    super::hadr_procs::PROCEDURES,
];

/// The module procedure named `name` (without database and schema), if one has it.
pub fn route(name: &str) -> Option<Handler> {
    ROUTES
        .iter()
        .flat_map(|table| table.iter())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, h)| *h)
}

/// SQL Server error 2812 (severity 16).
pub fn not_found(name: &str) -> ServerMessage {
    ServerMessage::error(
        2812,
        16,
        format!("Could not find stored procedure '{name}'."),
    )
}

/// sp_who's columns, typed as its reference page lists them (nchar columns as nvarchar).
pub fn sp_who_columns() -> Vec<crate::protocol::tokens::Column> {
    use crate::protocol::tokens::Column;
    [
        ("spid", SqlType::SmallInt),
        ("ecid", SqlType::SmallInt),
        ("status", SqlType::NVarChar(Some(30))),
        ("loginame", SqlType::NVarChar(Some(128))),
        ("hostname", SqlType::NVarChar(Some(128))),
        ("blk", SqlType::VarChar(Some(5))),
        ("dbname", SqlType::NVarChar(Some(128))),
        ("cmd", SqlType::NVarChar(Some(16))),
        ("request_id", SqlType::Int),
    ]
    .iter()
    .map(|(n, t)| Column::new(n, *t))
    .collect()
}

/// `sp_who` ("sp_who (Transact-SQL)"): one row per session, optionally only a login's, one
/// session's, or the active ones ('ACTIVE'). The emulator's sessions are the user sessions;
/// SQL Server also lists its background sessions.
pub fn sp_who_query(
    filter: Option<&crate::protocol::types::Value>,
) -> (String, Vec<crate::protocol::types::Value>) {
    use crate::protocol::types::Value;
    let base = r#"SELECT CAST(s.session_id AS smallint) AS spid, CAST(0 AS smallint) AS ecid,
        CAST(CASE WHEN s.status = 'running' THEN 'runnable' ELSE 'sleeping' END AS nchar(30)) AS status,
        CAST(s.login_name AS nchar(128)) AS loginame, CAST(s.host_name AS nchar(128)) AS hostname,
        CAST('0' AS char(5)) AS blk, CAST(d.name AS nchar(128)) AS dbname,
        CAST(COALESCE(r.command, 'AWAITING COMMAND') AS nchar(16)) AS cmd, CAST(0 AS int) AS request_id
        FROM temp."sys.dm_exec_sessions" s LEFT JOIN main."sys.databases" d ON d.database_id = s.database_id
        LEFT JOIN temp."ferry.running_requests" r ON r.session_id = s.session_id"#;
    match filter {
        Some(Value::Int(spid)) => (
            format!("{base} WHERE s.session_id = ?1 ORDER BY s.session_id"),
            vec![Value::Int(*spid)],
        ),
        Some(Value::Text(t)) if t.eq_ignore_ascii_case("active") => (
            format!("{base} WHERE s.status = 'running' ORDER BY s.session_id"),
            vec![],
        ),
        Some(Value::Text(t)) => (
            format!("{base} WHERE s.login_name = ?1 COLLATE NOCASE ORDER BY s.session_id"),
            vec![Value::Text(t.clone())],
        ),
        _ => (format!("{base} ORDER BY s.session_id"), vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn exec_forms() {
        let t = tokenize("EXEC @rc = sys.sp_executesql N'SELECT @a', N'@a int', @a = 1").unwrap();
        let Exec::Procedure {
            status, name, args, ..
        } = parse_exec(&t).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (status, name.as_str(), args.len()),
            (Some("rc"), "sp_executesql", 3)
        );
        assert_eq!(args[2].name, Some("a"));
        let t = tokenize("EXEC ('SELECT ' + '1')").unwrap();
        assert!(matches!(parse_exec(&t).unwrap(), Exec::Text(_)));
        let d = parse_declaration("@a int, @b AS nvarchar(10) OUTPUT").unwrap();
        assert_eq!(d[1], ("b".into(), SqlType::NVarChar(Some(10)), true));
    }
}
