//! `AgentTurnHandler`: the `TurnHandler` the chat actors call. It owns the supervisor and the
//! long-term memory, and a semaphore per agent so one busy agent cannot take every model slot.

use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

use crate::actors::chat::{TurnDecision, TurnHandler, TurnOutcome, TurnRequest};
use crate::agents::Budgets;
use crate::channels::ChannelTypists;
use crate::context::AppContext;
use crate::db::DbConn;
use crate::db::models::{AiAgent, Chat};
use crate::domain::{AgentId, Autonomy, ChatId, OrganizationId};
use crate::inbox::{Signal, Typist};
use crate::llm::LlmError;
use crate::memory::LongTermMemory;
use crate::supervisor::{Supervisor, TurnInput};
use crate::tools::ToolExecutor;

/// Turns one agent runs at once (across all its chats) on this node.
pub const PER_AGENT_CONCURRENCY: usize = 4;

/// Runs agent turns for chat actors. Cheap to clone.
#[derive(Clone)]
pub struct AgentTurnHandler {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: AppContext,
    supervisor: Supervisor,
    memory: LongTermMemory,
    typists: ChannelTypists,
    per_agent: Mutex<HashMap<AgentId, Arc<Semaphore>>>,
}

impl AgentTurnHandler {
    /// The supervisor over the context's shared model client (one breaker and concurrency limit
    /// for the whole process); `tools` runs tool calls (none offered when `None`). Never fails
    /// now that the client is built with the context; the `Result` keeps callers unchanged.
    pub fn new(ctx: &AppContext, tools: Option<Arc<dyn ToolExecutor>>) -> Result<Self, LlmError> {
        Self::with_typing(ctx, tools, ChannelTypists::default())
    }

