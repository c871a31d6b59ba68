//! Channel edges (Telegram, email, the web inbox). For now: the channel settings of
//! `channels/*.toml` and the API, validated the same way. Secrets are never values here, only
//! the names of environment variables holding them.

pub mod ingest;
pub mod settings;
pub mod websocket;

pub use settings::{ChannelDefinition, load_dir, validate_settings};
