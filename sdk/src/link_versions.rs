//! Which SQL Server can have a Managed Instance link ("Prepare environment for link",
//! learn.microsoft.com, supported versions; methods.md §1.2): shared by the `mi-link` plugin,
//! which refuses to start a link, and `assess`, which says before anything runs which
//! databases the link can move.

use crate::sql_version::SqlVersion;

/// The first build of each release that supports the link: 2016 SP3 with the Azure Connect
/// pack, 2017 CU31 with its Azure Connect pack, 2019 CU20, 2022 and 2025 RTM. The revision
/// (the fourth part) is not compared: no two of these builds differ only there.
const MINIMUM: [(u32, u32, &str); 5] = [
    (
        13,
        7000,
        "13.0.7000.253 (SQL Server 2016 SP3 with the Azure Connect pack)",
    ),
    (
        14,
        3490,
        "14.0.3490.10 (SQL Server 2017 CU31 with the Azure Connect pack)",
    ),
    (15, 4312, "15.0.4312.2 (SQL Server 2019 CU20)"),
    (16, 1000, "16.0.1000.6 (SQL Server 2022 RTM)"),
    (17, 1000, "17.0.1000.7 (SQL Server 2025 RTM)"),
];

/// Why this version cannot have a link, or None.
pub fn link_refusal(v: SqlVersion) -> Option<String> {
    let found = format!("{}.{}.{}", v.major, v.minor, v.build);
    if v.major < 13 {
        return Some(format!(
            "{} ({found}) cannot have a Managed Instance link: the link needs SQL Server 2016 \
             SP3 with the Azure Connect pack or later. Use log shipping (LRS) or native \
             backup and restore instead",
            v.release()
        ));
    }
    let (_, build, needed) = MINIMUM.iter().find(|(m, ..)| *m == v.major).copied()?;
    (v.build < build).then(|| {
        format!(
            "{} build {found} is too old for the link: install at least {needed}, then run \
             `ferry apply --retry-failed`",
            v.release()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> SqlVersion {
        SqlVersion::parse(s).unwrap()
    }

    #[test]
    fn each_release_needs_its_build() {
        assert!(link_refusal(v("12.0.6024.0")).unwrap().contains("2016 SP3"));
        assert!(
            link_refusal(v("13.0.6300.2"))
                .unwrap()
                .contains("13.0.7000.253")
        );
        assert_eq!(link_refusal(v("13.0.7000.253")), None);
        assert!(
            link_refusal(v("14.0.3456.2"))
                .unwrap()
                .contains("14.0.3490.10")
        );
        assert_eq!(link_refusal(v("14.0.3490.10")), None);
        assert!(
            link_refusal(v("15.0.4311.1"))
                .unwrap()
                .contains("15.0.4312.2")
        );
        assert_eq!(link_refusal(v("15.0.4312.2")), None);
        assert_eq!(link_refusal(v("16.0.1000.6")), None);
        assert_eq!(link_refusal(v("17.0.1000.7")), None);
    }
}
