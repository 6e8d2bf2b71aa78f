//! The instance's data: one SQLite file per user database, all attached to one connection so a
//! statement can join across databases as T-SQL's three-part names allow. A table
//! `[db].[schema].[name]` lives in the file of `db` as the SQLite table `"schema.name"`, with the
//! T-SQL column types kept as SQLite declared types so results come back typed exactly.
//! Server-level catalog views (`sys.databases`, …) live in the connection's `main` schema.

mod backups;
mod security;
mod tde;

pub use backups::{OperationStart, Report};
pub use security::{LoginKind, Password, password_hash};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, limits::Limit};

use crate::protocol::tokens::{Column, ServerMessage};
use crate::protocol::types::{self, SqlType, Value};
use crate::statement::FileChange;

/// Recovery models (sys.databases.recovery_model: 1 full, 2 bulk-logged, 3 simple).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    Full = 1,
    BulkLogged = 2,
    Simple = 3,
}

impl Recovery {
    pub fn desc(self) -> &'static str {
        match self {
            Recovery::Full => "FULL",
            Recovery::BulkLogged => "BULK_LOGGED",
            Recovery::Simple => "SIMPLE",
        }
    }
}

/// What the instance knows of a database beyond its tables.
#[derive(Debug, Clone)]
pub struct DatabaseInfo {
    pub name: String,
    pub id: i64,
    pub recovery: Recovery,
    pub file: Option<PathBuf>,
    pub system: bool,
    /// Restored WITH NORECOVERY and waiting for more backups (state RESTORING).
    pub restoring: bool,
    /// The LSN the last restored backup reached, for the log-chain checks.
    pub restored_lsn: i64,
    /// The BackupSetGUID of the full backup it was restored from (a differential's base).
    pub restored_full_guid: Option<String>,
}

/// All databases of one emulated server.
pub struct Instance {
    conn: Connection,
    dir: PathBuf,
    databases: BTreeMap<String, DatabaseInfo>,
    next_id: i64,
    compatibility_level: u8,
}

/// SQLite's `ATTACH` ceiling as this build allows it (see .cargo/config.toml).
const ATTACH_LIMIT: i32 = 125;

pub(crate) fn sqlite_error(e: rusqlite::Error) -> ServerMessage {
    // The messages SQLite gives for the mistakes T-SQL users make most, as SQL Server words them.
    let text = e.to_string();
    if let Some(name) = text.strip_prefix("no such table: ") {
        let name = name.rsplit_once('.').map_or(name, |(_, t)| t);
        return ServerMessage::error(208, 16, format!("Invalid object name '{name}'."));
    }
    if let Some(col) = text.strip_prefix("no such column: ") {
        return ServerMessage::error(
            207,
            16,
            format!(
                "Invalid column name '{}'.",
                col.rsplit('.').next().unwrap_or(col)
            ),
        );
    }
    if text.contains("UNIQUE constraint failed") {
        return ServerMessage::error(
            2627,
            14,
            format!(
                "Violation of PRIMARY KEY or UNIQUE KEY constraint. Cannot insert duplicate key ({text})."
            ),
        );
    }
    if let Some(col) = text.strip_prefix("NOT NULL constraint failed: ") {
        return ServerMessage::error(
            515,
            16,
            format!(
                "Cannot insert the value NULL into column '{}'; column does not allow nulls. INSERT fails.",
                col.rsplit('.').next().unwrap_or(col)
            ),
        );
    }
    if let Some(rest) = text.strip_prefix("near \"") {
        let near = rest.split('"').next().unwrap_or("");
        return ServerMessage::error(102, 15, format!("Incorrect syntax near '{near}'."));
    }
    ServerMessage::error(
        50000,
        16,
        format!("ferry-emulator could not run the statement: {text}"),
    )
}

