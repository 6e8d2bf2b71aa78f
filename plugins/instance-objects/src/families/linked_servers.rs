//! Linked servers (methods.md §5.6). Managed Instance reaches only SQL Server-family targets
//! (SQL Server, Managed Instance, SQL Database, Synapse SQL) through the SQL Server OLE DB
//! providers, and retired SQL Server Native Client in favour of MSOLEDBSQL ("T-SQL differences
//! between SQL Server and Azure SQL Managed Instance", Linked servers; "Retirement of SNAC OLE
//! DB provider for linked servers in Azure SQL Managed Instance"). The logins of each server are
//! decided in `linked_logins`.

use ferry_sdk::SqlConnection;
use ferry_sdk::prelude::*;
use ferry_sdk::tsql_text::quote_text;

use super::linked_logins::{self, Server};
use crate::config::Config;
use crate::decision::{Decision, Statement, Verdict};
use crate::servers::Servers;
use crate::table::{Row, Table};

/// The providers Managed Instance takes for a linked server; the first is the one it wants.
const SQL_PROVIDERS: [&str; 5] = [
    "MSOLEDBSQL",
    "MSOLEDBSQL19",
    "SQLNCLI11",
    "SQLNCLI",
    "SQLOLEDB",
];

/// `sp_serveroption` options: (option, `sys.servers` column, default after
/// `sp_addlinkedserver`). Booleans read as "true"/"false", numbers in decimal, a NULL
/// collation as "" ("sp_serveroption", "sys.servers").
const OPTIONS: [(&str, &str, &str); 10] = [
    ("rpc", "is_remote_login_enabled", "false"),
    ("rpc out", "is_rpc_out_enabled", "false"),
    ("data access", "is_data_access_enabled", "true"),
    ("collation compatible", "is_collation_compatible", "false"),
    ("use remote collation", "uses_remote_collation", "true"),
    ("collation name", "collation_name", ""),
    ("connect timeout", "connect_timeout", "0"),
    ("query timeout", "query_timeout", "0"),
    ("lazy schema validation", "lazy_schema_validation", "false"),
    (
        "remote proc transaction promotion",
        "is_remote_proc_transaction_promotion_enabled",
        "true",
    ),
];

/// One row of `sys.servers` with `is_linked = 1`.
#[derive(Debug, Clone)]
pub struct Linked {
    pub id: i64,
    pub name: String,
    pub product: String,
    pub provider: String,
    pub data_source: String,
    pub location: String,
    pub provider_string: String,
    pub catalog: String,
    /// `OPTIONS`' values in its order.
    pub options: Vec<String>,
}

fn option_value(r: &Row<'_>, column: &str, default: &str) -> String {
    match default {
        "true" | "false" => if r.flag(column) { "true" } else { "false" }.to_owned(),
        _ => r.text(column),
    }
}

pub fn read(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<Vec<Linked>> {
    let t = Table::read(
        cx,
        conn,
        "sys.servers",
        "SELECT server_id, name, product, provider, data_source, location, provider_string, \
         catalog, connect_timeout, query_timeout, is_remote_login_enabled, is_rpc_out_enabled, \
         is_data_access_enabled, is_collation_compatible, uses_remote_collation, collation_name, \
         lazy_schema_validation, is_remote_proc_transaction_promotion_enabled \
         FROM sys.servers WHERE is_linked = 1",
        &[],
    )?;
    Ok(t.rows()
        .map(|r| Linked {
            id: r.int("server_id"),
            name: r.text("name"),
            product: r.text("product"),
            provider: r.text("provider"),
            data_source: r.text("data_source"),
            location: r.text("location"),
            provider_string: r.text("provider_string"),
            catalog: r.text("catalog"),
            options: OPTIONS
                .iter()
                .map(|(_, c, d)| option_value(&r, c, d))
                .collect(),
        })
        .collect())
}

/// The server's own name (`sys.servers` server_id 0, as `@@SERVERNAME`).
fn own_name(cx: &mut Context<'_, Config>, conn: SqlConnection) -> Result<String> {
    let t = Table::read(
        cx,
        conn,
        "sys.servers (server_id 0)",
        "SELECT name FROM sys.servers WHERE server_id = 0",
        &[],
    )?;
    Ok(t.rows().next().map(|r| r.text("name")).unwrap_or_default())
}

/// (host, instance) of a data source: `tcp:` and `,port` dropped, upper case, the default
/// instance as "".
fn host_instance(s: &str) -> (String, String) {
    let s = s.trim();
    let s = s
        .strip_prefix("tcp:")
        .or_else(|| s.strip_prefix("TCP:"))
        .unwrap_or(s);
    let s = s.split(',').next().unwrap_or(s).to_uppercase();
    let (host, inst) = s.split_once('\\').unwrap_or((&s, ""));
    let inst = if inst == "MSSQLSERVER" { "" } else { inst };
    (host.to_owned(), inst.to_owned())
}

/// Whether `data_source` names the server `own` itself.
pub fn is_loopback(data_source: &str, own: &str) -> bool {
    if data_source.trim().is_empty() || own.trim().is_empty() {
        return false;
    }
    let (h, i) = host_instance(data_source);
    let (oh, oi) = host_instance(own);
    let short = |x: &str| x.split('.').next().unwrap_or(x).to_owned();
    let local = [".", "(LOCAL)", "LOCALHOST", "127.0.0.1", "::1"].contains(&h.as_str())
        || h == oh
        || short(&h) == short(&oh);
    local && i == oi
}

fn is_sql_provider(p: &str) -> bool {
    SQL_PROVIDERS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(p.trim()))
}

