//! Agent turns end to end over real PostgreSQL and Redis with the Ollama-compatible test server:
//! reply / draft / hand-off by autonomy, permanent model errors and an open breaker becoming
//! hand-offs with their reason, a cut stream sending nothing, budgets surviving a restart,
//! memory recalled across chats of one contact only, and one turn through the chat actor. The
//! supervisor's rails and tool loop are in `agent_supervision`.

use serde_json::json;

use crate::agent_llm::llm_config;
use crate::agent_memory::contact;
use crate::agent_setup::{channel, chat, inbound, setup};
use crate::agent_setup::{
    config_for, executions, hand_to_agent, inbound_message, setup_with, system_prompt, turn_request,
};
use crate::ollama_server::{OllamaServer, Scripted};
use crate::support::{TestApp, eventually_some};
use switchboard::actors::agent::AgentTurnHandler;
use switchboard::actors::chat::TurnDecision;
use switchboard::domain::MemoryKind;

#[actix_web::test]
async fn autonomy_auto_replies_when_every_rail_allows_and_logs_the_decision() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada Lovelace").await;
    let chat = chat(&setup, ada, web, "auto", true).await;
    let said = inbound(&setup, chat, web, "What does the Pro plan cost?").await;
    setup
        .server
        .script([Scripted::Reply("Hi Ada! Pro is 49 EUR a month.".into())]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    let mut inbox = setup.app.ctx.hub().subscribe(setup.org.id, 64);
    let decision = handler.take_turn(turn_request(&setup, chat, said)).await;
    assert_eq!(
        decision,
        TurnDecision::Reply("Hi Ada! Pro is 49 EUR a month.".into())
    );
    let mut typing = Vec::new();
    while let Ok(message) = inbox.receiver.try_recv() {
        if let switchboard::inbox::HubMessage::Signal(signal) = message {
            typing.push(signal.data["active"].clone());
        }
    }
    assert_eq!(
        typing,
        vec![json!(true), json!(false)],
        "typing while the turn ran, then stopped"
    );

    let prompt = system_prompt(&setup.server, 0);
    assert!(prompt.contains("Name: Ada Lovelace"), "{prompt}");
    assert!(
        prompt.contains("<contact_message>What does the Pro plan cost?</contact_message>"),
        "the contact's words are delimited: {prompt}"
    );
    let logged = executions(&setup, chat).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, "replied");
    assert_eq!(
        (logged[0].prompt_tokens, logged[0].completion_tokens),
        (42, 7)
    );
    assert_eq!(logged[0].message_id, Some(said));
    assert!(
        logged[0].outputs["reason"]
            .as_str()
            .is_some_and(|r| r.contains("autonomy auto"))
    );
}

#[actix_web::test]
async fn autonomy_draft_drafts_and_off_or_unassigned_chats_take_no_turn() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let drafted = chat(&setup, ada, web, "draft", true).await;
    let off = chat(&setup, ada, web, "off", true).await;
    let unassigned = chat(&setup, ada, web, "auto", false).await;
    setup
        .server
        .script([Scripted::Reply("Draft answer".into())]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");

    let said = inbound(&setup, drafted, web, "Hello?").await;
    assert_eq!(
        handler.take_turn(turn_request(&setup, drafted, said)).await,
        TurnDecision::Draft("Draft answer".into())
    );
    assert_eq!(executions(&setup, drafted).await[0].status, "drafted");
    for quiet in [off, unassigned] {
        let said = inbound(&setup, quiet, web, "Hello?").await;
        assert_eq!(
            handler.take_turn(turn_request(&setup, quiet, said)).await,
            TurnDecision::Nothing
        );
        assert!(executions(&setup, quiet).await.is_empty());
    }
    assert_eq!(
        setup.server.chat_requests().len(),
        1,
        "only the draft asked the model"
    );
}

#[actix_web::test]
async fn a_missing_model_hands_off_with_the_reason_and_a_cut_stream_sends_nothing() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "auto", true).await;
    let said = inbound(&setup, chat, web, "Price?").await;
    setup.server.script([
        Scripted::model_not_found("llama3.1:8b"),
        Scripted::Cut("Our price is 10".into()),
    ]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");

    let TurnDecision::Handoff(reason) = handler.take_turn(turn_request(&setup, chat, said)).await
    else {
        panic!("a missing model hands off");
    };
    assert!(reason.contains("llm_model_not_found"), "{reason}");
    let logged = executions(&setup, chat).await;
    assert_eq!(logged[0].status, "handed_off");
    assert!(
        logged[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("llm_model_not_found"))
    );

    let decision = handler.take_turn(turn_request(&setup, chat, said)).await;
    let TurnDecision::Handoff(reason) = &decision else {
        panic!("a cut stream hands off: {decision:?}");
    };
    assert!(reason.contains("cut off"), "{reason}");
    assert!(
        !format!("{decision:?}").contains("Our price"),
        "no partial text"
    );
}

#[actix_web::test]
async fn an_open_breaker_turns_into_a_degraded_hand_off_without_calling_the_model() {
    let server = OllamaServer::start(384);
    let mut config = config_for(&server);
    config.llm.breaker_failures = 1;
    config.llm.breaker_cooldown_ms = 3_600_000;
    let setup = setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 20, "tokens_per_day": 100000}),
    )
    .await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "auto", true).await;
    let said = inbound(&setup, chat, web, "Hi").await;
    setup.server.script([Scripted::server_error()]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    assert!(matches!(
        handler.take_turn(turn_request(&setup, chat, said)).await,
        TurnDecision::Handoff(_)
    ));
    let TurnDecision::Handoff(reason) = handler.take_turn(turn_request(&setup, chat, said)).await
    else {
        panic!("an open breaker hands off");
    };
    assert!(reason.contains("degraded"), "{reason}");
    assert_eq!(setup.server.chat_requests().len(), 1);
}

