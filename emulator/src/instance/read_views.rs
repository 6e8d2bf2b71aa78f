//! What a statement reads of Query Store and the resource DMVs, made ready before it runs: the
//! store's tables in every database (on servers that have Query Store; elsewhere the names stay
//! unknown, error 208 as SQL Server 2014 answers), the DMVs filled from the model.

use super::Instance;
use super::query_store::{QUERY_STORE_VIEWS, query_store_available};
use super::resource_dmvs::RESOURCE_DMVS;
use crate::personality::Personality;
use crate::protocol::tokens::ServerMessage;
use crate::syntax::Token;

impl Instance {
    /// Readies the Query Store views and resource DMVs `tokens` name.
    pub fn prepare_read_views(
        &mut self,
        tokens: &[Token],
        p: &Personality,
    ) -> Result<(), ServerMessage> {
        let names = |list: &'static [&'static str]| {
            list.iter().copied().filter(|v| {
                tokens.iter().any(
                    |t| matches!(t, Token::Word(w) | Token::Quoted(w) if w.eq_ignore_ascii_case(v)),
                )
            })
        };
        if names(QUERY_STORE_VIEWS).next().is_some() && query_store_available(p) {
            self.ensure_query_stores(p)?;
        }
        let dmvs: Vec<&str> = names(RESOURCE_DMVS).collect();
        for view in dmvs {
            self.refresh_resource_dmv(view, p)?;
        }
        Ok(())
    }
}
