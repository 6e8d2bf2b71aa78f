//! The server-level security model as a migration tool reads and recreates it: server
//! principals as a real instance has them, every CREATE/ALTER LOGIN form, server roles, server
//! permissions, database users through BACKUP/RESTORE, and MI's Entra logins.

mod common;

use common::*;
use ferry_emulator::TlsMode;
use tiberius::{AuthMethod, EncryptionLevel};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

async fn count(c: &mut C, sql: &str) -> i32 {
    one_row(c, sql).await.get::<i32, _>(0).unwrap()
}

async fn login_error(r: &Running, user: &str, password: &str) -> u32 {
    match connect_with(
        r,
        AuthMethod::sql_server(user, password),
        EncryptionLevel::Required,
    )
    .await
    {
        Ok(_) => panic!("{user} logged in"),
        Err(tiberius::error::Error::Server(e)) => e.code(),
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_has_the_built_in_principals() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&src).await;
    let sa = one_row(&mut c, "SELECT principal_id, sid, type, type_desc, is_fixed_role, default_database_name, default_language_name FROM sys.server_principals WHERE name = 'sa'").await;
    assert_eq!(sa.get::<i32, _>(0), Some(1));
    assert_eq!(sa.get::<&[u8], _>(1), Some(&[1u8][..]));
    assert_eq!(sa.get::<&str, _>(3), Some("SQL_LOGIN"));
    assert_eq!(sa.get::<&str, _>(6), Some("us_english"));
    for (role, id) in [
        ("public", 2),
        ("sysadmin", 3),
        ("securityadmin", 4),
        ("serveradmin", 5),
        ("setupadmin", 6),
        ("processadmin", 7),
        ("diskadmin", 8),
        ("dbcreator", 9),
        ("bulkadmin", 10),
    ] {
        let r = one_row(&mut c, &format!("SELECT principal_id, type, is_fixed_role, owning_principal_id FROM sys.server_principals WHERE name = '{role}'")).await;
        assert_eq!(r.get::<i32, _>(0), Some(id), "{role}");
        assert_eq!(r.get::<&str, _>(1), Some("R"));
        assert_eq!(r.get::<bool, _>(2), Some(role != "public"), "{role}");
    }
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name LIKE '##MS_%' AND type = 'C'"
        )
        .await,
        6
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sys.server_principals WHERE name IN ('NT AUTHORITY\\SYSTEM', 'NT SERVICE\\MSSQLSERVER', 'BUILTIN\\Administrators')").await, 3);
    let sid = one_row(
        &mut c,
        "SELECT sid FROM sys.server_principals WHERE name = 'NT AUTHORITY\\SYSTEM'",
    )
    .await;
    assert_eq!(
        hex(sid.get::<&[u8], _>(0).unwrap()),
        "010100000000000512000000"
    );
    // Functions over them.
    let f = one_row(&mut c, "SELECT SUSER_ID('sysadmin'), SUSER_SNAME(0x01), IS_SRVROLEMEMBER('sysadmin'), IS_SRVROLEMEMBER('nope'), SUSER_ID()").await;
    assert_eq!(f.get::<i32, _>(0), Some(3));
    assert_eq!(f.get::<&str, _>(1), Some("sa"));
    assert_eq!(f.get::<i32, _>(2), Some(1));
    assert_eq!(f.get::<i32, _>(3), None);
    assert_eq!(f.get::<i32, _>(4), Some(1));
    // sys.endpoints and the permissions a new instance has.
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.endpoints WHERE type_desc = 'TSQL'"
        )
        .await,
        5
    );
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sys.server_permissions WHERE grantee_principal_id = 2 AND class = 105 AND permission_name = 'CONNECT'").await, 4);
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sys.server_permissions WHERE grantee_principal_id = 1 AND type = 'COSQ' AND state = 'G'").await, 1);

    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    assert_eq!(
        count(
            &mut d,
            "SELECT COUNT(*) FROM sys.server_principals WHERE type IN ('U', 'G')"
        )
        .await,
        0
    );
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM sys.endpoints").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_login_in_every_form_with_its_errors() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&src).await;
    exec(&mut c, "CREATE DATABASE Sales").await;
    exec(&mut c, "CREATE LOGIN app WITH PASSWORD = 'Pa55word!x' MUST_CHANGE, CHECK_EXPIRATION = ON, CHECK_POLICY = ON, DEFAULT_DATABASE = Sales, DEFAULT_LANGUAGE = British").await;
    let r = one_row(&mut c, "SELECT default_database_name, default_language_name, is_policy_checked, is_expiration_checked FROM sys.sql_logins WHERE name = 'app'").await;
    assert_eq!(r.get::<&str, _>(0), Some("Sales"));
    assert_eq!(r.get::<&str, _>(1), Some("British"));
    assert_eq!(r.get::<bool, _>(3), Some(true));
    let lp = one_row(&mut c, "SELECT LOGINPROPERTY('app', 'IsMustChange'), LOGINPROPERTY('app', 'DefaultDatabase'), LOGINPROPERTY('app', 'PasswordHashAlgorithm'), LOGINPROPERTY('sa', 'IsMustChange')").await;
    assert_eq!(lp.get::<i32, _>(0), Some(1));
    assert_eq!(lp.get::<&str, _>(1), Some("Sales"));
    assert_eq!(lp.get::<i32, _>(2), Some(2));
    assert_eq!(lp.get::<i32, _>(3), Some(0));
    // A new login is granted CONNECT SQL.
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sys.server_permissions p JOIN sys.server_principals s ON s.principal_id = p.grantee_principal_id WHERE s.name = 'app' AND p.permission_name = 'CONNECT SQL'").await, 1);
    assert_eq!(
        error_code(&mut c, "CREATE LOGIN app WITH PASSWORD = 'x'").await,
        15025
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE LOGIN b WITH PASSWORD = 'x', CHECK_POLICY = OFF, CHECK_EXPIRATION = ON"
        )
        .await,
        15122
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE LOGIN b WITH PASSWORD = 'x' MUST_CHANGE, CHECK_EXPIRATION = OFF"
        )
        .await,
        15128
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE LOGIN b WITH PASSWORD = 'x', DEFAULT_DATABASE = Nowhere"
        )
        .await,
        15010
    );
    assert_eq!(
        error_code(&mut c, "CREATE LOGIN b WITH PASSWORD = 'x', SID = 0x01").await,
        15433
    );
    assert_eq!(
        error_code(&mut c, "CREATE LOGIN [alice] FROM WINDOWS").await,
        15407
    );
    exec(
        &mut c,
        "CREATE LOGIN [CONTOSO\\alice] FROM WINDOWS WITH DEFAULT_DATABASE = Sales",
    )
    .await;
    let w = one_row(
        &mut c,
        "SELECT type, type_desc, sid FROM sys.server_principals WHERE name = 'CONTOSO\\alice'",
    )
    .await;
    assert_eq!(w.get::<&str, _>(1), Some("WINDOWS_LOGIN"));
    assert_eq!(&w.get::<&[u8], _>(2).unwrap()[..2], &[1, 5]);
    assert_eq!(
        error_code(
            &mut c,
            "CREATE LOGIN [CONTOSO\\bob] FROM WINDOWS WITH PASSWORD = 'x'"
        )
        .await,
        102
    );
    assert_eq!(
        error_code(
            &mut c,
            "CREATE LOGIN [x@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        102
    );
    // FROM CERTIFICATE needs the certificate in master.
    assert_eq!(
        error_code(&mut c, "CREATE LOGIN signer FROM CERTIFICATE NoSuchCert").await,
        15151
    );
    exec(
        &mut c,
        "CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Master#Key-2026'; CREATE CERTIFICATE SignCert WITH SUBJECT = 'signing'",
    )
    .await;
    exec(&mut c, "CREATE LOGIN signer FROM CERTIFICATE SignCert").await;
    assert_eq!(
        one_row(
            &mut c,
            "SELECT type_desc FROM sys.server_principals WHERE name = 'signer'"
        )
        .await
        .get::<&str, _>(0),
        Some("CERTIFICATE_MAPPED_LOGIN")
    );
    assert_eq!(
        error_code(&mut c, "CREATE LOGIN k FROM ASYMMETRIC KEY NoKey").await,
        15151
    );
    // CREDENTIAL = and ALTER LOGIN … ADD / DROP CREDENTIAL.
    exec(
        &mut c,
        "CREATE CREDENTIAL AppCred WITH IDENTITY = 'svc', SECRET = 's'",
    )
    .await;
    exec(
        &mut c,
        "CREATE LOGIN withcred WITH PASSWORD = 'Pa55word!x', CREDENTIAL = AppCred",
    )
    .await;
    assert_eq!(count(&mut c, "SELECT COUNT(*) FROM sys.server_principal_credentials pc JOIN sys.server_principals p ON p.principal_id = pc.principal_id WHERE p.name = 'withcred'").await, 1);
    assert_eq!(error_code(&mut c, "DROP CREDENTIAL AppCred").await, 15541);
    exec(&mut c, "ALTER LOGIN withcred DROP CREDENTIAL AppCred").await;
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.server_principal_credentials"
        )
        .await,
        0
    );
    exec(&mut c, "ALTER LOGIN app ADD CREDENTIAL AppCred").await;
    assert_eq!(
        error_code(&mut c, "ALTER LOGIN app ADD CREDENTIAL Missing").await,
        15151
    );
    // ALTER LOGIN options.
    exec(
        &mut c,
        "ALTER LOGIN withcred WITH NAME = renamed, DEFAULT_DATABASE = Sales, CHECK_POLICY = OFF",
    )
    .await;
    let r = one_row(&mut c, "SELECT default_database_name, is_policy_checked FROM sys.sql_logins WHERE name = 'renamed'").await;
    assert_eq!(r.get::<&str, _>(0), Some("Sales"));
    assert_eq!(r.get::<bool, _>(1), Some(false));
    assert_eq!(error_code(&mut c, "ALTER LOGIN nobody ENABLE").await, 15151);
    assert_eq!(error_code(&mut c, "DROP LOGIN nobody").await, 15151);
    exec(&mut c, "DROP LOGIN renamed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tds_login_refuses_disabled_denied_and_must_change_logins() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&src).await;
    exec(&mut c, "CREATE LOGIN off_user WITH PASSWORD = 'Pa55word!x'").await;
    exec(&mut c, "CREATE LOGIN denied WITH PASSWORD = 'Pa55word!x'").await;
    exec(
        &mut c,
        "CREATE LOGIN fresh WITH PASSWORD = 'Pa55word!x' MUST_CHANGE, CHECK_EXPIRATION = ON",
    )
    .await;
    connect_with(
        &src,
        AuthMethod::sql_server("off_user", "Pa55word!x"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    exec(&mut c, "ALTER LOGIN off_user DISABLE").await;
    assert_eq!(login_error(&src, "off_user", "Pa55word!x").await, 18470);
    assert_eq!(login_error(&src, "off_user", "wrong").await, 18456);
    exec(&mut c, "ALTER LOGIN off_user ENABLE").await;
    connect_with(
        &src,
        AuthMethod::sql_server("off_user", "Pa55word!x"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    exec(&mut c, "DENY CONNECT SQL TO denied").await;
    assert_eq!(login_error(&src, "denied", "Pa55word!x").await, 18456);
    let flags = one_row(&mut c, "SELECT l.denylogin, l.hasaccess, l.sysadmin, p.is_disabled FROM sys.server_principals p LEFT JOIN sys.syslogins l ON l.name = p.name WHERE p.name = 'denied'").await;
    assert_eq!(flags.get::<i32, _>(0), Some(1));
    assert_eq!(flags.get::<i32, _>(1), Some(0));
    assert_eq!(flags.get::<i32, _>(2), Some(0));
    assert_eq!(
        one_row(
            &mut c,
            "SELECT sysadmin FROM sys.syslogins WHERE name = 'sa'"
        )
        .await
        .get::<i32, _>(0),
        Some(1)
    );
    exec(&mut c, "GRANT CONNECT SQL TO denied").await;
    assert_eq!(
        error_code(&mut c, "ALTER LOGIN [BUILTIN\\Administrators] DISABLE").await,
        33129
    );
    // The catalog is transactional: a login created in a rolled-back transaction is gone.
    exec(&mut c, "BEGIN TRAN; CREATE LOGIN ghost WITH PASSWORD = 'Pa55word!x'; CREATE SERVER ROLE ghosts; ROLLBACK").await;
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.server_principals WHERE name IN ('ghost', 'ghosts')"
        )
        .await,
        0
    );
    exec(
        &mut c,
        "CREATE DATABASE Tx; BEGIN TRAN; USE Tx; CREATE USER u1 WITHOUT LOGIN; ROLLBACK",
    )
    .await;
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM Tx.sys.database_principals WHERE name = 'u1'"
        )
        .await,
        0
    );
    connect_with(
        &src,
        AuthMethod::sql_server("denied", "Pa55word!x"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(login_error(&src, "fresh", "Pa55word!x").await, 18488);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hashed_password_read_on_sql_server_logs_in_on_mi() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    let mut s = connect(&src).await;
    exec(
        &mut s,
        "CREATE LOGIN mover WITH PASSWORD = 'M0ve-me!', CHECK_POLICY = OFF",
    )
    .await;
    let r = one_row(&mut s, "SELECT sid, password_hash, LOGINPROPERTY('mover', 'PasswordHash') FROM sys.sql_logins WHERE name = 'mover'").await;
    let sid = r.get::<&[u8], _>(0).unwrap().to_vec();
    let hash = r.get::<&[u8], _>(1).unwrap().to_vec();
    assert_eq!(r.get::<&[u8], _>(2).unwrap(), &hash[..]);
    let mut d = connect(&dst).await;
    exec(
        &mut d,
        &format!(
            "CREATE LOGIN mover WITH PASSWORD = 0x{} HASHED, SID = 0x{}, CHECK_POLICY = OFF",
            hex(&hash),
            hex(&sid)
        ),
    )
    .await;
    let mut m = connect_with(
        &dst,
        AuthMethod::sql_server("mover", "M0ve-me!"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(scalar_string(&mut m, "SELECT SUSER_SNAME()").await, "mover");
    let got = one_row(&mut m, "SELECT SUSER_SID('mover')").await;
    assert_eq!(got.get::<&[u8], _>(0), Some(&sid[..]));
    // ALTER LOGIN … WITH PASSWORD = hash HASHED replaces it.
    exec(&mut s, "ALTER LOGIN mover WITH PASSWORD = 'Sec0nd!pw'").await;
    let h2 = one_row(
        &mut s,
        "SELECT password_hash FROM sys.sql_logins WHERE name = 'mover'",
    )
    .await
    .get::<&[u8], _>(0)
    .unwrap()
    .to_vec();
    exec(
        &mut d,
        &format!("ALTER LOGIN mover WITH PASSWORD = 0x{} HASHED", hex(&h2)),
    )
    .await;
    connect_with(
        &dst,
        AuthMethod::sql_server("mover", "Sec0nd!pw"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(login_error(&dst, "mover", "M0ve-me!").await, 18456);
    // MI refuses Windows logins and resolves Entra names in its directory.
    assert_eq!(
        error_code(&mut d, "CREATE LOGIN [CONTOSO\\alice] FROM WINDOWS").await,
        41901
    );
    assert_eq!(
        error_code(
            &mut d,
            "CREATE LOGIN [nobody@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        33130
    );
    exec(
        &mut d,
        "CREATE LOGIN [alice@contoso.com] FROM EXTERNAL PROVIDER",
    )
    .await;
    exec(&mut d, "CREATE LOGIN [SQL Admins] FROM EXTERNAL PROVIDER").await;
    let t = one_row(&mut d, "SELECT (SELECT type FROM sys.server_principals WHERE name = 'alice@contoso.com'), (SELECT type_desc FROM sys.server_principals WHERE name = 'SQL Admins')").await;
    assert_eq!(t.get::<&str, _>(0), Some("E"));
    assert_eq!(t.get::<&str, _>(1), Some("EXTERNAL_GROUP"));
    dst.server
        .set_entra_directory(&["carol@fabrikam.com".to_owned()], &[])
        .unwrap();
    assert_eq!(
        error_code(
            &mut d,
            "CREATE LOGIN [bob@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        33130
    );
    exec(
        &mut d,
        "CREATE LOGIN [carol@fabrikam.com] FROM EXTERNAL PROVIDER",
    )
    .await;
    assert_eq!(
        dst.server.entra_directory().unwrap().0,
        vec!["carol@fabrikam.com".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_roles_and_membership() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&src).await;
    exec(&mut c, "CREATE LOGIN l1 WITH PASSWORD = 'Pa55word!x'").await;
    exec(&mut c, "CREATE SERVER ROLE auditors AUTHORIZATION sa").await;
    assert_eq!(
        error_code(&mut c, "CREATE SERVER ROLE auditors").await,
        15025
    );
    assert_eq!(
        error_code(&mut c, "CREATE SERVER ROLE r2 AUTHORIZATION ghost").await,
        15151
    );
    exec(&mut c, "ALTER SERVER ROLE auditors ADD MEMBER l1").await;
    exec(&mut c, "ALTER SERVER ROLE sysadmin ADD MEMBER auditors").await;
    let r = one_row(&mut c, "SELECT r.name, r.is_fixed_role, r.owning_principal_id FROM sys.server_role_members m JOIN sys.server_principals r ON r.principal_id = m.role_principal_id JOIN sys.server_principals p ON p.principal_id = m.member_principal_id WHERE p.name = 'l1'").await;
    assert_eq!(r.get::<&str, _>(0), Some("auditors"));
    assert_eq!(r.get::<bool, _>(1), Some(false));
    assert_eq!(r.get::<i32, _>(2), Some(1));
    assert_eq!(
        one_row(&mut c, "SELECT IS_SRVROLEMEMBER('sysadmin', 'l1')")
            .await
            .get::<i32, _>(0),
        Some(1)
    );
    assert_eq!(
        error_code(&mut c, "ALTER SERVER ROLE auditors ADD MEMBER ghost").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "ALTER SERVER ROLE nothere ADD MEMBER l1").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "ALTER SERVER ROLE public ADD MEMBER l1").await,
        15081
    );
    assert_eq!(
        error_code(&mut c, "ALTER SERVER ROLE auditors ADD MEMBER auditors").await,
        15413
    );
    assert_eq!(error_code(&mut c, "DROP SERVER ROLE auditors").await, 15144);
    assert_eq!(error_code(&mut c, "DROP SERVER ROLE sysadmin").await, 15151);
    exec(&mut c, "ALTER SERVER ROLE auditors DROP MEMBER l1").await;
    exec(&mut c, "ALTER SERVER ROLE sysadmin DROP MEMBER auditors").await;
    exec(&mut c, "DROP SERVER ROLE auditors").await;
    // The fixed-role procedures.
    exec(
        &mut c,
        "EXEC sp_addsrvrolemember @loginame = 'l1', @rolename = 'dbcreator'",
    )
    .await;
    assert_eq!(
        one_row(&mut c, "SELECT IS_SRVROLEMEMBER('dbcreator', 'l1')")
            .await
            .get::<i32, _>(0),
        Some(1)
    );
    exec(&mut c, "EXEC sp_dropsrvrolemember 'l1', 'dbcreator'").await;
    assert_eq!(
        one_row(&mut c, "SELECT IS_SRVROLEMEMBER('dbcreator', 'l1')")
            .await
            .get::<i32, _>(0),
        Some(0)
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_addsrvrolemember 'ghost', 'dbcreator'").await,
        15007
    );
    assert_eq!(
        error_code(&mut c, "EXEC sp_addsrvrolemember 'l1', 'mine'").await,
        15402
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_permissions_grant_deny_revoke() {
    let src = start(sql2019(), TlsMode::Required).await;
    let mut c = connect(&src).await;
    exec(&mut c, "CREATE LOGIN ops WITH PASSWORD = 'Pa55word!x'").await;
    exec(&mut c, "CREATE LOGIN app WITH PASSWORD = 'Pa55word!x'").await;
    exec(&mut c, "CREATE SERVER ROLE monitors").await;
    exec(
        &mut c,
        "GRANT VIEW SERVER STATE, ALTER ANY LOGIN TO ops WITH GRANT OPTION",
    )
    .await;
    exec(&mut c, "GRANT IMPERSONATE ON LOGIN::app TO ops").await;
    exec(
        &mut c,
        "GRANT CONTROL ON SERVER ROLE::monitors TO ops AS sa",
    )
    .await;
    exec(
        &mut c,
        "GRANT CONNECT ON ENDPOINT::[TSQL Default TCP] TO app",
    )
    .await;
    exec(&mut c, "DENY SHUTDOWN TO ops").await;
    let rows = c
        .simple_query("SELECT p.class_desc, p.type, p.permission_name, p.state_desc FROM sys.server_permissions p JOIN sys.server_principals s ON s.principal_id = p.grantee_principal_id WHERE s.name = 'ops' ORDER BY p.permission_name")
        .await.unwrap().into_first_result().await.unwrap();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.get::<&str, _>(1).unwrap().trim().to_owned(),
                r.get::<&str, _>(2).unwrap().to_owned(),
                r.get::<&str, _>(3).unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        got.contains(&(
            "VWSS".into(),
            "VIEW SERVER STATE".into(),
            "GRANT_WITH_GRANT_OPTION".into()
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&("IM".into(), "IMPERSONATE".into(), "GRANT".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("CL".into(), "CONTROL".into(), "GRANT".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("SHDN".into(), "SHUTDOWN".into(), "DENY".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("COSQ".into(), "CONNECT SQL".into(), "GRANT".into())),
        "{got:?}"
    );
    // Errors.
    assert_eq!(
        error_code(&mut c, "REVOKE VIEW SERVER STATE FROM ops").await,
        4611
    );
    exec(
        &mut c,
        "REVOKE GRANT OPTION FOR VIEW SERVER STATE FROM ops CASCADE",
    )
    .await;
    exec(&mut c, "REVOKE VIEW SERVER STATE FROM ops").await;
    assert_eq!(
        count(
            &mut c,
            "SELECT COUNT(*) FROM sys.server_permissions WHERE type = 'VWSS'"
        )
        .await,
        0
    );
    assert_eq!(
        error_code(&mut c, "GRANT VIEW SERVER STATE TO ghost").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "GRANT IMPERSONATE ON LOGIN::ghost TO ops").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "GRANT SHUTDOWN ON LOGIN::app TO ops").await,
        4606
    );
    assert_eq!(
        error_code(&mut c, "GRANT CONNECT ON ENDPOINT::nope TO ops").await,
        15151
    );
    assert_eq!(
        error_code(&mut c, "GRANT CONNECT ON AVAILABILITY GROUP::ag1 TO ops").await,
        15151
    );
    exec(&mut c, "CREATE DATABASE Sales").await;
    assert_eq!(
        error_code(&mut c, "USE Sales; GRANT VIEW SERVER STATE TO ops").await,
        4621
    );

    let dst = start(mi(), TlsMode::Required).await;
    let mut d = connect(&dst).await;
    exec(&mut d, "CREATE LOGIN app WITH PASSWORD = 'Pa55word!x'").await;
    assert_eq!(
        error_code(
            &mut d,
            "GRANT CONNECT ON ENDPOINT::[TSQL Default TCP] TO app"
        )
        .await,
        15151
    );
    exec(&mut d, "GRANT VIEW SERVER STATE TO app").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_users_survive_backup_and_restore_as_orphans() {
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(sql2019(), TlsMode::Required).await;
    let share = tempfile::tempdir().unwrap();
    src.server.allow_backup_directory(share.path()).unwrap();
    dst.server.allow_backup_directory(share.path()).unwrap();
    let bak = share.path().join("hr.bak").display().to_string();
    let log = share.path().join("hr.trn").display().to_string();
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE HR").await;
    exec(&mut s, "CREATE LOGIN [CONTOSO\\alice] FROM WINDOWS").await;
    exec(&mut s, "CREATE LOGIN hr_app WITH PASSWORD = 'Pa55word!x'").await;
    exec(
        &mut s,
        "USE HR; CREATE USER [CONTOSO\\alice] FOR LOGIN [CONTOSO\\alice]",
    )
    .await;
    exec(
        &mut s,
        "USE HR; CREATE USER hr_app FROM LOGIN hr_app WITH DEFAULT_SCHEMA = app",
    )
    .await;
    exec(&mut s, "USE HR; CREATE USER robot WITHOUT LOGIN").await;
    let u = one_row(&mut s, "SELECT type, type_desc, authentication_type_desc, default_schema_name FROM HR.sys.database_principals WHERE name = 'CONTOSO\\alice'").await;
    assert_eq!(u.get::<&str, _>(1), Some("WINDOWS_USER"));
    assert_eq!(u.get::<&str, _>(2), Some("WINDOWS"));
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM HR.sys.database_principals WHERE name IN ('dbo', 'guest', 'db_owner', 'public')").await, 4);
    assert_eq!(
        error_code(&mut s, "USE HR; CREATE USER hr_app FOR LOGIN hr_app").await,
        15023
    );
    assert_eq!(
        error_code(&mut s, "USE HR; CREATE USER other FOR LOGIN hr_app").await,
        15063
    );
    assert_eq!(
        error_code(&mut s, "USE HR; CREATE USER ghost FOR LOGIN ghost").await,
        15007
    );
    assert_eq!(error_code(&mut s, "USE HR; DROP USER ghost").await, 15151);
    assert_eq!(error_code(&mut s, "USE HR; DROP USER dbo").await, 15150);
    assert_eq!(
        error_code(
            &mut s,
            "USE HR; CREATE USER [x@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        102
    );
    exec(
        &mut s,
        &format!("BACKUP DATABASE HR TO DISK = '{bak}' WITH FORMAT"),
    )
    .await;
    // A user made after the full backup travels in the log backup.
    exec(&mut s, "USE HR; CREATE USER late WITHOUT LOGIN").await;
    exec(
        &mut s,
        &format!("BACKUP LOG HR TO DISK = '{log}' WITH FORMAT"),
    )
    .await;

    let mut d = connect(&dst).await;
    exec(
        &mut d,
        &format!("RESTORE DATABASE HR FROM DISK = '{bak}' WITH NORECOVERY"),
    )
    .await;
    exec(
        &mut d,
        &format!("RESTORE LOG HR FROM DISK = '{log}' WITH RECOVERY"),
    )
    .await;
    let orphans = d
        .simple_query("USE HR; SELECT dp.name FROM sys.database_principals dp LEFT JOIN sys.server_principals sp ON dp.sid = sp.sid WHERE sp.sid IS NULL AND dp.type IN ('S', 'U', 'G') AND dp.principal_id > 4 ORDER BY dp.name")
        .await.unwrap().into_results().await.unwrap();
    let names: Vec<&str> = orphans
        .last()
        .unwrap()
        .iter()
        .map(|r| r.get::<&str, _>(0).unwrap())
        .collect();
    assert_eq!(names, vec!["CONTOSO\\alice", "hr_app", "late", "robot"]);
    // The same question through SUSER_SNAME inside a query.
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM HR.sys.database_principals dp WHERE SUSER_SNAME(dp.sid) IS NULL AND dp.type IN ('S', 'U') AND dp.principal_id > 4").await, 4);
    assert_eq!(
        count(
            &mut d,
            "SELECT COUNT(*) FROM HR.sys.database_principals dp WHERE SUSER_SNAME(dp.sid) = 'sa'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut d,
            "SELECT COUNT(*) FROM HR.sys.database_principals WHERE SUSER_SNAME(sid) = 'sa'"
        )
        .await,
        1
    );
    // LOGINPROPERTY with an unqualified column reads each row's own login.
    let all = count(&mut d, "SELECT COUNT(*) FROM sys.sql_logins").await;
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM sys.sql_logins WHERE LOGINPROPERTY(name, 'PasswordHash') = password_hash").await, all);
    assert!(all > 1);
    // The classic fix: the login with the source's SID.
    let sid = one_row(
        &mut s,
        "SELECT sid FROM sys.server_principals WHERE name = 'hr_app'",
    )
    .await
    .get::<&[u8], _>(0)
    .unwrap()
    .to_vec();
    exec(
        &mut d,
        &format!(
            "CREATE LOGIN hr_app WITH PASSWORD = 'Pa55word!x', SID = 0x{}",
            hex(&sid)
        ),
    )
    .await;
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM HR.sys.database_principals dp JOIN sys.server_principals sp ON sp.sid = dp.sid WHERE dp.name = 'hr_app'").await, 1);
    exec(&mut d, "USE HR; DROP USER robot").await;
    exec(
        &mut d,
        "USE HR; ALTER USER hr_app WITH NAME = hr_service, DEFAULT_SCHEMA = svc",
    )
    .await;
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM HR.sys.database_principals WHERE name = 'hr_service' AND default_schema_name = 'svc'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_windows_user_is_remapped_to_an_entra_login_on_mi() {
    use ferry_emulator::azurite::{self, Azurite};
    let az = Azurite::start().unwrap();
    az.create_container("users").await.unwrap();
    let container = az.container_url("users");
    let sas = azurite::container_sas(
        azurite::ACCOUNT,
        azurite::ACCOUNT_KEY,
        "users",
        "racwl",
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let credential = format!(
        "CREATE CREDENTIAL [{container}] WITH IDENTITY = 'SHARED ACCESS SIGNATURE', SECRET = '{sas}'"
    );
    let src = start(sql2019(), TlsMode::Required).await;
    let dst = start(mi(), TlsMode::Required).await;
    dst.server.set_restore_time(Some(std::time::Duration::ZERO));
    let mut s = connect(&src).await;
    exec(&mut s, "CREATE DATABASE HR").await;
    exec(&mut s, "CREATE LOGIN [CONTOSO\\alice] FROM WINDOWS").await;
    exec(
        &mut s,
        "USE HR; CREATE USER [CONTOSO\\alice] FOR LOGIN [CONTOSO\\alice]",
    )
    .await;
    exec(&mut s, &credential).await;
    let url = format!("{container}/HR.bak");
    exec(
        &mut s,
        &format!("BACKUP DATABASE HR TO URL = '{url}' WITH FORMAT"),
    )
    .await;

    let mut d = connect(&dst).await;
    exec(&mut d, &credential).await;
    exec(&mut d, &format!("RESTORE DATABASE HR FROM URL = '{url}'")).await;
    let mut online = false;
    for _ in 0..200 {
        if count(
            &mut d,
            "SELECT COUNT(*) FROM sys.databases WHERE name = 'HR' AND state_desc = 'ONLINE'",
        )
        .await
            == 1
        {
            online = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(online, "HR restored on MI");
    let orphans = d
        .simple_query("SELECT dp.name FROM HR.sys.database_principals dp LEFT JOIN sys.server_principals sp ON dp.sid = sp.sid WHERE sp.sid IS NULL AND dp.type = 'U'")
        .await.unwrap().into_first_result().await.unwrap();
    assert_eq!(orphans.len(), 1);
    // The documented remap: the Windows user becomes the Entra login's user.
    exec(
        &mut d,
        "CREATE LOGIN [alice@contoso.com] FROM EXTERNAL PROVIDER",
    )
    .await;
    exec(
        &mut d,
        "USE HR; ALTER USER [CONTOSO\\alice] WITH LOGIN = [alice@contoso.com]",
    )
    .await;
    let u = one_row(&mut d, "SELECT dp.type, dp.authentication_type_desc, sp.name FROM HR.sys.database_principals dp JOIN sys.server_principals sp ON sp.sid = dp.sid WHERE dp.name = 'CONTOSO\\alice'").await;
    assert_eq!(u.get::<&str, _>(0), Some("E"));
    assert_eq!(u.get::<&str, _>(1), Some("EXTERNAL"));
    assert_eq!(u.get::<&str, _>(2), Some("alice@contoso.com"));
    assert_eq!(
        error_code(
            &mut d,
            "USE HR; ALTER USER ghost WITH LOGIN = [alice@contoso.com]"
        )
        .await,
        15151
    );
    exec(
        &mut d,
        "USE HR; CREATE USER [bob@contoso.com] FROM EXTERNAL PROVIDER",
    )
    .await;
    assert_eq!(count(&mut d, "SELECT COUNT(*) FROM HR.sys.database_principals WHERE name = 'bob@contoso.com' AND type = 'E'").await, 1);
    assert_eq!(
        error_code(
            &mut d,
            "USE HR; CREATE USER [nobody@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        33130
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_entra_directory_is_set_over_the_control_api() {
    let dst = start(mi(), TlsMode::Required).await;
    let app = ferry_emulator::control_http::router(dst.server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let url = format!("{base}/entra-directory");
    let got: serde_json::Value =
        serde_json::from_str(&http.get(&url).send().await.unwrap().text().await.unwrap()).unwrap();
    assert!(
        got["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == "alice@contoso.com"),
        "{got}"
    );
    let put = http
        .put(&url)
        .header("content-type", "application/json")
        .body(r#"{"users": ["dave@fabrikam.com"], "groups": ["Auditors"]}"#)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let bad = http
        .put(&url)
        .header("content-type", "application/json")
        .body(r#"{"users": [""]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let got: serde_json::Value =
        serde_json::from_str(&http.get(&url).send().await.unwrap().text().await.unwrap()).unwrap();
    assert_eq!(
        got,
        serde_json::json!({ "users": ["dave@fabrikam.com"], "groups": ["Auditors"] })
    );
    let mut d = connect(&dst).await;
    exec(
        &mut d,
        "CREATE LOGIN [dave@fabrikam.com] FROM EXTERNAL PROVIDER",
    )
    .await;
    exec(&mut d, "CREATE LOGIN [Auditors] FROM EXTERNAL PROVIDER").await;
    assert_eq!(
        error_code(
            &mut d,
            "CREATE LOGIN [alice@contoso.com] FROM EXTERNAL PROVIDER"
        )
        .await,
        33130
    );
    // The directory is kept in the catalog: a restart keeps it.
    dst.server.restart().await.unwrap();
    assert_eq!(
        dst.server.entra_directory().unwrap().1,
        vec!["Auditors".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_from_before_the_principal_columns_is_brought_up_to_date() {
    let src = start(sql2019(), TlsMode::Required).await;
    src.server.stop().await;
    // The layout an older emulator wrote: fewer columns, in another order, and logins
    // numbered from 257.
    let hash = ferry_emulator::instance::password_hash("Legacy#pw1", [9, 9, 9, 9]);
    let conn = rusqlite::Connection::open(src._data.path().join("catalog.sqlite")).unwrap();
    conn.execute_batch(
        r#"DROP TABLE "sys.server_principals"; DROP TABLE "sys.sql_logins";
        CREATE TABLE "sys.server_principals" (name nvarchar(128), principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60), is_disabled bit, create_date datetime2, default_database_name nvarchar(128));
        CREATE TABLE "sys.sql_logins" (name nvarchar(128), principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60), is_disabled bit, default_database_name nvarchar(128), password_hash varbinary(256), is_policy_checked bit, is_expiration_checked bit);
        DELETE FROM "sys.server_role_members"; DELETE FROM "sys.server_permissions";"#,
    )
    .unwrap();
    for (name, id, sid) in [
        ("sa", 257, vec![0xAAu8; 16]),
        ("legacy", 258, vec![0xBB; 16]),
    ] {
        conn.execute(r#"INSERT INTO "sys.server_principals" VALUES (?1, ?2, ?3, 'S', 'SQL_LOGIN', 0, '2026-01-01', 'master')"#, rusqlite::params![name, id, sid]).unwrap();
        conn.execute(r#"INSERT INTO "sys.sql_logins" VALUES (?1, ?2, ?3, 'S', 'SQL_LOGIN', 0, 'master', ?4, 1, 0)"#, rusqlite::params![name, id, sid, hash]).unwrap();
    }
    drop(conn);
    src.server.restart().await.unwrap();
    let mut c = connect(&src).await;
    let sa = one_row(
        &mut c,
        "SELECT principal_id, default_language_name FROM sys.server_principals WHERE name = 'sa'",
    )
    .await;
    assert_eq!(sa.get::<i32, _>(0), Some(1));
    assert_eq!(sa.get::<&str, _>(1), Some("us_english"));
    let mut l = connect_with(
        &src,
        AuthMethod::sql_server("legacy", "Legacy#pw1"),
        EncryptionLevel::Required,
    )
    .await
    .unwrap();
    assert_eq!(
        scalar_string(&mut l, "SELECT SUSER_SNAME()").await,
        "legacy"
    );
    exec(
        &mut c,
        "CREATE LOGIN newer WITH PASSWORD = 'Pa55word!x', DEFAULT_LANGUAGE = Deutsch",
    )
    .await;
    let n = one_row(&mut c, "SELECT default_database_name, default_language_name, is_fixed_role FROM sys.sql_logins WHERE name = 'newer'").await;
    assert_eq!(n.get::<&str, _>(0), Some("master"));
    assert_eq!(n.get::<&str, _>(1), Some("Deutsch"));
}