impl Instance {
    /// An instance keeping its database files in `dir`, with the four system databases.
    pub fn new(dir: &Path, compatibility_level: u8) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(dir)?;
        let conn = Connection::open_in_memory()?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, ATTACH_LIMIT)?;
        register_functions(&conn)?;
        conn.execute_batch(
            r#"CREATE TABLE "sys.databases" (
                name nvarchar(128), database_id int, create_date datetime2, compatibility_level tinyint,
                collation_name nvarchar(128), user_access_desc nvarchar(60), state tinyint, state_desc nvarchar(60),
                recovery_model tinyint, recovery_model_desc nvarchar(60), is_read_only bit, is_encrypted bit
            );"#,
        )?;
        conn.execute_batch(security::SCHEMA)?;
        let mut inst = Instance {
            conn,
            dir: dir.to_owned(),
            databases: BTreeMap::new(),
            next_id: 1,
            compatibility_level,
        };
        // master, tempdb, model, msdb: database ids 1–4 on every SQL Server.
        for (name, recovery) in [
            ("master", Recovery::Simple),
            ("tempdb", Recovery::Simple),
            ("model", Recovery::Full),
            ("msdb", Recovery::Simple),
        ] {
            inst.attach(name, None, recovery, true)
                .map_err(|e| anyhow::anyhow!(e.text))?;
        }
        inst.conn.execute_batch(backups::MSDB_SCHEMA)?;
        inst.conn.execute_batch(backups::OPERATIONS_SCHEMA)?;
        inst.conn.execute_batch(tde::SCHEMA)?;
        Ok(inst)
    }

    pub fn database(&self, name: &str) -> Option<&DatabaseInfo> {
        self.databases.get(&name.to_ascii_lowercase())
    }

    pub fn databases(&self) -> impl Iterator<Item = &DatabaseInfo> {
        self.databases.values()
    }

    fn attach(
        &mut self,
        name: &str,
        file: Option<PathBuf>,
        recovery: Recovery,
        system: bool,
    ) -> Result<(), ServerMessage> {
        if self.databases.len() as i32 >= ATTACH_LIMIT {
            return Err(ServerMessage::error(
                50000,
                16,
                format!("ferry-emulator holds at most {ATTACH_LIMIT} databases per instance"),
            ));
        }
        let path = file
            .as_ref()
            .map_or(":memory:".to_owned(), |f| f.display().to_string());
        self.conn
            .execute("ATTACH DATABASE ?1 AS ?2", rusqlite::params![path, name])
            .map_err(sqlite_error)?;
        let id = self.next_id;
        self.next_id += 1;
        let now = types::datetime_text(types::days_from_civil(2026, 1, 1).unwrap_or(0), 0);
        self.conn
            .execute(
                r#"INSERT INTO "sys.databases" VALUES (?1, ?2, ?3, ?4, 'SQL_Latin1_General_CP1_CI_AS', 'MULTI_USER', 0, 'ONLINE', ?5, ?6, 0, 0)"#,
                rusqlite::params![name, id, now, self.compatibility_level, recovery as i64, recovery.desc()],
            )
            .map_err(sqlite_error)?;
        // sys.tables, per database, over SQLite's own catalog. The view names `sqlite_master`
        // unqualified (SQLite resolves it in the view's own schema) and is re-created on every
        // attach: a restore under another name brings the source's file, and a view naming the
        // source's schema would break every query of the new database.
        let view = format!(
            r#"DROP VIEW IF EXISTS "{q}"."sys.tables"; CREATE VIEW "{q}"."sys.tables" AS SELECT substr(name, instr(name, '.') + 1) AS name, rowid AS object_id, 1 AS schema_id, 'USER_TABLE' AS type_desc FROM sqlite_master WHERE type = 'table' AND name LIKE '%.%' AND name NOT LIKE 'sys.%' AND name NOT LIKE 'ferry.%'"#,
            q = name.replace('"', "\"\"")
        );
        self.conn.execute_batch(&view).map_err(sqlite_error)?;
        // sys.database_files and sys.filegroups, per database: one data and one log file, as
        // CREATE DATABASE without file options gives; ALTER DATABASE … ADD adds rows. Kept in
        // the database's own file, so a restore brings the source's file layout with it.
        let files = format!(
            r#"CREATE TABLE IF NOT EXISTS "{q}"."sys.database_files" (file_id int, type tinyint, type_desc nvarchar(60), name nvarchar(128), physical_name nvarchar(260), state_desc nvarchar(60), size int, max_size int, growth int);
               CREATE TABLE IF NOT EXISTS "{q}"."sys.filegroups" (name nvarchar(128), data_space_id int, type char(2), type_desc nvarchar(60));
               INSERT INTO "{q}"."sys.database_files" SELECT 1, 0, 'ROWS', '{l}', '/var/opt/mssql/data/{l}.mdf', 'ONLINE', 1024, -1, 8192 WHERE NOT EXISTS (SELECT 1 FROM "{q}"."sys.database_files");
               INSERT INTO "{q}"."sys.database_files" SELECT 2, 1, 'LOG', '{l}_log', '/var/opt/mssql/data/{l}_log.ldf', 'ONLINE', 1024, 268435456, 8192 WHERE (SELECT COUNT(*) FROM "{q}"."sys.database_files") = 1;
               INSERT INTO "{q}"."sys.filegroups" SELECT 'PRIMARY', 1, 'FG', 'ROWS_FILEGROUP' WHERE NOT EXISTS (SELECT 1 FROM "{q}"."sys.filegroups");"#,
            q = name.replace('"', "\"\""),
            l = name.replace('\'', "''")
        );
        self.conn.execute_batch(&files).map_err(sqlite_error)?;
        if !system {
            let log = format!(
                r#"CREATE TABLE IF NOT EXISTS "{q}"."{}" (lsn INTEGER PRIMARY KEY AUTOINCREMENT, sql TEXT NOT NULL)"#,
                backups::CHANGE_LOG,
                q = name.replace('"', "\"\"")
            );
            self.conn.execute_batch(&log).map_err(sqlite_error)?;
        }
        self.databases.insert(
            name.to_ascii_lowercase(),
            DatabaseInfo {
                name: name.to_owned(),
                id,
                recovery,
                file,
                system,
                restoring: false,
                restored_lsn: 0,
                restored_full_guid: None,
            },
        );
        Ok(())
    }

    /// CREATE DATABASE. SQL Server error 1801 if the name is taken.
    pub fn create_database(&mut self, name: &str) -> Result<(), ServerMessage> {
        if self.database(name).is_some() {
            return Err(ServerMessage::error(
                1801,
                16,
                format!("Database '{name}' already exists. Choose a different database name."),
            ));
        }
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let file = self.dir.join(format!("{safe}-{}.sqlite", self.next_id));
        let _ = std::fs::remove_file(&file);
        self.attach(name, Some(file), Recovery::Full, false)
    }

    /// A fresh file for a database (any stale file of that name removed).
    fn new_file_path(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let file = self.dir.join(format!("{safe}-{}.sqlite", self.next_id));
        let _ = std::fs::remove_file(&file);
        file
    }

    /// DROP DATABASE. SQL Server error 3701 if it does not exist.
    pub fn drop_database(&mut self, name: &str) -> Result<(), ServerMessage> {
        let Some(info) = self.database(name).cloned().filter(|d| !d.system) else {
            return Err(ServerMessage::error(
                3701,
                11,
                format!(
                    "Cannot drop the database '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        self.conn
            .execute("DETACH DATABASE ?1", [&info.name])
            .map_err(sqlite_error)?;
        self.conn
            .execute(
                r#"DELETE FROM "sys.databases" WHERE name = ?1"#,
                [&info.name],
            )
            .map_err(sqlite_error)?;
        if let Some(f) = &info.file {
            let _ = std::fs::remove_file(f);
        }
        self.databases.remove(&name.to_ascii_lowercase());
        Ok(())
    }

    /// ALTER DATABASE … ADD [LOG] FILE / ADD FILEGROUP … [CONTAINS FILESTREAM].
    pub fn add_file(&mut self, db: &str, change: &FileChange) -> Result<(), ServerMessage> {
        let Some(info) = self.database(db).cloned() else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{db}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        let q = format!("\"{}\"", info.name.replace('"', "\"\""));
        let r = match change {
            FileChange::Filegroup { name, filestream } => self.conn.execute(
                &format!(r#"INSERT INTO {q}."sys.filegroups" SELECT ?1, (SELECT MAX(data_space_id) + 1 FROM {q}."sys.filegroups"), ?2, ?3"#),
                rusqlite::params![name, if *filestream { "FD" } else { "FG" }, if *filestream { "FILESTREAM_DATA_FILEGROUP" } else { "ROWS_FILEGROUP" }],
            ),
            FileChange::File { log, name, filename, filegroup } => {
                let filestream: bool = filegroup.as_ref().is_some_and(|fg| {
                    self.conn
                        .query_row(&format!(r#"SELECT type = 'FD' FROM {q}."sys.filegroups" WHERE name = ?1 COLLATE NOCASE"#), [fg], |r| r.get(0))
                        .unwrap_or(false)
                });
                let (ty, desc) = if *log { (1, "LOG") } else if filestream { (2, "FILESTREAM") } else { (0, "ROWS") };
                self.conn.execute(
                    &format!(r#"INSERT INTO {q}."sys.database_files" SELECT (SELECT MAX(file_id) + 1 FROM {q}."sys.database_files"), ?1, ?2, ?3, ?4, 'ONLINE', 1024, -1, 8192"#),
                    rusqlite::params![ty, desc, name, filename],
                )
            }
        };
        r.map_err(sqlite_error)?;
        Ok(())
    }

    /// ALTER DATABASE … SET RECOVERY.
    pub fn set_recovery(&mut self, name: &str, recovery: Recovery) -> Result<(), ServerMessage> {
        let key = name.to_ascii_lowercase();
        let Some(info) = self.databases.get_mut(&key) else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{name}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        info.recovery = recovery;
        let n = info.name.clone();
        self.conn
            .execute(r#"UPDATE "sys.databases" SET recovery_model = ?2, recovery_model_desc = ?3 WHERE name = ?1"#, rusqlite::params![n, recovery as i64, recovery.desc()])
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Whether a table or view exists.
    pub fn table_exists(&self, schema_db: &str, table: &str) -> bool {
        let sql = format!(
            r#"SELECT 1 FROM "{}".sqlite_master WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE"#,
            schema_db.replace('"', "\"\"")
        );
        self.conn.query_row(&sql, [table], |_| Ok(())).is_ok()
    }

    /// The column names of a table, in order.
    pub fn columns_of(&self, schema_db: &str, table: &str) -> Vec<String> {
        let sql = format!(
            r#"PRAGMA "{}".table_info("{}")"#,
            schema_db.replace('"', "\"\""),
            table.replace('"', "\"\"")
        );
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return vec![];
        };
        stmt.query_map([], |r| r.get::<_, String>(1))
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }

    /// Runs a statement that changes data or schema; returns rows affected.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ServerMessage> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_error)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(sqlite_error)?;
        Ok(n as u64)
    }

    /// Runs a query; columns are typed by their declared T-SQL types, or by their values when
    /// they are expressions.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<(Vec<Column>, Vec<Vec<Value>>), ServerMessage> {
        let mut stmt = self.conn.prepare(sql).map_err(sqlite_error)?;
        let declared: Vec<(String, Option<SqlType>)> = stmt
            .columns()
            .iter()
            .map(|c| (c.name().to_owned(), c.decl_type().and_then(parse_decl_type)))
            .collect();
        let mut raw: Vec<Vec<rusqlite::types::Value>> = Vec::new();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(Param)))
            .map_err(sqlite_error)?;
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            raw.push(
                (0..declared.len())
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .unwrap_or(rusqlite::types::Value::Null)
                    })
                    .collect(),
            );
        }
        let columns: Vec<Column> = declared
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| {
                // SQLite names an unaliased expression after its text; SQL Server leaves it
                // unnamed ("(No column name)" in SSMS).
                let plain = name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == ' ' || c == '#' || c == '$')
                    && !name.contains("  ");
                let unnamed = !plain || name.contains(" ( ");
                Column::new(
                    if unnamed { "" } else { name },
                    ty.unwrap_or_else(|| infer_type(raw.iter().map(|r| &r[i]))),
                )
            })
            .collect();
        let rows = raw
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .zip(&columns)
                    .map(|(v, c)| from_sqlite(v, c.ty))
                    .collect()
            })
            .collect();
        Ok((columns, rows))
    }
}

