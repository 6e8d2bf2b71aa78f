//! A batch's statements and control of flow: where each statement ends (T-SQL needs no
//! semicolons between statements), IF … ELSE, and BEGIN … END blocks ("Control-of-Flow",
//! Transact-SQL reference).
//!
//! A statement ends at `;`, or where a word that begins another statement stands outside
//! parentheses and CASE expressions — unless the statement so far takes that word as its own:
//! the SELECT of INSERT … SELECT or of a UNION, UPDATE's first SET, ALTER … SET, the
//! ROLLBACK of `WITH ROLLBACK IMMEDIATE`, `ON DELETE`, and so on.

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

/// A batch's statements, as a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'t> {
    Statement(&'t [Token]),
    If {
        condition: &'t [Token],
        then: Box<Node<'t>>,
        otherwise: Option<Box<Node<'t>>>,
    },
    Block(Vec<Node<'t>>),
}

/// Words that begin a statement.
const STARTS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "SET",
    "DECLARE",
    "PRINT",
    "USE",
    "IF",
    "ELSE",
    "WHILE",
    "BEGIN",
    "END",
    "RETURN",
    "RAISERROR",
    "COMMIT",
    "ROLLBACK",
    "SAVE",
    "BACKUP",
    "RESTORE",
    "CREATE",
    "DROP",
    "ALTER",
    "EXEC",
    "EXECUTE",
    "GRANT",
    "DENY",
    "REVOKE",
    "TRUNCATE",
    "WAITFOR",
    "DBCC",
    "CHECKPOINT",
    "KILL",
    "MERGE",
    "BREAK",
    "CONTINUE",
    "GOTO",
    "RECONFIGURE",
];

/// BEGIN followed by these starts a statement (BEGIN TRAN…), not a block.
const BEGIN_STATEMENTS: &[&str] = &[
    "TRAN",
    "TRANSACTION",
    "DISTRIBUTED",
    "TRY",
    "CATCH",
    "DIALOG",
    "CONVERSATION",
];

fn word(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

/// Splits a batch into its statements.
pub fn parse(t: &[Token]) -> Result<Vec<Node<'_>>, ServerMessage> {
    let mut at = 0;
    let nodes = nodes(t, &mut at, false)?;
    match t.get(at) {
        None => Ok(nodes),
        Some(x) => Err(syntax_error(&x.display())),
    }
}

/// Nodes up to the end of `t`, or (in a block) up to its END.
fn nodes<'t>(
    t: &'t [Token],
    at: &mut usize,
    in_block: bool,
) -> Result<Vec<Node<'t>>, ServerMessage> {
    let mut out = Vec::new();
    loop {
        while t.get(*at).is_some_and(|x| x.is_punct(";")) {
            *at += 1;
        }
        match word(t.get(*at)).as_deref() {
            None if *at >= t.len() => {
                if in_block {
                    return Err(near(&t[t.len().saturating_sub(1)..]));
                }
                return Ok(out);
            }
            Some("END") if in_block => return Ok(out),
            Some("END" | "ELSE") => return Err(syntax_error(&t[*at].display())),
            _ => out.push(node(t, at)?),
        }
    }
}

/// One node starting at `at`.
fn node<'t>(t: &'t [Token], at: &mut usize) -> Result<Node<'t>, ServerMessage> {
    let first = word(t.get(*at));
    match first.as_deref() {
        Some("BEGIN")
            if !word(t.get(*at + 1)).is_some_and(|w| BEGIN_STATEMENTS.contains(&w.as_str())) =>
        {
            *at += 1;
            let body = nodes(t, at, true)?;
            *at += 1; // END
            Ok(Node::Block(body))
        }
        Some("IF") => {
            let start = *at + 1;
            let end = condition_end(t, start);
            if end == start {
                return Err(near(&t[start.min(t.len())..]));
            }
            *at = end;
            if *at >= t.len() {
                return Err(near(&t[t.len() - 1..]));
            }
            let then = node(t, at)?;
            let otherwise = if word(t.get(*at)).as_deref() == Some("ELSE") {
                *at += 1;
                if *at >= t.len() {
                    return Err(syntax_error("ELSE"));
                }
                Some(Box::new(node(t, at)?))
            } else {
                None
            };
            Ok(Node::If {
                condition: &t[start..end],
                then: Box::new(then),
                otherwise,
            })
        }
        _ => {
            let start = *at;
            let end = statement_end(t, start);
            *at = end;
            Ok(Node::Statement(&t[start..end]))
        }
    }
}

