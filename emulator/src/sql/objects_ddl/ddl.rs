//! CREATE / DROP INDEX, ALTER TABLE on constraints, CREATE / DROP SCHEMA ("CREATE INDEX",
//! "DROP INDEX", "ALTER TABLE", "CREATE SCHEMA", "DROP SCHEMA").

use super::constraint::{skip_index_options, table_constraint};
use super::words::{
    ident, kept_expression, key_columns, name_list, need_name, object_name, split_top,
};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{AlterTable, IndexDef, ObjectDdl, ObjectName};
use crate::syntax::{Token, near};

/// `CREATE [UNIQUE] [CLUSTERED | NONCLUSTERED] INDEX name ON table (cols) [INCLUDE (cols)]
/// [WHERE filter] [WITH (…)] [ON filegroup]`.
pub(super) fn create_index(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    if !st.first()?.is("CREATE") {
        return None;
    }
    let mut i = 1;
    let unique = st.get(i)?.is("UNIQUE");
    if unique {
        i += 1;
    }
    let clustered = st.get(i)?.is("CLUSTERED");
    if clustered || st.get(i)?.is("NONCLUSTERED") {
        i += 1;
    }
    if !st.get(i)?.is("INDEX") {
        return None;
    }
    Some(read_index(st, i + 1, unique, clustered))
}

fn read_index(
    st: &[Token],
    at: usize,
    unique: bool,
    clustered: bool,
) -> Result<ObjectDdl, ServerMessage> {
    let name = ident(st.get(at)).ok_or_else(|| near(&st[at.min(st.len())..]))?;
    if !st.get(at + 1).is_some_and(|x| x.is("ON")) {
        return Err(near(&st[(at + 1).min(st.len())..]));
    }
    let (table, used) = need_name(&st[at + 2..])?;
    let (columns, mut i) = key_columns(st, at + 2 + used)?;
    let include = if st.get(i).is_some_and(|x| x.is("INCLUDE")) {
        let (cols, next) = name_list(st, i + 1)?;
        i = next;
        cols
    } else {
        vec![]
    };
    let filter = if st.get(i).is_some_and(|x| x.is("WHERE")) {
        let end = st[i..]
            .iter()
            .position(|x| x.is("WITH") || x.is("ON"))
            .map_or(st.len(), |p| i + p);
        let f = kept_expression(&st[i + 1..end]);
        i = end;
        Some(f)
    } else {
        None
    };
    let i = skip_index_options(st, i)?;
    if i < st.len() {
        return Err(near(&st[i..]));
    }
    Ok(ObjectDdl::CreateIndex {
        table,
        index: IndexDef {
            name,
            unique,
            clustered,
            columns,
            include,
            filter,
        },
    })
}

/// `DROP INDEX [IF EXISTS] name ON table [, …]` or the older `DROP INDEX table.name [, …]`.
pub(super) fn drop_index(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    if !(st.first()?.is("DROP") && st.get(1)?.is("INDEX")) {
        return None;
    }
    let mut rest = &st[2..];
    let if_exists = rest.len() > 2 && rest[0].is("IF") && rest[1].is("EXISTS");
    if if_exists {
        rest = &rest[2..];
    }
    let mut items = Vec::new();
    for item in rest.split(|x| x.is_punct(",")) {
        let parsed = match item {
            [index, on, table @ ..] if on.is("ON") => {
                match (ident(Some(index)), object_name(table)) {
                    (Some(i), Some((t, used))) if used == table.len() => Some((i, t)),
                    _ => None,
                }
            }
            _ => object_name(item)
                .filter(|(_, used)| *used == item.len())
                .and_then(|(n, _)| {
                    // table.index or schema.table.index
                    let table = ObjectName {
                        db: None,
                        schema: n.db.clone(),
                        name: n.schema.clone()?,
                    };
                    Some((n.name, table))
                }),
        };
        match parsed {
            Some(p) => items.push(p),
            None => return Some(Err(near(item))),
        }
    }
    Some(Ok(ObjectDdl::DropIndexes { items, if_exists }))
}

/// ALTER TABLE … on constraints; None for other ALTER TABLE statements.
pub(super) fn alter_table(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    if !(st.first()?.is("ALTER") && st.get(1)?.is("TABLE")) {
        return None;
    }
    let (table, used) = match need_name(&st[2..]) {
        Ok(n) => n,
        Err(e) => return Some(Err(e)),
    };
    let mut i = 2 + used;
    let with_check = match (st.get(i), st.get(i + 1)) {
        (Some(w), Some(c)) if w.is("WITH") && c.is("CHECK") => Some(true),
        (Some(w), Some(c)) if w.is("WITH") && c.is("NOCHECK") => Some(false),
        _ => None,
    };
    if with_check.is_some() {
        i += 2;
    }
    let x = st.get(i)?;
    let change = if x.is("ADD") {
        let mut constraints = Vec::new();
        for item in split_top(&st[i + 1..]) {
            match table_constraint(item) {
                Some(Ok(c)) => constraints.push(c),
                Some(Err(e)) => return Some(Err(e)),
                // ADD of a column: not kept by the emulator.
                None => return None,
            }
        }
        AlterTable::AddConstraints {
            with_check,
            constraints,
        }
    } else if (x.is("CHECK") || x.is("NOCHECK"))
        && st.get(i + 1).is_some_and(|c| c.is("CONSTRAINT"))
    {
        let list = &st[i + 2..];
        let names = if list.len() == 1 && list[0].is("ALL") {
            None
        } else {
            match names(list) {
                Ok(n) => Some(n),
                Err(e) => return Some(Err(e)),
            }
        };
        AlterTable::SetChecked {
            with_check,
            enable: x.is("CHECK"),
            names,
        }
    } else if x.is("DROP") && with_check.is_none() {
        let mut list = &st[i + 1..];
        if list.first().is_some_and(|c| c.is("CONSTRAINT")) {
            list = &list[1..];
        } else if list.first().is_some_and(|c| c.is("COLUMN")) {
            return None;
        }
        let if_exists = list.len() > 2 && list[0].is("IF") && list[1].is("EXISTS");
        if if_exists {
            list = &list[2..];
        }
        match names(list) {
            Ok(names) => AlterTable::DropConstraints { names, if_exists },
            Err(e) => return Some(Err(e)),
        }
    } else {
        return None;
    };
    Some(Ok(ObjectDdl::AlterTable { table, change }))
}

