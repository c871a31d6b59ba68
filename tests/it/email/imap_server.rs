//! A real IMAP server for the poller's tests: Debian's dovecot (`$SB_DOVECOT`, installed and
//! exported by `deploy/dev/test`), one private instance per test in a temp dir, listening on a
//! free loopback port, plaintext login for one static user, Maildir storage, IDLE on. Mail is
//! delivered the way a client would: IMAP `APPEND` (async-imap).

use async_imap::Client;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// The test mailbox's user name.
pub const USER: &str = "sales";
/// Its password.
pub const PASSWORD: &str = "imap-test-password";

/// A running dovecot; stopped (SIGTERM, then reaped) on drop.
pub struct Dovecot {
    /// Its IMAP port on 127.0.0.1.
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The dovecot binary, or `None` (the test then says why it skips).
pub fn binary() -> Option<String> {
    std::env::var("SB_DOVECOT").ok().filter(|b| !b.is_empty())
}

/// uid and gid of a system user, from /etc/passwd.
fn system_user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&name) && f.len() > 3)
                .then(|| (f[2].parse().expect("uid"), f[3].parse().expect("gid")))
        })
        .unwrap_or_else(|| panic!("no system user {name} (installed with dovecot-core)"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = sbtest-{port}
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"#
    )
}

impl Dovecot {
    /// Writes a config into a temp dir, starts dovecot in the foreground, waits for its greeting.
    pub async fn start(binary: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        // Dovecot's unprivileged processes must reach the config's paths and own the mail.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let (uid, gid) = system_user("dovecot");
        let mail = path.join("mail");
        std::fs::create_dir(&mail).expect("mail dir");
        std::os::unix::fs::chown(&mail, Some(uid), Some(gid)).expect("chown mail dir");
        std::fs::write(
            path.join("passwd"),
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}/{USER}\n",
                mail.display()
            ),
        )
        .expect("passwd");
        let port = free_port();
        std::fs::write(path.join("dovecot.conf"), config(path, port)).expect("conf");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(path.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let server = Self {
            port,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(tcp) = TcpStream::connect(("127.0.0.1", port)).await {
                let mut client = Client::new(tcp);
                if matches!(client.read_response().await, Ok(Some(_))) {
                    return server;
                }
            }
            let log = std::fs::read_to_string(server._dir.path().join("dovecot.log"));
            assert!(
                Instant::now() < deadline,
                "dovecot did not come up: {log:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// dovecot's log so far (for failure messages).
    pub fn log(&self) -> String {
        // The log process writes asynchronously: give it a moment before reading.
        std::thread::sleep(Duration::from_millis(500));
        std::fs::read_to_string(self._dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Delivers one message into `mailbox` by IMAP APPEND, as the user.
    pub async fn append(&self, mailbox: &str, raw: &[u8]) {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let mut client = Client::new(tcp);
        client.read_response().await.expect("greeting");
        let mut session = client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login");
        if let Err(e) = session.append(mailbox, None, None, raw).await {
            panic!("append: {e}; dovecot's log:\n{}", self.log());
        }
        session.logout().await.expect("logout");
    }

    /// Creates a mailbox.
    pub async fn create(&self, mailbox: &str) {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let mut client = Client::new(tcp);
        client.read_response().await.expect("greeting");
        let mut session = client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login");
        if let Err(e) = session.create(mailbox).await {
            panic!("create: {e}; dovecot's log:\n{}", self.log());
        }
        session.logout().await.expect("logout");
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
