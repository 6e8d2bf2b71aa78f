//! CREATE TABLE read for the catalog ("CREATE TABLE (Transact-SQL)"): columns with their
//! types, NULL / NOT NULL, IDENTITY, COLLATE; column and table constraints; inline INDEX
//! definitions; `WITH (MEMORY_OPTIMIZED = ON, DURABILITY = …)`.
//!
//! The statement then goes to SQLite without what SQLite cannot take or should not enforce:
//! FOREIGN KEY / REFERENCES clauses (SQLite's names differ, and it does not enforce them
//! without PRAGMA foreign_keys), inline INDEX definitions and HASH index options. What SQLite
//! keeps and enforces: PRIMARY KEY and UNIQUE (as its own unique indexes), NOT NULL, CHECK and
//! DEFAULT (with the expression as written).

use super::constraint::{column_constraint, skip_index_options, table_constraint};
use super::words::{group, ident, key_columns, name_list, need_name, split_top};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{ColumnDef, IndexDef, TableDef};
use crate::syntax::{Token, closing_paren, near};

/// The table's definition and the statement for SQLite, when `t` is CREATE TABLE … ( … ).
pub fn read(t: &[Token]) -> Option<Result<(TableDef, Vec<Token>), ServerMessage>> {
    if !(t.first()?.is("CREATE") && t.get(1)?.is("TABLE")) {
        return None;
    }
    Some(read_table(t))
}

fn read_table(t: &[Token]) -> Result<(TableDef, Vec<Token>), ServerMessage> {
    let (_, used) = need_name(&t[2..])?;
    let open = 2 + used;
    if !t.get(open).is_some_and(|x| x.is_punct("(")) {
        return Err(near(&t[open.min(t.len())..]));
    }
    let close = closing_paren(t, open).ok_or_else(|| near(&t[open..]))?;
    let mut def = TableDef::default();
    let mut kept: Vec<Vec<Token>> = Vec::new();
    for element in split_top(&t[open + 1..close]) {
        if let Some(kept_element) = read_element(element, &mut def)? {
            kept.push(kept_element);
        }
    }
    read_options(&t[close + 1..], &mut def)?;
    let mut out = t[..=open].to_vec();
    for (i, e) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push(Token::Punct(",".into()));
        }
        out.extend(e);
    }
    out.extend_from_slice(&t[close..]);
    Ok((def, out))
}

/// `WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_ONLY | SCHEMA_AND_DATA)` after the
/// element list.
fn read_options(t: &[Token], def: &mut TableDef) -> Result<(), ServerMessage> {
    let Some(at) = t.iter().position(|x| x.is("WITH")) else {
        return Ok(());
    };
    let (inside, _) = group(t, at + 1)?;
    for option in inside.split(|x| x.is_punct(",")) {
        match option {
            [k, eq, v] if k.is("MEMORY_OPTIMIZED") && eq.is_punct("=") => {
                def.memory_optimized = v.is("ON")
            }
            [k, eq, v] if k.is("DURABILITY") && eq.is_punct("=") => {
                def.schema_only = v.is("SCHEMA_ONLY")
            }
            _ => {}
        }
    }
    Ok(())
}

/// One element: a column or a table constraint or index. Returns the tokens SQLite gets for
/// it, or None when it gets nothing.
fn read_element(e: &[Token], def: &mut TableDef) -> Result<Option<Vec<Token>>, ServerMessage> {
    let Some(first) = e.first() else {
        return Err(near(e));
    };
    if first.is("INDEX") {
        def.indexes.push(inline_index(e, 1, None)?.0);
        return Ok(None);
    }
    if let Some(c) = table_constraint(e) {
        let c = c?;
        let foreign = matches!(c.kind, crate::statement::ConstraintKind::Foreign { .. });
        def.constraints.push(c);
        return Ok((!foreign).then(|| without_index_options(e)));
    }
    column(e, def).map(Some)
}

/// A key constraint's tokens without HASH and WITH (BUCKET_COUNT = …).
fn without_index_options(e: &[Token]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < e.len() {
        if e[i].is("HASH") {
            i += 1;
            continue;
        }
        if e[i].is("WITH") && e.get(i + 1).is_some_and(|p| p.is_punct("(")) {
            i = closing_paren(e, i + 1).map_or(e.len(), |c| c + 1);
            continue;
        }
        out.push(e[i].clone());
        i += 1;
    }
    out
}

