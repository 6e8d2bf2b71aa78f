//! Database role membership and database permissions as catalog views each database's file
//! holds, so a backup carries them and a restore brings them back: `sys.database_role_members`
//! and `sys.database_permissions`, with the columns "sys.database_role_members
//! (Transact-SQL)" and "sys.database_permissions (Transact-SQL)" (learn.microsoft.com) list.
//!
//! Every database starts with `dbo` a member of `db_owner` ("Database-level roles": "the dbo
//! user ... is a member of db_owner"). ALTER ROLE … ADD MEMBER, GRANT, DENY and REVOKE on
//! database securables are not modelled yet: the views answer reads, with nothing but that
//! membership. The documented default permission rows (such as the grants to public on
//! system objects) are not listed; the stricter choice, since a comparison of two emulated
//! databases must not pass on rows neither side was asked to hold.

use super::db_users::FIXED_DATABASE_ROLES;
use super::query::q;
use super::{Instance, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// `db_owner`'s principal id (the first fixed role, db_users.rs) and dbo's.
const DB_OWNER: i64 = FIXED_DATABASE_ROLES[0].1;
const DBO: i64 = 1;

impl Instance {
    /// The two views in `db`'s file, and dbo's membership of db_owner in a new one.
    pub(super) fn ensure_database_roles(&self, db: &str) -> Result<(), ServerMessage> {
        let qdb = q(db);
        self.conn
            .execute_batch(&format!(
                r#"CREATE TABLE IF NOT EXISTS {qdb}."sys.database_role_members" (
                    role_principal_id int, member_principal_id int
                );
                CREATE TABLE IF NOT EXISTS {qdb}."sys.database_permissions" (
                    class tinyint, class_desc nvarchar(60), major_id int, minor_id int,
                    grantee_principal_id int, grantor_principal_id int, type char(4),
                    permission_name nvarchar(128), state char(1), state_desc nvarchar(60)
                );
                INSERT INTO {qdb}."sys.database_role_members"
                    SELECT {DB_OWNER}, {DBO}
                    WHERE NOT EXISTS (SELECT 1 FROM {qdb}."sys.database_role_members");"#
            ))
            .map_err(sqlite_error)
    }
}
