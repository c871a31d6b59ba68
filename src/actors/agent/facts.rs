//! The rows one agent turn reads from PostgreSQL, in one round trip: the chat with its
//! organisation's name, contact, company, channel and assigned agent in one joined statement,
//! and, pipelined on the same connection (diesel-async sends statements polled together without
//! waiting for the previous answer), the contact's open deal and, for a follow-up turn, the
//! scheduling agent. Read once per turn (twice when the turn waited for its agent's permit), so
//! that a turn pays one database latency for its context instead of one per table.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::actors::chat::FollowUpTrigger;
use crate::db::models::{AiAgent, Channel, Chat, Company, Contact};
use crate::db::schema::{ai_agents, channels, chats, companies, contacts, organizations};
use crate::domain::{AgentId, AgentKind, ChatId, OrganizationId};
use crate::prompts::turn::TurnDeal;

/// Everything a turn knows from PostgreSQL before it thinks.
#[derive(Debug, Clone)]
pub struct TurnFacts {
    /// The chat.
    pub chat: Chat,
    /// The organisation's display name (for the prompt).
    pub organization_name: String,
    /// The chat's contact.
    pub contact: Contact,
    /// The contact's company, if any.
    pub company: Option<Company>,
    /// The chat's channel (its kind decides the typing indicator and output rails).
    pub channel: Channel,
    /// The agent that answers this turn: a valid follow-up agent for a follow-up turn, else the
    /// chat's assigned agent (`None` when the chat has none or it is gone).
    pub agent: Option<AiAgent>,
    /// The contact's open deal, if any.
    pub deal: Option<TurnDeal>,
}

type MainRow = (
    Chat,
    String,
    Contact,
    Channel,
    Option<Company>,
    Option<AiAgent>,
);

impl TurnFacts {
    /// Reads the turn's facts, all statements pipelined on `conn`. `Ok(None)` when the chat is
    /// not in the organisation.
    pub async fn read(
        conn: &AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        followup: Option<&FollowUpTrigger>,
    ) -> QueryResult<Option<Self>> {
        let followup_agent = followup.and_then(|f| f.agent_id);
        let (main, deal, scheduler) = futures_util::try_join!(
            main_row(conn, org, chat),
            super::deal::open_deal_of_chat(conn, org, chat),
            scheduling_agent(conn, org, followup_agent),
        )?;
        let Some((chat, organization_name, contact, channel, company, assigned)) = main else {
            return Ok(None);
        };
        // The same rule as `actors::chat::followup_agent`: a follow-up agent (active) answers
        // in its own name; any other scheduler leaves the turn to the assigned agent.
        let agent = match scheduler {
            Some(agent) if agent.kind == AgentKind::Followup && agent.active => Some(agent),
            _ => assigned,
        };
        Ok(Some(Self {
            chat,
            organization_name,
            contact,
            company,
            channel,
            agent,
            deal,
        }))
    }
}

async fn main_row(
    mut conn: &AsyncPgConnection,
    org: OrganizationId,
    chat: ChatId,
) -> QueryResult<Option<MainRow>> {
    chats::table
        .inner_join(organizations::table.on(organizations::id.eq(chats::organization_id)))
        .inner_join(
            contacts::table.on(contacts::id
                .eq(chats::contact_id)
                .and(contacts::organization_id.eq(chats::organization_id))),
        )
        .inner_join(
            channels::table.on(channels::id
                .eq(chats::channel_id)
                .and(channels::organization_id.eq(chats::organization_id))),
        )
        .left_join(
            companies::table.on(companies::id
                .nullable()
                .eq(contacts::company_id)
                .and(companies::organization_id.eq(contacts::organization_id))),
        )
        .left_join(
            ai_agents::table.on(ai_agents::id
                .nullable()
                .eq(chats::assigned_agent_id)
                .and(ai_agents::organization_id.eq(chats::organization_id))),
        )
        .filter(chats::organization_id.eq(org))
        .filter(chats::id.eq(chat))
        .select((
            Chat::as_select(),
            organizations::name,
            Contact::as_select(),
            Channel::as_select(),
            Option::<Company>::as_select(),
            Option::<AiAgent>::as_select(),
        ))
        .first(&mut conn)
        .await
        .optional()
}

async fn scheduling_agent(
    mut conn: &AsyncPgConnection,
    org: OrganizationId,
    id: Option<AgentId>,
) -> QueryResult<Option<AiAgent>> {
    let Some(id) = id else {
        return Ok(None);
    };
    ai_agents::table
        .filter(ai_agents::organization_id.eq(org))
        .filter(ai_agents::id.eq(id))
        .select(AiAgent::as_select())
        .first(&mut conn)
        .await
        .optional()
}
