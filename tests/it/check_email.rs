//! `switchboard check` on email channel files: TLS mode, from address, DKIM as a pair with a
//! valid selector, signing domain and (when its variable is set) a usable key, secrets that are
//! variable names rather than pasted values, and a port that does not go with the TLS mode —
//! each reported at its file and line, never echoing a secret.

use std::path::Path;

use crate::check::check;
use crate::support::{database_url, redis_url};

const BASE: &str = "kind = \"email\"\nactive = false\n[settings]\nfrom_address = \"sales@example.com\"\nsmtp_host = \"smtp.example.com\"\n";

fn write(dir: &Path, name: &str, settings: &str, secrets: &str) {
    std::fs::write(
        dir.join("channels").join(name),
        format!("{BASE}{settings}[secrets]\n{secrets}"),
    )
    .expect("write");
}

fn check_dir(dir: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let (db, redis) = (database_url(), redis_url());
    let mut all = vec![("DATABASE_URL", db.as_str()), ("REDIS_URL", redis.as_str())];
    all.extend_from_slice(env);
    check(&all, dir)
}

fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["agents", "channels", "prompts"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    dir
}

#[actix_web::test]
async fn email_settings_errors_name_file_and_line() {
    crate::support::migrated().await;
    let dir = folder();
    let d = dir.path();
    write(d, "tls.toml", "smtp_tls = \"ssl\"\n", "");
    write(d, "selector.toml", "dkim_selector = \"sb2026\"\n", "");
    write(d, "key.toml", "", "dkim_private_key = \"DKIM_KEY\"\n");
    write(
        d,
        "badselector.toml",
        "dkim_selector = \"sb 2026!\"\n",
        "dkim_private_key = \"DKIM_KEY\"\n",
    );
    write(
        d,
        "domain.toml",
        "dkim_selector = \"sb\"\ndkim_domain = \"not a domain\"\n",
        "dkim_private_key = \"DKIM_KEY\"\n",
    );
    std::fs::write(
        d.join("channels/from.toml"),
        "kind = \"email\"\nactive = false\n[settings]\nsmtp_host = \"smtp.example.com\"\nfrom_address = \"sales@@example.com\"\n",
    )
    .expect("write");
    write(
        d,
        "leak.toml",
        "",
        "smtp_password = \"AKIA4EXAMPLE7KEY12345\"\n",
    );
    let (ok, out) = check_dir(d, &[]);
    assert!(!ok, "{out}");
    let expect = [
        "channels/tls.toml:6: settings.smtp_tls: smtp_tls must be none, starttls or tls",
        "channels/selector.toml:6: settings.dkim_selector: DKIM signing needs secrets.dkim_private_key",
        "channels/key.toml:7: secrets.dkim_private_key: a DKIM key needs settings.dkim_selector",
        "channels/badselector.toml:6: settings.dkim_selector: dkim_selector must be a DNS label",
        "channels/domain.toml:7: settings.dkim_domain: dkim_domain must be a domain name",
        "channels/from.toml:5: settings.from_address: \"sales@@example.com\" is not a valid email address",
        "channels/leak.toml:7: secrets.smtp_password: looks like a secret value",
    ];
    for line in expect {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(
        !out.contains("AKIA4EXAMPLE7KEY12345"),
        "a secret is never echoed: {out}"
    );
}

#[actix_web::test]
async fn the_dkim_key_in_the_environment_must_be_an_rsa_pem_and_ports_match_tls() {
    crate::support::migrated().await;
    let dir = folder();
    let d = dir.path();
    let dkim = "dkim_selector = \"sb2026\"\n";
    write(
        d,
        "good.toml",
        dkim,
        "dkim_private_key = \"SB_CHECK_GOOD_DKIM\"\n",
    );
    write(
        d,
        "bad.toml",
        dkim,
        "dkim_private_key = \"SB_CHECK_BAD_DKIM\"\n",
    );
    write(
        d,
        "port.toml",
        "smtp_tls = \"starttls\"\nsmtp_port = 465\n",
        "",
    );
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/email/dkim-test-only.key.pem"
    ))
    .expect("fixture key");
    let (ok, out) = check_dir(
        d,
        &[
            ("SB_CHECK_GOOD_DKIM", key.as_str()),
            ("SB_CHECK_BAD_DKIM", "not-a-key-but-a-secret-nonetheless"),
        ],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("error channels: ")
            && out.contains(
                "channels/bad.toml:8: secrets.dkim_private_key: SB_CHECK_BAD_DKIM does not hold an RSA private key"
            ),
        "{out}"
    );
    assert!(!out.contains("good.toml"), "a PKCS#1 PEM key passes: {out}");
    assert!(
        out.contains("warn  channels: ")
            && out.contains("channels/port.toml:7: settings.smtp_port: port 465 expects TLS"),
        "{out}"
    );
    assert!(
        !out.contains("not-a-key-but"),
        "a secret is never echoed: {out}"
    );
}
