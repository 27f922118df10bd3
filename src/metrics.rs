//! Metrics: counters the pipeline bumps as it works, rendered as Prometheus text on `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    source: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CrawlLabels {
    source: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ArticleLabels {
    source: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DigestLabels {
    digest: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    digest: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    sink: String,
}

struct Inner {
    registry: Registry,
    fetches: Family<FetchLabels, Counter>,
    crawls: Family<CrawlLabels, Counter>,
    articles: Family<ArticleLabels, Counter>,
    digests: Family<DigestLabels, Counter>,
    queue_depth: Family<QueueLabels, Gauge>,
    last_success: Family<SourceLabels, Gauge>,
    failing_for: Family<SourceLabels, Gauge>,
    failing: Family<SourceLabels, Gauge>,
    sink_pending: Family<SinkLabels, Gauge>,
    sink_failing: Family<SinkLabels, Gauge>,
    sink_last_delivery: Family<SinkLabels, Gauge>,
    sink_last_error: Family<SinkLabels, Gauge>,
}

/// Shared counters; cloning shares them.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("newswatch");
        let fetches = Family::<FetchLabels, Counter>::default();
        let crawls = Family::<CrawlLabels, Counter>::default();
        let articles = Family::<ArticleLabels, Counter>::default();
        let digests = Family::<DigestLabels, Counter>::default();
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        let last_success = Family::<SourceLabels, Gauge>::default();
        let failing_for = Family::<SourceLabels, Gauge>::default();
        let failing = Family::<SourceLabels, Gauge>::default();
        let sink_pending = Family::<SinkLabels, Gauge>::default();
        let sink_failing = Family::<SinkLabels, Gauge>::default();
        let sink_last_delivery = Family::<SinkLabels, Gauge>::default();
        let sink_last_error = Family::<SinkLabels, Gauge>::default();
        registry.register(
            "sink_pending",
            "Revisions stored and not yet delivered to each sink",
            sink_pending.clone(),
        );
        registry.register(
            "sink_failing",
            "1 while a sink's deliveries fail (revisions wait in the store), else 0",
            sink_failing.clone(),
        );
        registry.register(
            "sink_last_delivery_timestamp_seconds",
            "Unix time of the last batch a sink's database committed (0: never)",
            sink_last_delivery.clone(),
        );
        registry.register(
            "sink_last_error_timestamp_seconds",
            "Unix time of a sink's last failed delivery (0: never)",
            sink_last_error.clone(),
        );
        registry.register(
            "fetches",
            "HTTP fetches by source and outcome (status code, 304, timeout, blocked, too_large, robots_unavailable, error)",
            fetches.clone(),
        );
        registry.register(
            "crawls",
            "Crawls by source and result (ok, degraded: some pages failed, failed: the source could not be read)",
            crawls.clone(),
        );
        registry.register(
            "articles",
            "Articles stored, by source and kind (new, updated, repost)",
            articles.clone(),
        );
        registry.register(
            "digest_sends",
            "Digest deliveries by digest and result (sent, failed, refused: for good, not retried)",
            digests.clone(),
        );
        registry.register(
            "queue_depth",
            "Articles pending for each digest",
            queue_depth.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of each source's last successful crawl (0: never)",
            last_success.clone(),
        );
        registry.register(
            "consecutive_failures",
            "Failed crawls in a row, by source",
            failing_for.clone(),
        );
        registry.register(
            "source_failing",
            "1 when a source has failed alert_after_failures crawls in a row (as status and the digest footer report it), else 0",
            failing.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                fetches,
                crawls,
                articles,
                digests,
                queue_depth,
                last_success,
                failing_for,
                failing,
                sink_pending,
                sink_failing,
                sink_last_delivery,
                sink_last_error,
            }),
        }
    }

    /// Counts one fetch for `source` with `status` (an HTTP code or an outcome word).
    pub fn fetch(&self, source: &str, status: &str) {
        self.inner
            .fetches
            .get_or_create(&FetchLabels {
                source: source.to_owned(),
                status: status.to_owned(),
            })
            .inc();
    }

    /// Counts one crawl of `source` with `result` (`ok`, `degraded`, `failed`).
    pub fn crawl(&self, source: &str, result: &str) {
        self.inner
            .crawls
            .get_or_create(&CrawlLabels {
                source: source.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts `n` articles of `kind` stored for `source`.
    pub fn articles(&self, source: &str, kind: &str, n: u64) {
        if n > 0 {
            self.inner
                .articles
                .get_or_create(&ArticleLabels {
                    source: source.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc_by(n);
        }
    }

    /// Counts one delivery attempt of `digest`.
    pub fn digest(&self, digest: &str, sent: bool) {
        self.inner
            .digests
            .get_or_create(&DigestLabels {
                digest: digest.to_owned(),
                result: if sent { "sent" } else { "failed" }.to_owned(),
            })
            .inc();
    }

    /// Counts one digest the server refused for good (`result="refused"`): reported, not
    /// retried; its items wait for the next digest.
    pub fn digest_refused(&self, digest: &str) {
        self.inner
            .digests
            .get_or_create(&DigestLabels {
                digest: digest.to_owned(),
                result: "refused".to_owned(),
            })
            .inc();
    }

    /// Sets the gauges read from the store at scrape time: articles pending for `digest`
    /// (exposed as `newswatch_queue_depth`, the name dashboards already use).
    pub fn set_pending(&self, digest: &str, depth: usize) {
        self.inner
            .queue_depth
            .get_or_create(&QueueLabels {
                digest: digest.to_owned(),
            })
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    pub fn set_source(
        &self,
        source: &str,
        last_success_unix: i64,
        consecutive_failures: u32,
        failing: bool,
    ) {
        let labels = SourceLabels {
            source: source.to_owned(),
        };
        self.inner
            .last_success
            .get_or_create(&labels)
            .set(last_success_unix);
        self.inner
            .failing_for
            .get_or_create(&labels)
            .set(i64::from(consecutive_failures));
        self.inner
            .failing
            .get_or_create(&labels)
            .set(i64::from(failing));
    }

    /// Sets a sink's gauges, read from the status model at scrape time.
    pub fn set_sink(
        &self,
        sink: &str,
        pending: u64,
        failing: bool,
        last_delivery_unix: i64,
        last_error_unix: i64,
    ) {
        let labels = SinkLabels {
            sink: sink.to_owned(),
        };
        let inner = &self.inner;
        inner
            .sink_pending
            .get_or_create(&labels)
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        inner
            .sink_failing
            .get_or_create(&labels)
            .set(i64::from(failing));
        inner
            .sink_last_delivery
            .get_or_create(&labels)
            .set(last_delivery_unix);
        inner
            .sink_last_error
            .get_or_create(&labels)
            .set(last_error_unix);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.inner.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges() {
        let m = Metrics::new();
        m.fetch("qiaokou", "200");
        m.fetch("qiaokou", "200");
        m.fetch("qiaokou", "timeout");
        m.articles("qiaokou", "new", 3);
        m.digest("digest", false);
        m.digest_refused("digest");
        m.set_pending("digest", 5);
        m.set_source("qiaokou", 1_751_400_000, 0, false);
        m.set_source("down", 0, 3, true);
        m.crawl("down", "failed");
        m.set_sink("team-pg", 12, true, 1_751_400_000, 1_751_400_060);
        let text = m.render();
        assert!(text.contains(r#"newswatch_sink_pending{sink="team-pg"} 12"#));
        assert!(text.contains(r#"newswatch_sink_failing{sink="team-pg"} 1"#));
        assert!(
            text.contains(
                r#"newswatch_sink_last_error_timestamp_seconds{sink="team-pg"} 1751400060"#
            )
        );
        assert!(
            text.contains(r#"newswatch_fetches_total{source="qiaokou",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"newswatch_fetches_total{source="qiaokou",status="timeout"} 1"#));
        assert!(text.contains(r#"newswatch_articles_total{source="qiaokou",kind="new"} 3"#));
        assert!(
            text.contains(r#"newswatch_digest_sends_total{digest="digest",result="failed"} 1"#)
        );
        assert!(text.contains(r#"newswatch_queue_depth{digest="digest"} 5"#));
        assert!(
            text.contains(r#"newswatch_digest_sends_total{digest="digest",result="refused"} 1"#)
        );
        assert!(
            text.contains(
                r#"newswatch_last_success_timestamp_seconds{source="qiaokou"} 1751400000"#
            )
        );
        assert!(text.contains(r#"newswatch_source_failing{source="down"} 1"#));
        assert!(text.contains(r#"newswatch_source_failing{source="qiaokou"} 0"#));
        assert!(text.contains(r#"newswatch_crawls_total{source="down",result="failed"} 1"#));
        assert!(text.ends_with("# EOF\n"));
    }
}
