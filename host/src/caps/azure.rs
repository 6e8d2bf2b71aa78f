//! `azure`: ARM requests by label, served by [`crate::azure`]. GET needs a read grant,
//! anything else write; paths are confined to the label's scope.

use crate::bindings::ferry::plugin::azure::{
    ArmReference, ArmRequest, ArmResponse, ArmSecret, Host,
};
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed, transient};
use crate::capability::{Access, Kind};
use crate::plan::Decision;
use crate::runtime::store::StepData;

fn access_for(method: &str) -> Access {
    if method.eq_ignore_ascii_case("GET") {
        Access::Read
    } else {
        Access::Write
    }
}

impl StepData {
    /// The client and checked URL for a request, after the grant check.
    fn arm(
        &self,
        label: &str,
        request: &ArmRequest,
    ) -> Result<(std::sync::Arc<crate::azure::ArmClient>, String), PluginError> {
        let access = access_for(&request.method);
        self.arm_target(label, access, &request.path, &request.api_version)
    }

    /// `label`'s client and the checked URL of `path`, after the grant check for `access`.
    fn arm_target(
        &self,
        label: &str,
        access: Access,
        path: &str,
        api_version: &str,
    ) -> Result<(std::sync::Arc<crate::azure::ArmClient>, String), PluginError> {
        self.check(Kind::Azure, label, access)?;
        let client = self.scope.azure.get(label)?;
        let url = client.url(path, api_version)?;
        Ok((client, url))
    }

    /// The plan gate's decision on a request that changes something (anything but GET). The
    /// text holds each reference's source, never its value: the value may not exist yet while
    /// planning, and the same text must come back when the plan is applied.
    fn arm_gate(
        &self,
        label: &str,
        request: &ArmRequest,
        references: &[ArmReference],
    ) -> Result<Decision, PluginError> {
        if request.method.eq_ignore_ascii_case("GET") {
            return Ok(Decision::Run);
        }
        let mut text = match &request.body {
            Some(b) => format!(
                "{} {}?api-version={}\n{}",
                request.method.to_ascii_uppercase(),
                request.path,
                request.api_version,
                self.clean(b, 16 << 10)
            ),
            None => format!(
                "{} {}?api-version={}",
                request.method.to_ascii_uppercase(),
                request.path,
                request.api_version
            ),
        };
        for r in references {
            text.push_str(&format!("\n{}", describe(r)));
        }
        // The body was capped above, references are a few short lines: the whole text is
        // well under this.
        self.plan_gate("arm", label, &text, 64 << 10)
    }
}

/// Writes each secret into `body` where the JSON string `"{{name}}"` stands.
fn seal_into(body: &str, values: &[(String, String)]) -> Result<String, PluginError> {
    let mut out = body.to_owned();
    for (name, value) in values {
        let placeholder = format!("\"{{{{{name}}}}}\"");
        if !out.contains(&placeholder) {
            return Err(failed(format!(
                "the request's body has no \"{{{{{name}}}}}\" for `{name}`"
            )));
        }
        let json = serde_json::to_string(value).unwrap_or_default();
        out = out.replace(&placeholder, &json);
    }
    Ok(out)
}

impl StepData {
    /// `request` and `request-sealed`: grant check, plan gate, then the request with the
    /// secrets written into its body. The gate and the logs see the body with its
    /// placeholders; only the wire gets the values.
    async fn send_request(
        &mut self,
        label: &str,
        request: ArmRequest,
        values: &[(String, String)],
    ) -> Result<ArmResponse, PluginError> {
        let (client, url) = self.arm(label, &request)?;
        if self.arm_gate(label, &request, &[])? == Decision::Recorded {
            return Ok(ArmResponse {
                status: 202,
                body: r#"{"planned":true}"#.into(),
            });
        }
        let body = match request.body.as_deref() {
            Some(b) => Some(seal_into(b, values)?),
            None => None,
        };
        let r = client.send(&request.method, &url, body.as_deref()).await?;
        Ok(ArmResponse {
            status: r.status,
            body: self.clean(&r.body, 1 << 20),
        })
    }
}

impl Host for StepData {
    async fn request_sealed(
        &mut self,
        label: String,
        request: ArmRequest,
        secrets: Vec<ArmSecret>,
    ) -> Result<ArmResponse, HostError> {
        let values = self.arm_secret_values(secrets)?;
        Ok(self.send_request(&label, request, &values).await?)
    }

    async fn request(
        &mut self,
        label: String,
        request: ArmRequest,
    ) -> Result<ArmResponse, HostError> {
        Ok(self.send_request(&label, request, &[]).await?)
    }

    async fn begin(&mut self, label: String, request: ArmRequest) -> Result<String, HostError> {
        Ok(self.begin_operation(&label, request, &[])?)
    }

    async fn begin_sealed(
        &mut self,
        label: String,
        request: ArmRequest,
        secrets: Vec<ArmSecret>,
    ) -> Result<String, HostError> {
        let values = self.arm_secret_values(secrets)?;
        Ok(self.begin_operation(&label, request, &values)?)
    }

