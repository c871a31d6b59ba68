//! `email_poll_state`: how far the IMAP poller of an email channel has committed: the mailbox,
//! its UIDVALIDITY and the highest UID whose message is stored (or kept aside). Advanced only
//! after that commit, so a crash re-fetches rather than loses mail (ingest's dedupe absorbs
//! the repeats).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::email_poll_state;
use crate::domain::{ChannelId, OrganizationId};

/// A channel's committed IMAP position.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = email_poll_state)]
pub struct EmailPollState {
    /// The mailbox the UIDs belong to.
    pub mailbox: String,
    /// That mailbox's UIDVALIDITY when the UIDs were read.
    pub uid_validity: i64,
    /// The highest committed UID (0: nothing yet).
    pub last_uid: i64,
}

impl EmailPollState {
    /// The stored position of `channel`, if it ever committed one.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        channel: ChannelId,
    ) -> QueryResult<Option<Self>> {
        email_poll_state::table
            .filter(email_poll_state::organization_id.eq(org))
            .filter(email_poll_state::channel_id.eq(channel))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The UID to continue after, for `mailbox` at `uid_validity`: the stored one while both
    /// match, else 0 (the UIDs of another mailbox or validity epoch mean nothing here).
    pub fn resume_after(stored: Option<&Self>, mailbox: &str, uid_validity: i64) -> i64 {
        stored
            .filter(|s| s.mailbox == mailbox && s.uid_validity == uid_validity)
            .map_or(0, |s| s.last_uid)
    }

    /// Records `last_uid` as committed. Within the same mailbox and validity it never moves
    /// backwards (two nodes racing both commit); a new mailbox or validity replaces the row.
    pub async fn confirm(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        channel: ChannelId,
        state: &Self,
    ) -> QueryResult<()> {
        diesel::insert_into(email_poll_state::table)
            .values((
                email_poll_state::channel_id.eq(channel),
                email_poll_state::organization_id.eq(org),
                email_poll_state::mailbox.eq(&state.mailbox),
                email_poll_state::uid_validity.eq(state.uid_validity),
                email_poll_state::last_uid.eq(state.last_uid),
            ))
            .on_conflict(email_poll_state::channel_id)
            .do_update()
            .set((
                email_poll_state::last_uid.eq(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "CASE WHEN email_poll_state.mailbox = excluded.mailbox \
                       AND email_poll_state.uid_validity = excluded.uid_validity \
                     THEN GREATEST(email_poll_state.last_uid, excluded.last_uid) \
                     ELSE excluded.last_uid END",
                )),
                email_poll_state::mailbox.eq(&state.mailbox),
                email_poll_state::uid_validity.eq(state.uid_validity),
                email_poll_state::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}
