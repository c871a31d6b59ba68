//! `switchboard check`: validates the declarative folders with file:line errors and reports
//! every dependency, failing when a required one is missing.

use std::path::Path;
use std::process::Command;

use crate::support::{database_url, redis_url};

pub(crate) fn check(env: &[(&str, &str)], cwd: &Path) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .arg("check")
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    command.env(
        "SWITCHBOARD_JWT_SECRET",
        "a-test-secret-that-is-at-least-32-bytes-long",
    );
    command.env("SWITCHBOARD_OLLAMA_URL", "http://127.0.0.1:9");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("switchboard runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[actix_web::test]
async fn shipped_configuration_passes() {
    crate::support::migrated().await;
    let (ok, out) = check(
        &[
            ("DATABASE_URL", &database_url()),
            ("REDIS_URL", &redis_url()),
        ],
        repo(),
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("ok    agents: 3 agent(s): bizdev, followup, sdr"),
        "{out}"
    );
    assert!(out.contains("ok    pgvector: installed"), "{out}");
    assert!(
        out.contains("warn  ollama"),
        "an absent model server is a warning: {out}"
    );
}

#[test]
fn a_missing_dependency_fails_and_says_what_to_set() {
    let (ok, out) = check(
        &[
            ("DATABASE_URL", &database_url()),
            ("REDIS_URL", "redis://127.0.0.1:9/"),
        ],
        repo(),
    );
    assert!(!ok, "{out}");
    assert!(out.contains("error redis: cannot reach REDIS_URL"), "{out}");
    let (ok, out) = check(&[("REDIS_URL", &redis_url())], repo());
    assert!(!ok);
    assert!(out.contains("DATABASE_URL is not set"), "{out}");
}

#[test]
fn broken_files_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["agents", "channels", "prompts"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(dir.path().join("prompts/ok.hbs"), "Hello {{contact.name}}").expect("write");
    std::fs::write(
        dir.path().join("prompts/broken.hbs"),
        "line one\n{{#if x}}\nnever closed\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("agents/wild.toml"),
        "kind = \"sdr\"\nmodel = \"m\"\nprompt = \"nope\"\ntemperature = 7.5\ntools = [\"launch_missiles\"]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("agents/typo.toml"),
        "kind = \"sdr\"\nmodle = \"m\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("channels/leaky.toml"),
        "kind = \"telegram\"\n[settings]\nbot_token = \"123:SECRET\"\n",
    )
    .expect("write");
    let (ok, out) = check(
        &[
            ("DATABASE_URL", &database_url()),
            ("REDIS_URL", &redis_url()),
        ],
        dir.path(),
    );
    assert!(!ok, "{out}");
    assert!(out.contains("prompts/broken.hbs:"), "{out}");
    assert!(
        out.contains("agents/wild.toml:3: prompt \"nope\" is not in prompts/"),
        "{out}"
    );
    assert!(
        out.contains("agents/wild.toml:4: temperature must be between 0 and 2"),
        "{out}"
    );
    assert!(
        out.contains("agents/wild.toml:5: unknown tool \"launch_missiles\""),
        "{out}"
    );
    assert!(
        out.contains("agents/typo.toml:2: unknown field `modle`"),
        "{out}"
    );
    assert!(
        out.contains("channels/leaky.toml:3: settings.bot_token: looks like a secret"),
        "{out}"
    );
    assert!(
        !out.contains("123:SECRET"),
        "a secret is never echoed: {out}"
    );
}
