//! The command line: one binary, a subcommand per job. `main.rs` parses and dispatches here.

use clap::{Parser, Subcommand};

/// Switchboard: AI-assisted sales conversations, self-hosted.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, the inbox and the actors.
    Serve,
    /// Apply pending database migrations.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Create (or refresh) the demo workspace and print its login and a new API key.
    SeedDemo,
    /// Validate configuration, agents/, channels/, prompts/ and reach every dependency.
    Check,
}
