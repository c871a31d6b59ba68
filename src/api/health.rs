//! Liveness, readiness and metrics for orchestrators and Prometheus.
//! Ready means PostgreSQL (with pgvector) and Redis answer; Ollama is reported but not required,
//! because agents degrade to human hand-off without it.

use actix_web::{HttpResponse, get, web};
use diesel::sql_types::Text;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

use crate::context::AppContext;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// State of one dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct DependencyStatus {
    /// Whether it answered.
    pub ok: bool,
    /// Version or error text.
    pub detail: String,
}

/// Readiness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessResponse {
    /// `ready` or `not_ready`.
    pub status: String,
    /// PostgreSQL.
    pub postgres: DependencyStatus,
    /// The pgvector extension.
    pub pgvector: DependencyStatus,
    /// Redis.
    pub redis: DependencyStatus,
    /// The model server (not required for readiness).
    pub ollama: DependencyStatus,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The process is running.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, description = "alive")))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The process can serve: PostgreSQL, pgvector and Redis answer.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses(
    (status = 200, body = ReadinessResponse), (status = 503, body = ReadinessResponse)))]
#[get("/health/ready")]
pub async fn ready(ctx: web::Data<AppContext>) -> HttpResponse {
    let report = readiness(&ctx).await;
    if report.status == "ready" {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

/// Checks every dependency once; shared by `/health/ready` and `switchboard check`.
pub async fn readiness(ctx: &AppContext) -> ReadinessResponse {
    let (postgres, pgvector) = check_postgres(ctx).await;
    let redis = check_redis(ctx).await;
    let ollama = check_ollama(&ctx.config().llm.base_url).await;
    let is_ready = postgres.ok && pgvector.ok && redis.ok;
    ReadinessResponse {
        status: if is_ready { "ready" } else { "not_ready" }.into(),
        postgres,
        pgvector,
        redis,
        ollama,
    }
}

fn failed(detail: impl ToString) -> DependencyStatus {
    DependencyStatus {
        ok: false,
        detail: detail.to_string(),
    }
}

async fn check_postgres(ctx: &AppContext) -> (DependencyStatus, DependencyStatus) {
    let work = async {
        let mut conn = ctx.db().get().await.map_err(|e| e.to_string())?;
        let server: Version = sql_query("SELECT current_setting('server_version') AS version")
            .get_result(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let vector: Option<Version> =
            sql_query("SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'")
                .get_result(&mut conn)
                .await
                .ok();
        Ok::<_, String>((server.version, vector.map(|v| v.version)))
    };
    match tokio::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(Ok((server, Some(vector)))) => (
            DependencyStatus {
                ok: true,
                detail: server,
            },
            DependencyStatus {
                ok: true,
                detail: vector,
            },
        ),
        Ok(Ok((server, None))) => (
            DependencyStatus {
                ok: true,
                detail: server,
            },
            failed(
                "the vector extension is not installed; run `switchboard migrate` on a PostgreSQL with pgvector",
            ),
        ),
        Ok(Err(e)) => (failed(&e), failed("PostgreSQL unreachable")),
        Err(_) => (failed("timed out"), failed("PostgreSQL unreachable")),
    }
}

async fn check_redis(ctx: &AppContext) -> DependencyStatus {
    let mut redis = ctx.redis();
    let ping = redis::cmd("PING");
    match tokio::time::timeout(CHECK_TIMEOUT, ping.query_async::<String>(&mut redis)).await {
        Ok(Ok(pong)) => DependencyStatus {
            ok: true,
            detail: pong,
        },
        Ok(Err(e)) => failed(e),
        Err(_) => failed("timed out"),
    }
}

/// Asks Ollama for its version (`GET /api/version`).
pub async fn check_ollama(base_url: &str) -> DependencyStatus {
    let url = format!("{}/api/version", base_url.trim_end_matches('/'));
    let client = reqwest::Client::new();
    match client.get(&url).timeout(CHECK_TIMEOUT).send().await {
        Ok(res) if res.status().is_success() => {
            let version = res
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "unknown version".into());
            DependencyStatus {
                ok: true,
                detail: version,
            }
        }
        Ok(res) => failed(format!("answered HTTP {}", res.status())),
        Err(e) => failed(format!("unreachable at {base_url}: {e}")),
    }
}

/// Prometheus metrics, with pool gauges refreshed at scrape time.
#[get("/metrics")]
pub async fn prometheus_metrics(ctx: web::Data<AppContext>) -> HttpResponse {
    let status = ctx.db().status();
    metrics::gauge!("db_pool_connections").set(status.size as f64);
    metrics::gauge!("db_pool_available").set(status.available as f64);
    metrics::gauge!("db_pool_waiting").set(status.waiting as f64);
    metrics::gauge!("db_pool_max_size").set(status.max_size as f64);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(ctx.metrics().render())
}
