//! Entry point: parse the command line, set up logging, load configuration, dispatch.

use clap::Parser;
use std::process::ExitCode;

use switchboard::cli::{Cli, Command};
use switchboard::config::Config;
use switchboard::context::AppContext;
use switchboard::{app, check, db, seed, telemetry};

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init_tracing();
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let config = Config::load()?;
    match command {
        Command::Serve => {
            let ctx = AppContext::connect(config).await?;
            app::serve(ctx).await?;
        }
        Command::Migrate { revert_all } => {
            config.require_runtime()?;
            let url = config.database.url.expose();
            let versions = if revert_all {
                db::migrate::revert_all(url).await?
            } else {
                db::migrate::run_pending(url).await?
            };
            let verb = if revert_all { "reverted" } else { "applied" };
            if versions.is_empty() {
                println!("migrations: nothing to do");
            }
            for version in versions {
                println!("migrations: {verb} {version}");
            }
        }
        Command::SeedDemo => {
            let ctx = AppContext::connect(config).await?;
            let demo = seed::seed_demo(&ctx).await?;
            println!("{demo}");
        }
        Command::Check => {
            let report = check::run(&config).await;
            print!("{report}");
            if !report.is_ok() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
