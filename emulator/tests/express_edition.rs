//! A SQL Server Express source says what it is ("SERVERPROPERTY (Transact-SQL)": Edition
//! "Express Edition (64-bit)", EngineEdition 4 = Express), as readiness checks read it.

mod common;

use common::catalog_rows::{rows, strs};
use common::*;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_reports_its_edition_and_engine_edition() {
    let express = Personality::SqlServer {
        release: Release::Sql2019,
        edition: Edition::Express,
        hadr: false,
        name: "SRC".into(),
    };
    let r = start(express, TlsMode::Required).await;
    let mut c = connect(&r).await;
    let q = "SELECT CAST(SERVERPROPERTY('Edition') AS nvarchar(128)), CAST(SERVERPROPERTY('EngineEdition') AS int)";
    assert_eq!(
        strs(&rows(&mut c, q).await),
        vec![vec!["Express Edition (64-bit)", "4"]]
    );
    assert_eq!(Edition::parse("Express"), Some(Edition::Express));
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(strs(&rows(&mut c, q).await)[0][1], "3");
}
