//! The one PowerShell command the emulated SQL Server Agent runs: `tnc` (Test-NetConnection)
//! as the link's connectivity recipes use it ("Prepare environment for link": `tnc <host>
//! -port <n>`, optionally `-InformationLevel Quiet`, optionally piped to `select
//! ComputerName, RemoteAddress, TcpTestSucceeded | Format-List`), answered from the emulated
//! network. Its output has the shape Test-NetConnection prints, which the recipes parse.

use super::{membership, store};
use crate::instance::Instance;

/// A `tnc` command as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tnc {
    pub host: String,
    pub port: u16,
    pub quiet: bool,
}

/// Reads `command`; Err says why it is not a `tnc` the emulator runs.
pub fn parse(command: &str) -> Result<Tnc, String> {
    let first = command.split('|').next().unwrap_or("");
    let words: Vec<&str> = first.split_whitespace().collect();
    let refuse = || {
        format!(
            "ferry-emulator runs only PowerShell steps of the form 'tnc <host> -port <n> [-InformationLevel Quiet]'; this step's command is '{command}'"
        )
    };
    match words.first() {
        Some(w)
            if w.eq_ignore_ascii_case("tnc") || w.eq_ignore_ascii_case("Test-NetConnection") => {}
        _ => return Err(refuse()),
    }
    let mut host = None;
    let mut port = None;
    let mut quiet = false;
    let mut k = 1;
    while k < words.len() {
        let w = words[k];
        if w.eq_ignore_ascii_case("-port") {
            port = Some(
                words
                    .get(k + 1)
                    .and_then(|p| p.parse::<u16>().ok())
                    .ok_or_else(refuse)?,
            );
            k += 2;
        } else if w.eq_ignore_ascii_case("-InformationLevel") {
            quiet = words
                .get(k + 1)
                .is_some_and(|l| l.eq_ignore_ascii_case("Quiet"));
            k += 2;
        } else if w.eq_ignore_ascii_case("-ComputerName") {
            host = Some(words.get(k + 1).ok_or_else(refuse)?.to_string());
            k += 2;
        } else if !w.starts_with('-') && host.is_none() {
            host = Some(w.trim_matches(['\'', '"']).to_owned());
            k += 1;
        } else {
            return Err(refuse());
        }
    }
    match (host, port) {
        (Some(host), Some(port)) if port > 0 => Ok(Tnc { host, port, quiet }),
        _ => Err(refuse()),
    }
}

/// What the command printed: `True`/`False` when quiet, else the Format-List block.
pub struct Outcome {
    pub succeeded: bool,
    pub output: String,
}

/// Runs `t` from the server whose instance is `inst` (its statement holds the instance's
/// lock, so its own endpoint is read from `inst`).
pub fn run(t: &Tnc, inst: &mut Instance) -> Outcome {
    let (result, remote) = match membership::of(inst) {
        None => (Err(format!("name resolution of {} failed", t.host)), None),
        Some(p) => {
            let own = store::endpoint(inst).ok().flatten();
            match p.probe(&t.host, t.port, own) {
                Ok(addr) => (Ok(()), Some(addr)),
                Err(why) => (Err(why), p.address(&t.host)),
            }
        }
    };
    let succeeded = result.is_ok();
    let output = if t.quiet {
        if succeeded {
            "True".into()
        } else {
            "False".into()
        }
    } else {
        let mut out = String::new();
        if let Err(why) = &result {
            out.push_str(&format!(
                "WARNING: TCP connect to ({} : {}) failed: {why}\n",
                t.host, t.port
            ));
        }
        out.push_str(&format!(
            "ComputerName     : {}\nRemoteAddress    : {}\nTcpTestSucceeded : {}\n",
            t.host,
            remote.unwrap_or_default(),
            if succeeded { "True" } else { "False" }
        ));
        out
    };
    Outcome { succeeded, output }
}
