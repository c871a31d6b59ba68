//! The admin REST API (`/api/v1`), health and metrics. One route table below; one folder per
//! resource, one file per action. Handlers are thin: extract, check scope, call a model
//! function inside a transaction with its audit entry, answer typed JSON.

pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod request_id;

use actix_web::web;

/// Mounts every route; the app (and the test harness) call this once.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(health::prometheus_metrics)
        .service(openapi::openapi_json);
    openapi::configure_docs(cfg);
    cfg.service(
        web::scope("/api/v1")
            .app_data(extract::json_config(extract::JSON_LIMIT_BYTES))
            .service(auth::log_in)
            .service(auth::refresh_session)
            .service(auth::log_out)
            .service(auth::get_me),
    );
}
