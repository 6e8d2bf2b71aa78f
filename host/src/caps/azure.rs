//! `azure`: ARM requests by label. The grant check is real (GET needs read, anything else
//! write); the ARM client is not here yet, so a granted label answers `unsupported`.

use crate::bindings::ferry::plugin::azure::{ArmRequest, ArmResponse, Host};
use crate::bindings::types::PluginError;
use crate::capability::{Access, Kind};
use crate::caps::no_backend;
use crate::runtime::store::StepData;

fn access_for(method: &str) -> Access {
    if method.eq_ignore_ascii_case("GET") {
        Access::Read
    } else {
        Access::Write
    }
}

impl Host for StepData {
    async fn request(
        &mut self,
        label: String,
        request: ArmRequest,
    ) -> wasmtime::Result<Result<ArmResponse, PluginError>> {
        Ok(self
            .check(Kind::Azure, &label, access_for(&request.method))
            .and(Err(no_backend(Kind::Azure, &label))))
    }

    async fn begin(
        &mut self,
        label: String,
        _request: ArmRequest,
    ) -> wasmtime::Result<Result<String, PluginError>> {
        Ok(self
            .check(Kind::Azure, &label, Access::Write)
            .and(Err(no_backend(Kind::Azure, &label))))
    }
}
