# syntax=docker/dockerfile:1
# One image for every Bureau service; compose.yaml picks the binary with `command:`.
#   docker build -t bureau .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p bureau -p bot-gateway -p web-gateway -p storage-worker \
        -p persistence-worker -p notifier \
 && mkdir -p /out \
 && cp target/release/bureau target/release/bot-gateway target/release/web-gateway \
       target/release/storage-worker target/release/persistence-worker \
       target/release/notifier /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app bureau
COPY --from=builder /out/ /usr/local/bin/
COPY config/ /app/config/
WORKDIR /app
USER bureau
ENV BUREAU_CONFIG_DIR=/app/config \
    BUREAU__LOG__FORMAT=json
CMD ["bureau", "run"]
