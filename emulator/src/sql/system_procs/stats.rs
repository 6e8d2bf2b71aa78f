//! `sp_updatestats` ("sp_updatestats (Transact-SQL)"): updates the statistics of every user
//! table in the current database (sql/statistics.rs records them); `@resample` is accepted.

use super::context::{Ctx, Def};
use crate::protocol::tokens::ServerMessage;
use crate::sql::outcome::Outcome;

pub(super) const ENTRIES: &[Def] = &[("sp_updatestats", &["resample"], update_stats)];

fn update_stats(c: &mut Ctx<'_, '_>) -> Result<Vec<Outcome>, ServerMessage> {
    let messages = crate::sql::statistics::update_all(c.s, c.inst)?;
    Ok(messages.into_iter().map(Outcome::Info).collect())
}