/// A declared type as the emulator stored it (`(max)` is kept as `(-1)`, which SQLite's type
/// grammar accepts).
fn parse_decl_type(decl: &str) -> Option<SqlType> {
    let decl = decl.replace("(-1)", "(max)");
    let tokens = crate::syntax::tokenize(&decl).ok()?;
    crate::syntax::parse_type(&tokens).ok().map(|(t, _)| t)
}

/// The type of an expression column, from its values (SQL Server would type it statically; the
/// emulator guesses from what came back).
fn infer_type<'a>(values: impl Iterator<Item = &'a rusqlite::types::Value>) -> SqlType {
    use rusqlite::types::Value as V;
    let mut ty = None;
    for v in values {
        ty = Some(match (ty, v) {
            (_, V::Null) => continue,
            (None | Some(SqlType::Int), V::Integer(i)) if i32::try_from(*i).is_ok() => SqlType::Int,
            (None | Some(SqlType::Int) | Some(SqlType::BigInt), V::Integer(_)) => SqlType::BigInt,
            (_, V::Integer(_) | V::Real(_)) => SqlType::Float,
            (_, V::Text(t)) if t.chars().count() > 4000 => SqlType::NVarChar(None),
            (Some(SqlType::NVarChar(None)), V::Text(_)) => SqlType::NVarChar(None),
            (_, V::Text(_)) => SqlType::NVarChar(Some(4000)),
            (_, V::Blob(_)) => SqlType::VarBinary(None),
        });
    }
    ty.unwrap_or(SqlType::Int)
}

