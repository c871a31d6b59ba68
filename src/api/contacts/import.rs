//! `POST /api/v1/contacts/import`: a CSV file (header row first) creates or updates contacts by
//! email. Each row succeeds or fails on its own (a savepoint per row) and the answer lists every
//! failed row with its line and field, so a person can fix the file and upload it again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use validator::Validate;

use super::form::{CreateContact, normalise_tags};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Contact, ContactUpdateForm};
use crate::domain::{OrganizationId, Scope};

/// Largest CSV accepted.
pub const IMPORT_LIMIT_BYTES: usize = 10 * 1024 * 1024;
/// Most rows in one file.
pub const MAX_IMPORT_ROWS: usize = 50_000;
const COLUMNS: &[&str] = &[
    "name",
    "email",
    "phone",
    "title",
    "tags",
    "timezone",
    "telegram_username",
    "source",
];

/// Outcome of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// New contacts.
    pub created: usize,
    /// Existing contacts (same email) updated.
    pub updated: usize,
    /// Rows refused.
    pub failed: usize,
    /// Why each refused row was refused.
    pub errors: Vec<ImportRowError>,
}

/// One refused row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The offending column, when one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Imports contacts from CSV (`Content-Type: text/csv`). Columns: name, email, phone, title,
/// tags (separated by `;`), timezone, telegram_username, source; unknown columns are refused.
#[utoipa::path(post, path = "/api/v1/contacts/import", tag = "contacts", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, body = ErrorResponse),
              (status = 413, body = ErrorResponse), (status = 415, body = ErrorResponse)))]
pub async fn import_contacts(
    ctx: web::Data<AppContext>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as text/csv",
        ));
    }
    let rows = parse(&body)?;
    let mut conn = ctx.db().get().await?;
    let org = caller.organization_id;
    let report = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let mut report = ImportReport { created: 0, updated: 0, failed: 0, errors: Vec::new() };
            for (line, row) in rows {
                let outcome = conn
                    .transaction::<_, RowFailure, _>(async |conn| import_row(conn, org, row).await)
                    .await;
                match outcome {
                    Ok(true) => report.created += 1,
                    Ok(false) => report.updated += 1,
                    Err(RowFailure::Invalid { field, message }) => {
                        report.failed += 1;
                        report.errors.push(ImportRowError { line, field, message });
                    }
                    Err(RowFailure::Database(e)) => return Err(e.into()),
                }
            }
            let summary = serde_json::json!({ "created": report.created, "updated": report.updated, "failed": report.failed });
            audit::acted(conn, &caller, "import", "contact", org, None, Some(summary)).await?;
            Ok(report)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

type Row = (u64, CreateContact);

fn parse(body: &[u8]) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| {
            ApiError::bad_request("invalid_csv", format!("cannot read the header row: {e}"))
        })?
        .iter()
        .map(|h| h.to_lowercase())
        .collect::<Vec<_>>();
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(ApiError::bad_request(
            "invalid_csv",
            format!("unknown column {unknown:?}; known: {}", COLUMNS.join(", ")),
        )
        .with_details(serde_json::json!({ "line": 1, "column": unknown })));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or_default();
            ApiError::bad_request("invalid_csv", format!("line {line}: {e}"))
                .with_details(serde_json::json!({ "line": line }))
        })?;
        if rows.len() >= MAX_IMPORT_ROWS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_rows",
                format!("at most {MAX_IMPORT_ROWS} rows per file"),
            ));
        }
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        let mut form = CreateContact {
            source: Some("import".into()),
            ..Default::default()
        };
        for (header, value) in headers.iter().zip(record.iter()) {
            let value = (!value.is_empty()).then(|| value.to_owned());
            match header.as_str() {
                "name" => form.name = value.unwrap_or_default(),
                "email" => form.email = value,
                "phone" => form.phone = value,
                "title" => form.title = value,
                "tags" => {
                    form.tags = value
                        .map(|v| {
                            v.split(';')
                                .map(str::to_owned)
                                .filter(|t| !t.trim().is_empty())
                                .collect()
                        })
                        .unwrap_or_default()
                }
                "timezone" => form.timezone = value,
                "telegram_username" => form.telegram_username = value,
                "source" => form.source = value.or(form.source.take()),
                _ => {}
            }
        }
        rows.push((line, form));
    }
    Ok(rows)
}

enum RowFailure {
    Invalid {
        field: Option<String>,
        message: String,
    },
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for RowFailure {
    fn from(e: diesel::result::Error) -> Self {
        RowFailure::Database(e)
    }
}

/// Creates (true) or updates by email (false) one contact.
async fn import_row(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    row: CreateContact,
) -> Result<bool, RowFailure> {
    if let Err(errors) = row.validate() {
        let (field, message) = errors
            .field_errors()
            .into_iter()
            .next()
            .map(|(f, e)| {
                (
                    Some(f.to_string()),
                    e.first()
                        .and_then(|e| e.message.clone())
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| "is invalid".into()),
                )
            })
            .or_else(|| {
                errors.errors().keys().next().map(|_| {
                    (
                        None,
                        "a contact needs a name, email, phone or Telegram id".to_owned(),
                    )
                })
            })
            .unwrap_or((None, "is invalid".into()));
        return Err(RowFailure::Invalid { field, message });
    }
    if let Some(email) = row.email.clone() {
        match Contact::find_by_email(conn, org, &email).await {
            Ok(existing) => {
                let form = ContactUpdateForm {
                    name: (!row.name.is_empty()).then(|| row.name.clone()),
                    phone: row.phone.clone().map(Some),
                    title: row.title.clone().map(Some),
                    tags: (!row.tags.is_empty()).then(|| {
                        normalise_tags(
                            existing
                                .tags
                                .iter()
                                .cloned()
                                .chain(row.tags.clone())
                                .collect(),
                        )
                    }),
                    timezone: row.timezone.clone().map(Some),
                    telegram_username: row.telegram_username.clone().map(Some),
                    ..Default::default()
                };
                crate::db::or_unchanged(
                    Contact::update(conn, org, existing.id, &form).await,
                    &existing,
                )?;
                return Ok(false);
            }
            Err(diesel::result::Error::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Contact::create(conn, &row.into_form(org)).await?;
    Ok(true)
}
