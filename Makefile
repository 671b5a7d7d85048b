# memsight — make help lists the targets.
GO       ?= go
BIN      ?= bin/memsight
# The version, in one place: the deploy/VERSION file (SemVer, 0.1.0). Binaries,
# the git tag and image tags are v0.1.0, the chart's version 0.1.0 and its
# appVersion v0.1.0; deploy/version_test.go checks that every file agrees.
# The commit is stamped too, for the builds where the go command records
# none (a git worktree); a dirty tree shows in the build info.
RELEASE  := $(shell cat deploy/VERSION)
VERSION  := v$(RELEASE)
REVISION := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
# -buildvcs=auto overrides a GOFLAGS=-buildvcs=false in the go env, so that
# release binaries record their commit.
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)'
PLATFORMS ?= linux/amd64 linux/arm64
DIST     ?= dist
FUZZTIME ?= 10s
# Fuzzing runs on go1.27.3 (fetched by the go command, as the cross-version
# tests do): go1.26's fuzz coordinator can fail a clean run with "context
# deadline exceeded" at the end of -fuzztime (golang/go#75804, fixed in 1.27).
FUZZ_GOTOOLCHAIN ?= go1.27.3
IMAGE_REPO ?= ghcr.io/memsight/memsight
IMAGE    ?= $(IMAGE_REPO):$(VERSION)
IMAGE_BUILD_ARGS = --build-arg VERSION=$(VERSION) \
	--build-arg REVISION=$(or $(REVISION),unknown) \
	--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ)
# What .ci/setup installs (helm) lands in GOBIN: make finds it there even
# when GOBIN is not on the caller's PATH.
GOBIN_DIR := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
export PATH := $(PATH):$(GOBIN_DIR)
space := $(subst ,, )
comma := ,
# The BPF compiler and formatter. The committed objects' bytes depend on the
# compiler's version: make generate accepts clang 14 only (pkg/probe/gen.go
# names clang-14; bpf2go strips with llvm-strip-14). clang-format's output
# depends on its version too.
BPF_CC     := clang-14
BPF_FORMAT := clang-format-14
# The C of bpf/ that clang-format checks: all but the vendored libbpf headers.
BPF_FMT_FILES = $(filter-out bpf/include/bpf/%,$(shell git ls-files 'bpf/*.c' 'bpf/*.h'))
# Packages with fuzz targets, as "package:FuzzName".
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' pkg | xargs -r grep -H '^func Fuzz' | sed -E 's|^(.*)/[^/]*_test.go:func (Fuzz[A-Za-z0-9_]*).*|\1:\2|' | sort -u)

.PHONY: help setup build release image image-push generate check-generated test unit fuzz lint fmt demo bench clean update-offsets

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

build: ## build bin/memsight (needs no clang: BPF objects are committed)
	$(GOBUILD) -o $(BIN) ./cmd/memsight

release: ## dist/: static binaries for PLATFORMS (tar.gz with the licenses), their SBOMs, the chart package, SHA256SUMS
	@bash .ci/setup release
	rm -rf $(DIST) && mkdir -p $(DIST)
	@set -e; epoch=$$(git log -1 --format=%ct 2>/dev/null || echo 0); \
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; obj=$$arch; [ $$arch = amd64 ] && obj=x86; \
		name=memsight-$(RELEASE).$$os-$$arch; mkdir -p $(DIST)/$$name; \
		echo "release: $$name"; \
		GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(DIST)/$$name/memsight ./cmd/memsight; \
		cp -r LICENSE bpf/LICENSES README.md $(DIST)/$$name/; \
		(cd deploy && $(GO) run ./sbom -o $(abspath $(DIST))/$$name.cdx.json -version $(VERSION) -time $$epoch \
			-bpf $(CURDIR)/pkg/probe/memsight_$${obj}_bpfel.o $(abspath $(DIST))/$$name/memsight); \
		tar -C $(DIST) --sort=name --mtime=@$$epoch --owner=0 --group=0 --numeric-owner -cf - $$name | gzip -n > $(DIST)/$$name.tar.gz; \
		rm -r $(DIST)/$$name; \
	done
	helm package deploy/helm/memsight --destination $(DIST)
	cd $(DIST) && sha256sum * > SHA256SUMS && cat SHA256SUMS

