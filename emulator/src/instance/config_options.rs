//! The server configuration options `sys.configurations` lists, with SQL Server's ids, names,
//! defaults, ranges, descriptions and dynamic/advanced flags ("Server configuration options
//! (SQL Server)" and "sys.configurations (Transact-SQL)"; the descriptions are the catalog's
//! own). Each option carries the compatibility level of the release that brought it, so an
//! older personality lists fewer (a guess where the documentation gives no version: such
//! options are marked from 2008).

/// (configuration_id, name, default, minimum, maximum, description, is_dynamic, is_advanced,
/// since compatibility level).
pub(crate) type ConfigOption = (
    i64,
    &'static str,
    i64,
    i64,
    i64,
    &'static str,
    bool,
    bool,
    u8,
);

const I32_MIN: i64 = -2_147_483_648;
const I32_MAX: i64 = 2_147_483_647;

#[rustfmt::skip]
pub(crate) const OPTIONS: &[ConfigOption] = &[
    (101, "recovery interval (min)", 0, 0, 32767, "Maximum recovery interval in minutes", true, true, 100),
    (102, "allow updates", 0, 0, 1, "Allow updates to system tables", true, false, 100),
    (103, "user connections", 0, 0, 32767, "Number of user connections allowed", false, true, 100),
    (106, "locks", 0, 5000, I32_MAX, "Number of locks for all users", false, true, 100),
    (107, "open objects", 0, 0, I32_MAX, "Number of open database objects", false, true, 100),
    (109, "fill factor (%)", 0, 0, 100, "Default fill factor percentage", false, true, 100),
    (114, "disallow results from triggers", 0, 0, 1, "Disallow returning results from triggers", true, true, 100),
    (115, "nested triggers", 1, 0, 1, "Allow triggers to be invoked within triggers", true, false, 100),
    (116, "server trigger recursion", 1, 0, 1, "Allow recursion for server level triggers", true, false, 100),
    (117, "remote access", 1, 0, 1, "Allow remote access", false, false, 100),
    (124, "default language", 0, 0, 9999, "default language", true, false, 100),
    (400, "cross db ownership chaining", 0, 0, 1, "Allow cross db ownership chaining", true, false, 100),
    (503, "max worker threads", 0, 128, 65535, "Maximum worker threads", true, true, 100),
    (505, "network packet size (B)", 4096, 512, 32767, "Network packet size", true, true, 100),
    (518, "show advanced options", 0, 0, 1, "show advanced options", true, false, 100),
    (542, "remote proc trans", 0, 0, 1, "Create DTC transaction for remote procedures", true, false, 100),
    (544, "c2 audit mode", 0, 0, 1, "c2 audit mode", false, true, 100),
    (1126, "default full-text language", 1033, 0, I32_MAX, "default full-text language", true, true, 100),
    (1127, "two digit year cutoff", 2049, 1753, 9999, "two digit year cutoff", true, true, 100),
    (1505, "index create memory (KB)", 0, 704, I32_MAX, "Memory for index create sorts (kBytes)", true, true, 100),
    (1517, "priority boost", 0, 0, 1, "Priority boost", false, true, 100),
    (1519, "remote login timeout (s)", 10, 0, I32_MAX, "remote login timeout", true, false, 100),
    (1520, "remote query timeout (s)", 600, 0, I32_MAX, "remote query timeout", true, false, 100),
    (1531, "cursor threshold", -1, -1, I32_MAX, "cursor threshold", true, true, 100),
    (1532, "set working set size", 0, 0, 1, "set working set size", false, true, 100),
    (1534, "user options", 0, 0, 32767, "user options", true, false, 100),
    (1535, "affinity mask", 0, I32_MIN, I32_MAX, "affinity mask", true, true, 100),
    (1536, "max text repl size (B)", 65536, -1, I32_MAX, "Maximum size of a text field in replication.", true, false, 100),
    (1537, "media retention", 0, 0, 365, "Tape retention period in days", true, true, 100),
    (1538, "cost threshold for parallelism", 5, 0, 32767, "cost threshold for parallelism", true, true, 100),
    (1539, "max degree of parallelism", 0, 0, 32767, "maximum degree of parallelism", true, true, 100),
    (1540, "min memory per query (KB)", 1024, 512, I32_MAX, "minimum memory per query (kBytes)", true, true, 100),
    (1541, "query wait (s)", -1, -1, I32_MAX, "maximum time to wait for query memory (s)", true, true, 100),
    (1543, "min server memory (MB)", 0, 0, I32_MAX, "Minimum size of server memory (MB)", true, true, 100),
    (1544, "max server memory (MB)", I32_MAX, 128, I32_MAX, "Maximum size of server memory (MB)", true, true, 100),
    (1545, "query governor cost limit", 0, 0, I32_MAX, "Maximum estimated cost allowed by query governor", true, true, 100),
    (1546, "lightweight pooling", 0, 0, 1, "User mode scheduler uses lightweight pooling", false, true, 100),
    (1547, "scan for startup procs", 0, 0, 1, "scan for startup stored procedures", false, true, 100),
    (1549, "affinity64 mask", 0, I32_MIN, I32_MAX, "affinity64 mask", true, true, 100),
    (1550, "affinity I/O mask", 0, I32_MIN, I32_MAX, "affinity I/O mask", false, true, 100),
    (1551, "affinity64 I/O mask", 0, I32_MIN, I32_MAX, "affinity64 I/O mask", false, true, 100),
    (1555, "transform noise words", 0, 0, 1, "Transform noise words for full-text query", true, true, 100),
    (1556, "precompute rank", 0, 0, 1, "Use precomputed rank for full-text query", true, true, 100),
    (1557, "PH timeout (s)", 60, 1, 3600, "DB connection timeout for full-text protocol handler (s)", true, true, 100),
    (1562, "clr enabled", 0, 0, 1, "CLR user code execution enabled in the server", true, false, 100),
    (1563, "max full-text crawl range", 4, 0, 256, "Maximum  crawl ranges allowed in full-text indexing", true, true, 100),
    (1564, "ft notify bandwidth (min)", 0, 0, 32767, "Number of reserved full-text notifications buffers", true, true, 100),
    (1565, "ft notify bandwidth (max)", 100, 0, 32767, "Max number of full-text notifications buffers", true, true, 100),
    (1566, "ft crawl bandwidth (min)", 0, 0, 32767, "Number of reserved full-text crawl buffers", true, true, 100),
    (1567, "ft crawl bandwidth (max)", 100, 0, 32767, "Max number of full-text crawl buffers", true, true, 100),
    (1568, "default trace enabled", 1, 0, 1, "Enable or disable the default trace", true, true, 100),
    (1569, "blocked process threshold (s)", 0, 0, 86400, "Blocked process reporting threshold", true, true, 100),
    (1570, "in-doubt xact resolution", 0, 0, 2, "Recovery policy for DTC transactions with unknown outcome", true, true, 100),
    (1576, "remote admin connections", 0, 0, 1, "Dedicated Admin Connections are allowed from remote clients", true, false, 100),
    (1577, "common criteria compliance enabled", 0, 0, 1, "Common Criteria compliance mode enabled", false, true, 100),
    (1578, "EKM provider enabled", 0, 0, 1, "Enable or disable EKM provider", true, true, 100),
    (1579, "backup compression default", 0, 0, 1, "Enable compression of backups by default", true, false, 100),
    (1580, "filestream access level", 0, 0, 2, "Sets the FILESTREAM access level", true, false, 100),
    (1581, "optimize for ad hoc workloads", 0, 0, 1, "When this option is set, plan cache size is further reduced for single-use adhoc OLTP workload.", true, true, 100),
    (1582, "access check cache bucket count", 0, 0, 65536, "Default hash bucket count for the access check result security cache", true, true, 100),
    (1583, "access check cache quota", 0, 0, I32_MAX, "Default quota for the access check result security cache", true, true, 100),
    (1584, "backup checksum default", 0, 0, 1, "Enable checksum of backups by default", true, false, 120),
    (1585, "automatic soft-NUMA disabled", 0, 0, 1, "Automatic soft-NUMA is enabled by default", false, true, 130),
    (1586, "external scripts enabled", 0, 0, 1, "Allows execution of external scripts", true, false, 130),
    (1587, "clr strict security", 1, 0, 1, "CLR strict security enabled in the server", true, true, 140),
    (1588, "column encryption enclave type", 0, 0, 2, "Type of enclave used for computations on encrypted columns", false, false, 150),
    (1589, "tempdb metadata memory-optimized", 0, 0, 1, "Tempdb metadata memory-optimized is disabled by default.", false, true, 150),
    (1591, "ADR cleaner retry timeout (min)", 15, 0, 32767, "ADR cleaner retry timeout.", true, true, 150),
    (1592, "ADR Preallocation Factor", 4, 0, 32767, "ADR Preallocation Factor.", true, true, 150),
    (1595, "Data processed daily limit in TB", I32_MAX, 0, I32_MAX, "SQL On-demand data processed daily limit in TB", true, false, 160),
    (1596, "Data processed weekly limit in TB", I32_MAX, 0, I32_MAX, "SQL On-demand data processed weekly limit in TB", true, false, 160),
    (1597, "Data processed monthly limit in TB", I32_MAX, 0, I32_MAX, "SQL On-demand data processed monthly limit in TB", true, false, 160),
    (1598, "ADR Cleaner Thread Count", 1, 1, 32767, "Max number of threads ADR cleaner can assign.", true, true, 160),
    (1602, "backup compression algorithm", 0, 0, 3, "Configure default backup compression algorithm", true, false, 160),
    (16384, "Agent XPs", 0, 0, 1, "Enable or disable Agent XPs", true, true, 100),
    (16386, "Database Mail XPs", 0, 0, 1, "Enable or disable Database Mail XPs", true, true, 100),
    (16387, "SMO and DMO XPs", 1, 0, 1, "Enable or disable SMO and DMO XPs", true, true, 100),
    (16388, "Ole Automation Procedures", 0, 0, 1, "Enable or disable Ole Automation Procedures", true, true, 100),
    (16390, "xp_cmdshell", 0, 0, 1, "Enable or disable command shell", true, true, 100),
    (16391, "Ad Hoc Distributed Queries", 0, 0, 1, "Enable or disable Ad Hoc Distributed Queries", true, true, 100),
    (16392, "Replication XPs", 0, 0, 1, "Enable or disable Replication XPs", true, true, 100),
    (16393, "contained database authentication", 0, 0, 1, "Enables contained databases and contained authentication", true, false, 110),
    (16394, "hadoop connectivity", 0, 0, 7, "Configure SQL Server to connect to external Hadoop or Microsoft Azure storage blob data sources through PolyBase", false, false, 130),
    (16395, "polybase network encryption", 1, 0, 1, "Configure SQL Server to encrypt control and data channels when using PolyBase", false, false, 130),
    (16396, "remote data archive", 0, 0, 1, "Allow the use of the REMOTE_DATA_ARCHIVE data access for databases", true, false, 130),
    (16397, "allow polybase export", 0, 0, 1, "Allow INSERT into a Hadoop external table", true, false, 130),
    (16398, "allow filesystem enumeration", 1, 0, 1, "Allow enumeration of filesystem", true, true, 140),
    (16399, "polybase enabled", 0, 0, 1, "Configure SQL Server to connect to external data sources through PolyBase", true, false, 150),
];

