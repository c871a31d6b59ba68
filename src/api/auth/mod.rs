//! `/api/v1/auth`: logging in, refreshing and logging out; `/api/v1/me`.

mod account;
mod login;
mod logout;
mod me;
mod refresh;
mod session;

pub use account::*;
pub use login::*;
pub use logout::*;
pub use me::*;
pub use refresh::*;
pub use session::SessionResponse;
