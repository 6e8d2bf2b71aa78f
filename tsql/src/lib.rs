//! One T-SQL lexer, shared by everything in ferry that reads T-SQL text: the host's read-only
//! classifier (what a `read` grant allows) and its parameter binder, the SDK's quoting helpers,
//! and the emulator's parser. Four hand-written scanners used to disagree about where a string
//! or a bracketed name ends; a name that [`quote_name`] produced could then be read as code by
//! another. Now there is one reading, and property tests hold the pieces to each other.
//!
//! It also holds Query Store's wait-category table ([`wait_category`]), which the emulator
//! and the `baseline` plugin must read alike.
//!
//! Hand-written because no T-SQL lexer exists as a Rust library; the rules follow Microsoft's
//! "Database identifiers", "Constants (Transact-SQL)", "Slash Star (Block Comment)" and
//! "SQL Server Utilities Statements - GO" pages.

#![deny(missing_docs)]

mod batch;
mod keywords;
mod lexer;
mod quote;
pub mod read_only;
mod wait_categories;

pub use batch::{Batch, batches};
pub use lexer::{LexError, Spanned, Token, tokenize, tokenize_spanned};
pub use quote::{quote_name, quote_text};
pub use wait_categories::wait_category;
