//! What module text (`sys.sql_modules.definition`: procedures, functions, views, triggers) uses
//! that a Managed Instance does not have, or that SQL Server has deprecated. The text is read as
//! tokens by ferry's one T-SQL lexer, so comments never count; string literals are looked into
//! for the procedures a dynamic `EXEC ('…')` calls (stricter: dynamic SQL is code too).

use ferry_tsql::{Spanned, Token, tokenize_spanned};
use serde::{Deserialize, Serialize};

/// One module's text, named `schema.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub name: String,
    pub definition: String,
}

/// What the modules of one database use, each as the modules (and what) that use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleScan {
    /// Modules read.
    pub modules: u64,
    /// Modules whose text the lexer could not read (an unclosed quote or comment).
    pub unreadable: Vec<String>,
    pub xp_cmdshell: Vec<String>,
    /// `sp_OA*` procedures (OLE Automation).
    pub ole_automation: Vec<String>,
    /// SQL Mail's `xp_sendmail` and friends.
    pub sql_mail: Vec<String>,
    pub distributed_transactions: Vec<String>,
    /// (module, database it names in a three-part or `db..object` name).
    pub cross_database: Vec<(String, String)>,
    /// (module, deprecated feature).
    pub deprecated: Vec<(String, String)>,
    /// Whether the module text could be read at all (`sys.sql_modules`).
    pub read: bool,
    /// Whether the answer was cut to the query's limit.
    pub truncated: bool,
}

/// Procedures a Managed Instance does not run: `xp_cmdshell` ("T-SQL differences between SQL
/// Server and Azure SQL Managed Instance", Stored procedures, functions, and triggers:
/// "xp_cmdshell isn't supported"), OLE Automation (`sp_OA*`, the same page: "Ole Automation
/// Procedures" is ignored), SQL Mail (discontinued in SQL Server 2012: "Discontinued Database
/// Engine functionality in SQL Server").
const SQL_MAIL: [&str; 7] = [
    "xp_sendmail",
    "xp_startmail",
    "xp_stopmail",
    "xp_readmail",
    "xp_findnextmsg",
    "xp_deletemail",
    "sp_processmail",
];

/// Deprecated or discontinued words, with what to say ("Deprecated Database Engine features in
/// SQL Server 2022" and "Discontinued Database Engine functionality in SQL Server",
/// learn.microsoft.com). Only names that cannot be anything else are matched by word.
const DEPRECATED_WORDS: [(&str, &str); 26] = [
    (
        "sp_dboption",
        "sp_dboption (discontinued: use ALTER DATABASE)",
    ),
    (
        "sp_dbcmptlevel",
        "sp_dbcmptlevel (discontinued: use ALTER DATABASE … SET COMPATIBILITY_LEVEL)",
    ),
    ("sp_addlogin", "sp_addlogin (deprecated: use CREATE LOGIN)"),
    ("sp_droplogin", "sp_droplogin (deprecated: use DROP LOGIN)"),
    (
        "sp_grantlogin",
        "sp_grantlogin (deprecated: use CREATE LOGIN)",
    ),
    (
        "sp_revokelogin",
        "sp_revokelogin (deprecated: use DROP LOGIN)",
    ),
    (
        "sp_denylogin",
        "sp_denylogin (deprecated: use ALTER LOGIN … DISABLE)",
    ),
    ("sp_adduser", "sp_adduser (deprecated: use CREATE USER)"),
    ("sp_dropuser", "sp_dropuser (deprecated: use DROP USER)"),
    (
        "sp_grantdbaccess",
        "sp_grantdbaccess (deprecated: use CREATE USER)",
    ),
    (
        "sp_revokedbaccess",
        "sp_revokedbaccess (deprecated: use DROP USER)",
    ),
    ("sp_addrole", "sp_addrole (deprecated: use CREATE ROLE)"),
    ("sp_droprole", "sp_droprole (deprecated: use DROP ROLE)"),
    (
        "sp_addrolemember",
        "sp_addrolemember (deprecated: use ALTER ROLE … ADD MEMBER)",
    ),
    (
        "sp_addsrvrolemember",
        "sp_addsrvrolemember (deprecated: use ALTER SERVER ROLE … ADD MEMBER)",
    ),
    (
        "sp_attach_db",
        "sp_attach_db (deprecated: use CREATE DATABASE … FOR ATTACH)",
    ),
    (
        "sp_renamedb",
        "sp_renamedb (deprecated: use ALTER DATABASE … MODIFY NAME)",
    ),
    ("setuser", "SETUSER (deprecated: use EXECUTE AS)"),
    (
        "fastfirstrow",
        "FASTFIRSTROW hint (discontinued: use OPTION (FAST n))",
    ),
    (
        "writetext",
        "WRITETEXT (deprecated: use varchar(max) and UPDATE … .WRITE)",
    ),
    (
        "updatetext",
        "UPDATETEXT (deprecated: use varchar(max) and UPDATE … .WRITE)",
    ),
    (
        "readtext",
        "READTEXT (deprecated: use SUBSTRING on varchar(max))",
    ),
    ("textptr", "TEXTPTR (deprecated: use varchar(max))"),
    (
        "sysobjects",
        "sysobjects (deprecated compatibility view: use sys.objects)",
    ),
    (
        "sysindexes",
        "sysindexes (deprecated compatibility view: use sys.indexes)",
    ),
    (
        "syscolumns",
        "syscolumns (deprecated compatibility view: use sys.columns)",
    ),
];

