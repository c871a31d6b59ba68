//! The test harness: a real server on a free port over the real PostgreSQL and Redis that
//! `deploy/dev/test` provisions. Every test makes its own organisations (unique slugs) and its own
//! Redis key prefix, so tests run in parallel without seeing each other.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;
use std::net::TcpListener;
use std::time::Duration;
use tokio::sync::OnceCell;
use uuid::Uuid;

use switchboard::app::build_server;
use switchboard::config::{Config, Sensitive};
use switchboard::context::AppContext;
use switchboard::db::migrate;
use switchboard::domain::{OrganizationId, Role, Scope, UserId};
use switchboard::seed;

/// `SWITCHBOARD_TEST_DATABASE_URL`, set by `deploy/dev/test`.
pub fn database_url() -> String {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL")
        .expect("SWITCHBOARD_TEST_DATABASE_URL is not set: run the tests with deploy/dev/test")
}

/// `SWITCHBOARD_TEST_REDIS_URL`, set by `deploy/dev/test`.
pub fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL")
        .expect("SWITCHBOARD_TEST_REDIS_URL is not set: run the tests with deploy/dev/test")
}

static MIGRATED: OnceCell<()> = OnceCell::const_new();

/// Applies migrations to the shared test database once per test process.
pub async fn migrated() {
    MIGRATED
        .get_or_init(|| async {
            migrate::run_pending(&database_url())
                .await
                .expect("migrations apply");
        })
        .await;
}

/// A configuration pointing at the test services.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.database.url = Sensitive::new(database_url());
    config.database.pool_size = 4;
    config.redis.url = Sensitive::new(redis_url());
    config.redis.key_prefix = format!("sbtest:{}:", Uuid::now_v7());
    config.auth.jwt_secret =
        Sensitive::new(format!("test-secret-{}-{}", Uuid::now_v7(), Uuid::now_v7()));
    config.llm.base_url = "http://127.0.0.1:9".into();
    // Test servers share one database: a node delivering messages would claim other tests'
    // outbox rows. Tests of delivery turn it on over a database of their own.
    config.server.deliver_messages = false;
    // Likewise a node resuming orphaned pitch jobs would take other tests' jobs.
    config.pitches.resume_on_start = false;
    // And a polling node would poll every test's bots.
    config.server.poll_channels = false;
    config
}

/// A running server.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// The server's context, for direct database access in assertions.
    pub ctx: AppContext,
    /// HTTP client.
    pub http: reqwest::Client,
    /// Stops the server (to play a node going down).
    pub handle: actix_web::dev::ServerHandle,
    /// The node's real-time runtime (ingest, chat router, outbox).
    pub node: switchboard::node::Node,
}

/// A tenant with its owner and an admin API key.
pub struct TestOrg {
    /// Id.
    pub id: OrganizationId,
    /// Slug.
    pub slug: String,
    /// Owner.
    pub owner_id: UserId,
    /// Owner's email.
    pub owner_email: String,
    /// Owner's password.
    pub owner_password: String,
    /// An API key with every scope.
    pub key: String,
}

