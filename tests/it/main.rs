//! One integration test binary (one link step) driving the real server over real PostgreSQL
//! and Redis. Run through `deploy/dev/test`, which provisions both.

mod support;

mod agents;
mod auth;
mod campaigns;
mod channels;
mod chats;
mod check;
mod companies;
mod contacts;
mod deal_references;
mod deals;
mod idempotency;
mod ingest;
mod members;
mod migrations;
mod operations;
mod pipeline_stages;
mod pipelines;
mod seed;
mod templates;
mod webhooks;