/// What the MI's linked server would be: provider, data source, notes; or why none.
pub struct Plan {
    pub data_source: String,
    pub notes: Vec<String>,
}

fn plan(l: &Linked, source_name: &str, target_name: &str) -> std::result::Result<Plan, Verdict> {
    let product_sql = l.product.eq_ignore_ascii_case("SQL Server");
    let provider = if product_sql && l.provider.trim().is_empty() {
        "SQLNCLI"
    } else {
        l.provider.trim()
    };
    if !is_sql_provider(provider) {
        return Err(Verdict::Refused {
            code: "unsupported-provider",
            why: format!(
                "its provider `{provider}` (product `{}`) reaches a target Managed Instance \
                 cannot link to: only SQL Server, Managed Instance, SQL Database and Synapse SQL \
                 through MSOLEDBSQL (no Oracle, ODBC, ACE/Excel or file sources). Move that data \
                 another way (Azure Data Factory, an external table) and recreate the linked \
                 server by hand if the target is reachable as SQL",
                l.product
            ),
        });
    }
    let mut notes = Vec::new();
    if !provider.eq_ignore_ascii_case("MSOLEDBSQL") {
        notes.push(format!(
            "provider {provider} → MSOLEDBSQL: Managed Instance retired SQL Server Native \
             Client and the old OLE DB provider for linked servers"
        ));
    }
    let mut data_source = if l.data_source.trim().is_empty() {
        l.name.clone()
    } else {
        l.data_source.clone()
    };
    if is_loopback(&data_source, source_name) {
        notes.push(format!(
            "loopback: `{data_source}` is the source server itself; on the MI it points at the \
             MI, whose @@SERVERNAME and sys.servers server_id 0 are its FQDN `{target_name}`"
        ));
        data_source = target_name.to_owned();
    }
    // Remote procedures called inside a transaction promote it to a distributed one.
    if l.options[1] == "true" && l.options[9] == "true" {
        notes.push(
            "remote proc transaction promotion: distributed transactions run on Managed \
             Instance only among instances of the same server trust group"
                .into(),
        );
    }
    Ok(Plan { data_source, notes })
}

fn exec(proc: &str, args: &[(&str, Option<&str>)]) -> String {
    let args: Vec<String> = args
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("@{k} = {}", quote_text(v)),
            None => format!("@{k} = NULL"),
        })
        .collect();
    format!("EXEC master.dbo.{proc} {}", args.join(", "))
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.trim().is_empty()).then_some(s)
}