    /// As [`AgentTurnHandler::new`], and shows "typing…" on the chat's channel while a turn runs
    /// through `typists` (the serving node passes `channels::typists()`).
    pub fn with_typing(
        ctx: &AppContext,
        tools: Option<Arc<dyn ToolExecutor>>,
        typists: ChannelTypists,
    ) -> Result<Self, LlmError> {
        let llm = ctx.llm().clone();
        let memory = ctx.long_term();
        Ok(Self {
            inner: Arc::new(Inner {
                supervisor: Supervisor::new(ctx.clone(), llm, tools),
                memory,
                typists,
                ctx: ctx.clone(),
                per_agent: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The supervisor (its model client's breaker says whether agents are degraded).
    pub fn supervisor(&self) -> &Supervisor {
        &self.inner.supervisor
    }

    /// Long-term memory, as the agents use it.
    pub fn memory(&self) -> &LongTermMemory {
        &self.inner.memory
    }

    fn permits(&self, agent: AgentId) -> Arc<Semaphore> {
        let mut map = self
            .inner
            .per_agent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(agent)
            .or_insert_with(|| Arc::new(Semaphore::new(PER_AGENT_CONCURRENCY)))
            .clone()
    }

    /// Thinks about one turn (see the module docs); never writes what the chat shows.
    pub async fn take_turn(&self, request: TurnRequest) -> TurnDecision {
        self.take_logged_turn(request).await.decision
    }

    /// As [`AgentTurnHandler::take_turn`], with the logged execution explaining the decision.
    pub async fn take_logged_turn(&self, request: TurnRequest) -> TurnOutcome {
        let inner = &self.inner;
        let org = request.organization_id;
        let mut conn = match inner.ctx.db().get().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(chat.id = %request.chat_id, error = %e, "no database connection for an agent turn");
                return TurnDecision::Nothing.into();
            }
        };
        let chat = match Chat::find(&mut conn, org, request.chat_id).await {
            Ok(chat) => chat,
            Err(e) => {
                tracing::warn!(chat.id = %request.chat_id, error = %e, "agent turn for an unreadable chat");
                return TurnDecision::Nothing.into();
            }
        };
        if chat.autonomy == Autonomy::Off || chat.assigned_user_id.is_some() {
            return TurnDecision::Nothing.into();
        }
        let Some(assigned) = chat.assigned_agent_id else {
            return TurnDecision::Nothing.into();
        };
        let agent_id =
            crate::actors::chat::followup_agent(&mut conn, org, request.followup.as_ref())
                .await
                .unwrap_or(assigned);
        let agent = match AiAgent::find(&mut conn, org, agent_id).await {
            Ok(agent) if agent.active => agent,
            Ok(_) => return TurnDecision::Nothing.into(),
            Err(e) => {
                tracing::warn!(chat.id = %chat.id, agent.id = %agent_id, error = %e, "the chat's agent cannot be read");
                return TurnDecision::Nothing.into();
            }
        };
        let permits = self.permits(agent_id);
        let Ok(_permit) = permits.acquire().await else {
            return TurnDecision::Nothing.into();
        };
        let _typing = Typing::start(&inner.ctx, org, chat.id, agent_id);
        let channel_typing = inner.typists.start(&mut conn, &chat).await;
        let outcome = self.decide(conn, &chat, &agent, &request).await;
        // The channel's indicator is over before the outcome reaches the chat actor, so no
        // chat action can follow the reply it sends.
        if let Some(typing) = channel_typing {
            typing.stop().await;
        }
        outcome
    }

    /// The thinking part of a turn, while the indicators run.
    async fn decide(
        &self,
        mut conn: DbConn,
        chat: &Chat,
        agent: &AiAgent,
        request: &TurnRequest,
    ) -> TurnOutcome {
        let inner = &self.inner;
        let org = request.organization_id;
        let built = match super::context::build(
            &inner.ctx,
            &inner.memory,
            &mut conn,
            chat,
            agent,
            &request.messages,
            request.followup.as_ref().map(|f| f.note.as_str()),
        )
        .await
        {
            Ok(built) => built,
            Err(e) => {
                return TurnDecision::Handoff(format!(
                    "the agent's context could not be built: {e}"
                ))
                .into();
            }
        };
        drop(conn);
        let system_prompt =
            match crate::prompts::render_inline(&agent.prompt_template, &built.context) {
                Ok(text) => text,
                Err(e) => {
                    return TurnDecision::Handoff(format!(
                        "agent {}'s prompt does not render ({e}); fix the agent's prompt template",
                        agent.name
                    ))
                    .into();
                }
            };
        let budgets: Budgets = serde_json::from_value(agent.budgets.clone()).unwrap_or_default();
        let model = if agent.model.trim().is_empty() {
            inner.ctx.config().llm.chat_model.clone()
        } else {
            agent.model.clone()
        };
        let input = TurnInput {
            organization_id: org,
            chat_id: chat.id,
            contact_id: chat.contact_id,
            agent_id: Some(agent.id),
            agent_name: agent.name.clone(),
            model,
            temperature: agent.temperature,
            max_tokens: u32::try_from(agent.max_tokens).unwrap_or(512),
            tools: agent.tools.clone(),
            guardrails: agent.guardrails.clone(),
            budgets,
            autonomy: chat.autonomy,
            channel: built.channel,
            contact_email: built.contact_email,
            contact_phone: built.contact_phone,
            system_prompt,
            contact_text: built.contact_text,
            message_id: request.messages.last().copied(),
        };
        let supervised = inner.supervisor.run(input).await;
        TurnOutcome {
            decision: supervised.decision,
            execution: supervised.execution,
        }
    }
}

impl TurnHandler for AgentTurnHandler {
    fn run_turn(&self, request: TurnRequest) -> BoxFuture<'static, TurnDecision> {
        let this = self.clone();
        Box::pin(async move { this.take_turn(request).await })
    }

    fn run_logged_turn(&self, request: TurnRequest) -> BoxFuture<'static, TurnOutcome> {
        let this = self.clone();
        Box::pin(async move { this.take_logged_turn(request).await })
    }
}

/// Shows the agent as typing in the inbox for exactly as long as it holds this: the stop signal
/// goes out when the turn ends, whatever the decision, and when a newer message cancels it.
struct Typing {
    ctx: AppContext,
    org: OrganizationId,
    chat: ChatId,
    agent: AgentId,
}

impl Typing {
    fn start(ctx: &AppContext, org: OrganizationId, chat: ChatId, agent: AgentId) -> Self {
        let typist = Typist::Agent {
            agent_id: Some(agent),
        };
        ctx.publisher()
            .signal(Signal::typing(org, chat, typist, true));
        Self {
            ctx: ctx.clone(),
            org,
            chat,
            agent,
        }
    }
}

impl Drop for Typing {
    fn drop(&mut self) {
        let typist = Typist::Agent {
            agent_id: Some(self.agent),
        };
        self.ctx
            .publisher()
            .signal(Signal::typing(self.org, self.chat, typist, false));
    }
}
