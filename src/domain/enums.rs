//! Closed sets of states, stored as `TEXT` with a `CHECK` constraint and spoken as snake_case JSON.
//! One macro gives each the same conversions so the database, the API and the OpenAPI document agree.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::ToSchema;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema,
            AsExpression, FromSqlRow,
        )]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order (for validation messages and docs).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownVariant {
                        kind: stringify!($name),
                        value: other.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(self.as_str().as_bytes())?;
                Ok(serialize::IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let text = std::str::from_utf8(bytes.as_bytes())?;
                Ok(text.parse()?)
            }
        }
    };
}

/// A string that is not one of an enum's spellings.
#[derive(Debug, thiserror::Error)]
#[error("{value:?} is not a valid {kind}; expected one of {expected:?}")]
pub struct UnknownVariant {
    /// The enum's type name.
    pub kind: &'static str,
    /// What was given.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static [&'static str],
}

text_enum!(
    /// What a member may do in an organisation; each role includes the ones below it.
    Role {
        /// Everything, including managing other owners.
        Owner => "owner",
        /// Configuration, members and API keys.
        Admin => "admin",
        /// Works chats and the CRM.
        Operator => "operator",
        /// Reads only.
        Viewer => "viewer",
    }
);

text_enum!(
    /// Which outside world a channel bridges.
    ChannelKind { Telegram => "telegram", Email => "email", Web => "web" }
);

text_enum!(
    /// Where a chat stands in the team's workflow.
    ChatStatus { Open => "open", Pending => "pending", Snoozed => "snoozed", Resolved => "resolved" }
);

text_enum!(
    /// How far an agent may act on its own in a chat.
    Autonomy {
        /// The agent does not act.
        Off => "off",
        /// The agent drafts; a human approves.
        Draft => "draft",
        /// The agent replies when every rail passes.
        Auto => "auto",
    }
);

text_enum!(
    /// Which way a message travelled.
    Direction { Inbound => "inbound", Outbound => "outbound" }
);

text_enum!(
    /// Who wrote a message.
    SenderKind { Contact => "contact", Operator => "operator", Agent => "agent", System => "system" }
);

text_enum!(
    /// A message's delivery state.
    MessageStatus {
        Received => "received", Queued => "queued", Sent => "sent",
        Delivered => "delivered", Read => "read", Failed => "failed",
    }
);

text_enum!(
    /// Where an AI draft stands in human review.
    DraftState { PendingApproval => "pending_approval", Approved => "approved", Rejected => "rejected" }
);

text_enum!(
    /// The three agent roles.
    AgentKind {
        /// First contact and qualification.
        Sdr => "sdr",
        /// Re-engagement on a schedule.
        Followup => "followup",
        /// Pitches and deal progress.
        Bizdev => "bizdev",
    }
);

text_enum!(
    /// What a long-term memory holds.
    MemoryKind { Fact => "fact", Preference => "preference", Summary => "summary" }
);

text_enum!(
    /// What a template is used for.
    TemplateKind { Pitch => "pitch", Message => "message", Email => "email" }
);

text_enum!(
    /// A campaign's lifecycle.
    CampaignStatus {
        Draft => "draft", Scheduled => "scheduled", Running => "running",
        Paused => "paused", Completed => "completed", Cancelled => "cancelled",
    }
);

text_enum!(
    /// A pipeline stage's meaning for reporting.
    StageOutcome { Open => "open", Won => "won", Lost => "lost" }
);

text_enum!(
    /// Who did something recorded in the audit log.
    ActorKind { User => "user", ApiKey => "api_key", System => "system" }
);

text_enum!(
    /// Where an outbox row stands with the dispatcher.
    OutboxStatus {
        /// Waiting for its turn (or its next attempt).
        Pending => "pending",
        /// Claimed by a dispatcher.
        Sending => "sending",
        /// Delivered.
        Sent => "sent",
        /// The last attempt failed; it will be retried.
        Failed => "failed",
        /// Out of attempts; needs a human.
        Dead => "dead",
    }
);

text_enum!(
    /// Where a tool call waiting for a human stands. It runs at most once: only a `pending`
    /// row can become `executed` or `failed` (by approval) or `rejected`.
    ToolApprovalStatus {
        /// Waiting for a human.
        Pending => "pending",
        /// A human said no; it never runs.
        Rejected => "rejected",
        /// Approved and run.
        Executed => "executed",
        /// Approved, but running it failed (see `result`).
        Failed => "failed",
    }
);

text_enum!(
    /// What an API key may do. Roles grant sets of these too.
    Scope {
        /// Read everything in the organisation.
        Read => "read",
        /// Work chats, messages and CRM records.
        Write => "write",
        /// Change channels, agents, templates, campaigns and webhooks.
        Configure => "configure",
        /// Manage members, API keys and read the audit log.
        Admin => "admin",
    }
);

impl Role {
    /// The scopes a member with this role holds.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Role::Owner | Role::Admin => {
                &[Scope::Read, Scope::Write, Scope::Configure, Scope::Admin]
            }
            Role::Operator => &[Scope::Read, Scope::Write],
            Role::Viewer => &[Scope::Read],
        }
    }
}
