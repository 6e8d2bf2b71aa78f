//! CREATE TABLE … AS FILETABLE, read from tokens ("CREATE TABLE (Transact-SQL)": `AS
//! FILETABLE [WITH (FILETABLE_DIRECTORY = directory_name, FILETABLE_COLLATE_FILENAME =
//! { collation_name | database_default }, …)]`).

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, near, syntax_error};

/// A FileTable to make: (database, schema, name, directory, collation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTableSpec {
    pub database: Option<String>,
    pub schema: String,
    pub name: String,
    pub directory: Option<String>,
    pub collation: Option<String>,
}

/// The statement, if it is `CREATE TABLE name AS FILETABLE …`.
pub(super) fn parse(st: &[Token]) -> Option<Result<FileTableSpec, ServerMessage>> {
    if !(st.first()?.is("CREATE") && st.get(1)?.is("TABLE")) {
        return None;
    }
    let as_at = st.iter().position(|t| t.is("AS"))?;
    if !st.get(as_at + 1)?.is("FILETABLE") {
        return None;
    }
    Some(read(st, as_at))
}

fn read(st: &[Token], as_at: usize) -> Result<FileTableSpec, ServerMessage> {
    let mut parts = Vec::new();
    let mut i = 2;
    while i < as_at {
        match &st[i] {
            Token::Word(w) | Token::Quoted(w) => parts.push(w.clone()),
            t => return Err(syntax_error(&t.display())),
        }
        i += 1;
        if i < as_at {
            if !st[i].is_punct(".") {
                return Err(syntax_error(&st[i].display()));
            }
            i += 1;
        }
    }
    let (database, schema, name) = match parts.as_slice() {
        [n] => (None, "dbo".to_owned(), n.clone()),
        [s, n] => (None, s.clone(), n.clone()),
        [d, s, n] => (Some(d.clone()), s.clone(), n.clone()),
        _ => return Err(near(&st[2..])),
    };
    let mut spec = FileTableSpec {
        database,
        schema,
        name,
        directory: None,
        collation: None,
    };
    let rest = &st[as_at + 2..];
    if rest.is_empty() {
        return Ok(spec);
    }
    if !(rest[0].is("WITH") && rest.get(1).is_some_and(|t| t.is_punct("("))) {
        return Err(near(rest));
    }
    let close = closing_paren(rest, 1).ok_or_else(|| near(&rest[rest.len()..]))?;
    if close + 1 != rest.len() {
        return Err(near(&rest[close + 1..]));
    }
    for option in rest[2..close].split(|t| t.is_punct(",")) {
        let [Token::Word(key), eq, value] = option else {
            return Err(near(option));
        };
        if !eq.is_punct("=") {
            return Err(syntax_error(&eq.display()));
        }
        let text = match value {
            Token::Word(v) | Token::Quoted(v) => v.clone(),
            Token::Str { text, .. } => text.clone(),
            v => return Err(syntax_error(&v.display())),
        };
        match key.to_ascii_uppercase().as_str() {
            "FILETABLE_DIRECTORY" => spec.directory = Some(text),
            "FILETABLE_COLLATE_FILENAME" => spec.collation = Some(text),
            // The constraint names: the emulator makes no named constraints for them.
            "FILETABLE_PRIMARY_KEY_CONSTRAINT_NAME"
            | "FILETABLE_STREAMID_UNIQUE_CONSTRAINT_NAME"
            | "FILETABLE_FULLPATH_UNIQUE_CONSTRAINT_NAME" => {}
            _ => return Err(syntax_error(key)),
        }
    }
    Ok(spec)
}