    async fn begin_with_references(
        &mut self,
        label: String,
        request: ArmRequest,
        secrets: Vec<ArmSecret>,
        references: Vec<ArmReference>,
    ) -> Result<String, HostError> {
        let mut values = self.arm_secret_values(secrets)?;
        let (client, url) = self.arm(&label, &request)?;
        let clients = references
            .iter()
            .map(|r| self.reference_client(r))
            .collect::<Result<Vec<_>, _>>()?;
        let decision = self.arm_gate(&label, &request, &references)?;
        if decision == Decision::Run {
            for (r, (client, url)) in references.iter().zip(clients) {
                let value = resolve(r, &client, &url)
                    .await
                    .map_err(|e| self.clean_error(e))?;
                values.push((r.name.clone(), value));
            }
        }
        Ok(self.start_operation(client, url, &request, decision, &values)?)
    }
}

impl StepData {
    /// The values of the secrets a request's body names, by placeholder name.
    fn arm_secret_values(
        &self,
        secrets: Vec<ArmSecret>,
    ) -> Result<Vec<(String, String)>, PluginError> {
        secrets
            .into_iter()
            .map(|s| {
                let value = self.sealed_value(&s.secret, &format!("secret `{}`", s.name))?;
                Ok((s.name, value))
            })
            .collect()
    }
}

/// How a reference reads in plans and logs.
fn describe(r: &ArmReference) -> String {
    format!(
        "{{{{{}}}}} = GET {}?api-version={} {} (on `{}`)",
        r.name, r.path, r.api_version, r.pointer, r.label
    )
}

impl StepData {
    /// A reference's client and URL, after its label's read grant.
    fn reference_client(
        &self,
        r: &ArmReference,
    ) -> Result<(std::sync::Arc<crate::azure::ArmClient>, String), PluginError> {
        self.arm_target(&r.label, Access::Read, &r.path, &r.api_version)
    }
}

/// Reads a reference's value: its GET, then the string at its pointer. A free function: the
/// step's data is not `Sync`, so no borrow of it may live across the GET.
async fn resolve(
    r: &ArmReference,
    client: &crate::azure::ArmClient,
    url: &str,
) -> Result<String, PluginError> {
    let text = |e: String| {
        format!(
            "`{{{{{}}}}}` comes from GET {} on `{}`, {e}; nothing was sent",
            r.name, r.path, r.label
        )
    };
    let reply = match client.send("GET", url, None).await {
        Ok(reply) => reply,
        Err(PluginError::Failed(f)) => {
            return Err(failed(text(format!("which failed: {}", f.message))));
        }
        // Still worth a retry of the step, as the GET's own failure would be.
        Err(PluginError::Transient(f)) => {
            return Err(transient(text(format!("which failed: {}", f.message))));
        }
        Err(e) => return Err(e),
    };
    let body: serde_json::Value = serde_json::from_str(&reply.body)
        .map_err(|_| failed(text("which answered with a body that is not JSON".into())))?;
    match body.pointer(&r.pointer) {
        Some(serde_json::Value::String(v)) if !v.is_empty() => Ok(v.clone()),
        _ => Err(failed(text(format!(
            "which has no string at {}",
            r.pointer
        )))),
    }
}

impl StepData {
    /// `begin` and `begin-sealed`: grant check, plan gate (which sees the placeholders), then
    /// the request with its secrets written in, followed as a host operation.
    fn begin_operation(
        &mut self,
        label: &str,
        request: ArmRequest,
        values: &[(String, String)],
    ) -> Result<String, PluginError> {
        let (client, url) = self.arm(label, &request)?;
        let decision = self.arm_gate(label, &request, &[])?;
        self.start_operation(client, url, &request, decision, values)
    }

    /// Starts a request the gate has decided on as a host operation.
    fn start_operation(
        &mut self,
        client: std::sync::Arc<crate::azure::ArmClient>,
        url: String,
        request: &ArmRequest,
        decision: Decision,
        values: &[(String, String)],
    ) -> Result<String, PluginError> {
        // Sealed before the operation exists, so a body without its placeholder leaves none
        // running.
        let body = match request.body.as_deref() {
            Some(b) => Some(seal_into(b, values)?),
            None => None,
        };
        let owner = (self.scope.step.clone(), self.scope.item.clone());
        let description = format!(
            "{} {}",
            request.method.to_ascii_uppercase(),
            self.clean(&request.path, 512)
        );
        let (id, reporter) = self.scope.ops.begin(owner, description);
        match decision {
            Decision::Run => {
                crate::azure::lro::start(client, request.method.clone(), url, body, reporter)
            }
            Decision::Recorded => reporter.succeeded(serde_json::json!({ "planned": true })),
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::seal_into;

    #[test]
    fn secrets_go_where_their_placeholder_is_as_json_strings() {
        let body = r#"{"properties":{"storageContainerSasToken":"{{sas}}","other":"{{sas}}x"}}"#;
        let out = seal_into(body, &[("sas".into(), "sv=1&sig=a\"b".into())]).unwrap();
        assert_eq!(
            out,
            r#"{"properties":{"storageContainerSasToken":"sv=1&sig=a\"b","other":"{{sas}}x"}}"#
        );
        assert!(seal_into(body, &[("nope".into(), "v".into())]).is_err());
    }
}
