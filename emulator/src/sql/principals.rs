//! Statements on principals — logins, server roles, server permissions, database users — read
//! and applied. Reading is in logins.rs, users.rs and permissions.rs; applying in the
//! instance (instance/principals.rs, server_roles.rs, permissions.rs, db_users.rs).

pub use super::principal_statement::Statement;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::Token;

/// A principal statement, or None when `st` is none.
pub fn parse(st: &[Token]) -> Option<Result<Statement, ServerMessage>> {
    let verb = &st[0];
    let ddl = verb.is("CREATE") || verb.is("ALTER") || verb.is("DROP");
    let object = st.get(1)?;
    if ddl && object.is("LOGIN") {
        return Some(super::logins::parse(st));
    }
    if ddl && object.is("USER") {
        return Some(super::users::parse_user(st));
    }
    if ddl && object.is("SERVER") && st.get(2).is_some_and(|t| t.is("ROLE")) {
        return Some(super::users::parse_server_role(st));
    }
    super::permissions::parse(st).map(|r| r.map(Statement::Permissions))
}

/// The catalog tables a statement changes, so a transaction can set them aside: (database,
/// table), the database "main" for the server's catalog.
pub fn tables(s: &Statement, database: &str) -> Vec<(String, &'static str)> {
    let server = |t: &[&'static str]| t.iter().map(|x| ("main".to_owned(), *x)).collect();
    match s {
        Statement::CreateUser(..) | Statement::AlterUser(..) | Statement::DropUser(..) => {
            vec![(database.to_owned(), "sys.database_principals")]
        }
        Statement::Permissions(_) => server(&["sys.server_permissions"]),
        _ => server(&[
            "sys.server_principals",
            "sys.sql_logins",
            "ferry.login_flags",
            "sys.server_role_members",
            "sys.server_permissions",
            "sys.server_principal_credentials",
        ]),
    }
}

/// Carries out a principal statement for login `user` in database `database`.
pub fn apply(
    s: Statement,
    inst: &mut Instance,
    database: &str,
    user: &str,
    mi: bool,
) -> Result<(), ServerMessage> {
    match s {
        Statement::CreateLogin(name, kind, o) => inst.create_login(&name, kind, o, mi),
        Statement::AlterLogin(name, o) => inst.alter_login(&name, o),
        Statement::SetLoginDisabled(name, d) => inst.set_login_disabled(&name, d),
        Statement::LoginCredential(name, c, add) => inst.login_credential(&name, &c, add),
        Statement::DropLogin(name) => inst.drop_login(&name),
        Statement::CreateServerRole(name, owner) => {
            inst.create_server_role(&name, owner.as_deref(), user)
        }
        Statement::AlterServerRole(name, change) => inst.alter_server_role(&name, change),
        Statement::DropServerRole(name) => inst.drop_server_role(&name),
        Statement::Permissions(c) => inst.change_permissions(&c, user, database, mi),
        Statement::CreateUser(name, source, schema) => {
            inst.create_user(database, &name, source, schema, mi)
        }
        Statement::AlterUser(name, change) => inst.alter_user(database, &name, change),
        Statement::DropUser(name, if_exists) => match inst.drop_user(database, &name) {
            Err(e) if if_exists && e.number == 15151 => Ok(()),
            other => other,
        },
    }
}