/// `a, b, …`: plain names.
fn names(list: &[Token]) -> Result<Vec<String>, ServerMessage> {
    list.split(|x| x.is_punct(","))
        .map(|item| match item {
            [one] => ident(Some(one)).ok_or_else(|| near(item)),
            _ => Err(near(item)),
        })
        .collect()
}

/// `CREATE SCHEMA name [AUTHORIZATION owner]` and `DROP SCHEMA [IF EXISTS] name`.
pub(super) fn schema(st: &[Token]) -> Option<Result<ObjectDdl, ServerMessage>> {
    if !st.get(1)?.is("SCHEMA") {
        return None;
    }
    let first = st.first()?;
    if first.is("CREATE") {
        let name = ident(st.get(2));
        return Some(match (name, &st[3.min(st.len())..]) {
            (Some(name), []) => Ok(ObjectDdl::CreateSchema { name, owner: None }),
            (Some(name), [a, owner]) if a.is("AUTHORIZATION") => Ok(ObjectDdl::CreateSchema {
                name,
                owner: ident(Some(owner)),
            }),
            (_, rest) => Err(near(rest)),
        });
    }
    if first.is("DROP") {
        let (if_exists, at) =
            if st.get(2).is_some_and(|x| x.is("IF")) && st.get(3).is_some_and(|x| x.is("EXISTS")) {
                (true, 4)
            } else {
                (false, 2)
            };
        return Some(match (ident(st.get(at)), st.len() == at + 1) {
            (Some(name), true) => Ok(ObjectDdl::DropSchema { name, if_exists }),
            _ => Err(near(&st[at.min(st.len())..])),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn parse(sql: &str) -> ObjectDdl {
        let t = tokenize(sql).unwrap();
        create_index(&t)
            .or_else(|| drop_index(&t))
            .or_else(|| alter_table(&t))
            .or_else(|| schema(&t))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn indexes() {
        match parse(
            "CREATE UNIQUE NONCLUSTERED INDEX IX ON dbo.T (A DESC, B) INCLUDE (C) WHERE A > 0 WITH (ONLINE = ON)",
        ) {
            ObjectDdl::CreateIndex { table, index } => {
                assert_eq!(table.name, "T");
                assert!(index.unique && !index.clustered);
                assert!(index.columns[0].descending);
                assert_eq!(index.include, ["C"]);
                assert_eq!(index.filter.as_deref(), Some("([A]>(0))"));
            }
            other => panic!("{other:?}"),
        }
        match parse("DROP INDEX IF EXISTS IX ON dbo.T, T2.IX2") {
            ObjectDdl::DropIndexes { items, if_exists } => {
                assert!(if_exists);
                assert_eq!(items[1].0, "IX2");
                assert_eq!(items[1].1.name, "T2");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn alter_table_on_constraints() {
        match parse("ALTER TABLE dbo.T WITH NOCHECK ADD CONSTRAINT CK_A CHECK (A > 0)") {
            ObjectDdl::AlterTable {
                change:
                    AlterTable::AddConstraints {
                        with_check,
                        constraints,
                    },
                ..
            } => {
                assert_eq!(with_check, Some(false));
                assert_eq!(constraints[0].name.as_deref(), Some("CK_A"));
            }
            other => panic!("{other:?}"),
        }
        match parse("ALTER TABLE T WITH CHECK CHECK CONSTRAINT ALL") {
            ObjectDdl::AlterTable {
                change:
                    AlterTable::SetChecked {
                        with_check,
                        enable,
                        names,
                    },
                ..
            } => {
                assert_eq!((with_check, enable, names), (Some(true), true, None));
            }
            other => panic!("{other:?}"),
        }
        match parse("ALTER TABLE T NOCHECK CONSTRAINT FK_A, CK_B") {
            ObjectDdl::AlterTable {
                change: AlterTable::SetChecked { enable, names, .. },
                ..
            } => {
                assert!(!enable);
                assert_eq!(names.unwrap(), ["FK_A", "CK_B"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(alter_table(&tokenize("ALTER TABLE T ADD C int").unwrap()).is_none());
    }
}
