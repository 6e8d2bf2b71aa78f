//! Reading the cells of a query's rows: plugins compare and parse them as text or integers,
//! whatever type the server chose for the column.

use crate::wit::{QueryResult, SqlValue};

impl QueryResult {
    /// The first result set's rows (none when the statement returned no set).
    pub fn into_first_rows(self) -> Vec<Vec<SqlValue>> {
        self.sets
            .into_iter()
            .next()
            .map(|s| s.rows)
            .unwrap_or_default()
    }
}

/// A cell as text: strings, decimals, dates and GUIDs as sent, numbers in decimal, a bit as
/// `1`/`0`, binary as upper-case hex (a certificate thumbprint); NULL and a missing cell as "".
pub fn text(v: Option<&SqlValue>) -> String {
    match v {
        Some(
            SqlValue::Text(t) | SqlValue::Decimal(t) | SqlValue::Datetime(t) | SqlValue::Guid(t),
        ) => t.clone(),
        Some(SqlValue::Int(i)) => i.to_string(),
        Some(SqlValue::Float(f)) => f.to_string(),
        Some(SqlValue::Bit(b)) => u8::from(*b).to_string(),
        Some(SqlValue::Binary(b)) => b.iter().map(|x| format!("{x:02X}")).collect(),
        _ => String::new(),
    }
}

/// A cell as an integer: integers, bits, and numbers sent as text or decimals
/// (`SERVERPROPERTY` answers in a `sql_variant`); anything else is 0.
pub fn int(v: Option<&SqlValue>) -> i64 {
    match v {
        Some(SqlValue::Int(i)) => *i,
        Some(SqlValue::Float(f)) => *f as i64,
        Some(SqlValue::Bit(b)) => i64::from(*b),
        other => text(other).trim().parse::<f64>().map_or(0, |f| f as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_text_and_integers_whatever_their_type() {
        assert_eq!(text(Some(&SqlValue::Binary(vec![0xab, 0x01]))), "AB01");
        assert_eq!(text(Some(&SqlValue::Bit(true))), "1");
        assert_eq!(text(Some(&SqlValue::Guid("6F9619FF".into()))), "6F9619FF");
        assert_eq!(text(Some(&SqlValue::Null)), "");
        assert_eq!(text(None), "");
        assert_eq!(int(Some(&SqlValue::Text("15".into()))), 15);
        assert_eq!(int(Some(&SqlValue::Decimal("12.0".into()))), 12);
        assert_eq!(int(Some(&SqlValue::Bit(true))), 1);
        assert_eq!(int(Some(&SqlValue::Text("x".into()))), 0);
    }
}
