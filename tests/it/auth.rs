//! Authentication and authorisation: logins, tokens, API keys, roles, rate limits.

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_error, test_config};
use switchboard::domain::{Role, Scope};

#[actix_web::test]
async fn login_refresh_and_logout() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, session) = app
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"email": org.owner_email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "email is case-insensitive: {session}"
    );
    let access = session["access_token"].as_str().expect("access").to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, me) = app.get("/api/v1/me", &access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["organization"]["slug"], org.slug.as_str());

    let (status, rotated) = app
        .post(
            "/api/v1/auth/refresh",
            "",
            &json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["refresh_token"], refresh.as_str());
    let reused = app
        .post(
            "/api/v1/auth/refresh",
            "",
            &json!({"refresh_token": refresh}),
        )
        .await;
    assert_error(&reused, StatusCode::UNAUTHORIZED, "invalid_refresh_token");

    let new_refresh = rotated["refresh_token"].as_str().expect("refresh");
    let (status, _) = app
        .post(
            "/api/v1/auth/logout",
            "",
            &json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after_logout = app
        .post(
            "/api/v1/auth/refresh",
            "",
            &json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_error(
        &after_logout,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_emails_look_the_same() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"email": org.owner_email, "password": "nope"}),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_login");
    let unknown = app
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"email": "ghost@example.test", "password": PASSWORD}),
        )
        .await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_login");
    assert_eq!(wrong.1["error"]["message"], unknown.1["error"]["message"]);
}

#[actix_web::test]
async fn bad_credentials_are_refused_with_distinct_codes() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let none = crate::support::read(
        app.http
            .get(app.url("/api/v1/contacts"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "missing_credentials");
    assert_error(
        &app.get("/api/v1/contacts", "sk_0000").await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    assert_error(
        &app.get("/api/v1/contacts", "not.a.jwt").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );

    let now = Utc::now().timestamp();
    let claims =
        json!({"sub": org.owner_id, "org": org.id, "iat": now, "exp": now + 600, "typ": "access"});
    let forged = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"someone-elses-secret-of-enough-length"),
    )
    .expect("encode");
    assert_error(
        &app.get("/api/v1/contacts", &forged).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );

    let secret = app.ctx.config().auth.jwt_secret.expose().clone();
    let expired_claims = json!({"sub": org.owner_id, "org": org.id, "iat": now - 7200, "exp": now - 3600, "typ": "access"});
    let expired = encode(
        &Header::default(),
        &expired_claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode");
    assert_error(
        &app.get("/api/v1/contacts", &expired).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    );

    let genuine = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode");
    assert_eq!(
        app.get("/api/v1/contacts", &genuine).await.0,
        StatusCode::OK,
        "the same claims signed right pass"
    );
}

#[actix_web::test]
async fn revoked_and_expired_keys_stop_working() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/api-keys",
            &org.key,
            &json!({"name": "sync", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().expect("key shown once").to_owned();
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));
    assert_eq!(app.get("/api/v1/contacts", &key).await.0, StatusCode::OK);

    let (_, listed) = app.get("/api/v1/api-keys", &org.key).await;
    assert!(
        !listed.to_string().contains(&key),
        "the key never appears again"
    );

    let id = created["id"].as_str().expect("id");
    let (status, revoked) = app
        .delete(&format!("/api/v1/api-keys/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revoked_at"].is_string());
    assert_error(
        &app.get("/api/v1/contacts", &key).await,
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
    );

    let escalate = app
        .post(
            "/api/v1/api-keys",
            &app.key_with(&org, &[Scope::Admin]).await,
            &json!({"name": "x", "scopes": ["configure"]}),
        )
        .await;
    assert_error(
        &escalate,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let past = app
        .post(
            "/api/v1/api-keys",
            &org.key,
            &json!({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_error(&past, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[actix_web::test]
async fn roles_gate_writes() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let viewer = app.member_token(&org, Role::Viewer).await;
    let operator = app.member_token(&org, Role::Operator).await;
    assert_eq!(app.get("/api/v1/contacts", &viewer).await.0, StatusCode::OK);
    assert_error(
        &app.post("/api/v1/contacts", &viewer, &json!({"name": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(
        app.post("/api/v1/contacts", &operator, &json!({"name": "x"}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_error(
        &app.get("/api/v1/api-keys", &operator).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post(
            "/api/v1/members",
            &operator,
            &json!({"email": "x@example.test", "role": "viewer"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[actix_web::test]
async fn removed_members_lose_access_at_once() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let token = app.member_token(&org, Role::Operator).await;
    let (_, members) = app.get("/api/v1/members", &org.key).await;
    let operator = members["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| m["role"] == "operator")
        .expect("operator")
        .clone();
    let (status, _) = app
        .delete(
            &format!("/api/v1/members/{}", operator["id"].as_str().expect("id")),
            &org.key,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get("/api/v1/contacts", &token).await,
        StatusCode::UNAUTHORIZED,
        "no_membership",
    );
}

#[actix_web::test]
async fn a_credential_over_its_rate_limit_gets_429() {
    let mut config = test_config();
    config.server.rate_limit_per_minute = 3;
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("acme").await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/v1/contacts", &org.key).await.0,
            StatusCode::OK
        );
    }
    let res = app
        .request(reqwest::Method::GET, "/api/v1/contacts", &org.key)
        .send()
        .await
        .expect("send");
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limited = crate::support::read(res).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(
        retry_after
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s <= 60)
    );
    let other = app.key_with(&org, &[Scope::Read]).await;
    assert_eq!(
        app.get("/api/v1/contacts", &other).await.0,
        StatusCode::OK,
        "limits are per credential"
    );
}

#[actix_web::test]
async fn a_password_change_needs_the_old_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (_, session) = app
        .post(
            "/api/v1/auth/login",
            "",
            &json!({"email": org.owner_email, "password": PASSWORD}),
        )
        .await;
    let access = session["access_token"].as_str().expect("access").to_owned();
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    let wrong = app
        .patch(
            "/api/v1/me",
            &access,
            &json!({"current_password": "nope", "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_login");
    let missing = app
        .patch(
            "/api/v1/me",
            &access,
            &json!({"new_password": "a brand new passphrase"}),
        )
        .await;
    assert_error(
        &missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (status, me) = app
        .patch("/api/v1/me", &access, &json!({"name": "Renamed", "current_password": PASSWORD, "new_password": "a brand new passphrase"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Renamed");
    assert!(
        me.get("password_hash").is_none(),
        "the hash is never serialised"
    );
    let old_session = app
        .post(
            "/api/v1/auth/refresh",
            "",
            &json!({"refresh_token": refresh}),
        )
        .await;
    assert_error(
        &old_session,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
    app.login(&org.owner_email, "a brand new passphrase", None)
        .await;

    let by_key = app
        .patch("/api/v1/me", &org.key, &json!({"name": "x"}))
        .await;
    assert_error(&by_key, StatusCode::FORBIDDEN, "not_a_person");
}
