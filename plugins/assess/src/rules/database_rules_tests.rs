//! Each database rule predicate on facts that trigger it and facts that do not.

use super::*;
use crate::config::Config;
use crate::facts::{Assembly, InstanceFacts, ModuleScan, Route, TargetFacts};

fn run(p: Predicate, d: &DatabaseFacts) -> Vec<Hit> {
    // The troubled database's target is full and has a database of its name.
    let target = (d.name == "Sales" && d.encrypted).then(|| TargetFacts {
        user_databases: Some(100),
        databases: vec!["SALES".into()],
        ..TargetFacts::default()
    });
    let i = InstanceFacts {
        target,
        ..InstanceFacts::default()
    };
    let c = Config::default();
    p(&Subject {
        instance: &i,
        database: Some(d),
        config: &c,
    })
}

fn clean() -> DatabaseFacts {
    DatabaseFacts {
        name: "Sales".into(),
        compatibility_level: 150,
        collation: "SQL_Latin1_General_CP1_CI_AS".into(),
        recovery_model: "FULL".into(),
        state: "ONLINE".into(),
        size_bytes: 10 << 30,
        files: 2,
        log_files: 1,
        filetables: Some(Vec::new()),
        memory_optimized_tables: Some(Vec::new()),
        ..DatabaseFacts::default()
    }
}

fn troubled() -> DatabaseFacts {
    DatabaseFacts {
        compatibility_level: 90,
        not_read: Some("the database is OFFLINE".into()),
        collation: "Latin1_General_CS_AS".into(),
        recovery_model: "SIMPLE".into(),
        partially_contained: true,
        encrypted: true,
        tde_certificate: Some(("TdeCert".into(), "AB12".into())),
        size_bytes: 5 << 40,
        files: 300,
        log_files: 2,
        filestream: true,
        filetables: Some(vec!["dbo.Docs".into()]),
        memory_optimized_filegroup: true,
        memory_optimized_tables: Some(vec!["dbo.Hot".into()]),
        assemblies: vec![
            Assembly {
                name: "Safe".into(),
                permission_set: "SAFE_ACCESS".into(),
            },
            Assembly {
                name: "Net".into(),
                permission_set: "EXTERNAL_ACCESS".into(),
            },
        ],
        routes: vec![Route {
            name: "ToHr".into(),
            address: "TCP://hr01:4022".into(),
        }],
        modules: ModuleScan {
            xp_cmdshell: vec!["dbo.a".into()],
            ole_automation: vec!["dbo.b".into()],
            sql_mail: vec!["dbo.c".into()],
            distributed_transactions: vec!["dbo.d".into()],
            cross_database: vec![("dbo.e".into(), "Hr".into())],
            deprecated: vec![("dbo.f".into(), "sp_dboption".into())],
            ..ModuleScan::default()
        },
        ..clean()
    }
}

#[test]
fn each_database_rule_fires_on_its_fact_and_not_without_it() {
    for (id, p) in PREDICATES {
        assert!(!run(*p, &troubled()).is_empty(), "{id} did not fire");
        assert!(
            run(*p, &clean()).is_empty() || *id == "collation-database",
            "{id} fired on a clean database"
        );
    }
    // The clean database's collation is the target's default: no finding either.
    assert!(run(collation_database, &clean()).is_empty());
}

#[test]
fn hits_name_the_object_and_the_tiers() {
    let d = troubled();
    assert_eq!(run(filetable, &d)[0].object, "Sales.dbo.Docs");
    assert_eq!(run(clr_assemblies, &d).len(), 1);
    assert_eq!(run(clr_assemblies, &d)[0].object, "Sales.Net");
    assert!(
        run(cross_database_references, &d)[0]
            .detail
            .contains("[Hr]")
    );
    // 5 TB: over Business Critical's 4 TB only.
    assert_eq!(
        run(database_size, &d)[0].tiers,
        Some(vec![TargetTier::BusinessCritical])
    );
    // 300 files: over General Purpose's 280.
    assert_eq!(
        run(file_count, &d)[0].tiers,
        Some(vec![TargetTier::GeneralPurpose])
    );
    assert!(run(tde_certificate, &d)[0].detail.contains("0xAB12"));
    let local = DatabaseFacts {
        routes: vec![Route {
            name: "Here".into(),
            address: "LOCAL".into(),
        }],
        ..clean()
    };
    assert!(run(service_broker_routes, &local).is_empty());
}
