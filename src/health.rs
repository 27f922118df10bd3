//! The daemon's own HTTP endpoints, for operators: `/healthz`, `/metrics` (Prometheus text) and
//! `/status` (a small HTML page of source health), and the listener that serves them with the
//! web pages ([`crate::web`]). Served on `[settings] listen` when set.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::status::Status;
use crate::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct AppState {
    config: Arc<Config>,
    store: Store,
    metrics: Metrics,
}

/// Connections served at once. A status port serves a metrics scraper and an operator or two;
/// past this, new connections are answered 503 and closed at once, so a flood of them (or of
/// slow ones) costs the process a bounded number of file descriptors, which its crawls need.
pub const MAX_CONNECTIONS: usize = 32;
/// A client must send its request headers within this long (slow-loris clients are dropped).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed after this long, whatever it is doing (a client that never reads
/// its response). Connections serve one request each: no idle keep-alive to hold a slot.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(20);
/// What a connection over [`MAX_CONNECTIONS`] is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n";

/// Binds `addr` now (so a taken port fails at start-up) and serves until `cancel` fires: the
/// operator's endpoints and the web pages ([`crate::web`]), all but `/healthz` behind the token
/// when one is configured.
pub async fn serve(
    addr: SocketAddr,
    web: crate::web::Web,
    metrics: Metrics,
    cancel: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let settings = &web.config.settings.web;
    let guard = settings.token.as_ref().map(|token| {
        let secure = settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        crate::web::auth::Guard::new(token, secure, web.pages.clone())
    });
    tracing::info!(%addr, token = guard.is_some(), "serving the web pages, /healthz, /metrics and /status");
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/status", get(status_page))
        .with_state(AppState {
            config: web.config.clone(),
            store: web.store.clone(),
            metrics,
        })
        .merge(crate::web::routes(web));
    if let Some(guard) = guard {
        app = app.layer(axum::middleware::from_fn_with_state(
            guard,
            crate::web::auth::guard,
        ));
    }
    Ok(tokio::spawn(accept_loop(listener, app, cancel)))
}

/// Accepts connections until `cancel` fires, at most [`MAX_CONNECTIONS`] served at once, each
/// bounded by [`HEADER_READ_TIMEOUT`] and [`CONNECTION_TIMEOUT`]. `axum::serve` has none of
/// these bounds, so connections are driven by hyper's own HTTP/1 server here.
async fn accept_loop(listener: tokio::net::TcpListener, app: Router, cancel: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(false);
    let service = TowerToHyperService::new(app);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = cancel.cancelled() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // wait a little rather than spin, and go on.
                tracing::warn!("status server: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Never waits: the socket's buffer is empty, and a client that cannot take 100
            // bytes is not worth a slot.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let connection = http.serve_connection(TokioIo::new(stream), service.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                Ok(Err(e)) => tracing::debug!("status server connection: {e}"),
                Err(_) => {
                    tracing::debug!("status server connection closed after {CONNECTION_TIMEOUT:?}")
                }
                Ok(Ok(())) => {}
            }
        });
    }
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
        for sink in &status.sinks {
            let st = &sink.state;
            s.metrics.set_sink(
                &sink.name,
                st.pending,
                sink.failing(),
                st.last_delivery.map_or(0, |t| t.timestamp()),
                st.last_error.as_ref().map_or(0, |f| f.at.timestamp()),
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
