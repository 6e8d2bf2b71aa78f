//! Objects in databases by name: `OBJECT_ID` ("OBJECT_ID (Transact-SQL)"). The emulator's
//! objects are user tables; their ids are the ids `sys.tables` and `sys.objects` show.

use super::Instance;
use super::query::q;

impl Instance {
    /// The id of `[db.][schema.]name` seen from database `current_db`, if it is a user table
    /// (and `kind`, when given, is `U`). Names of temporary tables (`#t`) and of objects the
    /// emulator does not keep (views, procedures, system objects) have none.
    pub fn object_id(&self, current_db: &str, name: &str, kind: Option<&str>) -> Option<i64> {
        if kind.is_some_and(|k| !k.trim().eq_ignore_ascii_case("U")) {
            return None;
        }
        let tokens = crate::syntax::tokenize(name).ok()?;
        let mut parts: Vec<Option<String>> = vec![None];
        for t in &tokens {
            match t {
                crate::syntax::Token::Word(w) | crate::syntax::Token::Quoted(w) => {
                    *parts.last_mut()? = Some(w.clone())
                }
                x if x.is_punct(".") => parts.push(None),
                _ => return None,
            }
        }
        if parts.len() > 3 {
            return None;
        }
        let mut parts = parts.into_iter().rev();
        let object = parts.next().flatten()?;
        if object.starts_with('#') {
            return None;
        }
        let schema = parts.next().flatten().unwrap_or_else(|| "dbo".into());
        let db = parts
            .next()
            .flatten()
            .unwrap_or_else(|| current_db.to_owned());
        let info = self.database(&db)?;
        let sql = format!(
            r#"SELECT rowid FROM {}.sqlite_master WHERE type = 'table' AND name = ?1 COLLATE NOCASE"#,
            q(&info.name)
        );
        self.conn
            .query_row(&sql, [format!("{schema}.{object}")], |r| r.get(0))
            .ok()
    }
}
