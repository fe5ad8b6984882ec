# rerank-api image for one compute mode, chosen at build time:
#
#   docker build -f docker/Dockerfile.flexible --build-arg COMPUTE_MODE=cpu  -t rerank-api:cpu  .
#   docker build -f docker/Dockerfile.flexible --build-arg COMPUTE_MODE=cuda -t rerank-api:cuda .
#   docker build -f docker/Dockerfile.flexible --build-arg COMPUTE_MODE=rocm -t rerank-api:rocm .
#
# Dockerfile and docker/Dockerfile (NVIDIA CUDA 12), docker/Dockerfile.amd
# (AMD ROCm 6) and docker/Dockerfile.flexible are one file that differs only
# in the default of COMPUTE_MODE (cuda, cuda, rocm, cpu); a test keeps it so.
# Every image holds /app/rerank-api, its ggml backend libraries in /app/lib
# (the CPU variants always, so a GPU image still serves when no GPU is there),
# and a models volume at /app/models.
#
# Every base image is an ARG, so a mirror or a local base can replace it
# (--build-arg GOLANG_IMAGE=registry.example.com/golang:1.26-bookworm).
# Build behind a proxy with --build-arg HTTP_PROXY=... HTTPS_PROXY=... NO_PROXY=...
# (Docker passes these through to RUN without declaring them).
ARG COMPUTE_MODE=cuda
ARG GOLANG_IMAGE=golang:1.26-bookworm
ARG CPU_BUILD_IMAGE=debian:bookworm
ARG CPU_RUNTIME_IMAGE=debian:bookworm-slim
ARG CUDA_BUILD_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu22.04
ARG CUDA_RUNTIME_IMAGE=nvidia/cuda:12.8.1-base-ubuntu22.04
ARG ROCM_BUILD_IMAGE=rocm/dev-ubuntu-22.04:6.3.3-complete
ARG ROCM_RUNTIME_IMAGE=ubuntu:22.04

FROM ${GOLANG_IMAGE} AS golang

# --- build: the same make targets as on a workstation --------------------
# (ENV, not ARG: a stage inherits its parent's environment, not its ARGs.)
FROM ${CPU_BUILD_IMAGE} AS build-cpu
ENV MAKE_TARGET=dist
FROM ${CUDA_BUILD_IMAGE} AS build-cuda
ENV MAKE_TARGET=cuda
FROM ${ROCM_BUILD_IMAGE} AS build-rocm
ENV MAKE_TARGET=rocm

FROM build-${COMPUTE_MODE} AS build
# Build knobs: CPU_VARIANTS="x64 haswell" builds fewer CPU variants,
# CUDA_ARCHITECTURES="80;90" and AMDGPU_TARGETS="gfx1100" fewer GPU targets.
ARG CPU_VARIANTS=
ARG CUDA_ARCHITECTURES=
ARG AMDGPU_TARGETS=
ARG GOPROXY=
ARG VERSION=
ENV DEBIAN_FRONTEND=noninteractive PATH=/usr/local/go/bin:$PATH
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc g++ make cmake patchelf \
 && rm -rf /var/lib/apt/lists/*
COPY --from=golang /usr/local/go /usr/local/go
WORKDIR /src
COPY go.mod go.sum ./
# GOPROXY=off builds from a module cache the builder mounts (scripts/image-test.sh
# does, since its machine's proxy needs a CA the image lacks): that cache holds
# what the build needs, not every module `go mod download` lists.
RUN [ "$GOPROXY" = off ] || go mod download
COPY . .
RUN make ${MAKE_TARGET} DIST=/out VERSION=${VERSION}

# --- runtime: the binary, its libraries, nothing to compile with ---------
FROM ${CPU_RUNTIME_IMAGE} AS runtime-cpu
FROM ${CUDA_RUNTIME_IMAGE} AS runtime-cuda
# The NVIDIA container toolkit mounts the driver when these ask for it.
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
FROM ${ROCM_RUNTIME_IMAGE} AS runtime-rocm
# rocBLAS reads its kernels from here (copied from the build with hipBLAS).
ENV ROCBLAS_TENSILE_LIBPATH=/app/lib/rocblas/library

FROM runtime-${COMPUTE_MODE}
ARG COMPUTE_MODE
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system rerank \
 && useradd --system --gid rerank --groups video --home-dir /app --shell /usr/sbin/nologin rerank \
 && (getent group render >/dev/null && usermod -a -G render rerank || true) \
 && mkdir -p /app/models && chown rerank:rerank /app/models
COPY --from=build /out/ /app/
WORKDIR /app
ENV HOST=0.0.0.0 PORT=7987 RERANKER_MODELS_DIR=/app/models COMPUTE_MODE=${COMPUTE_MODE}
USER rerank
VOLUME /app/models
EXPOSE 7987
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1
ENTRYPOINT ["/app/rerank-api"]
CMD ["serve"]
