//! TYPE_NAME(type_id) in queries over tables ("TYPE_NAME (Transact-SQL)", learn.microsoft.com:
//! the name of the type whose `user_type_id` is given, NULL for an id no type has). The
//! system types' ids are the same in every database ("sys.types"), so they are answered from
//! [`SYSTEM_TYPES`]. An alias or CLR user type's id is the database's own, which a scalar
//! function does not see: it answers NULL — a lookup that fails visibly rather than a name
//! guessed. `TYPE_NAME(240)` is NULL too: 240 is the CLR types' system_type_id, no type's
//! user_type_id.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};

use super::types::SYSTEM_TYPES;

fn name(id: i64) -> Option<&'static str> {
    SYSTEM_TYPES.iter().find(|t| t.2 == id).map(|t| t.0)
}

pub(crate) fn register_type_name(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "TYPE_NAME",
        1,
        FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_UTF8,
        |ctx| {
            let id = match ctx.get_raw(0) {
                ValueRef::Integer(n) => Some(n),
                _ => None,
            };
            Ok(id
                .and_then(name)
                .map_or(Value::Null, |n| Value::Text(n.to_owned())))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn system_ids_name_their_types() {
        assert_eq!(name(56), Some("int"));
        assert_eq!(name(231), Some("nvarchar"));
        assert_eq!(name(256), Some("sysname"));
        assert_eq!(name(128), Some("hierarchyid"));
        assert_eq!(name(240), None);
        assert_eq!(name(257), None);
    }
}
