//! `ferry-emulator serve` as a user runs it: the sample set, the control API, and unmodified
//! standard clients (FreeTDS's tsql, python-tds over TLS) connecting to it and running the
//! T-SQL that clients and DBAs use, transactions included.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::serving::{SERVE_PASSWORD as PASSWORD, serve};

#[test]
fn serve_seeds_samples_and_standard_clients_connect() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let serving = serve(dir.path(), &[]);
    let (source_port, control, arm) = (
        serving.source_port,
        serving.control.clone(),
        serving.arm.clone(),
    );

    // FreeTDS's tsql, unmodified.
    let mut tsql = Command::new("tsql")
        .args([
            "-H",
            "127.0.0.1",
            "-p",
            &source_port.to_string(),
            "-U",
            "sa",
            "-P",
            PASSWORD,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("FreeTDS's tsql must be installed (scripts/test installs freetds-bin)");
    tsql.stdin.take().unwrap().write_all(b"SELECT COUNT(*) FROM SalesDb.dbo.Orders\ngo\nSELECT name FROM msdb.dbo.sysjobs ORDER BY name\ngo\nexit\n").unwrap();
    let out = tsql.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("20000"), "tsql: {text}");
    assert!(text.contains("Nightly index maintenance"), "tsql: {text}");

    // python-tds, over TLS, verifying the emulator's certificate against its CA.
    let script = format!(
        "import pytds\nwith pytds.connect(server='localhost', port={source_port}, user='sa', password='{PASSWORD}', database='master', cafile=r'{}', autocommit=True) as c:\n    cur = c.cursor()\n    cur.execute(\"SELECT SERVERPROPERTY('EngineEdition'), COUNT(*) FROM HRDb.dbo.Employees\")\n    print('ROW', cur.fetchall())\n",
        ca.display()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ROW [(3, 20000)]"),
        "python-tds: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The control API answers too.
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("import urllib.request,json; print(len(json.load(urllib.request.urlopen('{control}/source/statements'))))"))
        .output()
        .unwrap();
    let n: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(n >= 3, "the statements of both clients were recorded ({n})");

    // The target's ARM front end, with the token from the environment.
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!("import urllib.request,json; r = urllib.request.Request('{arm}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/managedInstances/ferry-target?api-version=2023-08-01', headers={{'Authorization': 'Bearer serve-arm-token'}}); print(json.load(urllib.request.urlopen(r))['name'])"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "ferry-target",
        "ARM at {arm}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Ctrl-C stops it cleanly.
    let rest = serving.stop();
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");
}

/// python-tds with its defaults (autocommit off, so each statement runs in a transaction the
/// client opens with a TM_BEGIN_XACT request and carries in ALL_HEADERS) and FreeTDS's tsql
/// (BEGIN TRAN/COMMIT/ROLLBACK as T-SQL) run the T-SQL surface.
#[test]
fn standard_clients_run_transactions_and_the_t_sql_surface() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let serving = serve(dir.path(), &[]);
    let port = serving.source_port.to_string();

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/pytds_defaults.py"
    );
    let out = Command::new("python3")
        .args([script, &port, PASSWORD])
        .arg(&ca)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = [
        "AUTOCOMMIT False",
        // The rolled-back insert is gone; the committed one stays.
        "LEDGER [(2, 'kept')]",
        // After COMMIT python-tds opens the next transaction at once.
        "TRANCOUNT [(1,)]",
        "IF [('big', 40)]",
        "EXECUTESQL [(42,)]",
        "NAMES [('HRDb', 'found')]",
        "OBJECTS [('Ledger', 'U')]",
        "REQUESTS [('SELECT',)]",
        "WHO ['spid', 'ecid', 'status', 'loginame', 'hostname', 'blk', 'dbname', 'cmd', 'request_id'] True",
        "ERROR 50000 16 3 ledger L1 is short by 7",
        "ERROR 51000 16 2 no such ledger",
        "ERROR 8134 16 1 Divide by zero error encountered.",
        "STALE 3971 16",
    ];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        expected,
        "python-tds: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // FreeTDS's tsql: one batch per `go`.
    let batches = [
        "CREATE TABLE HRDb.dbo.Journal (Id int)",
        "BEGIN TRAN; INSERT INTO HRDb.dbo.Journal VALUES (1); SELECT 'open', @@TRANCOUNT; ROLLBACK",
        "BEGIN TRANSACTION; INSERT INTO HRDb.dbo.Journal VALUES (2); COMMIT",
        "SELECT 'journal', COUNT(*), MAX(Id), @@TRANCOUNT FROM HRDb.dbo.Journal",
        "DECLARE @n int = 6; SET @n = @n * 7 - 2; IF @n > 10 SELECT 'big', @n ELSE SELECT 'small', @n",
        "EXEC sp_executesql N'SELECT ''sum'', @a + @b', N'@a int, @b int', @a = 40, @b = 2",
        "SELECT 'db', DB_NAME(DB_ID('HRDb'))",
        "RAISERROR('ledger %s is short by %d', 16, 3, N'L1', 7)",
        "THROW 51000, 'no such ledger', 2",
        "SELECT 1 / 0",
        "EXEC sp_who",
    ];
    let mut input = String::new();
    for batch in batches {
        input.push_str(batch);
        input.push_str("\ngo\n");
    }
    input.push_str("exit\n");
    let mut tsql = Command::new("tsql")
        .args(["-H", "127.0.0.1", "-p", &port, "-U", "sa", "-P", PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("FreeTDS's tsql must be installed (scripts/test installs freetds-bin)");
    tsql.stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = tsql.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for wanted in [
        "open\t1",
        "journal\t1\t2\t0",
        "big\t40",
        "sum\t42",
        "db\tHRDb",
        "Msg 50000 (severity 16, state 3)",
        "\"ledger L1 is short by 7\"",
        "Msg 51000 (severity 16, state 2)",
        "\"no such ledger\"",
        "Msg 8134 (severity 16, state 1)",
        "spid\tecid\tstatus\tloginame\thostname\tblk\tdbname\tcmd\trequest_id",
        "runnable\tsa",
    ] {
        assert!(text.contains(wanted), "tsql lacks {wanted:?}: {text}");
    }
    serving.stop();
}
