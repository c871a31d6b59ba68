//! One pitch, written: the plan (context, settings, fingerprint) from the facts, then the model
//! call and the agent's output rails. The rails see the whole reply before it is split into
//! subject and body; a block is an error with the rail's reason, a review request is kept on
//! the pitch, a rewrite replaces the text.

use serde_json::json;

use super::facts::Facts;
use super::fingerprint::fingerprint;
use super::{PitchError, PitchOptions, resolve_settings};
use crate::context::AppContext;
use crate::db::models::PitchInsertForm;
use crate::domain::{ChannelKind, OrganizationId, PitchId};
use crate::llm::{ChatMessage, ChatRequest, ChatResponse, LlmClient, Role};
use crate::prompts::context::MessageContext;
use crate::prompts::pitch::PitchContext;
use crate::prompts::turn::{AgentFacts, OrganizationFacts};
use crate::rails::{OutputFacts, RailDecision};
use crate::supervisor::rails as supervised;

/// What a pitch will be written from, and its cache key.
pub struct Plan {
    /// The prompt context.
    pub context: PitchContext,
    /// The template's body rendered for the contact, if a template was chosen.
    pub template_text: Option<String>,
    /// The model that will write it.
    pub model: String,
    /// The cache key.
    pub fingerprint: String,
}

/// Builds the plan; a template that does not render for this contact is an error.
pub fn plan(
    ctx: &AppContext,
    facts: &Facts,
    options: &PitchOptions,
    prompt: &str,
) -> Result<Plan, PitchError> {
    let agent = &facts.agent;
    let context = PitchContext {
        agent: AgentFacts {
            name: agent.name.clone(),
            instructions: agent.description.clone(),
        },
        organization: OrganizationFacts {
            name: facts.organization.clone(),
        },
        contact: facts.contact_value(),
        deal: facts.deal.clone(),
        memories: facts.memories.clone(),
        settings: resolve_settings(options, facts.template.as_ref().map(|t| &t.settings)),
    };
    let template_text = match &facts.template {
        Some(template) => {
            let message = MessageContext {
                contact: facts.contact_context.clone(),
            };
            Some(
                crate::prompts::render_inline(&template.body, &message)
                    .map_err(|e| PitchError::Template(e.to_string()))?,
            )
        }
        None => None,
    };
    let model = if agent.model.trim().is_empty() {
        ctx.config().llm.chat_model.clone()
    } else {
        agent.model.clone()
    };
    let key = json!({
        "v": 1,
        "context": context,
        "prompt": prompt,
        "model": model,
        "agent": {
            "name": agent.name,
            "temperature": agent.temperature,
            "max_tokens": agent.max_tokens,
            "guardrails": agent.guardrails,
            "prompt_template": agent.prompt_template,
        },
        "template": facts.template.as_ref().map(|t| json!({
            "id": t.id, "subject": t.subject, "body": t.body,
        })),
    });
    Ok(Plan {
        fingerprint: fingerprint(&key),
        context,
        template_text,
        model,
    })
}

/// What the model answered, with the system prompt it was given (the output rails check the
/// answer does not leak it).
pub struct Answer {
    /// The rendered system prompt.
    pub system: String,
    /// The model's reply and token counts.
    pub response: ChatResponse,
}

/// Asks the model for the pitch.
pub async fn ask(
    llm: &LlmClient,
    facts: &Facts,
    plan: &Plan,
    prompt: &str,
) -> Result<Answer, PitchError> {
    let agent = &facts.agent;
    // Invalid guardrails fail before the model is asked, not after.
    supervised::policy(&agent.guardrails).map_err(|e| PitchError::Guardrails(e.to_string()))?;
    let system = crate::prompts::render_inline(prompt, &plan.context)
        .map_err(|e| PitchError::Prompt(e.to_string()))?;
    let mut ask = String::from("Write the pitch now.");
    if let Some(template) = &plan.template_text {
        ask.push_str(
            "\n\nAdapt this template to them; keep its intent, not its exact words:\n<template>\n",
        );
        ask.push_str(template);
        ask.push_str("\n</template>");
    }
    let request = ChatRequest {
        model: plan.model.clone(),
        messages: vec![
            ChatMessage::new(Role::System, system.clone()),
            ChatMessage::new(Role::User, ask),
        ],
        tools: Vec::new(),
        temperature: agent.temperature,
        max_tokens: u32::try_from(agent.max_tokens).unwrap_or(512),
    };
    let response = llm.chat(&request).await?;
    Ok(Answer { system, response })
}

