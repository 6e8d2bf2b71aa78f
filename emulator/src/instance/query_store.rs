//! Query Store: its settings and the catalog views it fills, per database ("Monitor performance
//! by using the Query Store"; "ALTER DATABASE SET options (Transact-SQL)", QUERY_STORE). The
//! views are tables in the database's own file, named as the views are, so a backup carries what
//! the store captured, as SQL Server keeps it in the database ("the information is stored in
//! the database"). What fills them is [`super::query_store_record`].
//!
//! Availability: "Applies to: SQL Server 2016 (13.x) and later" on every `sys.query_store_*`
//! page; `sys.query_store_wait_stats` and the `wait_stats_capture_mode` setting "Applies to: SQL
//! Server 2017 (14.x) and later". Older servers have neither the views (error 208) nor the
//! option (error 102, the parser not knowing the word — the docs give no other error; stricter
//! to refuse than to accept).

use super::Instance;
use super::query::{q, sqlite_error};
use super::query_store_schema::{SCHEMA, WAITS_SCHEMA};
use crate::personality::{Personality, Release};
use crate::protocol::tokens::ServerMessage;

/// The per-database views, as statements name them (the wait view only from 2017).
pub const QUERY_STORE_VIEWS: &[&str] = &[
    "database_query_store_options",
    "query_store_query_text",
    "query_store_query",
    "query_store_plan",
    "query_store_runtime_stats_interval",
    "query_store_runtime_stats",
    "query_store_wait_stats",
];

/// Query Store's state ("sys.database_query_store_options": 0 OFF, 1 READ_ONLY, 2 READ_WRITE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    Off = 0,
    ReadOnly = 1,
    ReadWrite = 2,
}

impl StoreState {
    fn desc(self) -> &'static str {
        match self {
            StoreState::Off => "OFF",
            StoreState::ReadOnly => "READ_ONLY",
            StoreState::ReadWrite => "READ_WRITE",
        }
    }
}

/// QUERY_CAPTURE_MODE ("sys.database_query_store_options": 1 ALL, 2 AUTO, 3 NONE, 4 CUSTOM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMode {
    All = 1,
    Auto = 2,
    None = 3,
    Custom = 4,
}

impl CaptureMode {
    fn desc(self) -> &'static str {
        match self {
            CaptureMode::All => "ALL",
            CaptureMode::Auto => "AUTO",
            CaptureMode::None => "NONE",
            CaptureMode::Custom => "CUSTOM",
        }
    }
}

/// The options of `SET QUERY_STORE … ( … )` a statement gave; None keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    pub operation_mode: Option<StoreState>,
    pub stale_query_threshold_days: Option<i64>,
    pub flush_interval_seconds: Option<i64>,
    pub max_storage_size_mb: Option<i64>,
    pub interval_length_minutes: Option<i64>,
    pub size_based_cleanup_auto: Option<bool>,
    pub capture_mode: Option<CaptureMode>,
    pub max_plans_per_query: Option<i64>,
    pub wait_stats_capture: Option<bool>,
}

/// What `ALTER DATABASE … SET QUERY_STORE …` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChange {
    /// `= ON [( … )]`.
    On(StoreOptions),
    /// `= OFF [(FORCED)]`.
    Off,
    /// `CLEAR [ALL]`.
    Clear,
    /// `( … )` alone: sets options, turns nothing on.
    Options(StoreOptions),
}

/// What recording needs to know of a database's store.
#[derive(Debug, Clone, Copy)]
pub struct StoreSettings {
    pub state: StoreState,
    pub capture: CaptureMode,
    pub interval_minutes: i64,
    pub wait_stats: bool,
}

/// Whether the server has Query Store at all.
pub fn query_store_available(p: &Personality) -> bool {
    match p {
        Personality::ManagedInstance { .. } => true,
        Personality::SqlServer { release, .. } => !matches!(
            release,
            Release::Sql2008 | Release::Sql2008R2 | Release::Sql2012 | Release::Sql2014
        ),
    }
}

/// Whether it has Query Store's wait statistics (2017 and later, and MI).
pub fn query_store_waits_available(p: &Personality) -> bool {
    query_store_available(p)
        && !matches!(
            p,
            Personality::SqlServer {
                release: Release::Sql2016 | Release::Sql2016AzureConnect,
                ..
            }
        )
}

/// Whether new databases have Query Store on: "Starting with SQL Server 2022 (16.x), Query Store
/// is enabled by default for all newly created SQL Server databases" and "Query Store is
/// enabled by default in Azure SQL Managed Instance" ("Monitor performance by using the Query
/// Store", Enable the Query Store).
pub fn query_store_on_by_default(p: &Personality) -> bool {
    match p {
        Personality::ManagedInstance { .. } => true,
        Personality::SqlServer { release, .. } => matches!(
            release,
            Release::Sql2022 | Release::Sql2022Cu13 | Release::Sql2025
        ),
    }
}

