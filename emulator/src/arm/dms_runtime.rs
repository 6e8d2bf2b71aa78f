//! The emulated self-hosted integration runtime: nodes register with a service's current
//! authentication key and go offline or online at a test's word; a migration from a share
//! is read by it. It maps a UNC prefix (`\\host\share`) to a local folder, reads each new
//! backup's header, and uploads the file into the migration's container in the target
//! storage account with per-file status Arrived → Queued → Uploading → Uploaded
//! (methods.md §3.1, §3.4). While no node is online the migration waits as `Retriable` with
//! 2014 `IntegrationRuntimeIsNotOnline`, and carries on when one is back.

use std::path::PathBuf;
use std::sync::Arc;

use super::dms_state::{FileSeen, Migration, Node, Source};
use super::state::Arm;

impl Arm {
    /// The local folder a UNC path maps to, if a share prefix covers it.
    pub(super) fn share_folder(&self, path: &str) -> Option<PathBuf> {
        let lower = path.to_ascii_lowercase().replace('/', "\\");
        let shares = self.dms.shares.lock();
        let (prefix, dir) = shares
            .iter()
            .filter(|(p, _)| lower == *p || lower.starts_with(&format!("{p}\\")))
            .max_by_key(|(p, _)| p.len())?;
        let rest = path[prefix.len()..].trim_start_matches(['\\', '/']);
        let mut out = dir.clone();
        for part in rest.split(['\\', '/']).filter(|s| !s.is_empty()) {
            if part == ".." {
                return None;
            }
            out.push(part);
        }
        out.is_dir().then_some(out)
    }

    /// Registers node `node` with `auth_key`: the service whose current key it is gets the
    /// node, online. A key that is no service's current key is refused (a regenerated key
    /// no longer registers).
    pub(super) fn register_node(&self, auth_key: &str, node: &str) -> Result<String, String> {
        let mut services = self.dms.services.lock();
        let s = services
            .values_mut()
            .find(|s| s.keys.iter().any(|k| k == auth_key))
            .ok_or("the authentication key is not a current key of any SQL migration service")?;
        match s
            .nodes
            .iter_mut()
            .find(|n| n.name.eq_ignore_ascii_case(node))
        {
            Some(n) => n.online = true,
            None => s.nodes.push(Node {
                name: node.to_owned(),
                online: true,
            }),
        }
        Ok(s.name.clone())
    }

    /// Takes node `node` (of any service) offline or back online; false when no such node.
    pub(super) fn set_node_online(&self, node: &str, online: bool) -> bool {
        let mut services = self.dms.services.lock();
        let mut found = false;
        for n in services.values_mut().flat_map(|s| s.nodes.iter_mut()) {
            if n.name.eq_ignore_ascii_case(node) {
                n.online = online;
                found = true;
            }
        }
        found
    }

    /// The source server a `dataSource` names for the runtime: `Ok(None)` when no source was
    /// made known (nothing to check against), `Err` when some were and this is none of them.
    pub(super) fn runtime_source(
        &self,
        data_source: &str,
    ) -> Result<Option<Arc<crate::server::Server>>, ()> {
        let sources = self.dms.sources.lock();
        if sources.is_empty() {
            return Ok(None);
        }
        let want = data_source
            .trim()
            .trim_start_matches("tcp:")
            .to_ascii_lowercase();
        sources
            .iter()
            .find(|(n, _)| *n == want)
            .map(|(_, s)| Some(s.clone()))
            .ok_or(())
    }

    fn runtime_online(&self, service: &str) -> bool {
        self.dms
            .services
            .lock()
            .get(&service.to_ascii_lowercase())
            .is_some_and(|s| s.nodes.iter().any(|n| n.online))
    }
}

/// Creates the migration's container in the target account (DMS creates it, methods.md
/// §3.1); one that exists already is fine.
pub(super) async fn create_container(source: &Source) -> Result<(), String> {
    let Source::Share {
        endpoint,
        account,
        key,
        container,
        ..
    } = source
    else {
        return Ok(());
    };
    let sas = crate::azurite::account_sas(account, key, "2099-01-01T00:00:00Z")
        .map_err(|e| e.to_string())?;
    let url = format!(
        "{}/{container}?restype=container&{sas}",
        endpoint.trim_end_matches('/')
    );
    let r = reqwest::Client::new()
        .put(url)
        .header("x-ms-version", "2021-12-02")
        .header("content-length", "0")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        200..=299 | 409 => Ok(()),
        s => Err(format!("creating container {container} answered {s}")),
    }
}

