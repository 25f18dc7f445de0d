# AgentScope in one static binary on a distroless, non-root image.
#
#   docker build -t agentscope .
#   docker run -p 8080:8080 -v agentscope-data:/data agentscope            # SQLite in /data
#   docker run -e AGENTSCOPE_DATABASE_URL=postgres://… agentscope worker   # a worker on Postgres
#
# docker-compose.yml runs it against Postgres with a separate worker.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces go-sdk with the patched copy here (third_party/go-sdk/PATCHED.md).
COPY third_party ./third_party
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# modernc.org/sqlite is pure Go, so the binary needs no libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/agentscope ./cmd/agentscope \
 && mkdir -p /out/data

# A static busybox, only for its wget: the HEALTHCHECK's one HTTP request.
FROM busybox:1.37-musl AS wget

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/agentscope /usr/local/bin/agentscope
# busybox picks the applet by the name it is run as.
COPY --from=wget /bin/busybox /usr/local/bin/wget
# The data dir holds the SQLite database and the generated token; owned by
# the image's non-root user so a fresh named volume mounted here is too.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV AGENTSCOPE_ADDR=0.0.0.0:8080 \
    AGENTSCOPE_DATA_DIR=/data
EXPOSE 8080
# serve answers /healthz; a worker (no listener) gets its own check in
# docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/agentscope"]
CMD ["serve"]
