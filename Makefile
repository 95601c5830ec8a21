# custody — build, test, demo, bench, lint.
# `make test` is what CI runs (.ci/run): it installs what the tests need first.

GO        ?= go
BIN       ?= bin/custody
TOOLS     ?= $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)

.PHONY: build test test-deps demo bench lint clean

# VERSION is stamped into the binary (-X main.version) and used when the
# Go build info carries no module version (e.g. a build without VCS data).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)

build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o $(BIN) ./cmd/custody

## test-deps: install what the tests need (versitygw for the S3 tests, the
## Genesys JavaScript SDK for the SDK client test).
test-deps:
	bash scripts/install-test-deps.sh

## test: every test, with the race detector, after installing test deps;
## then the tests that skip under -race again without it: the peak-RSS
## test (the race detector multiplies memory, so a child's peak RSS means
## nothing) and the allocation counts (sync.Pool drops at random there).
test: test-deps
	CUSTODY_TOOLS=$(TOOLS) $(GO) test -race -count=1 ./...
	CUSTODY_TOOLS=$(TOOLS) $(GO) test -count=1 -run 'TestDiffBigValueMemory' -v ./cmd/custody
	$(GO) test -count=1 -run 'TestFieldSaltsAllocate' -v ./internal/leaf

## demo: the main job on built-in defaults, against the built-in simulator.
demo: build
	./$(BIN) demo

## bench: the Go benchmarks once each, then export vs the naive method
## (a few minutes); `bin/custody bench diff` measures a 1M-message diff.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...
	./$(BIN) bench export
	./$(BIN) bench diff --messages 100000    # 1,000,000 (the default) takes minutes and about 7.5 GB of disk

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(TOOLS)/staticcheck ./...

clean:
	rm -rf bin .tools
