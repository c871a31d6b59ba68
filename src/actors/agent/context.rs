//! Builds an agent turn's prompt context from the turn's facts (contact, company, open deal,
//! read by `facts`), the chat window (Redis) and long-term memory.

use super::facts::TurnFacts;
use crate::agents::MemorySettings;
use crate::db::models::AiAgent;
use crate::domain::{ChannelKind, Direction, MessageId, SenderKind};
use crate::memory::{LongTermMemory, WindowEntry};
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

/// Builds the prompt context from the turn's facts and chat window, recalling long-term
/// memories of the contact on the way (the one read left here: it needs the burst's text).
pub async fn build(
    memory: &LongTermMemory,
    facts: &TurnFacts,
    agent: &AiAgent,
    window: &[WindowEntry],
    burst: &[MessageId],
    followup_note: Option<&str>,
) -> Result<Built, String> {
    let chat = &facts.chat;
    let org = chat.organization_id;
    let contact = &facts.contact;
    let settings: MemorySettings = serde_json::from_value(agent.memory.clone()).unwrap_or_default();
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
                name: facts.organization_name.clone(),
            },
            contact: AgentTurnContext::contact_value(&ContactContext::new(
                contact,
                facts.company.as_ref(),
            )),
            deal: facts.deal.clone(),
            memories,
            window: lines,
            limits: Limits { max_chars },
            followup: FollowupFacts {
                days_silent,
                note: followup_note.map(str::to_owned),
            },
        },
        contact_text,
        channel: facts.channel.kind,
        contact_email: contact.email.clone(),
        contact_phone: contact.phone.clone(),
    })
}
