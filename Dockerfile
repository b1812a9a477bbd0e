# syntax=docker/dockerfile:1
# Build: docker build -t retention-kpi:0.1.0 .
# Run:   docker run --rm -p 8080:8080 --read-only retention-kpi:0.1.0
# Base images are pinned by version; pin them by digest too (@sha256:…) in the registry you
# build from — no registry is reachable from the machines this project is developed on.

ARG RUST_VERSION=1.95.0
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY crates/retention-core/Cargo.toml crates/retention-core/
RUN mkdir src crates/retention-core/src && echo "fn main() {}" > src/main.rs \
    && touch src/lib.rs crates/retention-core/src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src crates/retention-core/src
COPY crates ./crates
COPY src ./src
RUN touch src/main.rs src/lib.rs crates/retention-core/src/lib.rs \
    && cargo build --release --locked \
    && strip target/release/retention-kpi

# Distroless: glibc and libgcc only, no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /src/target/release/retention-kpi /usr/local/bin/retention-kpi
USER 65532:65532
ENV HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json
EXPOSE 8080
# The binary checks its own health: there is no curl (or shell) in the image. It writes
# nothing to disk, so a read-only root filesystem works.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/retention-kpi", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/retention-kpi"]
