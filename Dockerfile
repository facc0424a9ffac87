# One image holding the four binaries; each ECS task chooses one by its command, e.g.
#   ["sso-scim", "serve", "--config", "/etc/identity/sso-scim/config.toml"]
# Build: docker build -t identity .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sso-scim -p api -p import-worker -p admin \
 && install -m 0755 target/release/sso-scim target/release/api target/release/import-worker target/release/admin /usr/local/bin/

FROM debian:bookworm-slim
# curl for the container health check; ca-certificates for a remote registry over HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 identity \
 && useradd --uid 10001 --gid identity --no-create-home --shell /usr/sbin/nologin identity
COPY --from=build /usr/local/bin/sso-scim /usr/local/bin/api /usr/local/bin/import-worker /usr/local/bin/admin /usr/local/bin/
COPY deploy/sso-scim/config.toml /etc/identity/sso-scim/config.toml
COPY deploy/api/config.toml /etc/identity/api/config.toml
COPY deploy/import-worker/config.toml /etc/identity/import-worker/config.toml
COPY deploy/admin/config.toml /etc/identity/admin/config.toml
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
# Without a command the image prints the choices.
CMD ["sh", "-c", "echo 'run one of: sso-scim, api, import-worker, admin (with serve --config /etc/identity/<binary>/config.toml)'; exit 64"]
