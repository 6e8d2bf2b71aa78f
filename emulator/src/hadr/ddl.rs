//! The Always On statements read into what they ask for: CREATE/ALTER/DROP ENDPOINT … FOR
//! DATABASE_MIRRORING ("CREATE ENDPOINT (Transact-SQL)", "ALTER ENDPOINT (Transact-SQL)") and
//! CREATE/ALTER/DROP AVAILABILITY GROUP ("CREATE AVAILABILITY GROUP (Transact-SQL)", "ALTER
//! AVAILABILITY GROUP (Transact-SQL)"), both the basic and the DISTRIBUTED forms. Reading only
//! checks the grammar; what the statement may do is checked when it runs (hadr::ddl_endpoint,
//! hadr::ddl_group).

use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, closing_paren, name_at, near, syntax_error};

/// `key = value` pairs of a parenthesised option list; a value is its tokens' text joined by
/// spaces (`AES RC4`, `WINDOWS NEGOTIATE CERTIFICATE c`), a nested `( … )` kept as written.
pub type Options = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    pub name: String,
    pub state: Option<String>,
    /// AS TCP ( … ): LISTENER_PORT, LISTENER_IP.
    pub tcp: Option<Options>,
    /// FOR DATABASE_MIRRORING ( … ): ROLE, AUTHENTICATION, ENCRYPTION.
    pub mirroring: Option<Options>,
}

