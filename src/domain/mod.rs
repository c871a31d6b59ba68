//! The vocabulary every layer shares: typed ids and the closed sets of states a row can be in.
//! Sits below everything else in the flow; depends on nothing of ours.

pub mod enums;
pub mod ids;
pub mod inbound;

pub use enums::*;
pub use ids::*;
pub use inbound::*;