/// Databases every instance has: a reference to them is not one to another user database.
const SYSTEM_DATABASES: [&str; 4] = ["master", "msdb", "tempdb", "model"];

/// Scans `modules` of database `db`.
pub fn scan(db: &str, modules: &[Module]) -> ModuleScan {
    let mut out = ModuleScan {
        modules: modules.len() as u64,
        read: true,
        ..ModuleScan::default()
    };
    for m in modules {
        let tokens = match tokenize_spanned(&m.definition) {
            Ok(t) => t,
            Err(_) => {
                out.unreadable.push(m.name.clone());
                continue;
            }
        };
        scan_one(db, &m.name, &tokens, &mut out);
    }
    out
}

fn push_once(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

fn push_pair(list: &mut Vec<(String, String)>, name: &str, what: &str) {
    if !list.iter().any(|(n, w)| n == name && w == what) {
        list.push((name.to_owned(), what.to_owned()));
    }
}

/// The words a token holds: itself for a word, the words of a string literal's text (dynamic
/// SQL), lower-cased.
fn words(t: &Token) -> Vec<String> {
    match t {
        Token::Word(w) => vec![w.to_ascii_lowercase()],
        Token::Str { text, .. } => text
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect(),
        _ => Vec::new(),
    }
}

/// The name part a token is, if it can be one (a word or a quoted identifier).
fn name_part(t: &Token) -> Option<&str> {
    match t {
        Token::Word(w) | Token::Quoted(w) => Some(w),
        _ => None,
    }
}

fn scan_one(db: &str, name: &str, tokens: &[Spanned], out: &mut ModuleScan) {
    let tok = |i: usize| tokens.get(i).map(|s| &s.token);
    for (i, s) in tokens.iter().enumerate() {
        for w in words(&s.token) {
            if w == "xp_cmdshell" {
                push_once(&mut out.xp_cmdshell, name);
            } else if w.starts_with("sp_oa") && w.len() > 5 {
                push_once(&mut out.ole_automation, name);
            } else if SQL_MAIL.contains(&w.as_str()) {
                push_once(&mut out.sql_mail, name);
            }
        }
        if let Token::Word(w) = &s.token {
            let lw = w.to_ascii_lowercase();
            if let Some((_, what)) = DEPRECATED_WORDS.iter().find(|(k, _)| *k == lw) {
                push_pair(&mut out.deprecated, name, what);
            }
        }
        let t = &s.token;
        // BEGIN DISTRIBUTED TRAN[SACTION].
        if t.is("BEGIN") && tok(i + 1).is_some_and(|n| n.is("DISTRIBUTED")) {
            push_once(&mut out.distributed_transactions, name);
        }
        // Old outer joins: `a.x *= b.y`, `a.x =* b.y` (discontinued; compatibility level 80
        // only). `SET @v *= 2` (compound assignment) follows a variable, so it is not one.
        if let Some(n) = tokens.get(i + 1)
            && s.span.end == n.span.start
        {
            let prev_is_var = i > 0 && matches!(tok(i - 1), Some(Token::Var(_)));
            let star_eq = t.is_punct("*") && n.token.is_punct("=") && !prev_is_var && i > 0;
            let eq_star = t.is_punct("=")
                && n.token.is_punct("*")
                && tok(i + 2).is_some_and(|x| name_part(x).is_some());
            if star_eq || eq_star {
                push_pair(
                    &mut out.deprecated,
                    name,
                    "*= / =* outer join (discontinued: use LEFT/RIGHT OUTER JOIN)",
                );
            }
        }
        // COMPUTE SUM(x) [BY …] (discontinued in 2012): the word before an aggregate, so a
        // column named compute is not one.
        const AGGREGATES: [&str; 9] = [
            "SUM", "AVG", "COUNT", "MAX", "MIN", "STDEV", "STDEVP", "VAR", "VARP",
        ];
        if t.is("COMPUTE")
            && tok(i + 1).is_some_and(|n| AGGREGATES.iter().any(|a| n.is(a)))
            && tok(i + 2).is_some_and(|n| n.is_punct("("))
        {
            push_pair(
                &mut out.deprecated,
                name,
                "COMPUTE / COMPUTE BY (discontinued: use ROLLUP)",
            );
        }
        // RAISERROR 50001 'text' (the form without parentheses, discontinued in 2012).
        if t.is("RAISERROR") && matches!(tok(i + 1), Some(Token::Number(_) | Token::Var(_))) {
            push_pair(
                &mut out.deprecated,
                name,
                "RAISERROR without parentheses (discontinued: use RAISERROR (…) or THROW)",
            );
        }
        // SET ROWCOUNT n (n > 0) does not limit INSERT, UPDATE and DELETE in a future release.
        if t.is("SET")
            && tok(i + 1).is_some_and(|n| n.is("ROWCOUNT"))
            && !matches!(tok(i + 2), Some(Token::Number(n)) if n == "0")
        {
            push_pair(
                &mut out.deprecated,
                name,
                "SET ROWCOUNT (deprecated for INSERT/UPDATE/DELETE: use TOP)",
            );
        }
        // text, ntext and image as declared types: after a variable or parameter, or AS.
        if let Token::Word(w) = t
            && ["text", "ntext", "image"].contains(&w.to_ascii_lowercase().as_str())
            && i > 0
            && matches!(tok(i - 1), Some(Token::Var(_)))
        {
            push_pair(
                &mut out.deprecated,
                name,
                "text/ntext/image (deprecated: use varchar(max), nvarchar(max), varbinary(max))",
            );
        }
        cross_database(db, name, tokens, i, out);
    }
}

/// `db.schema.object` or `db..object` after FROM, JOIN, INTO, UPDATE, EXEC, EXECUTE, MERGE,
/// USING or TABLE, where `db` is another user database. Four-part names (a linked server) and
/// `schema.table.column` in a select list are not matched.
fn cross_database(db: &str, name: &str, tokens: &[Spanned], i: usize, out: &mut ModuleScan) {
    const BEFORE: [&str; 9] = [
        "FROM", "JOIN", "INTO", "UPDATE", "EXEC", "EXECUTE", "MERGE", "USING", "TABLE",
    ];
    if !BEFORE.iter().any(|k| tokens[i].token.is(k)) {
        return;
    }
    let tok = |k: usize| tokens.get(k).map(|s| &s.token);
    let Some(first) = tok(i + 1).and_then(name_part) else {
        return;
    };
    if !tok(i + 2).is_some_and(|t| t.is_punct(".")) {
        return;
    }
    // db..object, or db.schema.object not followed by a fourth part.
    let three = match tok(i + 3) {
        Some(t) if t.is_punct(".") => tok(i + 4).and_then(name_part).is_some(),
        Some(t) if name_part(t).is_some() => {
            tok(i + 4).is_some_and(|t| t.is_punct("."))
                && tok(i + 5).and_then(name_part).is_some()
                && !tok(i + 6).is_some_and(|t| t.is_punct("."))
        }
        _ => false,
    };
    let other = !first.eq_ignore_ascii_case(db)
        && !SYSTEM_DATABASES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(first));
    if three && other {
        push_pair(&mut out.cross_database, name, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> ModuleScan {
        scan(
            "Sales",
            &[Module {
                name: "dbo.p".into(),
                definition: text.into(),
            }],
        )
    }

    #[test]
    fn procedures_mi_lacks_are_found_in_code_and_dynamic_sql_not_in_comments() {
        assert_eq!(one("EXEC master..xp_cmdshell 'dir'").xp_cmdshell, ["dbo.p"]);
        assert_eq!(
            one("EXEC ('EXEC xp_cmdshell ''dir''')").xp_cmdshell,
            ["dbo.p"]
        );
        assert!(
            one("-- xp_cmdshell\n/* xp_cmdshell */ SELECT 1")
                .xp_cmdshell
                .is_empty()
        );
        assert_eq!(
            one("EXEC sp_OACreate 'x', @o OUT").ole_automation,
            ["dbo.p"]
        );
        assert_eq!(
            one("EXEC xp_sendmail @recipients = 'a'").sql_mail,
            ["dbo.p"]
        );
        assert!(one("SELECT sp_oa FROM t").ole_automation.is_empty());
    }

    #[test]
    fn distributed_transactions_and_other_databases_are_found() {
        let s = one(
            "BEGIN DISTRIBUTED TRANSACTION; SELECT * FROM Hr.dbo.Staff s JOIN Inv..Items i ON 1=1; SELECT * FROM Sales.dbo.t; SELECT * FROM msdb.dbo.sysjobs; SELECT * FROM Srv.Hr.dbo.x",
        );
        assert_eq!(s.distributed_transactions, ["dbo.p"]);
        let dbs: Vec<&str> = s.cross_database.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(dbs, ["Hr", "Inv"]);
        // schema.table.column in a select list, and two-part names, are not databases.
        assert!(one("SELECT dbo.t.c FROM dbo.t").cross_database.is_empty());
        assert!(
            one("BEGIN TRAN; COMMIT")
                .distributed_transactions
                .is_empty()
        );
    }

    #[test]
    fn deprecated_syntax_is_named() {
        let what =
            |t: &str| -> Vec<String> { one(t).deprecated.into_iter().map(|(_, w)| w).collect() };
        assert!(what("SELECT * FROM a, b WHERE a.x *= b.y")[0].contains("*="));
        assert!(what("SELECT * FROM a, b WHERE a.x =* b.y")[0].contains("*="));
        assert!(what("SET @v *= 2").is_empty());
        assert!(what("RAISERROR 50001 'bad'")[0].contains("RAISERROR"));
        assert!(what("RAISERROR ('bad', 16, 1)").is_empty());
        assert!(what("SET ROWCOUNT 10; DELETE t")[0].contains("ROWCOUNT"));
        assert!(what("SET ROWCOUNT 0").is_empty());
        assert!(what("EXEC sp_dboption 'db', 'read only', 'true'")[0].contains("sp_dboption"));
        assert!(what("CREATE PROCEDURE p @t ntext AS SELECT 1")[0].contains("ntext"));
        assert!(what("SELECT text FROM t").is_empty());
        assert!(what("SELECT name FROM sysobjects")[0].contains("sys.objects"));
        assert!(what("SELECT a FROM t COMPUTE SUM(a)")[0].contains("COMPUTE"));
        assert!(what("SELECT compute FROM t").is_empty());
        assert!(one("SELECT 'unclosed").unreadable == ["dbo.p"]);
    }
}
