//! A call of a system procedure that lives in a module of its own, and the shape of the
//! function that carries it out (see `procedures::route`).

use super::{Outcome, SessionView, env::Typed};
use crate::instance::Instance;
use crate::protocol::tokens::ServerMessage;

/// A call of a system procedure that lives in a module of its own.
pub struct Call<'a> {
    /// Each argument: its `@name` (without `@`) when passed by name, and its value.
    pub args: Vec<(Option<&'a str>, Typed)>,
    pub session: &'a SessionView<'a>,
}

/// What a routed procedure produced (result sets, messages); errors end the call.
pub type Handler = fn(&Call<'_>, &mut Instance) -> Result<Vec<Outcome>, Vec<ServerMessage>>;
