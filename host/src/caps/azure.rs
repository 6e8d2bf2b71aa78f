//! `azure`: ARM requests by label, served by [`crate::azure`]. GET needs a read grant,
//! anything else write; paths are confined to the label's scope.

use crate::bindings::ferry::plugin::azure::{ArmRequest, ArmResponse, ArmSecret, Host};
use crate::bindings::types::PluginError;
use crate::bindings::{HostError, failed};
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
        self.check(Kind::Azure, label, access_for(&request.method))?;
        let client = self.scope.azure.get(label)?;
        let url = client.url(&request.path, &request.api_version)?;
        Ok((client, url))
    }

    /// The plan gate's decision on a request that changes something (anything but GET).
    fn arm_gate(&self, label: &str, request: &ArmRequest) -> Result<Decision, PluginError> {
        if request.method.eq_ignore_ascii_case("GET") {
            return Ok(Decision::Run);
        }
        let text = match &request.body {
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
        // The body was capped above; the whole text is well under this.
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
                "request-sealed: the body has no \"{{{{{name}}}}}\" for secret `{name}`"
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
        if self.arm_gate(label, &request)? == Decision::Recorded {
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
        let mut values = Vec::new();
        for s in secrets {
            let value = self.sealed_value(&s.secret, &format!("secret `{}`", s.name))?;
            values.push((s.name, value));
        }
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
        let mut values = Vec::new();
        for s in secrets {
            let value = self.sealed_value(&s.secret, &format!("secret `{}`", s.name))?;
            values.push((s.name, value));
        }
        Ok(self.begin_operation(&label, request, &values)?)
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
        let decision = self.arm_gate(label, &request)?;
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
            Decision::Run => crate::azure::lro::start(client, request.method, url, body, reporter),
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
