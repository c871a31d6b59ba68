//! `channels`: the configured edges (a Telegram bot, a mailbox, the web inbox) chats arrive
//! through. Settings are non-secret; secrets are only named, as environment variables.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind, OrganizationId};

/// A channel.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = channels, check_for_backend(diesel::pg::Pg))]
pub struct Channel {
    /// Id.
    pub id: ChannelId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Which outside world it bridges; fixed at creation.
    pub kind: ChannelKind,
    /// Unique name in the organisation.
    pub name: String,
    /// Non-secret settings (a JSON object).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Secret name → name of the environment variable holding it (never the secret itself).
    #[schema(value_type = Object)]
    pub secret_refs: serde_json::Value,
    /// Whether it runs.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new channel.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = channels)]
pub struct ChannelInsertForm {
    /// Id.
    pub id: ChannelId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Kind.
    pub kind: ChannelKind,
    /// Name.
    pub name: String,
    /// Settings.
    pub settings: serde_json::Value,
    /// Secret references.
    pub secret_refs: serde_json::Value,
    /// Active.
    pub active: bool,
}

/// Changes to a channel (the kind never changes).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = channels)]
pub struct ChannelUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Settings (replaces the object).
    pub settings: Option<serde_json::Value>,
    /// Secret references (replaces the object).
    pub secret_refs: Option<serde_json::Value>,
    /// Active.
    pub active: Option<bool>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ChannelFilter {
    /// Of this kind.
    pub kind: Option<ChannelKind>,
    /// Active or not.
    pub active: Option<bool>,
}

impl Channel {
    /// Inserts a channel.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &ChannelInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(channels::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One channel of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChannelId,
    ) -> QueryResult<Self> {
        channels::table
            .filter(channels::organization_id.eq(org))
            .filter(channels::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &ChannelFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            channels::table.filter(channels::organization_id.eq(org)),
            channels,
            page
        );
        if let Some(kind) = filter.kind {
            query = query.filter(channels::kind.eq(kind));
        }
        if let Some(active) = filter.active {
            query = query.filter(channels::active.eq(active));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |c: &Self| Cursor {
            created_at: c.created_at,
            id: c.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChannelId,
        form: &ChannelUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            channels::table
                .filter(channels::organization_id.eq(org))
                .filter(channels::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a channel (and, by cascade, its chats and their messages).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChannelId,
    ) -> QueryResult<usize> {
        diesel::delete(
            channels::table
                .filter(channels::organization_id.eq(org))
                .filter(channels::id.eq(id)),
        )
        .execute(conn)
        .await
    }

    /// For each secret reference, whether its environment variable is set (non-empty) here
    /// (so an operator sees a missing secret before the channel fails to connect).
    pub fn secrets_present(&self) -> std::collections::BTreeMap<String, bool> {
        self.secret_refs
            .as_object()
            .map(|refs| {
                refs.iter()
                    .map(|(name, env)| {
                        let set = env.as_str().is_some_and(|env| {
                            std::env::var_os(env).is_some_and(|v| !v.is_empty())
                        });
                        (name.clone(), set)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
