//! Action rails over real PostgreSQL and Redis: volume caps counted in Redis survive a process
//! restart (a new context on the same Redis), quiet hours follow the contact's stored time
//! zone, opted-out / bounced / suppressed contacts are blocked, and an opt-out suppresses the
//! contact, ends their sequences and cancels pending follow-ups, once.

use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::chats::{fixture, new_chat};
use crate::support::{TestApp, test_config};
use switchboard::context::AppContext;
use switchboard::db::schema::{contacts, outbox, suppression_list};
use switchboard::domain::{ChannelKind, ContactId, OrganizationId};
use switchboard::rails::action::{
    ACTION_CONTACT_VOLUME, ACTION_ORG_VOLUME, ACTION_QUIET_HOURS, ACTION_SUPPRESSION,
};
use switchboard::rails::{
    ActionRails, RailDecision, RailPolicy, RailVerdict, is_opt_out, suppress_on_opt_out,
};

fn decision<'a>(verdicts: &'a [RailVerdict], rail: &str) -> &'a RailDecision {
    &verdicts
        .iter()
        .find(|v| v.rail == rail)
        .unwrap_or_else(|| panic!("no verdict for {rail}: {verdicts:?}"))
        .decision
}

fn is_block(d: &RailDecision) -> bool {
    matches!(d, RailDecision::Block { .. })
}

fn policy(src: &str) -> RailPolicy {
    let table = toml::from_str(src).expect("toml");
    RailPolicy::from_guardrails(&table).expect("policy")
}

/// A contact inserted with the given email / timezone.
async fn new_contact(
    app: &TestApp,
    org: OrganizationId,
    email: Option<&str>,
    timezone: Option<&str>,
) -> ContactId {
    let mut conn = app.ctx.db().get().await.expect("db");
    let id = ContactId::new();
    diesel::insert_into(contacts::table)
        .values((
            contacts::id.eq(id),
            contacts::organization_id.eq(org),
            contacts::name.eq("Rail Lead"),
            contacts::email.eq(email),
            contacts::timezone.eq(timezone),
        ))
        .execute(&mut conn)
        .await
        .expect("contact");
    id
}

#[actix_web::test]
async fn volume_caps_survive_a_restart() {
    let config = test_config();
    let app = TestApp::spawn_with(config.clone()).await;
    let org = app.create_org("rails-volume").await;
    let a = new_contact(&app, org.id, None, None).await;
    let b = new_contact(&app, org.id, None, None).await;
    let policy = policy("max_messages_per_contact_per_day = 2\nmax_sends_per_org_per_day = 3");
    let now = Utc::now();
    let rails = ActionRails::new(&app.ctx);
    let first = rails.check_send(&policy, org.id, a, now).await;
    assert_eq!(
        decision(&first, ACTION_CONTACT_VOLUME),
        &RailDecision::Allow
    );
    rails.record_send(org.id, a).await.expect("count");
    rails.record_send(org.id, a).await.expect("count");

    // A new process: a fresh context (new Redis connection) with the same key prefix.
    let restarted = AppContext::connect(config).await.expect("context");
    let rails = ActionRails::new(&restarted);
    let after = rails.check_send(&policy, org.id, a, now).await;
    assert!(
        is_block(decision(&after, ACTION_CONTACT_VOLUME)),
        "{after:?}"
    );
    assert_eq!(decision(&after, ACTION_ORG_VOLUME), &RailDecision::Allow);

    // The other contact is under its own cap, until the organisation's cap is reached.
    let other = rails.check_send(&policy, org.id, b, now).await;
    assert_eq!(
        decision(&other, ACTION_CONTACT_VOLUME),
        &RailDecision::Allow
    );
    rails.record_send(org.id, b).await.expect("count");
    let other = rails.check_send(&policy, org.id, b, now).await;
    assert!(is_block(decision(&other, ACTION_ORG_VOLUME)), "{other:?}");

    // Another organisation's counters are its own.
    let org2 = app.create_org("rails-volume-2").await;
    let c = new_contact(&app, org2.id, None, None).await;
    let fresh = rails.check_send(&policy, org2.id, c, now).await;
    assert_eq!(decision(&fresh, ACTION_ORG_VOLUME), &RailDecision::Allow);
}