/// A member of a group: a replica (`N'server' WITH (…)`) or, in a distributed group, an
/// availability group (`N'ag' WITH (…)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub options: Options,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// WITH ( … ) before FOR: CLUSTER_TYPE, DB_FAILOVER, DISTRIBUTED (value empty), …
    pub options: Options,
    pub databases: Vec<String>,
    pub members: Vec<Member>,
    /// `AVAILABILITY GROUP ON` (a distributed group's members) rather than `REPLICA ON`.
    pub groups_on: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlterAction {
    /// MODIFY AVAILABILITY GROUP ON … (distributed) / MODIFY REPLICA ON … (basic).
    Modify {
        groups_on: bool,
        members: Vec<Member>,
    },
    Failover,
    ForceFailover,
    /// SET ( ROLE = SECONDARY ).
    SetRoleSecondary,
    /// GRANT (true) / DENY (false) CREATE ANY DATABASE.
    CreateAnyDatabase(bool),
    AddDatabase(Vec<String>),
    RemoveDatabase(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum HadrStatement {
    CreateEndpoint(EndpointSpec),
    AlterEndpoint(EndpointSpec),
    DropEndpoint(String),
    CreateGroup(GroupSpec),
    AlterGroup(String, AlterAction),
    DropGroup(String),
}

type R<T> = Result<T, ServerMessage>;

/// A statement this module reads, or None. A CREATE/ALTER ENDPOINT for another payload
/// (TSQL, SERVICE_BROKER) is not read here.
pub fn parse(st: &[Token]) -> Option<R<HadrStatement>> {
    let first = st.first()?;
    let second = st.get(1)?;
    let verb = ["CREATE", "ALTER", "DROP"]
        .into_iter()
        .find(|v| first.is(v))?;
    if second.is("ENDPOINT") {
        if verb == "DROP" {
            return Some(drop_name(st, 2).map(HadrStatement::DropEndpoint));
        }
        let for_at = st.iter().position(|t| t.is("FOR"));
        if let Some(f) = for_at
            && !st
                .get(f + 1)
                .is_some_and(|t| t.is("DATABASE_MIRRORING") || t.is("DATA_MIRRORING"))
        {
            return None;
        }
        if verb == "CREATE" && for_at.is_none() {
            return None;
        }
        let spec = endpoint(st);
        return Some(if verb == "CREATE" {
            spec.map(HadrStatement::CreateEndpoint)
        } else {
            spec.map(HadrStatement::AlterEndpoint)
        });
    }
    if !(second.is("AVAILABILITY") && st.get(2).is_some_and(|t| t.is("GROUP"))) {
        return None;
    }
    Some(match verb {
        "DROP" => drop_name(st, 3).map(HadrStatement::DropGroup),
        "CREATE" => create_group(st).map(HadrStatement::CreateGroup),
        _ => alter_group(st),
    })
}

fn drop_name(st: &[Token], at: usize) -> R<String> {
    let name = name_at(st, at)?;
    match st.get(at + 1) {
        None => Ok(name),
        Some(x) => Err(syntax_error(&x.display())),
    }
}

/// A value's text: a string literal's content, a name, a number, or words joined by spaces.
fn text(t: &[Token]) -> String {
    t.iter()
        .map(|x| match x {
            Token::Str { text, .. } => text.clone(),
            Token::Word(w) | Token::Quoted(w) | Token::Number(w) => w.clone(),
            other => other.display(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `( key = value [, …] )` starting at `t[open]`; returns the options and the index after `)`.
pub fn options(t: &[Token], open: usize) -> R<(Options, usize)> {
    if !t.get(open).is_some_and(|x| x.is_punct("(")) {
        return Err(near(&t[open.min(t.len())..]));
    }
    let close = closing_paren(t, open).ok_or_else(|| syntax_error(&t[t.len() - 1].display()))?;
    let inner = &t[open + 1..close];
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, x) in inner.iter().enumerate() {
        if x.is_punct("(") {
            depth += 1;
        } else if x.is_punct(")") {
            depth -= 1;
        } else if depth == 0 && x.is_punct(",") {
            items.push(&inner[start..i]);
            start = i + 1;
        }
    }
    items.push(&inner[start..]);
    for item in items {
        match item {
            [] => return Err(syntax_error(",")),
            [Token::Word(k)] => out.push((k.to_ascii_uppercase(), String::new())),
            [Token::Word(k), eq, rest @ ..] if eq.is_punct("=") && !rest.is_empty() => {
                out.push((k.to_ascii_uppercase(), text(rest)))
            }
            [_, x, ..] => return Err(syntax_error(&x.display())),
            [x] => return Err(syntax_error(&x.display())),
        }
    }
    Ok((out, close + 1))
}

fn endpoint(st: &[Token]) -> R<EndpointSpec> {
    let name = name_at(st, 2)?;
    let mut spec = EndpointSpec {
        name,
        state: None,
        tcp: None,
        mirroring: None,
    };
    let mut i = 3;
    while i < st.len() {
        let t = &st[i];
        if t.is("STATE") && st.get(i + 1).is_some_and(|x| x.is_punct("=")) {
            let v = st.get(i + 2).ok_or_else(|| syntax_error("="))?;
            let v = v.display().to_ascii_uppercase();
            if !["STARTED", "STOPPED", "DISABLED"].contains(&v.as_str()) {
                return Err(syntax_error(&v));
            }
            spec.state = Some(v);
            i += 3;
        } else if t.is("AUTHORIZATION") {
            name_at(st, i + 1)?;
            i += 2;
        } else if t.is("AS") && st.get(i + 1).is_some_and(|x| x.is("TCP")) {
            let (o, next) = options(st, i + 2)?;
            spec.tcp = Some(o);
            i = next;
        } else if t.is("FOR") {
            let (o, next) = options(st, i + 2)?;
            spec.mirroring = Some(o);
            i = next;
        } else if t.is_punct(",") {
            i += 1;
        } else {
            return Err(syntax_error(&t.display()));
        }
    }
    Ok(spec)
}

/// `N'name' WITH ( … ) [, …]` from `t[i]` on; returns the members and the index after them.
fn members(t: &[Token], mut i: usize) -> R<(Vec<Member>, usize)> {
    let mut out = Vec::new();
    loop {
        let name = match t.get(i) {
            Some(Token::Str { text, .. }) => text.clone(),
            Some(Token::Word(w) | Token::Quoted(w)) => w.clone(),
            Some(x) => return Err(syntax_error(&x.display())),
            None => return Err(near(&t[t.len().saturating_sub(1)..])),
        };
        if !t.get(i + 1).is_some_and(|x| x.is("WITH")) {
            return Err(near(&t[(i + 1).min(t.len())..]));
        }
        let (options, next) = options(t, i + 2)?;
        out.push(Member { name, options });
        i = next;
        if t.get(i).is_some_and(|x| x.is_punct(",")) {
            i += 1;
        } else {
            return Ok((out, i));
        }
    }
}

fn create_group(st: &[Token]) -> R<GroupSpec> {
    let name = name_at(st, 3)?;
    let mut i = 4;
    let mut opts = Vec::new();
    if st.get(i).is_some_and(|t| t.is("WITH")) {
        let (o, next) = options(st, i + 1)?;
        opts = o;
        i = next;
    }
    let mut databases = Vec::new();
    let groups_on = st.get(i).is_some_and(|t| t.is("AVAILABILITY"));
    if groups_on {
        if !(st.get(i + 1).is_some_and(|t| t.is("GROUP"))
            && st.get(i + 2).is_some_and(|t| t.is("ON")))
        {
            return Err(near(&st[i + 1..]));
        }
        i += 3;
    } else {
        if !st.get(i).is_some_and(|t| t.is("FOR")) {
            return Err(near(&st[i.min(st.len())..]));
        }
        i += 1;
        if st.get(i).is_some_and(|t| t.is("DATABASE")) {
            i += 1;
            loop {
                databases.push(name_at(st, i)?);
                i += 1;
                if st.get(i).is_some_and(|t| t.is_punct(",")) {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        if !(st.get(i).is_some_and(|t| t.is("REPLICA"))
            && st.get(i + 1).is_some_and(|t| t.is("ON")))
        {
            return Err(near(&st[i.min(st.len())..]));
        }
        i += 2;
    }
    let (members, end) = members(st, i)?;
    if let Some(x) = st.get(end) {
        return Err(syntax_error(&x.display()));
    }
    Ok(GroupSpec {
        name,
        options: opts,
        databases,
        members,
        groups_on,
    })
}

fn alter_group(st: &[Token]) -> R<HadrStatement> {
    let name = name_at(st, 3)?;
    let rest = &st[4..];
    let only = |action: AlterAction, len: usize| -> R<HadrStatement> {
        match rest.get(len) {
            None => Ok(HadrStatement::AlterGroup(name.clone(), action)),
            Some(x) => Err(syntax_error(&x.display())),
        }
    };
    let Some(first) = rest.first() else {
        return Err(near(&st[3..]));
    };
    if first.is("FAILOVER") {
        return only(AlterAction::Failover, 1);
    }
    if first.is("FORCE_FAILOVER_ALLOW_DATA_LOSS") {
        return only(AlterAction::ForceFailover, 1);
    }
    if (first.is("GRANT") || first.is("DENY"))
        && rest.get(1).is_some_and(|t| t.is("CREATE"))
        && rest.get(2).is_some_and(|t| t.is("ANY"))
        && rest.get(3).is_some_and(|t| t.is("DATABASE"))
    {
        return only(AlterAction::CreateAnyDatabase(first.is("GRANT")), 4);
    }
    if first.is("SET") {
        let (o, next) = options(rest, 1)?;
        if let Some(x) = rest.get(next) {
            return Err(syntax_error(&x.display()));
        }
        return match o.as_slice() {
            [(k, v)] if k == "ROLE" && v.eq_ignore_ascii_case("SECONDARY") => Ok(
                HadrStatement::AlterGroup(name, AlterAction::SetRoleSecondary),
            ),
            _ => Err(syntax_error("SET")),
        };
    }
    if (first.is("ADD") || first.is("REMOVE")) && rest.get(1).is_some_and(|t| t.is("DATABASE")) {
        let mut dbs = Vec::new();
        let mut i = 2;
        loop {
            dbs.push(name_at(rest, i)?);
            i += 1;
            match rest.get(i) {
                Some(c) if c.is_punct(",") => i += 1,
                Some(x) => return Err(syntax_error(&x.display())),
                None => break,
            }
        }
        let action = if first.is("ADD") {
            AlterAction::AddDatabase(dbs)
        } else {
            AlterAction::RemoveDatabase(dbs)
        };
        return Ok(HadrStatement::AlterGroup(name, action));
    }
    if first.is("MODIFY") {
        let (groups_on, at) = if rest.get(1).is_some_and(|t| t.is("AVAILABILITY"))
            && rest.get(2).is_some_and(|t| t.is("GROUP"))
            && rest.get(3).is_some_and(|t| t.is("ON"))
        {
            (true, 4)
        } else if rest.get(1).is_some_and(|t| t.is("REPLICA"))
            && rest.get(2).is_some_and(|t| t.is("ON"))
        {
            (false, 3)
        } else {
            return Err(near(&rest[1..]));
        };
        let (members, end) = members(rest, at)?;
        if let Some(x) = rest.get(end) {
            return Err(syntax_error(&x.display()));
        }
        return Ok(HadrStatement::AlterGroup(
            name,
            AlterAction::Modify { groups_on, members },
        ));
    }
    Err(syntax_error(&first.display()))
}
