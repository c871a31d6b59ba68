//! Builds an agent turn's prompt context from PostgreSQL (contact, company, open deal), Redis
//! (the chat window) and long-term memory.

use diesel_async::AsyncPgConnection;

use crate::agents::MemorySettings;
use crate::context::AppContext;
use crate::db::models::{AiAgent, Channel, Chat, Company, Contact, Organization};
use crate::domain::{ChannelKind, Direction, MessageId, SenderKind};
use crate::memory::LongTermMemory;
use crate::prompts::context::ContactContext;
use crate::prompts::turn::{
    AgentFacts, AgentTurnContext, FollowupFacts, Limits, MemoryFacts, OrganizationFacts, WindowLine,
};
use crate::supervisor::delimit;

/// The rendered context and the contact's words this turn answers.
pub struct Built {
    /// The prompt context.
    pub context: AgentTurnContext,
    /// The burst's text, untrusted.
    pub contact_text: String,
    /// The chat's channel kind.
    pub channel: ChannelKind,
    /// The contact's own email.
    pub contact_email: Option<String>,
    /// The contact's own phone.
    pub contact_phone: Option<String>,
}

/// Reads everything the prompt needs.
pub async fn build(
    ctx: &AppContext,
    memory: &LongTermMemory,
    conn: &mut AsyncPgConnection,
    chat: &Chat,
    agent: &AiAgent,
    burst: &[MessageId],
    followup_note: Option<&str>,
) -> Result<Built, String> {
    let org = chat.organization_id;
    let settings: MemorySettings = serde_json::from_value(agent.memory.clone()).unwrap_or_default();
    let organization = Organization::find(conn, org)
        .await
        .map_err(|e| format!("organisation: {e}"))?;
    let contact = Contact::find(conn, org, chat.contact_id)
        .await
        .map_err(|e| format!("contact: {e}"))?;
    let channel = Channel::find(conn, org, chat.channel_id)
        .await
        .map_err(|e| format!("channel: {e}"))?;
    let company = match contact.company_id {
        Some(id) => Company::find(conn, org, id).await.ok(),
        None => None,
    };
    let deal = super::deal::open_deal(conn, org, contact.id)
        .await
        .map_err(|e| format!("deal: {e}"))?;
    let window = ctx
        .short_term()
        .window(conn, org, chat.id)
        .await
        .map_err(|e| format!("chat window: {e}"))?;
    let contact_text = window
        .iter()
        .filter(|e| burst.contains(&e.id))
        .map(|e| e.body.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let keep = usize::try_from(settings.window).unwrap_or(usize::MAX);
    let lines = window
        .iter()
        .skip(window.len().saturating_sub(keep))
        .map(|e| {
            let from_contact =
                e.direction == Direction::Inbound && e.sender_kind == SenderKind::Contact;
            WindowLine {
                from_contact,
                sender: e.sender_kind.as_str().to_owned(),
                text: if from_contact {
                    delimit(&e.body)
                } else {
                    e.body.clone()
                },
            }
        })
        .collect();
    let days_silent = window
        .iter()
        .rev()
        .find(|e| e.direction == Direction::Inbound)
        .map_or(0, |e| (chrono::Utc::now() - e.created_at).num_days());
    let memories = match memory
        .recall(
            org,
            chat.contact_id,
            &contact_text,
            usize::try_from(settings.recall_k).unwrap_or(0),
        )
        .await
    {
        Ok(found) => found
            .into_iter()
            .map(|m| MemoryFacts {
                content: m.memory.content,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(chat.id = %chat.id, error = %e, "recall failed; the turn goes on without long-term memory");
            Vec::new()
        }
    };
    let max_chars = agent
        .guardrails
        .get("max_reply_chars")
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1200);
    Ok(Built {
        context: AgentTurnContext {
            agent: AgentFacts {
                name: agent.name.clone(),
                instructions: agent.description.clone(),
            },
            organization: OrganizationFacts {
                name: organization.name,
            },
            contact: AgentTurnContext::contact_value(&ContactContext::new(
                &contact,
                company.as_ref(),
            )),
            deal,
            memories,
            window: lines,
            limits: Limits { max_chars },
            followup: FollowupFacts {
                days_silent,
                note: followup_note.map(str::to_owned),
            },
        },
        contact_text,
        channel: channel.kind,
        contact_email: contact.email.clone(),
        contact_phone: contact.phone.clone(),
    })
}
