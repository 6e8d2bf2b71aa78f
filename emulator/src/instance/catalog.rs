//! The instance on disk, so that a server started again on the same data directory comes back
//! as it was. In the directory:
//!
//! - `catalog.sqlite`: the server-level views (`sys.databases`, principals, credentials — their
//!   secrets in the emulator's own table, never in a view —, certificates, operations), which
//!   SQL Server keeps in master and its resource database; and `ferry.databases`, what the
//!   emulator knows of each database beyond them. Readable by its owner only.
//! - `master.sqlite`, `model.sqlite`, `msdb.sqlite` (Agent jobs, backup and restore history):
//!   the system databases. tempdb lives in memory and is new at every start, as SQL Server
//!   re-creates tempdb each time it starts (the "tempdb database" article of the SQL Server
//!   documentation).
//! - one file per user database, and `instance.lock`, held while a server uses the directory.
//!
//! Writes to the catalog and the system databases are not synced to the disk one by one
//! (`synchronous = OFF`): a killed emulator keeps every committed change, since the operating
//! system still holds it; only a crash of the machine could lose the last ones.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rusqlite::{Connection, limits::Limit};

use super::checksum::register_functions;
use super::query::sqlite_error;
use super::state::ATTACH_LIMIT;
use super::undo;
use super::{DatabaseInfo, Instance, Recovery, backups, operations, security, sessions, tde};
use crate::protocol::tokens::ServerMessage;

const CATALOG: &str = "catalog.sqlite";
const LOCK: &str = "instance.lock";
/// The catalog's layout; a directory written with another is refused, not misread.
const LAYOUT_VERSION: i32 = 4;

const DATABASES_SCHEMA: &str = r#"
CREATE TABLE "ferry.databases" (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, database_id INTEGER NOT NULL, recovery INTEGER NOT NULL,
    file TEXT, system INTEGER NOT NULL, restoring INTEGER NOT NULL, restored_lsn INTEGER NOT NULL,
    restored_full_guid TEXT, family_guid TEXT NOT NULL, log_chain INTEGER NOT NULL
);
"#;