/// `INDEX name [UNIQUE] [CLUSTERED | NONCLUSTERED] [HASH] (cols) [WITH (…)]` from `e[at]`
/// (after INDEX); `column` for a column index, which has no column list.
fn inline_index(
    e: &[Token],
    at: usize,
    column: Option<&str>,
) -> Result<(IndexDef, usize), ServerMessage> {
    let name = ident(e.get(at)).ok_or_else(|| near(&e[at.min(e.len())..]))?;
    let mut i = at + 1;
    let unique = e.get(i).is_some_and(|x| x.is("UNIQUE"));
    if unique {
        i += 1;
    }
    let clustered = e.get(i).is_some_and(|x| x.is("CLUSTERED"));
    if clustered || e.get(i).is_some_and(|x| x.is("NONCLUSTERED")) {
        i += 1;
    }
    if e.get(i).is_some_and(|x| x.is("HASH")) {
        i += 1;
    }
    let columns = match column {
        Some(c) if !e.get(i).is_some_and(|x| x.is_punct("(")) => {
            vec![crate::statement::KeyColumn {
                name: c.to_owned(),
                descending: false,
            }]
        }
        _ => {
            let (cols, next) = key_columns(e, i)?;
            i = next;
            cols
        }
    };
    let include = if e.get(i).is_some_and(|x| x.is("INCLUDE")) {
        let (cols, next) = name_list(e, i + 1)?;
        i = next;
        cols
    } else {
        vec![]
    };
    let i = skip_index_options(e, i)?;
    Ok((
        IndexDef {
            name,
            unique,
            clustered,
            columns,
            include,
            filter: None,
        },
        i,
    ))
}

