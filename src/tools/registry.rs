//! `ToolRegistry`: the one `ToolExecutor`. Every call passes the same gate before anything
//! runs — known name, on the agent's allow-list, arguments within the byte cap, arguments that
//! parse into the tool's type (unknown fields refused) and pass its range checks, ids inside the
//! organisation and the chat's contact — then either waits for a human (tools the agent lists
//! in `approval_required_tools`) or runs.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::args::*;
use super::memory as memory_tools;
use super::{
    ToolCall, ToolError, ToolExecutor, ToolOutcome, ToolScope, ToolSpec, crm, email, followup,
};
use crate::context::AppContext;
use crate::db::models::{Event, Message, ToolApproval, ToolApprovalInsertForm};
use crate::domain::ToolApprovalId;
use crate::memory::LongTermMemory;
use crate::rails::ActionRails;

/// Largest serialized arguments a call may have.
pub const MAX_ARGUMENT_BYTES: usize = 8 * 1024;

/// Every tool, with what the model is told it does.
const TOOLS: &[(&str, &str)] = &[
    (
        "lookup_contact",
        "Look up the contact of this chat: name, company, title, tags, attributes, time zone and their deals with the stages each deal can move to.",
    ),
    (
        "update_contact",
        "Change facts about the contact of this chat: name, title, phone, time zone, tags, custom attributes.",
    ),
    (
        "move_deal_stage",
        "Move one of this contact's deals to another stage of its pipeline (ids from lookup_contact).",
    ),
    (
        "schedule_followup",
        "Schedule a follow-up with this contact in a number of hours, with a note for the follow-up agent.",
    ),
    (
        "remember",
        "Remember a fact, preference or summary about this contact for future conversations on any channel.",
    ),
    (
        "search_memory",
        "Search what is remembered about this contact.",
    ),
    (
        "handoff_to_human",
        "Hand this chat to a human colleague, with the reason.",
    ),
    (
        "send_email",
        "Send an email to the contact of this chat (and only to them).",
    ),
];

/// A call whose arguments parsed into its tool's type.
#[derive(Debug, Clone)]
pub(crate) enum Parsed {
    LookupContact(LookupContactArgs),
    UpdateContact(UpdateContactArgs),
    MoveDealStage(MoveDealStageArgs),
    ScheduleFollowup(ScheduleFollowupArgs),
    Remember(RememberArgs),
    SearchMemory(SearchMemoryArgs),
    HandoffToHuman(HandoffToHumanArgs),
    SendEmail(SendEmailArgs),
}

/// What a tool that ran produced, and the work to do once its transaction committed.
#[derive(Debug, Default)]
pub struct Executed {
    /// The result the model sees.
    pub result: Value,
    /// Inbox events to publish after commit.
    pub events: Vec<Event>,
    /// Messages to append to the chat windows after commit.
    pub messages: Vec<Message>,
    /// Whether this was a send to the contact (counted against the volume caps).
    pub counted_send: bool,
}

/// The tools, their gate and their approvals. Cheap to clone.
#[derive(Clone)]
pub struct ToolRegistry {
    ctx: AppContext,
    rails: ActionRails,
    memory: Option<LongTermMemory>,
}

fn schema_of<T: JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
        map.remove("title");
    }
    schema
}

fn parameters(name: &str) -> Option<Value> {
    Some(match name {
        "lookup_contact" => schema_of::<LookupContactArgs>(),
        "update_contact" => schema_of::<UpdateContactArgs>(),
        "move_deal_stage" => schema_of::<MoveDealStageArgs>(),
        "schedule_followup" => schema_of::<ScheduleFollowupArgs>(),
        "remember" => schema_of::<RememberArgs>(),
        "search_memory" => schema_of::<SearchMemoryArgs>(),
        "handoff_to_human" => schema_of::<HandoffToHumanArgs>(),
        "send_email" => schema_of::<SendEmailArgs>(),
        _ => return None,
    })
}

/// The spec of one tool, if it exists.
pub fn spec(name: &str) -> Option<ToolSpec> {
    let (name, description) = TOOLS.iter().find(|(n, _)| *n == name)?;
    Some(ToolSpec {
        name: (*name).to_owned(),
        description: (*description).to_owned(),
        parameters: parameters(name)?,
    })
}

