//! Agent-turn runtime overhead: what Switchboard itself adds to a turn when the model answers
//! instantly. One turn = `AgentTurnHandler::take_turn`, the function the chat actors call: read
//! the chat and agent, the Redis chat window, pgvector recall (one embedding call), prompt
//! rendering, input/output/action rails, budgets in Redis, and the `agent_executions` row.
//!
//! The model is the Ollama-compatible test server from `tests/it/ollama_server.rs`, in its own
//! thread, answering every chat at once; its HTTP round trips are measured on their own (the same
//! client, the same requests) and reported next to the turn so the overhead can be read off.
//! Turns run one after another (latency, not throughput), on an agent with recall (`recall_k=5`)
//! and on one without (`recall_k=0`: no embedding call, no vector query).
//!
//! Recall runs against whatever `agent_memories` already holds in the bench database: run
//! `benches/recall.rs` with `RECALL_MEMORIES=1000000` first to measure recall "over 1M stored
//! memories" (this benchmark adds `TURN_MEMORIES` of its own contact's and deletes nothing).
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench agent_turn`.
//! Parameters (environment): `TURN_COUNT` (default 2000), `TURN_WARMUP` (200),
//! `TURN_MEMORIES` (memories of the turn's contact, default 200).

mod common;

#[allow(dead_code)]
#[path = "../tests/it/ollama_server.rs"]
mod ollama_server;

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::time::Instant;

use switchboard::actors::agent::AgentTurnHandler;
use switchboard::actors::chat::{TurnDecision, TurnRequest};
use switchboard::channels::ingest::{IngestConfig, Ingestor};
use switchboard::context::AppContext;
use switchboard::db::models::{AiAgent, AiAgentInsertForm};
use switchboard::domain::{AgentId, AgentKind, Autonomy, ChatId, MemoryKind, OrganizationId};
use switchboard::llm::{ChatMessage, ChatRequest, LlmClient, Role};

use common::{Services, latency_histogram, latency_line, param, record};
use ollama_server::{OllamaServer, Scripted};

const REPLY: &str =
    "Thanks for reaching out! Could you tell me how many people are on your sales team?";

fn main() -> anyhow::Result<()> {
    if !common::should_run() {
        return Ok(());
    }
    let model_url = start_model_server()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(model_url))
}

/// The instant model, on its own thread and actix runtime (as the tests run it).
fn start_model_server() -> anyhow::Result<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = OllamaServer::start(384);
            server.otherwise(Scripted::Reply(REPLY.into()));
            let _ = sender.send(server.url.clone());
            std::future::pending::<()>().await;
        });
    });
    Ok(receiver.recv()?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn run(model_url: String) -> anyhow::Result<()> {
    let turns: usize = param("TURN_COUNT", 2_000);
    let warmup: usize = param("TURN_WARMUP", 200);
    let own_memories: usize = param("TURN_MEMORIES", 200);
    common::print_header(
        "agent_turn",
        "Agent-turn runtime overhead (AgentTurnHandler::take_turn) with a model that answers instantly.",
        &[
            ("TURN_COUNT", turns.to_string()),
            ("TURN_WARMUP", warmup.to_string()),
            ("TURN_MEMORIES", own_memories.to_string()),
        ],
    );
    let services = Services::from_env()?;
    services.migrate().await?;
    let mut config = services.config();
    config.llm.base_url = model_url;
    config.llm.max_retries = 0;
    let ctx = AppContext::connect(config.clone()).await?;
    let handler = AgentTurnHandler::new(&ctx, None)?;
    let llm = LlmClient::new(&config.llm)?;

    let mut conn = ctx.db().get().await?;
    println!("postgres: {}", common::postgres_settings(&mut conn).await);
    let stored = sql_query("SELECT count(*) AS n FROM agent_memories")
        .get_result::<Count>(&mut conn)
        .await?
        .n;
    println!("agent_memories before this run: {stored} rows (all organisations, one HNSW index)");
    let tenant = common::create_tenant(&mut conn, "bench-turn").await?;
    let with_recall = create_agent(&mut conn, tenant.org, "sdr-recall", 5).await?;
    let without_recall = create_agent(&mut conn, tenant.org, "sdr-no-recall", 0).await?;
    drop(conn);

    // Two chats (one per agent), each with a short history, through the real ingest path.
    let ingestor = Ingestor::start(ctx.db().clone(), IngestConfig::default(), Vec::new());
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let mut chats = Vec::new();
    for (agent, thread) in [(with_recall, "recall"), (without_recall, "plain")] {
        let thread = format!("{thread}-{tag}");
        let mut last = None;
        for (n, text) in [
            "Hi, I saw your pricing page.",
            "We are a team of twelve selling industrial pumps.",
            "Does the plan include email campaigns and a Telegram bot?",
        ]
        .into_iter()
        .enumerate()
        {
            let outcome = ingestor
                .ingest(common::inbound(
                    tenant.channel,
                    &thread,
                    format!("{thread}-{n}"),
                    text.into(),
                ))
                .await?;
            last = Some((outcome.chat.id, outcome.chat.contact_id, outcome.message.id));
        }
        let (chat, contact, message) = last.ok_or_else(|| anyhow::anyhow!("no message"))?;
        assign(&ctx, tenant.org, chat, agent).await?;
        chats.push((agent, chat, contact, message));
    }

    // The recalling contact's own long-term memories.
    let (_, _, recall_contact, _) = chats[0];
    let started = Instant::now();
    for n in 0..own_memories {
        handler
            .memory()
            .remember(
                tenant.org,
                recall_contact,
                Some(with_recall),
                MemoryKind::Fact,
                &format!("Fact {n}: the team uses pumps model {n} and prefers calls on Tuesday"),
                None,
            )
            .await?;
    }
    println!(
        "stored {own_memories} memories of the turn's contact in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let model_chat = model_round_trip_chat(&llm, warmup, turns).await?;
    println!("RESULT model round trip /api/chat (instant model, streamed reply): {model_chat}");
    let model_embed = model_round_trip_embed(&llm, warmup, turns).await?;
    println!("RESULT model round trip /api/embed (instant model, one text): {model_embed}");

    for (label, (_, chat, _, message)) in [
        ("with recall (k=5)", chats[0]),
        ("without recall", chats[1]),
    ] {
        let mut latency = latency_histogram();
        let mut decisions = std::collections::BTreeMap::<&'static str, usize>::new();
        for n in 0..(warmup + turns) {
            let request = TurnRequest {
                organization_id: tenant.org,
                chat_id: chat,
                messages: vec![message],
                turn_number: n as u64,
                followup: None,
            };
            let started = Instant::now();
            let decision = handler.take_turn(request).await;
            if n >= warmup {
                record(&mut latency, started.elapsed());
            }
            *decisions.entry(decision_name(&decision)).or_default() += 1;
        }
        println!("decisions {label}: {decisions:?}");
        println!("RESULT turn {label}: {}", latency_line(&latency));
    }
    println!(
        "overhead = turn - model round trips (chat, plus embed with recall); compare the p50s and p99s above"
    );
    Ok(())
}

fn decision_name(decision: &TurnDecision) -> &'static str {
    match decision {
        TurnDecision::Reply(_) => "reply",
        TurnDecision::Draft(_) => "draft",
        TurnDecision::Handoff(_) => "handoff",
        TurnDecision::Nothing => "nothing",
    }
}

async fn create_agent(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrganizationId,
    name: &str,
    recall_k: u32,
) -> anyhow::Result<AgentId> {
    let prompt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/sdr.hbs"))?;
    let agent = AiAgent::create(
        conn,
        &AiAgentInsertForm {
            id: AgentId::new(),
            organization_id: org,
            name: name.into(),
            kind: AgentKind::Sdr,
            description: "Qualify inbound leads: team size, budget, timeline.".into(),
            model: "llama3.1:8b".into(),
            temperature: 0.3,
            max_tokens: 256,
            prompt_template: prompt,
            tools: Vec::new(),
            guardrails: json!({}),
            autonomy: Autonomy::Auto,
            memory: json!({"window": 20, "recall_k": recall_k}),
            budgets: json!({"turns_per_chat_per_day": 100_000_000u64, "tokens_per_day": 100_000_000_000u64}),
            active: true,
        },
    )
    .await?;
    Ok(agent.id)
}

async fn assign(
    ctx: &AppContext,
    org: OrganizationId,
    chat: ChatId,
    agent: AgentId,
) -> anyhow::Result<()> {
    let mut conn = ctx.db().get().await?;
    sql_query(
        "UPDATE chats SET assigned_agent_id = $1, assigned_user_id = NULL, autonomy = 'auto' \
         WHERE organization_id = $2 AND id = $3",
    )
    .bind::<diesel::sql_types::Uuid, _>(agent)
    .bind::<diesel::sql_types::Uuid, _>(org)
    .bind::<diesel::sql_types::Uuid, _>(chat)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn model_round_trip_chat(
    llm: &LlmClient,
    warmup: usize,
    count: usize,
) -> anyhow::Result<String> {
    let request = ChatRequest {
        model: "llama3.1:8b".into(),
        messages: vec![
            ChatMessage::new(Role::System, "You are a sales assistant."),
            ChatMessage::new(Role::User, "Does the plan include email campaigns?"),
        ],
        tools: Vec::new(),
        temperature: 0.3,
        max_tokens: 256,
    };
    let mut latency = latency_histogram();
    for n in 0..(warmup + count) {
        let started = Instant::now();
        llm.chat(&request).await?;
        if n >= warmup {
            record(&mut latency, started.elapsed());
        }
    }
    Ok(latency_line(&latency))
}

async fn model_round_trip_embed(
    llm: &LlmClient,
    warmup: usize,
    count: usize,
) -> anyhow::Result<String> {
    let input = vec!["Does the plan include email campaigns and a Telegram bot?".to_owned()];
    let mut latency = latency_histogram();
    for n in 0..(warmup + count) {
        let started = Instant::now();
        llm.embed(&input).await?;
        if n >= warmup {
            record(&mut latency, started.elapsed());
        }
    }
    Ok(latency_line(&latency))
}
