#!/usr/bin/env bash
# Builds the CPU image of docker/Dockerfile.flexible with podman on local
# base images (no Docker daemon or registry needed), then runs tests/image_test.go:
# the container serves the test models from its /app/models volume and must
# give the native binary's embeddings and rerank scores.
#
# Knobs: IMAGE (default localhost/rerank-api:cpu), CPU_VARIANTS (default all;
# CI builds "x64 haswell" to save time), IMAGE_BUILD_ONLY=1 skips the test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/podman-env.sh
podman_bases

image=${IMAGE:-localhost/rerank-api:cpu}
# The build reuses this machine's Go module and build caches: same compiler,
# same module paths, so llama.cpp compiled for `make dist` is not compiled again.
gocache=$(go env GOCACHE) gomodcache=$(go env GOMODCACHE)
echo "image-test: building $image (CPU_VARIANTS=${CPU_VARIANTS:-all})"
start=$(date +%s)
podman build --format docker --pull=never \
  -f docker/Dockerfile.flexible \
  --build-arg COMPUTE_MODE=cpu \
  --build-arg GOLANG_IMAGE="$PODMAN_GOLANG" \
  --build-arg CPU_BUILD_IMAGE="$PODMAN_BASE" \
  --build-arg CPU_RUNTIME_IMAGE="$PODMAN_BASE" \
  --build-arg CPU_VARIANTS="${CPU_VARIANTS:-}" --build-arg GOPROXY=off \
  --build-arg VERSION="$(git describe --tags --always --dirty 2>/dev/null || echo dev)" \
  -v "$gocache:/root/.cache/go-build" -v "$gomodcache:/root/go/pkg/mod" \
  -t "$image" .
echo "image-test: built in $(( $(date +%s) - start )) s; size $(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)"
[ "${IMAGE_BUILD_ONLY:-}" = 1 ] && exit 0
RERANK_API_IMAGE=$image go test -count=1 -tags image -run '^TestImage$' -v ./tests/ 2>&1 | grep -v '^=== RUN'

# The CPU compose file as users bring it up, on the image just built (its
# `image: rerank-api:cpu` is this one): the service answers /health, says it
# is the CPU image, and HF_TOKEN reaches it from the shell.
[ "$image" = localhost/rerank-api:cpu ] || exit 0
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
compose=(podman-compose -p rerank-api-compose-test -f docker/docker-compose.cpu.yml)
trap '"${compose[@]}" down >/dev/null 2>&1 || true' EXIT
log=$(mktemp)
PORT=$port HF_TOKEN=compose-test EMBEDDING_MODEL_NAME= RERANKER_MODEL_NAME= "${compose[@]}" up -d >"$log" 2>&1 \
  || { cat "$log" >&2; exit 1; }
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.3; done
info=$(curl -fsS "http://127.0.0.1:$port/info")
grep -q '"compute_mode":"cpu"' <<<"$info" || { echo "image-test: compose service's /info: $info" >&2; exit 1; }
[ "$(podman exec rerank-api printenv HF_TOKEN)" = compose-test ] || { echo "image-test: HF_TOKEN did not reach the compose service" >&2; exit 1; }
echo "image-test: docker/docker-compose.cpu.yml up on port $port: /health and /info answer, HF_TOKEN passed through"
