//! Which instance the ARM front end is, and who may call it.

use std::collections::HashSet;
use std::time::Duration;

/// Which instance the front end is, and who may call it.
#[derive(Clone)]
pub struct ArmOptions {
    pub subscription: String,
    pub resource_group: String,
    pub instance: String,
    pub location: String,
    /// Bearer tokens accepted.
    pub tokens: HashSet<String>,
    /// How long (real time) an operation takes before it reports its end.
    pub operation_time: Duration,
    /// Where the front end keeps its state (LRS jobs, operations) so that it survives a
    /// restart; None keeps it in memory only.
    pub data_dir: Option<std::path::PathBuf>,
    /// Serve HTTPS with this identity (see [`super::https_config`]); None serves plain HTTP.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The instance's Managed Instance links (`ferry-emulator serve --hadr`); None answers the
    /// link's resources with a refusal naming the missing engine.
    pub links: Option<std::sync::Arc<crate::hadr::link::Links>>,
}

impl ArmOptions {
    /// Instance `instance` in subscription `s1`, resource group `rg`, West Europe, accepting
    /// one token, operations taking 200 ms, over plain HTTP: what tests and rehearsals
    /// usually want.
    pub fn local(instance: &str, token: &str) -> Self {
        ArmOptions {
            subscription: "s1".into(),
            resource_group: "rg".into(),
            instance: instance.into(),
            location: "westeurope".into(),
            tokens: HashSet::from([token.to_owned()]),
            operation_time: Duration::from_millis(200),
            data_dir: None,
            tls: None,
            links: None,
        }
    }
}
