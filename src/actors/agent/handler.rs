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
use diesel_async::AsyncPgConnection;

use super::facts::TurnFacts;
use crate::agents::compiled::PerAgent;
use crate::db::DbConn;
use crate::db::models::AiAgent;
use crate::domain::{AgentId, Autonomy, ChatId, OrganizationId};
use crate::inbox::{Signal, Typist};
use crate::llm::LlmError;
use crate::memory::{CachedWindow, LongTermMemory, MemoryError, ShortTermMemory};
use crate::prompts::CompiledInline;
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
    short_term: ShortTermMemory,
    typists: ChannelTypists,
    per_agent: Mutex<HashMap<AgentId, Arc<Semaphore>>>,
    /// Each agent's compiled prompt template, rebuilt when the agent's template changes.
    prompts: PerAgent<String, CompiledInline>,
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
                short_term: ctx.short_term(),
                typists,
                ctx: ctx.clone(),
                per_agent: Mutex::new(HashMap::new()),
                prompts: PerAgent::default(),
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
        let conn = match inner.ctx.db().get().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(chat.id = %request.chat_id, error = %e, "no database connection for an agent turn");
                return TurnDecision::Nothing.into();
            }
        };
        let Some((facts, window)) = self.read(&conn, &request).await else {
            return TurnDecision::Nothing.into();
        };
        let Some(agent_id) = admitted_agent(&facts) else {
            return TurnDecision::Nothing.into();
        };
        let permits = self.permits(agent_id);
        // Read before the permit, the facts are fresh when it was free; after a wait they are
        // read again (and the turn re-admitted), as the agent's other turns may have changed them.
        let (_permit, facts, window) = match permits.clone().try_acquire_owned() {
            Ok(permit) => (permit, facts, window),
            Err(tokio::sync::TryAcquireError::Closed) => return TurnDecision::Nothing.into(),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let Ok(permit) = permits.acquire_owned().await else {
                    return TurnDecision::Nothing.into();
                };
                let Some((facts, window)) = self.read(&conn, &request).await else {
                    return TurnDecision::Nothing.into();
                };
                if admitted_agent(&facts).is_none() {
                    return TurnDecision::Nothing.into();
                }
                (permit, facts, window)
            }
        };
        let Some(agent) = facts.agent.clone() else {
            return TurnDecision::Nothing.into();
        };
        let org = request.organization_id;
        let _typing = Typing::start(&inner.ctx, org, facts.chat.id, agent.id);
        let channel_typing = inner.typists.start_on(&facts.channel, &facts.chat);
        let decision = self.decide(conn, &facts, &agent, window, &request).await;
        // The channel's indicator is over before the outcome reaches the chat actor, so no
        // chat action can follow the reply it sends.
        if let Some(typing) = channel_typing {
            typing.stop().await;
        }
        decision
    }

    /// The turn's facts from PostgreSQL and its chat window from Redis, concurrently (one
    /// round trip to each). `None` when the chat cannot be read.
    async fn read(
        &self,
        conn: &AsyncPgConnection,
        request: &TurnRequest,
    ) -> Option<(TurnFacts, Result<CachedWindow, MemoryError>)> {
        let org = request.organization_id;
        let (facts, window) = tokio::join!(
            TurnFacts::read(conn, org, request.chat_id, request.followup.as_ref()),
            self.inner.short_term.cached(request.chat_id),
        );
        match facts {
            Ok(Some(facts)) => Some((facts, window)),
            Ok(None) => {
                tracing::warn!(chat.id = %request.chat_id, "agent turn for an unreadable chat: not in the organisation");
                None
            }
            Err(e) => {
                tracing::warn!(chat.id = %request.chat_id, error = %e, "agent turn for an unreadable chat");
                None
            }
        }
    }

    /// The thinking part of a turn, while the indicators run.
    async fn decide(
        &self,
        mut conn: DbConn,
        facts: &TurnFacts,
        agent: &AiAgent,
        window: Result<CachedWindow, MemoryError>,
        request: &TurnRequest,
    ) -> TurnOutcome {
        let inner = &self.inner;
        let org = request.organization_id;
        let chat = &facts.chat;
        let window = match window {
            Ok(cached) => {
                inner
                    .short_term
                    .complete(&mut conn, org, chat.id, cached)
                    .await
            }
            Err(e) => Err(e),
        };
        drop(conn);
        let built = match window {
            Ok(window) => {
                super::context::build(
                    &inner.memory,
                    facts,
                    agent,
                    &window,
                    &request.messages,
                    request.followup.as_ref().map(|f| f.note.as_str()),
                )
                .await
            }
            Err(e) => Err(format!("chat window: {e}")),
        };
        let built = match built {
            Ok(built) => built,
            Err(e) => {
                return TurnDecision::Handoff(format!(
                    "the agent's context could not be built: {e}"
                ))
                .into();
            }
        };
        let rendered = inner
            .prompts
            .get_or_build(agent.id, &agent.prompt_template, |source| {
                CompiledInline::compile(source)
            })
            .and_then(|template| template.render(&built.context));
        let system_prompt = match rendered {
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

/// The agent that may take this turn, or `None`: autonomy off, a human assignee, no assigned
/// agent, or the turn's agent unreadable or inactive.
fn admitted_agent(facts: &TurnFacts) -> Option<AgentId> {
    let chat = &facts.chat;
    if chat.autonomy == Autonomy::Off || chat.assigned_user_id.is_some() {
        return None;
    }
    chat.assigned_agent_id?;
    match &facts.agent {
        Some(agent) if agent.active => Some(agent.id),
        Some(_) => None,
        None => {
            tracing::warn!(chat.id = %chat.id, agent.id = ?chat.assigned_agent_id, "the chat's agent cannot be read");
            None
        }
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
