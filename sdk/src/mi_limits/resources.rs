//! What each service tier offers per vCore count, for sizing an instance before it exists
//! ("Resource limits for Azure SQL Managed Instance", sql-docs
//! azure-sql/managed-instance/resource-limits.md, service tier characteristics, standard-series
//! (Gen5) hardware): vCore choices, memory per vCore, the largest reserved storage, IOPS and
//! the log write throughput limit.
//!
//! Next-gen General Purpose: the page read gives its storage (32 TB) and database count (500),
//! not its IOPS or log rate per vCore; those take General Purpose's figures, the tighter reading.

use super::tier::Tier;

/// The vCore counts an instance is made with (General Purpose and Business Critical,
/// standard-series: 4, 8, 16, 24, 32, 40, 64, 80).
pub const VCORE_CHOICES: [u32; 8] = [4, 8, 16, 24, 32, 40, 64, 80];

/// Memory per vCore on standard-series (Gen5) hardware, GB.
pub const MEMORY_GB_PER_VCORE: f64 = 5.1;

/// Reserved storage is set in multiples of 32 GB.
pub const STORAGE_STEP_GB: u64 = 32;

/// What one size of one tier offers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierLimits {
    /// The vCore count these limits are for.
    pub vcores: u32,
    /// Memory of the instance, GB ([`MEMORY_GB_PER_VCORE`] × `vcores`).
    pub memory_gb: f64,
    /// The largest reserved storage, GB (1 TB = 1,024 GB as the portal counts it).
    pub max_storage_gb: u64,
    /// Log write throughput limit of the instance, MB/s.
    pub log_rate_mbps: f64,
    /// Data and log IOPS of the instance; None on General Purpose, where IOPS come per file
    /// from its size (500 for a file up to 128 GiB … 12,500 above 4 TiB).
    pub iops: Option<u64>,
    /// Max user databases.
    pub databases: u64,
}

impl Tier {
    /// The limits of this tier at `vcores`.
    pub fn limits(self, vcores: u32) -> TierLimits {
        let tb = |t: u64| t * 1024;
        let (max_storage_gb, log_rate_mbps, iops) = match self {
            // 2 TB at 4 vCores, 8 TB at 8, 16 TB above; 3 MB/s per vCore, at most 120 MB/s.
            Tier::GeneralPurpose | Tier::Unknown => (
                match vcores {
                    0..=4 => tb(2),
                    5..=8 => tb(8),
                    _ => tb(16),
                },
                (3.0 * vcores as f64).min(120.0),
                None,
            ),
            Tier::NextGenGeneralPurpose => (tb(32), (3.0 * vcores as f64).min(120.0), None),
            // Standard-series: 1 TB up to 16 vCores, 2 TB at 24, 4 TB from 32; 4 MB/s per
            // vCore, at most 96 MB/s; 4,000 IOPS per vCore.
            Tier::BusinessCritical => (
                match vcores {
                    0..=16 => tb(1),
                    17..=24 => tb(2),
                    _ => tb(4),
                },
                (4.0 * vcores as f64).min(96.0),
                Some(4000 * vcores as u64),
            ),
        };
        TierLimits {
            vcores,
            memory_gb: MEMORY_GB_PER_VCORE * vcores as f64,
            max_storage_gb,
            log_rate_mbps,
            iops,
            databases: self.database_limit(),
        }
    }

    /// The largest reserved storage any size of this tier offers, GB.
    pub fn max_storage_gb(self) -> u64 {
        VCORE_CHOICES
            .iter()
            .map(|&v| self.limits(v).max_storage_gb)
            .max()
            .unwrap_or(0)
    }

    /// Max user databases on one instance of this tier.
    pub fn max_databases(self) -> u64 {
        self.database_limit()
    }

    /// Max files: per instance (General Purpose's 280) or per database.
    pub fn max_files(self) -> (u64, bool) {
        match self.file_limit() {
            super::tier::FileLimit::PerInstance(n) => (n, true),
            super::tier::FileLimit::PerDatabase(n) => (n, false),
        }
    }
}

/// IOPS a General Purpose data or log file gets from its size (the "File IO characteristics
/// in General Purpose tier" table).
pub fn gp_file_iops(size_bytes: u64) -> u64 {
    const GIB: u64 = 1 << 30;
    match size_bytes {
        s if s <= 128 * GIB => 500,
        s if s <= 512 * GIB => 2300,
        s if s <= 1024 * GIB => 5000,
        s if s <= 4096 * GIB => 7500,
        _ => 12_500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tier_gives_the_documented_figures() {
        let gp = Tier::GeneralPurpose;
        assert_eq!(gp.limits(4).max_storage_gb, 2048);
        assert_eq!(gp.limits(8).max_storage_gb, 8192);
        assert_eq!(gp.limits(16).max_storage_gb, 16384);
        assert_eq!(gp.limits(8).log_rate_mbps, 24.0);
        assert_eq!(gp.limits(80).log_rate_mbps, 120.0);
        assert_eq!(gp.limits(8).iops, None);
        let bc = Tier::BusinessCritical;
        assert_eq!(bc.limits(16).max_storage_gb, 1024);
        assert_eq!(bc.limits(24).max_storage_gb, 2048);
        assert_eq!(bc.limits(32).max_storage_gb, 4096);
        assert_eq!(bc.limits(8).iops, Some(32_000));
        assert_eq!(bc.limits(80).log_rate_mbps, 96.0);
        assert!((bc.limits(8).memory_gb - 40.8).abs() < 1e-9);
        assert_eq!(Tier::NextGenGeneralPurpose.max_storage_gb(), 32 * 1024);
        assert_eq!(Tier::NextGenGeneralPurpose.max_databases(), 500);
        assert_eq!(gp.max_files(), (280, true));
        assert_eq!(gp_file_iops(100 << 30), 500);
        assert_eq!(gp_file_iops(200 << 30), 2300);
        assert_eq!(gp_file_iops(5000u64 << 30), 12_500);
    }
}
