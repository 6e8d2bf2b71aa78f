//! `ferry-emulator serve` as a child process: started with loopback ports picked for it, and
//! what it prints read back (ports, the control API, Azurite's container and SAS).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

pub const SERVE_PASSWORD: &str = "Serve#Test1";
pub const SERVE_ARM_TOKEN: &str = "serve-arm-token";

pub struct Serving {
    child: Child,
    rest: mpsc::Receiver<String>,
    pub source_port: u16,
    pub control: String,
    pub arm: String,
    pub container: Option<String>,
    pub backup_sas: Option<String>,
}

/// Serves on `dir/data` (CA in `dir/ca.pem`) with TLS optional, plus `extra` arguments.
pub fn serve(dir: &Path, extra: &[&str]) -> Serving {
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
        .arg(dir.join("data"))
        .arg("--ca-file")
        .arg(dir.join("ca.pem"))
        .args(extra)
        .env("FERRY_EMULATOR_SA_PASSWORD", SERVE_PASSWORD)
        .env("FERRY_EMULATOR_ARM_TOKEN", SERVE_ARM_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut s = Serving {
        child,
        rest: mpsc::channel().1,
        source_port: 0,
        control: String::new(),
        arm: String::new(),
        container: None,
        backup_sas: None,
    };
    for line in lines.by_ref() {
        let line = line.unwrap();
        let after = |marker: &str| line.split(marker).nth(1).map(str::trim).map(str::to_owned);
        if let Some(rest) = after("ARM front end: ") {
            s.arm = rest.split(' ').next().unwrap().to_owned();
        }
        if line.contains("source SQL Server") {
            s.source_port = line
                .split("localhost,")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
        if let Some(sas) = after("SAS for BACKUP (read/add/create/write/list): ") {
            s.backup_sas = Some(sas);
        }
        if let Some(url) = after("Azurite blob container: ") {
            s.container.get_or_insert(url);
        }
        if let Some(rest) = after("control API: ") {
            s.control = rest.split("/source").next().unwrap().to_owned();
            break;
        }
    }
    assert!(
        s.source_port > 0 && !s.control.is_empty(),
        "serve printed its addresses"
    );
    // What it prints later is kept for `stop`, and read on so it never blocks on the pipe.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    s.rest = rx;
    s
}

impl Serving {
    /// Ctrl-C; checks it exits cleanly, and returns what it printed after its start.
    pub fn stop(mut self) -> Vec<String> {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(self.child.wait().unwrap().success());
        self.rest.iter().collect()
    }
}
