//! Which server the emulator pretends to be: a SQL Server of a chosen version and edition, or
//! an Azure SQL Managed Instance. Answers `@@VERSION`, `@@SERVERNAME` and `SERVERPROPERTY`.

use crate::protocol::types::{SqlType, Value};

/// A SQL Server release the emulator can imitate. Builds for 2016 and later are the ones
/// reference/methods.md (link prerequisites table) lists as the minimum for each version; the
/// older ones are the last service packs ("Determine which version and edition of SQL Server
/// Database Engine is running", learn.microsoft.com/troubleshoot/sql/releases/find-my-sql-version),
/// except 2012, which is SP2 so that a source from before SERVERPROPERTY('ProductMajorVersion')
/// existed can be rehearsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// 2008 SP4, 10.0.6000.29
    Sql2008,
    /// 2008 R2 SP3, 10.50.6000.34
    Sql2008R2,
    /// 2012 SP2, 11.0.5058.0 (2014: before the late-2015 updates that added ProductMajorVersion)
    Sql2012,
    /// 2014 SP3, 12.0.6024.0
    Sql2014,
    /// 2016 SP3, 13.0.6300.2
    Sql2016,
    /// 2017 CU31, 14.0.3456.2
    Sql2017,
    /// 2019 CU20, 15.0.4312.2
    Sql2019,
    /// 2022 RTM, 16.0.1000.6
    Sql2022,
    /// 2016 SP3 with the Azure Connect feature pack, 13.0.7000.253: the first 2016 build the
    /// link supports ("Prepare environment for link": SQL Server 2016 SP3 (KB 5003279) and
    /// the SQL Server 2016 Azure Connect pack (KB 5014242)).
    Sql2016AzureConnect,
    /// 2017 CU31 with the Azure Connect feature pack, 14.0.3490.10 (same page, KB 5016884).
    Sql2017AzureConnect,
    /// 2022 CU13, 16.0.4125.3: the first build whose DAG takes a planned `FAILOVER` ("Failover
    /// a link": "starting with SQL Server 2022 CU13").
    Sql2022Cu13,
    /// 2025 RTM, 17.0.1000.7.
    Sql2025,
}

impl Release {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "2008" => Release::Sql2008,
            "2008r2" | "2008R2" => Release::Sql2008R2,
            "2012" => Release::Sql2012,
            "2014" => Release::Sql2014,
            "2016" => Release::Sql2016,
            "2017" => Release::Sql2017,
            "2019" => Release::Sql2019,
            "2022" => Release::Sql2022,
            "2016-acp" => Release::Sql2016AzureConnect,
            "2017-acp" => Release::Sql2017AzureConnect,
            "2022-cu13" => Release::Sql2022Cu13,
            "2025" => Release::Sql2025,
            _ => return None,
        })
    }

    fn facts(self) -> (&'static str, (u8, u8, u16, u16), &'static str, &'static str) {
        // (year, version, product level, update level)
        match self {
            Release::Sql2008 => ("2008", (10, 0, 6000, 29), "SP4", ""),
            Release::Sql2008R2 => ("2008 R2", (10, 50, 6000, 34), "SP3", ""),
            Release::Sql2012 => ("2012", (11, 0, 5058, 0), "SP2", ""),
            Release::Sql2014 => ("2014", (12, 0, 6024, 0), "SP3", ""),
            Release::Sql2016 => ("2016", (13, 0, 6300, 2), "SP3", ""),
            Release::Sql2017 => ("2017", (14, 0, 3456, 2), "RTM", "CU31"),
            Release::Sql2019 => ("2019", (15, 0, 4312, 2), "RTM", "CU20"),
            Release::Sql2022 => ("2022", (16, 0, 1000, 6), "RTM", ""),
            Release::Sql2016AzureConnect => ("2016", (13, 0, 7000, 253), "SP3", ""),
            Release::Sql2017AzureConnect => ("2017", (14, 0, 3490, 10), "RTM", "CU31"),
            Release::Sql2022Cu13 => ("2022", (16, 0, 4125, 3), "RTM", "CU13"),
            Release::Sql2025 => ("2025", (17, 0, 1000, 7), "RTM", ""),
        }
    }
}

/// The server being imitated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personality {
    SqlServer {
        release: Release,
        edition: Edition,
        hadr: bool,
        name: String,
    },
    /// Azure SQL Managed Instance: engine edition 8, `@@VERSION` "Microsoft SQL Azure".
    ManagedInstance { name: String },
}

/// SQL Server editions with their SERVERPROPERTY('EngineEdition') values (3 = Enterprise and
/// Developer, 2 = Standard, 4 = Express). Express is modeled by what it says about itself
/// (SERVERPROPERTY) only: its limits ("Editions and supported features": 10 GB per database,
/// no SQL Server Agent, no availability groups) are not enforced by the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    Enterprise,
    Developer,
    Standard,
    Express,
}

impl Edition {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "enterprise" => Edition::Enterprise,
            "developer" => Edition::Developer,
            "standard" => Edition::Standard,
            "express" => Edition::Express,
            _ => return None,
        })
    }

    fn text(self) -> &'static str {
        match self {
            Edition::Enterprise => "Enterprise Edition (64-bit)",
            Edition::Developer => "Developer Edition (64-bit)",
            Edition::Standard => "Standard Edition (64-bit)",
            Edition::Express => "Express Edition (64-bit)",
        }
    }
}

impl Personality {
    pub fn server_name(&self) -> &str {
        match self {
            Personality::SqlServer { name, .. } | Personality::ManagedInstance { name } => name,
        }
    }

