//! Pipeline and stage request bodies and their checks.

use serde::Deserialize;
use std::borrow::Cow;
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::domain::StageOutcome;

/// Most stages one pipeline may have.
pub const MAX_STAGES: usize = 50;

/// `POST /pipelines`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePipeline {
    /// Name, unique in the organisation.
    #[validate(custom(function = "valid_name"))]
    pub name: String,
    /// Make this the default pipeline (the previous default stops being one). When absent, the
    /// pipeline becomes the default only if the organisation has none.
    pub is_default: Option<bool>,
    /// Initial stages, in order (positions 0, 1, 2, ...).
    #[serde(default)]
    pub stages: Vec<StageSpec>,
}

/// One initial stage in `CreatePipeline`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Name.
    #[validate(custom(function = "valid_name"))]
    pub name: String,
    /// Chance (percent) that a deal here is won; default 0.
    #[validate(range(min = 0, max = 100, message = "must be between 0 and 100"))]
    pub probability: Option<i32>,
    /// `open` (default), `won` or `lost`.
    pub outcome: Option<StageOutcome>,
}

/// `PATCH /pipelines/{id}`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePipeline {
    /// Name.
    #[validate(custom(function = "valid_name"))]
    pub name: Option<String>,
    /// `true` makes this the default (the previous default stops being one); `false` leaves the
    /// organisation without a default.
    pub is_default: Option<bool>,
}

/// `POST /pipelines/{id}/stages`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStage {
    /// Name.
    #[validate(custom(function = "valid_name"))]
    pub name: String,
    /// Chance (percent) that a deal here is won; default 0.
    #[validate(range(min = 0, max = 100, message = "must be between 0 and 100"))]
    pub probability: Option<i32>,
    /// `open` (default), `won` or `lost`.
    pub outcome: Option<StageOutcome>,
    /// Where to insert it (0 is first); later stages move down one. Absent or past the end
    /// appends.
    #[validate(range(min = 0, message = "must be 0 or more"))]
    pub position: Option<i32>,
}

/// `PATCH /pipelines/{id}/stages/{stage_id}`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStage {
    /// Name.
    #[validate(custom(function = "valid_name"))]
    pub name: Option<String>,
    /// Chance (percent) that a deal here is won.
    #[validate(range(min = 0, max = 100, message = "must be between 0 and 100"))]
    pub probability: Option<i32>,
    /// `open`, `won` or `lost`.
    pub outcome: Option<StageOutcome>,
    /// Move the stage here (0 is first; past the end means last); the others close up.
    #[validate(range(min = 0, message = "must be 0 or more"))]
    pub position: Option<i32>,
}

impl CreatePipeline {
    /// Checks the pipeline and each initial stage; a stage's problems are reported under
    /// `stages[i].field`.
    pub fn validate_all(&self) -> Result<(), ValidationErrors> {
        let mut errors = self.validate().err().unwrap_or_default();
        if self.stages.len() > MAX_STAGES {
            errors.add(
                "stages",
                ValidationError::new("length").with_message("at most 50 stages".into()),
            );
        }
        for (i, stage) in self.stages.iter().enumerate() {
            if let Err(stage_errors) = stage.validate() {
                for (field, problems) in stage_errors.field_errors() {
                    errors.errors_mut().insert(
                        Cow::Owned(format!("stages[{i}].{field}")),
                        ValidationErrorsKind::Field(problems.clone()),
                    );
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn valid_name(name: &str) -> Result<(), ValidationError> {
    let len = name.trim().chars().count();
    if (1..=200).contains(&len) {
        Ok(())
    } else {
        Err(ValidationError::new("length").with_message("must be 1 to 200 characters".into()))
    }
}
