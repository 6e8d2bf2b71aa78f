//! Reading T-SQL text: tokens, type names, and the error SQL Server gives for what does not
//! parse. Both the parser ([`crate::sql`]) and the instance read with it — the instance reads
//! back the T-SQL column types it stored as SQLite declared types — so it depends on neither.

mod error;
mod lexer;
mod type_name;

pub use error::{Parsed, closing, closing_paren, expect, name_at, near, syntax_error};
pub use lexer::{LexError, Token, tokenize};
pub use type_name::parse_type;
