//! `/unsubscribe/{token}`: the RFC 8058 one-click endpoint mail clients call, and the page a
//! person sees when following the link. No login or cookie: the signed token is the
//! authority. `POST` suppresses the address (idempotent, never redirects, answers 200);
//! `GET` only shows a confirmation form and never changes anything, because link scanners and
//! prefetchers follow GET links on their own.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, get, post, web};

use super::unsubscribe::{UnsubscribeSigner, UnsubscribeTarget};
use crate::api::error::ApiError;
use crate::context::AppContext;
use crate::db::models::{Suppression, SuppressionReason};

/// Registers the endpoints (outside `/api/v1`: they are public links).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show_unsubscribe).service(unsubscribe);
}

fn target(ctx: &AppContext, token: &str) -> Result<UnsubscribeTarget, ApiError> {
    UnsubscribeSigner::from_config(ctx.config())
        .verify(token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unsubscribe_link_invalid",
                "this unsubscribe link is not valid",
            )
        })
}

/// The confirmation page: shows which address would be unsubscribed and a button that POSTs.
#[get("/unsubscribe/{token}")]
pub async fn show_unsubscribe(
    ctx: web::Data<AppContext>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = target(&ctx, &token)?;
    let body = page(&format!(
        "<h1>Unsubscribe</h1>\n<p>Stop all email to <strong>{}</strong>?</p>\n\
         <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form>",
        escape(&target.address)
    ));
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}

/// One-click unsubscribe: suppresses the address for the token's organisation.
#[post("/unsubscribe/{token}")]
pub async fn unsubscribe(
    ctx: web::Data<AppContext>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = target(&ctx, &token)?;
    let mut conn = ctx.db().get().await?;
    let newly = Suppression::suppress_email(
        &mut conn,
        target.organization_id,
        &target.address,
        SuppressionReason::Unsubscribe,
    )
    .await?;
    if newly {
        tracing::info!(org.id = %target.organization_id, "email address unsubscribed");
    }
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page(&format!(
            "<h1>Unsubscribed</h1>\n<p><strong>{}</strong> will receive no more email from us.</p>",
            escape(&target.address)
        ))))
}

fn page(content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Unsubscribe</title>\
         <meta name=\"robots\" content=\"noindex\"></head><body>\n{content}\n</body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