fn from_sqlite(v: rusqlite::types::Value, ty: SqlType) -> Value {
    use rusqlite::types::Value as V;
    let as_text = |v: &V| match v {
        V::Text(t) => t.clone(),
        V::Integer(i) => i.to_string(),
        V::Real(f) => f.to_string(),
        V::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        V::Null => String::new(),
    };
    match (ty, v) {
        (_, V::Null) => Value::Null,
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt, V::Integer(i)) => {
            Value::Int(i)
        }
        (SqlType::TinyInt | SqlType::SmallInt | SqlType::Int | SqlType::BigInt, V::Real(f)) => {
            Value::Int(f as i64)
        }
        (SqlType::Bit, V::Integer(i)) => Value::Bit(i != 0),
        (SqlType::Float, V::Real(f)) => Value::Float(f),
        (SqlType::Float, V::Integer(i)) => Value::Float(i as f64),
        (SqlType::Decimal(_, s), v) => {
            let t = as_text(&v);
            let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
            let frac: String = format!("{frac:0<width$}", width = s as usize)
                .chars()
                .take(s as usize)
                .collect();
            Value::Decimal(format!("{whole}{frac}").parse().unwrap_or(0), s)
        }
        (SqlType::VarBinary(_), V::Blob(b)) => Value::Binary(b),
        (SqlType::UniqueIdentifier, v) => {
            let hex: String = as_text(&v)
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            let mut g = [0u8; 16];
            for (i, b) in g.iter_mut().enumerate() {
                *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0);
            }
            Value::Guid(g)
        }
        (SqlType::Date, v) => {
            types::parse_datetime(&as_text(&v)).map_or(Value::Null, |(d, _)| Value::Date(d))
        }
        (SqlType::DateTime2, v) => {
            types::parse_datetime(&as_text(&v)).map_or(Value::Null, |(d, t)| Value::DateTime2(d, t))
        }
        (_, V::Blob(b)) => Value::Binary(b),
        (_, v) => Value::Text(as_text(&v)),
    }
}

