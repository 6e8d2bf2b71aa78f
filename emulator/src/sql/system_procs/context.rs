//! What a running system procedure works with: its bound parameters, the instance and the
//! session, and the helpers msdb's procedures need (reads, writes that a transaction can
//! undo, SIDs of logins).

use super::params::Params;
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::Value;
use crate::sql::outcome::Outcome;
use crate::sql::session::SessionView;

pub(super) type Proc = fn(&mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage>;

/// A procedure: its name, its parameters in declaration order, what runs it.
pub(super) type Def = (&'static str, &'static [&'static str], Proc);

/// A running procedure: its parameters, the instance and the session.
pub(super) struct Ctx<'a, 'b> {
    pub p: Params,
    pub inst: &'a mut Instance,
    pub s: &'a SessionView<'b>,
    pub proc_name: &'static str,
}

impl Ctx<'_, '_> {
    pub fn mi(&self) -> bool {
        self.s.personality.is_managed_instance()
    }

    /// Changes an msdb (or catalog) table: inside a user transaction its rows are set aside
    /// first, so ROLLBACK undoes what the procedure did, as it does in SQL Server.
    pub fn write(
        &mut self,
        db: &str,
        table: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, ServerMessage> {
        self.inst.before_write(db, table)?;
        self.inst.execute(sql, params)
    }

    /// The first column of the first row, or None.
    pub fn scalar(&mut self, sql: &str, params: &[Value]) -> Result<Option<Value>, ServerMessage> {
        let (_, rows) = self.inst.query(sql, params)?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .filter(|v| *v != Value::Null))
    }

    pub fn scalar_int(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<i64>, ServerMessage> {
        Ok(self
            .scalar(sql, params)?
            .map(|v| crate::protocol::types::int(&v)))
    }

    /// The SID of a login (`SUSER_SID(name)`), case-insensitively as msdb asks for it.
    pub fn login_sid(&mut self, name: &str) -> Result<Option<Vec<u8>>, ServerMessage> {
        Ok(
            match self.scalar(
                r#"SELECT sid FROM main."sys.server_principals" WHERE name = ?1 COLLATE NOCASE AND type IN ('S', 'U', 'G', 'E', 'X')"#,
                &[Value::Text(name.to_owned())],
            )? {
                Some(Value::Binary(b)) => Some(b),
                _ => None,
            },
        )
    }

    /// Whether a SID is a Windows or Entra group's (`isntgroup`), which cannot own jobs or
    /// schedules (sp_verify_job, sp_verify_schedule).
    pub fn is_group(&mut self, sid: &[u8]) -> Result<bool, ServerMessage> {
        Ok(self
            .scalar_int(
                r#"SELECT 1 FROM main."sys.server_principals" WHERE sid = ?1 AND type IN ('G', 'X')"#,
                &[Value::Binary(sid.to_vec())],
            )?
            .is_some())
    }

    /// The caller's SID (`SUSER_SID()`).
    pub fn caller_sid(&mut self) -> Result<Vec<u8>, ServerMessage> {
        let me = self.s.user.to_owned();
        Ok(self.login_sid(&me)?.unwrap_or_else(|| vec![0x01]))
    }

    pub fn now(&self) -> Value {
        Value::Text(crate::protocol::types::now_text())
    }
}
