//! `pitches`: generated pitches, cached per contact by fingerprint. The pitch generator
//! (`crate::pitches`) reads a live row for the fingerprint before calling the model, and
//! upserts on (organisation, contact, fingerprint) after, so a regeneration replaces the
//! cached text instead of piling up duplicates.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::pitches;
use crate::domain::{ContactId, OrganizationId, PitchId, TemplateId};

/// A generated pitch.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = pitches, check_for_backend(diesel::pg::Pg))]
pub struct Pitch {
    /// Id.
    pub id: PitchId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The contact it was written for.
    pub contact_id: ContactId,
    /// The pitch template it started from, if any.
    pub template_id: Option<TemplateId>,
    /// Name of the agent that wrote it.
    pub agent: String,
    /// SHA-256 (hex) of the contact's data and the configuration it was written with.
    pub fingerprint: String,
    /// The quick settings used: `{tone, length, focus}`.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Subject line, when the model gave one.
    pub subject: Option<String>,
    /// The pitch.
    pub body: String,
    /// The model that wrote it.
    pub model: String,
    /// Tokens the model read.
    pub prompt_tokens: i32,
    /// Tokens the model wrote.
    pub completion_tokens: i32,
    /// Set when an output rail asked for a human to look before the pitch is used.
    pub review_reason: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// After this, the same fingerprint generates a new pitch.
    pub expires_at: DateTime<Utc>,
}

/// A new pitch (or the replacement of a cached one with the same fingerprint).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pitches)]
pub struct PitchInsertForm {
    /// Id.
    pub id: PitchId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Contact.
    pub contact_id: ContactId,
    /// Template.
    pub template_id: Option<TemplateId>,
    /// Agent name.
    pub agent: String,
    /// Fingerprint.
    pub fingerprint: String,
    /// Quick settings.
    pub settings: serde_json::Value,
    /// Subject.
    pub subject: Option<String>,
    /// Body.
    pub body: String,
    /// Model.
    pub model: String,
    /// Tokens read.
    pub prompt_tokens: i32,
    /// Tokens written.
    pub completion_tokens: i32,
    /// Review note from a rail.
    pub review_reason: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

impl Pitch {
    /// The live (unexpired) pitch of a contact for a fingerprint, if any.
    pub async fn find_live(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Option<Self>> {
        pitches::table
            .filter(pitches::organization_id.eq(org))
            .filter(pitches::contact_id.eq(contact))
            .filter(pitches::fingerprint.eq(fingerprint))
            .filter(pitches::expires_at.gt(now))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Stores a pitch; one with the same fingerprint is replaced (keeping its id).
    pub async fn upsert(conn: &mut AsyncPgConnection, form: &PitchInsertForm) -> QueryResult<Self> {
        diesel::insert_into(pitches::table)
            .values(form)
            .on_conflict((
                pitches::organization_id,
                pitches::contact_id,
                pitches::fingerprint,
            ))
            .do_update()
            .set((
                pitches::template_id.eq(excluded(pitches::template_id)),
                pitches::agent.eq(excluded(pitches::agent)),
                pitches::settings.eq(excluded(pitches::settings)),
                pitches::subject.eq(excluded(pitches::subject)),
                pitches::body.eq(excluded(pitches::body)),
                pitches::model.eq(excluded(pitches::model)),
                pitches::prompt_tokens.eq(excluded(pitches::prompt_tokens)),
                pitches::completion_tokens.eq(excluded(pitches::completion_tokens)),
                pitches::review_reason.eq(excluded(pitches::review_reason)),
                pitches::created_at.eq(excluded(pitches::created_at)),
                pitches::expires_at.eq(excluded(pitches::expires_at)),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// A pitch of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PitchId,
    ) -> QueryResult<Self> {
        pitches::table
            .filter(pitches::organization_id.eq(org))
            .filter(pitches::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A page of the organisation's pitches (of one contact when given), newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: Option<ContactId>,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            pitches::table.filter(pitches::organization_id.eq(org)),
            pitches,
            page
        );
        if let Some(contact) = contact {
            query = query.filter(pitches::contact_id.eq(contact));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |p: &Self| Cursor {
            created_at: p.created_at,
            id: p.id.0,
        }))
    }
}
