//! Keeping refused inbound mail aside (malformed, oversized) so an operator can look at what
//! was refused: `<rejected_dir>/<time>-<uuid>.eml` (capped to the size limit) plus a `.json`
//! with the reason and channel. Failing to keep it is logged, never fatal.

use std::path::Path;

use crate::domain::ChannelId;

/// Writes the refused bytes and why.
pub async fn keep_aside(dir: &Path, channel: ChannelId, reason: &str, body: &[u8]) {
    let stem = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S"),
        uuid::Uuid::now_v7().simple()
    );
    let meta = serde_json::json!({ "channel_id": channel, "reason": reason, "bytes": body.len() });
    let result = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(dir.join(format!("{stem}.eml")), body).await?;
        tokio::fs::write(dir.join(format!("{stem}.json")), meta.to_string()).await
    }
    .await;
    match result {
        Ok(()) => {
            tracing::warn!(channel.id = %channel, reason, file = %stem, "inbound email refused and kept aside")
        }
        Err(e) => {
            tracing::error!(channel.id = %channel, reason, error = %e, "inbound email refused; keeping it aside failed")
        }
    }
}
