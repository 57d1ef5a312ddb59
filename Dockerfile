# syntax=docker/dockerfile:1
# One image for the three services (and the load-test tool); docker-compose.yml picks the command.
#   docker build -t anomaly-detection .
#   docker run --rm -p 8001:8001 -e DATABASE_URL=... -e REDIS_URL=... anomaly-detection inference-service

# ---- build: the Swift toolchain, libpq and hiredis headers ----
FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev libhiredis-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest names the test targets too, so their folders come along.
COPY Package.swift ./
COPY build-support ./build-support
COPY Sources ./Sources
COPY Tests ./Tests
ENV PKG_CONFIG_PATH=/src/build-support/pkgconfig
# `--product` takes one value, so the four products are built one after the other (sharing the build).
RUN for product in training-service inference-service monitoring-service anomaly-loadtest; do \
      swift build -c release --static-swift-stdlib --product "$product" || exit 1; \
    done \
 && mkdir -p /out/bin \
 && cp .build/release/training-service .build/release/inference-service .build/release/monitoring-service \
       .build/release/anomaly-loadtest /out/bin/

# ---- run: a slim Debian with the two client libraries, as a non-root user ----
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 libhiredis0.14 ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 anomaly \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin anomaly
WORKDIR /app
COPY --from=build /out/bin/ /usr/local/bin/
COPY api_docs ./api_docs
COPY dataset ./dataset
# In a container the services listen on every interface; the compose file publishes the ports.
ENV HOST=0.0.0.0 \
    API_DOCS_DIR=/app/api_docs \
    ENVIRONMENT=production
USER 10001:10001
EXPOSE 8000 8001 8002
# Health checks are per service (each has its own port): see docker-compose.yml.
CMD ["inference-service"]
