//! An error a host import returns: either the interface's own error type, which goes back to the
//! plugin, or a trap, which ends the call — a handle that is not in the plugin's table, a host
//! fault — because a plugin cannot act on it. Generic, like wasmtime-wasi's `TrappableError`, so
//! it depends on nothing the bindings generate.

/// `E` for the plugin, or a trap.
#[derive(Debug)]
pub enum Trappable<E> {
    /// Returned to the plugin.
    Error(E),
    /// Ends the call with a trap.
    Trap(wasmtime::Error),
}

/// A handle the plugin does not hold is a trap: the plugin broke the interface's rules.
impl<E> From<wasmtime::component::ResourceTableError> for Trappable<E> {
    fn from(e: wasmtime::component::ResourceTableError) -> Self {
        Trappable::Trap(e.into())
    }
}

impl<E> Trappable<E> {
    /// The value for the plugin, or the trap that ends its call.
    pub fn into_result(self) -> wasmtime::Result<E> {
        match self {
            Trappable::Error(e) => Ok(e),
            Trappable::Trap(t) => Err(t),
        }
    }
}