#[actix_web::test]
async fn the_turn_budget_survives_a_restart() {
    let server = OllamaServer::start(384);
    let config = config_for(&server);
    let setup = setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 1, "tokens_per_day": 100000}),
    )
    .await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    let said = inbound(&setup, chat, web, "Hi").await;
    setup.server.script([Scripted::Reply("Hello!".into())]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    assert_eq!(
        handler.take_turn(turn_request(&setup, chat, said)).await,
        TurnDecision::Draft("Hello!".into())
    );

    // A new process over the same PostgreSQL and Redis (same configuration).
    setup.app.handle.stop(true).await;
    let restarted = TestApp::spawn_with(setup.config.clone()).await;
    let handler = AgentTurnHandler::new(&restarted.ctx, None).expect("handler");
    let TurnDecision::Handoff(reason) = handler.take_turn(turn_request(&setup, chat, said)).await
    else {
        panic!("the budget is spent");
    };
    assert!(
        reason.contains("1 agent turns per chat per day"),
        "{reason}"
    );
    assert_eq!(setup.server.chat_requests().len(), 1);
}

#[actix_web::test]
async fn a_memory_is_recalled_in_another_chat_of_the_same_contact_only() {
    let setup = setup().await;
    let telegram_like = channel(&setup, "telegram-like").await;
    let email_like = channel(&setup, "email-like").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let bob = contact(&setup.app, &setup.org, "Bob").await;
    let other = setup.app.create_org("other").await;
    let eve = contact(&setup.app, &other, "Eve").await;
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    let memory = handler.memory();
    memory
        .remember(
            setup.org.id,
            ada,
            None,
            MemoryKind::Fact,
            "annual budget is fifty thousand euros",
            None,
        )
        .await
        .expect("remembered");
    memory
        .remember(
            setup.org.id,
            bob,
            None,
            MemoryKind::Fact,
            "annual budget is ten euros",
            None,
        )
        .await
        .expect("remembered");
    memory
        .remember(
            other.id,
            eve,
            None,
            MemoryKind::Fact,
            "annual budget is one million",
            None,
        )
        .await
        .expect("remembered");
    let _first = chat(&setup, ada, telegram_like, "draft", true).await;
    let second = chat(&setup, ada, email_like, "draft", true).await;
    let said = inbound(
        &setup,
        second,
        email_like,
        "Can we talk about our annual budget?",
    )
    .await;
    setup.server.script([Scripted::Reply("Sure.".into())]);
    handler.take_turn(turn_request(&setup, second, said)).await;
    let prompt = system_prompt(&setup.server, 0);
    assert!(
        prompt.contains("- annual budget is fifty thousand euros"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("ten euros") && !prompt.contains("one million"),
        "{prompt}"
    );
}

#[actix_web::test]
async fn an_inbound_message_gets_the_agents_reply_through_the_chat_actor() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let (status, created) = setup
        .app
        .post(
            "/api/v1/contacts",
            &setup.org.key,
            &json!({"name": "Lead", "email": "lead@example.test"}),
        )
        .await;
    assert!(status.is_success(), "{created}");
    setup
        .server
        .otherwise(Scripted::Reply("Thanks for writing!".into()));
    let ingestor = &setup.app.node.ingestor;
    let first = ingestor
        .ingest(inbound_message(
            web,
            "thread-1",
            "m1",
            "Hello, anyone there?",
        ))
        .await
        .expect("ingest");
    // The first message arrived before any agent was assigned: no turn. Assign and write again.
    let chat = first.chat.id;
    hand_to_agent(&setup, chat, "auto").await;
    ingestor
        .ingest(inbound_message(web, "thread-1", "m2", "I'd like a demo"))
        .await
        .expect("ingest");
    let reply = eventually_some("the agent's reply", || async {
        let (_, messages) = setup
            .app
            .get(&format!("/api/v1/chats/{chat}/messages"), &setup.org.key)
            .await;
        let newest = messages["items"][0].clone();
        (newest["sender_kind"] == json!("agent")).then_some(newest)
    })
    .await;
    assert_eq!(reply["body"], json!("Thanks for writing!"));
    assert!(
        reply["draft_state"].is_null(),
        "a sent reply, not a draft: {reply}"
    );
}

/// One real turn against a real Ollama when `SWITCHBOARD_TEST_OLLAMA_URL` is set.
#[actix_web::test]
async fn a_real_model_answers_one_turn_when_configured() {
    let Ok(url) = std::env::var("SWITCHBOARD_TEST_OLLAMA_URL") else {
        eprintln!(
            "skipped: SWITCHBOARD_TEST_OLLAMA_URL is not set (point it at an Ollama with llama3.1:8b and all-minilm pulled)"
        );
        return;
    };
    let server = OllamaServer::start(384);
    let mut config = config_for(&server);
    config.llm = llm_config(&url, 1);
    config.llm.timeout_secs = 300;
    let setup = setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 20, "tokens_per_day": 100000}),
    )
    .await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    let said = inbound(&setup, chat, web, "Hi! What do you sell?").await;
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    let decision = handler.take_turn(turn_request(&setup, chat, said)).await;
    assert!(
        matches!(&decision, TurnDecision::Draft(text) if !text.trim().is_empty()),
        "{decision:?}"
    );
}
