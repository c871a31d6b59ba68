//! `switchboard check`: validates configuration and the declarative folders, and reaches every
//! dependency, printing one line per finding. Exits non-zero when something required is wrong;
//! Ollama being unreachable is a warning (agents degrade to human hand-off).

use diesel::sql_types::Text;
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::fmt;
use std::time::Duration;

use crate::api::health::check_ollama;
use crate::config::Config;
use crate::prompts::PromptRegistry;
use crate::{agents, channels};

const TIMEOUT: Duration = Duration::from_secs(3);

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fine.
    Ok,
    /// Works, but worth knowing.
    Warning,
    /// Must be fixed.
    Error,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What was checked.
    pub subject: String,
    /// What was found.
    pub message: String,
}

/// Everything `check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// In the order checked.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    fn push(&mut self, severity: Severity, subject: impl Into<String>, message: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            subject: subject.into(),
            message: message.into(),
        });
    }

    /// True when nothing is an error.
    pub fn is_ok(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }

    /// The errors, for tests and callers.
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let tag = match finding.severity {
                Severity::Ok => "ok   ",
                Severity::Warning => "warn ",
                Severity::Error => "error",
            };
            writeln!(f, "{tag} {}: {}", finding.subject, finding.message)?;
        }
        let errors = self.errors().count();
        writeln!(
            f,
            "{}",
            if errors == 0 {
                "check passed".to_owned()
            } else {
                format!("check failed: {errors} error(s)")
            }
        )
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// Runs every check.
pub async fn run(config: &Config) -> CheckReport {
    let mut report = CheckReport::default();
    match config.require_runtime() {
        Ok(()) => report.push(
            Severity::Ok,
            "config",
            "DATABASE_URL, REDIS_URL and SWITCHBOARD_JWT_SECRET are set",
        ),
        Err(e) => report.push(Severity::Error, "config", e.to_string()),
    }
    check_files(config, &mut report);
    check_postgres(config, &mut report).await;
    check_redis(config, &mut report).await;
    let ollama = check_ollama(&config.llm.base_url).await;
    report.push(
        if ollama.ok {
            Severity::Ok
        } else {
            Severity::Warning
        },
        "ollama",
        if ollama.ok {
            format!("version {}", ollama.detail)
        } else {
            format!(
                "{} (agents will hand off to humans until it answers; set SWITCHBOARD_OLLAMA_URL)",
                ollama.detail
            )
        },
    );
    report
}

fn check_files(config: &Config, report: &mut CheckReport) {
    let (prompts, problems) = PromptRegistry::load_lenient(&config.paths.prompts_dir);
    for p in &problems {
        report.push(Severity::Error, "prompts", p.to_string());
    }
    if problems.is_empty() {
        let names = prompts.names();
        report.push(
            Severity::Ok,
            "prompts",
            format!("{} template(s): {}", names.len(), names.join(", ")),
        );
    }
    let (loaded, problems) = agents::load_dir(&config.paths.agents_dir, Some(&prompts));
    for p in &problems {
        report.push(Severity::Error, "agents", p.to_string());
    }
    if problems.is_empty() {
        let names: Vec<_> = loaded.iter().map(|a| a.definition.name.as_str()).collect();
        report.push(
            Severity::Ok,
            "agents",
            format!("{} agent(s): {}", names.len(), names.join(", ")),
        );
    }
    let (loaded, problems) = channels::load_dir(&config.paths.channels_dir);
    for p in &problems {
        report.push(Severity::Error, "channels", p.to_string());
    }
    for channel in &loaded {
        let missing = channels::settings::missing_secret_env(&channel.definition);
        if channel.definition.active && !missing.is_empty() {
            report.push(
                Severity::Error,
                "channels",
                format!(
                    "{}: environment variable(s) not set: {}",
                    channel.path.display(),
                    missing.join(", ")
                ),
            );
        }
    }
    for channel in &loaded {
        let (errors, warnings) = channels::email_rules::check_environment(channel);
        for p in errors {
            report.push(Severity::Error, "channels", p.to_string());
        }
        for p in warnings {
            report.push(Severity::Warning, "channels", p.to_string());
        }
    }
    if problems.is_empty() {
        report.push(
            Severity::Ok,
            "channels",
            format!("{} channel(s)", loaded.len()),
        );
    }
}

async fn check_postgres(config: &Config, report: &mut CheckReport) {
    let url = config.database.url.expose();
    if url.is_empty() {
        report.push(
            Severity::Error,
            "postgres",
            "not checked: DATABASE_URL is not set",
        );
        return;
    }
    let mut conn = match tokio::time::timeout(TIMEOUT, AsyncPgConnection::establish(url)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            report.push(
                Severity::Error,
                "postgres",
                format!("cannot connect with DATABASE_URL: {e}"),
            );
            return;
        }
        Err(_) => {
            report.push(
                Severity::Error,
                "postgres",
                "DATABASE_URL did not answer within 3s",
            );
            return;
        }
    };
    match sql_query("SELECT current_setting('server_version') AS version")
        .get_result::<Version>(&mut conn)
        .await
    {
        Ok(v) => report.push(Severity::Ok, "postgres", format!("server {}", v.version)),
        Err(e) => report.push(Severity::Error, "postgres", e.to_string()),
    }
    let installed =
        sql_query("SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'")
            .get_result::<Version>(&mut conn)
            .await;
    let available = sql_query(
        "SELECT default_version AS version FROM pg_available_extensions WHERE name = 'vector'",
    )
    .get_result::<Version>(&mut conn)
    .await;
    match (installed, available) {
        (Ok(v), _) => report.push(Severity::Ok, "pgvector", format!("installed, version {}", v.version)),
        (Err(_), Ok(v)) => report.push(
            Severity::Error,
            "pgvector",
            format!("available (version {}) but not installed: run `switchboard migrate`", v.version),
        ),
        (Err(_), Err(_)) => report.push(
            Severity::Error,
            "pgvector",
            "the vector extension is not available on this server: set DATABASE_URL to a PostgreSQL with pgvector",
        ),
    }
}

async fn check_redis(config: &Config, report: &mut CheckReport) {
    let url = config.redis.url.expose();
    if url.is_empty() {
        report.push(
            Severity::Error,
            "redis",
            "not checked: REDIS_URL is not set",
        );
        return;
    }
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(TIMEOUT, ping).await {
        Ok(Ok(pong)) => report.push(Severity::Ok, "redis", pong),
        Ok(Err(e)) => report.push(
            Severity::Error,
            "redis",
            format!("cannot reach REDIS_URL: {e}"),
        ),
        Err(_) => report.push(
            Severity::Error,
            "redis",
            "REDIS_URL did not answer within 3s",
        ),
    }
}
