//! Objects by name and by id for the metadata functions: OBJECT_ID, OBJECT_NAME,
//! OBJECT_SCHEMA_NAME and OBJECTPROPERTY ("OBJECT_ID (Transact-SQL)", "OBJECT_NAME",
//! "OBJECT_SCHEMA_NAME", "OBJECTPROPERTY"). Each answers NULL for what it cannot find.

use crate::instance::Instance;
use crate::instance::query::q;

/// OBJECTPROPERTY properties the emulator answers, and the sys.objects types that make them 1.
const PROPERTIES: &[(&str, &[&str])] = &[
    ("IsUserTable", &["U"]),
    ("IsTable", &["U"]),
    ("IsView", &["V"]),
    ("IsProcedure", &["P"]),
    ("IsTrigger", &["TR"]),
    ("IsScalarFunction", &["FN"]),
    ("IsInlineFunction", &["IF"]),
    ("IsTableFunction", &["TF", "IF"]),
    ("IsPrimaryKey", &["PK"]),
    ("IsForeignKey", &["F"]),
    ("IsCheckCnst", &["C"]),
    ("IsDefaultCnst", &["D"]),
    ("IsUniqueCnst", &["UQ"]),
    ("IsConstraint", &["PK", "F", "C", "D", "UQ"]),
    // Every object the emulator keeps is a user object.
    ("IsMSShipped", &[]),
    ("IsSystemTable", &[]),
];

/// The sys.objects types for which OBJECTPROPERTY's `property` is 1; None for a property the
/// emulator does not answer.
pub fn object_property_types(property: &str) -> Option<&'static [&'static str]> {
    PROPERTIES
        .iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(property.trim()))
        .map(|(_, t)| *t)
}

impl Instance {
    /// The id of `schema.name` in `db`, when an object has it (and, with `kind`, is of that
    /// sys.objects type).
    pub(crate) fn object_id_in(
        &self,
        db: &str,
        schema: &str,
        name: &str,
        kind: Option<&str>,
    ) -> Option<i64> {
        let schema_id = self.schema_id(db, schema)?;
        let (id, ty) = self.object_in_schema(db, schema_id, name)?;
        match kind {
            Some(k) if !k.trim().eq_ignore_ascii_case(ty.trim()) => None,
            _ => Some(id),
        }
    }

    /// (name, schema name, type) of an object by id.
    fn object_row(&self, db: &str, id: i64) -> Option<(String, String, String)> {
        let sql = format!(
            r#"SELECT o.name, s.name, o.type FROM {d}."sys.objects" o JOIN {d}."sys.schemas" s ON s.schema_id = o.schema_id WHERE o.object_id = ?1"#,
            d = q(db)
        );
        self.conn
            .query_row(&sql, [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .ok()
    }

    /// OBJECT_NAME(id [, database_id]).
    pub fn object_name(&self, db: &str, id: i64) -> Option<String> {
        self.object_row(db, id).map(|r| r.0)
    }

    /// OBJECT_SCHEMA_NAME(id [, database_id]).
    pub fn object_schema_name(&self, db: &str, id: i64) -> Option<String> {
        self.object_row(db, id).map(|r| r.1)
    }

    /// OBJECTPROPERTY(id, property): 1 or 0, NULL for an unknown object or property.
    pub fn object_property(&self, db: &str, id: i64, property: &str) -> Option<i64> {
        let (_, _, ty) = self.object_row(db, id)?;
        let types = object_property_types(property)?;
        Some(i64::from(types.contains(&ty.trim())))
    }
}