/// How deep a token stands in parentheses and CASE expressions.
#[derive(Default)]
struct Nesting {
    parens: i32,
    cases: i32,
}

impl Nesting {
    /// Takes in `x`; true when it stands at the top level (not opening or closing a level).
    fn top(&mut self, x: &Token) -> bool {
        if x.is_punct("(") {
            self.parens += 1;
        } else if x.is_punct(")") {
            self.parens -= 1;
        } else if x.is("CASE") {
            self.cases += 1;
        } else if x.is("END") && self.cases > 0 {
            self.cases -= 1;
        } else {
            return self.parens == 0 && self.cases == 0;
        }
        false
    }
}

/// Where an IF's condition ends: at the first word outside parentheses that begins a
/// statement.
fn condition_end(t: &[Token], start: usize) -> usize {
    let mut nesting = Nesting::default();
    for (i, x) in t.iter().enumerate().skip(start) {
        if nesting.top(x)
            && (x.is_punct(";") || word(Some(x)).is_some_and(|w| STARTS.contains(&w.as_str())))
        {
            return i;
        }
    }
    t.len()
}

/// Where the statement starting at `start` ends.
fn statement_end(t: &[Token], start: usize) -> usize {
    let first = word(t.get(start)).unwrap_or_default();
    // A module's body is the rest of the batch: CREATE PROCEDURE/FUNCTION/TRIGGER/VIEW must
    // be alone in their batch.
    if first == "CREATE"
        && word(t.get(start + 1)).is_some_and(|w| {
            ["PROC", "PROCEDURE", "FUNCTION", "TRIGGER", "VIEW"].contains(&w.as_str())
        })
    {
        return t.len();
    }
    // So do CREATE OR ALTER and ALTER of a module.
    if super::objects_ddl::is_module_statement(&t[start..]) {
        return t.len();
    }
    let mut nesting = Nesting::default();
    // Words the statement so far still takes as its own, once each.
    let mut own_select = matches!(first.as_str(), "INSERT" | "WITH");
    let mut own_set = matches!(first.as_str(), "UPDATE" | "ALTER");
    let mut i = start + 1;
    while i < t.len() {
        let x = &t[i];
        if nesting.top(x) {
            if x.is_punct(";") {
                return i;
            }
            // INSERT … VALUES has its source; a SELECT after it is a statement of its own.
            if x.is("VALUES") {
                own_select = false;
            }
            if let Some(w) = word(Some(x))
                && STARTS.contains(&w.as_str())
            {
                let prev = word(t.get(i - 1)).unwrap_or_default();
                let continues = match w.as_str() {
                    "SELECT" | "EXEC" | "EXECUTE" if own_select => {
                        own_select = false;
                        true
                    }
                    "SELECT" => matches!(prev.as_str(), "UNION" | "ALL" | "EXCEPT" | "INTERSECT"),
                    "SET" if own_set => {
                        own_set = false;
                        true
                    }
                    "ROLLBACK" => prev == "WITH",
                    // ALTER RESOURCE GOVERNOR RECONFIGURE ("ALTER RESOURCE GOVERNOR").
                    "RECONFIGURE" => prev == "GOVERNOR",
                    // DROP TRIGGER IF EXISTS … ("DROP TRIGGER (Transact-SQL)").
                    // … and DROP ASSEMBLY | VIEW | PROCEDURE | FUNCTION | INDEX | SCHEMA | TABLE IF EXISTS,
                    // ALTER TABLE … DROP CONSTRAINT IF EXISTS.
                    "IF" => {
                        word(t.get(i + 1)).as_deref() == Some("EXISTS")
                            && ((first == "DROP" && i == start + 2)
                                || (first == "ALTER" && prev == "CONSTRAINT"))
                    }
                    // GRANT … WITH GRANT OPTION; ALTER AVAILABILITY GROUP [ag] GRANT|DENY
                    // CREATE ANY DATABASE ("ALTER AVAILABILITY GROUP").
                    "GRANT" => prev == "WITH" || alters_group(t, start, &first),
                    "DENY" => alters_group(t, start, &first),
                    "DELETE" | "UPDATE" => prev == "ON" || prev == "FOR" || first == "WITH",
                    "DROP" | "SET" | "CREATE" => first == "ALTER",
                    "INSERT" | "MERGE" => first == "WITH",
                    _ => false,
                };
                // Permission statements name statements as permissions (GRANT CREATE TABLE).
                let permission = matches!(first.as_str(), "GRANT" | "DENY" | "REVOKE")
                    && !t[start..i].iter().any(|y| y.is("TO") || y.is("FROM"));
                if !continues && !permission {
                    return i;
                }
            }
        }
        i += 1;
    }
    t.len()
}

