//! Migrations are reversible and `src/db/schema.rs` is exactly what `diesel print-schema` makes
//! of them. Each test works in a throwaway database of its own.

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, sql_query};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use switchboard::db::migrate;

/// A database created for one test and dropped after it.
pub struct TempDatabase {
    /// Its URL.
    pub url: String,
    name: String,
    admin_url: String,
}

impl TempDatabase {
    /// Creates an empty database on the test server.
    pub async fn create(label: &str) -> Self {
        let admin_url = std::env::var("SWITCHBOARD_TEST_ADMIN_URL")
            .expect("SWITCHBOARD_TEST_ADMIN_URL is not set: run the tests with deploy/dev/test");
        let name = format!("sbtest_{label}_{}", uuid::Uuid::now_v7().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .expect("admin connection");
        sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create database");
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("admin URL has no database part"),
        };
        Self {
            url,
            name,
            admin_url,
        }
    }

    /// Drops it.
    pub async fn drop(self) {
        let mut admin = AsyncPgConnection::establish(&self.admin_url)
            .await
            .expect("admin connection");
        sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("drop database");
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

async fn table_count(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    sql_query(
        "SELECT count(*) AS count FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result::<Count>(&mut conn)
    .await
    .expect("count")
    .count
}

async fn has_vector_extension(url: &str) -> bool {
    let mut conn = AsyncPgConnection::establish(url).await.expect("connect");
    sql_query("SELECT extname AS name FROM pg_extension WHERE extname = 'vector'")
        .load::<Name>(&mut conn)
        .await
        .expect("query")
        .iter()
        .any(|n| n.name == "vector")
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    let db = TempDatabase::create("migrations").await;
    let first = migrate::run_pending(&db.url).await.expect("up");
    let on_disk = std::fs::read_dir("migrations")
        .expect("migrations dir")
        .count();
    assert_eq!(first.len(), on_disk, "every migration ran");
    // Every table src/db/schema.rs declares (schema_rs_matches_the_migrations keeps that file
    // exact), and nothing else.
    let declared = std::fs::read_to_string("src/db/schema.rs")
        .expect("schema.rs")
        .matches("diesel::table! {")
        .count();
    assert!(declared >= 28, "schema.rs declares the product's tables");
    assert_eq!(
        table_count(&db.url).await,
        i64::try_from(declared).expect("count"),
        "the whole product's tables exist"
    );
    assert!(
        has_vector_extension(&db.url).await,
        "the first migration creates pgvector"
    );

    let reverted = migrate::revert_all(&db.url).await.expect("down");
    assert_eq!(reverted.len(), on_disk);
    assert_eq!(table_count(&db.url).await, 0, "down leaves nothing behind");
    assert!(!has_vector_extension(&db.url).await);

    let again = migrate::run_pending(&db.url).await.expect("up again");
    assert_eq!(again, first);
    assert!(
        migrate::run_pending(&db.url)
            .await
            .expect("idempotent")
            .is_empty()
    );
    db.drop().await;
}

#[tokio::test]
async fn schema_rs_matches_the_migrations() {
    let diesel = std::env::var("DIESEL_BIN")
        .expect("DIESEL_BIN is not set: deploy/dev/test installs diesel_cli and sets it");
    let db = TempDatabase::create("schema").await;
    migrate::run_pending(&db.url).await.expect("up");
    let output = std::process::Command::new(diesel)
        .args(["print-schema", "--database-url", &db.url])
        .output()
        .expect("diesel runs");
    db.drop().await;
    assert!(
        output.status.success(),
        "diesel print-schema failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = String::from_utf8(output.stdout).expect("utf-8");
    let committed = std::fs::read_to_string("src/db/schema.rs").expect("schema.rs");
    assert!(
        generated == committed,
        "src/db/schema.rs is stale: regenerate it with `diesel print-schema > src/db/schema.rs` against a migrated database"
    );
}
