//! CREATE [OR ALTER] | ALTER VIEW, PROCEDURE, FUNCTION, TRIGGER … ON table, and their DROP
//! ("CREATE VIEW", "CREATE PROCEDURE", "CREATE FUNCTION", "CREATE TRIGGER", "DROP …"). The
//! body is not read: a module's statement runs to the end of its batch (sql/script.rs).

use super::words::{need_name, object_name};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{FunctionKind, ModuleDef, ModuleKind, ObjectDdl, ObjectName, TriggerTarget};
use crate::syntax::{Token, near, syntax_error};

fn kind_at(t: Option<&Token>) -> Option<ModuleKind> {
    let t = t?;
    Some(if t.is("VIEW") {
        ModuleKind::View
    } else if t.is("PROC") || t.is("PROCEDURE") {
        ModuleKind::Procedure
    } else if t.is("FUNCTION") {
        ModuleKind::Function(FunctionKind::Scalar)
    } else if t.is("TRIGGER") {
        ModuleKind::Trigger
    } else {
        return None;
    })
}

/// Where the module's kind word stands, and whether it is CREATE OR ALTER / ALTER.
fn header(st: &[Token]) -> Option<(usize, bool, bool)> {
    let first = st.first()?;
    if first.is("CREATE") && st.get(1)?.is("OR") && st.get(2)?.is("ALTER") {
        return Some((3, true, false));
    }
    if first.is("CREATE") {
        return Some((1, false, false));
    }
    if first.is("ALTER") {
        return Some((1, false, true));
    }
    None
}

/// Whether the statement is a module's CREATE / ALTER (which runs to the end of its batch).
pub fn is_module_statement(st: &[Token]) -> bool {
    header(st).is_some_and(|(at, _, _)| kind_at(st.get(at)).is_some())
}

/// A module's CREATE / ALTER, or None when `st` is not one.
pub(super) fn parse(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    let (at, or_alter, alter) = header(st)?;
    let kind = kind_at(st.get(at))?;
    Some(read(st, at, kind, or_alter, alter))
}

fn read(
    st: &[Token],
    at: usize,
    kind: ModuleKind,
    or_alter: bool,
    alter: bool,
) -> Result<ObjectDdl, ServerMessage> {
    let (name, used) = need_name(&st[at + 1..])?;
    let rest = &st[at + 1 + used..];
    // Everything up to the body's AS (at depth 0, outside the parameter list).
    let body_as = {
        let mut depth = 0;
        rest.iter().position(|x| {
            if x.is_punct("(") {
                depth += 1;
            } else if x.is_punct(")") {
                depth -= 1;
            }
            depth == 0 && x.is("AS")
        })
    };
    let kind = match kind {
        ModuleKind::Function(_) => {
            let returns = rest
                .iter()
                .position(|x| x.is("RETURNS"))
                .ok_or_else(|| near(&rest[rest.len().saturating_sub(1)..]))?;
            // "CREATE FUNCTION": RETURNS TABLE is an inline table-valued function, RETURNS
            // @var TABLE (…) a multi-statement one; any other type a scalar function.
            ModuleKind::Function(match (rest.get(returns + 1), rest.get(returns + 2)) {
                (Some(t), _) if t.is("TABLE") => FunctionKind::InlineTable,
                (Some(Token::Var(_)), Some(t)) if t.is("TABLE") => FunctionKind::Table,
                (Some(_), _) => FunctionKind::Scalar,
                (None, _) => return Err(syntax_error("RETURNS")),
            })
        }
        other => other,
    };
    let head_end = body_as.ok_or_else(|| near(&rest[rest.len().saturating_sub(1)..]))?;
    let head = &rest[..head_end];
    let trigger = if kind == ModuleKind::Trigger {
        if !head.first().is_some_and(|x| x.is("ON")) {
            return Err(near(head));
        }
        let (table, _) = object_name(&head[1..]).ok_or_else(|| near(&head[1..]))?;
        if table.name.eq_ignore_ascii_case("DATABASE") && table.schema.is_none() {
            // SQL Server keeps DDL triggers ON DATABASE in sys.triggers (parent_class 0); the
            // emulator does not keep them.
            return Err(ServerMessage::error(
                50000,
                16,
                "ferry-emulator does not keep database-level DDL triggers (CREATE TRIGGER … ON DATABASE)",
            ));
        }
        let words = |a: &str, b: &str| head.windows(2).any(|w| w[0].is(a) && w[1].is(b));
        Some(TriggerTarget {
            table,
            instead_of: words("INSTEAD", "OF"),
            not_for_replication: words("FOR", "REPLICATION"),
        })
    } else {
        None
    };
    Ok(ObjectDdl::Module(ModuleDef {
        kind,
        name,
        or_alter,
        alter,
        trigger,
        definition: String::new(),
    }))
}

