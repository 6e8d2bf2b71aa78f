//! `ferry-emulator serve` as a user runs it: the sample set, the control API, and unmodified
//! standard clients (FreeTDS's tsql, python-tds over TLS) connecting to it.

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
