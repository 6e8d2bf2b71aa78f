//! The SAS credentials BACKUP TO URL and RESTORE FROM URL read blobs with (methods.md §4.2),
//! made and dropped so that each call is safe to repeat: the host makes a step call again when
//! ferry was killed during it, so a repeat must find the credential already made, or already
//! dropped, and carry on.

use crate::context::Context;
use crate::errors::{Error, Result};
use crate::handles::{Param, Secret, SqlConnection};
use crate::tsql_text::{credential_statement, drop_credential_statement};
use crate::wit::{QueryLimits, SqlValue, StatementOptions};

/// SQL Server's answer to DROP CREDENTIAL for a name it cannot drop: "does not exist or you do
/// not have permission" (sql-docs, "Database engine events and errors", 15151).
const CANNOT_DROP: i32 = 15151;

impl<C> Context<'_, C> {
    /// Whether `conn` has a credential named exactly `url` (sys.credentials, compared as the
    /// server compares names).
    pub fn credential_exists(&mut self, conn: SqlConnection, url: &str) -> Result<bool> {
        let rows = self
            .query(
                conn,
                "SELECT name FROM sys.credentials WHERE name = @name",
                &[Param::value("name", SqlValue::Text(url.to_owned()))],
                QueryLimits {
                    max_rows: 1,
                    max_bytes: 4096,
                },
            )?
            .into_first_rows();
        Ok(!rows.is_empty())
    }

    /// The credential SQL Server would use for `url`: the one whose name is the longest prefix
    /// of it (methods.md §4.2), if any.
    pub fn covering_credential(
        &mut self,
        conn: SqlConnection,
        url: &str,
    ) -> Result<Option<String>> {
        let rows = self
            .query(
                conn,
                "SELECT name FROM sys.credentials",
                &[],
                QueryLimits {
                    max_rows: 10_000,
                    max_bytes: 4 << 20,
                },
            )?
            .into_first_rows();
        let url = url.to_ascii_lowercase();
        Ok(rows
            .iter()
            .map(|r| crate::sql_value::text(r.first()))
            .filter(|n| !n.is_empty() && url.starts_with(&n.to_ascii_lowercase()))
            .max_by_key(|n| n.len()))
    }

    /// Makes `conn` hold the SAS credential named `url` with `sas`: created when it is missing;
    /// with `replace`, one that exists is dropped and made again (a fresh SAS). A repeat after
    /// a kill at any point finds the credential made, or makes it again after the drop.
    pub fn put_credential(
        &mut self,
        conn: SqlConnection,
        url: &str,
        sas: Secret,
        replace: bool,
    ) -> Result<()> {
        if self.credential_exists(conn, url)? {
            if !replace {
                return Ok(());
            }
            self.drop_credential_on(conn, url)?;
        }
        self.execute(
            conn,
            &credential_statement(url),
            &[Param::sealed("sas", sas)],
            StatementOptions {
                idempotent: false,
                timeout_ms: None,
            },
        )?;
        Ok(())
    }

    /// Drops the credential named `url` on `conn`. One that is already gone is success: 15151
    /// for a name sys.credentials no longer lists means an earlier call dropped it (a call cut
    /// short by a kill, made again). 15151 for a credential still listed is a missing
    /// permission, and an error.
    pub fn drop_credential_on(&mut self, conn: SqlConnection, url: &str) -> Result<()> {
        let dropped = self.execute(
            conn,
            &drop_credential_statement(url),
            &[],
            StatementOptions {
                idempotent: true,
                timeout_ms: None,
            },
        );
        match dropped {
            Ok(_) => Ok(()),
            Err(Error::Failed(f)) if f.code == Some(CANNOT_DROP) => {
                if self.credential_exists(conn, url)? {
                    return Err(Error::Failed(crate::wit::Failure {
                        message: format!(
                            "the login may not drop credential [{url}] ({}); grant it ALTER ANY \
                             CREDENTIAL, or drop the credential by hand",
                            f.message.trim_end_matches('.')
                        ),
                        code: f.code,
                    }));
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Cleanup: drops the credential named `url` that the plugin made on the server behind
    /// `label`; one already gone is fine. A failure is a warning naming the server, never an
    /// error: the work is done, and the credential can be dropped by hand.
    /// Drops credential `url` that ferry made on `label`, on the way to the next step: a
    /// transient failure (the server is restarting) is returned, so the host calls the step
    /// again and the drop is repeated — one already gone is fine; any other failure is warned
    /// about and the step goes on (the operator drops it by hand).
    pub fn drop_owned_credential(&mut self, label: &str, url: &str) -> Result<()> {
        let dropped = self
            .sql(label)
            .and_then(|conn| self.drop_credential_on(conn, url));
        match dropped {
            Err(e @ Error::Transient(_)) => Err(e),
            Err(e) => {
                self.warn(&format!(
                    "could not drop the credential ferry made on `{label}`: {}; drop it by hand \
                     (DROP CREDENTIAL [{url}])",
                    e.describe()
                ));
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Best effort, for cleanup after a failure: drops credential `url` on `label`, warning
    /// (never failing) when it cannot.
    pub fn drop_credential(&mut self, label: &str, url: &str) {
        let dropped = self
            .sql(label)
            .and_then(|conn| self.drop_credential_on(conn, url));
        if let Err(e) = dropped {
            self.warn(&format!(
                "could not drop the credential ferry made on `{label}`: {}; drop it by hand \
                 (DROP CREDENTIAL [{url}])",
                e.describe()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::rc::Rc;

    use crate::context::Context;
    use crate::errors::Error;
    use crate::fake::FakeHost;
    use crate::wit::{Failure, QueryResult, RowSet, SqlValue, StepContext};

    /// A fake server's credentials: CREATE adds a name, DROP removes it or answers 15151 as
    /// SQL Server does, SELECT lists it. `denied` names credentials the login may not drop.
    fn server(names: &[&str], denied: &[&str]) -> (FakeHost, Rc<RefCell<BTreeSet<String>>>) {
        let held: Rc<RefCell<BTreeSet<String>>> =
            Rc::new(RefCell::new(names.iter().map(|n| n.to_string()).collect()));
        let denied: BTreeSet<String> = denied.iter().map(|n| n.to_string()).collect();
        let catalog = held.clone();
        let host = FakeHost::new()
            .secret("sas", "sv=x&sig=y", false)
            .on_query(move |_, statement, params| {
                let mut held = catalog.borrow_mut();
                let name = |prefix: &str| {
                    let rest = statement.strip_prefix(prefix)?;
                    Some(rest[1..rest.find(']')?].to_owned())
                };
                let mut rows = vec![];
                if let Some(n) = name("CREATE CREDENTIAL ") {
                    held.insert(n);
                } else if let Some(n) = name("DROP CREDENTIAL ") {
                    if denied.contains(&n) || !held.remove(&n) {
                        return Err(Error::Failed(Failure {
                            message: format!("Cannot drop the credential '{n}', because it does not exist or you do not have permission."),
                            code: Some(15151),
                        }));
                    }
                } else if let Some(SqlValue::Text(n)) = params.first().and_then(|p| match &p.value {
                    crate::handles::ParamValue::Value(v) => Some(v),
                    _ => None,
                }) && held.contains(n)
                {
                    rows.push(vec![SqlValue::Text(n.clone())]);
                }
                Ok(QueryResult {
                    sets: vec![RowSet {
                        columns: vec![],
                        rows,
                        truncated: false,
                    }],
                    messages: vec![],
                })
            });
        (host, held)
    }

    fn context(host: &mut FakeHost) -> Context<'_, ()> {
        let ctx: StepContext = host.context(&serde_json::Value::Null, "Sales", 2);
        Context::new((), ctx, host)
    }

    #[test]
    fn a_repeated_drop_finishes_and_a_refused_one_says_why() {
        let (mut host, held) = server(&["u"], &["theirs"]);
        let mut cx = context(&mut host);
        let conn = cx.sql("source").unwrap();
        cx.drop_credential_on(conn, "u").unwrap();
        // The call is made again after a kill: the credential is gone already.
        cx.drop_credential_on(conn, "u").unwrap();
        assert!(held.borrow().is_empty());
        held.borrow_mut().insert("theirs".into());
        let e = cx.drop_credential_on(conn, "theirs").unwrap_err();
        assert!(
            e.describe().contains("ALTER ANY CREDENTIAL"),
            "{}",
            e.describe()
        );
        cx.drop_credential("source", "theirs");
        assert!(
            host.logs
                .iter()
                .any(|(_, l)| l.contains("DROP CREDENTIAL [theirs]")),
            "{:?}",
            host.logs
        );
    }

    #[test]
    fn a_repeated_put_finds_its_credential_and_a_replace_makes_it_again() {
        let (mut host, held) = server(&[], &[]);
        let mut cx = context(&mut host);
        let conn = cx.sql("source").unwrap();
        let sas = cx.secret("sas").unwrap();
        cx.put_credential(conn, "u", sas, false).unwrap();
        cx.put_credential(conn, "u", sas, false).unwrap();
        cx.put_credential(conn, "u", sas, true).unwrap();
        assert_eq!(held.borrow().len(), 1);
        let made: Vec<&str> = host
            .executed
            .iter()
            .map(|(_, s)| s.split(' ').next().unwrap_or_default())
            .collect();
        assert_eq!(made, ["CREATE", "DROP", "CREATE"], "{:?}", host.executed);
    }
}
