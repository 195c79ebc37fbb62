# syntax=docker/dockerfile:1
#
# Reconstructor's container image: a Rust build stage and a small, non-root runtime stage.
#
#   docker build -t reconstructor:0.1.0 .
#
# The Helm chart in helm/reconstructor runs this image by default; docs/deployment.md shows how
# to push it to a registry or load it into a kind cluster.

# Image metadata (OCI labels): pass the release's version and the commit it was built from, e.g.
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
# The revision also reaches the binary, which reports it in reconstructor_build_info.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/reconstructor/reconstructor

# The builder and the runtime share one Debian release, so the binary links against the glibc it
# was built with. 1.95 is the toolchain the project is tested with (rust-version says 1.88 is the
# minimum; a newer one works too).
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---- chef: the builder toolchain plus cargo-chef, which caches dependency builds in a layer ----
FROM docker.io/library/rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

# ---- planner: reduce the workspace to a recipe (manifests + lock file) ----
# Copying everything here is cheap: only recipe.json leaves this stage, and it changes only when
# a manifest or Cargo.lock does. `--bin reconstructor` keeps the workspace members the server
# needs (wire/) and drops the others (bench/, ...), so neither their manifests nor new members
# need a change here. worker/ and fuzz/ are workspaces of their own, left out of the context.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json --bin reconstructor

# ---- builder: dependencies first (cached until the recipe changes), then our own crates ----
FROM chef AS builder
# A release build for the image carries no debug info and no symbol table (over 100 MB of the
# binary otherwise); Cargo.toml's release profile keeps line tables for local profiling. Set
# here, before the dependencies are cooked, so they are built with the same profile.
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=symbols
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin reconstructor
COPY . .
ARG REVISION
# --locked: build exactly what Cargo.lock pins, and fail instead of silently updating it.
RUN RECONSTRUCTOR_REVISION="${REVISION}" cargo build --release --locked --bin reconstructor \
 && install -D -m 0755 target/release/reconstructor /out/usr/local/bin/reconstructor \
 && install -d -m 0750 /out/var/lib/reconstructor

# ---- runtime: glibc, libgcc, CA certificates and tzdata; no shell, no package manager ----
FROM ${RUNTIME_IMAGE}
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="reconstructor" \
      org.opencontainers.image.description="Receives mirrored HTTP traffic, stores it, discovers API endpoints and reconstructs OpenAPI specs." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/usr/local/bin/reconstructor /usr/local/bin/reconstructor
# The data directory holds the SQLite database when no Postgres URL is given. It belongs to the
# image's non-root user (65532, "nonroot" in distroless) so the default start-up works without a
# volume; mount one there to keep the data.
# (Copying the parent makes the directory itself a new, chowned entry; COPY of a directory alone
# would chown only its contents.)
COPY --from=builder --chown=65532:65532 /out/var/lib/ /var/lib/
ENV RECONSTRUCTOR_DATA_DIR=/var/lib/reconstructor \
    RECONSTRUCTOR_LISTEN=0.0.0.0:8090
USER 65532:65532
WORKDIR /var/lib/reconstructor
EXPOSE 8090
# No HEALTHCHECK: the runtime image has no HTTP client to run one with, by design. Orchestrators
# probe GET /healthz (liveness) and GET /readyz (readiness) on port 8090 from outside instead.
# SIGTERM starts a graceful shutdown bounded by RECONSTRUCTOR_SHUTDOWN_TIMEOUT (default 20s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/reconstructor"]
CMD ["serve"]
