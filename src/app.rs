//! Assembles the HTTP server from an `AppContext`: middleware, extractor settings, routes, the
//! JSON 404, and graceful shutdown (actix drains in-flight requests on SIGTERM).

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::TcpListener;
use std::time::Duration;

use crate::actors::agent::AgentTurnHandler;
use crate::api;
use crate::api::error::ApiError;
use crate::context::AppContext;
use crate::node::Node;
use std::sync::Arc;

/// A bound, not yet awaited server, with the address it listens on (port 0 picks a free one).
pub struct RunningServer {
    /// Await to serve until shutdown.
    pub server: Server,
    /// The bound address.
    pub addr: std::net::SocketAddr,
    /// The real-time runtime serving beside the HTTP server.
    pub node: Node,
}

/// Binds the listener and builds the server.
pub fn build_server(ctx: AppContext, listener: TcpListener) -> anyhow::Result<RunningServer> {
    let addr = listener.local_addr()?;
    let config = ctx.config().server.clone();
    ctx.start_background()?;
    // One registry, with memory, for agent turns and the approvals API alike, so an approved
    // `remember` runs exactly like a direct one; the memories API shares its store.
    let memory = ctx.long_term();
    let registry = crate::tools::ToolRegistry::new(&ctx).with_memory(memory.clone());
    let tools: Arc<dyn crate::tools::ToolExecutor> = Arc::new(registry.clone());
    let agents = AgentTurnHandler::with_typing(&ctx, Some(tools), crate::channels::typists())
        .map_err(|e| anyhow::anyhow!("cannot build the model client: {e}"))?;
    // Pitches share the agents' model client: one breaker, one concurrency limit.
    let pitches = crate::pitches::PitchService::new(ctx.clone(), agents.supervisor().llm().clone());
    if ctx.config().pitches.resume_on_start {
        crate::pitches::jobs::resume_orphans(pitches.clone());
    }
    let node = Node::start(&ctx, Arc::new(agents), crate::channels::senders(&ctx));
    let ingestor = web::Data::new(node.ingestor.clone());
    let router = web::Data::new(node.router.clone());
    let outbox_waker = web::Data::new(node.outbox_waker.clone());
    let pollers = web::Data::new(node.pollers.clone());
    let memory = web::Data::new(memory);
    let pitches = web::Data::new(pitches);
    let registry = web::Data::new(registry);
    let data = web::Data::new(ctx);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(ingestor.clone())
            .app_data(router.clone())
            .app_data(outbox_waker.clone())
            .app_data(pollers.clone())
            .app_data(registry.clone())
            .app_data(memory.clone())
            .app_data(pitches.clone())
            .app_data(api::extract::path_config())
            .app_data(api::extract::query_config())
            .app_data(api::extract::json_config(api::extract::JSON_LIMIT_BYTES))
            .configure(api::configure)
            .default_service(web::to(not_found))
            .wrap(from_fn(api::request_id::trace_requests))
    })
    .shutdown_timeout(config.shutdown_timeout_secs)
    .max_connections(config.max_connections_per_worker.max(1))
    .client_request_timeout(Duration::from_secs(30))
    // Inbox frames are small and must leave at once: with Nagle's algorithm on, a frame written
    // while the previous one is unacknowledged waits for the client's delayed ACK (tens of ms).
    .tcp_nodelay(true)
    .listen(listener)?;
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    Ok(RunningServer {
        server: server.run(),
        addr,
        node,
    })
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route",
    ))
}

/// `switchboard serve`: connect, bind, serve until SIGTERM/SIGINT.
pub async fn serve(ctx: AppContext) -> anyhow::Result<()> {
    let bind = ctx.config().server.bind.clone();
    let listener =
        TcpListener::bind(&bind).map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    check_embedding_dimensions(&ctx).await?;
    crate::agents::provision::provision_all(&ctx).await?;
    let running = build_server(ctx.clone(), listener)?;
    tracing::info!(addr = %running.addr, "switchboard listening");
    println!(
        "Switchboard is serving on http://{}  (API docs: http://{}/api/docs/)",
        running.addr, running.addr
    );
    running.server.await?;
    running.node.shutdown().await;
    tracing::info!("switchboard stopped");
    Ok(())
}

/// Refuses to serve when the embedding model's dimension differs from the
/// `agent_memories.embedding` column's, so rows never mix dimensions.
async fn check_embedding_dimensions(ctx: &AppContext) -> anyhow::Result<()> {
    match ctx.long_term().check_dimensions().await {
        Ok(_) => Ok(()),
        Err(e @ crate::memory::LongTermError::DimensionMismatch { .. }) => {
            Err(anyhow::anyhow!("{e}"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not check the embedding dimension at start-up");
            Ok(())
        }
    }
}
