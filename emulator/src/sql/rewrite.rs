//! T-SQL to SQLite for statements on user tables: table names resolved to the attached file and
//! `"schema.table"`, `[brackets]` to double quotes, `N'…'` to `'…'`, `TOP n` to `LIMIT n`,
//! `@params` to positional parameters, `0x…` to blobs, and the few functions whose names differ.

use super::divisor;
use crate::instance::{DB_MARKER, Instance};
use crate::protocol::tokens::ServerMessage;
use crate::syntax::{Token, syntax_error};

/// Catalog views of the whole server, kept in the connection's `main` schema.
const SERVER_VIEWS: &[&str] = &[
    "databases",
    "server_principals",
    "sql_logins",
    "server_role_members",
    "server_permissions",
    "server_principal_credentials",
    "endpoints",
    "syslogins",
    "credentials",
    "dm_operation_status",
    "certificates",
    "symmetric_keys",
    "dm_database_encryption_keys",
    "configurations",
    "messages",
];

/// Views of the server's sessions and resources, rebuilt in the connection's `temp` schema
/// when read.
const SESSION_VIEWS: &[&str] = &[
    "dm_exec_sessions",
    "dm_exec_requests",
    "dm_tran_persistent_version_store_stats",
    "master_files",
    "server_resource_stats",
];

/// A statement ready for SQLite.
pub struct Rewritten {
    pub sql: String,
    /// The `@variables` bound to `?1`, `?2`, … in order.
    pub params: Vec<String>,
    /// The statement's pieces, and which of them are parameters (piece index, parameter index),
    /// so the change log can record the statement with its values inlined.
    pub parts: Vec<String>,
    pub param_slots: Vec<(usize, usize)>,
    /// The database of the first table the statement names (the one it changes, for DML/DDL).
    pub target: Option<String>,
    /// That table: (database, SQLite table name).
    pub target_table: Option<(String, String)>,
    /// The T-SQL types of the result's aggregate columns (sql/result_types.rs).
    pub column_types: Vec<Option<crate::protocol::types::SqlType>>,
}

impl Rewritten {
    /// The statement with parameters inlined as literals and the target database's name
    /// replaced by [`DB_MARKER`], so a restore under another name can replay it.
    pub fn for_log(&self, values: &[crate::protocol::types::Value]) -> String {
        let mut parts = self.parts.clone();
        for (at, p) in &self.param_slots {
            if let Some(v) = values.get(*p) {
                parts[*at] = sql_literal(v);
            }
        }
        let sql = parts.join(" ");
        match &self.target {
            Some(t) => sql.replace(&format!("{}.", quote(t)), &format!("{DB_MARKER}.")),
            None => sql,
        }
    }
}

