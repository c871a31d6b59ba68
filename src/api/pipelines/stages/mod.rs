//! `/api/v1/pipelines/{id}/stages`: adding, changing, moving and removing a pipeline's stages.
//! Each edit locks the pipeline row first, so concurrent edits of one pipeline queue up and
//! positions stay 0, 1, 2, ... without gaps or repeats.

mod create;
mod delete;
mod update;

pub use create::*;
pub use delete::*;
pub use update::*;
