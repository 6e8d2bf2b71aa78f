//! `ferry-emulator serve` as a user runs it: the sample set, the control API, and unmodified
//! standard clients (FreeTDS's tsql, python-tds over TLS) connecting to it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const PASSWORD: &str = "Serve#Test1";

#[test]
fn serve_seeds_samples_and_standard_clients_connect() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry-emulator"))
        .args([
            "serve",
            "--source-port",
            "0",
            "--target-port",
            "0",
            "--control-port",
            "0",
            "--arm-port",
            "0",
            "--tls",
            "optional",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .arg("--ca-file")
        .arg(&ca)
        .env("FERRY_EMULATOR_SA_PASSWORD", PASSWORD)
        .env("FERRY_EMULATOR_ARM_TOKEN", "serve-arm-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut source_port, mut control, mut arm) = (0u16, String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("ARM front end: ").nth(1) {
            arm = rest.split(' ').next().unwrap().to_owned();
        }
        if line.contains("source SQL Server") {
            source_port = line
                .split("localhost,")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
        if let Some(rest) = line.split("control API: ").nth(1) {
            control = rest.split("/source").next().unwrap().to_owned();
            break;
        }
    }
    assert!(
        source_port > 0 && !control.is_empty(),
        "serve printed its addresses"
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
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");
}