/// A column definition; its tokens for SQLite.
fn column(e: &[Token], def: &mut TableDef) -> Result<Vec<Token>, ServerMessage> {
    let name = ident(e.first()).ok_or_else(|| near(e))?;
    // A computed column: `name AS expression`. Its type is the expression's; the emulator
    // does not work it out and shows sql_variant (a guess).
    if e.get(1).is_some_and(|x| x.is("AS")) {
        def.columns.push(ColumnDef {
            name,
            type_name: "sql_variant".into(),
            args: vec![],
            nullable: Some(true),
            identity: false,
            collation: None,
            computed: true,
        });
        return Ok(e.to_vec());
    }
    let (type_name, mut i) = match (e.get(1), e.get(2), e.get(3)) {
        (Some(s), Some(dot), Some(Token::Word(t) | Token::Quoted(t)))
            if dot.is_punct(".") && ident(Some(s)).is_some() =>
        {
            (t.to_ascii_lowercase(), 4)
        }
        (Some(Token::Word(t) | Token::Quoted(t)), _, _) => (t.to_ascii_lowercase(), 2),
        _ => return Err(near(&e[1.min(e.len())..])),
    };
    let mut args = Vec::new();
    if e.get(i).is_some_and(|x| x.is_punct("(")) {
        let (inside, next) = group(e, i)?;
        for a in inside.split(|x| x.is_punct(",")) {
            args.push(match a {
                [Token::Number(n)] => Some(n.parse().map_err(|_| near(a))?),
                [m] if m.is("MAX") => None,
                _ => return Err(near(a)),
            });
        }
        i = next;
    }
    let mut c = ColumnDef {
        name: name.clone(),
        type_name,
        args,
        nullable: None,
        identity: false,
        collation: None,
        computed: false,
    };
    let mut kept = e[..i].to_vec();
    let mut pending_name: Option<(String, usize)> = None;
    while i < e.len() {
        let x = &e[i];
        if x.is("CONSTRAINT") {
            let n = ident(e.get(i + 1)).ok_or_else(|| near(&e[i + 1..]))?;
            pending_name = Some((n, i));
            i += 2;
            continue;
        }
        if x.is("INDEX") {
            let (index, next) = inline_index(e, i + 1, Some(&name))?;
            def.indexes.push(index);
            i = next;
            continue;
        }
        let named = pending_name.take();
        if let Some(r) = column_constraint(e, i, &name, named.as_ref().map(|n| n.0.clone())) {
            let (constraint, next) = r?;
            let foreign = matches!(
                constraint.kind,
                crate::statement::ConstraintKind::Foreign { .. }
            );
            def.constraints.push(constraint);
            if !foreign {
                let from = named.map_or(i, |n| n.1);
                kept.extend(without_index_options(&e[from..next]));
            }
            i = next;
            continue;
        }
        if x.is("NOT") && e.get(i + 1).is_some_and(|n| n.is("NULL")) {
            c.nullable = Some(false);
            kept.extend_from_slice(&e[i..i + 2]);
            i += 2;
            continue;
        }
        if x.is("NULL") {
            c.nullable = Some(true);
        } else if x.is("IDENTITY") {
            c.identity = true;
            if e.get(i + 1).is_some_and(|p| p.is_punct("(")) {
                let (_, next) = group(e, i + 1)?;
                kept.extend_from_slice(&e[i..next]);
                i = next;
                continue;
            }
        } else if x.is("COLLATE") {
            c.collation = ident(e.get(i + 1));
            // SQLite has no such collations: the catalog keeps it, SQLite does not get it.
            i += 2;
            continue;
        }
        kept.push(x.clone());
        i += 1;
    }
    def.columns.push(c);
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::ConstraintKind;
    use crate::syntax::tokenize;

    fn text(t: &[Token]) -> String {
        t.iter().map(|x| x.display()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn columns_constraints_and_what_sqlite_gets() {
        let t = tokenize(
            "CREATE TABLE dbo.Lines (Id int IDENTITY(1,1) NOT NULL CONSTRAINT PK_Lines PRIMARY KEY CLUSTERED, \
             OrderId int NOT NULL REFERENCES dbo.Orders (Id) ON DELETE CASCADE, Qty int CHECK (Qty > 0), \
             Note nvarchar(max) COLLATE Latin1_General_CI_AS DEFAULT N'', \
             CONSTRAINT UQ_Lines UNIQUE NONCLUSTERED (OrderId, Qty DESC), \
             CONSTRAINT FK_Self FOREIGN KEY (OrderId) REFERENCES Lines (Id), INDEX IX_Qty (Qty))",
        )
        .unwrap();
        let (def, sqlite) = read(&t).unwrap().unwrap();
        assert_eq!(def.columns.len(), 4);
        assert_eq!(def.columns[0].nullable, Some(false));
        assert!(def.columns[0].identity);
        assert_eq!(def.columns[3].args, vec![None]);
        assert_eq!(
            def.columns[3].collation.as_deref(),
            Some("Latin1_General_CI_AS")
        );
        let kinds: Vec<&str> = def
            .constraints
            .iter()
            .map(|c| match &c.kind {
                ConstraintKind::Key { primary: true, .. } => "PK",
                ConstraintKind::Key { .. } => "UQ",
                ConstraintKind::Foreign { .. } => "F",
                ConstraintKind::Check { .. } => "C",
                ConstraintKind::Default { .. } => "D",
            })
            .collect();
        assert_eq!(kinds, ["PK", "F", "C", "D", "UQ", "F"]);
        assert_eq!(def.indexes[0].name, "IX_Qty");
        let s = text(&sqlite);
        assert!(
            !s.contains("REFERENCES") && !s.contains("IX_Qty") && !s.contains("COLLATE"),
            "{s}"
        );
        assert!(
            s.contains("CONSTRAINT PK_Lines PRIMARY KEY CLUSTERED"),
            "{s}"
        );
        assert!(s.contains("CHECK ( Qty > 0 )"), "{s}");
    }

    #[test]
    fn memory_optimized_tables_and_hash_indexes() {
        let t = tokenize(
            "CREATE TABLE dbo.Hot (Id int NOT NULL PRIMARY KEY NONCLUSTERED HASH WITH (BUCKET_COUNT = 1024), V int) \
             WITH (MEMORY_OPTIMIZED = ON, DURABILITY = SCHEMA_ONLY)",
        )
        .unwrap();
        let (def, sqlite) = read(&t).unwrap().unwrap();
        assert!(def.memory_optimized && def.schema_only);
        let s = text(&sqlite);
        assert!(!s.contains("HASH") && !s.contains("BUCKET_COUNT"), "{s}");
    }
}
