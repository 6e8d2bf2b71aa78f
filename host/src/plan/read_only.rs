//! A conservative test of whether a T-SQL batch only reads. Hand-written because no T-SQL
//! parser exists for Rust; it errs towards "may change": any statement keyword that writes,
//! anywhere outside string literals, comments and bracketed names, makes the batch mutating.

/// Words that begin or imply a change. `INTO` catches `SELECT … INTO`; `EXEC` catches any
/// procedure, whose effect is unknown.
const WRITES: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE",
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "INTO",
    "EXEC",
    "EXECUTE",
    "BACKUP",
    "GRANT",
    "REVOKE",
    "DENY",
    "KILL",
    "SHUTDOWN",
    "DBCC",
    "BULK",
    "USE",
    "RECONFIGURE",
    "OPENROWSET",
    "OPENQUERY",
];

/// True when the batch can only read. `RESTORE HEADERONLY|FILELISTONLY|LABELONLY|VERIFYONLY`
/// read a backup and are allowed; any other `RESTORE` is a change.
pub fn is_read_only(sql: &str) -> bool {
    let words = words(sql);
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "RESTORE" {
            let next = words.get(i + 1).map(String::as_str);
            if !matches!(
                next,
                Some("HEADERONLY" | "FILELISTONLY" | "LABELONLY" | "VERIFYONLY")
            ) {
                return false;
            }
        } else if WRITES.contains(&w) {
            return false;
        }
        i += 1;
    }
    true
}

/// The statement's first line, shortened, for messages.
pub fn first_line(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or_default();
    let mut s: String = line.chars().take(120).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// Upper-cased bare words, skipping 'strings', N'strings', "quoted" and [bracketed] names,
/// -- line comments and /* block comments */.
fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = sql.chars().peekable();
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(word.to_ascii_uppercase());
            word.clear();
        }
    };
    while let Some(c) = chars.next() {
        let close = match c {
            '\'' => Some('\''),
            '"' => Some('"'),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = close {
            flush(&mut word, &mut out);
            while let Some(d) = chars.next() {
                if d == close {
                    // A doubled closer is an escaped one inside the literal.
                    if chars.peek() == Some(&close) {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
        } else if c == '-' && chars.peek() == Some(&'-') {
            flush(&mut word, &mut out);
            for d in chars.by_ref() {
                if d == '\n' {
                    break;
                }
            }
        } else if c == '/' && chars.peek() == Some(&'*') {
            flush(&mut word, &mut out);
            chars.next();
            let mut prev = ' ';
            for d in chars.by_ref() {
                if prev == '*' && d == '/' {
                    break;
                }
                prev = d;
            }
        } else if c.is_alphanumeric() || c == '_' || c == '@' || c == '#' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::is_read_only;

    #[test]
    fn reads_pass_and_anything_that_may_change_does_not() {
        for (sql, read_only) in [
            (
                "SELECT name, state_desc FROM sys.databases WHERE name = @db",
                true,
            ),
            ("select count(*) from [Sales].dbo.[Orders]", true),
            ("SELECT N'DROP TABLE x' AS s -- DELETE", true),
            ("SELECT 1 /* INSERT */", true),
            ("SELECT [update] FROM t", true),
            ("RESTORE HEADERONLY FROM URL = 'x'", true),
            ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", true),
            ("SELECT * INTO t2 FROM t", false),
            ("CREATE CREDENTIAL [x] WITH IDENTITY = 'y'", false),
            ("BACKUP DATABASE [db] TO URL = 'x'", false),
            ("RESTORE DATABASE [db] FROM URL = 'x'", false),
            ("SELECT 1; DROP DATABASE db", false),
            ("EXEC sp_configure", false),
            ("SELECT 'it''s'; DELETE FROM t", false),
            ("SET NOCOUNT ON; SELECT 1", true),
        ] {
            assert_eq!(is_read_only(sql), read_only, "{sql}");
        }
    }
}