/// Password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Starts a server with the default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(test_config()).await
    }

    /// Starts a server with a custom configuration.
    pub async fn spawn_with(config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::spawn_on(listener, config).await
    }

    /// Starts a server on a listener bound beforehand, for a configuration that must name the
    /// server's own address (a browser page's origin).
    pub async fn spawn_on(listener: TcpListener, mut config: Config) -> Self {
        migrated().await;
        config.server.workers = 1;
        let ctx = AppContext::connect(config).await.expect("context connects");
        let running = build_server(ctx.clone(), listener).expect("server builds");
        let base = format!("http://{}", running.addr);
        let handle = running.server.handle();
        actix_web::rt::spawn(running.server);
        Self {
            base,
            ctx,
            http: reqwest::Client::new(),
            handle,
            node: running.node,
        }
    }

    /// Creates an organisation with an owner and an admin key.
    pub async fn create_org(&self, label: &str) -> TestOrg {
        let unique = Uuid::now_v7().simple().to_string();
        let slug = format!("{label}-{}", &unique[unique.len() - 12..]);
        let email = format!("owner-{unique}@example.test");
        let mut conn = self.ctx.db().get().await.expect("db");
        let created = seed::create_organization(&mut conn, label, &slug, &email, PASSWORD)
            .await
            .expect("org");
        let (_, key) = seed::create_api_key(
            &mut conn,
            created.organization.id,
            "test",
            Role::Owner.scopes(),
            None,
        )
        .await
        .expect("key");
        TestOrg {
            id: created.organization.id,
            slug,
            owner_id: created.owner.id,
            owner_email: email,
            owner_password: PASSWORD.into(),
            key,
        }
    }

    /// An API key with exactly these scopes.
    pub async fn key_with(&self, org: &TestOrg, scopes: &[Scope]) -> String {
        let mut conn = self.ctx.db().get().await.expect("db");
        seed::create_api_key(&mut conn, org.id, "scoped", scopes, None)
            .await
            .expect("key")
            .1
    }

    /// Adds a member with a role and returns an access token for them.
    pub async fn member_token(&self, org: &TestOrg, role: Role) -> String {
        let email = format!("{}-{}@example.test", role.as_str(), Uuid::now_v7().simple());
        let res = self
            .request(Method::POST, "/api/v1/members", &org.key)
            .json(&serde_json::json!({ "email": email, "role": role, "password": PASSWORD }))
            .send()
            .await
            .expect("send");
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "adding a member: {}",
            res.text().await.unwrap_or_default()
        );
        self.login(&email, PASSWORD, Some(&org.slug)).await
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str, org: Option<&str>) -> String {
        let res = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": email, "password": password, "organization": org }))
            .send()
            .await
            .expect("send");
        let status = res.status();
        let body: Value = res.json().await.expect("json");
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with a bearer credential.
    pub fn request(&self, method: Method, path: &str, credential: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(credential)
    }

    /// GET with a credential; returns status and JSON body.
    pub async fn get(&self, path: &str, credential: &str) -> (StatusCode, Value) {
        read(
            self.request(Method::GET, path, credential)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// POST JSON with a credential.
    pub async fn post(&self, path: &str, credential: &str, body: &Value) -> (StatusCode, Value) {
        read(
            self.request(Method::POST, path, credential)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// PATCH JSON with a credential.
    pub async fn patch(&self, path: &str, credential: &str, body: &Value) -> (StatusCode, Value) {
        read(
            self.request(Method::PATCH, path, credential)
                .json(body)
                .send()
                .await
                .expect("send"),
        )
        .await
    }

    /// DELETE with a credential.
    pub async fn delete(&self, path: &str, credential: &str) -> (StatusCode, Value) {
        read(
            self.request(Method::DELETE, path, credential)
                .send()
                .await
                .expect("send"),
        )
        .await
    }
}

/// Status and JSON body (Null when empty).
pub async fn read(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts an error answer's status and code, and returns the body.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "unexpected status; body: {}", got.1);
    assert_eq!(
        got.1["error"]["code"], code,
        "unexpected error code; body: {}",
        got.1
    );
}

/// Proves tenant isolation for one resource: another organisation's credential gets 404 on
/// get/update/delete of `path`, and its list at `list_path` does not contain `id`.
pub async fn assert_isolated(app: &TestApp, path: &str, list_path: &str, id: &str) {
    let other = app.create_org("intruder").await;
    assert_error(
        &app.get(path, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.patch(path, &other.key, &serde_json::json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(path, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, list) = app.get(list_path, &other.key).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert!(
        items.iter().all(|item| item["id"] != id),
        "another tenant's row leaked: {list}"
    );
}

/// How long the polling helpers wait: a deadline for broken code, not a timing assertion.
const EVENTUALLY: Duration = Duration::from_secs(45);

/// Polls `check` every 25 ms until it holds; panics naming `what` if it never does.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_some(what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Polls `check` every 25 ms until it finds something, and returns it; panics naming `what` if
/// it never does.
pub async fn eventually_some<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + EVENTUALLY;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
