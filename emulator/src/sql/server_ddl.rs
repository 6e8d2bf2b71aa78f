//! Server-level DDL: triggers ON ALL SERVER ("CREATE TRIGGER (Transact-SQL)", "ENABLE
//! TRIGGER", "DISABLE TRIGGER", "DROP TRIGGER") and the server audit statements (read in
//! [`super::audit_ddl`]). Parsed when the batch is read, applied when it runs.
//!
//! A trigger's body is not read: the emulator stores the definition and never runs it when its
//! events happen (see `instance::server_triggers`). A CREATE TRIGGER runs to the end of its
//! batch (the batch splitter ends it there, as a module's body) and must start the batch.

use super::audit_ddl::{self, AuditDdl};
use super::ddl_events;
use super::event_sessions::{self, XeDdl};
use super::session::SessionView;
use crate::instance::{Instance, ServerTrigger, TriggerEvent};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, near, syntax_error};

/// How a trigger runs: EXECUTE AS CALLER (the default), SELF, or a login.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecuteAs {
    Caller,
    SelfLogin,
    Login(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerDdl {
    CreateTrigger {
        name: String,
        events: Vec<TriggerEvent>,
        execute_as: ExecuteAs,
        encrypted: bool,
    },
    /// ENABLE (false) / DISABLE (true) TRIGGER; None names ALL.
    SetTriggersDisabled(Option<Vec<String>>, bool),
    DropTriggers {
        names: Vec<String>,
        if_exists: bool,
    },
    Audit(AuditDdl),
    EventSession(XeDdl),
    ResourceGovernor(super::resource_governor::RgDdl),
}

impl ServerDdl {
    /// A statement that must start its batch (CREATE TRIGGER).
    pub fn starts_batch(&self) -> bool {
        matches!(self, ServerDdl::CreateTrigger { .. })
    }
}

/// SQL Server error 111 (severity 15).
pub fn not_first_in_batch() -> ServerMessage {
    ServerMessage::error(
        111,
        15,
        "'CREATE TRIGGER' must be the first statement in a query batch.",
    )
}

fn name(t: Option<&Token>) -> Result<String, ServerMessage> {
    match t {
        Some(Token::Word(w) | Token::Quoted(w)) => Ok(w.clone()),
        Some(x) => Err(syntax_error(&x.display())),
        None => Err(syntax_error("")),
    }
}

/// Whether `t` ends with ON ALL SERVER.
fn on_all_server(t: &[Token]) -> bool {
    t.len() >= 3
        && t[t.len() - 3].is("ON")
        && t[t.len() - 2].is("ALL")
        && t[t.len() - 1].is("SERVER")
}

/// A statement this module reads, or None.
pub fn parse(st: &[Token]) -> Option<Result<ServerDdl, ServerMessage>> {
    let first = st.first()?;
    if let Some(audit) = audit_ddl::parse(st) {
        return Some(audit.map(ServerDdl::Audit));
    }
    if let Some(x) = event_sessions::parse(st) {
        return Some(x.map(ServerDdl::EventSession));
    }
    if let Some(rg) = super::resource_governor::parse(st) {
        return Some(rg.map(ServerDdl::ResourceGovernor));
    }
    let trigger = st.get(1).is_some_and(|t| t.is("TRIGGER"));
    if first.is("CREATE") && trigger {
        let on = st.iter().position(|t| t.is("ON"))?;
        if !(st.get(on + 1)?.is("ALL") && st.get(on + 2)?.is("SERVER")) {
            return None;
        }
        return Some(create_trigger(st, on));
    }
    if (first.is("ENABLE") || first.is("DISABLE")) && trigger && on_all_server(st) {
        let list = &st[2..st.len() - 3];
        let names = if list.len() == 1 && list[0].is("ALL") {
            None
        } else {
            Some(match names(list) {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            })
        };
        return Some(Ok(ServerDdl::SetTriggersDisabled(
            names,
            first.is("DISABLE"),
        )));
    }
    if first.is("DROP") && trigger && on_all_server(st) {
        let mut list = &st[2..st.len() - 3];
        let if_exists = list.len() > 2 && list[0].is("IF") && list[1].is("EXISTS");
        if if_exists {
            list = &list[2..];
        }
        return Some(names(list).map(|names| ServerDdl::DropTriggers { names, if_exists }));
    }
    None
}

/// `a, [b], c`: trigger names, which take no schema (error 1094).
fn names(list: &[Token]) -> Result<Vec<String>, ServerMessage> {
    let mut out = Vec::new();
    for (i, item) in list.split(|t| t.is_punct(",")).enumerate() {
        match item {
            [one] => out.push(name(Some(one))?),
            [_, dot, ..] if dot.is_punct(".") => return Err(schema_prefix()),
            [] => return Err(near(&list[i.min(list.len().saturating_sub(1))..])),
            [_, x, ..] => return Err(syntax_error(&x.display())),
        }
    }
    if out.is_empty() {
        return Err(syntax_error("TRIGGER"));
    }
    Ok(out)
}

/// SQL Server error 1094 (severity 15).
fn schema_prefix() -> ServerMessage {
    ServerMessage::error(
        1094,
        15,
        "Cannot specify a schema name as a prefix to the trigger name for database and server level triggers.",
    )
}

fn create_trigger(st: &[Token], on: usize) -> Result<ServerDdl, ServerMessage> {
    if on != 3 {
        return Err(if st.get(3).is_some_and(|t| t.is_punct(".")) {
            schema_prefix()
        } else {
            syntax_error(&st[3.min(st.len() - 1)].display())
        });
    }
    let trigger = name(st.get(2))?;
    let mut i = on + 3;
    let (mut execute_as, mut encrypted) = (ExecuteAs::Caller, false);
    if st.get(i).is_some_and(|t| t.is("WITH")) {
        i += 1;
        loop {
            match st.get(i) {
                Some(t) if t.is("ENCRYPTION") => {
                    encrypted = true;
                    i += 1;
                }
                Some(t) if t.is("EXECUTE") || t.is("EXEC") => {
                    if !st.get(i + 1).is_some_and(|x| x.is("AS")) {
                        return Err(near(&st[i + 1..]));
                    }
                    execute_as = match st.get(i + 2) {
                        Some(x) if x.is("CALLER") => ExecuteAs::Caller,
                        Some(x) if x.is("SELF") => ExecuteAs::SelfLogin,
                        // SQL Server error 1083 (severity 15).
                        Some(x) if x.is("OWNER") => {
                            return Err(ServerMessage::error(
                                1083,
                                15,
                                "OWNER is not a valid option for EXECUTE AS in the context of server and database level triggers.",
                            ));
                        }
                        Some(Token::Str { text, .. }) => ExecuteAs::Login(text.clone()),
                        _ => return Err(near(&st[(i + 2).min(st.len())..])),
                    };
                    i += 3;
                }
                _ => return Err(near(&st[i.min(st.len())..])),
            }
            if st.get(i).is_some_and(|t| t.is_punct(",")) {
                i += 1;
            } else {
                break;
            }
        }
    }
    if !st.get(i).is_some_and(|t| t.is("FOR") || t.is("AFTER")) {
        return Err(near(&st[i.min(st.len())..]));
    }
    i += 1;
    let as_at = st[i..]
        .iter()
        .position(|t| t.is("AS"))
        .map(|p| p + i)
        .ok_or_else(|| near(&st[st.len()..]))?;
    let events = trigger_events(&st[i..as_at])?;
    if as_at + 1 >= st.len() {
        // SQL Server error 1006 (severity 15).
        return Err(ServerMessage::error(
            1006,
            15,
            "CREATE TRIGGER contains no statements.",
        ));
    }
    Ok(ServerDdl::CreateTrigger {
        name: trigger,
        events,
        execute_as,
        encrypted,
    })
}

/// The FOR list: each name an event or event group of "DDL Event Groups" (a group stands for
/// every event under it, as `sys.server_trigger_events` lists them), or LOGON.
fn trigger_events(list: &[Token]) -> Result<Vec<TriggerEvent>, ServerMessage> {
    let mut out: Vec<TriggerEvent> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for item in list.split(|t| t.is_punct(",")) {
        let [Token::Word(w)] = item else {
            return Err(near(item));
        };
        if named.iter().any(|n| n.eq_ignore_ascii_case(w)) {
            // SQL Server error 1095 (severity 15).
            return Err(ServerMessage::error(
                1095,
                15,
                format!("{w} has already been specified as an event type."),
            ));
        }
        named.push(w.clone());
        if w.eq_ignore_ascii_case("LOGON") {
            out.push(TriggerEvent {
                event_type: None,
                name: "LOGON",
                group: None,
            });
            continue;
        }
        // SQL Server error 1084 (severity 15).
        let (ty, canonical) = ddl_events::find(w).ok_or_else(|| {
            ServerMessage::error(1084, 15, format!("'{w}' is an invalid event type."))
        })?;
        let leaves = ddl_events::leaves(ty);
        let group = (leaves.len() != 1 || leaves[0].0 != ty).then_some((ty, canonical));
        for (t, n) in leaves {
            if !out.iter().any(|e| e.event_type == Some(t)) {
                out.push(TriggerEvent {
                    event_type: Some(t),
                    name: n,
                    group,
                });
            }
        }
    }
    if out.is_empty() {
        return Err(syntax_error("FOR"));
    }
    Ok(out)
}

/// Carries out a server DDL statement. `batch` is the batch's text: a CREATE TRIGGER's
/// definition. Returns the informational messages it produced.
pub fn apply(
    ddl: &ServerDdl,
    batch: &str,
    s: &SessionView<'_>,
    inst: &mut Instance,
) -> Result<Vec<ServerMessage>, ServerMessage> {
    match ddl {
        ServerDdl::CreateTrigger {
            name,
            events,
            execute_as,
            encrypted,
        } => {
            let execute_as = match execute_as {
                ExecuteAs::Caller => None,
                ExecuteAs::SelfLogin => inst.login_principal_id(s.user),
                ExecuteAs::Login(login) => Some(inst.login_principal_id(login).ok_or_else(|| {
                    // SQL Server error 15406 (severity 16).
                    ServerMessage::error(
                        15406,
                        16,
                        format!("Cannot execute as the server principal because the principal \"{login}\" does not exist, this type of principal cannot be impersonated, or you do not have permission."),
                    )
                })?),
            };
            inst.create_server_trigger(&ServerTrigger {
                name: name.clone(),
                events: events.clone(),
                // An encrypted module's definition is NULL in the catalog views.
                definition: (!encrypted).then(|| batch.to_owned()),
                execute_as,
            })?;
        }
        ServerDdl::SetTriggersDisabled(names, disabled) => {
            let names = match names {
                Some(n) => n.clone(),
                None => inst.server_trigger_names()?,
            };
            for n in names {
                inst.set_server_trigger_disabled(&n, *disabled)?;
            }
        }
        ServerDdl::DropTriggers { names, if_exists } => {
            for n in names {
                inst.drop_server_trigger(n, *if_exists)?;
            }
        }
        ServerDdl::Audit(a) => return audit_ddl::apply(a, s, inst),
        ServerDdl::EventSession(x) => return event_sessions::apply(x, s, inst),
        ServerDdl::ResourceGovernor(d) => return super::resource_governor::apply(d, s, inst),
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::tokenize;

    fn p(sql: &str) -> Result<ServerDdl, ServerMessage> {
        parse(&tokenize(sql).unwrap()).unwrap()
    }

    #[test]
    fn reads_server_triggers() {
        let ServerDdl::CreateTrigger { name, events, execute_as, .. } = p(
            "CREATE TRIGGER [audit_logins] ON ALL SERVER WITH EXECUTE AS 'sa' FOR DDL_LOGIN_EVENTS, CREATE_DATABASE AS PRINT 1",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(name, "audit_logins");
        assert_eq!(execute_as, ExecuteAs::Login("sa".into()));
        assert_eq!(events.len(), 4);
        assert_eq!(events[0].group, Some((10006, "DDL_LOGIN_EVENTS")));
        assert_eq!(events[3].group, None);
        assert_eq!(
            p("CREATE TRIGGER t ON ALL SERVER FOR CREATE_LOGINS AS PRINT 1")
                .unwrap_err()
                .number,
            1084
        );
        assert_eq!(
            p("CREATE TRIGGER t ON ALL SERVER FOR LOGON AS")
                .unwrap_err()
                .number,
            1006
        );
        assert_eq!(
            p("CREATE TRIGGER dbo.t ON ALL SERVER FOR LOGON AS PRINT 1")
                .unwrap_err()
                .number,
            1094
        );
        assert_eq!(
            p("DISABLE TRIGGER ALL ON ALL SERVER").unwrap(),
            ServerDdl::SetTriggersDisabled(None, true)
        );
        assert!(
            parse(&tokenize("CREATE TRIGGER t ON dbo.T AFTER INSERT AS PRINT 1").unwrap())
                .is_none()
        );
    }
}
