//! `/api/v1/auth`: logging in, refreshing and logging out; `/api/v1/me`.

mod login;
mod logout;
mod me;
mod refresh;
mod session;
mod update_me;

pub use login::*;
pub use logout::*;
pub use me::*;
pub use refresh::*;
pub use update_me::*;
pub use session::SessionResponse;
