# memsight image. Build with `make image` (this machine's platform) or
# `make image-push` (linux/amd64 and linux/arm64 with docker buildx), which
# set the version (the VERSION file's) and the OCI labels' revision and
# creation time.
#
# Stage build: a static binary (CGO_ENABLED=0, -trimpath) with the committed
# BPF objects embedded: nothing is generated, so no clang is needed anywhere.
# It runs on the build machine's platform and cross-compiles for the target
# one (buildx sets TARGETOS and TARGETARCH), so no emulation is needed.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION
ARG REVISION
ARG TARGETOS
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" -o /out/memsight ./cmd/memsight

# Final stage: distroless static (CA certificates, tzdata, /etc/passwd; no
# shell, no package manager) and the binary, nothing else.
FROM gcr.io/distroless/static-debian12
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="memsight" \
      org.opencontainers.image.description="eBPF memory profiler for Go processes: finalizer stalls, heap vs RSS, goroutine leaks" \
      org.opencontainers.image.source="https://github.com/memsight/memsight" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=build /out/memsight /usr/bin/memsight
# Root, on purpose: the agent needs CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and
# CAP_DAC_READ_SEARCH in its effective set, which a non-root user gets only as
# ambient capabilities, and Kubernetes cannot set those. The DaemonSet drops
# every other capability (docs/security.md).
USER 0:0
ENTRYPOINT ["/usr/bin/memsight"]
CMD ["agent"]
