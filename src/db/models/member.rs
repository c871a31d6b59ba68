//! `organization_members`: which users belong to which organisation, with what role.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::{organization_members, users};
use crate::domain::{MemberId, OrganizationId, Role, UserId};

/// A user's membership in an organisation.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = organization_members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    /// Id.
    pub id: MemberId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// What the user may do here.
    pub role: Role,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A membership with the user's public fields, as lists show it.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct MemberView {
    /// Membership id.
    pub id: MemberId,
    /// The user.
    pub user_id: UserId,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// Role in this organisation.
    pub role: Role,
    /// Joined.
    pub created_at: DateTime<Utc>,
}

/// A new membership.
#[derive(Debug, Insertable)]
#[diesel(table_name = organization_members)]
pub struct MemberInsertForm {
    /// Id.
    pub id: MemberId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// User.
    pub user_id: UserId,
    /// Role.
    pub role: Role,
}

type ViewColumns = (
    organization_members::id,
    organization_members::user_id,
    users::email,
    users::name,
    organization_members::role,
    organization_members::created_at,
);

const VIEW_COLUMNS: ViewColumns = (
    organization_members::id,
    organization_members::user_id,
    users::email,
    users::name,
    organization_members::role,
    organization_members::created_at,
);

impl Member {
    /// Inserts a membership.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &MemberInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(organization_members::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The membership of `user` in `org`, if any.
    pub async fn find_for_user(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        user: UserId,
    ) -> QueryResult<Self> {
        organization_members::table
            .filter(organization_members::organization_id.eq(org))
            .filter(organization_members::user_id.eq(user))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Every membership of a user (to pick the organisation at login).
    pub async fn list_for_user(
        conn: &mut AsyncPgConnection,
        user: UserId,
    ) -> QueryResult<Vec<Self>> {
        organization_members::table
            .filter(organization_members::user_id.eq(user))
            .order(organization_members::created_at.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// One membership of the organisation, with its user.
    pub async fn find_view(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MemberId,
    ) -> QueryResult<MemberView> {
        organization_members::table
            .inner_join(users::table)
            .filter(organization_members::organization_id.eq(org))
            .filter(organization_members::id.eq(id))
            .select(VIEW_COLUMNS)
            .first(conn)
            .await
    }

    /// A page of the organisation's members.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        page: PageRequest,
    ) -> QueryResult<Page<MemberView>> {
        let mut query = organization_members::table
            .inner_join(users::table)
            .filter(organization_members::organization_id.eq(org))
            .order((
                organization_members::created_at.desc(),
                organization_members::id.desc(),
            ))
            .limit(page.fetch_limit())
            .select(VIEW_COLUMNS)
            .into_boxed();
        if let Some(c) = page.after {
            query = query.filter(
                organization_members::created_at.lt(c.created_at).or(
                    organization_members::created_at
                        .eq(c.created_at)
                        .and(organization_members::id.lt(c.id)),
                ),
            );
        }
        let rows = query.load(conn).await?;
        Ok(page.finish(rows, |m: &MemberView| Cursor {
            created_at: m.created_at,
            id: m.id.0,
        }))
    }

    /// Changes a member's role.
    pub async fn set_role(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MemberId,
        role: Role,
    ) -> QueryResult<Self> {
        diesel::update(
            organization_members::table
                .filter(organization_members::organization_id.eq(org))
                .filter(organization_members::id.eq(id)),
        )
        .set(organization_members::role.eq(role))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Removes a membership.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MemberId,
    ) -> QueryResult<usize> {
        diesel::delete(
            organization_members::table
                .filter(organization_members::organization_id.eq(org))
                .filter(organization_members::id.eq(id)),
        )
        .execute(conn)
        .await
    }

    /// How many owners the organisation has (the last one cannot be removed or demoted).
    pub async fn count_owners(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
    ) -> QueryResult<i64> {
        organization_members::table
            .filter(organization_members::organization_id.eq(org))
            .filter(organization_members::role.eq(Role::Owner))
            .count()
            .get_result(conn)
            .await
    }
}
