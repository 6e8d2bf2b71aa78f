//! Server credentials (methods.md §5.3). A source never reveals a credential's secret, so
//! each one's secret comes from a secret label the config names; Managed Instance accepts only
//! SAS, managed identity and Key Vault identities, so a Windows-account credential (an Agent
//! proxy's) has nothing to become.

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::{quote_name, quote_text};
use ferry_sdk::{Param, SqlConnection};

use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<(String, String)>> {
    let t = Table::read(
        cx,
        conn,
        "sys.credentials",
        "SELECT name, credential_identity FROM sys.credentials",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| (r.text("name"), r.text("credential_identity")))
        .collect())
}

/// The identities Managed Instance takes ("CREATE CREDENTIAL", Azure SQL Managed Instance
/// notes): a SAS for blob URLs, the instance's managed identity, and Azure Key Vault
/// (EKM-style, identity = the vault's name, which has no backslash).
fn mi_accepts(identity: &str) -> bool {
    let i = identity.trim();
    i.eq_ignore_ascii_case("SHARED ACCESS SIGNATURE")
        || i.eq_ignore_ascii_case("MANAGED IDENTITY")
        || !i.contains('\\')
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let cfg = cx.config().clone();
    let patterns = cfg.credentials.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let mut out = Vec::new();
    for (name, identity) in src {
        if !patterns.admits(&name) {
            continue;
        }
        if name.starts_with("##") {
            out.push(Decision::new(
                "credential",
                &name,
                Verdict::Skipped {
                    code: "system-credential",
                    why: "a credential SQL Server made for itself".into(),
                },
            ));
            continue;
        }
        if !mi_accepts(&identity) {
            out.push(Decision::new(
                "credential",
                &name,
                Verdict::Refused {
                    code: "windows-identity",
                    why: format!(
                        "its identity `{identity}` is a Windows account (an Agent proxy's); \
                         Managed Instance takes only SHARED ACCESS SIGNATURE, MANAGED IDENTITY \
                         or Azure Key Vault identities and has no proxies"
                    ),
                },
            ));
            continue;
        }
        let verdict = match dst.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some((_, i)) if i == &identity => Verdict::Unchanged,
            Some((_, i)) => Verdict::Conflict {
                differs: format!("its identity there is `{i}`"),
                replace: Vec::new(),
            },
            None => {
                let key = format!("credential:{name}");
                match cfg.secrets.get(&key) {
                    None => Verdict::Refused {
                        code: "secret-missing",
                        why: format!(
                            "SQL Server never reveals a credential's secret: add \
                             `\"{key}\" = \"<secret label>\"` under `secrets` in the step's \
                             config and grant that label"
                        ),
                    },
                    Some(label) => {
                        let secret = cx.secret(label)?;
                        Verdict::Create(vec![
                            Statement::new(format!(
                                "CREATE CREDENTIAL {} WITH IDENTITY = {}, SECRET = @secret",
                                quote_name(&name),
                                quote_text(&identity)
                            ))
                            .with(Param::sealed("secret", secret)),
                        ])
                    }
                }
            }
        };
        out.push(Decision::new("credential", &name, verdict));
    }
    Ok(out)
}
