//! Creating organisations with their first owner, and the demo workspace of `seed-demo`.
//! Tests use the same functions to set up tenants, so they exercise the real code paths.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use std::fmt;

use crate::auth::api_keys::generate_api_key;
use crate::auth::password::hash_password;
use crate::context::AppContext;
use crate::db::models::*;
use crate::domain::*;

/// A new organisation with its owner.
#[derive(Debug)]
pub struct NewOrganization {
    /// The organisation.
    pub organization: Organization,
    /// Its owner.
    pub owner: User,
}

/// Creates an organisation and its owner (a new user, or an existing one by email).
pub async fn create_organization(
    conn: &mut AsyncPgConnection,
    name: &str,
    slug: &str,
    owner_email: &str,
    owner_password: &str,
) -> anyhow::Result<NewOrganization> {
    let password_hash =
        hash_password(owner_password).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    let (name, slug, email) = (name.to_owned(), slug.to_owned(), owner_email.to_owned());
    let created = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let organization = Organization::create(
                conn,
                &OrganizationInsertForm {
                    id: OrganizationId::new(),
                    name,
                    slug,
                },
            )
            .await?;
            let owner = match User::find_by_email(conn, &email).await {
                Ok(user) => user,
                Err(diesel::result::Error::NotFound) => {
                    User::create(
                        conn,
                        &UserInsertForm {
                            id: UserId::new(),
                            email: email.clone(),
                            name: email.split('@').next().unwrap_or_default().to_owned(),
                            password_hash: Some(password_hash),
                        },
                    )
                    .await?
                }
                Err(e) => return Err(e),
            };
            Member::create(
                conn,
                &MemberInsertForm {
                    id: MemberId::new(),
                    organization_id: organization.id,
                    user_id: owner.id,
                    role: Role::Owner,
                },
            )
            .await?;
            Ok(NewOrganization {
                organization,
                owner,
            })
        })
        .await?;
    Ok(created)
}

/// Creates an organisation like [`create_organization`] and gives it the agents of
/// `agents/*.toml` (the context's catalog) right away, so its chats can be assigned to them
/// without waiting for the next start-up. Every path that creates organisations in a running
/// deployment goes through here.
pub async fn create_organization_with_agents(
    ctx: &AppContext,
    name: &str,
    slug: &str,
    owner_email: &str,
    owner_password: &str,
) -> anyhow::Result<NewOrganization> {
    let mut conn = ctx.db().get().await?;
    let created = create_organization(&mut conn, name, slug, owner_email, owner_password).await?;
    crate::agents::provision::provision_organization(
        &mut conn,
        created.organization.id,
        ctx.agent_catalog(),
    )
    .await?;
    Ok(created)
}

/// Creates an API key and returns it with its plaintext (shown once).
pub async fn create_api_key(
    conn: &mut AsyncPgConnection,
    organization_id: OrganizationId,
    name: &str,
    scopes: &[Scope],
    created_by: Option<UserId>,
) -> diesel::QueryResult<(ApiKey, String)> {
    let generated = generate_api_key();
    let key = ApiKey::create(
        conn,
        &ApiKeyInsertForm {
            id: ApiKeyId::new(),
            organization_id,
            name: name.to_owned(),
            prefix: generated.prefix,
            key_hash: generated.hash,
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_by,
            expires_at: None,
        },
    )
    .await?;
    Ok((key, generated.plaintext))
}

/// What `seed-demo` prints.
pub struct DemoWorkspace {
    /// Login email.
    pub email: String,
    /// Login password (generated unless `SWITCHBOARD_DEMO_PASSWORD` is set).
    pub password: String,
    /// A fresh admin API key.
    pub api_key: String,
    /// Where the server will listen.
    pub url: String,
}

impl fmt::Display for DemoWorkspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Demo workspace ready (organisation slug: demo)")?;
        writeln!(f, "  URL:      {}", self.url)?;
        writeln!(f, "  API docs: {}/api/docs/", self.url)?;
        writeln!(f, "  Login:    {} / {}", self.email, self.password)?;
        write!(f, "  API key:  {}", self.api_key)
    }
}

/// Demo login email.
pub const DEMO_EMAIL: &str = "demo@switchboard.local";

/// Creates the demo organisation if missing (resetting the demo password) and issues a new API key.
pub async fn seed_demo(ctx: &AppContext) -> anyhow::Result<DemoWorkspace> {
    let mut conn = ctx.db().get().await?;
    let password = std::env::var("SWITCHBOARD_DEMO_PASSWORD").unwrap_or_else(|_| {
        let mut bytes = [0u8; 9];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    });
    let organization = match Organization::find_by_slug(&mut conn, "demo").await {
        Ok(org) => {
            let user = User::find_by_email(&mut conn, DEMO_EMAIL).await?;
            let hash =
                hash_password(&password).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
            User::update(
                &mut conn,
                user.id,
                &UserUpdateForm {
                    password_hash: Some(Some(hash)),
                    ..Default::default()
                },
            )
            .await?;
            org
        }
        Err(diesel::result::Error::NotFound) => {
            let created =
                create_organization_with_agents(ctx, "Demo Sales", "demo", DEMO_EMAIL, &password)
                    .await?;
            crate::seed_content::seed_demo_content(
                &mut conn,
                created.organization.id,
                &ctx.config().paths,
            )
            .await?;
            created.organization
        }
        Err(e) => return Err(e.into()),
    };
    let (_, api_key) = create_api_key(
        &mut conn,
        organization.id,
        "demo (seed-demo)",
        Role::Admin.scopes(),
        None,
    )
    .await?;
    Ok(DemoWorkspace {
        email: DEMO_EMAIL.into(),
        password,
        api_key,
        url: ctx.config().server.public_url.clone(),
    })
}
