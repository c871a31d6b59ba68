//! `webhooks`: outbound event subscriptions. Each carries a signing secret we generate; it is
//! shown to the client once and never serialised from a row, so it cannot leak into a list,
//! a GET or the audit log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::config::Sensitive;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::webhooks;
use crate::domain::{OrganizationId, WebhookId};

/// The events a webhook may subscribe to.
pub const WEBHOOK_EVENTS: &[&str] = &[
    "message.created",
    "message.updated",
    "chat.created",
    "chat.updated",
    "draft.created",
    "draft.resolved",
    "contact.created",
    "contact.updated",
    "deal.updated",
    "campaign.completed",
];

/// A webhook subscription.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg))]
pub struct Webhook {
    /// Id.
    pub id: WebhookId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Where events are POSTed (http or https).
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// HMAC-SHA256 signing key; never serialised.
    #[serde(skip)]
    #[diesel(deserialize_as = String)]
    pub secret: Sensitive<String>,
    /// Inactive webhooks receive nothing.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new webhook.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookInsertForm {
    /// Id.
    pub id: WebhookId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// URL.
    pub url: String,
    /// Description.
    pub description: String,
    /// Events.
    pub events: Vec<String>,
    /// Signing secret.
    pub secret: String,
    /// Active.
    pub active: bool,
}

/// Changes to a webhook (the secret changes only through `rotate_secret`).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookUpdateForm {
    /// URL.
    pub url: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Events.
    pub events: Option<Vec<String>>,
    /// Active.
    pub active: Option<bool>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct WebhookFilter {
    /// Only active (or inactive) webhooks.
    pub active: Option<bool>,
    /// Only webhooks subscribed to this event.
    pub event: Option<String>,
}

impl Webhook {
    /// Inserts a webhook.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &WebhookInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(webhooks::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One webhook of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: WebhookId,
    ) -> QueryResult<Self> {
        webhooks::table
            .filter(webhooks::organization_id.eq(org))
            .filter(webhooks::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &WebhookFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            webhooks::table.filter(webhooks::organization_id.eq(org)),
            webhooks,
            page
        );
        if let Some(active) = filter.active {
            query = query.filter(webhooks::active.eq(active));
        }
        if let Some(event) = &filter.event {
            query = query.filter(webhooks::events.contains(vec![event.clone()]));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |w: &Self| Cursor {
            created_at: w.created_at,
            id: w.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: WebhookId,
        form: &WebhookUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            webhooks::table
                .filter(webhooks::organization_id.eq(org))
                .filter(webhooks::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Replaces the signing secret.
    pub async fn set_secret(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: WebhookId,
        secret: &str,
    ) -> QueryResult<Self> {
        diesel::update(
            webhooks::table
                .filter(webhooks::organization_id.eq(org))
                .filter(webhooks::id.eq(id)),
        )
        .set(webhooks::secret.eq(secret))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a webhook with its delivery history.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: WebhookId,
    ) -> QueryResult<usize> {
        diesel::delete(
            webhooks::table
                .filter(webhooks::organization_id.eq(org))
                .filter(webhooks::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
