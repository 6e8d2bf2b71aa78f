//! Sessions' transactions: BEGIN/COMMIT/ROLLBACK/SAVE TRANSACTION and the transaction manager
//! requests that do the same (MS-TDS 2.2.6.9), with the rules of the "BEGIN TRANSACTION",
//! "COMMIT TRANSACTION", "ROLLBACK TRANSACTION" and "SAVE TRANSACTION" pages (Transact-SQL
//! reference): nested BEGINs only count (`@@TRANCOUNT`), the outermost COMMIT makes the work
//! permanent, a ROLLBACK without a savepoint's name undoes all of it, whatever the count.
//!
//! Data is rolled back for real ([`super::undo`]). What SQL Server does with locks, the
//! emulator does more bluntly: a table changed by an open transaction cannot be changed by
//! another session until that transaction ends (error 1222 at once, where SQL Server would make
//! the writer wait), while reads see uncommitted rows (as READ UNCOMMITTED would).

use super::Instance;
use super::session_state::{Descriptor, Open};
use super::undo::{self, Kind};
use crate::protocol::tokens::ServerMessage;

fn no_transaction(number: i32, verb: &str) -> ServerMessage {
    // SQL Server errors 3902 and 3903, severity 16 ("Database engine events and errors
    // 3000 to 3999").
    ServerMessage::error(
        number,
        16,
        format!("The {verb} TRANSACTION request has no corresponding BEGIN TRANSACTION."),
    )
}

impl Instance {
    /// `@@TRANCOUNT` of a session.
    pub fn transaction_count(&self, spid: u16) -> u32 {
        self.transactions.open.get(&spid).map_or(0, |o| o.trancount)
    }

    /// The descriptor of a session's open transaction (0 when it has none).
    pub fn transaction_descriptor(&self, spid: u16) -> Descriptor {
        self.transactions
            .open
            .get(&spid)
            .map_or(0, |o| o.descriptor)
    }

    /// Says whose statements run from now on (None: the server's own work), so that their
    /// changes are kept for a rollback while that session has a transaction open.
    pub fn set_current_session(&mut self, spid: Option<u16>) {
        self.transactions.current = spid;
    }

    /// Whether the statement running now runs inside its session's open transaction.
    pub fn in_transaction(&self) -> bool {
        self.current_open().is_some()
    }

    fn current_open(&self) -> Option<u16> {
        self.transactions
            .current
            .filter(|s| self.transactions.open.contains_key(s))
    }

    /// BEGIN TRANSACTION: the descriptor when this begins the outermost transaction.
    pub fn begin_transaction(&mut self, spid: u16, name: Option<String>) -> Option<Descriptor> {
        let t = &mut self.transactions;
        if let Some(open) = t.open.get_mut(&spid) {
            open.trancount += 1;
            return None;
        }
        let descriptor = t.next_descriptor;
        t.next_descriptor += 1;
        t.open.insert(
            spid,
            Open {
                descriptor,
                trancount: 1,
                name,
                savepoints: Vec::new(),
                pending_log: Vec::new(),
            },
        );
        Some(descriptor)
    }

    /// COMMIT TRANSACTION: counts down, and at the outermost level makes the work permanent;
    /// `all` commits whatever the count (a transaction manager commit). The descriptor when
    /// the transaction ended.
    pub fn commit_transaction(
        &mut self,
        spid: u16,
        all: bool,
    ) -> Result<Option<Descriptor>, ServerMessage> {
        let Some(open) = self.transactions.open.get_mut(&spid) else {
            return Err(no_transaction(3902, "COMMIT"));
        };
        if open.trancount > 1 && !all {
            open.trancount -= 1;
            return Ok(None);
        }
        let Some(open) = self.transactions.open.remove(&spid) else {
            return Ok(None);
        };
        // One SQLite transaction: the change log gets the work exactly when the undo record
        // forgets it, even if the emulator is killed in between.
        self.conn
            .execute_batch("BEGIN")
            .map_err(super::sqlite_error)?;
        let done = (|| {
            for (db, sql) in &open.pending_log {
                self.write_change_log(db, sql)?;
            }
            undo::commit(&self.conn, spid)
        })();
        let end = if done.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute_batch(end).map_err(super::sqlite_error)?;
        done?;
        Ok(Some(open.descriptor))
    }

