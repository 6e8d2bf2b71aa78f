//! GRANT / DENY / REVOKE of server permissions read from tokens ("GRANT Server Permissions",
//! "DENY Server Permissions", "REVOKE Server Permissions" and the pages for logins, server
//! roles, endpoints and availability groups). A statement on database securables is not one
//! of these: the caller answers it as before.

use crate::instance::{Action, PermissionChange, Securable, is_server_permission};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, syntax_error};

fn words(t: &[Token]) -> String {
    t.iter()
        .map(|x| x.display().to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn names(t: &[Token]) -> Result<Vec<String>, ServerMessage> {
    t.split(|x| x.is_punct(","))
        .map(|p| match p {
            [Token::Word(w) | Token::Quoted(w)] => Ok(w.clone()),
            [x, ..] => Err(syntax_error(&x.display())),
            [] => Err(syntax_error(",")),
        })
        .collect()
}

/// A server-level GRANT, DENY or REVOKE, or None for another kind of GRANT.
pub(super) fn parse(st: &[Token]) -> Option<Result<PermissionChange, ServerMessage>> {
    let action = if st[0].is("GRANT") {
        Action::Grant
    } else if st[0].is("DENY") {
        Action::Deny
    } else if st[0].is("REVOKE") {
        Action::Revoke
    } else {
        return None;
    };
    let mut i = 1;
    let grant_option_for = action == Action::Revoke
        && st.get(1).is_some_and(|t| t.is("GRANT"))
        && st.get(2).is_some_and(|t| t.is("OPTION"))
        && st.get(3).is_some_and(|t| t.is("FOR"));
    if grant_option_for {
        i = 4;
    }
    let end = st[i..]
        .iter()
        .position(|t| t.is("ON") || t.is("TO") || (action == Action::Revoke && t.is("FROM")))?
        + i;
    let permissions: Vec<String> = st[i..end].split(|t| t.is_punct(",")).map(words).collect();
    let mut j = end;
    let mut on = Securable::Server;
    if st[j].is("ON") {
        let colons = st[j..].iter().position(|t| t.is_punct("::"))? + j;
        let class = words(&st[j + 1..colons]);
        let name = match st.get(colons + 1) {
            Some(Token::Word(w) | Token::Quoted(w)) => w.clone(),
            _ => return Some(Err(syntax_error("::"))),
        };
        on = match class.as_str() {
            "LOGIN" => Securable::Login(name),
            "SERVER ROLE" => Securable::ServerRole(name),
            "ENDPOINT" => Securable::Endpoint(name),
            "AVAILABILITY GROUP" => Securable::AvailabilityGroup(name),
            // OBJECT::, SCHEMA::, DATABASE:: … are database securables.
            _ => return None,
        };
        j = colons + 2;
    } else if !permissions.iter().all(|p| is_server_permission(p)) {
        return None;
    }
    Some(parse_tail(st, j, action, permissions, on, grant_option_for))
}

fn parse_tail(
    st: &[Token],
    j: usize,
    action: Action,
    permissions: Vec<String>,
    on: Securable,
    grant_option_for: bool,
) -> Result<PermissionChange, ServerMessage> {
    match st.get(j) {
        Some(t) if t.is("TO") || (action == Action::Revoke && t.is("FROM")) => {}
        Some(t) => return Err(syntax_error(&t.display())),
        None => return Err(syntax_error(&st[j - 1].display())),
    }
    let rest = &st[j + 1..];
    let stop = rest
        .iter()
        .position(|t| t.is("WITH") || t.is("AS") || t.is("CASCADE"))
        .unwrap_or(rest.len());
    let grantees = names(&rest[..stop])?;
    let mut c = PermissionChange {
        action,
        permissions,
        on,
        grantees,
        with_grant_option: false,
        grant_option_for,
        cascade: false,
        grantor: None,
    };
    let mut k = stop;
    while k < rest.len() {
        let t = &rest[k];
        if t.is("WITH")
            && action == Action::Grant
            && rest.get(k + 1).is_some_and(|x| x.is("GRANT"))
            && rest.get(k + 2).is_some_and(|x| x.is("OPTION"))
        {
            c.with_grant_option = true;
            k += 3;
        } else if t.is("CASCADE") && action != Action::Grant {
            c.cascade = true;
            k += 1;
        } else if t.is("AS") {
            match rest.get(k + 1) {
                Some(Token::Word(w) | Token::Quoted(w)) => c.grantor = Some(w.clone()),
                _ => return Err(syntax_error("AS")),
            }
            k += 2;
        } else {
            return Err(syntax_error(&t.display()));
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    #[test]
    fn reads_server_grants_and_leaves_database_ones() {
        let t =
            tokenize("GRANT VIEW SERVER STATE, ALTER ANY LOGIN TO [app] WITH GRANT OPTION AS [sa]")
                .unwrap();
        let c = parse(&t).unwrap().unwrap();
        assert_eq!(c.permissions, vec!["VIEW SERVER STATE", "ALTER ANY LOGIN"]);
        assert!(c.with_grant_option);
        assert_eq!(c.grantor.as_deref(), Some("sa"));
        let t =
            tokenize("REVOKE GRANT OPTION FOR IMPERSONATE ON LOGIN::[x] FROM y CASCADE").unwrap();
        let c = parse(&t).unwrap().unwrap();
        assert!(c.grant_option_for && c.cascade);
        assert_eq!(c.on, Securable::Login("x".into()));
        let t = tokenize("GRANT SELECT ON OBJECT::dbo.t TO u").unwrap();
        assert!(parse(&t).is_none());
        let t = tokenize("GRANT SELECT TO u").unwrap();
        assert!(parse(&t).is_none());
    }
}
