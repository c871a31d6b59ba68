//! Routes `message.send` outbox work to the edge of the chat's channel kind. The outbox knows one
//! sender per work kind; a message goes out through Telegram, email or the web inbox depending on
//! its channel, so this sender looks the channel up (scoped by organisation) and hands the row to
//! the sender registered for that channel kind. A kind with no sender on this node is a transient
//! failure, so a node that has the edge can pick the row up later.

use futures_util::future::BoxFuture;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use crate::actors::outbox::{Delivery, OutboundSender, SendError};
use crate::db::DbPool;
use crate::db::models::{Channel, OutboxEntry};
use crate::domain::{ChannelId, ChannelKind};

/// The `message.send` sender: one delegate per channel kind.
#[derive(Clone)]
pub struct ChannelSenders {
    pool: DbPool,
    by_kind: HashMap<ChannelKind, Arc<dyn OutboundSender>>,
}

#[derive(Deserialize)]
struct ChannelOf {
    channel_id: ChannelId,
}

impl ChannelSenders {
    /// No channel edges yet; add them with [`ChannelSenders::with`].
    pub fn new(pool: DbPool) -> Self {
        Self {
            pool,
            by_kind: HashMap::new(),
        }
    }

    /// Registers the edge that delivers messages of `kind` channels (builder style).
    pub fn with(mut self, kind: ChannelKind, sender: Arc<dyn OutboundSender>) -> Self {
        self.by_kind.insert(kind, sender);
        self
    }

    /// Whether any channel edge is registered (a node without edges claims no `message.send`).
    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }

    async fn route(&self, entry: &OutboxEntry) -> Result<Delivery, SendError> {
        let target: ChannelOf = serde_json::from_value(entry.payload.clone())
            .map_err(|e| SendError::permanent(format!("message.send payload: {e}")))?;
        let channel = {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|e| SendError::transient(format!("database pool: {e}")))?;
            Channel::find(&mut conn, entry.organization_id, target.channel_id)
                .await
                .map_err(|e| match e {
                    diesel::result::Error::NotFound => {
                        SendError::permanent("the message's channel no longer exists")
                    }
                    other => SendError::transient(format!("loading channel: {other}")),
                })?
        };
        match self.by_kind.get(&channel.kind) {
            Some(sender) => sender.send(entry).await,
            None => Err(SendError::transient(format!(
                "no {:?} sender on this node",
                channel.kind
            ))),
        }
    }
}

impl OutboundSender for ChannelSenders {
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.route(entry))
    }
}

/// The web channel's edge: a web visitor's widget reads the chat through the inbox event
/// stream, which already carried the message when it was committed, so delivery has nothing
/// left to do but mark the message sent.
pub struct WebDelivery;

impl OutboundSender for WebDelivery {
    fn send<'a>(&'a self, _entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(async { Ok(Delivery::default()) })
    }
}
