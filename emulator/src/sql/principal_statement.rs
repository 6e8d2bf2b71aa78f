//! A statement on principals, read (logins.rs, users.rs, permissions.rs) and ready to apply
//! (principals.rs).

use crate::instance::{
    LoginKind, LoginOptions, PermissionChange, RoleChange, UserChange, UserSource,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateLogin(String, LoginKind, LoginOptions),
    AlterLogin(String, LoginOptions),
    SetLoginDisabled(String, bool),
    /// ALTER LOGIN l ADD (true) | DROP CREDENTIAL c.
    LoginCredential(String, String, bool),
    DropLogin(String),
    CreateServerRole(String, Option<String>),
    AlterServerRole(String, RoleChange),
    DropServerRole(String),
    Permissions(PermissionChange),
    CreateUser(String, UserSource, Option<String>),
    AlterUser(String, UserChange),
    /// DROP USER [IF EXISTS] u.
    DropUser(String, bool),
}
