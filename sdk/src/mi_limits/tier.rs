//! A Managed Instance's service tier and the limits that follow from it ("Resource limits for
//! Azure SQL Managed Instance", sql-docs, service tier table).

const TB: u64 = 1 << 40;

/// The instance's service tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// General Purpose: 100 databases, 280 files per instance, data files up to 8 TB.
    GeneralPurpose,
    /// Next-gen General Purpose (ARM `isGeneralPurposeV2`): 500 databases, 4,096 files each.
    NextGenGeneralPurpose,
    /// Business Critical: 100 databases, 32,767 files per database, and the only tier that
    /// restores memory-optimized data.
    BusinessCritical,
    /// Not readable here: every check takes General Purpose's tighter limit.
    Unknown,
}

impl Tier {
    /// From ARM's `sku.tier` (`GeneralPurpose`) or `sys.server_resource_stats.sku`
    /// (`General Purpose`).
    pub fn from_sku(sku: &str, next_gen: bool) -> Tier {
        match sku.replace(' ', "").to_ascii_lowercase().as_str() {
            "generalpurpose" if next_gen => Tier::NextGenGeneralPurpose,
            "generalpurpose" => Tier::GeneralPurpose,
            "businesscritical" => Tier::BusinessCritical,
            _ => Tier::Unknown,
        }
    }

    /// The tier's name as a refusal's sentence gives it (`General Purpose`); for
    /// [`Tier::Unknown`], a phrase saying General Purpose's limits were applied.
    pub fn describe(self) -> &'static str {
        match self {
            Tier::GeneralPurpose => "General Purpose",
            Tier::NextGenGeneralPurpose => "Next-gen General Purpose",
            Tier::BusinessCritical => "Business Critical",
            Tier::Unknown => "of unknown tier (read as General Purpose)",
        }
    }

    /// Whether the tier restores memory-optimized (In-Memory OLTP) data: Business Critical
    /// only ("In-memory OLTP: Not supported" on General Purpose).
    pub fn has_in_memory_oltp(self) -> bool {
        self == Tier::BusinessCritical
    }

    /// Max number of databases per instance.
    pub(super) fn database_limit(self) -> u64 {
        match self {
            Tier::NextGenGeneralPurpose => 500,
            _ => 100,
        }
    }

    /// Max number of database files: per instance on General Purpose, per database elsewhere.
    pub(super) fn file_limit(self) -> FileLimit {
        match self {
            Tier::GeneralPurpose | Tier::Unknown => FileLimit::PerInstance(280),
            Tier::NextGenGeneralPurpose => FileLimit::PerDatabase(4_096),
            Tier::BusinessCritical => FileLimit::PerDatabase(32_767),
        }
    }

    /// Max data file size: 8 TB on General Purpose ("use at least two data files for
    /// databases larger than 8 TB"); elsewhere only the instance's storage bounds it.
    pub(super) fn data_file_limit(self) -> Option<u64> {
        (self != Tier::BusinessCritical).then_some(8 * TB)
    }
}

pub(super) enum FileLimit {
    PerInstance(u64),
    PerDatabase(u64),
}
