//! Embedded, reversible migrations. `switchboard migrate` and the test harness run them; the first
//! one creates the `vector` extension.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies what is not applied yet and returns the versions it ran.
pub async fn run_pending(database_url: &str) -> anyhow::Result<Vec<String>> {
    with_connection(database_url, |conn| {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("running migrations failed: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Reverts every applied migration, newest first (used by the reversibility test and `migrate --reset`).
pub async fn revert_all(database_url: &str) -> anyhow::Result<Vec<String>> {
    with_connection(database_url, |conn| {
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    })
    .await
}

/// Migration harnesses are synchronous; run them on a blocking thread over the async driver.
async fn with_connection<T: Send + 'static>(
    database_url: &str,
    work: impl FnOnce(&mut SyncConnection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SyncConnection::establish(&url)
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL to migrate: {e}"))?;
        work(&mut conn)
    })
    .await?
}
