//! The admin REST API (`/api/v1`), health and metrics. One route table below; one folder per
//! resource, one file per action. Handlers are thin: extract, check scope, call a model
//! function inside a transaction with its audit entry, answer typed JSON.

pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod audit_logs;
pub mod auth;
pub mod campaigns;
pub mod channels;
pub mod chats;
pub mod companies;
pub mod contacts;
pub mod deals;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod members;
pub mod memories;
pub mod openapi;
pub mod pipelines;
pub mod pitches;
pub mod request_id;
pub mod templates;
pub mod tool_approvals;
pub mod webhooks;

use actix_web::middleware::from_fn;
use actix_web::web;

/// Mounts every route; the app (and the test harness) call this once.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(health::prometheus_metrics)
        .service(openapi::openapi_json)
        .service(crate::channels::websocket::open_inbox)
        .service(crate::channels::telegram::webhook::receive_update)
        .configure(crate::inbox_page::routes)
        .configure(crate::channels::email::inbound::routes)
        .configure(crate::channels::email::unsubscribe_http::routes);
    openapi::configure_docs(cfg);
    cfg.service(
        web::scope("/api/v1")
            .app_data(extract::json_config(extract::JSON_LIMIT_BYTES))
            .wrap(from_fn(idempotency::idempotency))
            .service(auth::log_in)
            .service(auth::refresh_session)
            .service(auth::log_out)
            .service(auth::get_me)
            .service(crate::channels::websocket::create_ticket)
            .service(auth::update_me)
            .configure(members::routes)
            .configure(api_keys::routes)
            .configure(audit_logs::routes)
            .configure(contacts::routes)
            .configure(memories::routes)
            .configure(companies::routes)
            .configure(pipelines::routes)
            .configure(deals::routes)
            .configure(channels::routes)
            .configure(chats::routes)
            .configure(agents::routes)
            .configure(templates::routes)
            .configure(campaigns::routes)
            .configure(webhooks::routes)
            .configure(tool_approvals::routes)
            .configure(pitches::routes),
    );
}