/// The defaults of "ALTER DATABASE SET options", QUERY_STORE: MAX_STORAGE_SIZE_MB 100 through
/// 2017 and 1000 from 2019; QUERY_CAPTURE_MODE ALL through 2017 and AUTO from 2019;
/// SIZE_BASED_CLEANUP_MODE AUTO (the 2016 page: OFF); interval 60 minutes, flush 900 seconds,
/// stale threshold 30 days, 200 plans per query, wait statistics ON.
fn defaults(p: &Personality) -> (i64, CaptureMode, bool) {
    match p {
        Personality::SqlServer {
            release: Release::Sql2016 | Release::Sql2016AzureConnect,
            ..
        } => (100, CaptureMode::All, false),
        Personality::SqlServer {
            release: Release::Sql2017 | Release::Sql2017AzureConnect,
            ..
        } => (100, CaptureMode::All, true),
        _ => (1000, CaptureMode::Auto, true),
    }
}

impl Instance {
    /// Makes the store's tables in `db` and its settings row (OFF, with the version's
    /// defaults), once.
    pub(crate) fn ensure_query_store(
        &mut self,
        db: &str,
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        self.conn
            .execute_batch(&SCHEMA.replace("{q}", &q(db)))
            .map_err(sqlite_error)?;
        if query_store_waits_available(p) {
            self.conn
                .execute_batch(&WAITS_SCHEMA.replace("{q}", &q(db)))
                .map_err(sqlite_error)?;
        }
        let (size, capture, cleanup) = defaults(p);
        let sql = format!(
            r#"INSERT INTO {}."sys.database_query_store_options" SELECT 0, 'OFF', 0, 'OFF', 0, 0, 900, 60, ?1, 30, 200, ?2, ?3, ?4, ?5, 1, 'ON' WHERE NOT EXISTS (SELECT 1 FROM {}."sys.database_query_store_options")"#,
            q(db),
            q(db)
        );
        self.conn
            .execute(
                &sql,
                rusqlite::params![
                    size,
                    capture as i64,
                    capture.desc(),
                    i64::from(cleanup),
                    if cleanup { "AUTO" } else { "OFF" }
                ],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }

    /// Makes the store's tables in every database a statement could read them in.
    pub(crate) fn ensure_query_stores(&mut self, p: &Personality) -> Result<(), ServerMessage> {
        let names: Vec<String> = self
            .databases
            .values()
            .filter(|d| !d.restoring)
            .map(|d| d.name.clone())
            .collect();
        for name in names {
            self.ensure_query_store(&name, p)?;
        }
        Ok(())
    }

    /// A database just created: Query Store on where the server turns it on by default.
    pub fn new_database_query_store(
        &mut self,
        db: &str,
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        if !query_store_available(p) {
            return Ok(());
        }
        self.ensure_query_store(db, p)?;
        if query_store_on_by_default(p) {
            self.write_state(db, StoreState::ReadWrite)?;
        }
        Ok(())
    }

    /// ALTER DATABASE `db` SET QUERY_STORE …: error 5011 for a database there is not, 12438
    /// ("Cannot perform action because Query Store cannot be enabled on system database …",
    /// severity 16) on master and tempdb for every form, as SQL Server refuses them.
    pub fn alter_query_store(
        &mut self,
        db: &str,
        change: &StoreChange,
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        let Some(info) = self.database(db).cloned() else {
            return Err(ServerMessage::error(
                5011,
                14,
                format!(
                    "User does not have permission to alter database '{db}', the database does not exist, or the database is not in a state that allows access checks."
                ),
            ));
        };
        info.usable()?;
        if ["master", "tempdb"].contains(&info.name.to_ascii_lowercase().as_str()) {
            return Err(ServerMessage::error(
                12438,
                16,
                format!(
                    "Cannot perform action because Query Store cannot be enabled on system database {}.",
                    info.name
                ),
            ));
        }
        let name = info.name;
        self.ensure_query_store(&name, p)?;
        match change {
            StoreChange::On(o) => {
                self.write_options(&name, o, p)?;
                self.write_state(&name, o.operation_mode.unwrap_or(StoreState::ReadWrite))
            }
            StoreChange::Off => self.write_state(&name, StoreState::Off),
            StoreChange::Options(o) => {
                self.write_options(&name, o, p)?;
                // OPERATION_MODE in a bare block moves a store that is on; an OFF one stays OFF.
                match o.operation_mode {
                    Some(mode) if self.store_settings(&name).state != StoreState::Off => {
                        self.write_state(&name, mode)
                    }
                    _ => Ok(()),
                }
            }
            StoreChange::Clear => self.clear_query_store(&name),
        }
    }

    fn write_state(&mut self, db: &str, state: StoreState) -> Result<(), ServerMessage> {
        let sql = format!(
            r#"UPDATE {}."sys.database_query_store_options" SET desired_state = ?1, desired_state_desc = ?2, actual_state = ?1, actual_state_desc = ?2, readonly_reason = ?3"#,
            q(db)
        );
        // readonly_reason is for a store read-only against its desired state (size limit,
        // read-only database…); one a user set READ_ONLY has none.
        self.conn
            .execute(&sql, rusqlite::params![state as i64, state.desc(), 0])
            .map_err(sqlite_error)?;
        Ok(())
    }

    fn write_options(
        &mut self,
        db: &str,
        o: &StoreOptions,
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        if o.wait_stats_capture.is_some() && !query_store_waits_available(p) {
            // WAIT_STATS_CAPTURE_MODE is a 2017 option: 2016's parser does not know it.
            return Err(crate::syntax::syntax_error("WAIT_STATS_CAPTURE_MODE"));
        }
        let table = format!(r#"{}."sys.database_query_store_options""#, q(db));
        let set = |column: &str, value: rusqlite::types::Value| {
            self.conn
                .execute(&format!("UPDATE {table} SET {column} = ?1"), [value])
                .map(|_| ())
                .map_err(sqlite_error)
        };
        use rusqlite::types::Value as V;
        let pairs: [(&str, Option<i64>); 5] = [
            ("stale_query_threshold_days", o.stale_query_threshold_days),
            ("flush_interval_seconds", o.flush_interval_seconds),
            ("max_storage_size_mb", o.max_storage_size_mb),
            ("interval_length_minutes", o.interval_length_minutes),
            ("max_plans_per_query", o.max_plans_per_query),
        ];
        for (column, value) in pairs {
            if let Some(v) = value {
                set(column, V::Integer(v))?;
            }
        }
        if let Some(auto) = o.size_based_cleanup_auto {
            set("size_based_cleanup_mode", V::Integer(i64::from(auto)))?;
            set(
                "size_based_cleanup_mode_desc",
                V::Text(if auto { "AUTO" } else { "OFF" }.into()),
            )?;
        }
        if let Some(mode) = o.capture_mode {
            set("query_capture_mode", V::Integer(mode as i64))?;
            set("query_capture_mode_desc", V::Text(mode.desc().into()))?;
        }
        if let Some(on) = o.wait_stats_capture {
            set("wait_stats_capture_mode", V::Integer(i64::from(on)))?;
            set(
                "wait_stats_capture_mode_desc",
                V::Text(if on { "ON" } else { "OFF" }.into()),
            )?;
        }
        Ok(())
    }

    /// CLEAR [ALL]: everything captured goes; settings and state stay.
    fn clear_query_store(&mut self, db: &str) -> Result<(), ServerMessage> {
        for view in &QUERY_STORE_VIEWS[1..] {
            let sql = format!(r#"DELETE FROM {}."sys.{view}""#, q(db));
            match self.conn.execute(&sql, []) {
                Ok(_) => {}
                // 2016 has no wait view.
                Err(e) if e.to_string().contains("no such table") => {}
                Err(e) => return Err(sqlite_error(e)),
            }
        }
        Ok(())
    }

    /// The store's settings in `db` (OFF when it has none).
    pub(crate) fn store_settings(&self, db: &str) -> StoreSettings {
        let sql = format!(
            r#"SELECT actual_state, query_capture_mode, interval_length_minutes, wait_stats_capture_mode FROM {}."sys.database_query_store_options""#,
            q(db)
        );
        self.conn
            .query_row(&sql, [], |r| {
                Ok(StoreSettings {
                    state: match r.get::<_, i64>(0)? {
                        1 => StoreState::ReadOnly,
                        2 => StoreState::ReadWrite,
                        _ => StoreState::Off,
                    },
                    capture: match r.get::<_, i64>(1)? {
                        1 => CaptureMode::All,
                        3 => CaptureMode::None,
                        4 => CaptureMode::Custom,
                        _ => CaptureMode::Auto,
                    },
                    interval_minutes: r.get(2)?,
                    wait_stats: r.get::<_, i64>(3)? == 1,
                })
            })
            .unwrap_or(StoreSettings {
                state: StoreState::Off,
                capture: CaptureMode::Auto,
                interval_minutes: 60,
                wait_stats: true,
            })
    }

    /// `current_storage_size_mb`: the store's rows at about a kilobyte each, rounded up (the
    /// docs give no formula; the emulator's rows are smaller than SQL Server's pages).
    pub(crate) fn refresh_store_size(&mut self, db: &str) -> Result<(), ServerMessage> {
        let mut rows: i64 = 0;
        for view in &QUERY_STORE_VIEWS[1..] {
            rows += self
                .conn
                .query_row(
                    &format!(r#"SELECT COUNT(*) FROM {}."sys.{view}""#, q(db)),
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap_or(0);
        }
        let mb = (rows + 1023) / 1024;
        self.conn
            .execute(
                &format!(
                    r#"UPDATE {}."sys.database_query_store_options" SET current_storage_size_mb = ?1"#,
                    q(db)
                ),
                [mb],
            )
            .map_err(sqlite_error)?;
        Ok(())
    }
}