/// `sp_addlinkedserver` and an `sp_serveroption` per option that is not the default;
/// `sp_droplinkedsrvlogin` of the all-logins self-mapping `sp_addlinkedserver` makes when the
/// source has none.
fn create(l: &Linked, p: &Plan, keep_default_login: bool) -> Vec<Statement> {
    let mut out = vec![Statement::new(exec(
        "sp_addlinkedserver",
        &[
            ("server", Some(&l.name)),
            ("srvproduct", Some("")),
            ("provider", Some("MSOLEDBSQL")),
            ("datasrc", Some(&p.data_source)),
            ("location", non_empty(&l.location)),
            ("provstr", non_empty(&l.provider_string)),
            ("catalog", non_empty(&l.catalog)),
        ],
    ))];
    for ((opt, _, default), value) in OPTIONS.iter().zip(&l.options) {
        if value != default {
            out.push(Statement::new(exec(
                "sp_serveroption",
                &[
                    ("server", Some(&l.name)),
                    ("optname", Some(opt)),
                    ("optvalue", Some(value)),
                ],
            )));
        }
    }
    if !keep_default_login {
        out.push(Statement::new(exec(
            "sp_droplinkedsrvlogin",
            &[("rmtsrvname", Some(&l.name)), ("locallogin", None)],
        )));
    }
    out
}

/// How the target's server differs from what the plan makes, or None when it is the same.
fn differs(l: &Linked, p: &Plan, t: &Linked) -> Option<String> {
    let mut d = Vec::new();
    if !is_sql_provider(&t.provider) {
        d.push(format!("provider `{}`", t.provider));
    }
    if !t.data_source.eq_ignore_ascii_case(&p.data_source) {
        d.push(format!("data source `{}`", t.data_source));
    }
    for (what, a, b) in [
        ("catalog", &l.catalog, &t.catalog),
        ("provider string", &l.provider_string, &t.provider_string),
        ("location", &l.location, &t.location),
    ] {
        if a != b {
            d.push(format!("{what} `{b}`"));
        }
    }
    for ((opt, _, _), (a, b)) in OPTIONS.iter().zip(l.options.iter().zip(&t.options)) {
        if a != b {
            d.push(format!("{opt} = {b}"));
        }
    }
    (!d.is_empty()).then(|| d.join(", "))
}

pub fn decide(cx: &mut Context<'_, Config>, s: Servers) -> Result<Vec<Decision>> {
    let patterns = cx.config().linked_servers.patterns();
    let src = read(cx, s.source)?;
    let dst = read(cx, s.target)?;
    let source_name = own_name(cx, s.source)?;
    let target_name = own_name(cx, s.target)?;
    let logins = linked_logins::Logins::read_both(cx, s)?;
    let mut out = Vec::new();
    for l in src.iter().filter(|l| patterns.admits(&l.name)) {
        let existing = dst.iter().find(|t| t.name.eq_ignore_ascii_case(&l.name));
        let (verdict, notes) = match plan(l, &source_name, &target_name) {
            Err(v) => (v, Vec::new()),
            Ok(p) => {
                let keep = logins.source_has_default(l.id);
                let verdict = match existing {
                    None => Verdict::Create(create(l, &p, keep)),
                    Some(t) => match differs(l, &p, t) {
                        None => Verdict::Unchanged,
                        Some(d) => {
                            let mut fix = vec![Statement::new(exec(
                                "sp_dropserver",
                                &[
                                    ("server", Some(&l.name)),
                                    ("droplogins", Some("droplogins")),
                                ],
                            ))];
                            fix.extend(create(l, &p, keep));
                            Verdict::Conflict {
                                differs: d,
                                replace: fix,
                            }
                        }
                    },
                };
                (verdict, p.notes)
            }
        };
        // The server the logins are compared with: none when it is made (or made again).
        let kept = match &verdict {
            Verdict::Unchanged => existing,
            Verdict::Conflict { .. } if !cx.config().replace => existing,
            Verdict::Create(_) | Verdict::Conflict { .. } => None,
            _ => {
                let mut d = Decision::new("linked-server", &l.name, verdict);
                d.notes = notes;
                out.push(d);
                out.extend(logins.not_moved(&Server {
                    id: l.id,
                    name: &l.name,
                }));
                continue;
            }
        };
        let mut d = Decision::new("linked-server", &l.name, verdict);
        d.notes = notes;
        out.push(d);
        let server = Server {
            id: l.id,
            name: &l.name,
        };
        out.extend(logins.decide(cx, &server, kept.map(|t| t.id))?);
    }
    Ok(out)
}
