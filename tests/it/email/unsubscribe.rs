//! RFC 8058 one-click unsubscribe end to end: the link in a received email works without a
//! login, POST suppresses (idempotently, without redirecting), GET changes nothing, a forged
//! token is refused, and the next send to the address is refused at send time.

use reqwest::StatusCode;
use reqwest::redirect::Policy;

use super::{EmailSetup, assert_status, header};
use switchboard::db::models::{Contact, Suppression};
use switchboard::domain::{ContactId, MessageStatus, OutboxStatus};

#[actix_web::test]
async fn email_one_click_unsubscribe_suppresses_and_get_changes_nothing() {
    let s = EmailSetup::new().await;
    let (chat, contact) = s.chat_with("Carol@Customer.test").await;
    let id = s.send(&chat, "Our spring offer").await;
    let (message, _) = s.settled(id).await;
    assert_status(&message, MessageStatus::Sent);
    let mails = s.sink.wait_for(1).await;
    let link = header(&mails[0], "List-Unsubscribe").expect("List-Unsubscribe");
    let url = link.trim_start_matches('<').trim_end_matches('>').replacen(
        &s.app.ctx.config().server.public_url,
        &s.app.base,
        1,
    );
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let suppressed = async || {
        let mut conn = s.app.ctx.db().get().await.expect("db");
        Suppression::find_email(&mut conn, s.org.id, "carol@customer.test")
            .await
            .expect("query")
    };

    // GET shows a confirmation and changes nothing.
    let page = client.get(&url).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("body");
    assert!(
        html.contains("carol@customer.test") && html.contains("method=\"post\""),
        "{html}"
    );
    assert!(suppressed().await.is_none(), "GET must not unsubscribe");

    // The one-click POST (no cookie, no login) suppresses; repeating it is harmless.
    for _ in 0..2 {
        let res = client
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), StatusCode::OK, "never a redirect");
        assert!(res.headers().get("location").is_none());
    }
    let row = suppressed().await.expect("suppressed");
    assert_eq!(row.reason, "unsubscribe");
    let mut conn = s.app.ctx.db().get().await.expect("db");
    let contact = Contact::find(
        &mut conn,
        s.org.id,
        ContactId(contact.parse().expect("uuid")),
    )
    .await
    .expect("contact");
    assert!(contact.unsubscribed_at.is_some());
    drop(conn);

    // A forged or altered token is refused and suppresses nothing.
    let forged = format!("{}x", url.trim_end_matches(|c: char| c != '.'));
    let res = client.post(&forged).send().await.expect("post forged");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unsubscribe_link_invalid", "{body}");

    // Checked at send time: the next message is refused before SMTP.
    let again = s.send(&chat, "One more offer").await;
    let (message, row) = s.settled(again).await;
    assert_eq!(row.status, OutboxStatus::Dead);
    assert!(row.last_error.unwrap_or_default().contains("suppressed"));
    assert_status(&message, MessageStatus::Failed);
    assert_eq!(s.sink.received().len(), 1);
}
