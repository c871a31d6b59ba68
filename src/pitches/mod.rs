//! The pitch generator (from the seed's sales-pitch service): the bizdev agent writes a
//! personalised pitch for one contact from `prompts/pitch.hbs`, a pitch template and its quick
//! settings (tone, length, focus). The model call goes through the agents' own `LlmClient`
//! (breaker, concurrency limit, retries) and the reply through the agent's output rails; a
//! blocked pitch is an error, never stored. A pitch is cached under a fingerprint of the
//! contact's facts and the configuration for `[pitches] cache_days`; `regenerate` replaces it.
//! A written pitch is logged in `agent_executions` and spends the agent's daily token budget
//! (`execution`); a cached one costs nothing.
//! Batches run in the background (`jobs`).

pub mod config;
mod error;
pub mod execution;
pub mod facts;
pub mod fingerprint;
pub mod jobs;
mod write;

pub use config::PitchesConfig;
pub use error::PitchError;
use execution::PitchExecution;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

use crate::api::templates::{PitchLength, TemplateSettings, Tone};
use crate::context::AppContext;
use crate::db::models::Pitch;
use crate::domain::{ContactId, OrganizationId, TemplateId};
use crate::llm::LlmClient;
use crate::prompts::pitch::PitchSettingsFacts;

/// What to generate: the template and quick settings (each setting overrides the template's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PitchOptions {
    /// A pitch template to start from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    /// Voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
    /// Length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<PitchLength>,
    /// What to stress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    /// Write a new pitch even when a cached one is still valid.
    #[serde(default)]
    pub regenerate: bool,
}

/// A pitch and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The pitch.
    pub pitch: Pitch,
    /// Served from the cache, no model call made.
    pub cached: bool,
}

/// Writes and caches pitches. Cheap to clone.
#[derive(Clone)]
pub struct PitchService {
    ctx: AppContext,
    llm: LlmClient,
    /// `prompts/pitch.hbs` as read at start-up, or why it could not be.
    prompt: Arc<Result<String, String>>,
}

impl PitchService {
    /// A generator calling `llm` (pass the agents' client, so pitches share its breaker and
    /// concurrency limit) with the prompt read from `[paths] prompts_dir`.
    pub fn new(ctx: AppContext, llm: LlmClient) -> Self {
        let path = ctx.config().paths.prompts_dir.join("pitch.hbs");
        let prompt = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()));
        Self {
            ctx,
            llm,
            prompt: Arc::new(prompt),
        }
    }

    /// The shared handles.
    pub fn ctx(&self) -> &AppContext {
        &self.ctx
    }

    /// The cached pitch for the contact when its fingerprint is unchanged and unexpired (and
    /// `regenerate` is off); otherwise a new one, stored under the fingerprint.
    pub async fn generate(
        &self,
        org: OrganizationId,
        contact: ContactId,
        options: &PitchOptions,
    ) -> Result<Generated, PitchError> {
        let prompt = self.prompt.as_ref().clone().map_err(PitchError::Prompt)?;
        let mut conn = self.ctx.db().get().await?;
        let facts = facts::read(&mut conn, org, contact, options.template_id).await?;
        let plan = write::plan(&self.ctx, &facts, options, &prompt)?;
        let now = chrono::Utc::now();
        if !options.regenerate
            && let Some(pitch) =
                Pitch::find_live(&mut conn, org, contact, &plan.fingerprint, now).await?
        {
            return Ok(Generated {
                pitch,
                cached: true,
            });
        }
        // No connection is held while the model writes.
        drop(conn);
        let execution =
            PitchExecution::start(&self.ctx, org, &facts, &plan.model, options.regenerate).await?;
        let (response, outcome) = match write::ask(&self.llm, &facts, &plan, &prompt).await {
            Ok(answer) => {
                let outcome = match write::finish(&self.ctx, org, &facts, &plan, options, &answer) {
                    Ok(form) => self.store(&form).await,
                    Err(e) => Err(e),
                };
                (Some(answer.response), outcome)
            }
            Err(e) => (None, Err(e)),
        };
        execution.finish(response.as_ref(), outcome.as_ref()).await;
        Ok(Generated {
            pitch: outcome?,
            cached: false,
        })
    }
}

impl PitchService {
    async fn store(&self, form: &crate::db::models::PitchInsertForm) -> Result<Pitch, PitchError> {
        let mut conn = self.ctx.db().get().await?;
        Ok(Pitch::upsert(&mut conn, form).await?)
    }
}

/// Quick settings resolved: the request's, else the template's, else the defaults
/// (professional, medium, no focus).
pub fn resolve_settings(
    options: &PitchOptions,
    template: Option<&serde_json::Value>,
) -> PitchSettingsFacts {
    let from_template: TemplateSettings = template
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let tone = options
        .tone
        .or(from_template.tone)
        .unwrap_or(Tone::Professional);
    let length = options
        .length
        .or(from_template.length)
        .unwrap_or(PitchLength::Medium);
    PitchSettingsFacts {
        tone: name(serde_json::to_value(tone).unwrap_or_default()),
        length: name(serde_json::to_value(length).unwrap_or_default()),
        focus: options
            .focus
            .clone()
            .or(from_template.focus)
            .filter(|f| !f.trim().is_empty()),
    }
}
