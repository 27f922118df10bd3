//! The daemon's own HTTP endpoints, for operators: `/healthz`, `/metrics` (Prometheus text) and
//! `/status` (a small HTML page of source health). Served on `[settings] listen` when set.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::status::Status;
use crate::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    store: Store,
    metrics: Metrics,
}

/// Binds `addr` now (so a taken port fails at start-up) and serves until `cancel` fires.
pub async fn serve(
    addr: SocketAddr,
    config: Arc<Config>,
    store: Store,
    metrics: Metrics,
    cancel: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /metrics and /status");
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/status", get(status_page))
        .with_state(AppState {
            config,
            store,
            metrics,
        });
    Ok(tokio::spawn(async move {
        let shutdown = async move { cancel.cancelled().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("status server stopped: {e}");
        }
    }))
}

/// 200 while the store answers; 503 otherwise.
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s.store.source_states() {
        Ok(_) => (StatusCode::OK, "ok\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unreadable\n"),
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    // The gauges come from the same status model as `status`, the page and the digest footer.
    if let Ok(status) = Status::from_store(&s.config, &s.store) {
        for d in status.digests.iter().flatten() {
            s.metrics.set_pending(&d.name, d.pending);
        }
        for source in &status.sources {
            let last = source.state.last_success.map_or(0, |t| t.timestamp());
            s.metrics.set_source(
                &source.name,
                last,
                source.state.consecutive_failures,
                source.failing(),
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

async fn status_page(State(s): State<AppState>) -> impl IntoResponse {
    match Status::from_store(&s.config, &s.store) {
        Ok(status) => Html(status.render_html()).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unreadable: {}\n", crate::error_chain(&e)),
        )
            .into_response(),
    }
}