/// `DROP VIEW | PROC[EDURE] | FUNCTION | TRIGGER [IF EXISTS] name, …`.
pub(super) fn parse_drop(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    if !st.first()?.is("DROP") {
        return None;
    }
    let kind = kind_at(st.get(1))?;
    let mut rest = &st[2..];
    let if_exists = rest.len() > 2 && rest[0].is("IF") && rest[1].is("EXISTS");
    if if_exists {
        rest = &rest[2..];
    }
    let mut names: Vec<ObjectName> = Vec::new();
    for item in rest.split(|x| x.is_punct(",")) {
        match object_name(item) {
            Some((n, used)) if used == item.len() => names.push(n),
            _ => return Some(Err(near(item))),
        }
    }
    Some(Ok(ObjectDdl::DropModules {
        kind,
        names,
        if_exists,
    }))
}

/// The definition SQL Server keeps: the batch's text from the module's first word to its end
/// (the leading white space and comments dropped).
pub(super) fn definition(batch: &str) -> String {
    let mut s = batch;
    loop {
        let trimmed = s.trim_start();
        if let Some(rest) = trimmed.strip_prefix("--") {
            s = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if trimmed.starts_with("/*") {
            s = skip_block_comment(trimmed);
        } else {
            return trimmed.to_owned();
        }
    }
}

/// The text after a (nested) block comment at the start of `s`.
fn skip_block_comment(s: &str) -> &str {
    let mut depth = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return &s[i..];
                }
            }
            _ => i += 1,
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn module(sql: &str) -> ModuleDef {
        match parse(&tokenize(sql).unwrap()).unwrap().unwrap() {
            ObjectDdl::Module(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn function_kinds_come_from_returns() {
        let scalar = module("CREATE FUNCTION dbo.f (@a int) RETURNS int AS BEGIN RETURN @a END");
        assert_eq!(scalar.kind, ModuleKind::Function(FunctionKind::Scalar));
        let inline =
            module("CREATE OR ALTER FUNCTION dbo.g () RETURNS TABLE AS RETURN SELECT 1 AS x");
        assert_eq!(inline.kind, ModuleKind::Function(FunctionKind::InlineTable));
        assert!(inline.or_alter);
        let multi = module("ALTER FUNCTION h () RETURNS @t TABLE (x int) AS BEGIN RETURN END");
        assert_eq!(multi.kind, ModuleKind::Function(FunctionKind::Table));
        assert!(multi.alter);
    }

    #[test]
    fn triggers_name_their_table() {
        let t = module(
            "CREATE TRIGGER dbo.trg ON dbo.Orders INSTEAD OF INSERT NOT FOR REPLICATION AS SELECT 1",
        );
        let target = t.trigger.unwrap();
        assert_eq!(target.table.name, "Orders");
        assert!(target.instead_of && target.not_for_replication);
        let t = module("CREATE TRIGGER trg ON Orders AFTER UPDATE AS SELECT 1");
        assert!(!t.trigger.unwrap().instead_of);
    }

    #[test]
    fn the_definition_starts_at_the_first_word() {
        assert_eq!(
            definition("  -- a comment\n/* block /* nested */ */\nCREATE VIEW v AS SELECT 1\n"),
            "CREATE VIEW v AS SELECT 1\n"
        );
    }
}
