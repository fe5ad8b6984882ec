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