fn parse_as<T: DeserializeOwned + CheckArgs>(value: Value) -> Result<T, ToolError> {
    let value = if value.is_null() {
        Value::Object(Default::default())
    } else {
        value
    };
    let args: T = serde_json::from_value(value)
        .map_err(|e| ToolError::rejected("invalid_arguments", e.to_string()))?;
    args.check()
        .map_err(|m| ToolError::rejected("invalid_arguments", m))?;
    Ok(args)
}

/// Parses arguments for `name` (which must be a known tool).
pub(crate) fn parse(name: &str, arguments: Value) -> Result<Parsed, ToolError> {
    Ok(match name {
        "lookup_contact" => Parsed::LookupContact(parse_as(arguments)?),
        "update_contact" => Parsed::UpdateContact(parse_as(arguments)?),
        "move_deal_stage" => Parsed::MoveDealStage(parse_as(arguments)?),
        "schedule_followup" => Parsed::ScheduleFollowup(parse_as(arguments)?),
        "remember" => Parsed::Remember(parse_as(arguments)?),
        "search_memory" => Parsed::SearchMemory(parse_as(arguments)?),
        "handoff_to_human" => Parsed::HandoffToHuman(parse_as(arguments)?),
        "send_email" => Parsed::SendEmail(parse_as(arguments)?),
        other => {
            return Err(ToolError::rejected(
                "unknown_tool",
                format!("there is no tool named {other:?}"),
            ));
        }
    })
}

/// The gate that needs no database: name, allow-list, size, schema.
pub(crate) fn admit(scope: &ToolScope, call: &ToolCall) -> Result<Parsed, ToolError> {
    if !TOOLS.iter().any(|(n, _)| *n == call.name) {
        return Err(ToolError::rejected(
            "unknown_tool",
            format!("there is no tool named {:?}", call.name),
        ));
    }
    if !scope.allowed.contains(&call.name) {
        return Err(ToolError::rejected(
            "tool_not_allowed",
            format!("this agent may not use {:?}", call.name),
        ));
    }
    let size = serde_json::to_vec(&call.arguments).map_or(usize::MAX, |b| b.len());
    if size > MAX_ARGUMENT_BYTES {
        return Err(ToolError::rejected(
            "arguments_too_large",
            format!("arguments are {size} bytes; the limit is {MAX_ARGUMENT_BYTES}"),
        ));
    }
    parse(&call.name, call.arguments.clone())
}

/// The gate that needs the database: ids inside the organisation and the chat's contact.
async fn preflight(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    parsed: &Parsed,
) -> Result<(), ToolError> {
    if let Parsed::MoveDealStage(args) = parsed {
        crm::check_move(conn, scope, args).await?;
    }
    Ok(())
}

/// Checks ids again (they may have changed while a call waited) and runs it.
pub(crate) async fn run_checked(
    conn: &mut AsyncPgConnection,
    memory: Option<&LongTermMemory>,
    scope: &ToolScope,
    parsed: &Parsed,
) -> Result<Executed, ToolError> {
    preflight(conn, scope, parsed).await?;
    run(conn, memory, scope, parsed).await
}

/// Runs a parsed call on `conn` (inside the caller's transaction).
async fn run(
    conn: &mut AsyncPgConnection,
    memory: Option<&LongTermMemory>,
    scope: &ToolScope,
    parsed: &Parsed,
) -> Result<Executed, ToolError> {
    let unavailable = || {
        ToolError::rejected(
            "tool_unavailable",
            "long-term memory is not available in this deployment",
        )
    };
    let result = match parsed {
        Parsed::LookupContact(a) => crm::lookup_contact(conn, scope, a).await?,
        Parsed::UpdateContact(a) => crm::update_contact(conn, scope, a).await?,
        Parsed::MoveDealStage(a) => crm::move_deal_stage(conn, scope, a).await?,
        Parsed::ScheduleFollowup(a) => followup::schedule_followup(conn, scope, a).await?,
        Parsed::SendEmail(a) => return email::send_email(conn, scope, a).await,
        Parsed::HandoffToHuman(a) => serde_json::json!({ "handoff": a.reason }),
        Parsed::Remember(a) => {
            memory_tools::remember(memory.ok_or_else(unavailable)?, scope, a).await?
        }
        Parsed::SearchMemory(a) => {
            memory_tools::search_memory(memory.ok_or_else(unavailable)?, scope, a).await?
        }
    };
    Ok(Executed {
        result,
        ..Executed::default()
    })
}

