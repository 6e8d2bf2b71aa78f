//! The compatibility levels each version takes ("ALTER DATABASE (Transact-SQL) compatibility
//! level", the table "Supported compatibility level values": SQL Server 2008 and 2008 R2 take
//! 80, 90 and 100; 2012 takes 90 to 110; 2014 and later, and Azure SQL Managed Instance, take
//! 100 up to their own).

use crate::{Personality, Release};

/// The lowest level `p` takes.
pub fn lowest(p: &Personality) -> i64 {
    match p {
        Personality::SqlServer {
            release: Release::Sql2008 | Release::Sql2008R2,
            ..
        } => 80,
        Personality::SqlServer {
            release: Release::Sql2012,
            ..
        } => 90,
        _ => 100,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Edition, Personality, Release};

    fn sql(release: Release) -> Personality {
        Personality::SqlServer {
            release,
            edition: Edition::Enterprise,
            hadr: false,
            name: "S".into(),
        }
    }

    #[test]
    fn older_versions_take_older_levels() {
        assert_eq!(super::lowest(&sql(Release::Sql2008R2)), 80);
        assert_eq!(super::lowest(&sql(Release::Sql2012)), 90);
        assert_eq!(super::lowest(&sql(Release::Sql2014)), 100);
        let mi = Personality::ManagedInstance { name: "m".into() };
        assert_eq!(super::lowest(&mi), 100);
    }
}
