//! Keyset pagination shared by every list endpoint: rows come newest first, ordered by
//! `(created_at DESC, id DESC)`, and the cursor is the opaque position of the last row returned.
//! Keyset (not OFFSET) keeps deep pages as fast as the first and stable under concurrent inserts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Largest page a client may ask for.
pub const MAX_LIMIT: i64 = 200;
/// Page size when the client does not say.
pub const DEFAULT_LIMIT: i64 = 50;

/// `?limit=&cursor=` on every list endpoint.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// A position in a `(created_at DESC, id DESC)` ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's creation time.
    pub created_at: DateTime<Utc>,
    /// The last row's id, breaking ties.
    pub id: Uuid,
}

/// A cursor the client sent that we did not make.
#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this API returned")]
pub struct InvalidCursor;

/// A limit outside 1..=200.
#[derive(Debug, thiserror::Error)]
#[error("limit must be between 1 and {MAX_LIMIT}")]
pub struct InvalidLimit;

impl Cursor {
    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    /// Parses what `encode` produced.
    pub fn decode(raw: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let (micros, id) = text.split_once('|').ok_or(InvalidCursor)?;
        let micros: i64 = micros.parse().map_err(|_| InvalidCursor)?;
        Ok(Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or(InvalidCursor)?,
            id: id.parse().map_err(|_| InvalidCursor)?,
        })
    }
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows to return.
    pub limit: i64,
    /// Where the previous page stopped.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// Validates the query parameters.
    pub fn from_params(params: &PageParams) -> Result<Self, PageParamsError> {
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(PageParamsError::Limit(InvalidLimit));
        }
        let after = params.cursor.as_deref().map(Cursor::decode).transpose()?;
        Ok(Self { limit, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page exists.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra row off and computes the next cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, position: impl Fn(&T) -> Cursor) -> Page<T> {
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

/// Why page parameters were refused.
#[derive(Debug, thiserror::Error)]
pub enum PageParamsError {
    /// Bad `limit`.
    #[error(transparent)]
    Limit(#[from] InvalidLimit),
    /// Bad `cursor`.
    #[error(transparent)]
    Cursor(#[from] InvalidCursor),
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Converts every row (e.g. a model into its response type).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Filters a diesel query to rows after the cursor in `(created_at DESC, id DESC)` order.
#[macro_export]
macro_rules! after_cursor {
    ($query:expr, $table:ident, $page:expr) => {{
        use diesel::prelude::*;
        let mut query = $query
            .order(($table::created_at.desc(), $table::id.desc()))
            .limit($page.fetch_limit())
            .into_boxed();
        if let Some(cursor) = $page.after {
            query = query.filter(
                $table::created_at
                    .lt(cursor.created_at)
                    .or($table::created_at
                        .eq(cursor.created_at)
                        .and($table::id.lt(cursor.id))),
            );
        }
        query
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: Utc::now(),
            id: Uuid::now_v7(),
        };
        let decoded = Cursor::decode(&cursor.encode()).expect("own cursor decodes");
        assert_eq!(decoded.id, cursor.id);
        assert_eq!(
            decoded.created_at.timestamp_micros(),
            cursor.created_at.timestamp_micros()
        );
        assert!(Cursor::decode("not-a-cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12|nope")).is_err());
    }

    #[test]
    fn limit_is_bounded() {
        let params = |limit| PageParams {
            limit: Some(limit),
            cursor: None,
        };
        assert!(PageRequest::from_params(&params(0)).is_err());
        assert!(PageRequest::from_params(&params(MAX_LIMIT + 1)).is_err());
        assert_eq!(
            PageRequest::from_params(&params(10)).map(|p| p.limit).ok(),
            Some(10)
        );
    }
}
