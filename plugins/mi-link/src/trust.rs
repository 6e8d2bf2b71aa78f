//! Trust between SQL Server and the MI ("Configure link with T-SQL": "Create a database
//! master key", "Prepare certificates", "Import Azure-trusted root certificate authority keys";
//! methods.md §1.3 step 2): the master key, the endpoint certificate (reused, or rotated when
//! close to expiry), its public key uploaded through `serverTrustCertificates`, the MI's
//! endpoint certificate imported under the MI's FQDN, and the root CAs.

use ferry_sdk::prelude::*;
use ferry_sdk::sql_value::{int, text};
use ferry_sdk::tsql_text::{quote_name, quote_text};
use ferry_sdk::{Cell, Param, QueryLimits, Secret, SqlValue, now_ms};
use serde_json::json;

use crate::arm;
use crate::config::Config;
use crate::sql::{Side, exec, p, row, rows};
use crate::state::{Link, State};

/// A certificate in master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert {
    pub name: String,
    pub id: i64,
    pub thumbprint: String,
    /// Days since the Unix epoch of `expiry_date`.
    pub expiry_day: i64,
}

fn certificates(cx: &mut Context<'_, Config>) -> Result<Vec<Cert>> {
    Ok(rows(
        cx,
        Side::Source,
        "SELECT name, certificate_id, thumbprint, expiry_date FROM master.sys.certificates",
        &[],
    )?
    .iter()
    .map(|r| Cert {
        name: text(r.first()),
        id: int(r.get(1)),
        thumbprint: text(r.get(2)),
        expiry_day: day_of(&text(r.get(3))).unwrap_or(0),
    })
    .collect())
}

/// `2027-11-29…` → days since 1970-01-01.
pub fn day_of(date: &str) -> Option<i64> {
    let mut parts = date.get(..10)?.split('-');
    let mut n = || parts.next().and_then(|p| p.parse::<i32>().ok());
    let (y, m, d) = (n()?, n()?, n()?);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()?;
    let epoch = time::Date::from_ordinal_date(1970, 1).ok()?;
    Some(i64::from(date.to_julian_day() - epoch.to_julian_day()))
}

pub fn today() -> i64 {
    (now_ms() / 86_400_000) as i64
}

/// `YYYYMMDD` of a day since the epoch, as EXPIRY_DATE takes it.
fn yyyymmdd(day: i64) -> String {
    let epoch = time::Date::from_ordinal_date(1970, 1)
        .map(|d| d.to_julian_day())
        .unwrap_or(0);
    time::Date::from_julian_day(epoch + day as i32).map_or_else(
        |_| "20991231".into(),
        |d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()),
    )
}

/// The endpoint certificate's base name: `Cert_<@@SERVERNAME>_endpoint` without `\`, which a
/// certificate name must not contain (a named instance's `HOST\INST` becomes `HOST_INST`).
pub fn base_name(server_name: &str) -> String {
    format!("Cert_{}_endpoint", server_name.replace('\\', "_"))
}

