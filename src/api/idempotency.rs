//! `Idempotency-Key` on POST: the first request with a key runs and its answer is stored; a retry
//! with the same key and body gets that answer again (`Idempotent-Replayed: true`); the same key
//! with a different request is 422 `idempotency_key_reused`; a retry while the first is still
//! running is 409 `idempotency_key_in_progress`. Server errors release the key so a retry runs.

use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{IdempotencyKey, IdempotencyKeyInsertForm};

/// The request header.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set on a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Largest body this middleware buffers; routes enforce their own smaller limits.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Middleware for the `/api/v1` scope.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = match req.headers().get(IDEMPOTENCY_KEY_HEADER) {
        Some(value) if req.method() == Method::POST && !req.path().starts_with("/api/v1/auth/") => {
            value
        }
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    let key = match key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
    {
        Some(key) => key.to_owned(),
        None => {
            let error = ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            );
            return Ok(req.into_response(error.error_response()));
        }
    };
    let caller = {
        let (http_req, _) = req.parts_mut();
        match Caller::from_request(http_req, &mut Payload::None).await {
            Ok(caller) => caller,
            Err(error) => return Ok(req.into_response(error.error_response())),
        }
    };
    let Some(ctx) = req.app_data::<web::Data<AppContext>>().cloned() else {
        return Ok(req.into_response(ApiError::internal("AppContext missing").error_response()));
    };

    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(error) => return Ok(req.into_response(error.error_response())),
    };
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(&body);
    let request_hash = hasher.finalize().to_vec();
    let org = caller.organization_id;

    let claimed = async {
        let mut conn = ctx.db().get().await?;
        let form = IdempotencyKeyInsertForm {
            organization_id: org,
            key: &key,
            method: &method,
            path: &path,
            request_hash: &request_hash,
        };
        if IdempotencyKey::claim(&mut conn, &form).await? {
            return Ok::<_, ApiError>(None);
        }
        let held = IdempotencyKey::find(&mut conn, org, &key).await?;
        if held.request_hash != request_hash {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key",
            ));
        }
        match (held.response_status, held.response_body) {
            (Some(status), Some(body)) => Ok(Some((status, body))),
            _ => Err(ApiError::conflict(
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still running; retry shortly",
            )),
        }
    }
    .await;
    match claimed {
        Err(error) => return Ok(req.into_response(error.error_response())),
        Ok(Some((status, body))) => {
            let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
            let response = HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .insert_header((REPLAYED_HEADER, "true"))
                .body(body);
            return Ok(req.into_response(response));
        }
        Ok(None) => {}
    }

    req.set_payload(bytes_payload(body));
    let result = next.call(req).await;
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            release(&ctx, org, &key).await;
            return Err(error);
        }
    };
    let (http_req, response) = response.into_parts();
    let status = response.status();
    let (head, body) = response.into_parts();
    let bytes = match to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            release(&ctx, org, &key).await;
            return Ok(ServiceResponse::new(
                http_req,
                ApiError::internal("response body unreadable").error_response(),
            ));
        }
    };
    if status.is_server_error() {
        release(&ctx, org, &key).await;
    } else if let Ok(mut conn) = ctx.db().get().await
        && let Err(e) =
            IdempotencyKey::complete(&mut conn, org, &key, status.as_u16(), &bytes).await
    {
        tracing::warn!(error = %e, "storing an idempotent answer failed");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

async fn release(ctx: &AppContext, org: crate::domain::OrganizationId, key: &str) {
    if let Ok(mut conn) = ctx.db().get().await
        && let Err(e) = IdempotencyKey::release(&mut conn, org, key).await
    {
        tracing::warn!(error = %e, "releasing an idempotency key failed");
    }
}

async fn read_body(req: &mut ServiceRequest) -> Result<web::Bytes, ApiError> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e.to_string()))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is too large",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn bytes_payload(body: web::Bytes) -> Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    Payload::from(payload)
}