/// A value as a SQLite literal.
pub fn sql_literal(v: &crate::protocol::types::Value) -> String {
    use crate::protocol::types::{Value, text};
    match v {
        Value::Null => "NULL".into(),
        Value::Bit(b) => i64::from(*b).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:e}"),
        Value::Binary(b) => format!(
            "X'{}'",
            b.iter().map(|x| format!("{x:02X}")).collect::<String>()
        ),
        Value::Variant(inner) => sql_literal(&inner.1),
        other => format!("'{}'", text(other).replace('\'', "''")),
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Keywords after which a name is a table (or view) reference.
fn starts_table(t: &Token) -> bool {
    ["FROM", "JOIN", "INTO", "UPDATE", "TABLE"]
        .iter()
        .any(|k| t.is(k))
}

/// Keywords that end a FROM list (so a `,` after them is not another table).
fn ends_from_list(t: &Token) -> bool {
    [
        "WHERE", "GROUP", "ORDER", "HAVING", "ON", "UNION", "SET", "VALUES", "SELECT", "OPTION",
    ]
    .iter()
    .any(|k| t.is(k))
        || t.is_punct(")")
}

const NOT_ALIAS: &[&str] = &[
    "WHERE", "GROUP", "ORDER", "HAVING", "ON", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS",
    "OUTER", "UNION", "SET", "VALUES", "WITH", "OPTION", "SELECT", "DEFAULT", "OUTPUT",
];

/// A three-part name: database, schema, object.
struct TableName {
    db: Option<String>,
    schema: Option<String>,
    object: String,
}

/// Reads `a`, `a.b`, `a.b.c` or `a..c` from the front of `t`.
fn read_name(t: &[Token]) -> Option<(Vec<Option<String>>, usize)> {
    let mut parts = Vec::new();
    let mut i = 0;
    loop {
        match t.get(i) {
            Some(Token::Word(w) | Token::Quoted(w)) => {
                parts.push(Some(w.clone()));
                i += 1;
            }
            Some(x) if x.is_punct(".") => parts.push(None),
            _ => break,
        }
        if t.get(i).is_some_and(|x| x.is_punct(".")) {
            i += 1;
            continue;
        }
        break;
    }
    if parts.is_empty() || parts.len() > 3 || parts.last().is_none_or(Option::is_none) {
        return None;
    }
    Some((parts, i))
}

fn table_name(parts: Vec<Option<String>>) -> TableName {
    let mut p = parts.into_iter().rev();
    let object = p.next().flatten().unwrap_or_default();
    let schema = p.next().flatten();
    let db = p.next().flatten();
    TableName { db, schema, object }
}

/// Rewrites one statement for the session's current database.
pub fn rewrite(
    tokens: &[Token],
    current_db: &str,
    inst: &Instance,
) -> Result<Rewritten, ServerMessage> {
    let column_types =
        super::result_types::select_types(tokens, &|| statement_columns(tokens, current_db, inst));
    // HASHBYTES and the checksums learn their inputs' T-SQL types first (sql/hash_calls.rs).
    let hashed =
        super::hash_calls::rewrite_calls(tokens, &|| statement_columns(tokens, current_db, inst))?;
    let converted = super::convert_calls::rewrite_converts(&hashed)?;
    let dated = super::date_calls::rewrite_dateadds(&converted)?;
    let converted = super::offset_fetch::rewrite(&dated)?;
    let converted = super::cast_binary::rewrite(&converted);
    let tokens: &[Token] = &converted;
    let mut out: Vec<String> = Vec::new();
    let mut params: Vec<String> = Vec::new();
    let mut param_slots: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0i32;
    let mut closers: Vec<(i32, &str)> = Vec::new();
    let mut limit: Option<String> = None;
    let mut in_from = false;
    let mut expect_table = false;
    let mut from_tables: Vec<(String, String)> = Vec::new();
    // Where each open `ferry_divisor(` closes (input token indexes, innermost last). Table
    // definitions keep their expressions as written: SQLite stores them in the schema.
    let mut divisor_ends: Vec<usize> = Vec::new();
    let defines = tokens
        .first()
        .is_some_and(|t| t.is("CREATE") || t.is("ALTER"));
    let mut i = 0;
    while i < tokens.len() {
        while divisor_ends.last().is_some_and(|&end| end <= i) {
            divisor_ends.pop();
            out.push(")".into());
        }
        let t = &tokens[i];
        if expect_table {
            expect_table = false;
            if let Some((parts, used)) = read_name(&tokens[i..]) {
                let written: String = tokens[i..i + used].iter().map(|t| t.display()).collect();
                let name = table_name(parts);
                let (schema_db, table) = resolve(&name, current_db, inst)?;
                let creating = tokens[0].is("CREATE");
                if !creating && !inst.table_exists(&schema_db, &table) {
                    return Err(if tokens[0].is("DROP") {
                        // SQL Server error 3701 (class 11).
                        ServerMessage::error(
                            3701,
                            11,
                            format!(
                                "Cannot drop the table '{written}', because it does not exist or you do not have permission."
                            ),
                        )
                    } else {
                        // SQL Server error 208 (class 16), naming the object as written.
                        ServerMessage::error(208, 16, format!("Invalid object name '{written}'."))
                    });
                }
                if creating && inst.table_exists(&schema_db, &table) {
                    // SQL Server error 2714 (class 16).
                    return Err(ServerMessage::error(
                        2714,
                        16,
                        format!(
                            "There is already an object named '{}' in the database.",
                            name.object
                        ),
                    ));
                }
                out.push(format!("{}.{}", quote(&schema_db), quote(&table)));
                from_tables.push((schema_db, table));
                i += used;
                // Give the table its T-SQL name as an alias, so `Orders.Total` still resolves.
                let prev = &tokens[i - used - 1];
                let aliasable = prev.is("FROM") || prev.is("JOIN") || prev.is_punct(",");
                let has_alias = match tokens.get(i) {
                    Some(x) if x.is("AS") => true,
                    Some(Token::Word(w)) => !NOT_ALIAS.iter().any(|k| w.eq_ignore_ascii_case(k)),
                    Some(Token::Quoted(_)) => true,
                    _ => false,
                };
                if aliasable && !has_alias {
                    out.push(format!("AS {}", quote(&name.object)));
                }
                continue;
            }
        }
        if starts_table(t) {
            expect_table = true;
            in_from = t.is("FROM") || t.is("JOIN");
            out.push(t.display());
            i += 1;
            continue;
        }
        if in_from && t.is_punct(",") {
            expect_table = true;
            out.push(",".into());
            i += 1;
            continue;
        }
        if ends_from_list(t) {
            in_from = false;
        }
        // TOP n / TOP (n) right after SELECT [DISTINCT]
        if t.is("TOP") && i > 0 && (tokens[i - 1].is("SELECT") || tokens[i - 1].is("DISTINCT")) {
            match (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
                (Some(Token::Number(n)), _, _) => {
                    limit = Some(n.clone());
                    i += 2;
                }
                (Some(p), Some(Token::Number(n)), Some(q))
                    if p.is_punct("(") && q.is_punct(")") =>
                {
                    limit = Some(n.clone());
                    i += 4;
                }
                (Some(p), Some(Token::Var(v)), Some(q)) if p.is_punct("(") && q.is_punct(")") => {
                    params.push(v.clone());
                    limit = Some(format!("?{}", params.len()));
                    i += 4;
                }
                _ => return Err(syntax_error("TOP")),
            }
            continue;
        }
        // Table definitions: IDENTITY(seed, increment), CLUSTERED/NONCLUSTERED and
        // ON [PRIMARY] have no SQLite meaning (IDENTITY values are not generated: a guess that
        // migration tests insert explicit keys); `(max)` becomes `(-1)`, which SQLite's type
        // grammar accepts and the decl-type parser reads back as max.
        if t.is("IDENTITY") && tokens.get(i + 1).is_some_and(|x| x.is_punct("(")) {
            i += tokens[i..]
                .iter()
                .position(|x| x.is_punct(")"))
                .map_or(1, |p| p + 1);
            continue;
        }
        if t.is("CLUSTERED") || t.is("NONCLUSTERED") {
            i += 1;
            continue;
        }
        if t.is("ON")
            && tokens.len() == i + 2
            && matches!(&tokens[i + 1], Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case("PRIMARY"))
        {
            break;
        }
        if t.is("MAX")
            && i > 0
            && tokens[i - 1].is_punct("(")
            && tokens.get(i + 1).is_some_and(|x| x.is_punct(")"))
        {
            out.push("-1".into());
            i += 1;
            continue;
        }
        // Certificate functions read sys.certificates: CERT_ID(name), CERTENCODED(id) and
        // CERTPRIVATEKEY(id, …) become subqueries whose closing text replaces the call's ")".
        if tokens.get(i + 1).is_some_and(|x| x.is_punct("(")) {
            // The argument sits in a FROM-less derived table, so a column in it
            // (`CERTENCODED(certificate_id)` in a query over sys.certificates) names the outer
            // query's row, not the catalog table's own column of that name.
            let template = if t.is("CERT_ID") {
                Some((
                    "(SELECT ferry_c.certificate_id FROM (SELECT (",
                    r#") AS ferry_arg) AS ferry_a JOIN main."sys.certificates" AS ferry_c ON ferry_c.name = ferry_a.ferry_arg COLLATE NOCASE)"#,
                ))
            } else if t.is("CERTENCODED") {
                Some((
                    "(SELECT ferry_k.der FROM (SELECT (",
                    r#") AS ferry_arg) AS ferry_a JOIN main."ferry.certificate_keys" AS ferry_k ON ferry_k.certificate_id = ferry_a.ferry_arg)"#,
                ))
            } else if t.is("SUSER_SNAME") && !tokens.get(i + 2).is_some_and(|x| x.is_punct(")")) {
                // Login functions with an argument inside a query ("SUSER_SNAME", "SUSER_SID",
                // "SUSER_ID"): subqueries of sys.server_principals. The argument sits in a
                // FROM-less derived table, so an unqualified column in it (SUSER_SNAME(sid))
                // names the outer query's column, not the catalog's.
                Some((
                    "(SELECT ferry_p.name FROM (SELECT (",
                    r#") AS ferry_arg) AS ferry_a JOIN main."sys.server_principals" AS ferry_p ON ferry_p.sid = ferry_a.ferry_arg)"#,
                ))
            } else if t.is("SUSER_SID") && !tokens.get(i + 2).is_some_and(|x| x.is_punct(")")) {
                Some((
                    "(SELECT ferry_p.sid FROM (SELECT (",
                    r#") AS ferry_arg) AS ferry_a JOIN main."sys.server_principals" AS ferry_p ON ferry_p.name = ferry_a.ferry_arg COLLATE NOCASE)"#,
                ))
            } else if t.is("SUSER_ID") && !tokens.get(i + 2).is_some_and(|x| x.is_punct(")")) {
                Some((
                    "(SELECT ferry_p.principal_id FROM (SELECT (",
                    r#") AS ferry_arg) AS ferry_a JOIN main."sys.server_principals" AS ferry_p ON ferry_p.name = ferry_a.ferry_arg COLLATE NOCASE)"#,
                ))
            } else if t.is("CERTPRIVATEKEY") {
                // The arguments go into a JSON array; the key is looked up by the first and
                // handed with the passwords to ferry_certprivatekey
                // (instance/certificates/functions.rs). A missing third argument reads NULL.
                Some((
                    "(SELECT ferry_certprivatekey(k.private_key, k.password_hash, json_extract(a.j, '$[1]'), json_extract(a.j, '$[2]')) FROM (SELECT json_array(",
                    r#") AS j) a LEFT JOIN main."ferry.certificate_keys" k ON k.certificate_id = json_extract(a.j, '$[0]'))"#,
                ))
            } else {
                None
            };
            if let Some((open, close)) = template {
                depth += 1;
                closers.push((depth, close));
                out.push(open.to_owned());
                i += 2;
                continue;
            }
        }
        // `/` and `%`: division by zero fails with SQL Server's 8134 (instance/division.rs).
        if !defines
            && (t.is_punct("/") || t.is_punct("%"))
            && let Some(end) = divisor::operand_end(tokens, i + 1)
        {
            out.push(format!("{} ferry_divisor(", t.display()));
            divisor_ends.push(end);
            i += 1;
            continue;
        }
        if t.is_punct("(") {
            depth += 1;
        }
        if t.is_punct(")") {
            if closers.last().is_some_and(|(d, _)| *d == depth) {
                let (_, close) = closers.pop().unwrap_or_default();
                out.push(close.to_owned());
                depth -= 1;
                i += 1;
                continue;
            }
            depth -= 1;
        }
        // LOGINPROPERTY(name, 'PasswordHash') reads sys.sql_logins. Guess: SQL Server returns a
        // sql_variant holding varbinary; the emulator returns the varbinary itself.
        if t.is("LOGINPROPERTY") && tokens.get(i + 1).is_some_and(|x| x.is_punct("(")) {
            let close = tokens[i..]
                .iter()
                .position(|x| x.is_punct(")"))
                .map(|p| i + p)
                .ok_or_else(|| syntax_error("LOGINPROPERTY"))?;
            let comma = tokens[i..close]
                .iter()
                .rposition(|x| x.is_punct(","))
                .map(|p| i + p)
                .ok_or_else(|| syntax_error("LOGINPROPERTY"))?;
            let arg = rewrite(&tokens[i + 2..comma], current_db, inst)?.sql;
            let property = match &tokens[comma + 1] {
                Token::Str { text, .. } => text.to_ascii_lowercase(),
                other => return Err(syntax_error(&other.display())),
            };
            // "LOGINPROPERTY (Transact-SQL)": SQL logins only (NULL for others); the emulator
            // keeps no lockout, expiry or history, so those read as never locked or expired.
            // The argument is evaluated in a FROM-less derived table, in the outer query's
            // scope (see the login functions above).
            let expr = match property.as_str() {
                "passwordhash" => Some("l.password_hash"),
                "defaultdatabase" => Some("l.default_database_name"),
                "defaultlanguage" => Some("l.default_language_name"),
                "passwordhashalgorithm" => Some("2"),
                "ismustchange" => Some(
                    r#"COALESCE((SELECT must_change FROM main."ferry.login_flags" f WHERE f.principal_id = l.principal_id), 0)"#,
                ),
                "islocked" | "isexpired" | "badpasswordcount" | "historylength" => Some("0"),
                _ => None,
            };
            out.push(match expr {
                Some(e) => format!(
                    r#"(SELECT {e} FROM (SELECT ({arg}) AS ferry_arg) AS ferry_a JOIN main."sys.sql_logins" AS l ON l.name = ferry_a.ferry_arg COLLATE NOCASE)"#
                ),
                None => "NULL".into(),
            });
            i = close + 1;
            continue;
        }
        out.push(match t {
            Token::Word(w) if w.eq_ignore_ascii_case("CHECKSUM_AGG") => "ferry_checksum_agg".into(),
            Token::Word(w) if w.eq_ignore_ascii_case("ISNULL") => "ifnull".into(),
            Token::Word(w) if w.eq_ignore_ascii_case("LEN") => "length".into(),
            // DB_NAME(column) and DB_ID(column): constant arguments were evaluated before
            // (table.rs); these read the instance's databases.
            Token::Word(w) if w.eq_ignore_ascii_case("DB_NAME") => "ferry_db_name".into(),
            Token::Word(w) if w.eq_ignore_ascii_case("DB_ID") => "ferry_db_id".into(),
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => quote(q),
            Token::Str { text, .. } => format!("'{}'", text.replace('\'', "''")),
            Token::Number(n) if n.starts_with("0x") || n.starts_with("0X") => {
                format!("X'{}'", &n[2..])
            }
            Token::Number(n) => n.clone(),
            Token::Var(v) => {
                let pos = params
                    .iter()
                    .position(|p| p.eq_ignore_ascii_case(v))
                    .unwrap_or_else(|| {
                        params.push(v.clone());
                        params.len() - 1
                    });
                param_slots.push((out.len(), pos));
                format!("?{}", pos + 1)
            }
            // SQL Server error 137 for a global the emulator does not have inside a table query.
            Token::Global(g) => {
                return Err(ServerMessage::error(
                    137,
                    15,
                    format!("Must declare the scalar variable \"@@{g}\"."),
                ));
            }
            // T-SQL's + concatenates strings ("+ (String Concatenation) (Transact-SQL)");
            // SQLite's adds. Next to a string literal it is a concatenation.
            Token::Punct(p) if p == "+" && concatenates(tokens, i) => "||".into(),
            Token::Punct(p) => p.clone(),
        });
        i += 1;
    }
    out.extend(divisor_ends.drain(..).map(|_| ")".to_owned()));
    if let Some(n) = limit {
        out.push(format!("LIMIT {n}"));
    }
    let sql = out.join(" ");
    let target = from_tables.first().map(|(db, _)| db.clone());
    let target_table = from_tables.into_iter().next();
    Ok(Rewritten {
        sql,
        params,
        parts: out,
        param_slots,
        target,
        target_table,
        column_types,
    })
}

/// The columns (name, declared type) of the tables a statement reads.
fn statement_columns(tokens: &[Token], current_db: &str, inst: &Instance) -> Vec<(String, String)> {
    let after = |(i, t): (usize, &Token)| (t.is("FROM") || t.is("JOIN")).then_some(i + 1);
    tokens
        .iter()
        .enumerate()
        .filter_map(after)
        .filter_map(|at| read_name(&tokens[at..]).map(|(parts, _)| parts))
        .filter_map(|parts| resolve(&table_name(parts), current_db, inst).ok())
        .flat_map(|(db, table)| inst.column_decls(&db, &table))
        .collect()
}

/// Whether the `+` at `tokens[i]` has a string literal on either side.
fn concatenates(tokens: &[Token], i: usize) -> bool {
    let is_str = |t: Option<&Token>| matches!(t, Some(Token::Str { .. }));
    is_str(tokens.get(i + 1)) || (i > 0 && is_str(tokens.get(i - 1)))
}

/// Where a T-SQL name lives: (SQLite schema = attached database, SQLite table name).
fn resolve(
    name: &TableName,
    current_db: &str,
    inst: &Instance,
) -> Result<(String, String), ServerMessage> {
    let schema = name.schema.clone().unwrap_or_else(|| "dbo".into());
    if schema.eq_ignore_ascii_case("sys") {
        for (views, at) in [
            (SESSION_VIEWS, "temp"),
            (crate::instance::RESOURCE_DMVS, "temp"),
            (SERVER_VIEWS, "main"),
            (crate::instance::SERVER_OBJECT_VIEWS, "main"),
            (crate::hadr::schema::CATALOG_VIEWS, "main"),
            (crate::hadr::schema::RUNTIME_VIEWS, "temp"),
        ] {
            if views.iter().any(|v| v.eq_ignore_ascii_case(&name.object)) {
                return Ok((
                    at.into(),
                    format!("sys.{}", name.object.to_ascii_lowercase()),
                ));
            }
        }
    }
    let db = name.db.clone().unwrap_or_else(|| current_db.to_owned());
    let Some(info) = inst.database(&db) else {
        // SQL Server error 911 (class 16).
        return Err(ServerMessage::error(
            911,
            16,
            format!(
                "Database '{db}' does not exist. Make sure that the name is entered correctly."
            ),
        ));
    };
    info.usable()?;
    let schema = if schema.eq_ignore_ascii_case("sys") {
        "sys".to_owned()
    } else {
        schema
    };
    Ok((info.name.clone(), format!("{schema}.{}", name.object)))
}
