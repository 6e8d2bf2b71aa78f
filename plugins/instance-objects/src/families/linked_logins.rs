//! Linked server logins (`sys.linked_logins`, methods.md §5.6). A source never reveals a
//! remote password, so each comes from the secret label the config names for
//! `linked-login:<server>/<remote user>`. Managed Instance has no Windows authentication: a
//! Windows login's self-mapping (Windows pass-through) has nothing to become; on the MI a
//! self-mapping passes a SQL login's own name and password, or a Microsoft Entra login's token
//! to another MI of the same server trust group ("T-SQL differences between SQL Server and Azure
//! SQL Managed Instance", Linked servers; "sp_addlinkedsrvlogin").

use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;
use ferry_sdk::{Param, SqlConnection};

use super::principals::{self, Principal};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::Table;

/// One row of `sys.linked_logins`.
#[derive(Debug, Clone)]
struct Mapping {
    server_id: i64,
    /// 0: every local login.
    local: i64,
    uses_self: bool,
    remote: String,
}

fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Mapping>> {
    let t = Table::read(
        cx,
        conn,
        "sys.linked_logins",
        "SELECT server_id, local_principal_id, uses_self_credential, remote_name \
         FROM sys.linked_logins",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Mapping {
            server_id: r.int("server_id"),
            local: r.int("local_principal_id"),
            uses_self: r.flag("uses_self_credential"),
            remote: r.text("remote_name"),
        })
        .collect())
}

/// Both servers' linked logins and principals, and the servers' ids on the target.
pub struct Logins {
    source: Vec<Mapping>,
    target: Vec<Mapping>,
    source_principals: Vec<Principal>,
    target_principals: Vec<Principal>,
}

const ALL: &str = "(all logins)";

/// A linked server on the source: its `server_id` and name.
pub struct Server<'a> {
    pub id: i64,
    pub name: &'a str,
}

fn add(server: &str, local: Option<&str>, m: &Mapping) -> String {
    let local = local.map_or("NULL".to_owned(), quote_text);
    let head = format!(
        "EXEC master.dbo.sp_addlinkedsrvlogin @rmtsrvname = {}, @useself = N'{}', \
         @locallogin = {local}",
        quote_text(server),
        if m.uses_self { "True" } else { "False" }
    );
    if m.uses_self {
        head
    } else if m.remote.is_empty() {
        format!("{head}, @rmtuser = NULL, @rmtpassword = NULL")
    } else {
        format!(
            "{head}, @rmtuser = {}, @rmtpassword = @remote_password",
            quote_text(&m.remote)
        )
    }
}

impl Logins {
    pub fn read_both(cx: &mut Context<'_, Config>, s: Servers) -> Result<Logins> {
        Ok(Logins {
            source: read(cx, s.source)?,
            target: read(cx, s.target)?,
            source_principals: principals::read(cx, s.source)?,
            target_principals: principals::read(cx, s.target)?,
        })
    }

    /// Whether the source keeps the all-logins mapping `sp_addlinkedserver` makes.
    pub fn source_has_default(&self, server_id: i64) -> bool {
        self.source
            .iter()
            .any(|m| m.server_id == server_id && m.local == 0)
    }

    fn of(&self, server_id: i64) -> impl Iterator<Item = &Mapping> {
        self.source.iter().filter(move |m| m.server_id == server_id)
    }

    fn label(&self, m: &Mapping) -> String {
        if m.local == 0 {
            return ALL.into();
        }
        self.source_principals
            .iter()
            .find(|p| p.id == m.local)
            .map_or_else(|| format!("principal {}", m.local), |p| p.name.clone())
    }

    /// Rows for the logins of a server that is not moved.
    pub fn not_moved(&self, l: &Server<'_>) -> Vec<Decision> {
        self.of(l.id)
            .map(|m| {
                Decision::new(
                    "linked-login",
                    format!("{}/{}", l.name, self.label(m)),
                    Verdict::Skipped {
                        code: "linked-server-not-moved",
                        why: "its linked server is not moved (see that row)".into(),
                    },
                )
            })
            .collect()
    }

