//! The suppression list and opt-out: addresses nobody may send to, and what happens when a
//! contact says "stop". Opting out marks the contact, suppresses every address we know for
//! them, ends their campaign sequences and cancels pending agent follow-ups, in one transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::db::models::Contact;
use crate::db::schema::{campaign_recipients, contacts, outbox, suppression_list};
use crate::domain::{ContactId, OrganizationId};

/// `outbox.kind` of a scheduled agent follow-up (see the `schedule_followup` tool).
pub const AGENT_FOLLOWUP: &str = "agent.followup";

/// The contact's addresses as the suppression list spells them: `(address_kind, address)`.
pub fn addresses_of(contact: &Contact) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(email) = &contact.email {
        out.push(("email", email.trim().to_lowercase()));
    }
    if let Some(phone) = &contact.phone {
        out.push(("phone", phone.trim().to_owned()));
    }
    if let Some(id) = contact.telegram_user_id {
        out.push(("telegram", id.to_string()));
    }
    if let Some(id) = contact.telegram_chat_id
        && Some(id) != contact.telegram_user_id
    {
        out.push(("telegram", id.to_string()));
    }
    out
}

/// Suppression entries matching any of the contact's addresses: `(address_kind, reason)`.
pub async fn entries_for(
    conn: &mut AsyncPgConnection,
    contact: &Contact,
) -> QueryResult<Vec<(String, String)>> {
    let mut found = Vec::new();
    for (kind, address) in addresses_of(contact) {
        let hit: Option<String> = suppression_list::table
            .filter(suppression_list::organization_id.eq(contact.organization_id))
            .filter(suppression_list::address_kind.eq(kind))
            .filter(suppression_list::address.eq(&address))
            .select(suppression_list::reason)
            .first(conn)
            .await
            .optional()?;
        if let Some(reason) = hit {
            found.push((kind.to_owned(), reason));
        }
    }
    Ok(found)
}

/// What an opt-out changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptOutOutcome {
    /// False when the contact had already opted out.
    pub newly_unsubscribed: bool,
    /// Addresses added to the suppression list.
    pub suppressed_addresses: usize,
    /// Campaign sequences ended.
    pub sequences_ended: usize,
    /// Pending agent follow-ups cancelled.
    pub followups_cancelled: usize,
}

/// Records an opt-out ("stop", "unsubscribe") for the contact: sets `unsubscribed_at`, adds
/// their addresses to the suppression list, ends active campaign sequences and cancels pending
/// agent follow-ups. Idempotent. `None` when the contact is not in the organisation.
pub async fn suppress_on_opt_out(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact_id: ContactId,
) -> QueryResult<Option<OptOutOutcome>> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let Some(contact) = Contact::find(conn, org, contact_id).await.optional()? else {
            return Ok(None);
        };
        let newly_unsubscribed = diesel::update(
            contacts::table
                .filter(contacts::organization_id.eq(org))
                .filter(contacts::id.eq(contact_id))
                .filter(contacts::unsubscribed_at.is_null()),
        )
        .set(contacts::unsubscribed_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?
            > 0;
        let rows: Vec<_> = addresses_of(&contact)
            .into_iter()
            .map(|(kind, address)| {
                (
                    suppression_list::id.eq(uuid::Uuid::now_v7()),
                    suppression_list::organization_id.eq(org),
                    suppression_list::address_kind.eq(kind),
                    suppression_list::address.eq(address),
                    suppression_list::reason.eq("unsubscribe"),
                )
            })
            .collect();
        let suppressed_addresses = if rows.is_empty() {
            0
        } else {
            diesel::insert_into(suppression_list::table)
                .values(rows)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?
        };
        let sequences_ended = diesel::update(
            campaign_recipients::table
                .filter(campaign_recipients::organization_id.eq(org))
                .filter(campaign_recipients::contact_id.eq(contact_id))
                .filter(campaign_recipients::status.eq_any(["pending", "active"])),
        )
        .set((
            campaign_recipients::status.eq("unsubscribed"),
            campaign_recipients::next_send_at.eq(None::<chrono::DateTime<chrono::Utc>>),
        ))
        .execute(conn)
        .await?;
        let followups_cancelled = diesel::update(
            outbox::table
                .filter(outbox::organization_id.eq(org))
                .filter(outbox::kind.eq(AGENT_FOLLOWUP))
                .filter(outbox::status.eq("pending"))
                .filter(
                    outbox::payload
                        .retrieve_as_text("contact_id")
                        .eq(contact_id.to_string()),
                ),
        )
        .set((
            outbox::status.eq("dead"),
            outbox::last_error.eq("contact opted out"),
        ))
        .execute(conn)
        .await?;
        Ok(Some(OptOutOutcome {
            newly_unsubscribed,
            suppressed_addresses,
            sequences_ended,
            followups_cancelled,
        }))
    })
    .await
}
