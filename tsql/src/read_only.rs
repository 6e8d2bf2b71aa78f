//! Whether a T-SQL text can only read: what a `read` grant allows through `query`, in `ferry
//! plan` and `ferry apply` alike.
//!
//! An allow-list over a closed vocabulary, not a hunt for dangerous words. SQL Server's reserved
//! keywords can only be names when delimited, so every bare one is grammar; a read may use only
//! the reserved words of queries, variables, session options, control of flow and PRINT
//! (`READ_KEYWORDS` in `keywords.rs`), some of them only in a checked context. On top of that:
//!
//! - a procedure name at the start of a batch runs it (an implicit EXEC), so it must be on
//!   `READ_PROCEDURES`, as must any EXEC'd procedure; EXEC of text or of a variable never is;
//! - unreserved words that begin a change (SEND, RECEIVE, ENABLE/DISABLE TRIGGER…) are refused
//!   bare, wherever they stand;
//! - `GO` lines start new batches, as sqlcmd reads them.
//!
//! This is the second fence. The SQL login's own permissions stay the real boundary: a scalar
//! function, a CLR assembly or an extended procedure the login may call can do what its code
//! does, and no reading of the text can see that. Grant a read-only label a login that can only
//! read.

use crate::batch::batches;
use crate::keywords::{
    CHANGE_VERBS, READ_KEYWORDS, READ_PROCEDURES, SESSION_OPTIONS, contains, is_reserved,
};
use crate::lexer::{Spanned, Token, tokenize_spanned};

/// Why a text is not a read: the kind of statement (`DROP DATABASE`, `EXEC sp_configure`,
/// `SELECT … INTO`) and the text where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What was refused, as a reader would name it: `DROP DATABASE`, `EXEC sp_configure`.
    pub kind: String,
    /// Why this kind counts as a change, when that is not plain from its name.
    pub why: Option<&'static str>,
    /// The text from the refused word to the end of its line, shortened.
    pub near: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(why) = self.why {
            write!(f, " ({why})")?;
        }
        write!(f, " at `{}`", self.near)
    }
}

/// `Ok` when every statement of `sql` only reads; otherwise the first one that may change
/// something.
pub fn check(sql: &str) -> Result<(), Refusal> {
    let parts = batches(sql).map_err(|e| Refusal {
        kind: "text that cannot be read as T-SQL".into(),
        why: Some("it may hide a statement"),
        near: format!("{e}"),
    })?;
    for batch in parts {
        let tokens = tokenize_spanned(batch.text).map_err(|e| Refusal {
            kind: "text that cannot be read as T-SQL".into(),
            why: Some("it may hide a statement"),
            near: format!("{e}"),
        })?;
        Batch {
            sql: batch.text,
            t: &tokens,
        }
        .check()?;
    }
    Ok(())
}

struct Batch<'a> {
    sql: &'a str,
    t: &'a [Spanned],
}

