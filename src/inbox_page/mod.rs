//! The web inbox page (`GET /inbox`), where human operators work their conversations. The page
//! is plain HTML, CSS and JavaScript modules embedded in the binary at compile time (no CDN, no
//! build step); it talks to the REST API under `/api/v1` and to the inbox WebSocket
//! (`/ws/inbox`, see docs/inbox-protocol.md). Every answer carries a strict
//! Content-Security-Policy: the page loads nothing but its own files.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::api::error::ApiError;

/// Only our own files; WebSocket connections to us; no framing, no plugins, no inline script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ws: wss:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Browsers revalidate every file (cheaply, by `ETag`), so a new binary's page is never mixed
/// with an old one's scripts.
pub const CACHE_CONTROL: &str = "no-cache";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: &'static str,
}

/// FNV-1a, evaluated at compile time: a stable validator for an embedded file.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `"<16 hex digits>"`, the quoted form an `ETag` header takes.
const fn etag_bytes(bytes: &[u8]) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = fnv1a(bytes);
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {{
        const BODY: &[u8] = include_bytes!(concat!("assets/", $name));
        const TAG: [u8; 18] = etag_bytes(BODY);
        Asset {
            name: $name,
            content_type: $content_type,
            body: BODY,
            etag: match std::str::from_utf8(&TAG) {
                Ok(tag) => tag,
                Err(_) => panic!("an etag is ASCII"),
            },
        }
    }};
}

const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

const ASSETS: &[Asset] = &[
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("conversation.js", "text/javascript; charset=utf-8"),
    asset!("socket.js", "text/javascript; charset=utf-8"),
    asset!("store.js", "text/javascript; charset=utf-8"),
    asset!("views.js", "text/javascript; charset=utf-8"),
    asset!("dom.js", "text/javascript; charset=utf-8"),
    asset!("agentops.js", "text/javascript; charset=utf-8"),
    asset!("inbox.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// Routes of the page; mounted outside `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(inbox_page).service(inbox_asset);
}

/// The inbox page itself.
#[get("/inbox")]
pub async fn inbox_page(req: HttpRequest) -> HttpResponse {
    serve(&req, &INDEX)
}

/// A script, stylesheet or icon of the page.
#[get("/inbox/assets/{file}")]
pub async fn inbox_asset(
    req: HttpRequest,
    file: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == file.as_str())
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "no such file"))?;
    Ok(serve(&req, asset))
}

fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::ETAG, asset.etag))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    if fresh {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_hex_and_differ_per_file() {
        assert_eq!(INDEX.etag.len(), 18);
        assert!(INDEX.etag.starts_with('"') && INDEX.etag.ends_with('"'));
        let mut tags: Vec<&str> = ASSETS.iter().map(|a| a.etag).collect();
        tags.push(INDEX.etag);
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len() + 1);
    }

    #[test]
    fn the_page_only_loads_embedded_files() {
        let html = std::str::from_utf8(INDEX.body).unwrap_or_default();
        for src in html
            .split("src=\"")
            .skip(1)
            .chain(html.split("href=\"").skip(1))
        {
            let url = src.split('"').next().unwrap_or_default();
            let name = url.strip_prefix("/inbox/assets/").unwrap_or(url);
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "index.html refers to {url}, which is not embedded"
            );
        }
    }
}