#[actix_web::test]
async fn quiet_hours_use_the_contacts_stored_zone() {
    let app = TestApp::spawn().await;
    let org = app.create_org("rails-quiet").await;
    let berlin = new_contact(&app, org.id, None, Some("Europe/Berlin")).await;
    let tokyo = new_contact(&app, org.id, None, Some("Asia/Tokyo")).await;
    let policy = policy(r#"quiet_hours = { start = "21:00", end = "08:00" }"#);
    // 12:00 UTC: 13:00 in Berlin, 21:00 in Tokyo.
    let noon = Utc
        .with_ymd_and_hms(2026, 11, 29, 12, 0, 0)
        .single()
        .expect("time");
    let rails = ActionRails::new(&app.ctx);
    let v = rails.check_send(&policy, org.id, berlin, noon).await;
    assert_eq!(decision(&v, ACTION_QUIET_HOURS), &RailDecision::Allow);
    let v = rails.check_send(&policy, org.id, tokyo, noon).await;
    assert!(
        matches!(decision(&v, ACTION_QUIET_HOURS), RailDecision::NeedsApproval { reason } if reason.contains("Asia/Tokyo")),
        "{v:?}"
    );
}

#[actix_web::test]
async fn suppressed_contacts_are_blocked() {
    let app = TestApp::spawn().await;
    let org = app.create_org("rails-suppress").await;
    let policy = RailPolicy::default();
    let now = Utc::now();
    let rails = ActionRails::new(&app.ctx);
    let mut conn = app.ctx.db().get().await.expect("db");

    let clean = new_contact(&app, org.id, Some("clean@example.test"), None).await;
    let v = rails.check_send(&policy, org.id, clean, now).await;
    assert_eq!(decision(&v, ACTION_SUPPRESSION), &RailDecision::Allow);

    // On the suppression list by address (any case).
    let listed = new_contact(&app, org.id, Some("Listed@Example.test"), None).await;
    diesel::insert_into(suppression_list::table)
        .values((
            suppression_list::id.eq(uuid::Uuid::now_v7()),
            suppression_list::organization_id.eq(org.id),
            suppression_list::address_kind.eq("email"),
            suppression_list::address.eq("listed@example.test"),
            suppression_list::reason.eq("complaint"),
        ))
        .execute(&mut conn)
        .await
        .expect("suppress");
    let v = rails.check_send(&policy, org.id, listed, now).await;
    assert!(is_block(decision(&v, ACTION_SUPPRESSION)), "{v:?}");
    let v = rails
        .check_send_on(&policy, org.id, listed, Some(ChannelKind::Telegram), now)
        .await;
    assert_eq!(decision(&v, ACTION_SUPPRESSION), &RailDecision::Allow);

    // Bounced: email is blocked, other channels are not.
    let bounced = new_contact(&app, org.id, Some("gone@example.test"), None).await;
    diesel::update(contacts::table.filter(contacts::id.eq(bounced)))
        .set(contacts::bounced_at.eq(Some(Utc::now())))
        .execute(&mut conn)
        .await
        .expect("bounce");
    let v = rails
        .check_send_on(&policy, org.id, bounced, Some(ChannelKind::Email), now)
        .await;
    assert!(is_block(decision(&v, ACTION_SUPPRESSION)), "{v:?}");
    let v = rails
        .check_send_on(&policy, org.id, bounced, Some(ChannelKind::Web), now)
        .await;
    assert_eq!(decision(&v, ACTION_SUPPRESSION), &RailDecision::Allow);

    // A contact of another organisation is not found, so not sent to.
    let org2 = app.create_org("rails-suppress-2").await;
    let v = rails.check_send(&policy, org2.id, clean, now).await;
    assert!(is_block(decision(&v, ACTION_SUPPRESSION)), "{v:?}");
}

#[actix_web::test]
async fn opt_out_reply_suppresses_and_ends_sequences_once() {
    let app = TestApp::spawn().await;
    let org = app.create_org("rails-optout").await;
    let fx = fixture(&app, &org, "optout").await;
    let chat = new_chat(&app, &org, &fx).await;
    let contact = ContactId(fx.contact.parse().expect("id"));
    let mut conn = app.ctx.db().get().await.expect("db");
    diesel::update(contacts::table.filter(contacts::id.eq(contact)))
        .set((
            contacts::email.eq(Some("Stop.Me@Example.test")),
            contacts::telegram_user_id.eq(Some(4242_i64)),
        ))
        .execute(&mut conn)
        .await
        .expect("contact details");
    // A pending follow-up for this contact and one for someone else.
    for (who, key) in [
        (contact.to_string(), "mine"),
        (uuid::Uuid::now_v7().to_string(), "other"),
    ] {
        diesel::insert_into(outbox::table)
            .values((
                outbox::id.eq(uuid::Uuid::now_v7()),
                outbox::organization_id.eq(org.id),
                outbox::kind.eq("agent.followup"),
                outbox::payload.eq(json!({"contact_id": who, "chat_id": chat})),
                outbox::idempotency_key.eq(Some(key)),
                outbox::next_attempt_at.eq(Utc::now() + chrono::Duration::hours(48)),
            ))
            .execute(&mut conn)
            .await
            .expect("followup");
    }

    let reply = "Please unsubscribe me from these emails.";
    assert!(is_opt_out(reply));
    let outcome = suppress_on_opt_out(&mut conn, org.id, contact)
        .await
        .expect("opt out")
        .expect("contact found");
    assert!(outcome.newly_unsubscribed);
    assert_eq!(outcome.suppressed_addresses, 2);
    assert_eq!(outcome.followups_cancelled, 1);

    let rows: Vec<(String, String, String)> = suppression_list::table
        .filter(suppression_list::organization_id.eq(org.id))
        .select((
            suppression_list::address_kind,
            suppression_list::address,
            suppression_list::reason,
        ))
        .order(suppression_list::address_kind)
        .load(&mut conn)
        .await
        .expect("rows");
    assert_eq!(
        rows,
        vec![
            (
                "email".into(),
                "stop.me@example.test".into(),
                "unsubscribe".into()
            ),
            ("telegram".into(), "4242".into(), "unsubscribe".into()),
        ]
    );
    let statuses: Vec<(Option<String>, String)> = outbox::table
        .filter(outbox::organization_id.eq(org.id))
        .filter(outbox::kind.eq("agent.followup"))
        .select((outbox::idempotency_key, outbox::status))
        .order(outbox::idempotency_key)
        .load(&mut conn)
        .await
        .expect("outbox");
    assert_eq!(
        statuses,
        vec![
            (Some("mine".into()), "dead".into()),
            (Some("other".into()), "pending".into())
        ]
    );

    // Any later send is blocked, and a second opt-out changes nothing.
    let v = ActionRails::new(&app.ctx)
        .check_send(&RailPolicy::default(), org.id, contact, Utc::now())
        .await;
    assert!(is_block(decision(&v, ACTION_SUPPRESSION)), "{v:?}");
    let again = suppress_on_opt_out(&mut conn, org.id, contact)
        .await
        .expect("opt out")
        .expect("found");
    assert!(!again.newly_unsubscribed);
    assert_eq!(again.suppressed_addresses, 0);

    // Another organisation cannot opt this contact out.
    let org2 = app.create_org("rails-optout-2").await;
    assert!(
        suppress_on_opt_out(&mut conn, org2.id, contact)
            .await
            .expect("query")
            .is_none()
    );
}
