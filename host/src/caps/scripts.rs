//! `scripts`: the reviewable `.sql` files a step writes into the state directory. They hold
//! sealed values in clear (a login's password hash, a certificate's private key), so they are
//! created readable by their owner only and their header says so; nothing else the host writes
//! ever holds those values.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::bindings::HostError;
use crate::bindings::failed;
use crate::bindings::ferry::plugin::scripts::Host;
use crate::bindings::ferry::plugin::tsql::Param;
use crate::bindings::types::PluginError;
use crate::runtime::store::StepData;
use crate::sql::Prepared;

/// 1 GiB per file: far beyond any instance's objects, low enough that a plugin looping on
/// `append` fills no disk.
const MAX_FILE_BYTES: u64 = 1 << 30;

fn header(path: &Path) -> String {
    format!(
        "-- Written by ferry: {}\n\
         -- This file holds secrets in clear (password hashes, private keys, passwords given as\n\
         -- secret references) and is readable by its owner only. Keep it that way, or delete it.\n\n",
        path.display()
    )
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

/// Creates (or truncates) a file with owner-only permissions from the first byte.
fn open_private(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).write(true);
    if truncate {
        o.truncate(true);
    } else {
        o.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

impl StepData {
    fn script_path(&self, name: &str) -> Result<PathBuf, PluginError> {
        if !valid_name(name) {
            return Err(failed(format!(
                "script name `{}` must be 1–64 of a-z 0-9 - _",
                name.escape_debug()
            )));
        }
        let dir = self.scope.scripts.as_ref().ok_or_else(|| {
            failed(
                "this step may not write script files: add `scripts = true` to its \
                     [steps.grants] to let it write reviewable .sql files into the state directory",
            )
        })?;
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("creating {}: {e}", dir.display())))?;
        Ok(dir.join(format!("{name}.sql")))
    }

    fn start_script(&self, path: &Path) -> Result<(), PluginError> {
        let mut f = open_private(path, true)
            .map_err(|e| failed(format!("writing {}: {e}", path.display())))?;
        f.write_all(header(path).as_bytes())
            .map_err(|e| failed(format!("writing {}: {e}", path.display())))
    }
}

impl Host for StepData {
    async fn start(&mut self, name: String) -> Result<(), HostError> {
        let path = self.script_path(&name)?;
        self.start_script(&path)?;
        Ok(())
    }

    async fn append(
        &mut self,
        name: String,
        statement: String,
        params: Vec<Param>,
    ) -> Result<(), HostError> {
        let path = self.script_path(&name)?;
        if !path.exists() {
            self.start_script(&path)?;
        }
        let prepared = Prepared::new(&statement, self.bind(params)?)?;
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if len > MAX_FILE_BYTES {
            return Err(failed(format!(
                "{} is over 1 GiB; a step writing that much script is misbehaving",
                path.display()
            ))
            .into());
        }
        let mut f = open_private(&path, false)
            .map_err(|e| failed(format!("writing {}: {e}", path.display())))?;
        let text = prepared.for_script().trim_end();
        writeln!(f, "{text}\nGO\n")
            .map_err(|e| failed(format!("writing {}: {e}", path.display())))?;
        Ok(())
    }
}
