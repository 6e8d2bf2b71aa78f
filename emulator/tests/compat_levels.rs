//! ALTER DATABASE … SET COMPATIBILITY_LEVEL per version over TDS ("ALTER DATABASE (Transact-SQL)
//! compatibility level", "Supported compatibility level values"): SQL Server 2008 R2 takes 80
//! to 100, 2012 90 to 110, 2019 100 to 150; anything else is error 15048.

mod common;

use common::catalog_rows::{rows, strs};
use common::*;
use ferry_emulator::{Release, TlsMode};

async fn level_after(c: &mut C, level: i64) -> Result<String, u32> {
    let set = format!("ALTER DATABASE Old SET COMPATIBILITY_LEVEL = {level}");
    match c.simple_query(set.as_str()).await {
        Ok(s) => match s.into_results().await {
            Ok(_) => {}
            Err(tiberius::error::Error::Server(e)) => return Err(e.code()),
            Err(e) => panic!("{e}"),
        },
        Err(tiberius::error::Error::Server(e)) => return Err(e.code()),
        Err(e) => panic!("{e}"),
    }
    let r = rows(
        c,
        "SELECT compatibility_level FROM sys.databases WHERE name = 'Old'",
    )
    .await;
    Ok(strs(&r)[0][0].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_version_takes_its_own_range_of_levels() {
    for (release, ok, refused) in [
        (Release::Sql2008R2, vec![80, 90, 100], vec![70, 110]),
        (Release::Sql2012, vec![90, 110], vec![80, 120]),
        (Release::Sql2019, vec![100, 150], vec![90, 160]),
    ] {
        let r = start(sql_enterprise(release), TlsMode::Required).await;
        let mut c = connect(&r).await;
        exec(&mut c, "CREATE DATABASE Old").await;
        for level in ok {
            assert_eq!(
                level_after(&mut c, level).await,
                Ok(level.to_string()),
                "{release:?} {level}"
            );
        }
        for level in refused {
            assert_eq!(
                level_after(&mut c, level).await,
                Err(15048),
                "{release:?} {level}"
            );
        }
    }
}
