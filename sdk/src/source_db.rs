//! What every method reads about a source database before changing anything: its server's
//! version and edition, its state, and its files, in a few read-only queries.

use crate::context::Context;
use crate::errors::{Error, Result};
use crate::handles::{Param, SqlConnection};
use crate::mi_limits::{DbFile, FileKind, FileLayout, FilegroupKind};
use crate::sql_value::{int, text};
use crate::sql_version::SqlVersion;
use crate::tsql_text::quote_name;
use crate::wit::{QueryLimits, SqlValue};

/// SQL Server's "Invalid column name" and "Invalid object name": a column or view the server's
/// version does not have (`containment` before 2012, ADR's before 2019).
const INVALID_COLUMN: i32 = 207;
const INVALID_OBJECT: i32 = 208;

const LIMITS: QueryLimits = QueryLimits {
    max_rows: 40_000,
    max_bytes: 4 << 20,
};

/// A source database as the checks see it.
#[derive(Debug, Clone, Default)]
pub struct SourceDatabase {
    /// `sys.databases.state_desc`: `ONLINE`, `RESTORING`, `OFFLINE`…
    pub state: String,
    /// `sys.databases.recovery_model_desc`: `FULL`, `BULK_LOGGED` or `SIMPLE`.
    pub recovery: String,
    /// `sys.databases.collation_name`.
    pub collation: String,
    /// `SERVERPROPERTY('ProductVersion')`, None if the server's answer was not a version.
    pub version: Option<SqlVersion>,
    /// `SERVERPROPERTY('Edition')`: `Enterprise Edition (64-bit)`…
    pub edition: String,
    /// `sys.databases.is_encrypted`: TDE is on.
    pub encrypted: bool,
    /// The certificate protecting the database encryption key: (name, thumbprint hex).
    pub tde_certificate: Option<(String, String)>,
    /// Its files and filegroups, for the Managed Instance checks in [`crate::mi_limits`].
    pub layout: FileLayout,
}

impl<C> Context<'_, C> {
    /// The first result set's rows of a read-only query, or None when the server has no such
    /// column or view (errors 207, 208): a feature its version lacks.
    pub fn rows_if_present(
        &mut self,
        conn: SqlConnection,
        sql: &str,
        params: &[Param],
    ) -> Result<Option<Vec<Vec<SqlValue>>>> {
        match self.query(conn, sql, params, LIMITS) {
            Ok(r) => Ok(Some(r.into_first_rows())),
            Err(Error::Failed(f)) if matches!(f.code, Some(INVALID_COLUMN | INVALID_OBJECT)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Database `db` on the source behind `conn`, or None when there is none of that name.
    pub fn source_database(
        &mut self,
        conn: SqlConnection,
        db: &str,
    ) -> Result<Option<SourceDatabase>> {
        let by_name = [Param::value("db", SqlValue::Text(db.to_owned()))];
        let rows = |cx: &mut Self, sql: &str, params: &[Param]| -> Result<Vec<Vec<SqlValue>>> {
            Ok(cx.query(conn, sql, params, LIMITS)?.into_first_rows())
        };
        let server = rows(
            self,
            "SELECT SERVERPROPERTY('ProductVersion') AS version, SERVERPROPERTY('Edition') AS edition",
            &[],
        )?;
        let d = rows(
            self,
            "SELECT state_desc, recovery_model_desc, is_encrypted, database_id, collation_name \
             FROM sys.databases WHERE name = @db",
            &by_name,
        )?;
        let Some(d) = d.first() else {
            return Ok(None);
        };
        let mut out = SourceDatabase {
            state: text(d.first()),
            recovery: text(d.get(1)),
            encrypted: int(d.get(2)) != 0,
            collation: text(d.get(4)),
            ..SourceDatabase::default()
        };
        if let Some(s) = server.first() {
            out.version = SqlVersion::parse(&text(s.first()));
            out.edition = text(s.get(1));
        }
        let database_id = int(d.get(3));
        let by_id = [Param::value("id", SqlValue::Int(database_id))];
        let q = quote_name(db);
        out.layout.files = rows(
            self,
            &format!("SELECT type, size FROM {q}.sys.database_files"),
            &[],
        )?
        .iter()
        .map(|f| DbFile {
            kind: FileKind::from_type(int(f.first())),
            // `size` is in 8 KiB pages.
            size_bytes: int(f.get(1)).max(0) as u64 * 8192,
        })
        .collect();
        out.layout.filegroups = rows(self, &format!("SELECT type FROM {q}.sys.filegroups"), &[])?
            .iter()
            .map(|g| FilegroupKind::from_type(&text(g.first())))
            .collect();
        // containment is 1 (PARTIAL) or 0; the column exists from SQL Server 2012.
        out.layout.partially_contained = self
            .rows_if_present(
                conn,
                "SELECT containment FROM sys.databases WHERE name = @db",
                &by_name,
            )?
            .is_some_and(|r| r.first().is_some_and(|r| int(r.first()) == 1));
        out.layout.version_store_outside_primary = self.version_store_outside_primary(conn, db)?;
        if out.encrypted {
            out.tde_certificate = rows(
                self,
                "SELECT c.name, c.thumbprint FROM sys.dm_database_encryption_keys k \
                 JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint \
                 WHERE k.database_id = @id",
                &by_id,
            )?
            .first()
            .map(|r| (text(r.first()), text(r.get(1))));
        }
        Ok(Some(out))
    }

    /// With accelerated database recovery on (SQL Server 2019+), whether its persistent
    /// version store is outside PRIMARY (filegroup id 1): `pvs_filegroup_id` of
    /// `sys.dm_tran_persistent_version_store_stats`. None when ADR is off or unknown here.
    fn version_store_outside_primary(
        &mut self,
        conn: SqlConnection,
        db: &str,
    ) -> Result<Option<bool>> {
        let by_name = [Param::value("db", SqlValue::Text(db.to_owned()))];
        let adr = self.rows_if_present(
            conn,
            "SELECT d.is_accelerated_database_recovery_on, d.database_id FROM sys.databases d \
             WHERE d.name = @db",
            &by_name,
        )?;
        let Some(id) = adr
            .as_ref()
            .and_then(|r| r.first())
            .filter(|r| int(r.first()) == 1)
            .map(|r| int(r.get(1)))
        else {
            return Ok(None);
        };
        let pvs = self.rows_if_present(
            conn,
            "SELECT pvs_filegroup_id FROM sys.dm_tran_persistent_version_store_stats \
             WHERE database_id = @id",
            &[Param::value("id", SqlValue::Int(id))],
        )?;
        Ok(pvs
            .and_then(|r| r.into_iter().next())
            .map(|r| int(r.first()))
            .filter(|&fg| fg > 0)
            .map(|fg| fg != 1))
    }
}
