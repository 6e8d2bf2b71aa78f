//! Long-running ARM operations as host operations (methods.md §0.2): a PUT, PATCH, POST or
//! DELETE that answers 201/202 is followed through its `Azure-AsyncOperation` or `Location`
//! URL until it ends; the operation's result is the final resource body.

use std::sync::Arc;
use std::time::Duration;

use super::ArmClient;
use crate::bindings::types::PluginError;
use crate::operations::Reporter;

/// The pause between polls when the service does not say (`Retry-After`): ARM operations run
/// for seconds to hours, and ARM's own clients poll every few seconds.
const DEFAULT_POLL: Duration = Duration::from_secs(5);

/// Starts `method url` and follows it to the end in a host task.
pub fn start(
    client: Arc<ArmClient>,
    method: String,
    url: String,
    body: Option<String>,
    reporter: Reporter,
) {
    tokio::spawn(async move {
        match follow(&client, &method, &url, body.as_deref(), &reporter).await {
            Ok(result) => reporter.succeeded(result),
            Err(e) => reporter.failed_with(e),
        }
    });
}

async fn follow(
    client: &ArmClient,
    method: &str,
    url: &str,
    body: Option<&str>,
    reporter: &Reporter,
) -> Result<serde_json::Value, PluginError> {
    let first = client.send(method, url, body).await?;
    let parse = |b: &str| serde_json::from_str(b).unwrap_or(serde_json::Value::Null);
    let poll_url = first.async_operation.clone().or(first.location.clone());
    let Some(poll_url) = poll_url else {
        if first.status == 202 {
            return Err(PluginError::Failed(crate::bindings::types::Failure {
                message: format!(
                    "azure label `{}`: ARM accepted the request (202) but named no operation to follow",
                    client.label()
                ),
                code: Some(202),
            }));
        }
        return Ok(parse(&first.body));
    };
    if !client.trusts(&poll_url) {
        return Err(PluginError::Failed(crate::bindings::types::Failure {
            message: format!(
                "azure label `{}`: the operation URL points away from the label's endpoint; \
                 ferry does not send the token there",
                client.label()
            ),
            code: None,
        }));
    }
    let by_status = first.async_operation.is_some();
    let mut wait = first.retry_after.unwrap_or(DEFAULT_POLL);
    loop {
        tokio::time::sleep(wait).await;
        let r = client.send("GET", &poll_url, None).await?;
        wait = r.retry_after.unwrap_or(DEFAULT_POLL);
        if by_status {
            // Azure-AsyncOperation: `status` says where it is.
            let v = parse(&r.body);
            let status = v["status"].as_str().unwrap_or("InProgress");
            match status {
                "Succeeded" => {
                    // The operation's body is a status; a PUT/PATCH's result is the resource.
                    if matches!(method.to_ascii_uppercase().as_str(), "PUT" | "PATCH") {
                        let r = client.send("GET", url, None).await?;
                        return Ok(parse(&r.body));
                    }
                    return Ok(v);
                }
                "Failed" | "Canceled" | "Cancelled" => {
                    let code = v["error"]["code"].as_str().unwrap_or(status);
                    let message = v["error"]["message"].as_str().unwrap_or("no message");
                    return Err(PluginError::Failed(crate::bindings::types::Failure {
                        message: format!("azure label `{}`: {code}: {message}", client.label()),
                        code: None,
                    }));
                }
                other => {
                    let pct = v["percentComplete"].as_f64().map(|p| (p / 100.0) as f32);
                    reporter.progress(pct, Some(other.to_owned()));
                }
            }
        } else {
            // Location: 202 while it runs, then 200/201 (with the resource) or 204.
            match r.status {
                202 => reporter.progress(None, Some("InProgress".into())),
                204 => return Ok(serde_json::Value::Null),
                _ => return Ok(parse(&r.body)),
            }
        }
    }
}
