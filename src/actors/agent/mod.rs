//! The agent side of a turn. The chat actor hands a burst to [`AgentTurnHandler`]; it resolves
//! the chat's agent (the `ai_agents` row assigned to the chat; chats without one, with a human
//! assignee, or with autonomy `off` get no turn), limits how many turns each agent runs at once,
//! builds the context (Redis window, long-term recall scoped to the organisation and contact,
//! contact, company and open-deal facts), renders the agent's prompt strictly, and asks the
//! [`Supervisor`](crate::supervisor::Supervisor) for the decision.

mod context;
mod deal;
mod facts;
mod handler;

pub use handler::{AgentTurnHandler, PER_AGENT_CONCURRENCY};
