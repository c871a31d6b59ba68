//! The deal an agent turn talks about: the contact's most recently changed deal whose stage is
//! still open, with its stage, pipeline and value, read within the chat's organisation.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::{chats, deals, pipeline_stages, pipelines};
use crate::domain::{ChatId, OrganizationId, StageOutcome};
use crate::prompts::turn::{DealFacts, TurnDeal};

/// The open deal of the chat's contact, if any. Found through the chat (not the contact id) so
/// it can be pipelined with the statement that reads the chat.
pub async fn open_deal_of_chat(
    mut conn: &AsyncPgConnection,
    org: OrganizationId,
    chat: ChatId,
) -> QueryResult<Option<TurnDeal>> {
    let row: Option<(String, Option<i64>, String, String, String)> = deals::table
        .inner_join(
            chats::table.on(chats::contact_id
                .nullable()
                .eq(deals::contact_id)
                .and(chats::organization_id.eq(deals::organization_id))),
        )
        .inner_join(
            pipeline_stages::table.on(pipeline_stages::id
                .eq(deals::stage_id)
                .and(pipeline_stages::organization_id.eq(deals::organization_id))),
        )
        .inner_join(
            pipelines::table.on(pipelines::id
                .eq(deals::pipeline_id)
                .and(pipelines::organization_id.eq(deals::organization_id))),
        )
        .filter(deals::organization_id.eq(org))
        .filter(chats::id.eq(chat))
        .filter(pipeline_stages::outcome.eq(StageOutcome::Open.as_str()))
        .order((deals::updated_at.desc(), deals::id.desc()))
        .select((
            deals::name,
            deals::value_cents,
            deals::currency,
            pipeline_stages::name,
            pipelines::name,
        ))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(
        row.map(|(name, cents, currency, stage, pipeline)| TurnDeal {
            facts: DealFacts { name, stage },
            pipeline,
            value: cents.map(major_units),
            currency,
        }),
    )
}

/// `1200050` cents as `"12000.50"`.
fn major_units(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cents_become_major_units() {
        assert_eq!(super::major_units(1_200_050), "12000.50");
        assert_eq!(super::major_units(7), "0.07");
        assert_eq!(super::major_units(-150), "-1.50");
    }
}
