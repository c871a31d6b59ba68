//! The suppression list and opt-out: addresses nobody may send to, and what happens when a
//! contact says "stop". Opting out marks the contact, suppresses every address we know for
//! them, ends their campaign sequences and cancels pending agent follow-ups, in one transaction.

use diesel::prelude::*;
use diesel::sql_types::Bool;
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

/// Suppression entries matching any of the contact's addresses: `(address_kind, reason)`, in
/// the order of [`addresses_of`]. One statement for all addresses.
pub async fn entries_for(
    conn: &mut AsyncPgConnection,
    contact: &Contact,
) -> QueryResult<Vec<(String, String)>> {
    let addresses = addresses_of(contact);
    if addresses.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = suppression_list::table
        .filter(suppression_list::organization_id.eq(contact.organization_id))
        .select((
            suppression_list::address_kind,
            suppression_list::address,
            suppression_list::reason,
        ))
        .into_boxed();
    let mut any: Option<
        Box<dyn BoxableExpression<suppression_list::table, diesel::pg::Pg, SqlType = Bool>>,
    > = None;
    for (kind, address) in &addresses {
        let this = suppression_list::address_kind
            .eq(*kind)
            .and(suppression_list::address.eq(address.clone()));
        any = Some(match any {
            None => Box::new(this),
            Some(before) => Box::new(before.or(this)),
        });
    }
    if let Some(any) = any {
        query = query.filter(any);
    }
    let rows: Vec<(String, String, String)> = query.load(conn).await?;
    Ok(addresses
        .iter()
        .filter_map(|(kind, address)| {
            rows.iter()
                .find(|(k, a, _)| k == kind && a == address)
                .map(|(_, _, reason)| ((*kind).to_owned(), reason.clone()))
        })
        .collect())
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
