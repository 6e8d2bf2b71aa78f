//! CREATE / ALTER / DROP USER and CREATE / ALTER / DROP SERVER ROLE read from tokens ("CREATE
//! USER", "ALTER USER", "CREATE SERVER ROLE", "ALTER SERVER ROLE").

use super::logins::items;
use super::principal_statement::Statement;
use crate::instance::{RoleChange, UserChange, UserSource};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, name_at, syntax_error};

fn near_end(st: &[Token]) -> ServerMessage {
    syntax_error(&st.last().map(|t| t.display()).unwrap_or_default())
}

fn name_value(v: &Token) -> Result<String, ServerMessage> {
    match v {
        Token::Word(w) | Token::Quoted(w) => Ok(w.clone()),
        other => Err(syntax_error(&other.display())),
    }
}

/// The WITH items of CREATE or ALTER USER.
fn user_change(st: &[Token], alter: bool) -> Result<UserChange, ServerMessage> {
    let mut c = UserChange::default();
    for (key, value, rest) in items(st)? {
        if let Some(t) = rest.first() {
            return Err(syntax_error(&t.display()));
        }
        match key.as_str() {
            "DEFAULT_SCHEMA" => c.default_schema = Some(name_value(&value)?),
            "LOGIN" if alter => c.login = Some(name_value(&value)?),
            "NAME" if alter => c.name = Some(name_value(&value)?),
            other => return Err(syntax_error(other)),
        }
    }
    Ok(c)
}

/// CREATE, ALTER or DROP USER (`st[1]` is USER).
pub(super) fn parse_user(st: &[Token]) -> Result<Statement, ServerMessage> {
    if st[0].is("DROP") {
        let at =
            if st.get(2).is_some_and(|t| t.is("IF")) && st.get(3).is_some_and(|t| t.is("EXISTS")) {
                4
            } else {
                2
            };
        let name = name_at(st, at)?;
        return match st.get(at + 1) {
            None => Ok(Statement::DropUser(name, at == 4)),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    let name = name_at(st, 2)?;
    if st[0].is("ALTER") {
        return match st.get(3) {
            Some(t) if t.is("WITH") => Ok(Statement::AlterUser(name, user_change(&st[4..], true)?)),
            Some(t) => Err(syntax_error(&t.display())),
            None => Err(near_end(st)),
        };
    }
    let (source, next) = match (st.get(3), st.get(4)) {
        (Some(f), Some(l)) if (f.is("FOR") || f.is("FROM")) && l.is("LOGIN") => {
            (UserSource::Login(Some(name_at(st, 5)?)), 6)
        }
        (Some(w), Some(l)) if w.is("WITHOUT") && l.is("LOGIN") => (UserSource::WithoutLogin, 5),
        (Some(f), Some(e))
            if f.is("FROM") && e.is("EXTERNAL") && st.get(5).is_some_and(|p| p.is("PROVIDER")) =>
        {
            (UserSource::ExternalProvider, 6)
        }
        (Some(t), _) if t.is("WITH") => (UserSource::Login(None), 3),
        (None, _) => (UserSource::Login(None), 3),
        (Some(t), _) => return Err(syntax_error(&t.display())),
    };
    let schema = match st.get(next) {
        Some(w) if w.is("WITH") => user_change(&st[next + 1..], false)?.default_schema,
        Some(t) => return Err(syntax_error(&t.display())),
        None => None,
    };
    Ok(Statement::CreateUser(name, source, schema))
}

/// CREATE, ALTER or DROP SERVER ROLE (`st[1..3]` is SERVER ROLE).
pub(super) fn parse_server_role(st: &[Token]) -> Result<Statement, ServerMessage> {
    let name = name_at(st, 3)?;
    let rest = &st[4..];
    if st[0].is("DROP") {
        return match rest.first() {
            None => Ok(Statement::DropServerRole(name)),
            Some(t) => Err(syntax_error(&t.display())),
        };
    }
    if st[0].is("CREATE") {
        return match rest {
            [] => Ok(Statement::CreateServerRole(name, None)),
            [a, owner] if a.is("AUTHORIZATION") => {
                Ok(Statement::CreateServerRole(name, Some(name_value(owner)?)))
            }
            [t, ..] => Err(syntax_error(&t.display())),
        };
    }
    let change = match rest {
        [verb, m, member] if verb.is("ADD") && m.is("MEMBER") => {
            RoleChange::AddMember(name_value(member)?)
        }
        [verb, m, member] if verb.is("DROP") && m.is("MEMBER") => {
            RoleChange::DropMember(name_value(member)?)
        }
        [w, n, eq, new] if w.is("WITH") && n.is("NAME") && eq.is_punct("=") => {
            RoleChange::Rename(name_value(new)?)
        }
        [t, ..] => return Err(syntax_error(&t.display())),
        [] => return Err(near_end(st)),
    };
    Ok(Statement::AlterServerRole(name, change))
}
