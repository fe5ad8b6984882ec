# One set of cgo flags for every target: llama.cpp (~400 C/C++ files) compiles
# once into Go's build cache and is reused only while the flags stay the same.
# The headers come from the module cache, so the module must be there before
# the flags are computed (on a fresh machine it is not yet).
MOD := $(shell go mod download github.com/ollama/ollama && go list -m -f '{{.Dir}}' github.com/ollama/ollama)
ifeq ($(MOD),)
$(error cannot find the github.com/ollama/ollama module (llama.cpp's source): is the Go module proxy reachable?)
endif
# -march decides ggml's vector kernels: on the 2-core AVX-512 dev machine a
# BERT-base f16 model encodes ~890 tokens/s with native, ~600 with x86-64-v3
# (AVX2), and ~20 without either per the design notes (README, Performance). `make run` builds where
# it runs, so native is the default; portable builds (Docker images) pass
# MARCH=x86-64-v3. Changing it recompiles llama.cpp (~4 minutes).
MARCH ?= native
OPT := -O3 -march=$(MARCH)

# The version /info and --version report: VERSION=..., else git's description.
VERSION ?=
STAMP := $(or $(VERSION),$(shell git describe --tags --always --dirty 2>/dev/null),dev)
LDFLAGS := -X main.version=$(STAMP)

export CGO_ENABLED := 1
export CGO_CPPFLAGS := -I$(MOD)/llama/llama.cpp/include -I$(MOD)/ml/backend/ggml/ggml/include
export CGO_CFLAGS := $(OPT)
export CGO_CXXFLAGS := $(OPT)
# go.mod's toolchain line names the Go release that builds rerank-api: the
# first with none of the standard library's known vulnerabilities the code
# reaches (make vulncheck). auto lets an older go command fetch it through
# the module proxy once, also where go.env says GOTOOLCHAIN=local.
export GOTOOLCHAIN ?= auto

.PHONY: build run test testdeps race vet vulncheck soak bench bench-dist cuda-check clean dist cuda rocm dist-binary test-dist image-test fuzz
build:
	go build -ldflags '$(LDFLAGS)' -o bin/rerank-api ./cmd/rerank-api

# Portable builds, what the images ship: dist/rerank-api runs on any x86-64
# (its built-in CPU backend is compiled for the baseline ISA) and loads the
# best of the CPU variants in dist/lib/ (x64, sse42, sandybridge, haswell,
# skylakex, icelake, alderlake) at start. `make cuda` and `make rocm` add
# libggml-cuda.so / libggml-hip.so with their vendor libraries. The variants
# use the binary's own ggml (exported with --export-dynamic): see
# scripts/build-ggml.sh. Knobs: CPU_VARIANTS, CUDA_ARCHITECTURES,
# AMDGPU_TARGETS (environment).
DIST ?= dist
DIST_MARCH ?= x86-64
dist:
	$(MAKE) --no-print-directory MARCH=$(DIST_MARCH) dist-binary
	./scripts/build-ggml.sh cpu $(DIST)/lib

dist-binary:
	go build -ldflags '$(LDFLAGS) -extldflags=-Wl,--export-dynamic' -o $(DIST)/rerank-api ./cmd/rerank-api

# The end-to-end suite again, on the portable binary: the same numbers, with
# the CPU variant that dist/lib offers this machine.
test-dist: dist
	RERANK_API_BINARY=$(DIST)/rerank-api go test -count=1 -timeout 30m ./tests/

# Builds the CPU image of docker/Dockerfile.flexible with podman on local base
# images (no Docker daemon or registry needed) and checks that the container
# serves the native binary's embeddings and rerank scores.
image-test:
	./scripts/image-deps.sh
	./scripts/image-test.sh

# What CI compiles of CUDA: the toolkit (Debian's 11.8), this configuration
# and two named translation units of ggml-cuda for sm_80, in seconds; the
# whole library takes ~15 minutes per architecture on 2 cores (make cuda).
cuda-check:
	./scripts/cuda-deps.sh
	CUDA_OBJECTS="arange norm" CUDA_ARCHITECTURES=80 ./scripts/build-ggml.sh cuda $(DIST)/lib

cuda: dist
	./scripts/build-ggml.sh cuda $(DIST)/lib

rocm: dist
	./scripts/build-ggml.sh rocm $(DIST)/lib

run: build
	./bin/rerank-api serve

# Unit tests for every package, then the end-to-end tests in tests/ against
# the freshly built binary.
test: testdeps build
	go test -count=1 -timeout 30m ./...

# Coverage-guided fuzzing of every parser (each func FuzzXxx in a
# _test.go file), one target after another since go test -fuzz takes one
# per run: FUZZTIME each (a duration or a count such as 1000000x), FUZZ a
# regexp picking targets, FUZZPARALLEL workers. Go minimizes every input
# that finds new coverage for up to a minute by default, which leaves a
# target whose runs take a millisecond doing little else:
# FUZZMINIMIZETIME caps it. Crashers land in the package's
# testdata/fuzz/FuzzXxx/ and become regression seeds, which `make test`
# runs like every seed corpus.
FUZZTIME ?= 30s
FUZZ ?= .
FUZZPARALLEL ?= 1
FUZZMINIMIZETIME ?= 100x
# Targets that write their input to a file run several times faster on
# tmpfs than on a disk that discards deleted blocks.
FUZZTMPDIR ?= $(or $(wildcard /dev/shm),$(TMPDIR),/tmp)
fuzz:
	@find . -path ./.build -prune -o -path ./dist -prune -o -name '*_test.go' -print | xargs grep -oE '^func Fuzz[A-Za-z0-9_]+' | \
	sed -E 's|^\./(.*)/[^/]*_test\.go:func |\1 |' | sort -u | grep -E " ($(FUZZ))" | while read pkg fn; do \
		echo "== $$fn (./$$pkg)"; \
		TMPDIR=$(FUZZTMPDIR) go test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) -parallel $(FUZZPARALLEL) ./$$pkg/ || exit 1; \
	done

# gcc/g++ for cgo and the real MeCab the Japanese tokenizer is checked against.
testdeps:
	./scripts/test-deps.sh

# The race detector over the concurrent code (pool, batcher, server, pulls).
# Its first run rebuilds llama.cpp's cgo packages instrumented (~5 minutes).
race:
	go test -race -count=1 ./backend/ ./backend/llamarun/ ./server/ ./pull/ ./hub/

vet:
	go vet ./...

# The soak (not in CI, it loads the machine): SOAK_CLIENTS (64) clients for
# SOAK_DURATION over every API family and three models that do not fit the
# memory budget together, answers checked against the reference; see
# tests/soak_test.go for what passes. SOAK_DURATION=30s for a quick run.
SOAK_DURATION ?= 10m
SOAK_TIMEOUT ?= 2h
soak: build
	SOAK_DURATION=$(SOAK_DURATION) go test -tags soak -count=1 -v -run '^TestSoak$$' -timeout $(SOAK_TIMEOUT) ./tests/

# govulncheck over every package, the vulnerability database built from the
# golang.org/x/vulndb module (vuln.go.dev is not reachable offline); findings
# listed with a reason in scripts/vulncheck-accepted.txt do not fail it.
vulncheck:
	./scripts/vulncheck.sh

# The engine alone, in process (no HTTP, no JSON); `rerank-api bench` sends
# load to a running server, this one or another, through its API.
bench:
	go test -run '^$$' -bench Engine -benchtime 1x -timeout 60m ./backend/llamarun/

# The same benchmark on the portable build: baseline kernels in the binary,
# the CPU variant dist/lib offers this machine loaded at start, as
# dist/rerank-api runs. BENCH selects sub-benchmarks (default: all).
BENCH ?= Engine
bench-dist: dist
	$(MAKE) --no-print-directory MARCH=$(DIST_MARCH) go ARGS="test -c -ldflags=-extldflags=-Wl,--export-dynamic -o .build/bench-dist.test ./backend/llamarun/"
	cd backend/llamarun && BENCH_LIB_DIR=../../$(DIST)/lib ../../.build/bench-dist.test -test.run '^$$' -test.bench '$(BENCH)' -test.benchtime 1x -test.timeout 60m

clean:
	rm -rf bin $(DIST) .build

# `make go ARGS="test ./backend/llama"` runs any go command with the flags above.
go:
	go $(ARGS)
