//! `azure`: ARM requests by label, served by [`crate::azure`]. GET needs a read grant,
//! anything else write; paths are confined to the label's scope.

use crate::bindings::ferry::plugin::azure::{ArmRequest, ArmResponse, Host};
use crate::bindings::types::PluginError;
use crate::capability::{Access, Kind};
use crate::plan::{Decision, PlannedAction};
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
        let action = PlannedAction {
            kind: "arm".into(),
            label: label.to_owned(),
            text,
        };
        self.scope
            .plan
            .mutating(&self.scope.step, &self.scope.item, action)
    }
}

impl Host for StepData {
    async fn request(
        &mut self,
        label: String,
        request: ArmRequest,
    ) -> wasmtime::Result<Result<ArmResponse, PluginError>> {
        let (client, url) = match self.arm(&label, &request) {
            Ok(cu) => cu,
            Err(e) => return Ok(Err(e)),
        };
        match self.arm_gate(&label, &request) {
            Ok(Decision::Run) => {}
            Ok(Decision::Recorded) => {
                return Ok(Ok(ArmResponse {
                    status: 202,
                    body: r#"{"planned":true}"#.into(),
                }));
            }
            Err(e) => return Ok(Err(e)),
        }
        let reply = client
            .send(&request.method, &url, request.body.as_deref())
            .await;
        Ok(reply.map(|r| ArmResponse {
            status: r.status,
            body: self.clean(&r.body, 1 << 20),
        }))
    }

    async fn begin(
        &mut self,
        label: String,
        request: ArmRequest,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        let (client, url) = match self.arm(&label, &request) {
            Ok(cu) => cu,
            Err(e) => return Ok(Err(e)),
        };
        let decision = match self.arm_gate(&label, &request) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
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
                crate::azure::lro::start(client, request.method, url, request.body, reporter)
            }
            Decision::Recorded => reporter.succeeded(serde_json::json!({ "planned": true })),
        }
        Ok(Ok(id))
    }
}
