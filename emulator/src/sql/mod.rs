//! The T-SQL the emulator understands. This first slice answers what a client asks before it
//! touches data: `SELECT` of expressions (`@@VERSION`, `@@SERVERNAME`, `SERVERPROPERTY(…)`,
//! literals, `CAST`), `USE`, `PRINT`, `SET` options; everything else gets the error SQL Server
//! would give for a statement it cannot resolve, naming what was not understood.

pub mod backup;
mod batch;
mod file_change;
mod outcome;
pub mod rewrite;
mod scalar;
pub mod security;
mod session;
mod table;

pub use batch::execute_batch;
pub use outcome::Outcome;
pub use session::SessionView;
