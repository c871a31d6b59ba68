//! Long-term memory recall over pgvector: how good and how fast the HNSW index is against exact
//! search, and how fast the product's own recall query is (one contact's memories, the
//! organisation and contact filter, `hnsw.iterative_scan`), at a configurable number of stored
//! memories. Vectors are synthetic but shaped like sentence embeddings: unit vectors around
//! `RECALL_CLUSTERS` topics (uniform random vectors would be an unrealistically hard case for any
//! graph index), seeded, so runs are repeatable.
//!
//! It loads a fresh set into the bench database (`switchboard_bench`; every `agent_memories`
//! row there is deleted first), dropping the HNSW index for the load and re-creating it exactly as
//! the migration defines it, the way a restore would; the build time is printed.
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench recall`.
//! Parameters (environment): `RECALL_MEMORIES` (default 100000), `RECALL_CONTACTS`,
//! `RECALL_CLUSTERS`, `RECALL_QUERIES`, `RECALL_EF` (`hnsw.ef_search` list), `RECALL_K`.

mod common;

use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pgvector::Vector;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::time::Instant;

use switchboard::db::models::{AgentMemory, AgentMemoryInsertForm, ContactInsertForm};
use switchboard::db::schema::{agent_memories, contacts};
use switchboard::domain::{ContactId, MemoryId, MemoryKind};

use common::{Services, latency_histogram, latency_line, param, param_list, record};

fn main() -> anyhow::Result<()> {
    if !common::should_run() {
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
}

#[derive(QueryableByName)]
struct Dimensions {
    #[diesel(sql_type = Integer)]
    dims: i32,
}

async fn run() -> anyhow::Result<()> {
    let total: usize = param("RECALL_MEMORIES", 100_000);
    let contact_count: usize = param("RECALL_CONTACTS", 2_000).max(1);
    let clusters: usize = param("RECALL_CLUSTERS", 1_000).max(1);
    let queries: usize = param("RECALL_QUERIES", 200).max(1);
    let efs: Vec<u32> = param_list("RECALL_EF", "40,100,200");
    let k: i64 = param("RECALL_K", 10);
    common::print_header(
        "recall",
        "pgvector HNSW recall@k vs exact search and query latency; the product's per-contact recall query.",
        &[
            ("RECALL_MEMORIES", total.to_string()),
            ("RECALL_CONTACTS", contact_count.to_string()),
            ("RECALL_CLUSTERS", clusters.to_string()),
            ("RECALL_QUERIES", queries.to_string()),
            ("RECALL_EF", format!("{efs:?}")),
            ("RECALL_K", k.to_string()),
        ],
    );
    let services = Services::from_env()?;
    services.migrate().await?;
    let mut conn = AsyncPgConnection::establish(&services.database_url).await?;
    println!("postgres: {}", common::postgres_settings(&mut conn).await);
    let dims = sql_query(
        "SELECT atttypmod AS dims FROM pg_attribute \
         WHERE attrelid = 'agent_memories'::regclass AND attname = 'embedding'",
    )
    .get_result::<Dimensions>(&mut conn)
    .await?
    .dims;
    let dims = usize::try_from(dims)?;
    println!("embedding column: vector({dims})");

    let tenant = common::create_tenant(&mut conn, "recall").await?;
    let contact_ids = create_contacts(&mut conn, tenant.org, contact_count).await?;
    let mut rng = StdRng::seed_from_u64(20261129);
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| unit(&mut rng, dims)).collect();

    sql_query("DELETE FROM agent_memories")
        .execute(&mut conn)
        .await?;
    sql_query("DROP INDEX IF EXISTS agent_memories_embedding_idx")
        .execute(&mut conn)
        .await?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(2_000);
    for n in 0..total {
        let centre = &centres[rng.random_range(0..clusters)];
        batch.push(AgentMemoryInsertForm {
            id: MemoryId::new(),
            organization_id: tenant.org,
            contact_id: contact_ids[n % contact_ids.len()],
            agent_id: None,
            kind: MemoryKind::Fact,
            content: format!("synthetic memory {n}"),
            embedding: Some(Vector::from(near(&mut rng, centre))),
            source_message_id: None,
        });
        if batch.len() == 2_000 || n + 1 == total {
            diesel::insert_into(agent_memories::table)
                .values(&batch)
                .execute(&mut conn)
                .await?;
            batch.clear();
        }
    }
    println!(
        "loaded {total} memories in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sql_query("SET maintenance_work_mem = '2GB'")
        .execute(&mut conn)
        .await?;
    let started = Instant::now();
    sql_query(
        "CREATE INDEX agent_memories_embedding_idx ON agent_memories \
         USING hnsw (embedding vector_cosine_ops)",
    )
    .execute(&mut conn)
    .await?;
    println!(
        "HNSW index (m=16, ef_construction=64, the migration's) built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sql_query("ANALYZE agent_memories")
        .execute(&mut conn)
        .await?;

    let probes: Vec<Vector> = (0..queries)
        .map(|_| {
            let centre = &centres[rng.random_range(0..clusters)];
            Vector::from(near(&mut rng, centre))
        })
        .collect();

    // Exact answers: the same query with index scans switched off.
    let mut exact: Vec<HashSet<uuid::Uuid>> = Vec::with_capacity(queries);
    let mut exact_latency = latency_histogram();
    for probe in &probes {
        let started = Instant::now();
        let ids = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                sql_query("SET LOCAL enable_indexscan = off")
                    .execute(conn)
                    .await?;
                top_k(conn, probe, k).await
            })
            .await?;
        record(&mut exact_latency, started.elapsed());
        exact.push(ids);
    }
    println!(
        "exact top-{k} (sequential scan): {}",
        latency_line(&exact_latency)
    );

    for ef in &efs {
        let mut latency = latency_histogram();
        let mut found = 0usize;
        for (probe, truth) in probes.iter().zip(&exact) {
            let started = Instant::now();
            let ids = conn
                .transaction::<_, diesel::result::Error, _>(async |conn| {
                    sql_query(format!("SET LOCAL hnsw.ef_search = {ef}"))
                        .execute(conn)
                        .await?;
                    top_k(conn, probe, k).await
                })
                .await?;
            record(&mut latency, started.elapsed());
            found += ids.intersection(truth).count();
        }
        let recall = found as f64 / (queries as f64 * k as f64);
        println!(
            "RESULT hnsw ef_search={ef}: recall@{k}={recall:.4} latency {}",
            latency_line(&latency)
        );
    }

    // The product's query: one contact's memories, as LongTermMemory::recall runs it.
    let mut latency = latency_histogram();
    for (n, probe) in probes.iter().enumerate() {
        let contact = contact_ids[n % contact_ids.len()];
        let started = Instant::now();
        conn.transaction::<_, diesel::result::Error, _>(async |conn| {
            sql_query("SET LOCAL hnsw.iterative_scan = strict_order")
                .execute(conn)
                .await?;
            AgentMemory::nearest(conn, tenant.org, contact, probe.clone(), 5).await
        })
        .await?;
        record(&mut latency, started.elapsed());
    }
    println!(
        "RESULT per-contact recall (organisation + contact filter, k=5, ~{} memories per contact): {}",
        total / contact_ids.len(),
        latency_line(&latency)
    );
    Ok(())
}

async fn top_k(
    conn: &mut AsyncPgConnection,
    probe: &Vector,
    k: i64,
) -> Result<HashSet<uuid::Uuid>, diesel::result::Error> {
    let rows = sql_query("SELECT id FROM agent_memories ORDER BY embedding <=> $1 LIMIT $2")
        .bind::<pgvector::sql_types::Vector, _>(probe)
        .bind::<diesel::sql_types::BigInt, _>(k)
        .load::<Id>(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

async fn create_contacts(
    conn: &mut AsyncPgConnection,
    org: switchboard::domain::OrganizationId,
    count: usize,
) -> anyhow::Result<Vec<ContactId>> {
    let forms: Vec<ContactInsertForm> = (0..count)
        .map(|n| ContactInsertForm {
            id: ContactId::new(),
            organization_id: org,
            name: format!("Recall contact {n}"),
            attributes: serde_json::json!({}),
            ..Default::default()
        })
        .collect();
    for chunk in forms.chunks(1_000) {
        diesel::insert_into(contacts::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(forms.into_iter().map(|f| f.id).collect())
}

/// A random unit vector (normal components, normalised).
fn unit(rng: &mut StdRng, dims: usize) -> Vec<f32> {
    normalise((0..dims).map(|_| gaussian(rng)).collect())
}

/// A unit vector near `centre`: the topic plus noise of about the same size as its spread.
fn near(rng: &mut StdRng, centre: &[f32]) -> Vec<f32> {
    let scale = 1.0 / (centre.len() as f32).sqrt();
    normalise(
        centre
            .iter()
            .map(|c| c + 0.6 * scale * gaussian(rng))
            .collect(),
    )
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.random_range(f32::MIN_POSITIVE..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}
