//! `telegram_poll_offsets`: the next update id a long-polling bot asks Telegram for. Advanced
//! only after the updates before it are committed, so a crash re-reads them rather than loses
//! them (ingest's dedupe absorbs the repeats).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::telegram_poll_offsets;
use crate::domain::{ChannelId, OrganizationId};

/// A bot's confirmed polling offset.
pub struct TelegramPollOffset;

impl TelegramPollOffset {
    /// The confirmed offset of `channel` (0: ask for everything Telegram still holds).
    pub async fn load(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        channel: ChannelId,
    ) -> QueryResult<i64> {
        telegram_poll_offsets::table
            .filter(telegram_poll_offsets::organization_id.eq(org))
            .filter(telegram_poll_offsets::channel_id.eq(channel))
            .select(telegram_poll_offsets::confirmed_offset)
            .first(conn)
            .await
            .optional()
            .map(Option::unwrap_or_default)
    }

    /// Records `offset` as confirmed; never moves it backwards.
    pub async fn confirm(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        channel: ChannelId,
        offset: i64,
    ) -> QueryResult<()> {
        diesel::insert_into(telegram_poll_offsets::table)
            .values((
                telegram_poll_offsets::channel_id.eq(channel),
                telegram_poll_offsets::organization_id.eq(org),
                telegram_poll_offsets::confirmed_offset.eq(offset),
            ))
            .on_conflict(telegram_poll_offsets::channel_id)
            .do_update()
            .set((
                telegram_poll_offsets::confirmed_offset.eq(diesel::dsl::sql::<
                    diesel::sql_types::BigInt,
                >(
                    "GREATEST(telegram_poll_offsets.confirmed_offset, excluded.confirmed_offset)",
                )),
                telegram_poll_offsets::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}
