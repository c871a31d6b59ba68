//! Channel edges (Telegram, email, the web inbox). For now: the channel settings of
//! `channels/*.toml` and the API, validated the same way. Secrets are never values here, only
//! the names of environment variables holding them.

pub mod email;
pub mod email_rules;
pub mod ingest;
pub mod outbound;
pub mod poll_lease;
pub mod polling;
pub mod settings;
pub mod telegram;
pub mod typing;
pub mod websocket;

pub use outbound::{ChannelSenders, WebDelivery};
pub use settings::{ChannelDefinition, load_dir, validate_settings};
pub use typing::{ChannelTypists, TypingHandle, TypingNotifier};

use std::sync::Arc;

use crate::actors::outbox::SenderRegistry;
use crate::context::AppContext;
use crate::db::models::MESSAGE_SEND;

/// Every outbound edge this node runs, keyed by outbox work kind. Each channel edge adds its
/// sender to the `ChannelSenders` here (one line per channel kind).
pub fn senders(ctx: &AppContext) -> SenderRegistry {
    let channels = ChannelSenders::new(ctx.db().clone())
        .with(
            crate::domain::ChannelKind::Telegram,
            Arc::new(telegram::TelegramSender::new(ctx.clone())),
        )
        .with(
            crate::domain::ChannelKind::Email,
            Arc::new(email::EmailSender::new(
                ctx.db().clone(),
                &ctx.config().server.public_url,
                email::UnsubscribeSigner::from_config(ctx.config()),
            )),
        );
    let channels = channels.with(crate::domain::ChannelKind::Web, Arc::new(WebDelivery));
    let mut registry = SenderRegistry::new();
    if ctx.config().server.deliver_messages && !channels.is_empty() {
        registry.register(MESSAGE_SEND, Arc::new(channels));
    }
    registry
}

/// Every channel kind's typing indicator on this node (one line per channel kind that has one).
pub fn typists() -> ChannelTypists {
    ChannelTypists::default().with(
        crate::domain::ChannelKind::Telegram,
        Arc::new(telegram::TelegramTyping::new()),
    )
}

/// Every channel kind's poller on this node (one line per kind that receives by polling).
pub fn pollers(ctx: &AppContext, ingestor: &ingest::Ingestor) -> polling::PollerRegistry {
    polling::PollerRegistry::new(
        ctx.db().clone(),
        ctx.config().server.poll_channels,
        vec![
            Arc::new(telegram::TelegramPolling::new(
                ctx.clone(),
                ingestor.clone(),
            )),
            Arc::new(email::imap::EmailPolling::new(
                ctx.clone(),
                ingestor.clone(),
            )),
        ],
    )
}
