//! Raw SQL that PostgreSQL parses and plans once per connection. diesel never puts a
//! `sql_query` in the connection's statement cache (its text could be anything, and a text built
//! at run time would fill the cache), so each call pays a parse and a plan. Ingest runs a few
//! constant statements per batch (`src/channels/ingest/*.sql`, `models/event_append.sql`), where
//! that was a fixed cost of every commit; wrapping them in [`cached`] lets the cache keep them.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query whose SQL text is a constant, so it may be prepared once and reused (see [`cached`]).
#[derive(Debug, Clone)]
pub struct Cached<Q>(Q);

/// Marks `query` as safe to keep prepared. Only for SQL from a literal or `include_str!`: the
/// cache is keyed by the text, so a text that varies would grow it without bound.
pub fn cached<Q>(query: Q) -> Cached<Q> {
    Cached(query)
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // No type-level id: the cache falls back to the SQL text and bind types as the key.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}