impl Batch<'_> {
    fn upper(&self, i: usize) -> Option<String> {
        match self.t.get(i).map(|s| &s.token) {
            Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is_punct(&self, i: usize, p: &str) -> bool {
        self.t.get(i).is_some_and(|s| s.token.is_punct(p))
    }

    fn refuse(&self, i: usize, kind: String, why: Option<&'static str>) -> Result<(), Refusal> {
        let from = self.t.get(i).map_or(self.sql.len(), |s| s.span.start);
        let line = self.sql[from..]
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end();
        let mut near: String = line.chars().take(80).collect();
        if near.len() < line.len() {
            near.push('…');
        }
        Err(Refusal { kind, why, near })
    }

    /// `VERB NEXT` for messages, when the next token is a word (`DROP DATABASE`).
    fn kind(&self, i: usize) -> String {
        let verb = self.upper(i).unwrap_or_default();
        match self.upper(i + 1) {
            Some(next)
                if is_reserved(&next)
                    || next.chars().all(|c| c.is_ascii_uppercase() || c == '_') =>
            {
                format!("{verb} {next}")
            }
            _ => verb,
        }
    }

    fn check(&self) -> Result<(), Refusal> {
        self.implicit_exec()?;
        for i in 0..self.t.len() {
            let Some(word) = self.upper(i) else { continue };
            if contains(CHANGE_VERBS, &word) {
                return self.refuse(
                    i,
                    self.kind(i),
                    Some("bracket it, as [name], if it is a column's name"),
                );
            }
            if !is_reserved(&word) {
                continue;
            }
            if !contains(READ_KEYWORDS, &word) {
                let kind = match word.as_str() {
                    "INTO" => "SELECT … INTO".to_owned(),
                    _ => self.kind(i),
                };
                return self.refuse(i, kind, None);
            }
            self.in_context(i, &word)?;
        }
        Ok(())
    }

    /// The DBCC commands that only report: trace flag status ("DBCC TRACESTATUS"), log space
    /// ("DBCC SQLPERF" with LOGSPACE only: its other form clears wait and latch statistics),
    /// the session's options, the oldest open transaction, a session's last statement, and a
    /// statistics object. Every other DBCC may change, repair or tie up the server.
    fn dbcc(&self, i: usize, next: Option<&str>) -> Result<(), Refusal> {
        let reads = match next {
            Some(
                "TRACESTATUS" | "USEROPTIONS" | "OPENTRAN" | "INPUTBUFFER" | "SHOW_STATISTICS",
            ) => true,
            Some("SQLPERF") => {
                self.is_punct(i + 2, "(")
                    && self.upper(i + 3).as_deref() == Some("LOGSPACE")
                    && self.is_punct(i + 4, ")")
            }
            _ => false,
        };
        if reads {
            Ok(())
        } else {
            self.refuse(
                i,
                self.kind(i),
                Some("only DBCC TRACESTATUS, SQLPERF(LOGSPACE), USEROPTIONS, OPENTRAN, INPUTBUFFER and SHOW_STATISTICS read"),
            )
        }
    }

    /// A batch that starts with a name runs the procedure of that name.
    fn implicit_exec(&self) -> Result<(), Refusal> {
        let first = self.t.iter().position(|s| !s.token.is_punct(";"));
        let Some(first) = first else { return Ok(()) };
        let starts_with_a_name = match &self.t[first].token {
            Token::Word(w) => {
                let w = w.to_ascii_uppercase();
                !is_reserved(&w) && !contains(CHANGE_VERBS, &w) && w != "THROW"
            }
            Token::Quoted(_) => true,
            _ => false,
        };
        if starts_with_a_name {
            self.procedure(
                first,
                Some("a procedure name at the start of a batch runs it, as EXEC would"),
            )?;
        }
        Ok(())
    }

    /// The reserved words a read may use only in some places.
    fn in_context(&self, i: usize, word: &str) -> Result<(), Refusal> {
        let next = self.upper(i + 1);
        let next = next.as_deref();
        match word {
            "EXEC" | "EXECUTE" => self.exec(i),
            "RESTORE" => match next {
                Some("HEADERONLY" | "FILELISTONLY" | "LABELONLY" | "VERIFYONLY") => Ok(()),
                _ => self.refuse(i, self.kind(i), None),
            },
            "BEGIN" => match next {
                Some("TRAN" | "TRANSACTION" | "DISTRIBUTED" | "DIALOG" | "CONVERSATION") => {
                    self.refuse(i, self.kind(i), None)
                }
                _ => Ok(()),
            },
            "END" if next == Some("CONVERSATION") => self.refuse(i, self.kind(i), None),
            "WAITFOR" => match next {
                Some("DELAY" | "TIME") => Ok(()),
                _ => self.refuse(
                    i,
                    "WAITFOR (RECEIVE …)".into(),
                    Some("only WAITFOR DELAY and WAITFOR TIME read"),
                ),
            },
            "SET" => self.set(i),
            "DBCC" => self.dbcc(i, next),
            "FETCH" => match self.upper(i.wrapping_sub(1)).as_deref() {
                Some("ROW" | "ROWS") => Ok(()),
                _ => self.refuse(i, "FETCH (a cursor)".into(), None),
            },
            "FOR"
                if i >= 2
                    && self.upper(i - 1).as_deref() == Some("VALUE")
                    && self.upper(i - 2).as_deref() == Some("NEXT") =>
            {
                self.refuse(
                    i - 2,
                    "NEXT VALUE FOR".into(),
                    Some("it advances a sequence"),
                )
            }
            "USE" if i == 0 || !(self.is_punct(i - 1, "(") || self.is_punct(i - 1, ",")) => self
                .refuse(
                    i,
                    "USE".into(),
                    Some("it changes the connection's database"),
                ),
            _ => Ok(()),
        }
    }

    /// `EXEC [@status =] procedure …` with a procedure that only reads.
    fn exec(&self, i: usize) -> Result<(), Refusal> {
        let mut j = i + 1;
        if matches!(self.t.get(j).map(|s| &s.token), Some(Token::Var(_)))
            && self.is_punct(j + 1, "=")
        {
            j += 2;
        }
        match self.t.get(j).map(|s| &s.token) {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("AS") => self.refuse(
                i,
                "EXECUTE AS".into(),
                Some("it changes who the session is"),
            ),
            Some(Token::Word(_) | Token::Quoted(_)) => self.procedure(j, None),
            _ => self.refuse(
                i,
                "EXEC of text or of a variable".into(),
                Some("what it runs cannot be read here"),
            ),
        }
    }

    /// The procedure named from token `i` (`name`, `sys.name`, `master.dbo.name`, `msdb..name`)
    /// must be a system procedure on the read list.
    fn procedure(&self, i: usize, why: Option<&'static str>) -> Result<(), Refusal> {
        let mut parts: Vec<String> = Vec::new();
        let mut j = i;
        loop {
            match self.t.get(j).map(|s| &s.token) {
                Some(Token::Word(w) | Token::Quoted(w)) => {
                    parts.push(w.to_lowercase());
                    j += 1;
                }
                _ => parts.push(String::new()),
            }
            if !self.is_punct(j, ".") {
                break;
            }
            j += 1;
        }
        let name = parts.join(".");
        let allowed = match parts.as_slice() {
            [proc] => contains(READ_PROCEDURES, proc),
            [schema, proc] => schema == "sys" && contains(READ_PROCEDURES, proc),
            [db, schema, proc] => {
                matches!(db.as_str(), "master" | "msdb")
                    && matches!(schema.as_str(), "sys" | "dbo" | "")
                    && contains(READ_PROCEDURES, proc)
            }
            _ => false,
        };
        if allowed {
            Ok(())
        } else {
            self.refuse(
                i,
                format!("EXEC {name}"),
                why.or(Some("only system procedures that report are allowed")),
            )
        }
    }

    /// `SET @variable …` or `SET option[, option…] …` with session options only.
    fn set(&self, i: usize) -> Result<(), Refusal> {
        if matches!(self.t.get(i + 1).map(|s| &s.token), Some(Token::Var(_))) {
            return Ok(());
        }
        let mut j = i + 1;
        loop {
            match self.upper(j) {
                Some(option) if contains(SESSION_OPTIONS, &option) => {}
                _ => return self.refuse(i, self.kind(i), None),
            }
            if !self.is_punct(j + 1, ",") {
                return Ok(());
            }
            j += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    /// The specification: (text, reads?). Every kind of change the read grant must stop, and
    /// the reads that plugins really send.
    const TABLE: &[(&str, bool)] = &[
        (
            "SELECT name, state_desc FROM sys.databases WHERE name = @db",
            true,
        ),
        ("select count(*) from [Sales].dbo.[Orders]", true),
        ("SELECT N'DROP TABLE x' AS s -- DELETE", true),
        ("SELECT 1 /* INSERT */", true),
        ("SELECT [update] FROM t", true),
        ("RESTORE HEADERONLY FROM URL = 'x'", true),
        ("RESTORE FILELISTONLY FROM DISK = N'x' WITH FILE = 1", true),
        ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", true),
        ("SET NOCOUNT ON; SELECT 1", true),
        ("SET ANSI_NULLS, QUOTED_IDENTIFIER ON", true),
        ("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", true),
        ("DECLARE @n int = 3; SET @n += 1; PRINT @n; SELECT @n", true),
        (
            "IF EXISTS (SELECT 1 FROM sys.databases) BEGIN SELECT 1 END ELSE SELECT 2",
            true,
        ),
        (
            "BEGIN TRY SELECT 1 END TRY BEGIN CATCH THROW; END CATCH",
            true,
        ),
        (
            "SELECT a FROM t ORDER BY a OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY",
            true,
        ),
        (
            "SELECT a FROM t OPTION (RECOMPILE, USE HINT ('DISABLE_OPTIMIZER_ROWGOAL'))",
            true,
        ),
        (
            "SELECT * FROM t FOR SYSTEM_TIME AS OF '2020-01-01' FOR JSON AUTO",
            true,
        ),
        (
            "SELECT CASE WHEN a IS NULL THEN 0 ELSE 1 END FROM t WITH (NOLOCK)",
            true,
        ),
        (
            "SELECT * FROM (VALUES (1), (2)) AS v(a) UNION ALL SELECT 3",
            true,
        ),
        ("EXEC sp_helpsrvrolemember 'sysadmin'", true),
        ("sp_helpdb", true),
        ("EXECUTE @rc = master.dbo.sp_who2", true),
        ("EXEC msdb.dbo.sp_help_job @job_name = N'x'", true),
        ("xp_msver", true),
        ("WAITFOR DELAY '00:00:01'; SELECT 1", true),
        ("SELECT 1\nGO\nsp_who\nGO 2", true),
        ("SELECT '[a]]@sas]' AS [a]]b]", true),
        // Changes.
        ("SELECT * INTO t2 FROM t", false),
        ("CREATE CREDENTIAL [x] WITH IDENTITY = 'y'", false),
        ("BACKUP DATABASE [db] TO URL = 'x'", false),
        ("RESTORE DATABASE [db] FROM URL = 'x'", false),
        ("SELECT 1; DROP DATABASE db", false),
        ("SELECT 1 DROP DATABASE db", false),
        ("EXEC sp_configure", false),
        ("SELECT 'it''s'; DELETE FROM t", false),
        ("sp_addsrvrolemember 'evil', 'sysadmin'", false),
        ("[sp_addsrvrolemember] 'evil', 'sysadmin'", false),
        ("master..sp_addsrvrolemember 'evil', 'sysadmin'", false),
        ("sp_configure 'show advanced options', 1", false),
        ("EXEC sp_configure 'xp_cmdshell', 1; RECONFIGURE", false),
        ("DISABLE TRIGGER ALL ON DATABASE", false),
        ("ENABLE TRIGGER t ON DATABASE", false),
        ("CHECKPOINT", false),
        ("UPDATETEXT t.c @p 0 NULL 'x'", false),
        (
            "SELECT * FROM OPENDATASOURCE('SQLNCLI', 'Data Source=x').db.dbo.t",
            false,
        ),
        ("SELECT * FROM OPENQUERY(ls, 'DELETE FROM t')", false),
        (
            "SELECT * FROM OPENROWSET(BULK 'x', SINGLE_BLOB) AS b",
            false,
        ),
        ("END CONVERSATION @h", false),
        ("BEGIN TRAN; SELECT 1", false),
        ("BEGIN DIALOG @h FROM SERVICE a TO SERVICE 'b'", false),
        ("SEND ON CONVERSATION @h (N'x')", false),
        ("RECEIVE TOP (1) * FROM q", false),
        ("WAITFOR (RECEIVE TOP (1) * FROM q)", false),
        ("GET CONVERSATION GROUP @g FROM q", false),
        ("EXEC ('DROP TABLE t')", false),
        ("EXEC @proc", false),
        ("EXEC sp_executesql N'DROP TABLE t'", false),
        ("EXECUTE AS LOGIN = 'sa'; SELECT 1", false),
        ("EXEC evil.dbo.sp_helpdb", false),
        ("EXEC srv.master.dbo.sp_helpdb", false),
        ("EXEC dbo.sp_helpdb", false),
        ("SELECT NEXT VALUE FOR dbo.seq", false),
        ("USE master; SELECT 1", false),
        ("SET IDENTITY_INSERT t ON", false),
        ("SET CONTEXT_INFO 0x01", false),
        ("DECLARE c CURSOR FOR SELECT 1; OPEN c", false),
        ("RAISERROR ('x', 10, 1) WITH LOG", false),
        ("KILL 53", false),
        ("DBCC CHECKDB", false),
        ("DBCC TRACESTATUS(-1) WITH NO_INFOMSGS", true),
        ("DBCC TRACESTATUS", true),
        ("DBCC SQLPERF(LOGSPACE)", true),
        ("DBCC SQLPERF('sys.dm_os_wait_stats', CLEAR)", false),
        ("DBCC TRACEON(1117, -1)", false),
        ("DBCC FREEPROCCACHE", false),
        ("DBCC SHOW_STATISTICS ('dbo.T', PK_T)", true),
        ("SHUTDOWN WITH NOWAIT", false),
        ("GRANT CONTROL SERVER TO x", false),
        ("TRUNCATE TABLE t", false),
        ("MERGE t USING s ON 1 = 1 WHEN MATCHED THEN DELETE;", false),
        ("WITH c AS (SELECT * FROM t) DELETE FROM c", false),
        (
            "SELECT 1 /* a /* nested */ still a comment */; INSERT t VALUES (1)",
            false,
        ),
        ("SELECT 1 -- x\nINSERT t VALUES (1)", false),
        ("SELECT 'a\nGO\n' AS x; UPDATE t SET a = 1", false),
        ("SELECT 1\nGO\nsp_configure 'x', 1", false),
        ("SELECT 'unclosed", false),
        ("SELECT 1 /* unclosed", false),
        ("lbl: SELECT 1", false),
    ];

    #[test]
    fn reads_pass_and_every_change_is_refused() {
        for (sql, reads) in TABLE {
            let got = check(sql);
            assert_eq!(got.is_ok(), *reads, "{sql}: {got:?}");
        }
    }

    #[test]
    fn a_refusal_names_the_statement_kind_and_where() {
        let kind = |sql: &str| check(sql).unwrap_err().kind;
        assert_eq!(kind("SELECT 1; DROP DATABASE db"), "DROP DATABASE");
        assert_eq!(
            kind("sp_addsrvrolemember 'evil', 'sysadmin'"),
            "EXEC sp_addsrvrolemember"
        );
        assert_eq!(kind("SELECT * INTO t2 FROM t"), "SELECT … INTO");
        assert_eq!(kind("END CONVERSATION @h"), "END CONVERSATION");
        assert_eq!(kind("DISABLE TRIGGER ALL ON DATABASE"), "DISABLE TRIGGER");
        assert_eq!(kind("CHECKPOINT"), "CHECKPOINT");
        let r = check("SELECT 1;\n  DROP TABLE t -- gone\nSELECT 2").unwrap_err();
        assert_eq!(r.near, "DROP TABLE t -- gone");
        assert!(
            check("sp_configure 'x', 1")
                .unwrap_err()
                .to_string()
                .contains("at the start of a batch runs it")
        );
    }
}
