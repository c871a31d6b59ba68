//! `suppression_list`: addresses nobody may send to (unsubscribed, hard-bounced, complained,
//! blocked by hand). Every sender checks it at send time; edges add to it when a recipient
//! unsubscribes or bounces. Email addresses are stored lower-cased.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::user::lower;
use crate::db::schema::{contacts, suppression_list};
use crate::domain::{OrganizationId, SuppressionId};

/// Why an address is suppressed (the column's CHECK values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// The recipient asked to stop (List-Unsubscribe, a link).
    Unsubscribe,
    /// The address does not exist or rejected mail permanently (5xx, a DSN).
    Bounce,
    /// The recipient reported the mail as spam.
    Complaint,
    /// An operator blocked it.
    Manual,
}

impl SuppressionReason {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsubscribe => "unsubscribe",
            Self::Bounce => "bounce",
            Self::Complaint => "complaint",
            Self::Manual => "manual",
        }
    }
}

/// A suppressed address.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = suppression_list, check_for_backend(diesel::pg::Pg))]
pub struct Suppression {
    /// Id.
    pub id: SuppressionId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// `email`, `phone` or `telegram`.
    pub address_kind: String,
    /// The address (email lower-cased).
    pub address: String,
    /// Why.
    pub reason: String,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

impl Suppression {
    /// The organisation's suppression of this email address, if any.
    pub async fn find_email(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        address: &str,
    ) -> QueryResult<Option<Self>> {
        suppression_list::table
            .filter(suppression_list::organization_id.eq(org))
            .filter(suppression_list::address_kind.eq("email"))
            .filter(suppression_list::address.eq(address.trim().to_lowercase()))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Suppresses an email address (idempotent: the first reason stays) and stamps the
    /// organisation's contacts with that address as unsubscribed or bounced. Returns whether
    /// the address was newly suppressed.
    pub async fn suppress_email(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        address: &str,
        reason: SuppressionReason,
    ) -> QueryResult<bool> {
        let address = address.trim().to_lowercase();
        let inserted = diesel::insert_into(suppression_list::table)
            .values((
                suppression_list::id.eq(SuppressionId::new()),
                suppression_list::organization_id.eq(org),
                suppression_list::address_kind.eq("email"),
                suppression_list::address.eq(&address),
                suppression_list::reason.eq(reason.as_str()),
            ))
            .on_conflict((
                suppression_list::organization_id,
                suppression_list::address_kind,
                suppression_list::address,
            ))
            .do_nothing()
            .execute(conn)
            .await?;
        let owners = contacts::table
            .filter(contacts::organization_id.eq(org))
            .filter(lower(contacts::email.assume_not_null()).eq(&address));
        match reason {
            SuppressionReason::Bounce => {
                diesel::update(owners.filter(contacts::bounced_at.is_null()))
                    .set(contacts::bounced_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            SuppressionReason::Unsubscribe | SuppressionReason::Complaint => {
                diesel::update(owners.filter(contacts::unsubscribed_at.is_null()))
                    .set(contacts::unsubscribed_at.eq(diesel::dsl::now))
                    .execute(conn)
                    .await?;
            }
            SuppressionReason::Manual => {}
        }
        Ok(inserted > 0)
    }
}