image: ## build the container image IMAGE for this machine's platform with docker (OCI labels: version, git revision, build time)
	@command -v docker >/dev/null || { echo "make image needs docker"; exit 1; }
	docker build $(IMAGE_BUILD_ARGS) -t $(IMAGE) .

image-push: ## build the linux/amd64 and linux/arm64 image with docker buildx and push it as IMAGE
	@command -v docker >/dev/null || { echo "make image-push needs docker with buildx"; exit 1; }
	docker buildx build --platform $(subst $(space),$(comma),$(PLATFORMS)) $(IMAGE_BUILD_ARGS) -t $(IMAGE) --push .

generate: ## regenerate the BPF objects from bpf/ with bpf2go and clang 14 (installs clang-14, llvm-14 when missing)
	@bash .ci/setup generate
	@v="$$($(BPF_CC) --version 2>/dev/null | head -n 1)"; case "$$v" in *"clang version 14."*) ;; \
		*) echo "make generate: needs clang 14 as $(BPF_CC) (the committed objects' bytes depend on the compiler's version); found: $${v:-no $(BPF_CC)}"; exit 1 ;; esac
	$(GO) generate ./pkg/probe/...

check-generated: generate ## fail if the committed BPF objects differ from a fresh build
	@git diff --exit-code -- pkg/probe || { echo "generated BPF files are not up to date: run 'make generate' and commit"; exit 1; }

test: unit fuzz ## the whole suite: unit + real-process BPF tests, then each fuzz target briefly
	@echo "make test: all passed"

setup: ## install what the tests need when missing: helm, Chromium, the Go 1.27.3 toolchain (.ci/setup)
	@bash .ci/setup test

unit: setup ## go test ./... and the deploy module's tests (BPF tests load for real: run as root)
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	cd deploy && $(GO) test -count=1 -timeout 10m ./...

fuzz: ## run every fuzz target for FUZZTIME (default 10s)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz ./$$pkg $$name ($(FUZZTIME))"; \
		GOTOOLCHAIN=$(FUZZ_GOTOOLCHAIN) $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME); \
	done

lint: ## golangci-lint (.golangci.yml: vet, staticcheck, errorlint, sloglint, depguard, unparam, gocritic, gofmt), and clang-format-14 on bpf/ (installs both when missing)
	@bash .ci/setup lint
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	golangci-lint run ./...
	cd deploy && golangci-lint run --config ../.golangci.yml ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@$(BPF_FORMAT) --dry-run --Werror $(BPF_FMT_FILES) || { echo "bpf/ is not formatted as bpf/.clang-format says: run 'make fmt'"; exit 1; }

fmt: ## gofmt the tree and clang-format-14 bpf/
	@bash .ci/setup lint
	gofmt -w $$(git ls-files '*.go')
	$(BPF_FORMAT) -i $(BPF_FMT_FILES)

demo: build ## build memsight and the example service, run it, and watch it with memsight
	./examples/demo.sh $(BIN)

bench: build ## benchmarks (root; ≈ 70 min, each script's header names the env that shortens it): workload, HTTP server, agent memory, CPU, latency, profiles, build churn
	./bench/run.sh $(BIN)
	./bench/http.sh $(BIN)
	./bench/memory.sh $(BIN)
	./bench/agent.sh $(BIN)
	./bench/profile.sh $(BIN)
	./bench/churn.sh $(BIN)

clean: ## remove build outputs
	rm -rf bin $(DIST)

update-offsets: ## regenerate pkg/goexe/layout_table.json from the DWARF of go1.20..go1.27 builds (fetches toolchains)
	$(GO) run ./pkg/goexe/internal/layoutgen -out pkg/goexe/layout_table.json