impl ToolRegistry {
    /// The registry over the context's database, Redis and inbox publisher.
    pub fn new(ctx: &AppContext) -> Self {
        Self {
            ctx: ctx.clone(),
            rails: ActionRails::new(ctx),
            memory: None,
        }
    }

    /// Enables `remember` and `search_memory` (without it they answer `tool_unavailable`). The
    /// agent runtime passes its store so embeddings share its model client and circuit breaker.
    pub fn with_memory(mut self, memory: LongTermMemory) -> Self {
        self.memory = Some(memory);
        self
    }

    pub(crate) fn memory(&self) -> Option<&LongTermMemory> {
        self.memory.as_ref()
    }

    pub(crate) fn ctx_ref(&self) -> &AppContext {
        &self.ctx
    }

    /// Publishes events, fills chat windows and counts sends of a committed run.
    pub(crate) async fn after_commit(&self, scope: &ToolScope, executed: &Executed) {
        self.ctx.publisher().publish(&executed.events);
        for message in &executed.messages {
            self.ctx.remember_message(message).await;
        }
        if executed.counted_send
            && let Err(e) = self
                .rails
                .record_send(scope.organization_id, scope.contact_id)
                .await
        {
            tracing::warn!(error = %e, "could not count a tool send against the volume caps");
        }
    }

    async fn call(&self, scope: ToolScope, call: ToolCall) -> Result<ToolOutcome, ToolError> {
        let parsed = admit(&scope, &call)?;
        if let Parsed::HandoffToHuman(args) = &parsed {
            return Ok(ToolOutcome::Handoff {
                reason: args.reason.clone(),
            });
        }
        let mut conn = self
            .ctx
            .db()
            .get()
            .await
            .map_err(|e| ToolError::Pool(e.to_string()))?;
        if scope.approval_required.contains(&call.name) {
            preflight(&mut conn, &scope, &parsed).await?;
            let (approval, event) = conn
                .transaction::<_, ToolError, _>(async |conn| {
                    let approval = ToolApproval::create(
                        conn,
                        &ToolApprovalInsertForm {
                            id: ToolApprovalId::new(),
                            organization_id: scope.organization_id,
                            chat_id: scope.chat_id,
                            contact_id: scope.contact_id,
                            agent_id: scope.agent_id,
                            execution_id: scope.execution_id,
                            tool: call.name.clone(),
                            arguments: call.arguments.clone(),
                        },
                    )
                    .await?;
                    let event = Event::append(
                        conn,
                        scope.organization_id,
                        "tool_approval.created",
                        Some(scope.chat_id),
                        &serde_json::json!({ "tool_approval": approval }),
                    )
                    .await?;
                    Ok((approval, event))
                })
                .await?;
            self.ctx.publisher().publish(&[event]);
            return Ok(ToolOutcome::AwaitingApproval {
                approval_id: approval.id.to_string(),
            });
        }
        let executed = conn
            .transaction::<_, ToolError, _>(async |conn| {
                run_checked(conn, self.memory.as_ref(), &scope, &parsed).await
            })
            .await?;
        self.after_commit(&scope, &executed).await;
        Ok(ToolOutcome::Done {
            result: executed.result,
        })
    }
}

impl ToolExecutor for ToolRegistry {
    fn specs(&self, allowed: &[String]) -> Vec<ToolSpec> {
        TOOLS
            .iter()
            .filter(|(name, _)| allowed.iter().any(|a| a == name))
            .filter_map(|(name, _)| spec(name))
            .collect()
    }

    fn execute(&self, scope: ToolScope, call: ToolCall) -> BoxFuture<'static, ToolOutcome> {
        let this = self.clone();
        Box::pin(async move {
            let name = call.name.clone();
            match this.call(scope, call).await {
                Ok(outcome) => outcome,
                Err(e) => e.into_outcome(&name),
            }
        })
    }
}
