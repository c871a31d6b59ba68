//! Authenticating an inbound email request: the HMAC-SHA256 signature over
//! `"{timestamp}.{body}"` (compared in constant time) and one-time use of each signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::api::error::ApiError;
use crate::context::AppContext;

/// Whether `header` (`sha256=<hex>`, or bare hex) is the signature of `body` at `timestamp`.
pub fn signature_matches(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let hex_sig = header.strip_prefix("sha256=").unwrap_or(header);
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Records the signature in Redis (`SET NX`, kept past the timestamp window); false when it
/// was seen before, so a captured request cannot be replayed.
pub async fn first_use(
    ctx: &AppContext,
    signature: &str,
    window_secs: i64,
) -> Result<bool, ApiError> {
    let mut redis = ctx.redis();
    let set: Option<String> = redis::cmd("SET")
        .arg(ctx.redis_key(&format!("email:inbound:sig:{signature}")))
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(window_secs.max(1) * 2 + 60)
        .query_async(&mut redis)
        .await?;
    Ok(set.is_some())
}
