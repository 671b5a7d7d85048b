# memsight — make help lists the targets.
GO       ?= go
BIN      ?= bin/memsight
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 10s
# Fuzzing runs on go1.27.3 (fetched by the go command, as the cross-version
# tests do): go1.26's fuzz coordinator can fail a clean run with "context
# deadline exceeded" at the end of -fuzztime (golang/go#75804, fixed in 1.27).
FUZZ_GOTOOLCHAIN ?= go1.27.3
IMAGE    ?= memsight:$(VERSION)
# Packages with fuzz targets, as "package:FuzzName".
FUZZ_TARGETS := $(shell grep -rl --include='*_test.go' '^func Fuzz' pkg | xargs -r grep -H '^func Fuzz' | sed -E 's|^(.*)/[^/]*_test.go:func (Fuzz[A-Za-z0-9_]*).*|\1:\2|' | sort -u)

.PHONY: help build image generate check-generated test unit fuzz lint fmt demo bench clean update-offsets

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 20

build: ## build bin/memsight (needs no clang: BPF objects are committed)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/memsight

image: ## build the container image IMAGE with docker (OCI labels: version, git revision, build time)
	@command -v docker >/dev/null || { echo "make image needs docker"; exit 1; }
	docker build --build-arg VERSION=$(VERSION) \
		--build-arg REVISION=$$(git rev-parse HEAD 2>/dev/null || echo unknown) \
		--build-arg CREATED=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE) .

generate: ## regenerate the BPF objects from bpf/ with bpf2go and clang-14
	$(GO) generate ./pkg/probe/...

check-generated: generate ## fail if the committed BPF objects differ from a fresh build
	@git diff --exit-code -- pkg/probe || { echo "generated BPF files are not up to date: run 'make generate' and commit"; exit 1; }

test: unit fuzz ## the whole suite: unit + real-process BPF tests, then each fuzz target briefly
	@echo "make test: all passed"

unit: ## go test ./... (BPF tests load for real: run as root)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

fuzz: ## run every fuzz target for FUZZTIME (default 10s)
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz ./$$pkg $$name ($(FUZZTIME))"; \
		GOTOOLCHAIN=$(FUZZ_GOTOOLCHAIN) $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME); \
	done

lint: ## go vet and gofmt
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

fmt: ## gofmt the tree and clang-format bpf/
	gofmt -w $$(git ls-files '*.go')
	-clang-format -i bpf/*.c bpf/include/memsight/*.h

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
	rm -rf bin

update-offsets: ## regenerate pkg/goexe/layout_table.json from the DWARF of go1.20..go1.27 builds (fetches toolchains)
	$(GO) run ./pkg/goexe/internal/layoutgen -out pkg/goexe/layout_table.json