    /// The compatibility level of new databases: 100 for 2008 … 160 for 2022 and MI.
    pub fn compatibility_level(&self) -> u8 {
        match self {
            Personality::SqlServer { release, .. } => match release {
                Release::Sql2008 | Release::Sql2008R2 => 100,
                Release::Sql2012 => 110,
                Release::Sql2014 => 120,
                Release::Sql2016 | Release::Sql2016AzureConnect => 130,
                Release::Sql2017 | Release::Sql2017AzureConnect => 140,
                Release::Sql2019 => 150,
                Release::Sql2022 | Release::Sql2022Cu13 => 160,
                Release::Sql2025 => 170,
            },
            Personality::ManagedInstance { .. } => 160,
        }
    }

    pub fn is_managed_instance(&self) -> bool {
        matches!(self, Personality::ManagedInstance { .. })
    }

    /// Version for PRELOGIN and LOGINACK: major, minor, build.
    pub fn version(&self) -> (u8, u8, u16) {
        match self {
            Personality::SqlServer { release, .. } => {
                let v = release.facts().1;
                (v.0, v.1, v.2)
            }
            // MI reports 12.0.2000.8 (SQL Azure's fixed version string).
            Personality::ManagedInstance { .. } => (12, 0, 2000),
        }
    }

    pub fn product_version(&self) -> String {
        match self {
            Personality::SqlServer { release, .. } => {
                let v = release.facts().1;
                format!("{}.{}.{}.{}", v.0, v.1, v.2, v.3)
            }
            Personality::ManagedInstance { .. } => "12.0.2000.8".into(),
        }
    }

    /// `@@VERSION`, in the shape SQL Server prints it.
    pub fn version_string(&self) -> String {
        match self {
            Personality::SqlServer { release, edition, .. } => {
                let (year, _, level, update) = release.facts();
                let level = if update.is_empty() { level.to_owned() } else { format!("{level}-{update}") };
                format!(
                    "Microsoft SQL Server {year} ({level}) - {} (X64) \n\tCopyright (C) {year} Microsoft Corporation\n\t{} on Linux (ferry-emulator)\n",
                    self.product_version(),
                    edition.text()
                )
            }
            Personality::ManagedInstance { .. } => {
                "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tCopyright (C) 2022 Microsoft Corporation\n".into()
            }
        }
    }

    /// `SERVERPROPERTY(name)` as SQL Server returns it: a sql_variant with the base type of the
    /// property (nvarchar for text properties, int for flags), or NULL for an unknown name.
    pub fn server_property(&self, name: &str) -> Value {
        let text = |s: &str| {
            Value::Variant(Box::new((
                SqlType::NVarChar(Some(128)),
                Value::Text(s.to_owned()),
            )))
        };
        let int = |i: i64| Value::Variant(Box::new((SqlType::Int, Value::Int(i))));
        match (name.to_ascii_lowercase().as_str(), self) {
            ("productversion", _) => text(&self.product_version()),
            // "ProductMajorVersion … Applies to: SQL Server 2012 (11.x) through current version in
            // updates beginning in late 2015" (SERVERPROPERTY, learn.microsoft.com): NULL on the
            // 2008 releases and on 2012 SP2.
            (
                "productmajorversion",
                Personality::SqlServer {
                    release: Release::Sql2008 | Release::Sql2008R2 | Release::Sql2012,
                    ..
                },
            ) => Value::Null,
            ("productmajorversion", p) => text(&p.version().0.to_string()),
            ("productlevel", Personality::SqlServer { release, .. }) => text(release.facts().2),
            ("productlevel", Personality::ManagedInstance { .. }) => text("RTM"),
            ("productupdatelevel", Personality::SqlServer { release, .. }) => {
                let u = release.facts().3;
                if u.is_empty() { Value::Null } else { text(u) }
            }
            // "ProductUpdateType … CU: updates are based on cumulative updates; Continuous: new
            // updates as they are available. Applies to: Azure SQL Database, Azure SQL Managed
            // Instance" (SERVERPROPERTY): the emulated MI has the SQL Server 2022 update
            // policy, whose updates are CUs; NULL on SQL Server.
            ("productupdatetype", Personality::ManagedInstance { .. }) => text("CU"),
            ("edition", Personality::SqlServer { edition, .. }) => text(edition.text()),
            ("edition", Personality::ManagedInstance { .. }) => text("SQL Azure"),
            (
                "engineedition",
                Personality::SqlServer {
                    edition: Edition::Standard,
                    ..
                },
            ) => int(2),
            // "EngineEdition … 4 = Express (This is returned for Express, Express with
            // Advanced Services, and Windows Embedded SQL)" (SERVERPROPERTY).
            (
                "engineedition",
                Personality::SqlServer {
                    edition: Edition::Express,
                    ..
                },
            ) => int(4),
            ("engineedition", Personality::SqlServer { .. }) => int(3),
            // methods.md: MI reports EngineEdition 8.
            ("engineedition", Personality::ManagedInstance { .. }) => int(8),
            ("ishadrenabled", Personality::SqlServer { hadr, .. }) => int(i64::from(*hadr)),
            ("ishadrenabled", Personality::ManagedInstance { .. }) => int(1),
            ("servername" | "machinename", p) => text(p.server_name()),
            ("collation", _) => text("SQL_Latin1_General_CP1_CI_AS"),
            // "IsFullTextInstalled: 1 = Full-text and semantic indexing components are
            // installed" (SERVERPROPERTY, base type int). Full-Text Search is a setup choice on
            // SQL Server; the emulated servers are set up with it, and Managed Instance has it.
            ("isfulltextinstalled", _) => int(1),
            _ => Value::Null,
        }
    }
}
