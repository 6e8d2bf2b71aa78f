//! A source instance with one of each fact a readiness assessment (issue 17) flags at the
//! instance and database level: a FILESTREAM filegroup, a memory-optimized filegroup, a second
//! log file, a large data file, a FileTable, a partially contained database, CLR assemblies (SAFE and
//! UNSAFE), a Service Broker route to another server, global trace flags, `xp_cmdshell`, OLE
//! Automation and cross-database ownership chaining on, and linked servers through non-SQL
//! providers (ODBC and ACE). Windows logins, Agent subsystems, TDE and the rest come from
//! [`crate::seed::instance_objects`]. Everything is made through the documented statements, on
//! a SQL Server personality (Managed Instance refuses several of them).

/// The seeded databases, each carrying the fact its name says.
pub const FILESTREAM_DATABASE: &str = "FactsFilestream";
pub const IN_MEMORY_DATABASE: &str = "FactsInMemory";
pub const TWO_LOGS_DATABASE: &str = "FactsTwoLogs";
pub const CONTAINED_DATABASE: &str = "FactsContained";
pub const CLR_DATABASE: &str = "FactsClr";
pub const BROKER_DATABASE: &str = "FactsBroker";

/// The FileTable in [`FILESTREAM_DATABASE`].
pub const FILETABLE: &str = "Contracts";
/// The assemblies in [`CLR_DATABASE`], with their PERMISSION_SET.
pub const ASSEMBLIES: [(&str, &str); 2] = [("RegexTools", "SAFE"), ("FileWatcher", "UNSAFE")];
/// The route in [`BROKER_DATABASE`] and where it points.
pub const ROUTE: (&str, &str) = ("ToBilling", "TCP://billing.contoso.com:4022");
/// The global trace flags the seed turns on.
pub const TRACE_FLAGS: [i64; 2] = [1117, 1118];
/// The linked servers through providers Managed Instance does not have: (name, provider).
pub const OTHER_PROVIDER_LINKS: [(&str, &str); 2] = [
    ("LEGACY_ODBC", "MSDASQL"),
    ("BUDGET_XLSX", "Microsoft.ACE.OLEDB.12.0"),
];

/// The batches that make the facts, in order, on a fresh SQL Server personality.
pub fn batches() -> Vec<String> {
    let mut b = vec![
        // Options first: FILESTREAM, contained databases and CLR need theirs on.
        "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; \
         EXEC sp_configure 'filestream access level', 2; \
         EXEC sp_configure 'contained database authentication', 1; \
         EXEC sp_configure 'clr enabled', 1; \
         EXEC sp_configure 'xp_cmdshell', 1; \
         EXEC sp_configure 'Ole Automation Procedures', 1; \
         EXEC sp_configure 'cross db ownership chaining', 1; RECONFIGURE"
            .to_owned(),
    ];
    for db in [
        FILESTREAM_DATABASE,
        IN_MEMORY_DATABASE,
        TWO_LOGS_DATABASE,
        CONTAINED_DATABASE,
        CLR_DATABASE,
        BROKER_DATABASE,
    ] {
        b.push(format!("CREATE DATABASE [{db}]"));
    }
    b.push(format!(
        "ALTER DATABASE [{FILESTREAM_DATABASE}] ADD FILEGROUP Documents CONTAINS FILESTREAM; \
         ALTER DATABASE [{FILESTREAM_DATABASE}] ADD FILE (NAME = Documents1, FILENAME = '/var/opt/mssql/data/{FILESTREAM_DATABASE}_docs') TO FILEGROUP Documents; \
         USE [{FILESTREAM_DATABASE}]; CREATE TABLE [{FILETABLE}] AS FILETABLE WITH (FILETABLE_DIRECTORY = '{FILETABLE}'); USE master"
    ));
    b.push(format!(
        "ALTER DATABASE [{IN_MEMORY_DATABASE}] ADD FILEGROUP InMemory CONTAINS MEMORY_OPTIMIZED_DATA; \
         ALTER DATABASE [{IN_MEMORY_DATABASE}] ADD FILE (NAME = InMemory1, FILENAME = '/var/opt/mssql/data/{IN_MEMORY_DATABASE}_xtp') TO FILEGROUP InMemory"
    ));
    b.push(format!(
        "ALTER DATABASE [{TWO_LOGS_DATABASE}] ADD LOG FILE (NAME = {TWO_LOGS_DATABASE}_log2, FILENAME = '/var/opt/mssql/data/{TWO_LOGS_DATABASE}_log2.ldf', SIZE = 64MB); \
         ALTER DATABASE [{TWO_LOGS_DATABASE}] ADD FILE (NAME = {TWO_LOGS_DATABASE}_big, FILENAME = '/var/opt/mssql/data/{TWO_LOGS_DATABASE}_big.ndf', SIZE = 20 GB)"
    ));
    b.push(format!(
        "ALTER DATABASE [{CONTAINED_DATABASE}] SET CONTAINMENT = PARTIAL"
    ));
    let mut clr = format!("USE [{CLR_DATABASE}]; ");
    for (i, (name, set)) in ASSEMBLIES.iter().enumerate() {
        clr.push_str(&format!(
            "CREATE ASSEMBLY [{name}] FROM 0x4D5A90000{i} WITH PERMISSION_SET = {set}; "
        ));
    }
    clr.push_str("USE master");
    b.push(clr);
    b.push(format!(
        "USE [{BROKER_DATABASE}]; CREATE ROUTE [{}] WITH SERVICE_NAME = '//contoso/billing', ADDRESS = '{}'; USE master",
        ROUTE.0, ROUTE.1
    ));
    b.push(format!(
        "DBCC TRACEON ({}, -1) WITH NO_INFOMSGS",
        TRACE_FLAGS.map(|f| f.to_string()).join(", ")
    ));
    b.push(format!(
        "EXEC sp_addlinkedserver @server = N'{}', @srvproduct = N'ODBC', @provider = N'{}', @datasrc = N'LegacyDsn'; \
         EXEC sp_addlinkedserver @server = N'{}', @srvproduct = N'ACE 12.0', @provider = N'{}', @datasrc = N'/data/budget.xlsx', @provstr = N'Excel 12.0'",
        OTHER_PROVIDER_LINKS[0].0,
        OTHER_PROVIDER_LINKS[0].1,
        OTHER_PROVIDER_LINKS[1].0,
        OTHER_PROVIDER_LINKS[1].1
    ));
    b
}
