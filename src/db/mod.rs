//! PostgreSQL access: one pool type with explicit timeouts, embedded migrations, and one model
//! file per table under `models/`. Model functions take `&mut AsyncPgConnection` so callers can
//! compose them inside one transaction.

pub mod migrate;
pub mod models;
pub mod pagination;
pub mod prepared;
pub mod schema;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use futures_util::FutureExt;
use std::time::Duration;

use crate::config::DatabaseConfig;

/// The connection pool every request and actor draws from.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection checked out of the pool; returned when dropped.
pub type DbConn = Object<AsyncPgConnection>;

/// Builds the pool; connections are opened lazily, so this does not touch the network.
pub fn build_pool(config: &DatabaseConfig) -> anyhow::Result<DbPool> {
    // `Fast` recycling: a checkout does not ping the server first. The default (`Verified`) adds
    // a `SELECT 1` round trip to every checkout, which was a quarter of an agent turn's round
    // trips (benches/agent_turn.rs). A connection the server closed fails its next statement
    // instead; diesel-async then marks it broken and the pool drops it, and the caller's own
    // error path (no ack before commit, outbox retries) covers that one failure.
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(|url| establish_with_session_settings(url).boxed());
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        config.url.expose().as_str(),
        manager_config,
    );
    let pool = Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.pool_timeout()))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(pool)
}

/// Opens a connection and applies the settings every session of ours runs with, once per
/// connection instead of once per query:
/// - `hnsw.iterative_scan = strict_order` (pgvector >= 0.8): when a filtered vector search (one
///   organisation, one contact) uses the HNSW index, it keeps scanning until enough rows pass the
///   filter instead of returning too few; long-term recall relies on it.
async fn establish_with_session_settings(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(url).await?;
    diesel::sql_query("SET hnsw.iterative_scan = strict_order")
        .execute(&mut conn)
        .await
        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

/// An update whose form set no column is a no-op, not an error: returns the row as it was.
/// (Diesel refuses to build `UPDATE ... SET` with nothing to set.)
pub fn or_unchanged<T: Clone>(
    result: diesel::QueryResult<T>,
    before: &T,
) -> diesel::QueryResult<T> {
    match result {
        Err(diesel::result::Error::QueryBuilderError(e))
            if e.is::<diesel::result::EmptyChangeset>() =>
        {
            Ok(before.clone())
        }
        other => other,
    }
}
