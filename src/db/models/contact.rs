//! `contacts`: the people the sales team talks to, on any channel.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::models::user::lower;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::contacts;
use crate::domain::{CompanyId, ContactId, OrganizationId};

/// A contact.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = contacts, check_for_backend(diesel::pg::Pg))]
pub struct Contact {
    /// Id.
    pub id: ContactId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Their company.
    pub company_id: Option<CompanyId>,
    /// Full name.
    pub name: String,
    /// Email, unique per organisation (case-insensitive).
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Telegram user id (64-bit).
    pub telegram_user_id: Option<i64>,
    /// Telegram private chat id (64-bit).
    pub telegram_chat_id: Option<i64>,
    /// Telegram @username.
    pub telegram_username: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom attributes.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// IANA time zone, for quiet hours.
    pub timezone: Option<String>,
    /// Where the contact came from (`import`, `telegram`, a campaign...).
    pub source: Option<String>,
    /// Opted out of messages.
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// Their email bounced.
    pub bounced_at: Option<DateTime<Utc>>,
    /// A channel reported them unreachable (e.g. blocked the bot).
    pub unreachable_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new contact.
#[derive(Debug, Clone, Default, Insertable)]
#[diesel(table_name = contacts)]
pub struct ContactInsertForm {
    /// Id.
    pub id: ContactId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Company.
    pub company_id: Option<CompanyId>,
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// Telegram chat id.
    pub telegram_chat_id: Option<i64>,
    /// Telegram username.
    pub telegram_username: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Attributes.
    pub attributes: serde_json::Value,
    /// Time zone.
    pub timezone: Option<String>,
    /// Source.
    pub source: Option<String>,
}

/// Changes to a contact; `Some(None)` clears a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = contacts)]
pub struct ContactUpdateForm {
    /// Company.
    pub company_id: Option<Option<CompanyId>>,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<Option<String>>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Telegram user id.
    pub telegram_user_id: Option<Option<i64>>,
    /// Telegram chat id.
    pub telegram_chat_id: Option<Option<i64>>,
    /// Telegram username.
    pub telegram_username: Option<Option<String>>,
    /// Title.
    pub title: Option<Option<String>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Attributes.
    pub attributes: Option<serde_json::Value>,
    /// Time zone.
    pub timezone: Option<Option<String>>,
    /// Source.
    pub source: Option<Option<String>>,
    /// Opt-out state.
    pub unsubscribed_at: Option<Option<DateTime<Utc>>>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Substring of name or email, case-insensitive.
    pub query: Option<String>,
    /// Has this tag.
    pub tag: Option<String>,
    /// Works at this company.
    pub company_id: Option<CompanyId>,
}

impl Contact {
    /// Inserts a contact.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &ContactInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(contacts::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One contact of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ContactId,
    ) -> QueryResult<Self> {
        contacts::table
            .filter(contacts::organization_id.eq(org))
            .filter(contacts::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The organisation's contact with this email, ignoring case.
    pub async fn find_by_email(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        email: &str,
    ) -> QueryResult<Self> {
        contacts::table
            .filter(contacts::organization_id.eq(org))
            .filter(lower(contacts::email.assume_not_null()).eq(email.to_lowercase()))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            contacts::table.filter(contacts::organization_id.eq(org)),
            contacts,
            page
        );
        if let Some(q) = filter.query.as_deref().filter(|q| !q.is_empty()) {
            let pattern = format!("%{}%", escape_like(q));
            query = query.filter(
                contacts::name
                    .ilike(pattern.clone())
                    .or(contacts::email.ilike(pattern)),
            );
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(contacts::tags.contains(vec![tag.clone()]));
        }
        if let Some(company) = filter.company_id {
            query = query.filter(contacts::company_id.eq(company));
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
        id: ContactId,
        form: &ContactUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            contacts::table
                .filter(contacts::organization_id.eq(org))
                .filter(contacts::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a contact (and, by cascade, their chats and memories).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ContactId,
    ) -> QueryResult<usize> {
        diesel::delete(
            contacts::table
                .filter(contacts::organization_id.eq(org))
                .filter(contacts::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