/// Whether the statement from `start` is ALTER AVAILABILITY GROUP, whose GRANT/DENY CREATE
/// ANY DATABASE belongs to it.
fn alters_group(t: &[Token], start: usize, first: &str) -> bool {
    first == "ALTER"
        && word(t.get(start + 1)).as_deref() == Some("AVAILABILITY")
        && word(t.get(start + 2)).as_deref() == Some("GROUP")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn shapes(sql: &str) -> Vec<String> {
        let t = tokenize(sql).unwrap();
        fn show(n: &Node<'_>) -> String {
            match n {
                Node::Statement(s) => s.iter().map(|x| x.display()).collect::<Vec<_>>().join(" "),
                Node::If {
                    condition,
                    then,
                    otherwise,
                } => format!(
                    "IF[{}]{{{}}}{}",
                    condition
                        .iter()
                        .map(|x| x.display())
                        .collect::<Vec<_>>()
                        .join(" "),
                    show(then),
                    otherwise
                        .as_ref()
                        .map(|o| format!("ELSE{{{}}}", show(o)))
                        .unwrap_or_default()
                ),
                Node::Block(b) => format!("[{}]", b.iter().map(show).collect::<Vec<_>>().join("|")),
            }
        }
        parse(&t).unwrap().iter().map(show).collect()
    }

    #[test]
    fn statements_end_without_semicolons() {
        assert_eq!(
            shapes("DECLARE @x int SET @x = 1 SELECT @x"),
            ["DECLARE @x int", "SET @x = 1", "SELECT @x"]
        );
        assert_eq!(
            shapes("INSERT INTO t (a) SELECT 1 UNION ALL SELECT 2 SELECT 3"),
            [
                "INSERT INTO t ( a ) SELECT 1 UNION ALL SELECT 2",
                "SELECT 3"
            ]
        );
        assert_eq!(
            shapes("UPDATE t SET a = 1 WHERE b = 2 SET @y = 3"),
            ["UPDATE t SET a = 1 WHERE b = 2", "SET @y = 3"]
        );
        assert_eq!(
            shapes("ALTER DATABASE d SET SINGLE_USER WITH ROLLBACK IMMEDIATE PRINT 'x'"),
            [
                "ALTER DATABASE d SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
                "PRINT x"
            ]
        );
        assert_eq!(
            shapes("SELECT CASE WHEN 1 = 1 THEN 2 ELSE 3 END; BEGIN TRAN COMMIT"),
            [
                "SELECT CASE WHEN 1 = 1 THEN 2 ELSE 3 END",
                "BEGIN TRAN",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn if_else_and_blocks() {
        assert_eq!(
            shapes(
                "IF @a > 1 SELECT 1 ELSE IF EXISTS (SELECT 1 FROM t) BEGIN PRINT 'a' PRINT 'b' END ELSE SELECT 3 SELECT 4"
            ),
            [
                "IF[@a > 1]{SELECT 1}ELSE{IF[EXISTS ( SELECT 1 FROM t )]{[PRINT a|PRINT b]}ELSE{SELECT 3}}",
                "SELECT 4"
            ]
        );
        let t = tokenize("IF 1 = 1 SELECT 1; ELSE SELECT 2").unwrap();
        assert_eq!(parse(&t).unwrap_err().number, 102);
        let t = tokenize("BEGIN SELECT 1").unwrap();
        assert_eq!(parse(&t).unwrap_err().number, 102);
    }
}
