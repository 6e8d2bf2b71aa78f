//! sys.dm_os_performance_counters' names are nchar(128), blank-padded ("sys.dm_os_performance_
//! counters"), and `=` and IN ignore trailing blanks as SQL Server's comparisons do ("How SQL
//! Server compares strings with trailing spaces"): a monitoring query written with the bare
//! names finds its counters, and the padding is still there to see.

mod common;

use common::catalog_rows::{rows, strs};
use common::*;
use ferry_emulator::TlsMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_found_by_their_bare_names() {
    let r = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let by_eq = rows(
        &mut c,
        "SELECT RTRIM(object_name), RTRIM(counter_name) FROM sys.dm_os_performance_counters \
         WHERE object_name LIKE N'%:Memory Manager%' AND counter_name = N'Total Server Memory (KB)'",
    )
    .await;
    assert_eq!(
        strs(&by_eq),
        vec![vec!["SQLServer:Memory Manager", "Total Server Memory (KB)"]]
    );
    let by_in = rows(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_os_performance_counters WHERE counter_name IN \
         (N'Total Server Memory (KB)', N'Target Server Memory (KB)') AND instance_name = N''",
    )
    .await;
    assert_eq!(strs(&by_in), vec![vec!["2"]]);
    // Still blank-padded to 128 characters.
    let padded = rows(
        &mut c,
        "SELECT counter_name FROM sys.dm_os_performance_counters \
         WHERE counter_name = N'Batch Requests/sec'",
    )
    .await;
    assert_eq!(padded.len(), 1);
    assert_eq!(padded[0][0].chars().count(), 128, "{:?}", padded[0][0]);
    assert_eq!(padded[0][0].trim_end(), "Batch Requests/sec");
    // Case is not folded (stricter than a _CI_ collation): no match in another case.
    let other_case = rows(
        &mut c,
        "SELECT COUNT(*) FROM sys.dm_os_performance_counters WHERE counter_name = N'total server memory (kb)'",
    )
    .await;
    assert_eq!(strs(&other_case), vec![vec!["0"]]);
}