/// One look at the share: new files are read and uploaded while a node is online.
pub(super) async fn step(arm: &Arc<Arm>, m: &Migration) -> Result<(), (String, String)> {
    let Source::Share {
        path,
        local,
        endpoint,
        account,
        key,
        container,
    } = &m.source
    else {
        return Ok(());
    };
    if !arm.runtime_online(&m.service_name) {
        let mut run = m.run.lock();
        if !run.ended() {
            run.status = "Retriable";
            run.error = Some((
                "IntegrationRuntimeIsNotOnline".into(),
                format!(
                    "Integration Runtime '{}' is not online for resource group '{}' subscription '{}'",
                    m.service_name, arm.options.resource_group, arm.options.subscription
                ),
            ));
        }
        return Ok(());
    }
    {
        let mut run = m.run.lock();
        if run.status == "Retriable" {
            run.status = "InProgress";
            run.error = None;
        }
    }
    let entries = std::fs::read_dir(local).map_err(|e| {
        (
            "TestConnectionFailed".to_owned(),
            format!("Failed to test connections using provided Integration Runtime. Error details: '{path}: {e}'"),
        )
    })?;
    // The runtime is online and reaches the share: the validations passed and the migration
    // started ("provisioningState = Succeeded", methods.md §3.3 step 4), before any upload;
    // what the uploads and the restore find wrong fails the migration, not its start.
    {
        let mut run = m.run.lock();
        if run.provisioning == "Provisioning" {
            run.provisioning = "Succeeded";
        }
    }
    let mut names: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    names.sort();
    let write_sas =
        crate::azurite::container_sas(account, key, container, "racwl", "2099-01-01T00:00:00Z")
            .map_err(|e| ("InvalidStorageAccount".to_owned(), e.to_string()))?;
    for (name, file) in names {
        if seen(m, &name) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        if let Some(why) = source_refuses(arm, m, &file) {
            let mut run = m.run.lock();
            run.upload_errors.push(format!("{name}: {why}"));
            run.invalid.push(name);
            continue;
        }
        let header = match crate::backup::decode(&bytes) {
            Ok((h, _)) => h,
            Err(_) => {
                m.run.lock().invalid.push(name);
                continue;
            }
        };
        let size = bytes.len() as u64;
        m.run.lock().files.push(FileSeen {
            name: name.clone(),
            size,
            header: Some(header),
            status: "Arrived",
        });
        set_status(m, &name, "Queued");
        set_status(m, &name, "Uploading");
        let slow = *arm.dms.upload_time.lock();
        tokio::time::sleep(slow).await;
        let loc = crate::blob::BlobLocation {
            container_url: format!("{}/{container}", endpoint.trim_end_matches('/')),
            blob: name.clone(),
        };
        let uploaded = crate::blob::upload(&loc, &write_sas, bytes, true).await;
        match uploaded {
            Ok(()) => set_status(m, &name, "Uploaded"),
            Err(e) => {
                let mut run = m.run.lock();
                run.upload_errors.push(format!("{name}: {e:?}"));
                run.files.retain(|f| f.name != name);
            }
        }
    }
    Ok(())
}

fn set_status(m: &Migration, name: &str, status: &'static str) {
    if let Some(f) = m.run.lock().files.iter_mut().find(|f| f.name == name) {
        f.status = status;
    }
}

fn seen(m: &Migration, name: &str) -> bool {
    m.run.lock().seen(name)
}

/// What the source SQL Server says when the runtime has it read `file`'s header
/// (`RESTORE HEADERONLY`, as the runtime validates backups against the source, methods.md
/// §3.1), or None when it reads it (or no source server was made known).
fn source_refuses(arm: &Arm, m: &Migration, file: &std::path::Path) -> Option<String> {
    let data_source = m.request["sourceSqlConnection"]["dataSource"]
        .as_str()
        .unwrap_or_default();
    let server = arm.runtime_source(data_source).ok().flatten()?;
    let sql = format!(
        "RESTORE HEADERONLY FROM DISK = N'{}'",
        file.display().to_string().replace('\'', "''")
    );
    match tokio::task::block_in_place(|| server.run_sql(&sql)) {
        Ok(out) => out.iter().find_map(|o| match o {
            crate::sql::Outcome::Error(e) => Some(format!("Msg {}: {}", e.number, e.text)),
            crate::sql::Outcome::Errors(v) => {
                v.first().map(|e| format!("Msg {}: {}", e.number, e.text))
            }
            _ => None,
        }),
        Err(e) => Some(format!("Msg {}: {}", e.number, e.text)),
    }
}
