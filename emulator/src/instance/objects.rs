//! Objects in databases by name: `OBJECT_ID` ("OBJECT_ID (Transact-SQL)"). The ids are the
//! ids `sys.objects` shows (schema_objects).

use super::Instance;

impl Instance {
    /// The id of `[db.][schema.]name` seen from database `current_db` (and of type `kind`,
    /// when given). Names of temporary tables (`#t`) and of system objects have none.
    pub fn object_id(&self, current_db: &str, name: &str, kind: Option<&str>) -> Option<i64> {
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
        self.object_id_in(&info.name, &schema, &object, kind)
    }
}