    /// Decides each login of `l`; `kept` is the target's server they are compared with (None
    /// when the server is made, so the logins are too).
    pub fn decide(
        &self,
        cx: &mut Context<'_, Config>,
        l: &Server<'_>,
        kept: Option<i64>,
    ) -> Result<Vec<Decision>> {
        let cfg = cx.config().clone();
        let mut out = Vec::new();
        for m in self.of(l.id) {
            let name = format!("{}/{}", l.name, self.label(m));
            let mut notes = Vec::new();
            // The local login's name on the MI (None: every login).
            let local = if m.local == 0 {
                if m.uses_self {
                    notes.push(
                        "self-mapping for every login: on Managed Instance it passes SQL \
                         logins' own names and passwords, and Microsoft Entra logins only to MIs \
                         of the same server trust group; there is no Windows pass-through"
                            .to_owned(),
                    );
                }
                None
            } else {
                let Some(p) = self.source_principals.iter().find(|p| p.id == m.local) else {
                    out.push(Decision::new(
                        "linked-login",
                        &name,
                        Verdict::Skipped {
                            code: "unknown-login",
                            why: "its local login is not in sys.server_principals on the source"
                                .into(),
                        },
                    ));
                    continue;
                };
                let windows = matches!(p.kind.as_str(), "U" | "G");
                if windows && m.uses_self {
                    out.push(Decision::new(
                        "linked-login",
                        &name,
                        Verdict::Refused {
                            code: "windows-pass-through",
                            why: format!(
                                "`{}` connects with its own Windows credentials; Managed \
                                 Instance has no Windows authentication, so a linked server \
                                 login is SQL authentication (a remote user and password) or \
                                 Microsoft Entra (the MI's managed identity, or pass-through \
                                 to an MI of the same server trust group). Map it to a remote \
                                 SQL login on the source (sp_addlinkedsrvlogin @useself = \
                                 'FALSE') and add its password under `secrets`, or set up \
                                 Entra authentication by hand",
                                p.name
                            ),
                        },
                    ));
                    continue;
                }
                match principals::target_name(&cfg, p) {
                    Ok(n) => {
                        if n != p.name {
                            notes.push(format!("local login {} → {n}", p.name));
                        }
                        Some(n)
                    }
                    Err(why) => {
                        out.push(Decision::new(
                            "linked-login",
                            &name,
                            Verdict::Refused {
                                code: "windows-unmapped",
                                why,
                            },
                        ));
                        continue;
                    }
                }
            };
            let verdict = self.verdict(cx, &cfg, l, m, local.as_deref(), kept)?;
            let mut d = Decision::new("linked-login", &name, verdict);
            d.notes = notes;
            out.push(d);
        }
        Ok(out)
    }

    fn verdict(
        &self,
        cx: &mut Context<'_, Config>,
        cfg: &Config,
        l: &Server<'_>,
        m: &Mapping,
        local: Option<&str>,
        kept: Option<i64>,
    ) -> Result<Verdict> {
        let there = kept.and_then(|t| {
            self.target.iter().find(|x| {
                x.server_id == t
                    && match local {
                        None => x.local == 0,
                        Some(n) => self
                            .target_principals
                            .iter()
                            .any(|p| p.id == x.local && p.name.eq_ignore_ascii_case(n)),
                    }
            })
        });
        if let Some(x) = there
            && x.uses_self == m.uses_self
            && x.remote == m.remote
        {
            return Ok(Verdict::Unchanged);
        }
        let mut statement = Statement::new(add(l.name, local, m));
        if !m.uses_self && !m.remote.is_empty() {
            let key = format!("linked-login:{}/{}", l.name, m.remote);
            let Some(label) = cfg.secrets.get(&key) else {
                return Ok(Verdict::Refused {
                    code: "secret-missing",
                    why: format!(
                        "SQL Server never reveals a linked server login's remote password: add \
                         `\"{key}\" = \"<secret label>\"` under `secrets` in the step's config \
                         and grant that label"
                    ),
                });
            };
            // Not `@rmtpassword`: the host writes a sealed value wherever its name stands.
            statement = statement.with(Param::sealed("remote_password", cx.secret(label)?));
        }
        Ok(match there {
            None => Verdict::Create(vec![statement]),
            Some(x) => Verdict::Conflict {
                differs: if x.uses_self {
                    "it connects with its own credentials there".into()
                } else {
                    format!("its remote user there is `{}`", x.remote)
                },
                // sp_addlinkedsrvlogin updates an existing mapping in place.
                replace: vec![statement],
            },
        })
    }
}
