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
//! Two shapes of data: by default each memory is its topic plus isotropic noise in all the
//! column's dimensions (a worst case: within a topic, distances concentrate and the exact top-10
//! is nearly arbitrary); with `RECALL_LATENT=L` memories live in an L-dimensional space projected
//! into the column's dimensions by a fixed random matrix, the low intrinsic dimension measured
//! for real sentence embeddings.
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench recall`.
//! Parameters (environment): `RECALL_MEMORIES` (default 100000), `RECALL_CONTACTS`,
//! `RECALL_CLUSTERS`, `RECALL_QUERIES`, `RECALL_EF` (`hnsw.ef_search` list), `RECALL_K`,
//! `RECALL_LATENT` (0 = isotropic), `RECALL_REUSE=1` (keep the set a previous run with the same
//! parameters loaded, and its index: only the queries run).

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
use switchboard::domain::{ContactId, MemoryId, MemoryKind, OrganizationId};

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
    let latent: usize = param("RECALL_LATENT", 0);
    let reuse: bool = param("RECALL_REUSE", 0u8) == 1;
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
            ("RECALL_LATENT", latent.to_string()),
            ("RECALL_REUSE", reuse.to_string()),
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

    let mut rng = StdRng::seed_from_u64(20261129);
    let shape = Shape::new(&mut rng, dims, latent);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| unit(&mut rng, shape.space()))
        .collect();
    let (org, contact_ids) = if reuse {
        loaded_set(&mut conn, total).await?
    } else {
        load(&mut conn, &mut rng, &shape, &centres, total, contact_count).await?
    };

    let probes: Vec<Vector> = (0..queries)
        .map(|_| {
            let centre = &centres[rng.random_range(0..clusters)];
            Vector::from(shape.sample(&mut rng, centre))
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
            AgentMemory::nearest(conn, org, contact, probe.clone(), 5).await
        })
        .await?;
        record(&mut latency, started.elapsed());
    }
    if let (Some(probe), Some(contact)) = (<[_]>::first(&probes), <[_]>::first(&contact_ids)) {
        println!(
            "per-contact plan: {}",
            plan(&mut conn, org, *contact, probe).await?
        );
    }
    println!(
        "RESULT per-contact recall (organisation + contact filter, k=5, ~{} memories per contact): {}",
        total / contact_ids.len().max(1),
        latency_line(&latency)
    );
    Ok(())
}

/// Loads a fresh set of `total` memories (deleting every other one), re-creating the HNSW index
/// after the load as the migration defines it; prints the load and build times.
async fn load(
    conn: &mut AsyncPgConnection,
    rng: &mut StdRng,
    shape: &Shape,
    centres: &[Vec<f32>],
    total: usize,
    contact_count: usize,
) -> anyhow::Result<(OrganizationId, Vec<ContactId>)> {
    let tenant = common::create_tenant(conn, "recall").await?;
    let contact_ids = create_contacts(conn, tenant.org, contact_count).await?;
    sql_query("DELETE FROM agent_memories")
        .execute(conn)
        .await?;
    sql_query("DROP INDEX IF EXISTS agent_memories_embedding_idx")
        .execute(conn)
        .await?;
    let started = Instant::now();
    let mut batch = Vec::with_capacity(2_000);
    for n in 0..total {
        let centre = &centres[rng.random_range(0..centres.len())];
        batch.push(AgentMemoryInsertForm {
            id: MemoryId::new(),
            organization_id: tenant.org,
            contact_id: contact_ids[n % contact_ids.len()],
            agent_id: None,
            kind: MemoryKind::Fact,
            content: format!("synthetic memory {n}"),
            embedding: Some(Vector::from(shape.sample(rng, centre))),
            source_message_id: None,
        });
        if batch.len() == 2_000 || n + 1 == total {
            diesel::insert_into(agent_memories::table)
                .values(&batch)
                .execute(conn)
                .await?;
            batch.clear();
        }
    }
    println!(
        "loaded {total} memories in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sql_query("SET maintenance_work_mem = '2GB'")
        .execute(conn)
        .await?;
    let started = Instant::now();
    sql_query(
        "CREATE INDEX agent_memories_embedding_idx ON agent_memories \
         USING hnsw (embedding vector_cosine_ops)",
    )
    .execute(conn)
    .await?;
    println!(
        "HNSW index (m=16, ef_construction=64, the migration's) built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sql_query("ANALYZE agent_memories").execute(conn).await?;

    Ok((tenant.org, contact_ids))
}

/// The organisation and contacts of the set an earlier run loaded (`RECALL_REUSE=1`).
async fn loaded_set(
    conn: &mut AsyncPgConnection,
    total: usize,
) -> anyhow::Result<(OrganizationId, Vec<ContactId>)> {
    #[derive(QueryableByName)]
    struct Owner {
        #[diesel(sql_type = SqlUuid)]
        organization_id: uuid::Uuid,
        #[diesel(sql_type = SqlUuid)]
        contact_id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let owners = sql_query(
        "SELECT organization_id, contact_id, count(*) AS rows FROM agent_memories \
         GROUP BY organization_id, contact_id",
    )
    .load::<Owner>(conn)
    .await?;
    let stored: i64 = owners.iter().map(|o| o.rows).sum();
    anyhow::ensure!(
        usize::try_from(stored)? == total,
        "RECALL_REUSE=1 but the bench database holds {stored} memories, not {total}: run once without it"
    );
    let org = <[_]>::first(&owners)
        .map(|o| OrganizationId::from(o.organization_id))
        .ok_or_else(|| anyhow::anyhow!("no memories loaded"))?;
    println!("reusing the {stored} memories and the index a previous run loaded");
    Ok((
        org,
        owners
            .into_iter()
            .map(|o| ContactId::from(o.contact_id))
            .collect(),
    ))
}

/// How PostgreSQL runs the product's recall query (the index it picks), on one line.
async fn plan(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact: ContactId,
    probe: &Vector,
) -> anyhow::Result<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = "QUERY PLAN")]
        line: String,
    }
    let lines = sql_query(
        "EXPLAIN SELECT id FROM agent_memories WHERE organization_id = $1 AND contact_id = $2 \
         AND embedding IS NOT NULL ORDER BY embedding <=> $3 LIMIT 5",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(contact)
    .bind::<pgvector::sql_types::Vector, _>(probe)
    .load::<Line>(conn)
    .await?;
    Ok(lines
        .into_iter()
        .map(|l| without_vector_literal(l.line.trim()))
        .collect::<Vec<_>>()
        .join(" / "))
}

/// A plan line with the probe's 384 numbers left out.
fn without_vector_literal(line: &str) -> String {
    match (line.find("'["), line.find("]'")) {
        (Some(start), Some(end)) if start < end => {
            format!("{}'[…]'{}", &line[..start], &line[end + 2..])
        }
        _ => line.to_owned(),
    }
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

/// Where memories live before they become column vectors: the column's own space, or a
/// low-dimensional one projected into it.
struct Shape {
    dims: usize,
    projection: Option<Vec<Vec<f32>>>,
}

impl Shape {
    fn new(rng: &mut StdRng, dims: usize, latent: usize) -> Self {
        let projection = (latent > 0).then(|| {
            (0..dims)
                .map(|_| (0..latent).map(|_| gaussian(rng)).collect())
                .collect()
        });
        Self { dims, projection }
    }

    /// Dimensions topics and noise are drawn in.
    fn space(&self) -> usize {
        self.projection
            .as_ref()
            .and_then(|p| <[_]>::first(p))
            .map_or(self.dims, Vec::len)
    }

    /// A memory near `centre` (a topic in `space()`), as a column vector.
    fn sample(&self, rng: &mut StdRng, centre: &[f32]) -> Vec<f32> {
        let point = near(rng, centre);
        match &self.projection {
            None => point,
            Some(rows) => normalise(
                rows.iter()
                    .map(|row| row.iter().zip(&point).map(|(a, b)| a * b).sum())
                    .collect(),
            ),
        }
    }
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