/// Options a later release removed: `SQL Mail XPs` went with SQL Mail, which SQL Server 2012
/// removed ("Discontinued Database Engine functionality in SQL Server 2012": SQL Mail; use
/// Database Mail). Listed by the 2008 and 2008 R2 personalities only (compatibility level 100).
#[rustfmt::skip]
pub(crate) const REMOVED_IN_2012: &[ConfigOption] = &[
    (16385, "SQL Mail XPs", 0, 0, 1, "Enable or disable SQL Mail XPs", true, true, 100),
];

/// Options only a Managed Instance has ("ALTER DATABASE SET RECOVERY" on MI: the error can be
/// suppressed by this option, message 41941).
#[rustfmt::skip]
pub(crate) const MI_ONLY: &[ConfigOption] = &[
    (16400, "suppress recovery model errors", 0, 0, 1, "Return warning instead of error for unsupported ALTER DATABASE SET RECOVERY command", true, true, 160),
];

/// Options a Managed Instance does not support ("T-SQL differences between SQL Server and
/// Azure SQL Managed Instance", Stored procedures, functions, and triggers: the sp_configure
/// options it does not support, and xp_cmdshell). What MI answers for them is not documented;
/// the emulator leaves them out of its sys.configurations, so sp_configure answers as SQL
/// Server does for an option it does not have (error 15123), the closest documented refusal.
pub(crate) const MI_UNSUPPORTED: &[&str] = &[
    "allow polybase export",
    "allow updates",
    "filestream access level",
    "remote access",
    "remote data archive",
    "remote proc trans",
    "scan for startup procs",
    "xp_cmdshell",
];

impl super::Instance {
    /// An option's (value, value_in_use) in `sys.configurations`, if the server has it.
    pub fn configuration(&self, name: &str) -> Option<(i64, i64)> {
        self.conn
            .query_row(
                r#"SELECT CAST(value AS int), CAST(value_in_use AS int) FROM main."sys.configurations" WHERE name = ?1 COLLATE NOCASE"#,
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    }
}
