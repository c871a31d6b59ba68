//! One file per table: the row type, its insert/update forms, and its queries as associated
//! functions. Every query on a tenant-owned table takes the `OrganizationId` it is scoped to.

pub mod api_key;
pub mod audit_log;
pub mod contact;
pub mod idempotency_key;
pub mod member;
pub mod organization;
pub mod refresh_token;
pub mod user;

pub use api_key::*;
pub use audit_log::*;
pub use contact::*;
pub use idempotency_key::*;
pub use member::*;
pub use organization::*;
pub use refresh_token::*;
pub use user::*;
