//! CLR assemblies, per database: CREATE ASSEMBLY … FROM 0x… WITH PERMISSION_SET, DROP ASSEMBLY,
//! and `sys.assemblies` ("sys.assemblies (Transact-SQL)", "CREATE ASSEMBLY (Transact-SQL)",
//! "DROP ASSEMBLY (Transact-SQL)"). Kept in the database's own file, so a backup carries them
//! (an assessment of a restored copy sees what the source had).

use super::Instance;
use super::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types;

/// `PERMISSION_SET` ("sys.assemblies": permission_set 1 SAFE_ACCESS, 2 EXTERNAL_ACCESS,
/// 3 UNSAFE_ACCESS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionSet {
    Safe,
    ExternalAccess,
    Unsafe,
}

impl PermissionSet {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_uppercase().as_str() {
            "SAFE" => PermissionSet::Safe,
            "EXTERNAL_ACCESS" => PermissionSet::ExternalAccess,
            "UNSAFE" => PermissionSet::Unsafe,
            _ => return None,
        })
    }

    fn catalog(self) -> (i64, &'static str) {
        match self {
            PermissionSet::Safe => (1, "SAFE_ACCESS"),
            PermissionSet::ExternalAccess => (2, "EXTERNAL_ACCESS"),
            PermissionSet::Unsafe => (3, "UNSAFE_ACCESS"),
        }
    }
}

/// The first id a user assembly gets. The documentation does not give it; SQL Server numbers
/// user assemblies from 65536, above the system assembly (id 1), and the emulator does the same.
const FIRST_USER_ASSEMBLY: i64 = 65536;

/// `sys.assemblies`, columns as documented (all of them). Every database holds the system
/// assembly Microsoft.SqlServer.Types (is_user_defined 0, UNSAFE_ACCESS), whose version follows
/// the release's major version; the emulator writes it when the table is made.
pub(super) fn schema(db: &str, compatibility_level: u8) -> String {
    let major = u32::from(compatibility_level) / 10;
    format!(
        r#"CREATE TABLE IF NOT EXISTS {d}."sys.assemblies" (name nvarchar(128), principal_id int, assembly_id int, clr_name nvarchar(4000), permission_set tinyint, permission_set_desc nvarchar(60), is_visible bit, create_date datetime2, modify_date datetime2, is_user_defined bit);
           INSERT INTO {d}."sys.assemblies" SELECT 'Microsoft.SqlServer.Types', 4, 1, 'microsoft.sqlserver.types, version={major}.0.0.0, culture=neutral, publickeytoken=89845dcd8080cc91, processorarchitecture=msil', 3, 'UNSAFE_ACCESS', 1, NULL, NULL, 0 WHERE NOT EXISTS (SELECT 1 FROM {d}."sys.assemblies");"#,
        d = q(db)
    )
}

/// SQL Server error 2714 (severity 16). The documentation gives no error for a taken assembly
/// name; this is SQL Server's message for a name already used in a database.
pub(super) fn taken(name: &str) -> ServerMessage {
    ServerMessage::error(
        2714,
        16,
        format!("There is already an object named '{name}' in the database."),
    )
}

/// SQL Server error 15151 (severity 16): "Cannot %S_MSG the %S_MSG '%.*ls', because it does
/// not exist or you do not have permission."
pub(super) fn not_found(kind: &str, name: &str) -> ServerMessage {
    ServerMessage::error(
        15151,
        16,
        format!(
            "Cannot drop the {kind} '{name}', because it does not exist or you do not have permission."
        ),
    )
}

impl Instance {
    /// CREATE ASSEMBLY name FROM 0x… WITH PERMISSION_SET = …: a row in the current database's
    /// `sys.assemblies`. The emulator reads no assembly manifest, so `clr_name` is built from
    /// the name with version 0.0.0.0, neutral culture and no public key (what an unsigned,
    /// unversioned assembly reports). The bits are not verified (a guess in SQL Server's
    /// favour: it loads them and refuses what is not a pure .NET assembly).
    pub fn create_assembly(
        &mut self,
        db: &str,
        name: &str,
        permission: PermissionSet,
    ) -> Result<(), ServerMessage> {
        let db = self.database_in_use(db)?;
        if self.assembly_exists(&db, name) {
            return Err(taken(name));
        }
        let (set, desc) = permission.catalog();
        let now = types::now_text();
        let clr = format!(
            "{}, version=0.0.0.0, culture=neutral, publickeytoken=null, processorarchitecture=msil",
            name.to_ascii_lowercase()
        );
        let sql = format!(
            r#"INSERT INTO {d}."sys.assemblies" SELECT ?1, 1, MAX(?2, (SELECT COALESCE(MAX(assembly_id), 0) + 1 FROM {d}."sys.assemblies")), ?3, ?4, ?5, 1, ?6, ?6, 1"#,
            d = q(&db)
        );
        self.conn
            .execute(
                &sql,
                rusqlite::params![name, FIRST_USER_ASSEMBLY, clr, set, desc, now],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// DROP ASSEMBLY [IF EXISTS] name: SQL Server error 15151 for one that is not there (a
    /// system assembly cannot be dropped either: the same error).
    pub fn drop_assembly(
        &mut self,
        db: &str,
        name: &str,
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        let db = self.database_in_use(db)?;
        let sql = format!(
            r#"DELETE FROM {}."sys.assemblies" WHERE name = ?1 COLLATE NOCASE AND is_user_defined = 1"#,
            q(&db)
        );
        let n = self.conn.execute(&sql, [name]).map_err(sqlite_error)?;
        if n == 0 && !if_exists {
            return Err(not_found("assembly", name));
        }
        Ok(())
    }

    fn assembly_exists(&self, db: &str, name: &str) -> bool {
        let sql = format!(
            r#"SELECT 1 FROM {}."sys.assemblies" WHERE name = ?1 COLLATE NOCASE"#,
            q(db)
        );
        self.conn.query_row(&sql, [name], |_| Ok(())).is_ok()
    }

    /// The database's name as the instance spells it, if it can be used (SQL Server error 911
    /// for one that does not exist).
    pub(super) fn database_in_use(&self, db: &str) -> Result<String, ServerMessage> {
        let Some(info) = self.database(db) else {
            return Err(ServerMessage::error(
                911,
                16,
                format!(
                    "Database '{db}' does not exist. Make sure that the name is entered correctly."
                ),
            ));
        };
        info.usable()?;
        Ok(info.name.clone())
    }
}
