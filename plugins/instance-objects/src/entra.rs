//! Windows accounts → Microsoft Entra principals (methods.md §5.1): the mapping and its rules
//! live in the SDK (`ferry_sdk::entra`), which `assess` shares.

pub use ferry_sdk::entra::{Mapped, WindowsKind, split};
