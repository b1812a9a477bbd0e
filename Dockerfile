# syntax=docker/dockerfile:1
# Build: docker build -t retention-kpi .
# Run:   docker run --rm -p 8080:8080 --read-only retention-kpi

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo "fn main() {}" > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
RUN touch src/main.rs src/lib.rs && cargo build --release --locked \
    && strip target/release/retention-kpi

FROM debian:bookworm-slim AS runtime
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin kpi
COPY --from=build /src/target/release/retention-kpi /usr/local/bin/retention-kpi
USER 10001
ENV HOST=0.0.0.0 PORT=8080 LOG_FORMAT=json
EXPOSE 8080
# The binary checks its own health: no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/retention-kpi", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/retention-kpi"]
