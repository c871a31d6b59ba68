//! Id newtypes, so a `ChatId` can never be passed where a `ContactId` is expected.
//! They are UUIDv7 (time-ordered, index friendly) and map to `UUID` columns through diesel.

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! id_newtype {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            Serialize, Deserialize, DieselNewType, ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered id for a row about to be inserted.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    )+};
}

id_newtype!(
    /// A tenant: every tenant-owned row carries one.
    OrganizationId,
    /// A person who can log in.
    UserId,
    /// A person's membership (with a role) in one organisation.
    MemberId,
    /// A machine credential belonging to one organisation.
    ApiKeyId,
    /// A refresh token row (the token itself is never stored).
    RefreshTokenId,
    /// A company in the CRM.
    CompanyId,
    /// A person the sales team talks to.
    ContactId,
    /// A sales pipeline.
    PipelineId,
    /// One stage of a pipeline.
    StageId,
    /// A deal moving through a pipeline.
    DealId,
    /// A configured channel (a Telegram bot, a mailbox, the web inbox).
    ChannelId,
    /// One conversation with one contact on one channel.
    ChatId,
    /// One message in a chat.
    MessageId,
    /// A configured AI agent.
    AgentId,
    /// A long-term memory an agent keeps about a contact.
    MemoryId,
    /// One agent turn, logged with its decisions.
    ExecutionId,
    /// A tool call waiting for a human to approve it.
    ToolApprovalId,
    /// A Handlebars template.
    TemplateId,
    /// A generated pitch.
    PitchId,
    /// A batch of pitches generated in the background.
    PitchJobId,
    /// An outreach campaign.
    CampaignId,
    /// One step of a campaign's sequence.
    CampaignStepId,
    /// One contact enrolled in a campaign.
    RecipientId,
    /// An outbound webhook subscription.
    WebhookId,
    /// An entry in the audit log.
    AuditLogId,
    /// A suppressed address.
    SuppressionId,
    /// A row in the outbox.
    OutboxId,
);
