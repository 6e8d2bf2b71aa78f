//! Certificates in `master` (methods.md §5.7), by T-SQL alone: `CERTENCODED` gives the public
//! certificate and `CERTPRIVATEKEY` its private key encrypted with a password only the host
//! knows; `CREATE CERTIFICATE … FROM BINARY … WITH PRIVATE KEY (BINARY = …)` makes it on the
//! MI, which can read no files. The key is a sealed cell end to end. System (`##MS_…##`)
//! certificates are the instance's own; TDE protectors go through ARM instead (`tde`).

use std::collections::BTreeSet;

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_name;
use ferry_sdk::{Param, SqlConnection, SqlValue};

use super::principals::hex_literal;
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

pub struct Certificate {
    pub id: i64,
    pub name: String,
    pub thumbprint: Vec<u8>,
    pub has_private_key: bool,
}

pub fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Certificate>> {
    let t = Table::read(
        cx,
        conn,
        "master.sys.certificates",
        "SELECT certificate_id, name, thumbprint, pvt_key_encryption_type \
         FROM master.sys.certificates",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Certificate {
            id: r.int("certificate_id"),
            name: r.text("name"),
            thumbprint: r.bytes("thumbprint").unwrap_or_default(),
            // NA: no private key ("sys.certificates").
            has_private_key: !r
                .text("pvt_key_encryption_type")
                .trim()
                .eq_ignore_ascii_case("NA"),
        })
        .collect())
}

/// Thumbprints of the certificates protecting a database encryption key: the TDE family's.
pub fn tde_thumbprints(
    cx: &mut Context<'_, Config>,
    conn: SqlConnection,
) -> Result<BTreeSet<Vec<u8>>> {
    let t = Table::read(
        cx,
        conn,
        "sys.dm_database_encryption_keys",
        "SELECT encryptor_thumbprint FROM sys.dm_database_encryption_keys",
        &[],
    )?;
    Ok(t.rows()
        .filter_map(|r| r.bytes("encryptor_thumbprint"))
        .collect())
}

/// A certificate's public bytes and its private key (sealed, encrypted with a password the
/// host generated), read on the source.
pub struct Exported {
    pub der: Vec<u8>,
    pub key: Option<Secret>,
    pub password: Secret,
}

pub fn export(
    cx: &mut Context<'_, Config>,
    source: SqlConnection,
    c: &Certificate,
) -> Result<Exported> {
    let password = cx.generate_secret("certificate-export");
    let t = Table::read_sealed(
        cx,
        source,
        &format!("certificate `{}`", c.name),
        "SELECT CERTENCODED(certificate_id) AS der, CERTPRIVATEKEY(certificate_id, @password) AS pvk \
         FROM master.sys.certificates WHERE certificate_id = @id",
        &[
            Param::sealed("password", password),
            Param::value("id", SqlValue::Int(c.id)),
        ],
        &["pvk"],
    )?;
    let row = t.rows().next().ok_or_else(|| {
        Error::failed(format!(
            "certificate `{}` disappeared from the source while it was read",
            c.name
        ))
    })?;
    let der = row.bytes("der").ok_or_else(|| {
        Error::failed(format!(
            "CERTENCODED gave nothing for certificate `{}`: the reading login needs VIEW \
             DEFINITION on it",
            c.name
        ))
    })?;
    Ok(Exported {
        der,
        key: row.secret("pvk"),
        password,
    })
}

use ferry_sdk::Secret;

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().certificates.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let tde = tde_thumbprints(cx, s.source)?;
    let mut out = Vec::new();
    for c in &src {
        if !patterns.admits(&c.name) || tde.contains(&c.thumbprint) {
            continue;
        }
        if c.name.starts_with("##") {
            out.push(Decision::new(
                "certificate",
                &c.name,
                Verdict::Skipped {
                    code: "system-certificate",
                    why: "a certificate SQL Server made for itself; the MI has its own".into(),
                },
            ));
            continue;
        }
        let verdict = if dst.iter().any(|t| t.thumbprint == c.thumbprint) {
            Verdict::Unchanged
        } else if dst.iter().any(|t| t.name.eq_ignore_ascii_case(&c.name)) {
            Verdict::Conflict {
                differs: "a different certificate has this name there (its thumbprint differs)"
                    .into(),
                replace: Vec::new(),
            }
        } else {
            let e = export(cx, s.source, c)?;
            let mut sql = format!(
                "CREATE CERTIFICATE {} FROM BINARY = {}",
                quote_name(&c.name),
                hex_literal(&e.der)
            );
            let mut st = Statement::new(String::new());
            if let Some(key) = e.key.filter(|_| c.has_private_key) {
                sql.push_str(
                    " WITH PRIVATE KEY (BINARY = @key, DECRYPTION BY PASSWORD = @password)",
                );
                st = st
                    .with(Param::sealed("key", key))
                    .with(Param::sealed("password", e.password));
            }
            st.sql = sql;
            Verdict::Create(vec![st])
        };
        out.push(Decision::new("certificate", &c.name, verdict));
    }
    Ok(out)
}
