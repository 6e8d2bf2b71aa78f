//! Schemas ("sys.schemas (Transact-SQL)", "CREATE SCHEMA", "DROP SCHEMA") and the system
//! types every database has.

use super::shared::{already_exists, lit};
use super::types::{DEFAULT_COLLATION, SYSTEM_TYPES};
use crate::instance::Instance;
use crate::instance::db_users::FIXED_DATABASE_ROLES;
use crate::instance::query::{q, sqlite_error};
use crate::protocol::tokens::ServerMessage;

/// The schemas every database has besides one per fixed database role
/// ([`FIXED_DATABASE_ROLES`]), with the principals that own them; a fixed schema's id is its
/// owner's principal id (see db_users.rs).
const FIXED_SCHEMAS: &[(&str, i64)] = &[
    ("dbo", 1),
    ("guest", 2),
    ("INFORMATION_SCHEMA", 3),
    ("sys", 4),
];

/// The first id of a user schema. Guess (docs silent): SQL Server gives the first user schema
/// id 5, after sys.
const FIRST_USER_SCHEMA: i64 = 5;

impl Instance {
    pub(super) fn seed_schemas_and_types(&self, db: &str) -> Result<(), ServerMessage> {
        let d = q(db);
        let mut sql = String::new();
        for (name, id) in FIXED_SCHEMAS.iter().chain(FIXED_DATABASE_ROLES) {
            sql.push_str(&format!(
                r#"INSERT OR IGNORE INTO {d}."ferry.schemas" VALUES ({}, {id}, {id});"#,
                lit(name)
            ));
        }
        for (name, system, user, max, precision, scale, collatable) in SYSTEM_TYPES {
            let collation = if *collatable {
                lit(DEFAULT_COLLATION)
            } else {
                "NULL".into()
            };
            sql.push_str(&format!(
                r#"INSERT OR IGNORE INTO {d}."ferry.types" VALUES ({}, {system}, {user}, 4, NULL, {max}, {precision}, {scale}, {collation}, 1, 0, {}, 0, 0, 0);"#,
                lit(name),
                // hierarchyid, geometry, geography are CLR types (is_assembly_type 1).
                i64::from(*system == 240)
            ));
        }
        self.conn.execute_batch(&sql).map_err(sqlite_error)
    }

    /// A schema's id by name.
    pub(crate) fn schema_id(&self, db: &str, schema: &str) -> Option<i64> {
        let sql = format!(
            r#"SELECT schema_id FROM {}."ferry.schemas" WHERE name = ?1 COLLATE NOCASE"#,
            q(db)
        );
        self.conn.query_row(&sql, [schema], |r| r.get(0)).ok()
    }

    /// A schema's id, or SQL Server error 2760 (severity 16) when there is no such schema.
    pub(super) fn existing_schema(&self, db: &str, schema: &str) -> Result<i64, ServerMessage> {
        self.schema_id(db, schema).ok_or_else(|| {
            ServerMessage::error(
                2760,
                16,
                format!(
                    "The specified schema name \"{schema}\" either does not exist or you do not have permission to use it."
                ),
            )
        })
    }

    /// CREATE SCHEMA name [AUTHORIZATION owner]: 2714 when the name is taken. The owner must
    /// be a database principal (error 15151 otherwise, "Cannot find the user '%.*ls', because
    /// it does not exist or you do not have permission.").
    pub fn create_schema(
        &mut self,
        db: &str,
        name: &str,
        owner: Option<&str>,
    ) -> Result<(), ServerMessage> {
        if self.schema_id(db, name).is_some() {
            return Err(already_exists(name));
        }
        let principal: i64 = match owner {
            None => 1,
            Some(o) => {
                let sql = format!(
                    r#"SELECT principal_id FROM {}."sys.database_principals" WHERE name = ?1 COLLATE NOCASE"#,
                    q(db)
                );
                self.conn.query_row(&sql, [o], |r| r.get(0)).map_err(|_| {
                    ServerMessage::error(
                        15151,
                        16,
                        format!("Cannot find the user '{o}', because it does not exist or you do not have permission."),
                    )
                })?
            }
        };
        let sql = format!(
            r#"INSERT INTO {{db}}."ferry.schemas" SELECT {}, MAX({FIRST_USER_SCHEMA}, COALESCE((SELECT MAX(schema_id) + 1 FROM {{db}}."ferry.schemas" WHERE schema_id < 16384), 0)), {principal}"#,
            lit(name)
        );
        self.catalog_write(db, &[sql])
    }

    /// DROP SCHEMA [IF EXISTS] name: 3701 when missing; 3729 while an object is in it.
    pub fn drop_schema(
        &mut self,
        db: &str,
        name: &str,
        if_exists: bool,
    ) -> Result<(), ServerMessage> {
        let Some(id) = self.schema_id(db, name) else {
            if if_exists {
                return Ok(());
            }
            // SQL Server error 3701 (severity 11).
            return Err(ServerMessage::error(
                3701,
                11,
                format!(
                    "Cannot drop the schema '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        let sql = format!(
            r#"SELECT name FROM {}."sys.objects" WHERE schema_id = ?1 ORDER BY object_id"#,
            q(db)
        );
        if let Ok(object) = self.conn.query_row(&sql, [id], |r| r.get::<_, String>(0)) {
            // SQL Server error 3729 (severity 16).
            return Err(ServerMessage::error(
                3729,
                16,
                format!(
                    "Cannot drop schema '{name}' because it is being referenced by object '{object}'."
                ),
            ));
        }
        self.catalog_write(
            db,
            &[format!(
                r#"DELETE FROM {{db}}."ferry.schemas" WHERE schema_id = {id}"#
            )],
        )
    }
}
