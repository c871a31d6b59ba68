//! Long polling confirms an offset only after the batch is committed. The "crash": the offset
//! write is held back by a table lock, the poller is killed while waiting for it (its database
//! session terminated), so the batch was stored but never confirmed. A restarted poller reads the
//! batch again; every update ends up stored exactly once, and the offset then moves on.

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use std::collections::HashSet;

use super::{chat_for, create_bot, eventually, messages_of};
use crate::support::{TestApp, database_url};
use crate::telegram_server::{TelegramServer, text_update};
use switchboard::channels::telegram::{PollOffset, spawn_poller};
use switchboard::domain::ChannelId;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

const WAITING_ON_OFFSETS: &str = "SELECT count(*) AS n FROM pg_locks \
     WHERE relation = 'telegram_poll_offsets'::regclass AND NOT granted";

#[actix_web::test]
async fn a_crash_before_the_offset_is_confirmed_loses_and_duplicates_nothing() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "polling").await;
    let channel_id: ChannelId = serde_json::from_value(json!(channel)).expect("channel id");
    let chat = 6_060_606_i64;
    for n in 1..=5 {
        server.push_update(text_update(
            100 + n,
            chat,
            n as i32,
            &format!("message {n}"),
        ));
    }

    // Hold every offset write until the "crash".
    let mut locker = AsyncPgConnection::establish(&database_url())
        .await
        .expect("connect");
    sql_query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("begin");
    sql_query("LOCK TABLE telegram_poll_offsets IN SHARE MODE")
        .execute(&mut locker)
        .await
        .expect("lock");

    let poller = spawn_poller(app.ctx.clone(), app.node.ingestor.clone(), channel_id);
    eventually("the poller waits to confirm its batch", || async {
        let mut conn = app.ctx.db().get().await.expect("db");
        sql_query(WAITING_ON_OFFSETS)
            .get_result::<Count>(&mut conn)
            .await
            .map(|c| c.n > 0)
            .unwrap_or(false)
    })
    .await;
    let chat_row = chat_for(&app, &org, &channel, chat).await;
    let chat_id = chat_row["id"].as_str().expect("id").to_owned();
    assert_eq!(
        messages_of(&app, &org, &chat_id).await.len(),
        5,
        "the batch was committed"
    );

    // Crash: the task dies, and so does its database session mid-statement.
    poller.abort();
    sql_query(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_locks \
         WHERE relation = 'telegram_poll_offsets'::regclass AND NOT granted",
    )
    .get_result::<Count>(&mut locker)
    .await
    .expect("terminate");
    sql_query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("rollback");
    let mut conn = app.ctx.db().get().await.expect("db");
    assert_eq!(
        PollOffset::load(&mut conn, org.id, channel_id)
            .await
            .expect("offset"),
        0,
        "nothing was confirmed"
    );
    drop(conn);

    server.push_update(text_update(106, chat, 6, "message 6"));
    let restarted = spawn_poller(app.ctx.clone(), app.node.ingestor.clone(), channel_id);
    eventually("the offset moves past the last update", || async {
        let mut conn = app.ctx.db().get().await.expect("db");
        PollOffset::load(&mut conn, org.id, channel_id)
            .await
            .unwrap_or(0)
            == 107
    })
    .await;
    let messages = messages_of(&app, &org, &chat_id).await;
    let ids: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["external_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        6,
        "each update stored once: {ids:?}"
    );
    let bodies: Vec<&str> = messages.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(
        bodies,
        (1..=6).map(|n| format!("message {n}")).collect::<Vec<_>>()
    );

    // Telegram hears the confirmation on the next getUpdates; polling deleted any webhook first.
    eventually("telegram is told the confirmed offset", || async {
        server
            .received("getUpdates")
            .iter()
            .any(|r| r.params["offset"] == json!(107))
    })
    .await;
    assert!(!server.received("deleteWebhook").is_empty());
    restarted.shutdown().await;
}
