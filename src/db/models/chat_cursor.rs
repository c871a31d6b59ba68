//! The keyset cursor of the chat list, which is ordered by recent activity
//! (`last_message_at DESC NULLS LAST, id DESC`) rather than by creation like other lists.
//! `last_message_at` is null for a chat without messages, so the cursor carries that too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::pagination::{InvalidCursor, Page, PageParams, PageParamsError, PageRequest};

/// A position in the `(last_message_at DESC NULLS LAST, id DESC)` ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentCursor {
    /// The last row's activity time; `None` once the page reached chats without messages.
    pub last_message_at: Option<DateTime<Utc>>,
    /// The last row's id, breaking ties.
    pub id: Uuid,
}

const NO_ACTIVITY: &str = "none";

impl RecentCursor {
    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        let at = self
            .last_message_at
            .map(|at| at.timestamp_micros().to_string())
            .unwrap_or_else(|| NO_ACTIVITY.to_owned());
        URL_SAFE_NO_PAD.encode(format!("{at}|{}", self.id))
    }

    /// Parses what `encode` produced.
    pub fn decode(raw: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let (at, id) = text.split_once('|').ok_or(InvalidCursor)?;
        let last_message_at = if at == NO_ACTIVITY {
            None
        } else {
            let micros: i64 = at.parse().map_err(|_| InvalidCursor)?;
            Some(DateTime::from_timestamp_micros(micros).ok_or(InvalidCursor)?)
        };
        Ok(Self {
            last_message_at,
            id: id.parse().map_err(|_| InvalidCursor)?,
        })
    }
}

/// A validated page request of the chat list.
#[derive(Debug, Clone, Copy)]
pub struct RecentPageRequest {
    /// Rows to return.
    pub limit: i64,
    /// Where the previous page stopped.
    pub after: Option<RecentCursor>,
}

impl RecentPageRequest {
    /// Validates `?limit=&cursor=` (same limits as every list).
    pub fn from_params(params: &PageParams) -> Result<Self, PageParamsError> {
        let limit = PageRequest::from_params(&PageParams {
            limit: params.limit,
            cursor: None,
        })?
        .limit;
        let after = params
            .cursor
            .as_deref()
            .map(RecentCursor::decode)
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra row off and computes the next cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, position: impl Fn(&T) -> RecentCursor) -> Page<T> {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(|row| position(row).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_with_and_without_activity() {
        for at in [Some(Utc::now()), None] {
            let cursor = RecentCursor {
                last_message_at: at,
                id: Uuid::now_v7(),
            };
            let decoded = RecentCursor::decode(&cursor.encode()).expect("own cursor decodes");
            assert_eq!(decoded.id, cursor.id);
            assert_eq!(
                decoded.last_message_at.map(|t| t.timestamp_micros()),
                at.map(|t| t.timestamp_micros())
            );
        }
        assert!(RecentCursor::decode("garbage").is_err());
        assert!(RecentCursor::decode(&URL_SAFE_NO_PAD.encode("soon|nope")).is_err());
    }
}
