//! Names SQL Server makes up for constraints written without one. The documentation says only
//! that the system generates a name; the shape below is the one SQL Server shows
//! (`PK__Orders__3214EC07…`): the prefix, the table's name cut to 8 characters, for CHECK,
//! DEFAULT and FOREIGN KEY the column's name cut to 9 (FOREIGN KEY: the referenced table's),
//! then hex digits. SQL Server's digits look random; the emulator's are the constraint's
//! object id (16 digits for keys, 8 for the others), so they are unique in the database.

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// `PK__Table__00000000000F4241` / `UQ__…` for keys.
pub(super) fn key_name(primary: bool, table: &str, object_id: i64) -> String {
    let prefix = if primary { "PK" } else { "UQ" };
    format!("{prefix}__{}__{object_id:016X}", cut(table, 8))
}

/// `CK__Table__Column__000F4241`, `DF__…`, `FK__Table__Referenced__…`; a table CHECK has
/// no column part (`CK__Table__000F4241`).
pub(super) fn other_name(prefix: &str, table: &str, second: &str, object_id: i64) -> String {
    let hex = format!("{:08X}", object_id & 0xFFFF_FFFF);
    if second.is_empty() {
        return format!("{prefix}__{}__{hex}", cut(table, 8));
    }
    format!("{prefix}__{}__{}__{hex}", cut(table, 8), cut(second, 9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_have_sql_servers_shape() {
        assert_eq!(
            key_name(true, "OrderLines", 1_000_001),
            "PK__OrderLin__00000000000F4241"
        );
        assert_eq!(
            other_name("DF", "Orders", "CreatedAt", 1_000_002),
            "DF__Orders__CreatedAt__000F4242"
        );
        assert_eq!(other_name("CK", "T", "", 16), "CK__T__00000010");
    }
}