/// Runs the agent's output rails on the model's answer and makes the pitch row of it.
pub fn finish(
    ctx: &AppContext,
    org: OrganizationId,
    facts: &Facts,
    plan: &Plan,
    options: &PitchOptions,
    answer: &Answer,
) -> Result<PitchInsertForm, PitchError> {
    let agent = &facts.agent;
    let policy =
        supervised::policy(&agent.guardrails).map_err(|e| PitchError::Guardrails(e.to_string()))?;
    let response = &answer.response;
    let system = answer.system.clone();
    let mut text = response.content.trim().to_owned();
    if text.is_empty() {
        return Err(PitchError::EmptyReply);
    }
    let output = OutputFacts {
        channel: ChannelKind::Email,
        system_prompt: system,
        contact_email: facts.contact.email.clone(),
        contact_phone: facts.contact.phone.clone(),
    };
    let verdicts = supervised::output(&policy, &output, &text);
    let mut review_reason = None;
    if let Some(worst) = verdicts.iter().max_by_key(|v| v.decision.severity()) {
        match &worst.decision {
            RailDecision::Block { reason } => {
                return Err(PitchError::Blocked {
                    rail: worst.rail.clone(),
                    reason: reason.clone(),
                });
            }
            RailDecision::NeedsApproval { reason } => review_reason = Some(reason.clone()),
            RailDecision::Rewrite {
                text: rewritten,
                reason,
            } => {
                text = rewritten.clone();
                review_reason = Some(format!("rewritten by {}: {reason}", worst.rail));
            }
            RailDecision::Allow => {}
        }
    }
    let (subject, body) = split_subject(&text);
    if body.is_empty() {
        return Err(PitchError::EmptyReply);
    }
    let now = chrono::Utc::now();
    Ok(PitchInsertForm {
        id: PitchId::new(),
        organization_id: org,
        contact_id: facts.contact.id,
        template_id: facts.template.as_ref().map(|t| t.id),
        agent: agent.name.clone(),
        fingerprint: plan.fingerprint.clone(),
        settings: json!({
            "tone": plan.context.settings.tone,
            "length": plan.context.settings.length,
            "focus": plan.context.settings.focus,
            "regenerated": options.regenerate,
        }),
        subject,
        body,
        model: plan.model.clone(),
        prompt_tokens: i32::try_from(response.prompt_tokens).unwrap_or(i32::MAX),
        completion_tokens: i32::try_from(response.completion_tokens).unwrap_or(i32::MAX),
        review_reason,
        created_at: now,
        expires_at: now + chrono::Duration::days(ctx.config().pitches.cache_days.max(1)),
    })
}

/// Splits a leading `Subject: ...` line off the reply.
pub fn split_subject(text: &str) -> (Option<String>, String) {
    let trimmed = text.trim();
    let (first, rest) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let first_trimmed = first.trim().trim_start_matches(['*', '#', ' ']);
    match first_trimmed.get(..8) {
        Some(prefix) if prefix.eq_ignore_ascii_case("subject:") => {
            let subject = first_trimmed[8..].trim_matches(|c: char| c == '*' || c.is_whitespace());
            let subject = (!subject.is_empty()).then(|| subject.to_owned());
            (subject, rest.trim().to_owned())
        }
        _ => (None, trimmed.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_line_is_split_off() {
        assert_eq!(
            split_subject("Subject: Faster replies\n\nHi Ada,\nshall we talk?"),
            (
                Some("Faster replies".into()),
                "Hi Ada,\nshall we talk?".into()
            )
        );
        assert_eq!(
            split_subject("**subject:** Hello\nBody"),
            (Some("Hello".into()), "Body".into())
        );
        assert_eq!(split_subject("Just a body"), (None, "Just a body".into()));
    }
}
