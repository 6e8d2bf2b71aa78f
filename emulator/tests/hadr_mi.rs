//! The Managed Instance side of the link's T-SQL: its endpoint certificate, the fabric DMVs
//! the connectivity recipe reads ("Prepare environment for link"), and the link procedures on
//! SQL Server builds with and without the Azure Connect pack.

mod common;

use common::*;
use ferry_emulator::hadr::fabric::Fabric;
use ferry_emulator::{Edition, Personality, Release, TlsMode};

fn sql(release: Release) -> Personality {
    Personality::SqlServer {
        release,
        edition: Edition::Developer,
        hadr: true,
        name: "SRC01".into(),
    }
}

async fn binary(c: &mut C, q: &str) -> Option<Vec<u8>> {
    one_row(c, q).await.get::<&[u8], _>(0).map(|b| b.to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_managed_instance_hands_out_one_endpoint_certificate() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let (der, thumbprint) = r.server.endpoint_certificate().expect("an MI has one");
    assert_eq!(thumbprint.len(), 40);
    assert_eq!(
        r.server.endpoint_certificate().unwrap().0,
        der,
        "generated once"
    );
    let got = binary(&mut c, "EXEC sp_get_endpoint_certificate 4").await;
    assert_eq!(got.as_deref(), Some(der.as_slice()));
    let named = binary(
        &mut c,
        "EXEC sp_get_endpoint_certificate @endpoint_type = 4",
    )
    .await;
    assert_eq!(named.as_deref(), Some(der.as_slice()));
    assert_eq!(
        binary(&mut c, "EXEC sp_get_endpoint_certificate 7").await,
        None
    );
    r.server.restart().await.unwrap();
    assert_eq!(
        r.server.endpoint_certificate().unwrap().0,
        der,
        "kept across a restart"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_server_hands_out_its_endpoint_certificate_only_with_the_azure_connect_pack() {
    let r = start(sql(Release::Sql2022), TlsMode::Required).await;
    let mut c = connect(&r).await;
    assert_eq!(
        error_code(&mut c, "EXEC sp_get_endpoint_certificate 4").await,
        50000,
        "no endpoint"
    );
    exec(
        &mut c,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd';
         CREATE CERTIFICATE ep WITH SUBJECT = 'ep', EXPIRY_DATE = '2045-01-01';
         CREATE ENDPOINT e STATE = STARTED AS TCP (LISTENER_PORT = 5022)
             FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = CERTIFICATE ep, ENCRYPTION = REQUIRED ALGORITHM AES)",
    )
    .await;
    let encoded = binary(&mut c, "SELECT CERTENCODED(CERT_ID(N'ep'))")
        .await
        .unwrap();
    let got = binary(&mut c, "EXEC sp_get_endpoint_certificate 4").await;
    assert_eq!(got, Some(encoded));

    exec(
        &mut c,
        "CREATE CERTIFICATE [MicrosoftPKI] WITH SUBJECT = 'stand-in', EXPIRY_DATE = '2045-01-01'",
    )
    .await;
    exec(
        &mut c,
        "DECLARE @id int = CERT_ID('MicrosoftPKI'); EXEC sp_certificate_add_issuer @id, N'*.database.windows.net'; EXEC sp_certificate_add_issuer @id, N'*.database.windows.net'",
    )
    .await;
    assert_eq!(
        error_code(&mut c, "DECLARE @id int = CERT_ID('nope'); EXEC sp_certificate_add_issuer @id, N'*.database.windows.net'").await,
        50000
    );
    assert_eq!(
        error_code(
            &mut c,
            "EXEC sp_certificate_add_issuer 99999, N'*.database.windows.net'"
        )
        .await,
        15151
    );

    let old = start(sql(Release::Sql2016), TlsMode::Required).await;
    let mut o = connect(&old).await;
    assert_eq!(
        error_code(&mut o, "EXEC sp_get_endpoint_certificate 4").await,
        2812
    );
    assert_eq!(
        error_code(&mut o, "EXEC sp_certificate_add_issuer 1, N'x'").await,
        2812
    );
}

/// The recipe's query, as "Prepare environment for link" gives it.
const RECIPE: &str = "SELECT 'DECLARE @serverName NVARCHAR(512) = N'''+ value + ''''
   FROM sys.dm_hadr_fabric_config_parameters
   WHERE parameter_name = 'DnsRecordName'
   UNION
   SELECT 'DECLARE @node NVARCHAR(512) = N'''+ NodeName + '.' + Cluster + ''''
   FROM
   (SELECT SUBSTRING(replica_address,0, CHARINDEX('\\', replica_address)) as NodeName
   , RIGHT(service_name,CHARINDEX('/', REVERSE(service_name))-1) AppName, JoinCol = 1
   FROM sys.dm_hadr_fabric_partitions fp
   JOIN sys.dm_hadr_fabric_replicas fr ON fp.partition_id = fr.partition_id
   JOIN sys.dm_hadr_fabric_nodes fn ON fr.node_name = fn.node_name
   WHERE service_name like '%ManagedServer%' and replica_role = 2) t1
   LEFT JOIN
   (SELECT value as Cluster, JoinCol = 1
   FROM sys.dm_hadr_fabric_config_parameters
   WHERE parameter_name  = 'ClusterName') t2
   ON (t1.JoinCol = t2.JoinCol)
   INNER JOIN
   (SELECT [value] AS AppName
   FROM sys.dm_hadr_fabric_config_parameters
   WHERE section_name = 'SQL' and parameter_name = 'InstanceName') t3
   ON (t1.AppName = t3.AppName)
   UNION
   SELECT 'DECLARE @port NVARCHAR(512) = N'''+ value + ''''
   FROM sys.dm_hadr_fabric_config_parameters
   WHERE parameter_name = 'HadrPort';";

#[tokio::test(flavor = "multi_thread")]
async fn the_connectivity_recipe_reads_the_fabric_views() {
    let r = start(mi(), TlsMode::Required).await;
    let mut c = connect(&r).await;
    let rows = c
        .simple_query(RECIPE)
        .await
        .unwrap()
        .into_first_result()
        .await
        .unwrap();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap().to_owned())
        .collect();
    let f = Fabric::of("mi-target.public.abc123.database.windows.net");
    assert!(
        lines.contains(
            &"DECLARE @serverName NVARCHAR(512) = N'mi-target.public.abc123.database.windows.net'"
                .to_owned()
        ),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!(
            "DECLARE @node NVARCHAR(512) = N'{}'",
            f.node_fqdn()
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("DECLARE @port NVARCHAR(512) = N'{}'", f.hadr_port)),
        "{lines:?}"
    );
    assert!((11000..=11999).contains(&f.hadr_port));

    let s = start(sql(Release::Sql2019), TlsMode::Required).await;
    let mut sc = connect(&s).await;
    assert_eq!(
        error_code(
            &mut sc,
            "SELECT * FROM sys.dm_hadr_fabric_config_parameters"
        )
        .await,
        208
    );
}
