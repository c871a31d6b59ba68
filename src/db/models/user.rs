//! `users`: people who log in. Users are global; what they may see comes from memberships.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::users;
use crate::domain::UserId;

diesel::define_sql_function!(
    /// SQL `lower(text)`, for case-insensitive email lookups that use the unique index.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text
);

/// A person who can log in.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login email, unique case-insensitively.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string; never serialised.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Set when the account may no longer log in.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new user.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct UserInsertForm {
    /// Id.
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id hash, if a password is set.
    pub password_hash: Option<String>,
}

/// Changes to a user.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserUpdateForm {
    /// New display name.
    pub name: Option<String>,
    /// New password hash.
    pub password_hash: Option<Option<String>>,
    /// Disable or re-enable.
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    /// Record a login.
    pub last_login_at: Option<Option<DateTime<Utc>>>,
}

impl User {
    /// Inserts a user.
    pub async fn create(conn: &mut AsyncPgConnection, form: &UserInsertForm) -> QueryResult<Self> {
        diesel::insert_into(users::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Loads a user.
    pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Self> {
        users::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Loads a user by email, ignoring case.
    pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Self> {
        users::table
            .filter(lower(users::email).eq(email.to_lowercase()))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: UserId,
        form: &UserUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(users::table.find(id))
            .set(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }
}
