//! `GET /api/v1/chats`: the inbox list, most recently active first.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AssigneeFilter, Chat, ChatFilter, RecentPageRequest};
use crate::db::pagination::PageParams;
use crate::domain::{AgentId, ChannelId, ChatStatus, ContactId, Scope, UserId};

/// Shorthands for `assignee`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// Assigned to the calling person (not available to API keys).
    Me,
    /// Assigned to nobody.
    Unassigned,
    /// Assigned to any agent.
    Agent,
}

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatQuery {
    /// On this channel.
    pub channel_id: Option<ChannelId>,
    /// With this contact.
    pub contact_id: Option<ContactId>,
    /// In this status.
    pub status: Option<ChatStatus>,
    /// `me`, `unassigned` or `agent` (any agent).
    pub assignee: Option<Assignee>,
    /// Assigned to this member.
    pub assigned_user_id: Option<UserId>,
    /// Assigned to this agent.
    pub assigned_agent_id: Option<AgentId>,
    /// `true`: only chats with unread messages.
    pub unread: Option<bool>,
}

impl ChatQuery {
    fn into_filter(self, caller: &Caller) -> Result<ChatFilter, ApiError> {
        let bad = |message: &str| {
            ApiError::bad_request("invalid_query", message)
                .with_details(serde_json::json!({ "parameter": "assignee" }))
        };
        let given = [
            self.assignee.is_some(),
            self.assigned_user_id.is_some(),
            self.assigned_agent_id.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(bad(
                "use one of assignee, assigned_user_id and assigned_agent_id",
            ));
        }
        let assignee = match self.assignee {
            Some(Assignee::Me) => {
                Some(AssigneeFilter::User(caller.user_id().ok_or_else(|| {
                    bad("assignee=me needs a person's access token; an API key is nobody")
                })?))
            }
            Some(Assignee::Unassigned) => Some(AssigneeFilter::Unassigned),
            Some(Assignee::Agent) => Some(AssigneeFilter::AnyAgent),
            None => self
                .assigned_user_id
                .map(AssigneeFilter::User)
                .or(self.assigned_agent_id.map(AssigneeFilter::Agent)),
        };
        Ok(ChatFilter {
            channel_id: self.channel_id,
            contact_id: self.contact_id,
            status: self.status,
            assignee,
            unread_only: self.unread.unwrap_or(false),
        })
    }
}

/// Lists chats, most recently active first; chats without messages come last, newest first.
#[utoipa::path(get, path = "/api/v1/chats", tag = "chats", security(("bearer" = [])),
    params(ChatQuery, PageParams),
    responses((status = 200, description = "a page of chats", body = inline(crate::db::pagination::Page<Chat>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/chats")]
pub async fn list_chats(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<ChatQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = RecentPageRequest::from_params(&page)?;
    let filter = filter.into_inner().into_filter(&caller)?;
    let mut conn = ctx.db().get().await?;
    let chats = Chat::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(chats))
}