/// Which certificate the endpoint uses: the newest of ours not close to expiry, or the name
/// of a new one to create (None in the second field when one is reused).
pub fn choose(certs: &[Cert], base: &str, today: i64, cfg: &Config) -> (String, Option<i64>) {
    let ours = certs
        .iter()
        .filter(|c| c.name == base || c.name.starts_with(&format!("{base}_")))
        .max_by_key(|c| c.expiry_day);
    let expiry = today + i64::from(cfg.certificate_days);
    match ours {
        Some(c)
            if cfg.rotate_certificate_days == 0
                || c.expiry_day - today > i64::from(cfg.rotate_certificate_days) =>
        {
            (c.name.clone(), None)
        }
        Some(_) => (format!("{base}_{}", yyyymmdd(expiry)), Some(expiry)),
        None => (base.to_owned(), Some(expiry)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The public key of certificate `name` on SQL Server, upper-case hex (CERTENCODED).
/// `CERTENCODED` of a certificate in master as hex (None: no such certificate).
fn encoded(cx: &mut Context<'_, Config>, name: &str) -> Result<Option<String>> {
    let r = row(
        cx,
        Side::Source,
        "SELECT CERTENCODED(CERT_ID(@name)) AS der",
        &[p("name", name)],
    )?;
    Ok(r.and_then(|r| match r.first() {
        Some(SqlValue::Binary(b)) if !b.is_empty() => Some(hex(b)),
        _ => None,
    }))
}

/// `CERTENCODED` of the endpoint certificate, held by the host (None: no such certificate yet). Not
/// because a public key is secret: a sealed value goes into the ARM body as `"{{public_blob}}"`,
/// so the PUT reads the same in `ferry plan` (made before the certificate exists) and in
/// `ferry apply plan.json`, whose gate runs only what the plan lists. Read as text (`CONVERT`
/// style 1: `0x…` hex, the form PowerShell's `New-AzSqlInstanceServerTrustCertificate
/// -PublicKey` is given in "Configure link with scripts"): the host lets a sealed *binary*
/// value go only into T-SQL, which is right for private keys.
fn sealed_encoded(cx: &mut Context<'_, Config>, name: &str) -> Result<Option<Secret>> {
    let l = cx.config().source.clone();
    let conn = cx.sql(&l)?;
    let sets = cx.query_sealed(
        conn,
        "SELECT CONVERT(varchar(max), CERTENCODED(CERT_ID(@name)), 1) AS der",
        &[p("name", name)],
        QueryLimits {
            max_rows: 1,
            max_bytes: 64 << 10,
        },
        &["der"],
    )?;
    Ok(sets
        .into_iter()
        .next()
        .and_then(|s| s.rows.into_iter().next())
        .and_then(|r| r.into_iter().next())
        .and_then(|c| match c {
            Cell::Sealed(s) => Some(s),
            Cell::Value(_) => None,
        }))
}

/// Master key and endpoint certificate, then the upload (a long-running PUT) unless the MI
/// holds it already.
pub fn trust(cx: &mut Context<'_, Config>, mut link: Link) -> Result<Outcome<State>> {
    let cfg = cx.config().clone();
    cx.phase("trust", None, Some("master key and endpoint certificate"));
    if row(
        cx,
        Side::Source,
        "SELECT name FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101",
        &[],
    )?
    .is_none()
    {
        if !cfg.create_master_key {
            return Err(Error::failed(
                "master has no database master key; set create_master_key = true or create one",
            ));
        }
        let password = cx.generate_secret("master key of the source's master database");
        exec(
            cx,
            Side::Source,
            "CREATE MASTER KEY ENCRYPTION BY PASSWORD = @password",
            &[Param::sealed("password", password)],
            "CREATE MASTER KEY",
        )?;
    }
    let certs = certificates(cx)?;
    let (name, create) = choose(&certs, &base_name(&link.server_name), today(), &cfg);
    if let Some(expiry) = create {
        if certs
            .iter()
            .any(|c| c.name.starts_with(&base_name(&link.server_name)))
        {
            cx.info(&format!(
                "the endpoint certificate expires within {} days: rotating to [{name}]",
                cfg.rotate_certificate_days
            ));
        }
        let sql = format!(
            "CREATE CERTIFICATE {} WITH SUBJECT = {}, EXPIRY_DATE = {}",
            quote_name(&name),
            quote_text(&format!("Certificate for {name}")),
            quote_text(&yyyymmdd(expiry))
        );
        exec(cx, Side::Source, &sql, &[], "the endpoint certificate")?;
    } else if let Some(c) = certs.iter().find(|c| c.name == name)
        && c.expiry_day - today() < 30
    {
        cx.warn(&format!("the endpoint certificate [{name}] expires in {} days; set rotate_certificate_days to replace it", c.expiry_day - today()));
    }
    link.cert_name = name.clone();
    // While planning, a certificate the plan creates does not exist yet: the placeholder is
    // recorded as it is (nothing is sent), the same text the sealed PUT shows when applied.
    let blob = match sealed_encoded(cx, &name)? {
        Some(b) => Some(b),
        None if cx.planning() => None,
        None => {
            return Err(Error::failed(format!(
                "CERTENCODED(CERT_ID(N'{name}')) answered nothing: the certificate is not in master"
            )));
        }
    };
    let thumbprint = certificates(cx)?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.thumbprint)
        .unwrap_or_default();
    let path = format!("serverTrustCertificates/{name}");
    if let Some(found) = arm::get(cx, &path)? {
        // The spec's example gives the thumbprint as bare hex; sys.certificates' is binary.
        // A `0x` prefix is tolerated, so a service that adds one is not taken for a stranger.
        let theirs = found["properties"]["thumbprint"]
            .as_str()
            .unwrap_or_default();
        let theirs = theirs
            .strip_prefix("0x")
            .or_else(|| theirs.strip_prefix("0X"))
            .unwrap_or(theirs);
        if theirs.eq_ignore_ascii_case(&thumbprint) {
            return Ok(Outcome::Next(State::TrustUpload {
                link,
                op: String::new(),
            }));
        }
        return Err(Error::failed(format!(
            "the MI already trusts a different certificate named `{name}` (thumbprint {theirs}, SQL Server's is {thumbprint}): delete it (DELETE serverTrustCertificates/{name}) if it is an old one of this server, then apply again"
        )));
    }
    let body = json!({ "properties": { "publicBlob": "{{public_blob}}" } });
    let op = match blob {
        Some(b) => arm::begin_sealed(cx, "PUT", &path, body, &[("public_blob", b)])?,
        None => arm::begin(cx, "PUT", &path, Some(body))?,
    };
    Ok(Outcome::wait_operation(
        op.clone(),
        State::TrustUpload { link, op },
        "uploading SQL Server's endpoint certificate to the MI",
    ))
}

/// After the upload: the MI's certificate and the root CAs on SQL Server.
pub fn uploaded(cx: &mut Context<'_, Config>, link: Link, op: String) -> Result<Outcome<State>> {
    if !op.is_empty() && !crate::state::ended(cx, &op, "the upload of SQL Server's certificate")? {
        // Unknown to this process: whether it arrived is read back.
        return Ok(Outcome::Next(State::Trust { link }));
    }
    import_mi_certificate(cx, &link)?;
    import_root_cas(cx)?;
    Ok(Outcome::Next(State::Linking { link }))
}

fn import_mi_certificate(cx: &mut Context<'_, Config>, link: &Link) -> Result<()> {
    let Some(body) = arm::get(cx, "endpointCertificates/DATABASE_MIRRORING")? else {
        return Err(Error::failed(
            "the MI has no DATABASE_MIRRORING endpoint certificate in ARM (endpointCertificates): the instance may be too old for the link",
        ));
    };
    let blob = body["properties"]["publicBlob"]
        .as_str()
        .unwrap_or_default();
    let blob = blob
        .trim_start_matches("0x")
        .trim_start_matches("0X")
        .to_ascii_uppercase();
    if blob.is_empty() || !blob.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::transient(
            "the MI's endpoint certificate came without a hex publicBlob",
        ));
    }
    let name = link.mi_fqdn.clone();
    match encoded(cx, &name)? {
        Some(have) if have == blob => return Ok(()),
        Some(_) => {
            cx.info(&format!(
                "the MI's endpoint certificate changed: replacing [{name}] on SQL Server"
            ));
            exec(
                cx,
                Side::Source,
                &format!("DROP CERTIFICATE {}", quote_name(&name)),
                &[],
                "dropping the MI's old certificate",
            )?;
        }
        None => {}
    }
    let sql = format!(
        "CREATE CERTIFICATE {} FROM BINARY = 0x{blob}",
        quote_name(&name)
    );
    exec(
        cx,
        Side::Source,
        &sql,
        &[],
        "importing the MI's endpoint certificate",
    )
}