    /// ROLLBACK TRANSACTION [name]: back to the savepoint `name`, or all the way (the
    /// descriptor then, for the ENVCHANGE). SQL Server error 6401 for a name that is neither
    /// the transaction's nor a savepoint's.
    pub fn rollback_transaction(
        &mut self,
        spid: u16,
        name: Option<&str>,
    ) -> Result<Option<Descriptor>, ServerMessage> {
        let Some(open) = self.transactions.open.get_mut(&spid) else {
            return Err(no_transaction(3903, "ROLLBACK"));
        };
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let savepoint = open
                .savepoints
                .iter()
                .rposition(|(n, _)| n.eq_ignore_ascii_case(name));
            if let Some(at) = savepoint {
                let (_, log_mark) = open.savepoints[at].clone();
                open.savepoints.truncate(at + 1);
                open.pending_log.truncate(log_mark);
                undo::roll_back(&self.conn, spid, at + 1)?;
                return Ok(None);
            }
            if !open
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            {
                // SQL Server error 6401 (severity 16).
                return Err(ServerMessage::error(
                    6401,
                    16,
                    format!(
                        "Cannot roll back {name}. No transaction or savepoint of that name was found."
                    ),
                ));
            }
        }
        let descriptor = open.descriptor;
        self.transactions.open.remove(&spid);
        undo::roll_back(&self.conn, spid, 0)?;
        Ok(Some(descriptor))
    }

    /// SAVE TRANSACTION name. SQL Server error 628 without a transaction.
    pub fn save_transaction(&mut self, spid: u16, name: &str) -> Result<(), ServerMessage> {
        let Some(open) = self.transactions.open.get_mut(&spid) else {
            return Err(ServerMessage::error(
                628,
                16,
                "Cannot issue SAVE TRANSACTION when there is no active transaction.",
            ));
        };
        let log = open.pending_log.len();
        open.savepoints.push((name.to_owned(), log));
        Ok(())
    }

    /// A session ended: its open transaction is rolled back, as SQL Server does when a
    /// connection closes with one open.
    pub fn end_session(&mut self, spid: u16) {
        if self.transactions.open.contains_key(&spid)
            && let Err(e) = self.rollback_transaction(spid, None)
        {
            tracing::warn!(
                spid,
                "rolling back the ended session's transaction: {}",
                e.text
            );
        }
        self.forget_session(spid);
    }

    /// Rolls back what the undo record says was left open when the instance was last closed
    /// (a kill, or a stop with sessions in transactions), as recovery does at start.
    pub(super) fn recover_transactions(&mut self) -> Result<(), ServerMessage> {
        for spid in undo::unfinished(&self.conn)? {
            tracing::info!(
                spid,
                "rolling back a transaction left open at the last stop"
            );
            undo::roll_back(&self.conn, spid, 0)?;
        }
        Ok(())
    }

    /// Before the running statement changes `db`.`tbl`: refused with SQL Server's error 1222
    /// while another session's open transaction has changed it; inside a transaction, the
    /// table's rows are set aside first so a rollback can restore them.
    pub(crate) fn before_write(&mut self, db: &str, tbl: &str) -> Result<(), ServerMessage> {
        let me = self.transactions.current;
        let others: Vec<u16> = undo::holders(&self.conn, db, tbl)?
            .into_iter()
            .filter(|s| Some(*s) != me)
            .collect();
        if !others.is_empty() {
            // SQL Server error 1222 (severity 16). SQL Server would wait for the lock
            // (LOCK_TIMEOUT -1 by default); the emulator answers as with LOCK_TIMEOUT 0.
            return Err(ServerMessage::error(
                1222,
                16,
                "Lock request time out period exceeded.",
            ));
        }
        let Some(spid) = self.current_open() else {
            return Ok(());
        };
        let level = self.transactions.open.get(&spid).map_or(0, Open::level);
        if !undo::covered(&self.conn, spid, level, db, tbl)? {
            undo::note(&self.conn, spid, level, Kind::Rows, db, tbl, None)?;
        }
        Ok(())
    }

    /// The running statement created `db`.`tbl`: inside a transaction, a rollback drops it.
    pub(crate) fn created_table(&mut self, db: &str, tbl: &str) -> Result<(), ServerMessage> {
        let Some(spid) = self.current_open() else {
            return Ok(());
        };
        let level = self.transactions.open.get(&spid).map_or(0, Open::level);
        undo::note(&self.conn, spid, level, Kind::Created, db, tbl, None)
    }

    /// DROP TABLE inside a transaction: the table is renamed aside, dropped at commit and
    /// brought back by a rollback. False outside a transaction (the caller drops it).
    pub(crate) fn drop_table_in_transaction(
        &mut self,
        db: &str,
        tbl: &str,
    ) -> Result<bool, ServerMessage> {
        let Some(spid) = self.current_open() else {
            return Ok(false);
        };
        let open = &self.transactions.open[&spid];
        let (level, descriptor) = (open.level(), open.descriptor);
        let aside = format!("ferry.dropped {descriptor} {tbl}");
        let sql = format!(
            "ALTER TABLE {}.{} RENAME TO {}",
            super::query::q(db),
            super::query::q(tbl),
            super::query::q(&aside)
        );
        self.conn.execute_batch(&sql).map_err(super::sqlite_error)?;
        undo::note(
            &self.conn,
            spid,
            level,
            Kind::Dropped,
            db,
            tbl,
            Some(&aside),
        )?;
        Ok(true)
    }

    /// Keeps a change-log entry until the current session's transaction commits; false when
    /// no transaction is open (the caller writes it at once).
    pub(super) fn defer_change_log(&mut self, db: &str, sql: &str) -> bool {
        let Some(spid) = self.current_open() else {
            return false;
        };
        match self.transactions.open.get_mut(&spid) {
            Some(open) => {
                open.pending_log.push((db.to_owned(), sql.to_owned()));
                true
            }
            None => false,
        }
    }
}
