//! One integration test binary (one link step) driving the real server over real PostgreSQL
//! and Redis. Run through `deploy/dev/test`, which provisions both.

mod support;

mod agent_llm;
mod agent_memory;
mod agent_ops;
mod agent_turn;
mod agents;
mod auth;
mod campaigns;
mod channels;
mod chat_actor;
mod chats;
mod check;
mod check_email;
mod companies;
mod contacts;
mod deal_references;
mod deals;
mod drafts;
mod email;
mod followups;
mod idempotency;
mod inbox_page;
mod inbox_signals;
mod inbox_ws;
mod ingest;
mod members;
mod memories;
mod migrations;
mod nodes;
mod ollama_server;
mod operations;
mod outbox;
mod pipeline_stages;
mod pipelines;
mod pitch_jobs;
mod pitches;
mod rails;
mod seed;
mod short_term_memory;
mod telegram;
mod telegram_server;
mod templates;
mod tools;
mod webhooks;