fn import_root_cas(cx: &mut Context<'_, Config>) -> Result<()> {
    let cfg = cx.config().clone();
    if cfg.root_cas.is_empty() {
        cx.warn("no root_cas configured: SQL Server must already trust the root CAs of *.database.windows.net (Microsoft RSA Root Certificate Authority 2017, DigiCert Global Root G2), or the link fails with 41974");
        return Ok(());
    }
    for ca in &cfg.root_cas {
        if encoded(cx, &ca.name)?.is_some() {
            continue;
        }
        let c = cx.container(&ca.storage)?;
        let Some(info) = cx.stat(c, &ca.object)? else {
            return Err(Error::failed(format!(
                "root CA `{}`: `{}` is not in storage label `{}`",
                ca.name, ca.object, ca.storage
            )));
        };
        let der = cx.read(
            c,
            &ca.object,
            0,
            u32::try_from(info.size).unwrap_or(u32::MAX).min(64 << 10),
        )?;
        if der.first() != Some(&0x30) {
            return Err(Error::failed(format!(
                "root CA `{}`: `{}` is not a DER certificate (it must start with an ASN.1 SEQUENCE)",
                ca.name, ca.object
            )));
        }
        exec(
            cx,
            Side::Source,
            &format!(
                "CREATE CERTIFICATE {} FROM BINARY = 0x{}",
                quote_name(&ca.name),
                hex(&der)
            ),
            &[],
            "importing a root CA",
        )?;
        let id = row(
            cx,
            Side::Source,
            "SELECT certificate_id FROM master.sys.certificates WHERE name = @name",
            &[p("name", &ca.name)],
        )?
        .map_or(0, |r| int(r.first()));
        exec(
            cx,
            Side::Source,
            "EXEC sp_certificate_add_issuer @id, N'*.database.windows.net'",
            &[Param::value("id", SqlValue::Int(id))],
            "sp_certificate_add_issuer",
        )?;
    }
    Ok(())
}

