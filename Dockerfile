# syntax=docker/dockerfile:1
#
# flowmeter's container image: one static binary on a distroless base.
#
#   docker build -t flowmeter .
#   docker run --rm flowmeter version
#
# The stack in docker-compose.yml builds it (docs/docker.md).

# --- build ---------------------------------------------------------------------
# The Go release line of go.mod (go 1.26); the tag follows its patch releases.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION is printed by `flowmeter version`; pass --build-arg VERSION=v1.2.3.
ARG VERSION=dev
# The embedded SQLite store is pure Go, so the binary needs no C library.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -X main.version=${VERSION}" \
        -o /out/flowmeter ./cmd/flowmeter \
 && /out/flowmeter version
# The spool directory, owned by the image's non-root user (65532): an empty named
# volume mounted on /var/lib/flowmeter takes this ownership, so flowmeter can write
# to it. The runtime image has no shell to create it.
RUN mkdir -p /out/var/lib/flowmeter/spool

# --- run -----------------------------------------------------------------------
# Distroless static: CA certificates (for the GitHub, Jira and PagerDuty APIs),
# time zone data (team calendars), /etc/passwd with the nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flowmeter /flowmeter
COPY --from=build --chown=65532:65532 /out/var/lib/flowmeter /var/lib/flowmeter
USER 65532:65532
WORKDIR /var/lib/flowmeter
# Webhook events accepted while the store is down wait here (server.spool_dir).
VOLUME ["/var/lib/flowmeter"]
# /metrics, /healthz, /readyz and the webhooks.
EXPOSE 9420
ENTRYPOINT ["/flowmeter"]
# Listen on every interface of the container: a container's loopback is reachable
# from nowhere else. Publish the port on 127.0.0.1 of the host, or behind a proxy.
CMD ["run", "--config", "/etc/flowmeter/flowmeter.yaml", "--listen", ":9420"]
