//! Reads what a pitch is written from: the contact and their company, their newest deal and
//! its stage, what agents remember about them, the organisation, the bizdev agent and the
//! chosen template. Every read is scoped by the organisation.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::PitchError;
use crate::agents::MemorySettings;
use crate::db::models::{
    AgentMemory, AiAgent, AiAgentFilter, Company, Contact, Organization, Template,
};
use crate::db::pagination::{PageParams, PageRequest};
use crate::db::schema::{deals, pipeline_stages};
use crate::domain::{AgentKind, ContactId, OrganizationId, TemplateId, TemplateKind};
use crate::prompts::context::ContactContext;
use crate::prompts::turn::{AgentTurnContext, DealFacts, MemoryFacts};

/// Everything read for one pitch.
pub struct Facts {
    /// The contact row.
    pub contact: Contact,
    /// The contact as templates see it (with its company).
    pub contact_context: ContactContext,
    /// Their newest deal.
    pub deal: Option<DealFacts>,
    /// Newest memories first.
    pub memories: Vec<MemoryFacts>,
    /// The organisation's name.
    pub organization: String,
    /// The writing agent.
    pub agent: AiAgent,
    /// The chosen template.
    pub template: Option<Template>,
}

impl Facts {
    /// The contact as the prompt sees it.
    pub fn contact_value(&self) -> serde_json::Value {
        AgentTurnContext::contact_value(&self.contact_context)
    }
}

/// Reads the facts; a contact or template of another organisation is not found.
pub async fn read(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact_id: ContactId,
    template_id: Option<TemplateId>,
) -> Result<Facts, PitchError> {
    let contact = match Contact::find(conn, org, contact_id).await {
        Ok(contact) => contact,
        Err(diesel::result::Error::NotFound) => return Err(PitchError::ContactNotFound),
        Err(e) => return Err(e.into()),
    };
    let template = match template_id {
        None => None,
        Some(id) => match Template::find(conn, org, id).await {
            Ok(t) if t.kind == TemplateKind::Pitch => Some(t),
            Ok(t) => return Err(PitchError::TemplateNotPitch(t.name)),
            Err(diesel::result::Error::NotFound) => return Err(PitchError::TemplateNotFound),
            Err(e) => return Err(e.into()),
        },
    };
    let agent = bizdev_agent(conn, org).await?;
    let company = match contact.company_id {
        Some(id) => Company::find(conn, org, id).await.optional()?,
        None => None,
    };
    let organization = Organization::find(conn, org).await?.name;
    let deal = newest_deal(conn, org, contact.id).await?;
    let memory: MemorySettings = serde_json::from_value(agent.memory.clone()).unwrap_or_default();
    let memories = recent_memories(conn, org, contact.id, memory.recall_k).await?;
    Ok(Facts {
        contact_context: ContactContext::new(&contact, company.as_ref()),
        contact,
        deal,
        memories,
        organization,
        agent,
        template,
    })
}

/// Checks what every pitch of a batch needs: a pitch template (when named) and the agent.
pub async fn check_setup(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    template_id: Option<TemplateId>,
) -> Result<(), PitchError> {
    if let Some(id) = template_id {
        match Template::find(conn, org, id).await {
            Ok(t) if t.kind == TemplateKind::Pitch => {}
            Ok(t) => return Err(PitchError::TemplateNotPitch(t.name)),
            Err(diesel::result::Error::NotFound) => return Err(PitchError::TemplateNotFound),
            Err(e) => return Err(e.into()),
        }
    }
    bizdev_agent(conn, org).await.map(|_| ())
}

/// The organisation's newest active bizdev agent.
async fn bizdev_agent(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
) -> Result<AiAgent, PitchError> {
    let filter = AiAgentFilter {
        kind: Some(AgentKind::Bizdev),
        active: Some(true),
    };
    let page = PageRequest::from_params(&PageParams {
        limit: Some(1),
        cursor: None,
    })
    .map_err(|e| PitchError::Prompt(e.to_string()))?;
    AiAgent::list(conn, org, &filter, page)
        .await?
        .items
        .into_iter()
        .next()
        .ok_or(PitchError::NoAgent)
}

async fn newest_deal(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact: ContactId,
) -> Result<Option<DealFacts>, PitchError> {
    let row: Option<(String, String)> = deals::table
        .inner_join(
            pipeline_stages::table.on(pipeline_stages::id
                .eq(deals::stage_id)
                .and(pipeline_stages::organization_id.eq(deals::organization_id))),
        )
        .filter(deals::organization_id.eq(org))
        .filter(deals::contact_id.eq(contact))
        .order((deals::updated_at.desc(), deals::id.desc()))
        .select((deals::name, pipeline_stages::name))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(name, stage)| DealFacts { name, stage }))
}

async fn recent_memories(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact: ContactId,
    k: u32,
) -> Result<Vec<MemoryFacts>, PitchError> {
    if k == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::from(k.min(200));
    let page = PageRequest::from_params(&PageParams {
        limit: Some(limit),
        cursor: None,
    })
    .map_err(|e| PitchError::Prompt(e.to_string()))?;
    Ok(AgentMemory::list(conn, org, contact, page)
        .await?
        .items
        .into_iter()
        .map(|m| MemoryFacts { content: m.content })
        .collect())
}
