//! Parts of the idle-connection benchmark (`benches/idle_connections.rs`): the server nodes it
//! starts, the OS limits it raises, the WebSocket clients it holds, and the multi-node mode in
//! which the load generator itself is split into child processes.

pub mod client;
pub mod cluster;
pub mod control;
pub mod limits;
pub mod proc_status;
pub mod server;
pub mod ws;
