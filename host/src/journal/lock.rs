//! One `ferry apply` at a time per state directory. Two applies on the same journal would call
//! the same work items side by side (two BACKUPs, two RESTOREs of one database), so `apply`
//! holds an exclusive lock on `<state>/run.lock` for as long as it runs. It is an OS file lock
//! (`flock`): the kernel releases it when the process ends, however it ends, so a SIGKILLed
//! apply never leaves a stale lock behind. `ferry status`, `plan` and `cutover` do not take it:
//! they only read the journal, or add a signal event SQLite serializes on its own.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held while a run may change the journal; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another `ferry apply` is running on this state directory ({holder}; lock file {}); wait for it to finish, or stop that process — ferry never runs two applies on one journal",
        path.display()
    )]
    Held { path: PathBuf, holder: String },
    #[error("cannot use the run lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock file of a state directory.
pub fn lock_path(state_dir: &Path) -> PathBuf {
    state_dir.join("run.lock")
}

impl RunLock {
    /// Takes the lock without waiting, and writes who holds it (`holder`, e.g. the process id
    /// and command) into the file for the next caller's message.
    pub fn acquire(state_dir: &Path, holder: &str) -> Result<RunLock, LockError> {
        let path = lock_path(state_dir);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder may be writing its line right now; an empty read still refuses.
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim() {
                    "" => "holder unknown".to_owned(),
                    t => t.chars().take(300).collect(),
                };
                return Err(LockError::Held { path, holder });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(holder.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(RunLock { _file: file })
    }
}

/// "pid 1234, started 2026-11-29T10:02:11Z: ferry apply migration.toml" for this process.
pub fn this_process(started_unix_ms: i64) -> String {
    let args: Vec<String> = std::env::args().collect();
    let started = time::OffsetDateTime::from_unix_timestamp(started_unix_ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{started_unix_ms} ms after the epoch"));
    format!(
        "pid {}, started {started}: {}",
        std::process::id(),
        args.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_who_holds_it_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "pid 1: ferry apply a.toml").unwrap();
        match RunLock::acquire(dir.path(), "pid 2") {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, "pid 1: ferry apply a.toml"),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        RunLock::acquire(dir.path(), "pid 2").unwrap();
    }

    #[test]
    fn the_holder_line_names_the_process_and_when_it_started() {
        let line = this_process(951_782_400_000);
        assert!(
            line.starts_with(&format!(
                "pid {}, started 2000-02-29T00:00:00Z: ",
                std::process::id()
            )),
            "{line}"
        );
    }
}
