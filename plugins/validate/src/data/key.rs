//! A row's key as the state journals it: the key columns' values, read from one server and
//! sent back to both as typed parameters.

use ferry_sdk::SqlValue;
use serde::{Deserialize, Serialize};

/// One key column's value. Mirrors [`SqlValue`], which is not serializable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum KeyPart {
    Null,
    Bit(bool),
    Int(i64),
    Float(f64),
    Decimal(String),
    Text(String),
    Binary(Vec<u8>),
    Datetime(String),
    Guid(String),
}

/// A key: one part per key column, in key order.
pub type Key = Vec<KeyPart>;

impl From<&SqlValue> for KeyPart {
    fn from(v: &SqlValue) -> Self {
        match v {
            SqlValue::Null => KeyPart::Null,
            SqlValue::Bit(b) => KeyPart::Bit(*b),
            SqlValue::Int(i) => KeyPart::Int(*i),
            SqlValue::Float(f) => KeyPart::Float(*f),
            SqlValue::Decimal(s) => KeyPart::Decimal(s.clone()),
            SqlValue::Text(s) => KeyPart::Text(s.clone()),
            SqlValue::Binary(b) => KeyPart::Binary(b.clone()),
            SqlValue::Datetime(s) => KeyPart::Datetime(s.clone()),
            SqlValue::Guid(s) => KeyPart::Guid(s.clone()),
        }
    }
}

impl KeyPart {
    pub fn to_sql(&self) -> SqlValue {
        match self {
            KeyPart::Null => SqlValue::Null,
            KeyPart::Bit(b) => SqlValue::Bit(*b),
            KeyPart::Int(i) => SqlValue::Int(*i),
            KeyPart::Float(f) => SqlValue::Float(*f),
            KeyPart::Decimal(s) => SqlValue::Decimal(s.clone()),
            KeyPart::Text(s) => SqlValue::Text(s.clone()),
            KeyPart::Binary(b) => SqlValue::Binary(b.clone()),
            KeyPart::Datetime(s) => SqlValue::Datetime(s.clone()),
            KeyPart::Guid(s) => SqlValue::Guid(s.clone()),
        }
    }
}

/// A key as a person reads it in a report: `42`, `(7, 'EU')`.
pub fn show(key: &Key) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|p| match p {
            KeyPart::Null => "NULL".to_owned(),
            KeyPart::Text(s) | KeyPart::Datetime(s) | KeyPart::Guid(s) => {
                format!("'{}'", s.replace('\'', "''"))
            }
            KeyPart::Binary(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
                format!("0x{hex}")
            }
            other => ferry_sdk::sql_value::text(Some(&other.to_sql())),
        })
        .collect();
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// A key as a map key: its JSON, which is the same for equal keys.
pub fn map_key(key: &Key) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_show_as_literals_and_round_trip_through_sql_values() {
        assert_eq!(show(&vec![KeyPart::Int(42)]), "42");
        assert_eq!(
            show(&vec![KeyPart::Int(7), KeyPart::Text("O'Neil".into())]),
            "(7, 'O''Neil')"
        );
        assert_eq!(show(&vec![KeyPart::Binary(vec![0xab, 1])]), "0xAB01");
        let k = KeyPart::Guid("6F9619FF-8B86-D011-B42D-00C04FC964FF".into());
        assert_eq!(KeyPart::from(&k.to_sql()), k);
        assert_ne!(
            map_key(&vec![KeyPart::Int(1)]),
            map_key(&vec![KeyPart::Text("1".into())])
        );
    }
}