impl Instance {
    /// The instance kept in `dir`: created there with the four system databases the first
    /// time, opened as it was left every time after.
    pub fn open(dir: &Path, compatibility_level: u8) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        let lock = lock(dir)?;
        let path = dir.join(CATALOG);
        let conn = Connection::open(&path)
            .with_context(|| format!("cannot open the catalog {}", path.display()))?;
        owner_only(&path)?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, ATTACH_LIMIT)?;
        conn.execute_batch("PRAGMA synchronous = OFF")?;
        register_functions(&conn)?;
        super::division::register(&conn)?;
        super::offset_fetch::register(&conn)?;
        super::cast_binary::register(&conn)?;
        super::schema_objects::register_type_name(&conn)?;
        super::convert_fn::register(&conn)?;
        super::date_fn::register(&conn)?;
        super::datalength_fn::register(&conn)?;
        super::certificates::register(&conn)?;
        let names = super::database_names::Names::default();
        super::database_names::register(&conn, &names)?;
        let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
        let mut inst = Instance {
            conn,
            dir: dir.to_owned(),
            databases: BTreeMap::new(),
            next_id: 1,
            compatibility_level,
            transactions: Default::default(),
            sessions: BTreeMap::new(),
            backup_dirs: vec![std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned())],
            block_limit: 50_000,
            reserved_storage_mb: super::resource_views::DEFAULT_RESERVED_STORAGE_MB,
            names,
            _lock: lock,
        };
        match (version, tables) {
            (0, 0) => inst.create()?,
            (LAYOUT_VERSION, _) => inst.reopen()?,
            (0, _) => anyhow::bail!(
                "{} holds an instance whose creation did not finish; delete the directory or start on another --data-dir",
                dir.display()
            ),
            (other, _) => anyhow::bail!(
                "{} holds an instance written by another ferry-emulator (catalog layout {other}; this one reads {LAYOUT_VERSION}); start on another --data-dir",
                dir.display()
            ),
        }
        super::certificates::ensure_schema(&inst.conn)?;
        inst.conn.execute_batch(super::master_key::SCHEMA)?;
        inst.conn.execute_batch(undo::SCHEMA)?;
        inst.conn.execute_batch(sessions::SCHEMA)?;
        inst.conn.execute_batch(super::resource_views::SCHEMA)?;
        // The resource DMVs' counters start with the instance.
        inst.create_resource_model()
            .map_err(|e| anyhow::anyhow!(e.text))?;
        super::server_objects::create_tables(&inst.conn)?;
        crate::hadr::schema::create_tables(&inst.conn)?;
        inst.recover_transactions().map_err(|e| {
            anyhow::anyhow!("cannot roll back the transactions left open: {}", e.text)
        })?;
        Ok(inst)
    }

    /// A new instance: the catalog's tables and master, tempdb, model and msdb (ids 1–4 on
    /// every SQL Server). The layout version is written last, so a creation cut short is
    /// recognised as such.
    fn create(&mut self) -> anyhow::Result<()> {
        self.conn.execute_batch(
            r#"CREATE TABLE "sys.databases" (
                name nvarchar(128), database_id int, create_date datetime2, compatibility_level tinyint,
                collation_name nvarchar(128), user_access_desc nvarchar(60), state tinyint, state_desc nvarchar(60),
                recovery_model tinyint, recovery_model_desc nvarchar(60), is_read_only bit, is_encrypted bit,
                containment tinyint, containment_desc nvarchar(60), is_accelerated_database_recovery_on bit,
                is_broker_enabled bit,
                -- "sys.databases (Transact-SQL)", learn.microsoft.com; a new database's
                -- defaults ("ALTER DATABASE SET options": READ_COMMITTED_SNAPSHOT and
                -- ALLOW_SNAPSHOT_ISOLATION OFF, PAGE_VERIFY CHECKSUM).
                is_read_committed_snapshot_on bit DEFAULT 0,
                snapshot_isolation_state tinyint DEFAULT 0,
                snapshot_isolation_state_desc nvarchar(60) DEFAULT 'OFF',
                page_verify_option tinyint DEFAULT 2,
                page_verify_option_desc nvarchar(60) DEFAULT 'CHECKSUM'
            );"#,
        )?;
        self.conn.execute_batch(DATABASES_SCHEMA)?;
        self.conn.execute_batch(security::SCHEMA)?;
        for (name, recovery) in [
            ("master", Recovery::Simple),
            ("tempdb", Recovery::Simple),
            ("model", Recovery::Full),
            ("msdb", Recovery::Simple),
        ] {
            let file = (name != "tempdb").then(|| self.dir.join(format!("{name}.sqlite")));
            self.attach(name, file, recovery, true)
                .map_err(|e| anyhow::anyhow!(e.text))?;
        }
        self.conn.execute_batch(backups::MSDB_SCHEMA)?;
        self.conn.execute_batch(operations::SCHEMA)?;
        self.conn.execute_batch(tde::SCHEMA)?;
        self.conn
            .execute_batch(&format!("PRAGMA user_version = {LAYOUT_VERSION}"))?;
        Ok(())
    }

    /// The instance as it was left: every database attached again from its file (tempdb
    /// afresh), with what the emulator knew of each.
    fn reopen(&mut self) -> anyhow::Result<()> {
        let mut stmt = self.conn.prepare(
            r#"SELECT name, database_id, recovery, file, system, restoring, restored_lsn, restored_full_guid, family_guid, log_chain FROM "ferry.databases" ORDER BY database_id"#,
        )?;
        let saved: Vec<DatabaseInfo> = stmt
            .query_map([], |r| {
                Ok(DatabaseInfo {
                    name: r.get(0)?,
                    id: r.get(1)?,
                    recovery: match r.get::<_, i64>(2)? {
                        1 => Recovery::Full,
                        2 => Recovery::BulkLogged,
                        _ => Recovery::Simple,
                    },
                    file: r.get::<_, Option<String>>(3)?.map(PathBuf::from),
                    system: r.get(4)?,
                    restoring: r.get(5)?,
                    restored_lsn: r.get(6)?,
                    restored_full_guid: r.get(7)?,
                    family_guid: r.get(8)?,
                    log_chain: r.get(9)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        for info in saved {
            if let Some(file) = &info.file
                && !file.is_file()
            {
                anyhow::bail!(
                    "the file of database {} ({}) is missing from the data directory; put it back or start on another --data-dir",
                    info.name,
                    file.display()
                );
            }
            self.attach_storage(&info.name, info.file.as_deref(), info.system)
                .map_err(|e| anyhow::anyhow!("cannot open database {}: {}", info.name, e.text))?;
            self.next_id = self.next_id.max(info.id + 1);
            self.names.write().insert(info.id, info.name.clone());
            self.databases.insert(info.name.to_ascii_lowercase(), info);
        }
        Ok(())
    }

    /// Records what the emulator knows of a database, after every change to it.
    pub(super) fn save_database(&self, info: &DatabaseInfo) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"INSERT OR REPLACE INTO "ferry.databases" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"#,
                rusqlite::params![
                    info.name.to_ascii_lowercase(),
                    info.name,
                    info.id,
                    info.recovery as i64,
                    info.file.as_ref().map(|f| f.display().to_string()),
                    info.system,
                    info.restoring,
                    info.restored_lsn,
                    info.restored_full_guid,
                    info.family_guid,
                    info.log_chain,
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    pub(super) fn forget_database(&self, name: &str) -> Result<(), ServerMessage> {
        self.conn
            .execute(
                r#"DELETE FROM "ferry.databases" WHERE key = ?1"#,
                [name.to_ascii_lowercase()],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Changes what the emulator knows of database `name` and records it; nothing when there
    /// is no such database.
    pub(super) fn update_database(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut DatabaseInfo),
    ) -> Result<(), ServerMessage> {
        let Some(info) = self.databases.get_mut(&name.to_ascii_lowercase()) else {
            return Ok(());
        };
        change(info);
        let info = info.clone();
        self.save_database(&info)
    }
}

/// Takes the directory's lock, so that two servers never share one instance.
fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "{} is in use by another running ferry-emulator server; stop it or start on another --data-dir",
            dir.display()
        )
    })?;
    Ok(file)
}

/// The catalog holds credential secrets: readable by its owner only.
fn owner_only(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
