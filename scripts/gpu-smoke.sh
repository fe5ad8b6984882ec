#!/usr/bin/env bash
# GPU smoke test for a machine with an NVIDIA GPU: builds libggml-cuda.so for
# that GPU, serves the test models with every layer offloaded and on the CPU,
# checks that embeddings and rerank scores agree within 2e-3, and prints
# tokens/s of both at 1 and 32 clients on a BERT-base-shaped f16 model
# (tests/gpu_test.go, build tag "gpu").
#
#   scripts/gpu-smoke.sh prepare   # where Go and the module proxy are: make dist,
#                                  # the ggml source, the test binary
#   scripts/gpu-smoke.sh run       # on the GPU machine (nvcc, cmake, g++; no Go
#                                  # or network needed): build CUDA, run the test
#   scripts/gpu-smoke.sh           # both, on a GPU machine that has Go
#
# What `prepare` leaves for `run` (copy these to the GPU machine with the
# tree): dist/ .build/ggml/src .build/gpu-smoke/
# Knobs: CUDA_ARCHITECTURES (default: the GPU's own compute capability).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/gpu-smoke

prepare() {
  ./scripts/image-deps.sh
  make dist
  ./scripts/build-ggml.sh source
  mkdir -p "$out/bin"
  go test -c -tags gpu -o "$out/e2e.test" ./tests/
  # The GPU machine may lack patchelf, which build-ggml.sh needs.
  cp "$(command -v patchelf)" "$out/bin/"
  echo "gpu-smoke: prepared; carry dist/ .build/ggml/src $out/ to the GPU machine and run: scripts/gpu-smoke.sh run"
}

run() {
  command -v nvcc >/dev/null || { echo "gpu-smoke: needs nvcc (the CUDA toolkit)" >&2; exit 1; }
  [ -x "$out/e2e.test" ] && [ -x dist/rerank-api ] || { echo "gpu-smoke: run \`scripts/gpu-smoke.sh prepare\` first" >&2; exit 1; }
  export PATH="$PATH:$PWD/$out/bin"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  arch=${CUDA_ARCHITECTURES:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}
  start=$(date +%s)
  CUDA_ARCHITECTURES=$arch ./scripts/build-ggml.sh cuda dist/lib
  echo "gpu-smoke: libggml-cuda.so for sm_$arch built in $(( $(date +%s) - start )) s"
  # A copied tree gets new file times; prepare built dist/ from these very
  # sources, so the suite's stale-binary check must not refuse it.
  touch dist/rerank-api
  cd tests
  RERANK_API_BINARY=dist/rerank-api "../$out/e2e.test" -test.run '^TestGPUSmoke$' -test.v -test.timeout 20m
}

case "${1:-all}" in
  prepare) prepare ;;
  run) run ;;
  all) prepare && run ;;
  *) echo "usage: gpu-smoke.sh [prepare|run]" >&2; exit 2 ;;
esac
