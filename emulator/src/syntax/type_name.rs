//! T-SQL type names, as CAST and column definitions write them.

use super::error::{Parsed, expect, near};
use super::lexer::Token;
use crate::protocol::tokens::ServerMessage;
use crate::protocol::types::SqlType;

/// A type name with its length, e.g. `nvarchar(128)`, `nvarchar(max)`, `int`.
pub fn parse_type(t: &[Token]) -> Parsed<'_, SqlType> {
    let Some(Token::Word(name)) = t.first() else {
        return Err(near(t));
    };
    let mut rest = &t[1..];
    let mut args: Vec<Option<u16>> = Vec::new();
    if rest.first().is_some_and(|x| x.is_punct("(")) {
        rest = &rest[1..];
        loop {
            match rest.first() {
                Some(Token::Number(n)) => args.push(n.parse().ok()),
                Some(x) if x.is("MAX") => args.push(None),
                _ => return Err(near(rest)),
            }
            rest = &rest[1..];
            if rest.first().is_some_and(|x| x.is_punct(",")) {
                rest = &rest[1..];
                continue;
            }
            rest = expect(rest, ")")?;
            break;
        }
    }
    let len = args.first().copied().unwrap_or(Some(30));
    let ty = match name.to_ascii_lowercase().as_str() {
        "tinyint" => SqlType::TinyInt,
        "smallint" => SqlType::SmallInt,
        "int" | "integer" => SqlType::Int,
        "bigint" => SqlType::BigInt,
        "bit" => SqlType::Bit,
        "float" | "real" => SqlType::Float,
        "decimal" | "numeric" => SqlType::Decimal(
            args.first().copied().flatten().unwrap_or(18) as u8,
            args.get(1).copied().flatten().unwrap_or(0) as u8,
        ),
        "nvarchar" | "nchar" | "sysname" => {
            SqlType::NVarChar(if name.eq_ignore_ascii_case("sysname") {
                Some(128)
            } else {
                len
            })
        }
        "varchar" | "char" => SqlType::VarChar(len),
        "varbinary" | "binary" => SqlType::VarBinary(len),
        "uniqueidentifier" => SqlType::UniqueIdentifier,
        "date" => SqlType::Date,
        "datetime2" | "datetime" => SqlType::DateTime2,
        "sql_variant" => SqlType::SqlVariant,
        // SQL Server error 243: Type … is not a defined system type.
        other => {
            return Err(ServerMessage::error(
                243,
                16,
                format!("Type {other} is not a defined system type."),
            ));
        }
    };
    Ok((ty, rest))
}