/// A value bound as a SQLite parameter.
struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Bit(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Binary(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Variant(inner) => {
                return Param(&inner.1).to_sql().map(|o| {
                    ToSqlOutput::Owned(match o {
                        ToSqlOutput::Owned(v) => v,
                        ToSqlOutput::Borrowed(r) => r.into(),
                        _ => rusqlite::types::Value::Null,
                    })
                });
            }
            other => ToSqlOutput::Owned(rusqlite::types::Value::Text(types::text(other))),
        })
    }
}

/// FNV-1a over a value's canonical text: the emulator's documented stand-in for
/// BINARY_CHECKSUM (SQL Server's algorithm is undocumented). Equal rows give equal checksums on
/// both sides of a migration, which is what validation compares.
fn fnv1a(bytes: &[u8], mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

struct ChecksumAgg;

impl Aggregate<i64, Option<i64>> for ChecksumAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
        Ok(0)
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut i64) -> rusqlite::Result<()> {
        // CHECKSUM_AGG combines with XOR, so it does not depend on row order.
        if let Ok(v) = ctx.get::<i64>(0) {
            *acc ^= v;
        }
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<i64>) -> rusqlite::Result<Option<i64>> {
        Ok(acc)
    }
}

fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "ferry_binary_checksum",
        -1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let mut h = 0x811C_9DC5u32;
            for i in 0..ctx.len() {
                let bytes: Vec<u8> = match ctx.get_raw(i) {
                    ValueRef::Null => vec![0xFF],
                    ValueRef::Integer(x) => x.to_le_bytes().to_vec(),
                    ValueRef::Real(x) => x.to_le_bytes().to_vec(),
                    ValueRef::Text(t) => t.to_vec(),
                    ValueRef::Blob(b) => b.to_vec(),
                };
                h = fnv1a(&bytes, h);
                h = fnv1a(&[0x1F], h);
            }
            Ok(i64::from(h as i32))
        },
    )?;
    conn.create_aggregate_function(
        "ferry_checksum_agg",
        1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        ChecksumAgg,
    )?;
    Ok(())
}
