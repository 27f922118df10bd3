# Multi-stage build: compile with the Rust toolchain, ship a small non-root runtime image.
#   docker build -t newswatch .
#   docker run -d --name newswatch -v newswatch-state:/var/lib/newswatch \
#     -v $PWD/sources.toml:/etc/newswatch/sources.toml:ro \
#     -e NEWSWATCH_SMTP_PASSWORD=... -p 127.0.0.1:9184:9184 newswatch
# In the mounted sources.toml set state_dir = "/var/lib/newswatch" and, for metrics,
# listen = "0.0.0.0:9184".
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY benches ./benches
COPY examples ./examples
RUN cargo build --release --locked --bin newswatch

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/newswatch --create-home newswatch \
 && mkdir -p /etc/newswatch
COPY --from=build /src/target/release/newswatch /usr/local/bin/newswatch
COPY sources.toml /etc/newswatch/sources.toml
USER newswatch
WORKDIR /var/lib/newswatch
ENV NEWSWATCH_CONFIG=/etc/newswatch/sources.toml NEWSWATCH_LOG_FORMAT=json RUST_LOG=info
EXPOSE 9184
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=60s --timeout=5s CMD ["newswatch", "validate"]
ENTRYPOINT ["newswatch"]
CMD ["run"]
