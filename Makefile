# One set of cgo flags for every target: llama.cpp (~400 C/C++ files) compiles
# once into Go's build cache and is reused only while the flags stay the same.
MOD := $(shell go list -m -f '{{.Dir}}' github.com/ollama/ollama 2>/dev/null)
# x86-64-v3 (AVX2+FMA+F16C) gives ggml its vector kernels yet runs on any
# x86 server CPU since 2015; `make MARCH=native` tunes for this machine.
MARCH ?= x86-64-v3
OPT := -O3 -march=$(MARCH)

export CGO_ENABLED := 1
export CGO_CPPFLAGS := -I$(MOD)/llama/llama.cpp/include -I$(MOD)/ml/backend/ggml/ggml/include
export CGO_CFLAGS := $(OPT)
export CGO_CXXFLAGS := $(OPT)

.PHONY: build run test vet bench clean
build:
	go build -o bin/rerank-api ./cmd/rerank-api

run: build
	./bin/rerank-api serve

# Unit tests for every package, then the end-to-end tests in tests/ against
# the freshly built binary.
test: build
	go test -count=1 -timeout 30m ./...

vet:
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchtime 1x ./backend/

clean:
	rm -rf bin

# `make go ARGS="test ./backend/llama"` runs any go command with the flags above.
go:
	go $(ARGS)
