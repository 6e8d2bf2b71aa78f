//! Constraints as CREATE TABLE and ALTER TABLE write them ("CREATE TABLE": column_constraint,
//! table_constraint; "ALTER TABLE": `DEFAULT … FOR column`).

use super::words::{group, ident, kept_expression, key_columns, name_list, need_name};
use crate::protocol::tokens::ServerMessage;
use crate::statement::{ConstraintDef, ConstraintKind, KeyColumn, RefAction};
use crate::syntax::{Token, near};

/// Index options the catalog does not keep: `HASH`, `WITH (…)`, `ON filegroup`. Returns the
/// index after them.
pub(super) fn skip_index_options(t: &[Token], mut i: usize) -> Result<usize, ServerMessage> {
    loop {
        match t.get(i) {
            Some(x) if x.is("HASH") => i += 1,
            Some(x) if x.is("WITH") && t.get(i + 1).is_some_and(|p| p.is_punct("(")) => {
                i = group(t, i + 1)?.1;
            }
            Some(x)
                if x.is("ON")
                    && !t
                        .get(i + 1)
                        .is_some_and(|w| w.is("DELETE") || w.is("UPDATE")) =>
            {
                i += 2;
            }
            _ => return Ok(i),
        }
    }
}

/// CLUSTERED / NONCLUSTERED at `t[i]`.
fn clustering(t: &[Token], i: usize) -> (Option<bool>, usize) {
    match t.get(i) {
        Some(x) if x.is("CLUSTERED") => (Some(true), i + 1),
        Some(x) if x.is("NONCLUSTERED") => (Some(false), i + 1),
        _ => (None, i),
    }
}

/// `ON DELETE | ON UPDATE action`, repeated, and NOT FOR REPLICATION, from `t[i]`.
fn actions(
    t: &[Token],
    mut i: usize,
) -> Result<(RefAction, RefAction, bool, usize), ServerMessage> {
    let (mut delete, mut update, mut nfr) = (RefAction::NoAction, RefAction::NoAction, false);
    loop {
        match (t.get(i), t.get(i + 1)) {
            (Some(on), Some(what)) if on.is("ON") && (what.is("DELETE") || what.is("UPDATE")) => {
                let (action, used) = match (t.get(i + 2), t.get(i + 3)) {
                    (Some(a), Some(b)) if a.is("NO") && b.is("ACTION") => (RefAction::NoAction, 2),
                    (Some(a), _) if a.is("CASCADE") => (RefAction::Cascade, 1),
                    (Some(a), Some(b)) if a.is("SET") && b.is("NULL") => (RefAction::SetNull, 2),
                    (Some(a), Some(b)) if a.is("SET") && b.is("DEFAULT") => {
                        (RefAction::SetDefault, 2)
                    }
                    _ => return Err(near(&t[(i + 2).min(t.len())..])),
                };
                if what.is("DELETE") {
                    delete = action;
                } else {
                    update = action;
                }
                i += 2 + used;
            }
            (Some(n), Some(f))
                if n.is("NOT")
                    && f.is("FOR")
                    && t.get(i + 2).is_some_and(|r| r.is("REPLICATION")) =>
            {
                nfr = true;
                i += 3;
            }
            _ => return Ok((delete, update, nfr, i)),
        }
    }
}

/// `REFERENCES table [(cols)] [ON DELETE …] [ON UPDATE …] [NOT FOR REPLICATION]` at `t[i]`.
fn references(
    t: &[Token],
    i: usize,
    columns: Vec<String>,
) -> Result<(ConstraintKind, usize), ServerMessage> {
    if !t.get(i).is_some_and(|x| x.is("REFERENCES")) {
        return Err(near(&t[i.min(t.len())..]));
    }
    let (table, used) = need_name(&t[i + 1..])?;
    let mut j = i + 1 + used;
    let ref_columns = if t.get(j).is_some_and(|x| x.is_punct("(")) {
        let (cols, next) = name_list(t, j)?;
        j = next;
        cols
    } else {
        vec![]
    };
    let (on_delete, on_update, not_for_replication, j) = actions(t, j)?;
    Ok((
        ConstraintKind::Foreign {
            columns,
            table,
            ref_columns,
            on_delete,
            on_update,
            not_for_replication,
        },
        j,
    ))
}

/// `CHECK [NOT FOR REPLICATION] (expr)` at `t[i]`.
fn check(t: &[Token], i: usize) -> Result<(ConstraintKind, usize), ServerMessage> {
    let mut j = i + 1;
    let nfr = t.get(j).is_some_and(|x| x.is("NOT"));
    if nfr {
        j += 3;
    }
    let (expr, next) = group(t, j)?;
    Ok((
        ConstraintKind::Check {
            definition: kept_expression(expr),
            not_for_replication: nfr,
        },
        next,
    ))
}

