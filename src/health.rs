//! The daemon's own HTTP endpoints, for operators: `/healthz`, `/metrics` (Prometheus text) and
//! `/status` (a small HTML page of source health). Served on `[settings] listen` when set.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::status;
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
    for d in &s.config.digests {
        s.metrics
            .set_queue_depth(&d.name, s.store.queue_len(&d.name));
    }
    for source in &s.config.sources {
        let state = s.store.source_state(&source.name).unwrap_or_default();
        let last = state.last_success.map_or(0, |t| t.timestamp());
        s.metrics
            .set_source(&source.name, last, state.consecutive_failures);
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
    let states = s
        .store
        .source_states()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut rows = String::new();
    for st in status::collect(&s.config, &states) {
        let colour = if st.failing {
            "#fde2e1"
        } else if st.state.consecutive_failures > 0 {
            "#fef3c7"
        } else {
            "#ffffff"
        };
        rows.push_str(&format!(
            "<tr style=\"background:{colour}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            crate::escape_html(&st.name),
            crate::escape_html(&st.health),
            status::format_time(&s.config, st.state.last_success),
            st.state.articles_stored,
            crate::escape_html(st.next_run.as_deref().unwrap_or("unknown")),
            st.state.errors_total,
            crate::escape_html(st.state.last_error.as_deref().unwrap_or("")),
        ));
    }
    let queues: String = s
        .config
        .digests
        .iter()
        .map(|d| {
            format!(
                "<li>{}: {} waiting</li>",
                crate::escape_html(&d.name),
                s.store.queue_len(&d.name)
            )
        })
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>newswatch status</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#1f2328}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #d0d7de;padding:4px 8px;text-align:left;font-size:14px}}</style></head><body>\
         <h1>newswatch</h1><p>{} sources, {} articles stored</p><ul>{queues}</ul>\
         <table><tr><th>source</th><th>health</th><th>last success</th><th>stored</th><th>next run</th>\
         <th>errors</th><th>last error</th></tr>\n{rows}</table></body></html>",
        s.config.sources.len(),
        s.store.len(),
    ))
}