/// The endpoint certificate's id (0 while planning, before it exists).
pub fn cert_id(cx: &mut Context<'_, Config>, name: &str) -> Result<i64> {
    Ok(row(
        cx,
        Side::Source,
        "SELECT certificate_id FROM master.sys.certificates WHERE name = @name",
        &[p("name", name)],
    )?
    .map_or(0, |r| int(r.first())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(name: &str, expiry_day: i64) -> Cert {
        Cert {
            name: name.into(),
            id: 1,
            thumbprint: "AB".into(),
            expiry_day,
        }
    }

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(day_of("1970-01-02T00:00:00"), Some(1));
        assert_eq!(yyyymmdd(day_of("2027-11-29 10:00:00").unwrap()), "20271129");
        assert_eq!(day_of("garbage"), None);
    }

    #[test]
    fn a_fresh_certificate_is_reused_and_one_close_to_expiry_rotated() {
        let cfg = Config::default();
        let base = base_name("SQL01\\INST");
        assert_eq!(base, "Cert_SQL01_INST_endpoint");
        assert_eq!(choose(&[], &base, 1000, &cfg), (base.clone(), Some(1365)));
        let fresh = [cert(&base, 1200)];
        assert_eq!(choose(&fresh, &base, 1000, &cfg), (base.clone(), None));
        let old = [cert(&base, 1010)];
        let (name, created) = choose(&old, &base, 1000, &cfg);
        assert!(
            name.starts_with(&format!("{base}_")) && created == Some(1365),
            "{name}"
        );
        let rotated = [cert(&base, 1010), cert(&name, 1365)];
        assert_eq!(choose(&rotated, &base, 1000, &cfg), (name, None));
        let never = Config {
            rotate_certificate_days: 0,
            ..Config::default()
        };
        assert_eq!(choose(&old, &base, 1000, &never), (base, None));
    }
}
