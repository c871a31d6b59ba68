//! Long-term memory over real PostgreSQL + pgvector with embeddings from the test server:
//! recall is nearest-first and never crosses contacts or organisations, edits re-embed, and the
//! start-up dimension check refuses a mismatched embedder.

use serde_json::json;
use std::sync::Arc;

use crate::agent_llm::llm_config;
use crate::ollama_server::OllamaServer;
use crate::support::{TestApp, TestOrg};
use switchboard::domain::{ContactId, MemoryKind};
use switchboard::llm::LlmClient;
use switchboard::memory::{LongTermError, LongTermMemory};

/// Creates a contact through the API.
pub async fn contact(app: &TestApp, org: &TestOrg, name: &str) -> ContactId {
    let (status, body) = app
        .post("/api/v1/contacts", &org.key, &json!({"name": name}))
        .await;
    assert!(status.is_success(), "{status} {body}");
    serde_json::from_value(body["id"].clone()).expect("id")
}

fn memory(app: &TestApp, server: &OllamaServer) -> LongTermMemory {
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    LongTermMemory::new(app.ctx.db().clone(), Arc::new(client))
}

#[actix_web::test]
async fn recall_is_nearest_first_and_scoped_to_the_contact_and_organisation() {
    let app = TestApp::spawn().await;
    let server = OllamaServer::start(384);
    let memories = memory(&app, &server);
    let acme = app.create_org("acme").await;
    let other = app.create_org("other").await;
    let ada = contact(&app, &acme, "Ada").await;
    let bob = contact(&app, &acme, "Bob").await;
    let eve = contact(&app, &other, "Eve").await;

    let remember = |org, who, text: &'static str| {
        let memories = memories.clone();
        async move {
            memories
                .remember(org, who, None, MemoryKind::Fact, text, None)
                .await
                .expect("remembered")
        }
    };
    remember(acme.id, ada, "prefers email over phone calls").await;
    let budget = remember(acme.id, ada, "annual budget is fifty thousand euros").await;
    remember(acme.id, bob, "annual budget is ten thousand euros").await;
    remember(other.id, eve, "annual budget is one million euros").await;

    let recalled = memories
        .recall(acme.id, ada, "what annual budget do they have", 5)
        .await
        .expect("recall");
    let contents: Vec<&str> = recalled.iter().map(|r| r.memory.content.as_str()).collect();
    assert_eq!(
        contents,
        vec![
            "annual budget is fifty thousand euros",
            "prefers email over phone calls"
        ],
        "only Ada's memories, nearest first"
    );
    assert_eq!(recalled[0].memory.id, budget.id);
    assert!(recalled[0].similarity > recalled[1].similarity);

    // Ada's id under another organisation finds nothing.
    let foreign = memories
        .recall(other.id, ada, "annual budget", 5)
        .await
        .expect("recall");
    assert!(foreign.is_empty(), "{foreign:?}");
}

#[actix_web::test]
async fn an_edit_re_embeds_and_a_delete_forgets() {
    let app = TestApp::spawn().await;
    let server = OllamaServer::start(384);
    let memories = memory(&app, &server);
    let org = app.create_org("acme").await;
    let ada = contact(&app, &org, "Ada").await;
    let stored = memories
        .remember(org.id, ada, None, MemoryKind::Preference, "likes tea", None)
        .await
        .expect("remembered");
    memories
        .remember(
            org.id,
            ada,
            None,
            MemoryKind::Fact,
            "works in logistics",
            None,
        )
        .await
        .expect("remembered");
    memories
        .edit(org.id, ada, stored.id, "drinks coffee every morning")
        .await
        .expect("edited");
    let recalled = memories
        .recall(org.id, ada, "coffee", 1)
        .await
        .expect("recall");
    assert_eq!(recalled[0].memory.content, "drinks coffee every morning");

    memories
        .forget(org.id, ada, stored.id)
        .await
        .expect("deleted");
    assert!(matches!(
        memories.forget(org.id, ada, stored.id).await,
        Err(LongTermError::NotFound)
    ));
}

#[actix_web::test]
async fn start_up_refuses_an_embedder_of_another_dimension() {
    let app = TestApp::spawn().await;
    let server = OllamaServer::start(384);
    assert_eq!(
        memory(&app, &server)
            .check_dimensions()
            .await
            .expect("matches"),
        384
    );

    let mut config = llm_config(&server.url, 0);
    config.embedding_dimensions = 768;
    let client = LlmClient::new(&config).expect("client");
    let error = LongTermMemory::new(app.ctx.db().clone(), Arc::new(client))
        .check_dimensions()
        .await
        .expect_err("mismatch");
    assert!(
        matches!(
            error,
            LongTermError::DimensionMismatch {
                column: 384,
                embedder: 768
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("vector(384)"), "{error}");
}
