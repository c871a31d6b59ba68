//! Switchboard: a self-hosted, actor-based runtime for AI-assisted sales conversations.
//!
//! The modules follow one message's way through the system (see `docs/architecture.md`):
//! channels normalise and persist inbound messages, chat actors serialise each conversation,
//! agent actors build context and ask the supervisor, which guards every LLM and tool call.
//! Around that spine: the admin API, the database models and configuration.

pub mod actors;
pub mod agents;
pub mod api;
pub mod app;
pub mod auth;
pub mod channels;
pub mod check;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod declarative;
pub mod domain;
pub mod inbox;
pub mod inbox_page;
pub mod llm;
pub mod memory;
pub mod node;
pub mod pitches;
pub mod prompts;
pub mod rails;
pub mod seed;
pub mod seed_content;
pub mod supervisor;
pub mod telemetry;
pub mod tools;
