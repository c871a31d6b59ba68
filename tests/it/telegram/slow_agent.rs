//! The webhook answers once the update is committed, not once the agent has answered: an agent
//! whose turn never finishes (until the test lets it) does not hold up Telegram's 200.

use actix_web::{App, HttpServer, web};
use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

use super::{SECRET, create_bot, eventually};
use crate::support::TestApp;
use crate::telegram_server::{TelegramServer, text_update};
use switchboard::actors::chat::{ChatSettings, TurnDecision, TurnHandler, TurnRequest};
use switchboard::actors::router::ChatRouter;
use switchboard::channels::ingest::{IngestConfig, Ingestor};
use switchboard::channels::telegram::webhook::{SECRET_HEADER, receive_update};

/// An agent that thinks until the test hands out permits.
struct SlowAgent {
    started: AtomicUsize,
    finished: Arc<AtomicUsize>,
    permits: Arc<Semaphore>,
}

impl TurnHandler for SlowAgent {
    fn run_turn(&self, _request: TurnRequest) -> BoxFuture<'static, TurnDecision> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let (permits, finished) = (self.permits.clone(), self.finished.clone());
        Box::pin(async move {
            if let Ok(permit) = permits.acquire().await {
                permit.forget();
            }
            finished.fetch_add(1, Ordering::SeqCst);
            TurnDecision::Nothing
        })
    }
}

#[actix_web::test]
async fn the_webhook_answers_while_the_agent_is_still_thinking() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;
    let agent = Arc::new(SlowAgent {
        started: AtomicUsize::new(0),
        finished: Arc::new(AtomicUsize::new(0)),
        permits: Arc::new(Semaphore::new(0)),
    });
    let settings = ChatSettings {
        quiet_window: Duration::from_millis(10),
        idle_timeout: Duration::from_secs(60),
        mailbox_capacity: 64,
        lease_ttl: Duration::from_secs(30),
    };
    let router = ChatRouter::new(app.ctx.clone(), agent.clone(), settings, 1);
    let ingestor = Ingestor::start(
        app.ctx.db().clone(),
        IngestConfig::default(),
        vec![Arc::new(router)],
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (ctx, ingestor) = (web::Data::new(app.ctx.clone()), web::Data::new(ingestor));
    let http = HttpServer::new(move || {
        App::new()
            .app_data(ctx.clone())
            .app_data(ingestor.clone())
            .service(receive_update)
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(http);
    let post = |update_id: i64, message_id: i32, text: &'static str| {
        let (http, url) = (
            app.http.clone(),
            format!("{base}/webhooks/telegram/{channel}"),
        );
        async move {
            http.post(url)
                .header(SECRET_HEADER, SECRET)
                .json(&text_update(update_id, 8080, message_id, text))
                .send()
                .await
                .expect("webhook")
                .status()
        }
    };

    assert_eq!(post(1, 1, "Hi there").await, StatusCode::OK);
    eventually("the agent's turn is running", || async {
        agent.started.load(Ordering::SeqCst) >= 1
    })
    .await;
    // The turn is blocked until permits are handed out; the next update is still answered.
    assert_eq!(post(2, 2, "Are you there?").await, StatusCode::OK);
    assert_eq!(
        agent.finished.load(Ordering::SeqCst),
        0,
        "no turn could have finished yet"
    );

    agent.permits.add_permits(16);
    eventually("the agent finishes its turn", || async {
        agent.finished.load(Ordering::SeqCst) >= 1
    })
    .await;
}
