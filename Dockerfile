# memsight image: a static binary built with the committed BPF objects (no
# clang needed), on a minimal base. Runs the node agent.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/memsight ./cmd/memsight

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="memsight" \
      org.opencontainers.image.description="eBPF memory profiler for Go processes" \
      org.opencontainers.image.source="https://github.com/memsight/memsight" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/memsight /usr/bin/memsight
USER 0
ENTRYPOINT ["/usr/bin/memsight"]
CMD ["agent"]
