//! One file per table: the row type, its insert/update forms, and its queries as associated
//! functions. Every query on a tenant-owned table takes the `OrganizationId` it is scoped to.

pub mod agent_execution;
pub mod agent_memory;
pub mod ai_agent;
pub mod api_key;
pub mod audit_log;
pub mod campaign;
pub mod campaign_step;
pub mod channel;
pub mod chat;
pub mod chat_cursor;
pub mod company;
pub mod contact;
pub mod deal;
pub mod email_poll_state;
pub mod event;
pub mod idempotency_key;
pub mod member;
pub mod message;
pub mod organization;
pub mod outbox;
pub mod pipeline;
pub mod pipeline_stage;
pub mod pitch;
pub mod pitch_job;
pub mod refresh_token;
pub mod suppression;
pub mod telegram_poll_offset;
pub mod template;
pub mod tool_approval;
pub mod user;
pub mod webhook;

pub use agent_execution::{
    AgentExecution, AgentExecutionFinishForm, AgentExecutionInsertForm, ExecutionSummary,
};
pub use agent_memory::*;
pub use ai_agent::*;
pub use api_key::*;
pub use audit_log::*;
pub use campaign::*;
pub use campaign_step::*;
pub use channel::*;
pub use chat::*;
pub use chat_cursor::*;
pub use company::*;
pub use contact::*;
pub use deal::*;
pub use email_poll_state::*;
pub use event::*;
pub use idempotency_key::*;
pub use member::*;
pub use message::*;
pub use organization::*;
pub use outbox::*;
pub use pipeline::*;
pub use pipeline_stage::*;
pub use pitch::*;
pub use pitch_job::{ItemOutcome, PitchJob, PitchJobInsertForm, PitchJobItem};
pub use refresh_token::*;
pub use suppression::*;
pub use telegram_poll_offset::*;
pub use template::*;
pub use tool_approval::*;
pub use user::*;
pub use webhook::*;
