//! The largest input ferry accepts, each with why it is that size. The README's "Limits"
//! section lists the same numbers; an input past one is refused with its file, line and limit,
//! before anything else is read from it.

/// The most databases one migration lists: 50,000. A SQL Server instance holds at most 32,767
/// databases ("Maximum capacity specifications for SQL Server": databases per instance), so
/// every database of one source fits in one migration, with room to consolidate several
/// sources; a Managed Instance holds at most 100 (500 on Next-gen General Purpose, "Resource
/// limits for Azure SQL Managed Instance"), so such a migration already fills hundreds of them.
pub const MAX_DATABASES: usize = 50_000;

/// Steps each database goes through: 32. A method is one step; the rest are gates, checks and
/// scripts a team adds, a handful in practice. With [`MAX_DATABASES`] this bounds a run at
/// 1.6 million work items.
pub const MAX_STEPS: usize = 32;

/// Plugins a migration names: 32, one per step at most being all a migration can use (each is
/// loaded and compiled before anything runs, used or not).
pub const MAX_PLUGINS: usize = 32;

/// Waves: 1,000, a wave a night for nearly three years. Waves run one after another, so
/// more would mean a wave per database, which `limits.concurrency = 1` already gives.
pub const MAX_WAVES: usize = 1_000;

/// Labels of one kind a step may be granted: 64. A step talks to a source, a target, a
/// container and a few secrets; the grant checks compare every grant with every label.
pub const MAX_GRANTS: usize = 64;

/// The longest name ferry accepts for a migration, step, wave, plugin or label, and the
/// longest database name: 128 characters, as SQL Server's identifiers ("Database
/// identifiers": 1 through 128 characters; `sysname` is `nvarchar(128)`). Database names count
/// UTF-16 code units, as `nvarchar` does.
pub const MAX_NAME_CHARS: usize = 128;

/// Transient-error retries of one work item: 100. Each retry backs off, so more would keep a
/// broken item busy for days instead of reporting it.
pub const MAX_RETRIES: u32 = 100;

/// Databases in flight at once: 256, past which a migration host's own connections and
/// memory, not the servers, become the bottleneck. (LRS allows 100 restores per instance.)
pub const MAX_CONCURRENCY: usize = 256;

/// The largest `migration.toml`: 8 MiB. [`MAX_DATABASES`] names of 128 ASCII characters take
/// 6.6 MB written as a TOML list; the rest is room for steps and their config. Only this many
/// bytes are ever read, so a wrong path (a backup file, `/dev/zero`) is refused at once.
pub const MAX_MIGRATION_FILE_BYTES: u64 = 8 << 20;

/// The largest `environment.toml`: 1 MiB, thousands of labels of a few hundred bytes each.
pub const MAX_ENVIRONMENT_FILE_BYTES: u64 = 1 << 20;

/// The largest `trust_ca_file`: 1 MiB. Mozilla's whole root store, as PEM, is about 220 KB.
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;
