//! The Managed Instance's Service Fabric DMVs, as far as the link's connectivity recipe reads
//! them ("Prepare environment for link – Azure SQL Managed Instance", "Test the connection from
//! SQL Server to SQL Managed Instance": `DnsRecordName`, `ClusterName`, `HadrPort`, section
//! `SQL` `InstanceName`, the primary replica's node of the `ManagedServer` service). These
//! views have no reference page; their columns are the ones that query names and their values
//! are made up but stable per instance: the node's FQDN (`<node>.<ClusterName>`) resolves to
//! the instance in the emulated network, and `HadrPort` is in 11000–11999. SQL Server has none
//! of them (error 208, as for any object a server lacks).

use sha2::{Digest, Sha256};

use super::store::s;
use crate::instance::Instance;
use crate::personality::Personality;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::Token;

const VIEWS: &[&str] = &[
    "dm_hadr_fabric_config_parameters",
    "dm_hadr_fabric_partitions",
    "dm_hadr_fabric_replicas",
    "dm_hadr_fabric_nodes",
];

/// What the views say about the instance named `server`.
pub struct Fabric {
    pub instance_name: String,
    pub cluster: String,
    pub node: String,
    pub hadr_port: u16,
}

impl Fabric {
    pub fn of(server: &str) -> Fabric {
        let h = Sha256::digest(server.to_ascii_lowercase().as_bytes());
        let n = u16::from_be_bytes([h[0], h[1]]);
        Fabric {
            instance_name: h[2..8].iter().map(|b| format!("{b:02x}")).collect(),
            cluster: format!(
                "tr{}.westeurope1-a.worker.vnet.database.windows.net",
                1000 + n % 9000
            ),
            node: format!("DB{}", 10 + h[8] % 90),
            hadr_port: 11000 + n % 1000,
        }
    }

    /// The FQDN the recipe's second `tnc` reaches.
    pub fn node_fqdn(&self) -> String {
        format!("{}.{}", self.node, self.cluster)
    }
}

/// Fills the views a statement names (once per start; they do not change), or refuses them
/// on SQL Server.
pub fn refresh(
    tokens: &[Token],
    p: &Personality,
    inst: &mut Instance,
) -> Result<(), ServerMessage> {
    let Some(view) = VIEWS.iter().find(|v| {
        tokens
            .iter()
            .any(|t| matches!(t, Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case(v)))
    }) else {
        return Ok(());
    };
    if !p.is_managed_instance() {
        return Err(ServerMessage::error(
            208,
            16,
            format!("Invalid object name 'sys.{view}'."),
        ));
    }
    let (_, filled) = inst.query(
        r#"SELECT COUNT(*) FROM temp."sys.dm_hadr_fabric_nodes""#,
        &[],
    )?;
    if !matches!(
        filled.first().and_then(|r| r.first()),
        Some(crate::protocol::types::Value::Int(0))
    ) {
        return Ok(());
    }
    let f = Fabric::of(p.server_name());
    for (section, name, value) in [
        ("SQL", "InstanceName", f.instance_name.clone()),
        ("Failover", "DnsRecordName", p.server_name().to_owned()),
        ("Failover", "ClusterName", f.cluster.clone()),
        ("Failover", "HadrPort", f.hadr_port.to_string()),
    ] {
        inst.execute(
            r#"INSERT INTO temp."sys.dm_hadr_fabric_config_parameters" VALUES (?1, ?2, ?3)"#,
            &[s(section), s(name), s(&value)],
        )?;
    }
    let partition = super::store::new_guid(p.server_name());
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_fabric_partitions" VALUES (?1, ?2)"#,
        &[
            s(&partition),
            s(&format!(
                "fabric:/Worker.CL/ManagedServer/{}",
                f.instance_name
            )),
        ],
    )?;
    // replica_role 2: the primary replica (Service Fabric's ReplicaRole.Primary).
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_fabric_replicas" VALUES (?1, 1, 2, 3, ?2, ?3)"#,
        &[
            s(&partition),
            s(&format!("{}\\ManagedServer", f.node)),
            s(&f.node),
        ],
    )?;
    inst.execute(
        r#"INSERT INTO temp."sys.dm_hadr_fabric_nodes" VALUES (?1, ?2, ?3)"#,
        &[s(&f.node), s("1"), s(&f.node_fqdn())],
    )?;
    Ok(())
}