/// A DEFAULT's expression at `t[i]`: a parenthesized group, a literal (with its sign), NULL or
/// a function call.
pub(super) fn default_expression(t: &[Token], i: usize) -> Result<(String, usize), ServerMessage> {
    let end = match t.get(i) {
        Some(x) if x.is_punct("(") => group(t, i)?.1,
        Some(x) if x.is_punct("-") || x.is_punct("+") => i + 2,
        Some(Token::Word(_)) if t.get(i + 1).is_some_and(|p| p.is_punct("(")) => group(t, i + 1)?.1,
        Some(_) => i + 1,
        None => return Err(near(&t[t.len()..])),
    };
    let end = end.min(t.len());
    Ok((kept_expression(&t[i..end]), end))
}

/// A table constraint (the whole of `t`; `t` may begin with CONSTRAINT name), or None when `t`
/// is not one.
pub(super) fn table_constraint(t: &[Token]) -> Option<Result<ConstraintDef, ServerMessage>> {
    let (name, at) = if t.first()?.is("CONSTRAINT") {
        (ident(t.get(1)), 2)
    } else {
        (None, 0)
    };
    let first = t.get(at)?;
    let starts = ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "DEFAULT"];
    if !starts.iter().any(|s| first.is(s)) {
        return if at == 2 {
            Some(Err(near(&t[at..])))
        } else {
            None
        };
    }
    Some(read_table_constraint(t, at, name))
}

fn read_table_constraint(
    t: &[Token],
    at: usize,
    name: Option<String>,
) -> Result<ConstraintDef, ServerMessage> {
    let first = &t[at];
    let (kind, end, column) = if first.is("PRIMARY") || first.is("UNIQUE") {
        let primary = first.is("PRIMARY");
        let i = if primary {
            if !t.get(at + 1).is_some_and(|k| k.is("KEY")) {
                return Err(near(&t[at + 1..]));
            }
            at + 2
        } else {
            at + 1
        };
        let (clustered, i) = clustering(t, i);
        let i = if t.get(i).is_some_and(|x| x.is("HASH")) {
            i + 1
        } else {
            i
        };
        let (columns, i) = key_columns(t, i)?;
        let i = skip_index_options(t, i)?;
        (
            ConstraintKind::Key {
                primary,
                clustered,
                columns,
            },
            i,
            None,
        )
    } else if first.is("FOREIGN") {
        if !t.get(at + 1).is_some_and(|k| k.is("KEY")) {
            return Err(near(&t[at + 1..]));
        }
        let (columns, i) = name_list(t, at + 2)?;
        let (kind, i) = references(t, i, columns)?;
        (kind, i, None)
    } else if first.is("CHECK") {
        let (kind, i) = check(t, at)?;
        (kind, i, None)
    } else {
        // ALTER TABLE … ADD [CONSTRAINT n] DEFAULT expr FOR column [WITH VALUES].
        let (definition, i) = default_expression(t, at + 1)?;
        if !t.get(i).is_some_and(|x| x.is("FOR")) {
            return Err(near(&t[i.min(t.len())..]));
        }
        let col = ident(t.get(i + 1)).ok_or_else(|| near(&t[(i + 1).min(t.len())..]))?;
        let mut j = i + 2;
        if t.get(j).is_some_and(|x| x.is("WITH")) && t.get(j + 1).is_some_and(|x| x.is("VALUES")) {
            j += 2;
        }
        (
            ConstraintKind::Default {
                column: col.clone(),
                definition,
            },
            j,
            Some(col),
        )
    };
    if end < t.len() {
        return Err(near(&t[end..]));
    }
    Ok(ConstraintDef { name, kind, column })
}

/// A column constraint at `t[i]` (after any CONSTRAINT name) of column `col`: the constraint
/// and the index after it, or None when `t[i]` begins none.
pub(super) fn column_constraint(
    t: &[Token],
    i: usize,
    col: &str,
    name: Option<String>,
) -> Option<Result<(ConstraintDef, usize), ServerMessage>> {
    let x = t.get(i)?;
    let def = |kind| ConstraintDef {
        name: name.clone(),
        kind,
        column: Some(col.to_owned()),
    };
    let r = if x.is("PRIMARY") || x.is("UNIQUE") {
        let primary = x.is("PRIMARY");
        let j = if primary { i + 2 } else { i + 1 };
        let (clustered, j) = clustering(t, j);
        skip_index_options(t, j).map(|j| {
            let columns = vec![KeyColumn {
                name: col.to_owned(),
                descending: false,
            }];
            (
                def(ConstraintKind::Key {
                    primary,
                    clustered,
                    columns,
                }),
                j,
            )
        })
    } else if x.is("FOREIGN") || x.is("REFERENCES") {
        let j = if x.is("FOREIGN") { i + 2 } else { i };
        references(t, j, vec![col.to_owned()]).map(|(k, j)| (def(k), j))
    } else if x.is("CHECK") {
        check(t, i).map(|(k, j)| (def(k), j))
    } else if x.is("DEFAULT") {
        default_expression(t, i + 1).map(|(definition, j)| {
            (
                def(ConstraintKind::Default {
                    column: col.to_owned(),
                    definition,
                }),
                j,
            )
        })
    } else {
        return None;
    };
    Some(r)
}
