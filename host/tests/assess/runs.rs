//! The seeded sources and their shared runs of the example.

use std::sync::OnceLock;

use super::common::assess_rig::{Run, run};
use ferry_emulator::seed_assess as facts;

pub const SAMPLES: [&str; 3] = ["SalesDb", "HRDb", "InventoryDb"];
pub const MODULES_DB: &str = "FactsModules";
pub const CLEAN_DB: &str = "CleanDb";
/// SIMPLE recovery and a case-sensitive collation.
pub const SIMPLE_DB: &str = "FactsSimpleCs";
pub const RESTORING_DB: &str = "FactsRestoring";
/// Two 9 TB data files: more than General Purpose and Business Critical store (16 TB).
pub const HUGE_DB: &str = "FactsHuge";
/// 281 files: one more than a General Purpose instance holds (280).
pub const MANY_FILES_DB: &str = "FactsManyFiles";

/// Modules whose text calls what Managed Instance lacks, and a deprecated column type.
pub fn modules_seed() -> String {
    format!(
        "CREATE DATABASE [{MODULES_DB}]; USE [{MODULES_DB}]; \
         CREATE TABLE dbo.Docs (Id int PRIMARY KEY, Body ntext); \
         EXEC('CREATE PROCEDURE dbo.CopyOrders AS INSERT INTO SalesDb.dbo.T (Id) SELECT Id + 100 FROM dbo.Docs'); \
         EXEC('CREATE PROCEDURE dbo.Transfer AS BEGIN DISTRIBUTED TRANSACTION; UPDATE dbo.Docs SET Id = Id; COMMIT TRANSACTION'); \
         EXEC('CREATE PROCEDURE dbo.WhoRuns AS EXEC master.dbo.xp_cmdshell ''whoami'''); \
         EXEC('CREATE PROCEDURE dbo.MakeFile AS DECLARE @fso int; EXEC sp_OACreate ''Scripting.FileSystemObject'', @fso OUT'); \
         EXEC('CREATE PROCEDURE dbo.MailOld AS EXEC master.dbo.xp_sendmail @recipients = ''dba@contoso.example'', @message = ''done'''); \
         EXEC('CREATE PROCEDURE dbo.AddOldLogin AS EXEC sp_addlogin ''legacy'', ''Legacy#2026'''); \
         USE master"
    )
}

pub fn files_seed() -> Vec<String> {
    let dir = "/var/opt/mssql/data";
    let mut many = format!("CREATE DATABASE [{MANY_FILES_DB}]; ");
    // The primary data file and the log make two; 279 more make 281.
    for i in 0..279 {
        many.push_str(&format!(
            "ALTER DATABASE [{MANY_FILES_DB}] ADD FILE (NAME = f{i}, FILENAME = '{dir}/{MANY_FILES_DB}_{i}.ndf', SIZE = 8MB); "
        ));
    }
    vec![
        format!(
            "CREATE DATABASE [{SIMPLE_DB}] COLLATE Latin1_General_CS_AS; \
             ALTER DATABASE [{SIMPLE_DB}] SET RECOVERY SIMPLE"
        ),
        // A copy left RESTORING (as a log-shipping secondary is): its catalog cannot be read.
        format!(
            "CREATE DATABASE [{RESTORING_DB}_seed]; \
             BACKUP DATABASE [{RESTORING_DB}_seed] TO DISK = '{{backups}}/restoring.bak'; \
             RESTORE DATABASE [{RESTORING_DB}] FROM DISK = '{{backups}}/restoring.bak' WITH NORECOVERY, \
             MOVE '{RESTORING_DB}_seed' TO '{dir}/{RESTORING_DB}.mdf', MOVE '{RESTORING_DB}_seed_log' TO '{dir}/{RESTORING_DB}_log.ldf'"
        ),
        format!(
            "CREATE DATABASE [{HUGE_DB}]; \
             ALTER DATABASE [{HUGE_DB}] ADD FILE (NAME = Huge1, FILENAME = '{dir}/{HUGE_DB}_1.ndf', SIZE = 9TB); \
             ALTER DATABASE [{HUGE_DB}] ADD FILE (NAME = Huge2, FILENAME = '{dir}/{HUGE_DB}_2.ndf', SIZE = 9TB)"
        ),
        many,
    ]
}

pub fn main_seed() -> Vec<String> {
    let mut b: Vec<String> = SAMPLES
        .iter()
        .map(|db| {
            format!(
                "CREATE DATABASE [{db}]; CREATE TABLE [{db}].dbo.T (Id int PRIMARY KEY); \
                 INSERT INTO [{db}].dbo.T VALUES (1), (2)"
            )
        })
        .collect();
    b.extend(ferry_emulator::seed::instance_objects(&SAMPLES));
    b.extend(facts::batches());
    b.push(modules_seed());
    b.extend(files_seed());
    b.push(format!(
        "CREATE DATABASE [{CLEAN_DB}]; CREATE TABLE [{CLEAN_DB}].dbo.T (Id int PRIMARY KEY)"
    ));
    b
}

pub fn main_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut dbs = SAMPLES.to_vec();
        dbs.extend([
            facts::FILESTREAM_DATABASE,
            facts::IN_MEMORY_DATABASE,
            facts::TWO_LOGS_DATABASE,
            facts::CONTAINED_DATABASE,
            facts::CLR_DATABASE,
            facts::BROKER_DATABASE,
            CLEAN_DB,
            MODULES_DB,
            SIMPLE_DB,
            RESTORING_DB,
            HUGE_DB,
            MANY_FILES_DB,
        ]);
        run("2019", main_seed(), Some(&["InventoryDb"]), &dbs, &[])
    })
}

/// The legacy source: SQL Server 2008 R2 with SQL Mail on, a database at compatibility level
/// 90, and 101 user databases (one more than General Purpose and Business Critical hold).
pub const LEGACY_DB: &str = "Legacy90";
pub const SHARDS: usize = 100;

pub fn legacy_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut seed = vec![
            "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; \
             EXEC sp_configure 'SQL Mail XPs', 1; RECONFIGURE"
                .to_owned(),
            format!(
                "CREATE DATABASE [{LEGACY_DB}]; ALTER DATABASE [{LEGACY_DB}] SET COMPATIBILITY_LEVEL = 90"
            ),
        ];
        seed.push(
            (0..SHARDS)
                .map(|i| format!("CREATE DATABASE [Shard{i:03}]"))
                .collect::<Vec<_>>()
                .join("; "),
        );
        // No Managed Instance yet: the one to be created is assumed Latin1_General_CI_AS.
        let collation = [(
            "target_collation = \"SQL_Latin1_General_CP1_CI_AS\"",
            "target_collation = \"Latin1_General_CI_AS\"",
        )];
        run("2008R2", seed, None, &[LEGACY_DB, "Shard000"], &collation)
    })
}

/// A SQL Server 2025 source, judged for a Managed Instance on the SQL Server 2022 update policy
/// (the example's `update_policy`; no Managed Instance to read), with the database step set to
/// fail a database that has a blocker (`fail_on_blockers = true`), as in front of a method.
pub fn newer_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let seed = vec![format!("CREATE DATABASE [{CLEAN_DB}]")];
        let fail = [("fail_on_blockers = false", "fail_on_blockers = true")];
        run("2025", seed, None, &[CLEAN_DB], &fail)
    })
}

/// A SQL Server 2019 Express source: an edition without availability groups.
pub fn express_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let seed = vec![format!("CREATE DATABASE [{CLEAN_DB}]")];
        run("2019-express", seed, None, &[CLEAN_DB], &[])
    })
}
